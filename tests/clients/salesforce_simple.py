#!/usr/bin/env python3
"""Drives the Salesforce mock with the open `simple-salesforce` client, unchanged.

Usage:
    syncproof mock --profile salesforce-developer --port 8085 --token T &
    python3 -m pip install simple-salesforce
    python3 tests/clients/salesforce_simple.py http://127.0.0.1:8085 T

simple-salesforce always builds https:// URLs from the instance; the mock serves plain HTTP on
loopback, so the client gets a requests session that sends those URLs to http:// (the only
adaptation; every call goes through the library's own code). Exits non-zero on the first
answer that differs from what the library expects of Salesforce.
"""

import sys

import requests
from simple_salesforce import Salesforce, SalesforceMalformedRequest
from simple_salesforce.exceptions import SalesforceMoreThanOneRecord


class PlainHttp(requests.Session):
    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace("https://", "http://", 1), *args, **kwargs)


def main(base, token):
    sf = Salesforce(instance_url=base, session_id=token, version="60.0", session=PlainHttp())
    created = sf.Contact.create({"LastName": "Lovelace", "Ext_Id__c": "py-1"})
    assert created["success"] and created["id"].startswith("003"), created
    cid = created["id"]
    assert sf.Contact.get(cid)["LastName"] == "Lovelace"
    assert sf.Contact.update(cid, {"Title": "Analyst"}) == 204
    assert sf.Contact.get_by_custom_id("Ext_Id__c", "py-1")["Title"] == "Analyst"
    # upsert returns the status code: 201 created, 204/200 updated.
    assert sf.Contact.upsert("Ext_Id__c/py-2", {"LastName": "Babbage"}) == 201
    assert sf.Contact.upsert("Ext_Id__c/py-2", {"LastName": "Babbage"}) in (200, 204)
    sf.Contact.create({"LastName": "Twin", "Ext_Id__c": "twin"})
    sf.Contact.create({"LastName": "Twin", "Ext_Id__c": "twin"})
    try:
        sf.Contact.upsert("Ext_Id__c/twin", {"LastName": "Twin"})
        raise AssertionError("an ambiguous upsert must fail")
    except SalesforceMoreThanOneRecord:
        pass
    records = [{"attributes": {"type": "Contact"}, "LastName": f"L{i}"} for i in range(200)]
    for _ in range(23):
        result = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
        assert all(r["success"] for r in result)
    everything = sf.query_all("SELECT Id, LastName FROM Contact")
    assert everything["totalSize"] == len(everything["records"]) == 23 * 200 + 4, everything["totalSize"]
    try:
        sf.query("SELECT FROM Contact")
        raise AssertionError("a malformed query must fail")
    except SalesforceMalformedRequest as e:
        assert e.content[0]["errorCode"] == "MALFORMED_QUERY"
    limits = sf.limits()
    used = limits["DailyApiRequests"]["Max"] - limits["DailyApiRequests"]["Remaining"]
    assert sf.api_usage["api-usage"].used == used, (sf.api_usage, limits)
    sf.Contact.delete(cid)
    print(f"simple-salesforce: all checks passed ({used} API calls used)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
