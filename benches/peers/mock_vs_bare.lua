-- wrk: POST one HubSpot-style contact (about 600 bytes) per request, a distinct email each time.
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local body = string.format('{"properties":{"email":"jane.doe%d@example.com","firstname":"Jane","lastname":"Doe","phone":"+1 415-555-0132","company":"Acme Incorporated","jobtitle":"Head of Revenue Operations","address":"1 Market Street, Suite 400","city":"San Francisco","zip":"94105","country":"United States","lifecyclestage":"marketingqualifiedlead","syncproof_id":"sp-0000002a-%d","created_at":"2024-05-17T09:21:44Z","hs_lead_status":"OPEN","website":"https://acme.example.com"}}', counter, counter)
  return wrk.format(nil, nil, nil, body)
end
