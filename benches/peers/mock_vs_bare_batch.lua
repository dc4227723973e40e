-- wrk: POST one 100-input batch/upsert by syncproof_id per request (the contact of
-- mock_vs_bare.lua, about 46 KB a body). Ids cycle through 100,000, so after the first 1,000
-- batches every input updates a stored record instead of creating one.
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local inputs = {}
  for i = 0, 99 do
    local n = ((counter - 1) * 100 + i) % 100000
    inputs[#inputs + 1] = string.format('{"idProperty":"syncproof_id","id":"sp-0000002a-%d","properties":{"email":"jane.doe%d@example.com","firstname":"Jane","lastname":"Doe","phone":"+1 415-555-0132","company":"Acme Incorporated","jobtitle":"Head of Revenue Operations","address":"1 Market Street, Suite 400","city":"San Francisco","zip":"94105","country":"United States","lifecyclestage":"marketingqualifiedlead","created_at":"2024-05-17T09:21:44Z","hs_lead_status":"OPEN","website":"https://acme.example.com","hs_note":"batch %d"}}', n, n, counter)
  end
  return wrk.format(nil, "/crm/v3/objects/contacts/batch/upsert", nil, '{"inputs":[' .. table.concat(inputs, ",") .. ']}')
end
