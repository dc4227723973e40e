//! Webhooks: the mock CRM tells a subscriber what changed, the way HubSpot's v3 webhooks do:
//! `contact.creation` and `contact.propertyChange` events, at most 100 to a request, at most 10
//! requests in flight, each signed (`X-HubSpot-Signature-v3` = base64 HMAC-SHA256 of method +
//! URI + body + timestamp, with `X-HubSpot-Request-Timestamp`), retried with back-off up to 10
//! attempts on a non-2xx answer, a timeout or a failed connection. Delivery is at least once
//! and unordered: concurrency and retries reorder, and `duplicate_rate` sends some events twice.
//!
//! The store journals changes only when webhooks are on; the emitter drains the journal every
//! `flush_interval`, so the store's lock is never held across a delivery.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::crm::{Crm, lock};

/// Where and how the mock delivers webhooks.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// The subscriber's target URL.
    pub url: String,
    /// The app's client secret, the HMAC key of the v3 signature.
    pub client_secret: String,
    /// Events per request (HubSpot: 100).
    pub max_events_per_request: usize,
    /// Requests in flight at once (HubSpot: 10).
    pub max_concurrent_requests: usize,
    /// Attempts per request, the first included (HubSpot: 10).
    pub max_attempts: u32,
    /// Wait before the first retry; doubles each time up to `retry_cap`. (HubSpot spreads ten
    /// attempts over 24 hours; scale these down for a run.)
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// A subscriber that answers slower than this failed (HubSpot: 5 s).
    pub timeout: Duration,
    /// Fraction of events sent a second time (at-least-once delivery).
    pub duplicate_rate: f64,
    /// How often the journal is drained into requests.
    pub flush_interval: Duration,
    /// Seeds the duplicate decisions.
    pub seed: u64,
    /// Properties with a `contact.propertyChange` subscription that also fires when a record is
    /// created with the property set, as HubSpot's does: a subscriber learns the new record's
    /// external id from it without a read. Empty: creations send `contact.creation` only.
    pub creation_properties: Vec<String>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            client_secret: String::new(),
            max_events_per_request: 100,
            max_concurrent_requests: 10,
            max_attempts: 10,
            retry_base: Duration::from_millis(200),
            retry_cap: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            duplicate_rate: 0.0,
            flush_interval: Duration::from_millis(100),
            seed: 0,
            creation_properties: Vec::new(),
        }
    }
}

/// What the emitter did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WebhookStats {
    /// Events journalled by the store.
    pub events: u64,
    /// Extra copies of events sent on purpose (`duplicate_rate`).
    pub duplicates_sent: u64,
    /// Requests made, retries included.
    pub requests: u64,
    /// Requests repeated after a failed attempt.
    pub retries: u64,
    /// Events in requests the subscriber acknowledged (2xx), duplicates included.
    pub events_delivered: u64,
    /// Events in requests that ran out of attempts.
    pub events_failed: u64,
}

