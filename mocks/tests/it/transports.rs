//! The engines answering outside `axum::serve`: `Direct` called with no runtime at all (the
//! gate's waits come back as a delay, wire faults as a `WireFault`), and the wiremock adapter
//! doing what wiremock is for beside the engine: a plain wiremock mock overriding one path with
//! an expected call count, the requests the client sent recorded, and injected latency delaying
//! the answer.

use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, Method, header};
use serde_json::{Value, json};
use syncproof_mocks::direct::{Answer, WireFault};
use syncproof_mocks::{Clock, Crm, CrmConfig, Direct, LogNormal, Org, OrgConfig};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::Engine;

const CONTACTS: &str = "/crm/v3/objects/contacts";

fn fixed(latency: Duration) -> LogNormal {
    LogNormal {
        median: latency,
        sigma: 0.0,
        max: latency,
    }
}

fn json_headers(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    headers.insert(header::AUTHORIZATION, bearer);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers
}

fn create(direct: &Direct, email: &str) -> Answer {
    let body = json!({ "properties": { "email": email } }).to_string();
    direct.handle(Method::POST, CONTACTS, json_headers("t"), body)
}

fn body(answer: &Answer) -> Value {
    serde_json::from_slice(&answer.body).unwrap()
}

/// No tokio runtime here: a direct call never awaits.
#[test]
fn direct_calls_need_no_runtime_and_hand_back_the_waits_and_wire_faults() {
    let crm = Crm::new(CrmConfig {
        latency: fixed(Duration::from_millis(250)),
        ..CrmConfig::default()
    });
    let direct = Direct::new(crm.app());
    let a = create(&direct, "a@example.com");
    assert_eq!(a.status.as_u16(), 201, "{:?}", a.body);
    assert_eq!(body(&a)["properties"]["email"], "a@example.com");
    assert_eq!(a.delay, Duration::from_millis(250));
    assert_eq!(a.wire, None);
    assert!(a.headers.contains_key("x-hubspot-ratelimit-remaining"));
    assert_eq!(crm.record_count(), 1);

    // On a clock 100× real time, 10 simulated seconds are 100 real milliseconds.
    let fast = Crm::new(CrmConfig {
        latency: fixed(Duration::from_secs(10)),
        clock: Clock::with_speed(100.0),
        ..CrmConfig::default()
    });
    let a = create(&Direct::new(fast.app()), "a@example.com");
    assert_eq!(a.delay, Duration::from_millis(100));

    // A blackhole is a wait, then a 504; nothing is written.
    let blackhole = Crm::new(CrmConfig {
        blackhole_rate: 1.0,
        blackhole_for: Duration::from_secs(30),
        ..CrmConfig::default()
    });
    let a = create(&Direct::new(blackhole.app()), "a@example.com");
    assert_eq!((a.status.as_u16(), a.delay), (504, Duration::from_secs(30)));
    assert_eq!(blackhole.record_count(), 0);

    // Commit-then-drop: the write is done, the body fails after the headers.
    let drop = Crm::new(CrmConfig {
        commit_then_drop_rate: 1.0,
        ..CrmConfig::default()
    });
    let a = create(&Direct::new(drop.app()), "a@example.com");
    assert_eq!(a.status.as_u16(), 201);
    assert!(a.body.is_empty());
    assert!(
        matches!(&a.wire, Some(WireFault::Dropped(m)) if m.contains("commit-then-drop")),
        "{:?}",
        a.wire
    );
    assert_eq!(drop.record_count(), 1);
    assert_eq!(drop.accounting().faults["commit_then_drop"], 1);

    // A slow body is whole, and says over how long it should trickle.
    let slow = Crm::new(CrmConfig {
        slow_body_rate: 1.0,
        slow_body_for: Duration::from_secs(5),
        ..CrmConfig::default()
    });
    let a = create(&Direct::new(slow.app()), "a@example.com");
    assert_eq!(a.wire, Some(WireFault::SlowBody(Duration::from_secs(5))));
    assert_eq!(body(&a)["properties"]["email"], "a@example.com");

    // The Salesforce org: the same blackhole, in its own shapes, and nothing left in flight.
    let org = Org::new(OrgConfig {
        base: CrmConfig {
            blackhole_rate: 1.0,
            blackhole_for: Duration::from_secs(30),
            ..OrgConfig::default().base
        },
        ..OrgConfig::default()
    });
    let a = Direct::new(org.app()).handle(
        Method::GET,
        "/services/data/v60.0/limits",
        json_headers("session"),
        "",
    );
    assert_eq!((a.status.as_u16(), a.delay), (504, Duration::from_secs(30)));
    assert_eq!(body(&a)[0]["errorCode"], "GATEWAY_TIMEOUT");
    assert!(a.headers.contains_key("sforce-limit-info"));
    assert_eq!(org.in_flight(), 0);
}

