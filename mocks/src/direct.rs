//! `Direct`: an engine's router answering one whole request in the caller's thread, for transports
//! that hand over a request and want a whole answer back without awaiting (a `wiremock` `Respond`,
//! an in-process test double). The engine is the one `axum::serve` runs: same routes, gate,
//! limits, store and accounting.
//!
//! The engines' only waits are the gate's (injected latency, the blackhole, a slow body), and their
//! only wire effect is a body that fails after the headers (commit-then-drop, connection-reset).
//! A request carrying a `Deferred` extension asks the gate not to wait: it adds each wait to the
//! extension and answers at once. Every handler is synchronous inside, and a request body handed
//! over whole is ready at once, so the router's future completes on its first poll and no runtime
//! is blocked; the transport applies the returned [`Answer::delay`] itself (wiremock:
//! `ResponseTemplate::set_delay`). A failing body is reported as [`WireFault::Dropped`].
//!
//! What a transport without sockets of its own cannot do: drop the connection (the answer carries
//! status and headers and an empty body instead), and, for the Salesforce org, keep a request in
//! its long-running set during the delay (it leaves when the answer is made). A blackholed call
//! is counted when its answer is made, before the delay, where axum counts it after the wait.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body::Body as _;
use tower_service::Service;

use crate::Clock;
use crate::crm::lock;

/// What the gate did not do itself because the request asked it to defer: the real time the
/// answer should wait, and whether its body should trickle.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deferred(Arc<Mutex<Waits>>);

#[derive(Debug, Default)]
struct Waits {
    delay: Duration,
    slow_body: Option<Duration>,
}

impl Deferred {
    /// Waits `simulated` time on `clock`, or adds its real length to `deferred`'s delay.
    pub(crate) async fn pause(deferred: Option<&Deferred>, clock: Clock, simulated: Duration) {
        match deferred {
            Some(deferred) => lock(&deferred.0).delay += clock.to_real(simulated),
            None => clock.sleep(simulated).await,
        }
    }

    /// Records that the body should trickle out over `over` (real time).
    pub(crate) fn slow_body(&self, over: Duration) {
        lock(&self.0).slow_body = Some(over);
    }
}

/// How the answer goes wrong on the wire, for a transport to reproduce if it can.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireFault {
    /// Status and headers go out, then the connection drops (`commit-then-drop`,
    /// `connection-reset`); the engine's message says which.
    Dropped(String),
    /// The body trickles out over this long (`slow-body`), in real time.
    SlowBody(Duration),
}

/// One answer, whole.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// Empty when the body failed ([`WireFault::Dropped`]).
    pub body: Bytes,
    /// Real time to wait before the answer leaves (injected latency, the blackhole).
    pub delay: Duration,
    pub wire: Option<WireFault>,
}

/// An engine's router (`Crm::app`, `Org::app`, or their `router`), answered without a socket.
#[derive(Clone)]
pub struct Direct {
    router: Router,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Direct")
    }
}

impl Direct {
    pub fn new(router: Router) -> Direct {
        Direct { router }
    }

    /// Answers `method` `uri` (path and query) with `headers` and `body`. Never waits: the
    /// engine's waits come back in [`Answer::delay`].
    pub fn handle(
        &self,
        method: Method,
        uri: &str,
        headers: HeaderMap,
        body: impl Into<Bytes>,
    ) -> Answer {
        let Ok(uri) = uri.parse::<axum::http::Uri>() else {
            return failure(
                StatusCode::BAD_REQUEST,
                format!("not a request target: {uri}"),
            );
        };
        let deferred = Deferred::default();
        let mut request = Request::new(Body::from(body.into()));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        request.extensions_mut().insert(deferred.clone());

        let mut cx = Context::from_waker(Waker::noop());
        let mut router = self.router.clone();
        let response = match pin!(router.call(request)).poll(&mut cx) {
            Poll::Ready(Ok(response)) => response,
            Poll::Ready(Err(never)) => match never {},
            Poll::Pending => return would_wait(),
        };
        let (parts, body) = response.into_parts();
        let mut body = pin!(body);
        let mut bytes = Vec::new();
        let mut wire = None;
        loop {
            match body.as_mut().poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        bytes.extend_from_slice(&data);
                    }
                }
                Poll::Ready(Some(Err(err))) => {
                    bytes.clear();
                    wire = Some(WireFault::Dropped(err.to_string()));
                    break;
                }
                Poll::Ready(None) => break,
                Poll::Pending => return would_wait(),
            }
        }
        let waits = std::mem::take(&mut *lock(&deferred.0));
        if let Some(over) = waits.slow_body {
            wire = Some(WireFault::SlowBody(over));
        }
        let mut headers = parts.headers;
        // The transport frames the body it is given.
        headers.remove(axum::http::header::CONTENT_LENGTH);
        headers.remove(axum::http::header::TRANSFER_ENCODING);
        Answer {
            status: parts.status,
            headers,
            body: Bytes::from(bytes),
            delay: waits.delay,
            wire,
        }
    }
}

fn failure(status: StatusCode, message: String) -> Answer {
    Answer {
        status,
        headers: HeaderMap::new(),
        body: Bytes::from(message),
        delay: Duration::ZERO,
        wire: None,
    }
}

/// The engine awaited something a deferred request should never wait for: a defect of the engine.
fn would_wait() -> Answer {
    failure(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the engine waited inside a direct call; only the gate may wait, and it defers".into(),
    )
}
