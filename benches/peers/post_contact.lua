-- wrk: POST the same one-contact body (benches/peers/contact.json) on every request.
local f = assert(io.open("benches/peers/contact.json", "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
