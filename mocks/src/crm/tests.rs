//! Router tests: the HTTP contract of the mock CRM, driven through `tower::ServiceExt::oneshot`
//! (no socket), with the tokio clock paused wherever a window or delay is involved.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{Crm, CrmConfig};
use crate::dist::LogNormal;

mod oauth;
mod objects;

const TOKEN: &str = "harness";
const CONTACTS: &str = "/crm/v3/objects/contacts";

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

struct Mock {
    crm: Arc<Crm>,
    router: Router,
}

impl Mock {
    fn new(cfg: CrmConfig) -> Self {
        let crm = Crm::new(cfg);
        let router = crm.router();
        Mock { crm, router }
    }

    async fn send(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<&[u8]>,
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request
            .header("content-type", "application/json")
            .body(body.map(|b| Body::from(b.to_vec())).unwrap_or_default())
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("non-JSON body: {:?}", String::from_utf8_lossy(&bytes)))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Method::GET, uri, Some(TOKEN), None).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        let uri = format!("{CONTACTS}{path}");
        self.send(
            Method::POST,
            &uri,
            Some(TOKEN),
            Some(body.to_string().as_bytes()),
        )
        .await
    }

    async fn create_many(&self, n: usize, props: impl Fn(usize) -> Value) {
        let inputs: Vec<Value> = (0..n).map(|i| json!({ "properties": props(i) })).collect();
        for chunk in inputs.chunks(100) {
            let a = self.post("/batch/create", json!({ "inputs": chunk })).await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
        }
    }
}

fn unlimited() -> CrmConfig {
    CrmConfig {
        burst_max: 0,
        daily_max: 0,
        search_per_second: 0,
        ..CrmConfig::default()
    }
}

fn ids(body: &Value) -> Vec<String> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn assert_hubspot_error(a: &Answer, status: u16, category: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.body);
    assert_eq!(a.body["status"], "error", "{}", a.body);
    assert_eq!(a.body["category"], category, "{}", a.body);
    assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(
        a.body["correlationId"]
            .as_str()
            .is_some_and(|c| c.len() == 36)
    );
}