#[tokio::test]
async fn a_wiremock_mock_overrides_one_path_beside_the_engine_and_requests_are_recorded() {
    let crm = Crm::new(CrmConfig {
        unique_properties: vec!["email".into()],
        ..CrmConfig::default()
    });
    let server = MockServer::start().await;
    let search = format!("{CONTACTS}/search");
    // One search outage, answered by wiremock alone, expected exactly once.
    Mock::given(method("POST"))
        .and(path(search.as_str()))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({
            "status": "error", "message": "outage (wiremock)", "category": "SERVICE_UNAVAILABLE"
        })))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .named("search outage")
        .mount(&server)
        .await;
    // Everything else, and the search once the outage is spent, goes to the engine.
    Mock::given(any())
        .respond_with(Engine(Direct::new(crm.app())))
        .expect(3)
        .named("engine")
        .mount(&server)
        .await;

    let client = crate::support::client();
    let url = |p: &str| format!("{}{p}", server.uri());
    let inputs: Vec<Value> = (0..3)
        .map(|i| json!({ "properties": { "email": format!("c{i}@example.com") } }))
        .collect();
    let created = client
        .post(url(&format!("{CONTACTS}/batch/create")))
        .bearer_auth("app-1")
        .json(&json!({ "inputs": inputs }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let query = json!({
        "filterGroups": [{ "filters": [{ "propertyName": "email", "operator": "HAS_PROPERTY" }] }],
        "properties": ["email"], "limit": 10
    });
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let response = client
            .post(url(&search))
            .bearer_auth("app-1")
            .json(&query)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status().is_success() {
            let page: Value = response.json().await.unwrap();
            assert_eq!(page["total"], 3, "{page}");
        }
    }
    assert_eq!(statuses, [503, 200]);
    let stats: Value = client
        .get(url("/__syncproof/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["records"], 3);

    // What the client sent, in order, as wiremock recorded it.
    let received = server.received_requests().await.unwrap();
    let seen: Vec<(String, String)> = received
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_string()))
        .collect();
    let create_path = format!("{CONTACTS}/batch/create");
    assert_eq!(
        seen,
        [
            ("POST".into(), create_path),
            ("POST".into(), search.clone()),
            ("POST".into(), search.clone()),
            ("GET".into(), "/__syncproof/stats".into()),
        ]
    );
    assert_eq!(received[0].headers["authorization"], "Bearer app-1");
    let sent: Value = received[0].body_json().unwrap();
    assert_eq!(sent["inputs"].as_array().unwrap().len(), 3);
    // The engine's own accounting saw only the search that reached it.
    let accounting = crm.accounting();
    assert_eq!(accounting.calls["search"].get(&200), Some(&1));
    assert_eq!(accounting.calls["search"].get(&503), None);
    // Each mock was called as many times as it expected.
    server.verify().await;
}

#[tokio::test]
async fn injected_latency_delays_the_wiremock_answer() {
    let latency = Duration::from_millis(300);
    let crm = Crm::new(CrmConfig {
        latency: fixed(latency),
        ..CrmConfig::default()
    });
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Engine(Direct::new(crm.app())))
        .mount(&server)
        .await;
    let client = crate::support::client();
    let started = Instant::now();
    let response = client
        .get(format!("{}{CONTACTS}", server.uri()))
        .bearer_auth("app-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        started.elapsed() >= latency,
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(crm.accounting().calls["list"][&200], 1);
}
