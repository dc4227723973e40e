//! Contract tests of the Salesforce org over real loopback HTTP: every resource's status, body
//! and headers as the vendor documents them (crm-vendor-apis.md §2.1), the upsert 201/200/300
//! answers, collections' `allOrNone` rollback and 200-record cap, composite references, SOQL
//! paging over 4,500 records, the rolling-24-hour allocation (Nth vs N+1th call, reset after
//! 24 h of tokio time), session expiry, and the fault overlays' accounting.
//!
//! The resource tests run twice: with the org served by axum and with the same org mounted in a
//! `wiremock::MockServer` (`support::Engine`). The ones that pause tokio time, count requests in
//! flight or drop connections run on axum only.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use syncproof_mocks::{Org, OrgConfig};

use crate::support::{Served, Transport, on_both_transports, serve_on};

const V: &str = "/services/data/v60.0";

struct Sf {
    org: Arc<Org>,
    base: String,
    token: String,
    client: reqwest::Client,
    _served: Served,
}

/// A reply: status, `Sforce-Limit-Info`, body (Null when empty).
struct Answer {
    status: StatusCode,
    usage: Option<String>,
    location: Option<String>,
    body: Value,
}

impl Sf {
    async fn start(cfg: OrgConfig) -> Sf {
        Sf::start_on(Transport::Axum, cfg).await
    }

    async fn start_on(transport: Transport, cfg: OrgConfig) -> Sf {
        let org = Org::new(cfg);
        let served = serve_on(transport, org.app()).await;
        // No client timeout: tests that pause tokio time would otherwise see it fire.
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        Sf {
            org,
            base: served.base.clone(),
            token: "session-1".into(),
            client,
            _served: served,
        }
    }

