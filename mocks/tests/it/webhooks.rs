//! Webhooks end to end over loopback: a subscriber that verifies every v3 signature and fails
//! some requests on purpose; what it received is checked against what the emitter says it did.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use syncproof_mocks::{Crm, CrmConfig, WebhookConfig, serve, signature_v3};
use tokio_util::sync::CancellationToken;

use crate::support::{client, wait_until, write_contacts};

const SECRET: &str = "app-secret";

#[derive(Default)]
struct Received {
    url: String,
    requests: u64,
    refused: u64,
    bad_signatures: u64,
    largest_batch: usize,
    /// (subscriptionType, objectId) → deliveries acknowledged.
    events: BTreeMap<(String, u64), u64>,
}

type Shared = Arc<Mutex<Received>>;

/// Refuses every 4th request with a 500 so the mock must retry.
async fn subscriber(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut r = state.lock().unwrap();
    r.requests += 1;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let timestamp: u64 = header("x-hubspot-request-timestamp").parse().unwrap_or(0);
    let body = String::from_utf8(body.to_vec()).unwrap();
    if header("x-hubspot-signature-v3") != signature_v3(SECRET, "POST", &r.url, &body, timestamp) {
        r.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if r.requests % 4 == 0 {
        r.refused += 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    let events: Vec<Value> = serde_json::from_str(&body).unwrap();
    r.largest_batch = r.largest_batch.max(events.len());
    for e in events {
        let key = (
            e["subscriptionType"].as_str().unwrap().to_string(),
            e["objectId"].as_u64().unwrap(),
        );
        *r.events.entry(key).or_default() += 1;
    }
    StatusCode::NO_CONTENT
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creations_and_changes_arrive_signed_batched_retried_at_least_once() {
    let shutdown = CancellationToken::new();
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/hooks", post(subscriber))
        .with_state(Arc::clone(&state));
    let (addr, receiver) = serve(app, shutdown.clone()).await.unwrap();
    let url = format!("http://{addr}/hooks");
    state.lock().unwrap().url = url.clone();

    let crm = Crm::new(CrmConfig {
        webhooks: Some(WebhookConfig {
            url,
            client_secret: SECRET.into(),
            retry_base: Duration::from_millis(10),
            duplicate_rate: 0.1,
            seed: 4,
            ..WebhookConfig::default()
        }),
        ..CrmConfig::default()
    });
    let emitter = crm
        .start_webhooks(shutdown.clone())
        .expect("webhooks are configured");
    let (crm_addr, server) = serve(crm.router(), shutdown.clone()).await.unwrap();
    let n = 450;
    write_contacts(&format!("http://{crm_addr}"), n).await;
    // One change to an existing record: a propertyChange event.
    let update = serde_json::json!({ "inputs": [{ "idProperty": "hs_object_id", "id": "1", "properties": { "firstname": "Changed" } }] });
    let answer = client()
        .post(format!(
            "http://{crm_addr}/crm/v3/objects/contacts/batch/upsert"
        ))
        .bearer_auth("any")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);

    wait_until(Duration::from_secs(60), "every event delivered", || {
        let s = crm.webhook_stats();
        s.events == (n + 1) as u64
            && s.events_delivered + s.events_failed == s.events + s.duplicates_sent
    })
    .await;
    shutdown.cancel();
    emitter.await.unwrap();
    server.await.unwrap();
    receiver.await.unwrap();

    let stats = crm.webhook_stats();
    let r = state.lock().unwrap();
    assert_eq!(
        r.bad_signatures, 0,
        "every request carries a valid v3 signature"
    );
    assert!(
        r.largest_batch <= 100 && r.largest_batch > 1,
        "batches of at most 100: {}",
        r.largest_batch
    );
    assert!(r.refused > 0);
    assert_eq!(
        stats.retries, r.refused,
        "every refused request was retried"
    );
    assert_eq!(stats.requests, r.requests);
    assert_eq!(stats.events_failed, 0);
    for id in 1..=n as u64 {
        assert!(
            r.events
                .get(&("contact.creation".to_string(), id))
                .is_some_and(|c| *c >= 1),
            "creation of {id}"
        );
    }
    assert_eq!(
        r.events.get(&("contact.propertyChange".to_string(), 1)),
        Some(&1)
    );
    let delivered: u64 = r.events.values().sum();
    assert_eq!(delivered, stats.events_delivered);
    assert_eq!(
        delivered,
        stats.events + stats.duplicates_sent,
        "each event once, plus the injected duplicates"
    );
    let twice = r.events.values().filter(|c| **c == 2).count() as u64;
    assert_eq!(twice, stats.duplicates_sent);
    assert!(
        stats.duplicates_sent > 20 && stats.duplicates_sent < 75,
        "{} duplicates for 10 % of 451",
        stats.duplicates_sent
    );
}