#[tokio::test]
async fn create_then_read_by_id_and_by_id_property() {
    let m = Mock::new(unlimited());
    let a = m
        .post(
            "",
            json!({"properties": {"email": "Ada@Example.COM", "firstname": "Ada", "phone": null}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["id"], "1");
    assert_eq!(a.body["archived"], false);
    assert_eq!(
        a.body["properties"]["email"], "ada@example.com",
        "email is lower-cased"
    );
    assert_eq!(a.body["properties"]["hs_object_id"], "1");
    for field in ["createdAt", "updatedAt"] {
        let t = a.body[field].as_str().unwrap();
        assert!(
            humantime::parse_rfc3339(t).is_ok() && t.ends_with('Z') && t.len() == 24,
            "{t}"
        );
    }
    assert!(humantime::parse_rfc3339(a.body["properties"]["createdate"].as_str().unwrap()).is_ok());

    let r = m
        .get(&format!("{CONTACTS}/1?properties=firstname,lastname"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let props = r.body["properties"].as_object().unwrap();
    let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "createdate",
            "firstname",
            "hs_object_id",
            "lastmodifieddate",
        ]
    );
    assert!(
        !props.contains_key("lastname"),
        "requested but unset → left out (the vendor schema has no null property values)"
    );

    let by_email = m
        .get(&format!(
            "{CONTACTS}/ADA@example.com?idProperty=email&properties=email"
        ))
        .await;
    assert_eq!(by_email.status, StatusCode::OK);
    assert_eq!(by_email.body["id"], "1");

    assert_hubspot_error(
        &m.get(&format!("{CONTACTS}/2")).await,
        404,
        "OBJECT_NOT_FOUND",
    );
    assert_hubspot_error(
        &m.get(&format!("{CONTACTS}/nobody?idProperty=email")).await,
        404,
        "OBJECT_NOT_FOUND",
    );
}

#[tokio::test]
async fn list_pages_in_id_order_and_the_cursor_tails_new_records() {
    let m = Mock::new(unlimited());
    m.create_many(25, |i| json!({"n": i.to_string()})).await;
    let first = m.get(&format!("{CONTACTS}?limit=10&properties=n")).await;
    assert_eq!(
        ids(&first.body),
        (1..=10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(first.body["results"][0]["properties"]["n"], "0");
    let after = first.body["paging"]["next"]["after"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(after, "11");
    let second = m.get(&format!("{CONTACTS}?limit=10&after={after}")).await;
    assert_eq!(ids(&second.body).first().map(String::as_str), Some("11"));
    let last = m.get(&format!("{CONTACTS}?limit=10&after=21")).await;
    assert_eq!(ids(&last.body), ["21", "22", "23", "24", "25"]);
    assert!(
        last.body.get("paging").is_none(),
        "no paging on the last page"
    );
    // Tailing: the id after the last result sees exactly the records created later.
    m.create_many(3, |_| json!({})).await;
    let tail = m.get(&format!("{CONTACTS}?limit=100&after=26")).await;
    assert_eq!(ids(&tail.body), ["26", "27", "28"]);
    let default_limit = m.get(CONTACTS).await;
    assert_eq!(ids(&default_limit.body).len(), 10);

    for bad in ["limit=0", "limit=101", "limit=x", "after=abc"] {
        assert_hubspot_error(
            &m.get(&format!("{CONTACTS}?{bad}")).await,
            400,
            "VALIDATION_ERROR",
        );
    }
}

#[tokio::test]
async fn batch_create_echoes_trace_ids_and_caps_at_100() {
    let m = Mock::new(unlimited());
    let a = m
        .post(
            "/batch/create",
            json!({"inputs": [
                {"properties": {"email": "a@x.io"}, "objectWriteTraceId": "t1", "associations": []},
                {"properties": {"email": "b@x.io"}, "objectWriteTraceId": "t2"}
            ]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["status"], "COMPLETE");
    assert!(a.body["startedAt"].is_string() && a.body["completedAt"].is_string());
    assert_eq!(a.body["results"][1]["objectWriteTraceId"], "t2");
    assert_eq!(a.body["results"][1]["properties"]["email"], "b@x.io");
    assert!(a.body.get("errors").is_none());

    let too_many: Vec<Value> = (0..101).map(|_| json!({"properties": {}})).collect();
    assert_hubspot_error(
        &m.post("/batch/create", json!({"inputs": too_many})).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_eq!(m.crm.record_count(), 2, "a refused batch writes nothing");
}

#[tokio::test]
async fn unique_property_conflicts_single_and_batch() {
    let m = Mock::new(CrmConfig {
        unique_properties: vec!["email".into()],
        ..unlimited()
    });
    assert_eq!(
        m.post("", json!({"properties": {"email": "a@x.io"}}))
            .await
            .status,
        StatusCode::CREATED
    );
    let dup = m.post("", json!({"properties": {"email": "A@X.io"}})).await;
    assert_hubspot_error(&dup, 409, "CONFLICT");
    assert_eq!(
        dup.body["message"],
        "Contact already exists. Existing ID: 1"
    );

    let partial = m
        .post(
            "/batch/create",
            json!({"inputs": [
                {"properties": {"email": "b@x.io"}, "objectWriteTraceId": "b"},
                {"properties": {"email": "a@x.io"}, "objectWriteTraceId": "a"},
                {"properties": {"email": "b@x.io"}, "objectWriteTraceId": "b2"}
            ]}),
        )
        .await;
    assert_eq!(partial.status, StatusCode::MULTI_STATUS, "{}", partial.body);
    assert_eq!(partial.body["numErrors"], 2);
    assert_eq!(ids(&partial.body), ["2"]);
    let errors = partial.body["errors"].as_array().unwrap();
    assert_eq!(errors[0]["category"], "CONFLICT");
    assert_eq!(
        errors[0]["message"],
        "Contact already exists. Existing ID: 1"
    );
    assert_eq!(errors[0]["context"]["objectWriteTraceId"], json!(["a"]));
    assert_eq!(
        errors[1]["message"],
        "Contact already exists. Existing ID: 2"
    );

    let all_fail = m
        .post(
            "/batch/create",
            json!({"inputs": [{"properties": {"email": "a@x.io"}}]}),
        )
        .await;
    assert_hubspot_error(&all_fail, 409, "CONFLICT");
    assert_eq!(m.crm.record_count(), 2);
    assert_eq!(m.crm.copies_by_property("email").values().max(), Some(&1));
}

#[tokio::test]
async fn upsert_creates_then_updates_by_id_property() {
    let m = Mock::new(unlimited());
    let first = m
        .post(
            "/batch/upsert",
            json!({"inputs": [{"idProperty": "syncproof_id", "id": "r1", "properties": {"firstname": "A"}}]}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["results"][0]["new"], true);
    assert_eq!(first.body["results"][0]["properties"]["syncproof_id"], "r1");
    let second = m
        .post(
            "/batch/upsert",
            json!({"inputs": [
                {"idProperty": "syncproof_id", "id": "r1", "properties": {"firstname": "B", "phone": "5"}},
                {"id": "99", "properties": {"firstname": "C"}}
            ]}),
        )
        .await;
    assert_eq!(
        second.status,
        StatusCode::MULTI_STATUS,
        "unknown object id → per-input error"
    );
    assert_eq!(second.body["results"][0]["new"], false);
    assert_eq!(second.body["results"][0]["id"], "1");
    assert_eq!(second.body["results"][0]["properties"]["firstname"], "B");
    assert_eq!(second.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    let acc = m.crm.accounting();
    assert_eq!((acc.records_created, acc.records_updated), (1, 1));
    let read = m
        .get(&format!("{CONTACTS}/1?properties=phone,firstname"))
        .await;
    assert_eq!(read.body["properties"]["phone"], "5");
    assert!(read.body["updatedAt"].as_str() >= read.body["createdAt"].as_str());
}

#[tokio::test]
async fn batch_update_by_id_property_then_archive_hides_the_record() {
    let m = Mock::new(unlimited());
    m.create_many(
        3,
        |i| json!({ "syncproof_id": format!("r{i}"), "firstname": "A" }),
    )
    .await;
    let updated = m
        .post(
            "/batch/update",
            json!({"inputs": [
                {"idProperty": "syncproof_id", "id": "r1", "properties": {"firstname": "B"}},
                {"idProperty": "syncproof_id", "id": "nope", "properties": {"firstname": "C"}}
            ]}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::MULTI_STATUS, "{}", updated.body);
    assert_eq!(updated.body["results"][0]["id"], "2");
    assert_eq!(updated.body["results"][0]["properties"]["firstname"], "B");
    assert_eq!(updated.body["errors"][0]["category"], "OBJECT_NOT_FOUND");
    let archived = m
        .post(
            "/batch/archive",
            json!({"inputs": [{"id": "2"}, {"id": "77"}]}),
        )
        .await;
    assert_eq!(archived.status, StatusCode::NO_CONTENT);
    let gone = m
        .send(Method::DELETE, &format!("{CONTACTS}/3"), Some(TOKEN), None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let again = m
        .send(Method::DELETE, &format!("{CONTACTS}/3"), Some(TOKEN), None)
        .await;
    assert_eq!(
        again.status,
        StatusCode::NO_CONTENT,
        "archiving twice is still a 204"
    );
    let read = m
        .post(
            "/batch/read",
            json!({"idProperty": "syncproof_id", "inputs": [{"id": "r0"}, {"id": "r1"}, {"id": "r2"}], "properties": ["firstname"]}),
        )
        .await;
    assert_eq!(read.status, StatusCode::MULTI_STATUS);
    assert_eq!(ids(&read.body), vec!["1".to_string()]);
    let acc = m.crm.accounting();
    assert_eq!(
        (
            acc.records_created,
            acc.records_updated,
            acc.records_archived
        ),
        (3, 1, 2)
    );
    assert_eq!(acc.calls["batch_update"][&207], 1);
    assert_eq!(acc.calls["batch_archive"][&204], 1);
    assert_eq!(acc.calls["archive"][&204], 2);
    assert_eq!(m.crm.copies_by_property("syncproof_id").len(), 1);
}

#[tokio::test]
async fn batch_read_is_207_when_some_are_missing() {
    let m = Mock::new(unlimited());
    m.create_many(3, |i| json!({"ext": format!("e{}", i % 2)}))
        .await;
    let all = m
        .post(
            "/batch/read",
            json!({"inputs": [{"id": "3"}, {"id": "1"}], "properties": ["ext"]}),
        )
        .await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(ids(&all.body), ["3", "1"]);
    assert_eq!(all.body["results"][0]["properties"]["ext"], "e0");

    let some = m
        .post(
            "/batch/read",
            json!({"idProperty": "ext", "inputs": [{"id": "e0"}, {"id": "nope"}, {"id": "e1"}, {"id": "gone"}]}),
        )
        .await;
    assert_eq!(some.status, StatusCode::MULTI_STATUS);
    assert_eq!(
        ids(&some.body),
        ["1", "2"],
        "non-unique idProperty → lowest id"
    );
    let err = &some.body["errors"][0];
    assert_eq!(err["status"], "error");
    assert_eq!(err["category"], "OBJECT_NOT_FOUND");
    assert_eq!(
        err["message"],
        "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."
    );
    assert_eq!(err["context"]["ids"], json!(["nope", "gone"]));
    assert_eq!(some.body["numErrors"], 1);
}

#[tokio::test]
async fn search_returns_every_match_and_pages_with_offsets() {
    let m = Mock::new(unlimited());
    m.create_many(
        30,
        |i| json!({"ext": format!("e{}", i % 10), "n": i.to_string()}),
    )
    .await;
    let eq = m
        .post(
            "/search",
            json!({"filterGroups": [{"filters": [{"propertyName": "ext", "operator": "EQ", "value": "e3"}]}],
                   "properties": ["ext"]}),
        )
        .await;
    assert_eq!(eq.status, StatusCode::OK);
    assert_eq!(
        eq.body["total"], 3,
        "duplicates with the same value are all returned"
    );
    assert_eq!(ids(&eq.body), ["4", "14", "24"]);
    assert_eq!(eq.body["results"][0]["properties"]["ext"], "e3");
    assert!(
        eq.headers
            .keys()
            .all(|k| !k.as_str().starts_with("x-hubspot-ratelimit"))
    );

    let range = json!({"filterGroups": [{"filters": [
        {"propertyName": "n", "operator": "GTE", "value": "5"},
        {"propertyName": "n", "operator": "LT", "value": 25}
    ]}], "limit": 15});
    let p1 = m.post("/search", range.clone()).await;
    assert_eq!(p1.body["total"], 20);
    assert_eq!(ids(&p1.body).len(), 15);
    assert_eq!(p1.body["paging"]["next"]["after"], "15");
    let mut next = range;
    next["after"] = json!("15");
    let p2 = m.post("/search", next).await;
    assert_eq!(ids(&p2.body), ["21", "22", "23", "24", "25"]);
    assert!(p2.body.get("paging").is_none());

    assert_hubspot_error(
        &m.post("/search", json!({"after": "10000", "limit": 1}))
            .await,
        400,
        "VALIDATION_ERROR",
    );
    assert_hubspot_error(
        &m.post("/search", json!({"limit": 201})).await,
        400,
        "VALIDATION_ERROR",
    );
    assert_eq!(
        m.post("/search", json!({"after": "9999", "limit": 1}))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn search_lag_hides_fresh_records() {
    let m = Mock::new(CrmConfig {
        search_lag: Duration::from_secs(3),
        ..unlimited()
    });
    m.create_many(2, |_| json!({})).await;
    assert_eq!(m.post("/search", json!({})).await.body["total"], 0);
    tokio::time::advance(Duration::from_secs(3)).await;
    assert_eq!(m.post("/search", json!({})).await.body["total"], 2);
}

#[tokio::test]
async fn malformed_input_is_a_400_never_a_panic() {
    let m = Mock::new(unlimited());
    let cases: [(&str, &[u8]); 8] = [
        ("", b"{not json"),
        ("", b""),
        ("", br#"{"properties": {"n": 5}}"#),
        ("", br#"{"properties": "x"}"#),
        ("/batch/create", br#"{"inputs": {}}"#),
        ("/batch/upsert", br#"{"inputs": [{"properties": {}}]}"#),
        ("/batch/read", br#"[1, 2]"#),
        (
            "/search",
            br#"{"filterGroups": [{"filters": [{"operator": "EQ"}]}]}"#,
        ),
    ];
    for (path, body) in cases {
        let uri = format!("{CONTACTS}{path}");
        let a = m.send(Method::POST, &uri, Some(TOKEN), Some(body)).await;
        assert_hubspot_error(&a, 400, "VALIDATION_ERROR");
    }
    assert_eq!(m.crm.record_count(), 0);
    assert_eq!(m.crm.accounting().calls_with_status(400), 8);
}

#[tokio::test]
async fn missing_or_unknown_token_is_401() {
    let m = Mock::new(CrmConfig {
        tokens: vec!["good".into()],
        ..CrmConfig::default()
    });
    let none = m.send(Method::GET, CONTACTS, None, None).await;
    assert_hubspot_error(&none, 401, "INVALID_AUTHENTICATION");
    assert!(
        none.headers.contains_key("x-hubspot-ratelimit-max"),
        "errors carry rate headers too"
    );
    let wrong = m.send(Method::GET, CONTACTS, Some("bad"), None).await;
    assert_hubspot_error(&wrong, 401, "INVALID_AUTHENTICATION");
    assert_eq!(
        m.send(Method::GET, CONTACTS, Some("good"), None)
            .await
            .status,
        StatusCode::OK
    );
    let acc = m.crm.accounting();
    assert_eq!(acc.faults.get("unauthorized"), Some(&2));
    assert_eq!(acc.calls["list"][&401], 2);
    // Any non-empty bearer when no tokens are configured, but never an empty one.
    let open = Mock::new(CrmConfig::default());
    assert_eq!(
        open.send(Method::GET, CONTACTS, Some("anything"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        open.send(Method::GET, CONTACTS, Some(""), None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn every_request_is_accounted_by_endpoint_and_status() {
    let m = Mock::new(unlimited());
    m.post("", json!({"properties": {}})).await;
    m.get(&format!("{CONTACTS}/1")).await;
    m.get(&format!("{CONTACTS}/7")).await;
    m.get(CONTACTS).await;
    m.post("/batch/read", json!({"inputs": [{"id": "1"}]}))
        .await;
    m.post("/batch/upsert", json!({"inputs": []})).await;
    m.post("/search", json!({})).await;
    let unknown = m.get("/crm/v3/objects/tickets").await;
    assert_hubspot_error(&unknown, 404, "OBJECT_NOT_FOUND");
    let wrong_method = m
        .send(
            Method::DELETE,
            &format!("{CONTACTS}/batch/create"),
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    let acc = m.crm.accounting();
    let expect = [
        ("create", 201, 1),
        ("read", 200, 1),
        ("read", 404, 1),
        ("list", 200, 1),
        ("batch_read", 200, 1),
        ("batch_upsert", 200, 1),
        ("search", 200, 1),
        ("other", 404, 1),
        ("other", 405, 1),
    ];
    for (endpoint, status, n) in expect {
        assert_eq!(
            acc.calls[endpoint][&status], n,
            "{endpoint} {status}: {acc:?}"
        );
    }
    assert_eq!(acc.total_calls(), 9);
}

#[tokio::test(start_paused = true)]
async fn burst_window_throttles_the_extra_request_until_the_window_rolls() {
    let m = Mock::new(CrmConfig {
        burst_max: 5,
        burst_window: Duration::from_secs(10),
        daily_max: 1_000,
        ..CrmConfig::default()
    });
    for i in 0..5u64 {
        let a = m.get(CONTACTS).await;
        assert_eq!(a.status, StatusCode::OK);
        let h = |name: &str| a.headers[name].to_str().unwrap().to_string();
        assert_eq!(h("x-hubspot-ratelimit-max"), "5");
        assert_eq!(h("x-hubspot-ratelimit-remaining"), (4 - i).to_string());
        assert_eq!(h("x-hubspot-ratelimit-interval-milliseconds"), "10000");
        assert_eq!(h("x-hubspot-ratelimit-daily"), "1000");
        assert_eq!(
            h("x-hubspot-ratelimit-daily-remaining"),
            (999 - i).to_string()
        );
        tokio::time::advance(Duration::from_millis(500)).await;
    }
    let throttled = m.get(CONTACTS).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.body["policyName"], "TEN_SECONDLY_ROLLING");
    assert_eq!(throttled.body["errorType"], "RATE_LIMIT");
    assert_eq!(
        throttled.body["message"],
        "You have reached your ten_secondly_rolling limit."
    );
    assert!(throttled.body["correlationId"].is_string() && throttled.body["requestId"].is_string());
    assert_eq!(throttled.headers["x-hubspot-ratelimit-remaining"], "0");
    // The oldest request leaves the window 10 s after it came, 7.5 s from now: ceil → 8.
    assert_eq!(throttled.headers["retry-after"], "8");
    // Another app (token) has its own window.
    let other = m.send(Method::GET, CONTACTS, Some("other-app"), None).await;
    assert_eq!(other.status, StatusCode::OK);
    // Just before the oldest leaves, still throttled; at the instant it leaves, admitted.
    tokio::time::advance(Duration::from_millis(7_499)).await;
    assert_eq!(m.get(CONTACTS).await.status, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(m.get(CONTACTS).await.status, StatusCode::OK);
    let acc = m.crm.accounting();
    assert_eq!(acc.faults["throttled_burst"], 2);
    assert_eq!(acc.calls["list"][&429], 2);
}

#[tokio::test(start_paused = true)]
async fn many_distinct_tokens_leave_bounded_limit_state_and_each_keeps_its_window() {
    let m = Mock::new(CrmConfig {
        burst_max: 2,
        burst_window: Duration::from_secs(10),
        daily_max: 0,
        ..CrmConfig::default()
    });
    // 5,000 clients, each with its own token and one request; a new client every 20 ms, so
    // about 500 have a request inside any 10 s window.
    let mut max_tracked = 0;
    for i in 0..5_000u32 {
        let token = format!("client-{i}");
        let first = m.send(Method::GET, CONTACTS, Some(&token), None).await;
        assert_eq!(first.status, StatusCode::OK);
        assert_eq!(first.headers["x-hubspot-ratelimit-remaining"], "1");
        max_tracked = max_tracked.max(m.crm.tracked_apps());
        tokio::time::advance(Duration::from_millis(20)).await;
    }
    assert!(max_tracked <= 1_024, "tracked {max_tracked} apps");
    // The last client's request is still in its window: one more is admitted, then refused.
    // The first client's window emptied long ago: it starts afresh with two.
    for (token, admitted) in [("client-4999", 1), ("client-0", 2)] {
        for n in 0..admitted {
            let a = m.send(Method::GET, CONTACTS, Some(token), None).await;
            assert_eq!(a.status, StatusCode::OK, "{token} {n}");
        }
        let refused = m.send(Method::GET, CONTACTS, Some(token), None).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{token}");
    }
    assert_eq!(m.crm.accounting().faults["throttled_burst"], 2);
}

#[tokio::test(start_paused = true)]
async fn retry_after_can_be_turned_off() {
    let m = Mock::new(CrmConfig {
        burst_max: 1,
        retry_after_on_429: false,
        ..CrmConfig::default()
    });
    m.get(CONTACTS).await;
    let throttled = m.get(CONTACTS).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(!throttled.headers.contains_key("retry-after"));
}

#[tokio::test(start_paused = true)]
async fn daily_limit_is_per_account() {
    let m = Mock::new(CrmConfig {
        daily_max: 3,
        ..CrmConfig::default()
    });
    for token in ["a", "b", "c"] {
        assert_eq!(
            m.send(Method::GET, CONTACTS, Some(token), None)
                .await
                .status,
            StatusCode::OK
        );
    }
    let refused = m.send(Method::GET, CONTACTS, Some("d"), None).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["policyName"], "DAILY");
    assert_eq!(refused.headers["x-hubspot-ratelimit-daily-remaining"], "0");
    assert_eq!(refused.headers["retry-after"], "86400");
    assert_eq!(m.crm.accounting().faults["throttled_daily"], 1);

    let no_daily = Mock::new(CrmConfig {
        daily_max: 0,
        ..CrmConfig::default()
    });
    let a = no_daily.get(CONTACTS).await;
    assert!(a.headers.contains_key("x-hubspot-ratelimit-max"));
    assert!(!a.headers.contains_key("x-hubspot-ratelimit-daily"));
    assert!(
        !a.headers
            .contains_key("x-hubspot-ratelimit-daily-remaining")
    );
}

#[tokio::test(start_paused = true)]
async fn search_has_its_own_per_second_limit_and_no_rate_headers() {
    let m = Mock::new(CrmConfig {
        burst_max: 2,
        ..CrmConfig::default()
    });
    for _ in 0..5 {
        assert_eq!(m.post("/search", json!({})).await.status, StatusCode::OK);
    }
    let throttled = m.post("/search", json!({})).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.body["errorType"], "RATE_LIMIT");
    assert!(
        throttled
            .headers
            .keys()
            .all(|k| !k.as_str().starts_with("x-hubspot-ratelimit"))
    );
    assert_eq!(throttled.headers["retry-after"], "1");
    // Five searches did not touch the burst window of 2.
    assert_eq!(m.get(CONTACTS).await.status, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(m.post("/search", json!({})).await.status, StatusCode::OK);
    assert_eq!(m.crm.accounting().faults["throttled_search"], 1);
}

#[tokio::test]
async fn transient_5xx_rate_matches_the_knob_and_is_counted_exactly() {
    const N: u64 = 2_000;
    const RATE: f64 = 0.2;
    let m = Mock::new(CrmConfig {
        error_rate: RATE,
        seed: 11,
        ..unlimited()
    });
    let mut observed = 0u64;
    let mut created = 0u64;
    for _ in 0..N {
        let a = m.post("", json!({"properties": {"k": "v"}})).await;
        match a.status.as_u16() {
            201 => created += 1,
            s @ (500 | 502 | 503 | 504) => {
                observed += 1;
                assert_eq!(a.body["status"], "error", "{s}");
                assert!(a.body["category"].is_string());
            }
            s => panic!("unexpected status {s}"),
        }
    }
    // Binomial(2000, 0.2): mean 400, sd ≈ 17.9; ±5 sd.
    let sd = (N as f64 * RATE * (1.0 - RATE)).sqrt();
    assert!(
        ((N as f64 * RATE) - observed as f64).abs() <= 5.0 * sd,
        "observed {observed} 5xx"
    );
    let acc = m.crm.accounting();
    assert_eq!(acc.faults["transient_5xx"], observed);
    let counted_5xx: u64 = [500, 502, 503, 504]
        .iter()
        .map(|s| acc.calls_with_status(*s))
        .sum();
    assert_eq!(counted_5xx, observed);
    assert_eq!(acc.records_created, created, "a 5xx never writes");
    assert_eq!(m.crm.record_count() as u64, created);
    // All four transient statuses occur.
    assert!(
        [500, 502, 503, 504]
            .iter()
            .all(|s| acc.calls_with_status(*s) > 0)
    );
}

#[tokio::test]
async fn faults_are_deterministic_per_seed() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let m = Mock::new(CrmConfig {
            error_rate: 0.3,
            seed,
            ..unlimited()
        });
        let mut out = Vec::new();
        for _ in 0..50 {
            out.push(m.get(CONTACTS).await.status.as_u16());
        }
        out
    }
    assert_eq!(statuses(1).await, statuses(1).await);
    assert_ne!(statuses(1).await, statuses(2).await);
}

#[tokio::test(start_paused = true)]
async fn latency_is_injected_before_the_response() {
    let m = Mock::new(CrmConfig {
        latency: LogNormal {
            median: Duration::from_millis(1_500),
            sigma: 0.0,
            max: Duration::from_secs(5),
        },
        ..unlimited()
    });
    let started = tokio::time::Instant::now();
    assert_eq!(m.get(CONTACTS).await.status, StatusCode::OK);
    assert_eq!(started.elapsed(), Duration::from_millis(1_500));
}

#[tokio::test(start_paused = true)]
async fn quota_edge_starts_the_day_nearly_spent() {
    let m = Mock::new(CrmConfig {
        daily_max: 100,
        daily_used_at_start: 0.95,
        ..CrmConfig::default()
    });
    let first = m.get(CONTACTS).await;
    assert_eq!(first.headers["x-hubspot-ratelimit-daily-remaining"], "4");
    for _ in 0..4 {
        assert_eq!(m.get(CONTACTS).await.status, StatusCode::OK);
    }
    let refused = m.get(CONTACTS).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.body["policyName"], "DAILY");
}

#[tokio::test(start_paused = true)]
async fn a_maintenance_window_answers_503_with_the_time_left() {
    let m = Mock::new(CrmConfig {
        maintenance: Some((Duration::from_secs(10), Duration::from_secs(5))),
        ..CrmConfig::default()
    });
    assert_eq!(m.get(CONTACTS).await.status, StatusCode::OK);
    tokio::time::advance(Duration::from_millis(11_500)).await;
    let down = m.get(CONTACTS).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.headers["retry-after"], "4", "3.5 s left, rounded up");
    assert_eq!(down.body["category"], "SERVICE_UNAVAILABLE");
    tokio::time::advance(Duration::from_secs(4)).await;
    assert_eq!(m.get(CONTACTS).await.status, StatusCode::OK);
    assert_eq!(m.crm.accounting().faults["maintenance"], 1);
}

#[tokio::test(start_paused = true)]
async fn a_blackholed_request_hangs_then_answers_504_without_writing() {
    let m = Mock::new(CrmConfig {
        blackhole_rate: 1.0,
        blackhole_for: Duration::from_secs(30),
        ..CrmConfig::default()
    });
    let started = tokio::time::Instant::now();
    let answer = m
        .post("", json!({ "properties": { "email": "a@b.co" } }))
        .await;
    assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() >= Duration::from_secs(30));
    assert_eq!(m.crm.record_count(), 0);
    assert_eq!(m.crm.accounting().faults["blackhole"], 1);
}

#[tokio::test(start_paused = true)]
async fn upserting_a_record_again_within_the_lock_is_423() {
    let m = Mock::new(CrmConfig {
        lock_for: Some(Duration::from_secs(2)),
        ..CrmConfig::default()
    });
    let upsert = |first: &str| json!({ "inputs": [{ "idProperty": "email", "id": "a@b.co", "properties": { "firstname": first } }] });
    let path = "/batch/upsert";
    assert_eq!(m.post(path, upsert("A")).await.status, StatusCode::OK);
    let locked = m.post(path, upsert("B")).await;
    assert_eq!(locked.status, StatusCode::LOCKED);
    assert_eq!(locked.body["category"], "LOCKED");
    tokio::time::advance(Duration::from_millis(2001)).await;
    assert_eq!(m.post(path, upsert("C")).await.status, StatusCode::OK);
    assert_eq!(
        m.crm.accounting().records_updated,
        1,
        "the locked request wrote nothing"
    );
}