    async fn default_on(transport: Transport) -> Sf {
        Sf::start_on(
            transport,
            OrgConfig {
                unique_fields: vec!["Unique__c".into()],
                ..OrgConfig::default()
            },
        )
        .await
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let url = if path.starts_with("/services") || path.starts_with("/__") {
            format!("{}{path}", self.base)
        } else {
            format!("{}{V}{path}", self.base)
        };
        let mut request = self.client.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let (usage, location) = (header("sforce-limit-info"), header("location"));
        let status = response.status();
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status} {text}: {e}"))
        };
        Answer {
            status,
            usage,
            location,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(body)).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    /// A harness endpoint (no auth) as JSON.
    async fn harness(&self, path: &str) -> Value {
        let response = self.client.get(format!("{}{path}", self.base)).send().await;
        response.unwrap().json().await.unwrap()
    }

    /// `POST /services/oauth2/token` with `form`.
    async fn token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        let url = format!("{}/services/oauth2/token", self.base);
        self.client.post(url).form(form).send().await.unwrap()
    }

    async fn query(&self, soql: &str) -> Answer {
        let q: String = url_encode(soql);
        self.get(&format!("/query?q={q}")).await
    }

    async fn create(&self, object: &str, body: Value) -> String {
        let a = self.post(&format!("/sobjects/{object}"), body).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        a.body["id"].as_str().unwrap().to_string()
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The first item of an error array: `(errorCode, message)`.
fn error(a: &Answer) -> (String, String) {
    let item = &a.body[0];
    assert!(a.body.is_array(), "not an error array: {}", a.body);
    (
        item["errorCode"].as_str().unwrap().to_string(),
        item["message"].as_str().unwrap().to_string(),
    )
}

on_both_transports!(
    sobject_crud_answers_as_salesforce,
    errors_are_arrays_with_salesforce_codes,
    upsert_by_external_id_creates_updates_and_refuses_ambiguity,
    collections_cap_results_and_all_or_none_rollback,
    composite_resolves_references_counts_once_and_rolls_back,
    soql_pages_4500_records_with_next_records_url,
);

async fn sobject_crud_answers_as_salesforce(transport: Transport) {
    let sf = Sf::default_on(transport).await;
    let created = sf
        .post(
            "/sobjects/Contact",
            json!({"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.com"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.body,
        json!({"id": id, "success": true, "errors": []})
    );
    assert!(id.len() == 18 && id.starts_with("003"), "{id}");
    assert_eq!(created.usage.as_deref(), Some("api-usage=1/150000"));
    assert_eq!(
        created.location.as_deref(),
        Some(format!("{V}/sobjects/Contact/{id}").as_str())
    );

    let read = sf.get(&format!("/sobjects/Contact/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["attributes"]["type"], "Contact");
    assert_eq!(
        read.body["attributes"]["url"],
        format!("{V}/sobjects/Contact/{id}")
    );
    assert_eq!(read.body["Id"], id);
    assert_eq!(read.body["Name"], "Ada Lovelace");
    assert_eq!(read.body["Phone"], Value::Null);
    assert_eq!(read.body["IsDeleted"], false);
    assert!(
        read.body["LastModifiedDate"]
            .as_str()
            .unwrap()
            .ends_with("+0000")
    );
    // The 15-character id and any API version name the same record.
    let short = sf
        .get(&format!(
            "/services/data/v58.0/sobjects/Contact/{}?fields=LastName,email",
            &id[..15]
        ))
        .await;
    assert_eq!(short.status, StatusCode::OK);
    let keys: BTreeSet<&str> = short
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["attributes", "LastName", "Email"]));

    let patched = sf
        .patch(
            &format!("/sobjects/Contact/{id}"),
            json!({"Email": "ada@lovelace.dev", "Phone": null}),
        )
        .await;
    assert_eq!(
        (patched.status, patched.body.clone()),
        (StatusCode::NO_CONTENT, Value::Null)
    );
    assert_eq!(
        sf.get(&format!("/sobjects/Contact/{id}")).await.body["Email"],
        "ada@lovelace.dev"
    );

    let deleted = sf
        .call(Method::DELETE, &format!("/sobjects/Contact/{id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = sf.get(&format!("/sobjects/Contact/{id}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(error(&gone).0, "NOT_FOUND");

    // Each object has its key prefix; an id of one object is not found as another.
    let account = sf.create("Account", json!({"Name": "Acme"})).await;
    assert!(account.starts_with("001"));
    let opportunity = sf
        .create(
            "Opportunity",
            json!({"Name": "Deal", "StageName": "Prospecting", "CloseDate": "2026-12-31", "Amount": 1200.5, "AccountId": account}),
        )
        .await;
    assert!(opportunity.starts_with("006"));
    let opp = sf
        .get(&format!("/sobjects/Opportunity/{opportunity}"))
        .await;
    assert_eq!(
        (opp.body["Amount"].clone(), opp.body["AccountId"].clone()),
        (json!(1200.5), json!(account))
    );
    assert_eq!(
        sf.get(&format!("/sobjects/Contact/{account}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(sf.usage_after_calls().await, 12);
}

impl Sf {
    /// Calls counted so far, read from `/limits` (which counts itself).
    async fn usage_after_calls(&self) -> u64 {
        let limits = self.get("/limits").await;
        let daily = &limits.body["DailyApiRequests"];
        daily["Max"].as_u64().unwrap() - daily["Remaining"].as_u64().unwrap()
    }
}

async fn errors_are_arrays_with_salesforce_codes(transport: Transport) {
    let sf = Sf::default_on(transport).await;
    let cases = [
        (
            json!({"FirstName": "x"}),
            "REQUIRED_FIELD_MISSING",
            Some("LastName"),
        ),
        (
            json!({"LastName": "x", "Shoe_Size": 4}),
            "INVALID_FIELD",
            Some("Shoe_Size"),
        ),
        (
            json!({"LastName": "x", "CreatedDate": "2026-01-01"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            Some("CreatedDate"),
        ),
        (
            json!({"LastName": "x", "Birthdate": "yesterday"}),
            "JSON_PARSER_ERROR",
            None,
        ),
        (
            json!({"LastName": "x", "AccountId": "001nope"}),
            "MALFORMED_ID",
            Some("AccountId"),
        ),
    ];
    for (body, code, field) in cases {
        let a = sf.post("/sobjects/Contact", body.clone()).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error(&a).0, code, "{body}: {}", a.body);
        if let Some(field) = field {
            assert_eq!(a.body[0]["fields"], json!([field]), "{body}");
        }
    }
    let raw = sf
        .client
        .post(format!("{}{V}/sobjects/Contact", sf.base))
        .bearer_auth(&sf.token)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "JSON_PARSER_ERROR");

    sf.create("Contact", json!({"LastName": "a", "Unique__c": "u-1"}))
        .await;
    let dup = sf
        .post(
            "/sobjects/Contact",
            json!({"LastName": "b", "Unique__c": "u-1"}),
        )
        .await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    let (code, message) = error(&dup);
    assert_eq!(code, "DUPLICATE_VALUE");
    assert!(
        message.contains("Unique__c duplicates value on record with id: 003"),
        "{message}"
    );
    assert_eq!(sf.get("/sobjects/Lead").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        sf.get("/services/data/vX/limits").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(error(&sf.get("/nowhere").await).0, "NOT_FOUND");
    assert_eq!(sf.org.record_count(), 1);
}

async fn upsert_by_external_id_creates_updates_and_refuses_ambiguity(transport: Transport) {
    let sf = Sf::default_on(transport).await;
    let first = sf
        .patch(
            "/sobjects/Contact/Ext_Id__c/e-1",
            json!({"LastName": "One"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let id = first.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        first.body,
        json!({"id": id, "success": true, "errors": [], "created": true})
    );
    let again = sf
        .patch(
            "/sobjects/Contact/Ext_Id__c/e-1",
            json!({"LastName": "Uno"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.body,
        json!({"id": id, "success": true, "errors": [], "created": false})
    );
    let read = sf.get("/sobjects/Contact/Ext_Id__c/e-1").await;
    assert_eq!(
        (read.body["Id"].clone(), read.body["LastName"].clone()),
        (json!(id), json!("Uno"))
    );

    // Two plain creates carry the same (non-unique) external id: the upsert is ambiguous.
    let a = sf
        .create("Contact", json!({"LastName": "A", "Ext_Id__c": "dup"}))
        .await;
    let b = sf
        .create("Contact", json!({"LastName": "B", "Ext_Id__c": "dup"}))
        .await;
    let before = sf.org.accounting();
    let ambiguous = sf
        .patch("/sobjects/Contact/Ext_Id__c/dup", json!({"LastName": "C"}))
        .await;
    assert_eq!(ambiguous.status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(
        ambiguous.body,
        json!([
            format!("{V}/sobjects/Contact/{a}"),
            format!("{V}/sobjects/Contact/{b}")
        ])
    );
    let after = sf.org.accounting();
    assert_eq!(
        (after.records_created, after.records_updated),
        (before.records_created, before.records_updated),
        "a 300 writes nothing"
    );
    assert_eq!(
        sf.get("/sobjects/Contact/Ext_Id__c/dup").await.status,
        StatusCode::MULTIPLE_CHOICES
    );
    // `Id` as the external id: update by id, 404 for an unknown one.
    let by_id = sf
        .patch(
            &format!("/sobjects/Contact/Id/{a}"),
            json!({"Title": "By id"}),
        )
        .await;
    assert_eq!(
        (by_id.status, by_id.body["created"].clone()),
        (StatusCode::OK, json!(false))
    );
    assert_eq!(
        sf.get(&format!("/sobjects/Contact/{a}")).await.body["Title"],
        "By id"
    );
    let missing = "003000000000000AAA";
    let no_id = sf
        .patch(
            &format!("/sobjects/Contact/Id/{missing}"),
            json!({"Title": "x"}),
        )
        .await;
    assert_eq!(no_id.status, StatusCode::NOT_FOUND);
    let unknown = sf
        .patch("/sobjects/Contact/Email/x", json!({"LastName": "C"}))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        sf.org.copies_by_field("Contact", "Ext_Id__c").get("dup"),
        Some(&2)
    );
}

fn contacts(range: std::ops::Range<usize>, all_or_none: bool) -> Value {
    let records: Vec<Value> = range
        .map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("L{i}"), "Ext_Id__c": format!("c-{i:05}")}))
        .collect();
    json!({"allOrNone": all_or_none, "records": records})
}

async fn collections_cap_results_and_all_or_none_rollback(transport: Transport) {
    let sf = Sf::default_on(transport).await;
    let mut body = contacts(0..3, false);
    body["records"][1] = json!({"attributes": {"type": "Contact"}, "FirstName": "no last name"});
    let partial = sf.post("/composite/sobjects", body.clone()).await;
    assert_eq!(partial.status, StatusCode::OK);
    let results = partial.body.as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[1]["success"], false);
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(results[1]["errors"][0]["fields"], json!(["LastName"]));
    assert_eq!(results[2]["success"], true);
    assert_eq!(sf.org.record_count(), 2);

    body["allOrNone"] = json!(true);
    let rolled = sf.post("/composite/sobjects", body).await;
    assert_eq!(rolled.status, StatusCode::OK);
    let results = rolled.body.as_array().unwrap();
    assert!(
        results.iter().all(|r| r["success"] == false),
        "{}",
        rolled.body
    );
    assert_eq!(
        results[0]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "REQUIRED_FIELD_MISSING"
    );
    assert_eq!(
        results[2]["errors"][0]["statusCode"],
        "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    );
    assert_eq!(
        sf.org.record_count(),
        2,
        "nothing of the rolled-back request stays"
    );
    assert_eq!(sf.org.accounting().records_created, 2);

    let over = sf
        .post("/composite/sobjects", contacts(0..201, false))
        .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST);
    assert_eq!(error(&over).0, "EXCEEDED_ID_LIMIT");
    assert_eq!(sf.org.record_count(), 2);
    let full = sf
        .post("/composite/sobjects", contacts(100..300, false))
        .await;
    assert_eq!(full.body.as_array().unwrap().len(), 200);
    assert!(
        full.body
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["success"] == true)
    );

    // Update by Id, upsert by external id, read and delete by ids.
    let ids: Vec<String> = full.body.as_array().unwrap()[..2]
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let update = json!({"records": [
        {"attributes": {"type": "Contact"}, "Id": ids[0], "Title": "CTO"},
        {"attributes": {"type": "Contact"}, "Id": "003000000000000AAA", "Title": "x"},
    ]});
    let updated = sf.patch("/composite/sobjects", update).await;
    assert_eq!(
        updated.body[0],
        json!({"id": ids[0], "success": true, "errors": []})
    );
    assert_eq!(updated.body[1]["success"], false);
    let upsert = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Contact"}, "Ext_Id__c": "c-00100", "LastName": "Again"},
        {"attributes": {"type": "Contact"}, "Ext_Id__c": "c-99999", "LastName": "New"},
    ]});
    let upserted = sf
        .patch("/composite/sobjects/Contact/Ext_Id__c", upsert)
        .await;
    assert_eq!(upserted.status, StatusCode::OK);
    assert_eq!(upserted.body[0]["created"], false);
    assert_eq!(upserted.body[0]["id"], ids[0]);
    assert_eq!(upserted.body[1]["created"], true);
    let read = sf
        .get(&format!(
            "/composite/sobjects/Contact?ids={},{},003000000000000AAA&fields=Id,Title,LastName",
            ids[0], ids[1]
        ))
        .await;
    assert_eq!(read.body[0]["Title"], "CTO");
    assert_eq!(read.body[0]["LastName"], "Again");
    assert_eq!(read.body[1]["Id"], ids[1]);
    assert_eq!(read.body[2], Value::Null);
    let deleted = sf
        .call(
            Method::DELETE,
            &format!(
                "/composite/sobjects?ids={},{}&allOrNone=false",
                ids[0], ids[1]
            ),
            None,
        )
        .await;
    assert!(
        deleted
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["success"] == true),
        "{}",
        deleted.body
    );
    assert_eq!(
        sf.get(&format!("/sobjects/Contact/{}", ids[1]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

async fn composite_resolves_references_counts_once_and_rolls_back(transport: Transport) {
    let sf = Sf::default_on(transport).await;
    let request = json!({"compositeRequest": [
        {"method": "POST", "url": format!("{V}/sobjects/Account"), "referenceId": "acct", "body": {"Name": "Acme"}},
        {"method": "POST", "url": format!("{V}/sobjects/Contact"), "referenceId": "person",
         "body": {"LastName": "Smith", "AccountId": "@{acct.id}"}},
        {"method": "GET", "url": format!("{V}/sobjects/Contact/@{{person.id}}?fields=AccountId"), "referenceId": "read"},
        {"method": "GET", "url": format!("{V}/query?q=SELECT+Id+FROM+Account"), "referenceId": "q"},
    ]});
    let a = sf.post("/composite", request).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.usage.as_deref(),
        Some("api-usage=1/150000"),
        "one composite is one call"
    );
    let responses = a.body["compositeResponse"].as_array().unwrap();
    let statuses: Vec<u64> = responses
        .iter()
        .map(|r| r["httpStatusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 201, 200, 200]);
    let account = responses[0]["body"]["id"].as_str().unwrap();
    assert_eq!(responses[0]["referenceId"], "acct");
    assert_eq!(
        responses[0]["httpHeaders"]["Location"],
        format!("{V}/sobjects/Account/{account}")
    );
    assert_eq!(responses[2]["body"]["AccountId"], account);
    assert_eq!(responses[3]["body"]["records"][0]["Id"], account);

    let mut failing = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": format!("{V}/sobjects/Account"), "referenceId": "a1", "body": {"Name": "Kept?"}},
        {"method": "POST", "url": format!("{V}/sobjects/Contact"), "referenceId": "c1", "body": {"FirstName": "no last"}},
        {"method": "POST", "url": format!("{V}/sobjects/Account"), "referenceId": "a2", "body": {"Name": "Never"}},
    ]});
    let before = sf.org.record_count();
    let collection =
        json!({"records": [{"attributes": {"type": "Account"}, "Name": "In a collection"}]});
    failing["compositeRequest"]
        .as_array_mut()
        .unwrap()
        .insert(1, json!({"method": "POST", "url": format!("{V}/composite/sobjects"), "referenceId": "coll", "body": collection}));
    let rolled = sf.post("/composite", failing).await;
    let responses = rolled.body["compositeResponse"].as_array().unwrap();
    let codes: Vec<&str> = responses
        .iter()
        .map(|r| r["body"][0]["errorCode"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "PROCESSING_HALTED",
            "PROCESSING_HALTED",
            "REQUIRED_FIELD_MISSING",
            "PROCESSING_HALTED"
        ]
    );
    assert!(responses.iter().all(|r| r["httpStatusCode"] == 400));
    assert_eq!(
        sf.org.record_count(),
        before,
        "allOrNone took the first create back"
    );

    let too_many: Vec<Value> = (0..26)
        .map(|i| json!({"method": "GET", "url": format!("{V}/limits"), "referenceId": format!("r{i}")}))
        .collect();
    let over = sf
        .post("/composite", json!({"compositeRequest": too_many}))
        .await;
    assert_eq!(over.status, StatusCode::BAD_REQUEST);
}

async fn soql_pages_4500_records_with_next_records_url(transport: Transport) {
    let sf = Sf::default_on(transport).await;
    let mut created = BTreeSet::new();
    for start in (0..4_500).step_by(200) {
        let a = sf
            .post(
                "/composite/sobjects",
                contacts(start..(start + 200).min(4_500), true),
            )
            .await;
        for r in a.body.as_array().unwrap() {
            assert_eq!(r["success"], true, "{r}");
            created.insert(r["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(created.len(), 4_500);
    let mut page = sf.query("SELECT Id, Ext_Id__c FROM Contact").await;
    assert_eq!(page.status, StatusCode::OK);
    let mut seen = BTreeSet::new();
    let mut sizes = Vec::new();
    for _ in 0..10 {
        assert_eq!(page.body["totalSize"], 4_500);
        let records = page.body["records"].as_array().unwrap();
        sizes.push(records.len());
        for r in records {
            assert_eq!(r["attributes"]["type"], "Contact");
            assert_eq!(
                r["attributes"]["url"],
                format!("{V}/sobjects/Contact/{}", r["Id"].as_str().unwrap())
            );
            seen.insert(r["Id"].as_str().unwrap().to_string());
        }
        if page.body["done"] == true {
            assert!(page.body.get("nextRecordsUrl").is_none());
            break;
        }
        let next = page.body["nextRecordsUrl"].as_str().unwrap().to_string();
        assert!(next.starts_with(&format!("{V}/query/01g")), "{next}");
        assert!(next.ends_with(&format!("-{}", seen.len())), "{next}");
        page = sf.get(&next).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    }
    assert_eq!(sizes, [2_000, 2_000, 500]);
    assert_eq!(seen, created);

    let picked = sf
        .query("SELECT Id, Ext_Id__c FROM Contact WHERE Ext_Id__c IN ('c-00007', 'c-04499') ORDER BY Ext_Id__c DESC")
        .await;
    let exts: Vec<&str> = picked.body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Ext_Id__c"].as_str().unwrap())
        .collect();
    assert_eq!(exts, ["c-04499", "c-00007"]);
    let limited = sf
        .query("select LastName from contact where LastName = 'l42' limit 5")
        .await;
    assert_eq!(
        (
            limited.body["totalSize"].clone(),
            limited.body["records"][0]["LastName"].clone()
        ),
        (json!(1), json!("L42"))
    );
    let recent = sf.query("SELECT Id FROM Contact WHERE LastModifiedDate > 2020-01-01T00:00:00Z AND LastModifiedDate < 2999-01-01T00:00:00Z LIMIT 3").await;
    assert_eq!(
        (
            recent.body["totalSize"].clone(),
            recent.body["done"].clone()
        ),
        (json!(3), json!(true))
    );
    let future = sf
        .query("SELECT Id FROM Contact WHERE LastModifiedDate > 2999-01-01T00:00:00Z")
        .await;
    assert_eq!(future.body["totalSize"], 0);

    let gone = created.iter().next().unwrap().clone();
    sf.call(Method::DELETE, &format!("/sobjects/Contact/{gone}"), None)
        .await;
    let q = url_encode(&format!(
        "SELECT Id, IsDeleted FROM Contact WHERE Id = '{gone}'"
    ));
    assert_eq!(sf.get(&format!("/query?q={q}")).await.body["totalSize"], 0);
    let all = sf.get(&format!("/queryAll?q={q}")).await;
    assert_eq!(all.body["records"][0]["IsDeleted"], true);

    for bad in [
        "SELECT FROM Contact",
        "SELECT Id FROM Contact WHERE Email = 5",
        "SELECT Id FROM Contact WHERE LastModifiedDate > '2020'",
    ] {
        let a = sf.query(bad).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error(&a).0, "MALFORMED_QUERY", "{bad}");
    }
    assert_eq!(
        error(&sf.query("SELECT Nope FROM Contact").await).0,
        "INVALID_FIELD"
    );
    assert_eq!(
        error(&sf.query("SELECT Id FROM Lead").await).0,
        "INVALID_TYPE"
    );
    assert_eq!(
        error(&sf.get(&format!("{V}/query/01gbogus-2000")).await).0,
        "INVALID_QUERY_LOCATOR"
    );
}

#[tokio::test(start_paused = true)]
async fn allocation_refuses_the_call_after_the_last_and_resets_after_24_hours() {
    let sf = Sf::start(OrgConfig {
        base: syncproof_mocks::CrmConfig {
            daily_max: 20,
            ..OrgConfig::default().base
        },
        // Longer than the test's idle day, so the session outlives it.
        session_ttl: Duration::from_secs(48 * 3_600),
        ..OrgConfig::default()
    })
    .await;
    for n in 1..=19 {
        let a = sf.get("/limits").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(
            a.usage.as_deref(),
            Some(format!("api-usage={n}/20").as_str())
        );
        // The body and the header agree.
        assert_eq!(
            a.body["DailyApiRequests"],
            json!({"Max": 20, "Remaining": 20 - n})
        );
    }
    tokio::time::advance(Duration::from_secs(3_600)).await;
    let last = sf.get("/limits").await;
    assert_eq!(
        (last.status, last.usage.as_deref()),
        (StatusCode::OK, Some("api-usage=20/20"))
    );
    let refused = sf.get("/limits").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.body,
        json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(refused.usage.as_deref(), Some("api-usage=20/20"));
    // 24 h after the first 19 calls they leave the window; the 20th (an hour later) stays.
    tokio::time::advance(Duration::from_secs(23 * 3_600)).await;
    let back = sf.get("/limits").await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(back.usage.as_deref(), Some("api-usage=2/20"));
    let stats: Value = sf.harness("/__syncproof/stats").await;
    assert_eq!(stats["accounting"]["faults"]["throttled_allocation"], 1);
    assert_eq!(stats["accounting"]["calls"]["limits"]["403"], 1);
    assert_eq!(stats["accounting"]["calls"]["limits"]["200"], 21);
}

#[tokio::test(start_paused = true)]
async fn oauth_tokens_work_until_idle_for_the_session_ttl() {
    let mut sf = Sf::start(OrgConfig {
        base: syncproof_mocks::CrmConfig {
            tokens: vec!["fixed-token".into()],
            ..OrgConfig::default().base
        },
        ..OrgConfig::default()
    })
    .await;
    let wrong = sf.get("/limits").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.body,
        json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])
    );
    let token: Value = sf
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "id"),
            ("client_secret", "s"),
        ])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["instance_url"], sf.base);
    assert!(token["issued_at"].as_str().unwrap().parse::<u64>().is_ok());
    sf.token = token["access_token"].as_str().unwrap().to_string();
    assert_eq!(sf.token, "fixed-token");
    assert_eq!(sf.get("/limits").await.status, StatusCode::OK);
    // Activity extends the session; two idle hours end it.
    tokio::time::advance(Duration::from_secs(7_000)).await;
    assert_eq!(sf.get("/limits").await.status, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(7_200)).await;
    let expired = sf.get("/limits").await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(error(&expired).0, "INVALID_SESSION_ID");
    // A new token from the password grant opens a new session.
    let renewed = sf
        .token(&[
            ("grant_type", "password"),
            ("client_id", "id"),
            ("username", "u"),
            ("password", "p"),
        ])
        .await;
    assert_eq!(renewed.status(), StatusCode::OK);
    assert_eq!(sf.get("/limits").await.status, StatusCode::OK);
    let unsupported = sf.token(&[("grant_type", "implicit")]).await;
    assert_eq!(unsupported.status(), StatusCode::BAD_REQUEST);
    let faults = sf.org.accounting().faults;
    assert_eq!(
        (faults.get("unauthorized"), faults.get("session_expired")),
        (Some(&1), Some(&1))
    );
}

#[tokio::test]
async fn fault_overlays_answer_in_salesforce_shapes_and_are_counted() {
    let mut cfg = syncproof_mocks::salesforce_profile("salesforce-developer").unwrap();
    cfg.base.error_rate = 1.0;
    let sf = Sf::start(cfg).await;
    let a = sf.get("/limits").await;
    assert!(a.status.is_server_error(), "{}", a.status);
    assert!(a.body[0]["errorCode"].is_string());
    assert_eq!(a.usage.as_deref(), Some("api-usage=1/15000"));
    assert_eq!(sf.org.accounting().faults.get("transient_5xx"), Some(&1));

    let mut cfg = syncproof_mocks::salesforce_profile("salesforce-developer").unwrap();
    cfg.base.commit_then_drop_rate = 1.0;
    let sf = Sf::start(cfg).await;
    let sent = sf
        .client
        .post(format!("{}{V}/sobjects/Contact", sf.base))
        .bearer_auth(&sf.token)
        .json(&json!({"LastName": "Dropped"}))
        .send()
        .await;
    let body = match sent {
        Ok(response) => response.text().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(body.is_err(), "the connection drops after the commit");
    assert_eq!(sf.org.record_count(), 1, "the write committed");
    assert_eq!(sf.org.accounting().faults.get("commit_then_drop"), Some(&1));
    let health: Value = sf.harness("/__syncproof/health").await;
    assert_eq!(health["status"], "ok");

    let mut cfg = syncproof_mocks::salesforce_profile("salesforce-developer").unwrap();
    cfg.base.maintenance = Some((Duration::ZERO, Duration::from_secs(600)));
    let sf = Sf::start(cfg).await;
    let response = sf
        .client
        .get(format!("{}{V}/limits", sf.base))
        .bearer_auth(&sf.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((590..=600).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "SERVER_UNAVAILABLE");
    assert_eq!(sf.org.accounting().faults.get("maintenance"), Some(&1));
    assert_eq!(
        sf.org.api_usage().0,
        0,
        "a refused request uses no allocation"
    );
}

#[tokio::test]
async fn long_running_requests_past_the_concurrency_limit_are_refused() {
    // Every request in flight counts as long-running (threshold 0), one is allowed, and each
    // answer is held back 2 s of injected latency: a second request while the first is held is
    // refused, one after it ended is not.
    let held = Duration::from_secs(2);
    let mut cfg = syncproof_mocks::salesforce_profile("salesforce-developer").unwrap();
    cfg.long_running_after = Duration::ZERO;
    cfg.long_running_max = 1;
    cfg.base.latency = syncproof_mocks::LogNormal {
        median: held,
        sigma: 0.0,
        max: held,
    };
    let sf = Arc::new(Sf::start(cfg).await);
    let first = tokio::spawn({
        let sf = Arc::clone(&sf);
        async move { sf.get("/limits").await.status }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sf.org.in_flight() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first request never arrived"
        );
        tokio::task::yield_now().await;
    }
    let refused = sf.get("/limits").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        refused.body,
        json!([{"message": "ConcurrentRequests (Concurrent API Requests) Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
    );
    assert_eq!(first.await.unwrap(), StatusCode::OK);
    assert_eq!(sf.get("/limits").await.status, StatusCode::OK);
    let faults = sf.org.accounting().faults;
    assert_eq!(faults.get("throttled_concurrency"), Some(&1));
}

#[tokio::test]
async fn an_org_served_over_tls_hands_out_an_https_instance_url() {
    let sf = Sf::start(OrgConfig {
        https: true,
        ..OrgConfig::default()
    })
    .await;
    let token: Value = sf
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", "id"),
            ("client_secret", "s"),
        ])
        .await
        .json()
        .await
        .unwrap();
    let host = sf.base.trim_start_matches("http://");
    assert_eq!(token["instance_url"], format!("https://{host}"));
    assert!(token["id"].as_str().unwrap().starts_with("https://"));
}
