//! The webhook receiver: an HTTP endpoint the vendor (or `syncproof mock --webhook-url`, or the
//! built-in mock's target) posts HubSpot v3 webhooks to. Each request's signature is checked
//! before anything in it is believed: `X-HubSpot-Signature-v3` must be base64 HMAC-SHA256, keyed
//! with the app's client secret, of method + URL + body + `X-HubSpot-Request-Timestamp`, and the
//! timestamp no older than `max_age` (HubSpot: 5 minutes, against replays). A request failing
//! either is answered 401 and counted, never trusted.
//!
//! A `contact.propertyChange` of the id property names the record; the first such event for a
//! record is its arrival (the time it came in, on the run clock) and its delivery time. Events
//! are deduplicated by `eventId` (delivery is at least once: retries and duplicates repeat
//! them, and they come out of order).

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use syncproof_mocks::verify_v3;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::WebhookMethod;
use super::watch::{Counters, Finder};
use crate::measure::{Micros, RunClock};
use crate::replay::InFlight;

/// Event ids remembered for deduplication: a bounded window, so a two-week run stays flat. A
/// duplicate arriving after this many newer events is counted as an event again.
const DEDUP_WINDOW: usize = 1 << 20;

struct Inbox {
    /// External id → first arrival, not yet matched to a record in flight.
    arrivals: HashMap<String, Micros>,
    event_ids: HashSet<u64>,
    order: VecDeque<u64>,
}

struct Shared {
    secret: crate::replay::Secret,
    url: String,
    max_age: Duration,
    id_property: String,
    /// The signed timestamps are checked against this wall clock (the run's, compressed or not).
    wall: syncproof_mocks::Clock,
    /// Arrival times are on the run clock, set once the run's clock starts.
    clock: std::sync::OnceLock<RunClock>,
    counters: Arc<Counters>,
    inbox: Mutex<Inbox>,
}

