//! The v3 objects API beyond create and read: update and archive, single and batch, and the
//! companies and deals types beside contacts, each with its own ids and last-modified property.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Answer, CONTACTS, Mock, TOKEN, assert_hubspot_error, ids, unlimited};
use crate::crm::CrmConfig;

impl Mock {
    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Answer {
        let body = body.map(|b| b.to_string());
        self.send(method, uri, Some(TOKEN), body.as_deref().map(str::as_bytes))
            .await
    }
}

fn unique_email() -> CrmConfig {
    CrmConfig {
        unique_properties: vec!["email".into()],
        ..unlimited()
    }
}

#[tokio::test(start_paused = true)]
async fn patch_updates_by_id_or_id_property_and_bumps_the_last_modified_date() {
    let m = Mock::new(unique_email());
    for (email, name) in [("ada@example.com", "Ada"), ("bob@example.com", "Bob")] {
        let a = m
            .post(
                "",
                json!({"properties": {"email": email, "firstname": name}}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    let created = m.get(&format!("{CONTACTS}/1")).await.body;
    tokio::time::advance(Duration::from_secs(5)).await;

    let a = m
        .call(
            Method::PATCH,
            &format!("{CONTACTS}/1"),
            Some(json!({"properties": {"firstname": "Augusta", "jobtitle": "Analyst"}})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["id"], "1");
    assert_eq!(a.body["properties"]["firstname"], "Augusta");
    assert_eq!(a.body["properties"]["jobtitle"], "Analyst");
    assert_ne!(
        a.body["properties"]["lastmodifieddate"], created["properties"]["lastmodifieddate"],
        "an update bumps lastmodifieddate"
    );
    assert_eq!(
        a.body["properties"]["createdate"],
        created["properties"]["createdate"]
    );

    let by_email = m
        .call(
            Method::PATCH,
            &format!("{CONTACTS}/BOB@example.com?idProperty=email"),
            Some(json!({"properties": {"firstname": "Robert"}})),
        )
        .await;
    assert_eq!(by_email.status, StatusCode::OK, "{}", by_email.body);
    assert_eq!(by_email.body["id"], "2");

    // Taking another record's unique value is a 409; an unknown id a 404; nothing changes.
    assert_hubspot_error(
        &m.call(
            Method::PATCH,
            &format!("{CONTACTS}/2"),
            Some(json!({"properties": {"email": "ada@example.com"}})),
        )
        .await,
        409,
        "CONFLICT",
    );
    assert_hubspot_error(
        &m.call(
            Method::PATCH,
            &format!("{CONTACTS}/99"),
            Some(json!({"properties": {"firstname": "X"}})),
        )
        .await,
        404,
        "OBJECT_NOT_FOUND",
    );
    assert_hubspot_error(
        &m.call(Method::PATCH, &format!("{CONTACTS}/1"), Some(json!([1])))
            .await,
        400,
        "VALIDATION_ERROR",
    );
    let bob = m
        .get(&format!("{CONTACTS}/2?properties=email,firstname"))
        .await;
    assert_eq!(bob.body["properties"]["email"], "bob@example.com");
    assert_eq!(bob.body["properties"]["firstname"], "Robert");

    let accounting = m.crm.accounting();
    assert_eq!(accounting.records_updated, 2);
    assert_eq!(accounting.calls["update"][&200], 2);
    assert_eq!(accounting.calls["update"][&409], 1);
    assert_eq!(accounting.calls["update"][&404], 1);
}

#[tokio::test]
async fn delete_archives_hides_the_record_and_frees_its_unique_value() {
    let m = Mock::new(unique_email());
    m.create_many(3, |i| json!({"email": format!("p{i}@example.com")}))
        .await;

    let a = m.call(Method::DELETE, &format!("{CONTACTS}/2"), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(a.body, Value::Null, "204 has no body");
    assert_hubspot_error(
        &m.get(&format!("{CONTACTS}/2")).await,
        404,
        "OBJECT_NOT_FOUND",
    );
    // Archiving again, or an id that never existed, is still a 204 and archives nothing more.
    for uri in [format!("{CONTACTS}/2"), format!("{CONTACTS}/77")] {
        assert_eq!(
            m.call(Method::DELETE, &uri, None).await.status,
            StatusCode::NO_CONTENT
        );
    }
    let list = m.get(CONTACTS).await;
    assert_eq!(
        ids(&list.body),
        ["1", "3"],
        "the list skips archived records"
    );
    // Archived by idProperty; its email can then be taken again.
    let a = m
        .call(
            Method::DELETE,
            &format!("{CONTACTS}/p0@example.com?idProperty=email"),
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let again = m
        .post("", json!({"properties": {"email": "p0@example.com"}}))
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body["id"], "4");

    let accounting = m.crm.accounting();
    assert_eq!(accounting.records_archived, 2);
    assert_eq!(accounting.calls["archive"][&204], 4);
    assert_eq!(m.crm.copies_by_property("email").len(), 2);
}

#[tokio::test]
async fn batch_update_is_207_for_missing_ids_and_batch_archive_is_204() {
    let m = Mock::new(unlimited());
    m.create_many(
        4,
        |i| json!({"syncproof_id": format!("s{i}"), "firstname": "A"}),
    )
    .await;
    let a = m
        .post(
            "/batch/update",
            json!({"inputs": [
                {"id": "1", "properties": {"firstname": "B"}},
                {"id": "s2", "idProperty": "syncproof_id", "properties": {"firstname": "C"},
                 "objectWriteTraceId": "t-2"},
                {"id": "404", "properties": {"firstname": "D"}},
            ]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::MULTI_STATUS, "{}", a.body);
    assert_eq!(ids(&a.body), ["1", "3"]);
    assert_eq!(a.body["results"][1]["objectWriteTraceId"], "t-2");
    assert_eq!(a.body["numErrors"], 1);
    assert_eq!(a.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    let all_missing = m
        .post(
            "/batch/update",
            json!({"inputs": [{"id": "404", "properties": {"firstname": "D"}}]}),
        )
        .await;
    assert_hubspot_error(&all_missing, 404, "OBJECT_NOT_FOUND");

    let a = m
        .post(
            "/batch/archive",
            json!({"inputs": [{"id": "1"}, {"id": "4"}, {"id": "999"}]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    let read = m
        .post(
            "/batch/read",
            json!({"inputs": [{"id": "1"}, {"id": "2"}, {"id": "3"}, {"id": "4"}], "properties": ["firstname"]}),
        )
        .await;
    assert_eq!(read.status, StatusCode::MULTI_STATUS);
    assert_eq!(ids(&read.body), ["2", "3"]);
    assert_eq!(read.body["results"][1]["properties"]["firstname"], "C");

    let too_many: Vec<Value> = (0..101).map(|i| json!({"id": i.to_string()})).collect();
    assert_hubspot_error(
        &m.post("/batch/archive", json!({ "inputs": too_many }))
            .await,
        400,
        "VALIDATION_ERROR",
    );
    let accounting = m.crm.accounting();
    assert_eq!(accounting.records_archived, 2);
    assert_eq!(accounting.records_updated, 2);
    assert_eq!(accounting.calls["batch_update"][&207], 1);
    assert_eq!(accounting.calls["batch_archive"][&204], 1);
}

#[tokio::test]
async fn companies_and_deals_have_their_own_ids_routes_and_last_modified_property() {
    let m = Mock::new(unique_email());
    m.create_many(2, |i| json!({"email": format!("c{i}@example.com")}))
        .await;
    for (path, name) in [
        ("/crm/v3/objects/companies", "Acme"),
        ("/crm/v3/objects/deals", "Renewal"),
    ] {
        let property = if path.ends_with("companies") {
            "name"
        } else {
            "dealname"
        };
        let a = m
            .call(
                Method::POST,
                path,
                Some(json!({"properties": {property: name, "email": "c0@example.com"}})),
            )
            .await;
        assert_eq!(
            a.status,
            StatusCode::CREATED,
            "{path}: contacts' unique email does not bind other types: {}",
            a.body
        );
        assert_eq!(a.body["id"], "1", "{path}: ids count per type");
        let props = a.body["properties"].as_object().unwrap();
        assert!(
            props.contains_key("hs_lastmodifieddate"),
            "{path}: {props:?}"
        );
        assert!(!props.contains_key("lastmodifieddate"), "{path}: {props:?}");

        let updated = m
            .call(
                Method::PATCH,
                &format!("{path}/1"),
                Some(json!({"properties": {property: format!("{name} 2")}})),
            )
            .await;
        assert_eq!(updated.body["properties"][property], format!("{name} 2"));

        let search = m
            .call(
                Method::POST,
                &format!("{path}/search"),
                Some(json!({"filterGroups": [{"filters": [
                    {"propertyName": property, "operator": "EQ", "value": format!("{name} 2")}
                ]}]})),
            )
            .await;
        assert_eq!(search.status, StatusCode::OK, "{}", search.body);
        assert_eq!(search.body["total"], 1);

        let read = m
            .call(
                Method::POST,
                &format!("{path}/batch/read"),
                Some(json!({"inputs": [{"id": "1"}, {"id": "2"}], "properties": [property]})),
            )
            .await;
        assert_eq!(read.status, StatusCode::MULTI_STATUS);
        let upper = if path.ends_with("companies") {
            "COMPANY"
        } else {
            "DEAL"
        };
        assert!(
            read.body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains(upper)),
            "{}",
            read.body
        );
        assert_eq!(
            m.call(Method::DELETE, &format!("{path}/1"), None)
                .await
                .status,
            StatusCode::NO_CONTENT
        );
    }
    // Contacts are untouched by the other types' writes.
    let contacts = m.get(CONTACTS).await;
    assert_eq!(ids(&contacts.body), ["1", "2"]);
    let accounting = m.crm.accounting();
    assert_eq!(accounting.records_created, 4);
    assert_eq!(accounting.records_archived, 2);
    assert_eq!(m.crm.record_count(), 4);
}
