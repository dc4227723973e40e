#!/usr/bin/env python3
"""Drives the HubSpot mock with HubSpot's official Python client (`hubspot-api-client`), unchanged.

Usage:
    syncproof mock --profile hubspot-pro --port 8084 --token T --unique email &
    python3 -m pip install hubspot-api-client
    python3 tests/clients/hubspot_official.py http://127.0.0.1:8084 T

The client is pointed at the mock with its own `host` setting and authenticates with the token
as a private-app access token; every call goes through the library's generated code, which
deserialises each answer into the vendor's OpenAPI models (so a missing or mistyped field
fails here). Covers contacts, companies and deals: create, read (by id and by `idProperty`),
update, archive, list paging (`get_all`), batch create/read/update/upsert/archive, search with
filters, sorts and paging, the 409 of a duplicate email and the 404 of an archived record.
Exits non-zero on the first answer that differs from what the library expects of HubSpot.
"""

import sys

from hubspot import HubSpot
from hubspot.crm import companies, contacts, deals


def expect_status(call, status):
    """Runs `call`, which must fail with `status`; returns the exception's body."""
    try:
        call()
    except Exception as e:  # each object type has its own ApiException class
        assert getattr(e, "status", None) == status, f"expected {status}, got {e!r}"
        return e.body
    raise AssertionError(f"expected an error {status}, the call succeeded")


def check_contacts(api):
    basic, batch, search = api.crm.contacts.basic_api, api.crm.contacts.batch_api, api.crm.contacts.search_api
    m = contacts
    ada = basic.create(m.SimplePublicObjectInputForCreate(
        properties={"email": "Ada@Example.com", "firstname": "Ada", "syncproof_id": "py-1"}))
    assert ada.id and ada.archived is False and ada.created_at is not None, ada
    assert ada.properties["email"] == "ada@example.com", ada.properties
    assert basic.get_by_id(ada.id, properties=["firstname"]).properties["firstname"] == "Ada"
    assert basic.get_by_id("py-1", id_property="syncproof_id").id == ada.id
    body = expect_status(lambda: basic.create(m.SimplePublicObjectInputForCreate(
        properties={"email": "ada@example.com"})), 409)
    assert f"Existing ID: {ada.id}" in body, body

    updated = basic.update(ada.id, m.SimplePublicObjectInput(properties={"jobtitle": "Analyst"}))
    assert updated.properties["jobtitle"] == "Analyst", updated.properties
    assert updated.updated_at >= ada.updated_at

    created = batch.create(m.BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        m.SimplePublicObjectBatchInputForCreate(
            properties={"email": f"b{i}@example.com", "syncproof_id": f"py-b{i}"})
        for i in range(5)]))
    assert created.status == "COMPLETE" and len(created.results) == 5, created
    read = batch.read(m.BatchReadInputSimplePublicObjectId(
        inputs=[m.SimplePublicObjectId(id="py-b1"), m.SimplePublicObjectId(id="py-b2")],
        id_property="syncproof_id", properties=["email"], properties_with_history=[]))
    assert sorted(r.properties["email"] for r in read.results) == ["b1@example.com", "b2@example.com"]
    upserted = batch.upsert(m.BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        m.SimplePublicObjectBatchInputUpsert(id="py-b1", id_property="syncproof_id",
                                             properties={"firstname": "B"}),
        m.SimplePublicObjectBatchInputUpsert(id="py-new", id_property="syncproof_id",
                                             properties={"email": "n@example.com"})]))
    assert sorted(r.new for r in upserted.results) == [False, True], upserted.results
    ids = [r.id for r in created.results]
    batch.update(m.BatchInputSimplePublicObjectBatchInput(inputs=[
        m.SimplePublicObjectBatchInput(id=i, properties={"lifecyclestage": "lead"}) for i in ids]))
    batch.archive(m.BatchInputSimplePublicObjectId(inputs=[m.SimplePublicObjectId(id=ids[0])]))
    expect_status(lambda: basic.get_by_id(ids[0]), 404)
    basic.archive(ids[1])
    expect_status(lambda: basic.get_by_id(ids[1]), 404)

    everyone = api.crm.contacts.get_all(properties=["email"])
    assert len(everyone) == 1 + 5 + 1 - 2, len(everyone)
    page = basic.get_page(limit=2)
    assert len(page.results) == 2 and page.paging.next.after, page.paging
    found = search.do_search(m.PublicObjectSearchRequest(
        filter_groups=[m.FilterGroup(filters=[m.Filter(property_name="lifecyclestage", operator="EQ", value="lead")])],
        sorts=["email"], properties=["email"], limit=2, after="0"))
    assert found.total == 3, found.total
    assert [r.properties["email"] for r in found.results] == ["b2@example.com", "b3@example.com"]
    nxt = search.do_search(m.PublicObjectSearchRequest(
        filter_groups=[m.FilterGroup(filters=[m.Filter(property_name="lifecyclestage", operator="EQ", value="lead")])],
        sorts=["email"], properties=["email"], limit=2, after=found.paging.next.after))
    assert [r.properties["email"] for r in nxt.results] == ["b4@example.com"], nxt.results


def check_other(api, kind, models, name_property):
    basic, batch = getattr(api.crm, kind).basic_api, getattr(api.crm, kind).batch_api
    one = basic.create(models.SimplePublicObjectInputForCreate(properties={name_property: "First"}))
    assert "hs_lastmodifieddate" in one.properties, one.properties
    more = batch.create(models.BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        models.SimplePublicObjectBatchInputForCreate(properties={name_property: f"N{i}"}) for i in range(3)]))
    assert len(more.results) == 3
    changed = basic.update(one.id, models.SimplePublicObjectInput(properties={name_property: "Renamed"}))
    assert changed.properties[name_property] == "Renamed"
    basic.archive(more.results[0].id)
    left = getattr(api.crm, kind).get_all(properties=[name_property])
    assert sorted(r.properties[name_property] for r in left) == ["N1", "N2", "Renamed"], left
    found = getattr(api.crm, kind).search_api.do_search(models.PublicObjectSearchRequest(
        filter_groups=[models.FilterGroup(filters=[models.Filter(property_name=name_property, operator="EQ", value="Renamed")])],
        properties=[name_property]))
    assert found.total == 1 and found.results[0].id == one.id, found


def main(base, token):
    api = HubSpot(access_token=token, host=base)
    check_contacts(api)
    check_other(api, "companies", companies, "name")
    check_other(api, "deals", deals, "dealname")
    print("hubspot-api-client: all checks passed")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