/// A running receiver.
pub struct Receiver {
    url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Listens on `m.listen` (port 0: any free port). Call [`Receiver::set_run_clock`] before
    /// sending anything.
    pub async fn start(
        m: &WebhookMethod,
        id_property: &str,
        wall: syncproof_mocks::Clock,
    ) -> std::io::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(m.listen).await?;
        let bound: SocketAddr = listener.local_addr()?;
        let url = m
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}{}", m.path));
        let shared = Arc::new(Shared {
            secret: m.secret.clone(),
            url: url.clone(),
            max_age: m.max_age,
            id_property: id_property.to_string(),
            wall,
            clock: std::sync::OnceLock::new(),
            counters: Arc::default(),
            inbox: Mutex::new(Inbox {
                arrivals: HashMap::new(),
                event_ids: HashSet::new(),
                order: VecDeque::new(),
            }),
        });
        let app = Router::new()
            .route(&m.path, post(receive))
            .with_state(Arc::clone(&shared));
        let stop = CancellationToken::new();
        let until = stop.clone();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "verify: the webhook receiver stopped");
            }
        });
        Ok(Receiver {
            url,
            shared,
            stop,
            task,
        })
    }

    /// The clock arrivals are timed on.
    pub fn set_run_clock(&self, clock: RunClock) {
        let _ = self.shared.clock.set(clock);
    }

    /// The URL the sender must call (and sign).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.shared.counters)
    }

    /// The finder for the observing loop.
    pub fn finder(&self) -> WebhookFinder {
        WebhookFinder {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops listening and waits for the server to end.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn receive(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let arrived = s.clock.get().map_or(Micros(0), RunClock::now);
    s.counters.add("requests", 1);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) = (
        header("x-hubspot-request-timestamp"),
        header("x-hubspot-signature-v3"),
    ) else {
        s.counters.add("rejected_unsigned", 1);
        return StatusCode::UNAUTHORIZED;
    };
    if !verify_v3(s.secret.expose(), &s.url, &body, timestamp, signature) {
        s.counters.add("rejected_bad_signature", 1);
        return StatusCode::UNAUTHORIZED;
    }
    // The timestamp is signed, so it can be believed once the signature holds.
    let now_ms = s
        .wall
        .wall_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let fresh = timestamp
        .parse::<u64>()
        .is_ok_and(|ts| now_ms.saturating_sub(ts) <= s.max_age.as_millis() as u64);
    if !fresh {
        s.counters.add("rejected_stale", 1);
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(Value::Array(events)) = serde_json::from_slice::<Value>(&body) else {
        s.counters.add("rejected_unreadable", 1);
        return StatusCode::BAD_REQUEST;
    };
    s.counters.add("requests_accepted", 1);
    let mut inbox = s.inbox.lock().unwrap_or_else(|e| e.into_inner());
    for event in &events {
        s.counters.add("events", 1);
        if let Some(id) = event.get("eventId").and_then(Value::as_u64) {
            if !inbox.event_ids.insert(id) {
                s.counters.add("duplicate_events", 1);
                continue;
            }
            inbox.order.push_back(id);
            if inbox.order.len() > DEDUP_WINDOW
                && let Some(old) = inbox.order.pop_front()
            {
                inbox.event_ids.remove(&old);
            }
        }
        let names_record = event.get("subscriptionType").and_then(Value::as_str)
            == Some("contact.propertyChange")
            && event.get("propertyName").and_then(Value::as_str) == Some(s.id_property.as_str());
        if let Some(external_id) = event
            .get("propertyValue")
            .and_then(Value::as_str)
            .filter(|_| names_record)
        {
            inbox
                .arrivals
                .entry(external_id.to_string())
                .or_insert(arrived);
        }
    }
    StatusCode::OK
}

/// Matches arrivals to the records in flight.
pub struct WebhookFinder {
    shared: Arc<Shared>,
}

impl Finder for WebhookFinder {
    async fn find(&mut self, inflight: &InFlight) -> Vec<(u64, Micros)> {
        let arrivals = {
            let mut inbox = self.shared.inbox.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut inbox.arrivals)
        };
        if arrivals.is_empty() {
            return Vec::new();
        }
        let by_id = super::watch::in_flight_by_id(inflight);
        let mut found = Vec::with_capacity(arrivals.len());
        for (external_id, at) in arrivals {
            match by_id.get(&external_id) {
                Some(idx) => found.push((*idx, at)),
                // Not ours, seen already, or past its window (then it was declared lost).
                None => self
                    .shared
                    .counters
                    .add("events_for_no_record_in_flight", 1),
            }
        }
        self.shared
            .counters
            .add("records_announced", found.len() as u64);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_only_for_the_same_secret_url_body_and_timestamp() {
        let sign = |secret: &str, url: &str, body: &str, ts: u64| {
            syncproof_mocks::signature_v3(secret, "POST", url, body, ts)
        };
        let sig = sign("s3cret", "http://127.0.0.1:9/h", "[]", 1000);
        assert!(verify_v3(
            "s3cret",
            "http://127.0.0.1:9/h",
            b"[]",
            "1000",
            &sig
        ));
        assert!(!verify_v3(
            "other",
            "http://127.0.0.1:9/h",
            b"[]",
            "1000",
            &sig
        ));
        assert!(!verify_v3(
            "s3cret",
            "http://127.0.0.1:9/x",
            b"[]",
            "1000",
            &sig
        ));
        assert!(!verify_v3(
            "s3cret",
            "http://127.0.0.1:9/h",
            b"[1]",
            "1000",
            &sig
        ));
        assert!(!verify_v3(
            "s3cret",
            "http://127.0.0.1:9/h",
            b"[]",
            "1001",
            &sig
        ));
        assert!(!verify_v3(
            "s3cret",
            "http://127.0.0.1:9/h",
            b"[]",
            "1000",
            "not base64!"
        ));
    }
}