/// The v3 signature of a request: base64(HMAC-SHA256(secret, method + uri + body + timestamp)).
pub fn signature_v3(
    secret: &str,
    method: &str,
    uri: &str,
    body: &str,
    timestamp_ms: u64,
) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(method.as_bytes());
    mac.update(uri.as_bytes());
    mac.update(body.as_bytes());
    mac.update(timestamp_ms.to_string().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is the v3 signature of a `POST` of `body` to `url` at `timestamp` (as
/// the `X-HubSpot-Request-Timestamp` header gives it), checked in constant time: what a
/// subscriber runs on every request before trusting it.
pub fn verify_v3(secret: &str, url: &str, body: &[u8], timestamp: &str, signature: &str) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(b"POST");
    mac.update(url.as_bytes());
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac.verify_slice(&expected).is_ok()
}

fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Live counters shared by the emitter and its deliveries. A std Mutex: each section is a few
/// additions, never across an await.
#[derive(Debug, Default)]
pub(crate) struct Counters(Mutex<WebhookStats>);

impl Counters {
    pub(crate) fn snapshot(&self) -> WebhookStats {
        lock(&self.0).clone()
    }

    fn add(&self, f: impl FnOnce(&mut WebhookStats)) {
        f(&mut lock(&self.0));
    }
}

/// Runs the emitter until `shutdown`; delivers what is journalled before stopping.
pub(crate) fn spawn(
    crm: Arc<Crm>,
    cfg: WebhookConfig,
    counters: Arc<Counters>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let http = match reqwest::Client::builder().timeout(cfg.timeout).build() {
            Ok(http) => http,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: cannot build an HTTP client");
                return;
            }
        };
        let cfg = Arc::new(cfg);
        let permits = Arc::new(Semaphore::new(cfg.max_concurrent_requests.max(1)));
        let event_ids = AtomicU64::new(1);
        let clock = crm.clock();
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let mut deliveries = JoinSet::new();
        loop {
            let stopping = tokio::select! {
                () = shutdown.cancelled() => true,
                () = clock.sleep(cfg.flush_interval) => false,
            };
            let changes = crm.drain_journal();
            let mut events: Vec<Value> = Vec::with_capacity(changes.len());
            for change in changes {
                let mut event = json!({
                    "eventId": event_ids.fetch_add(1, Ordering::Relaxed),
                    "subscriptionId": 1,
                    "portalId": 1,
                    "appId": 1,
                    "occurredAt": epoch_ms(change.occurred_at),
                    "subscriptionType": if change.property.is_some() { "contact.propertyChange" } else { "contact.creation" },
                    "attemptNumber": 0,
                    "objectId": change.object_id,
                    "changeSource": "CRM",
                });
                if let Some((name, value)) = change.property {
                    event["propertyName"] = json!(name);
                    event["propertyValue"] = json!(value.unwrap_or_default());
                } else {
                    event["changeFlag"] = json!("NEW");
                }
                let duplicate =
                    cfg.duplicate_rate > 0.0 && rng.random::<f64>() < cfg.duplicate_rate;
                if duplicate {
                    events.push(event.clone());
                }
                events.push(event);
                counters.add(|s| {
                    s.events += 1;
                    s.duplicates_sent += u64::from(duplicate);
                });
            }
            for batch in events.chunks(cfg.max_events_per_request.max(1)) {
                let permit = Arc::clone(&permits)
                    .acquire_owned()
                    .await
                    .expect("never closed");
                let (http, cfg, counters, batch) = (
                    http.clone(),
                    Arc::clone(&cfg),
                    Arc::clone(&counters),
                    batch.to_vec(),
                );
                let shutdown = shutdown.clone();
                deliveries.spawn(async move {
                    deliver(&http, &cfg, clock, &counters, batch, &shutdown).await;
                    drop(permit);
                });
            }
            while deliveries.try_join_next().is_some() {}
            if stopping {
                break;
            }
        }
        while deliveries.join_next().await.is_some() {}
    })
}

async fn deliver(
    http: &reqwest::Client,
    cfg: &WebhookConfig,
    clock: crate::Clock,
    counters: &Counters,
    mut batch: Vec<Value>,
    shutdown: &CancellationToken,
) {
    let n = batch.len() as u64;
    for attempt in 0..cfg.max_attempts.max(1) {
        for event in &mut batch {
            event["attemptNumber"] = json!(attempt);
        }
        let body = Value::Array(batch.clone()).to_string();
        let timestamp = epoch_ms(clock.wall_now());
        let signature = signature_v3(&cfg.client_secret, "POST", &cfg.url, &body, timestamp);
        counters.add(|s| {
            s.requests += 1;
            s.retries += u64::from(attempt > 0);
        });
        let answer = http
            .post(&cfg.url)
            .header("content-type", "application/json")
            .header("x-hubspot-signature-v3", signature)
            .header("x-hubspot-request-timestamp", timestamp.to_string())
            .body(body)
            .send()
            .await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            counters.add(|s| s.events_delivered += n);
            return;
        }
        if attempt + 1 == cfg.max_attempts.max(1) {
            break;
        }
        let wait = cfg
            .retry_base
            .saturating_mul(1 << attempt.min(20))
            .min(cfg.retry_cap);
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = clock.sleep(wait) => {}
        }
    }
    counters.add(|s| s.events_failed += n);
}
