//! Helpers shared by the integration tests: a contact generator, a retrying batch writer, a
//! lister, a bounded wait for background work, and the two transports an engine is reached
//! through (axum on a loopback socket, or the wiremock adapter [`Engine`] inside a
//! `wiremock::MockServer`), with `on_both_transports!` to run a test once on each.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use syncproof_mocks::Direct;
use tokio_util::sync::{CancellationToken, DropGuard};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

pub const HARNESS: &str = "harness-token";
pub const RELAY: &str = "relay-token";
pub const ID: &str = "syncproof_id";
pub const PROPERTIES: [&str; 4] = ["email", "firstname", "phone", "company"];

/// A contact's source properties: phone is empty for every 13th and unset for every 17th,
/// first names vary in length (some multi-byte) so truncation has work to do.
pub fn contact(i: usize) -> BTreeMap<String, Option<String>> {
    let names = [
        "Al",
        "Zoë Ångström-Lindqvist",
        "Bartholomew",
        "Jo",
        "Maximiliano",
        "Ίκαρος Παπαδόπουλος",
    ];
    let phone = match i {
        _ if i.is_multiple_of(17) => None,
        _ if i.is_multiple_of(13) => Some(String::new()),
        _ => Some(format!("+1-555-{i:06}")),
    };
    [
        (ID, Some(format!("sp-{i:05}"))),
        ("email", Some(format!("person{i}@example.com"))),
        ("firstname", Some(names[i % names.len()].to_string())),
        ("phone", phone),
        ("company", Some(format!("Company {} Holdings", i % 7))),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Writes contacts `0..n` to `url` with batch/create, retrying 429 and 5xx (both happen before
/// the mock touches its store, so a retry never duplicates).
pub async fn write_contacts(url: &str, n: usize) {
    let client = client();
    let indices: Vec<usize> = (0..n).collect();
    for chunk in indices.chunks(100) {
        let inputs: Vec<Value> = chunk
            .iter()
            .map(|i| json!({ "properties": contact(*i) }))
            .collect();
        let body = json!({ "inputs": inputs });
        let mut attempts = 0;
        loop {
            attempts += 1;
            assert!(attempts < 50, "source keeps refusing the harness's writes");
            let response = client
                .post(format!("{url}/crm/v3/objects/contacts/batch/create"))
                .bearer_auth(HARNESS)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            match status {
                201 => break,
                429 | 500..=599 => tokio::time::sleep(Duration::from_millis(20)).await,
                _ => panic!(
                    "batch/create answered {status}: {}",
                    response.text().await.unwrap()
                ),
            }
        }
    }
}

/// Every record of the CRM at `url`, with the test properties, following the list cursor.
pub async fn list_all(url: &str) -> Vec<Value> {
    let client = client();
    let props = std::iter::once(ID)
        .chain(PROPERTIES)
        .collect::<Vec<_>>()
        .join(",");
    let mut out = Vec::new();
    let mut after = "1".to_string();
    loop {
        let response = client
            .get(format!("{url}/crm/v3/objects/contacts"))
            .bearer_auth(HARNESS)
            .query(&[("limit", "100"), ("after", &after), ("properties", &props)])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if status == 429 || status >= 500 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        assert_eq!(status, 200);
        let page: Value = response.json().await.unwrap();
        out.extend(page["results"].as_array().unwrap().iter().cloned());
        match page["paging"]["next"]["after"].as_str() {
            Some(next) => after = next.to_string(),
            None => return out,
        }
    }
}

/// Polls `done` every few ms until it holds; panics after `bound` (the work is in the
/// background, so there is nothing to await directly).
pub async fn wait_until(bound: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + bound;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {bound:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// How a test reaches an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The engine's router under `axum::serve` on `127.0.0.1:0`, as `syncproof mock` runs it.
    Axum,
    /// The same router behind the [`Engine`] adapter, mounted in a `wiremock::MockServer`.
    Wiremock,
}

/// The wiremock adapter: hands each request to the engine through [`Direct`] (which never
/// waits) and the answer to wiremock; the engine's injected latency and blackhole time become the
/// template's delay, a slow body's time too (the body arrives late, whole), and a dropped
/// connection becomes the status and headers with an empty body.
pub struct Engine(pub Direct);

impl Respond for Engine {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let url = &request.url;
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let answer = self.0.handle(
            request.method.clone(),
            &target,
            request.headers.clone(),
            request.body.clone(),
        );
        let slow = match answer.wire {
            Some(syncproof_mocks::direct::WireFault::SlowBody(over)) => over,
            _ => Duration::ZERO,
        };
        ResponseTemplate::new(answer.status.as_u16())
            .append_headers(answer.headers.iter().map(|(k, v)| (k.clone(), v.clone())))
            .set_body_bytes(answer.body.to_vec())
            .set_delay(answer.delay + slow)
    }
}

/// An engine being served; dropping it stops the server.
pub struct Served {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The mock server on [`Transport::Wiremock`] (it stops when dropped).
    _wiremock: Option<MockServer>,
    _shutdown: Option<DropGuard>,
}

/// Serves an engine's `app` (its router and the harness routes) over `transport`.
pub async fn serve_on(transport: Transport, app: axum::Router) -> Served {
    match transport {
        Transport::Axum => {
            let shutdown = CancellationToken::new();
            let (addr, _task) = syncproof_mocks::serve(app, shutdown.clone()).await.unwrap();
            Served {
                base: format!("http://{addr}"),
                _wiremock: None,
                _shutdown: Some(shutdown.drop_guard()),
            }
        }
        Transport::Wiremock => {
            let server = MockServer::start().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(Engine(Direct::new(app)))
                .named("engine")
                .mount(&server)
                .await;
            Served {
                base: server.uri(),
                _wiremock: Some(server),
                _shutdown: None,
            }
        }
    }
}

/// Turns each `async fn NAME(transport: Transport)` named into two tests, `NAME::axum` and
/// `NAME::wiremock`.
macro_rules! on_both_transports {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::support::Transport;

            #[tokio::test]
            async fn axum() {
                super::$name(Transport::Axum).await;
            }

            #[tokio::test]
            async fn wiremock() {
                super::$name(Transport::Wiremock).await;
            }
        }
    )*};
}
pub(crate) use on_both_transports;
