//! The relay's webhook endpoint (webhook mode): the source posts HubSpot v3 webhooks here.
//!
//! A request is trusted only when `X-HubSpot-Signature-v3` is the base64 HMAC-SHA256, keyed by
//! the app's client secret, of `POST` + the endpoint's URL + the body + the
//! `X-HubSpot-Request-Timestamp`, compared in constant time, and the timestamp is at most
//! [`MAX_AGE`] old on the relay's clock (HubSpot's replay guard). Anything else is answered 401
//! (400 for an unreadable body) and counted in `webhook_rejected`; the source retries it as it
//! would any failed delivery.
//!
//! Delivery is at least once and unordered, and one record raises several events (its
//! creation, a property change per subscribed property): the relay takes each object id once,
//! the first time any event names it, and hands it to the fetcher, which reads the record. Later
//! events about a taken id are `webhook_redundant`. The request is acknowledged once its ids are
//! queued, not once they are read: a subscriber answering slower than the source's timeout gets
//! the same events again. Taken ids are a bitmap indexed by id (an eighth of a byte per id up to
//! [`DENSE_IDS`], a set above), so memory does not depend on how events are reordered or lost.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ledger::Ledger;
use crate::crm::lock;
use crate::webhooks::WebhookConfig;
use crate::webhooks::verify_v3;

/// The oldest request timestamp accepted (HubSpot: 5 minutes).
pub(crate) const MAX_AGE: Duration = Duration::from_secs(300);
/// Ids below this are kept in the bitmap (at most 32 MiB); larger ones in a set.
const DENSE_IDS: u64 = 1 << 28;
const PATH: &str = "/webhooks";

/// The relay's webhook endpoint, bound before the relay starts so the source can be given its
/// URL and secret.
pub struct WebhookListener {
    listener: TcpListener,
    url: String,
    client_secret: String,
}

impl std::fmt::Debug for WebhookListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookListener")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl WebhookListener {
    /// Binds `127.0.0.1:0`; requests must be signed with `client_secret`.
    pub async fn bind(client_secret: impl Into<String>) -> std::io::Result<WebhookListener> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let url = format!("http://{}{PATH}", listener.local_addr()?);
        Ok(WebhookListener {
            listener,
            url,
            client_secret: client_secret.into(),
        })
    }

    /// `http://127.0.0.1:PORT/webhooks`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `base` (delivery knobs) pointed at this endpoint with its secret: the source's webhook
    /// subscription.
    pub fn subscription(&self, base: WebhookConfig) -> WebhookConfig {
        WebhookConfig {
            url: self.url.clone(),
            client_secret: self.client_secret.clone(),
            ..base
        }
    }

    /// Serves until `shutdown`; each newly taken id goes to `ids`.
    pub(crate) fn serve(
        self,
        ledger: Arc<Mutex<Ledger>>,
        clock: crate::Clock,
        ids: UnboundedSender<u64>,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        let shared = Arc::new(Shared {
            client_secret: self.client_secret,
            url: self.url,
            clock,
            ledger,
            taken: Mutex::default(),
            ids,
        });
        let router = Router::new().route(PATH, post(receive)).with_state(shared);
        let listener = self.listener;
        tokio::spawn(async move {
            let server = axum::serve(listener, router)
                .with_graceful_shutdown(async move { shutdown.cancelled_owned().await });
            if let Err(err) = server.await {
                tracing::error!(error = %err, "relay: webhook endpoint stopped with an error");
            }
        })
    }
}

struct Shared {
    client_secret: String,
    url: String,
    clock: crate::Clock,
    // std Mutexes: short sections, never across an await.
    ledger: Arc<Mutex<Ledger>>,
    taken: Mutex<Taken>,
    ids: UnboundedSender<u64>,
}

/// The object ids already taken.
#[derive(Debug, Default)]
struct Taken {
    dense: Vec<u64>,
    sparse: BTreeSet<u64>,
}

impl Taken {
    /// Takes `id`; false when it was taken before.
    fn insert(&mut self, id: u64) -> bool {
        if id >= DENSE_IDS {
            return self.sparse.insert(id);
        }
        let (word, bit) = ((id / 64) as usize, 1u64 << (id % 64));
        if word >= self.dense.len() {
            // Grow by doubling (never past the bitmap's cap) so a run of new ids costs
            // amortised O(1).
            let cap = (DENSE_IDS / 64) as usize;
            self.dense
                .resize((self.dense.len() * 2).min(cap).max(word + 1), 0);
        }
        let fresh = self.dense[word] & bit == 0;
        self.dense[word] |= bit;
        fresh
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    object_id: u64,
}

async fn receive(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let reject = |status| {
        lock(&s.ledger).webhook_rejected();
        status
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) = (
        header("x-hubspot-request-timestamp"),
        header("x-hubspot-signature-v3"),
    ) else {
        return reject(StatusCode::UNAUTHORIZED);
    };
    if !verify_v3(&s.client_secret, &s.url, &body, timestamp, signature) {
        return reject(StatusCode::UNAUTHORIZED);
    }
    // The timestamp is signed, so it can be believed once the signature holds.
    let now_ms = s
        .clock
        .wall_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let fresh = timestamp
        .trim()
        .parse::<u64>()
        .is_ok_and(|ts| now_ms.saturating_sub(ts) <= MAX_AGE.as_millis() as u64);
    if !fresh {
        return reject(StatusCode::UNAUTHORIZED);
    }
    let Ok(events) = serde_json::from_slice::<Vec<Event>>(&body) else {
        return reject(StatusCode::BAD_REQUEST);
    };
    let new: Vec<u64> = {
        let mut taken = lock(&s.taken);
        events
            .iter()
            .map(|e| e.object_id)
            .filter(|id| taken.insert(*id))
            .collect()
    };
    // Booked before the ids are handed over, so a fast read never settles an id not yet counted.
    lock(&s.ledger).webhook_accepted(events.len() as u64, new.len() as u64);
    for id in new {
        // A send fails only once the fetcher has stopped, i.e. during shutdown.
        let _ = s.ids.send(id);
    }
    StatusCode::OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_taken_once_wherever_it_falls() {
        let mut t = Taken::default();
        for id in [5, 1, 64, 63, DENSE_IDS, u64::MAX] {
            assert!(t.insert(id), "{id}");
            assert!(!t.insert(id), "{id} again");
        }
        assert!(t.insert(2));
        assert!(t.dense.len() <= 4, "{} words", t.dense.len());
        assert!(t.insert(DENSE_IDS - 1));
        assert_eq!(
            t.dense.len() as u64,
            DENSE_IDS / 64,
            "the bitmap stops at its cap"
        );
    }

    #[test]
    fn a_signature_holds_only_for_its_secret_url_body_and_timestamp() {
        let sign =
            |secret, url, body, ts| crate::webhooks::signature_v3(secret, "POST", url, body, ts);
        let (url, body) = ("http://127.0.0.1:1/webhooks", r#"[{"objectId":1}]"#);
        let good = sign("s", url, body, 7);
        assert!(verify_v3("s", url, body.as_bytes(), "7", &good));
        assert!(!verify_v3("t", url, body.as_bytes(), "7", &good));
        assert!(!verify_v3(
            "s",
            "http://x/webhooks",
            body.as_bytes(),
            "7",
            &good
        ));
        assert!(!verify_v3("s", url, b"[]", "7", &good));
        assert!(!verify_v3("s", url, body.as_bytes(), "8", &good));
        assert!(!verify_v3("s", url, body.as_bytes(), "7", "not base64!"));
    }
}
