//! The gate every request passes: classify → authenticate → limit → maybe inject a 5xx → handler
//! → rate headers → account → injected latency → maybe drop the connection after a committed
//! write (`commit-then-drop`).
//!
//! The order is HubSpot's as seen from a client: a refused token is a 401 and uses no quota; a
//! throttled request is a 429 and never also a 5xx; a transient 5xx is decided before the store
//! is touched, so it never hides a committed write. Counting happens before the latency sleep so
//! a client that hangs up during it is still accounted for.
//!
//! A request carrying `direct::Deferred` (a [`crate::direct::Direct`] call) is answered without
//! waiting: the blackhole and latency times and a slow body's length are handed back to the
//! transport instead, so the gate completes on its first poll.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::accounting::{Endpoint, Fault};
use super::errors::{ApiError, Policy, rate_limited};
use super::limits::{Admission, Exceeded, RateView};
use super::{Crm, CrmConfig, lock};
use crate::direct::Deferred;

/// One request's draws: its injected latency, which transient 5xx it gets (an index into
/// [`TRANSIENT_STATUSES`]), whether a successful write commits then drops the connection, and
/// whether it falls into the blackhole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dice {
    pub(crate) latency: Duration,
    pub(crate) fault: Option<usize>,
    pub(crate) drop: bool,
    pub(crate) blackhole: bool,
    pub(crate) reset: bool,
    pub(crate) slow: bool,
    /// Revoke the request's OAuth token early (`token-churn`).
    pub(crate) churn: bool,
}

/// Draws a request's [`Dice`] from `cfg`'s rates, in one lock so the draws are deterministic
/// per request order. Shared by every vendor engine.
pub(crate) fn roll(cfg: &CrmConfig, rng: &Mutex<ChaCha8Rng>) -> Dice {
    let mut rng = lock(rng);
    let latency = cfg.latency.sample(&mut *rng);
    let fault = (cfg.error_rate > 0.0 && rng.random::<f64>() < cfg.error_rate)
        .then(|| rng.random_range(0..TRANSIENT_STATUSES.len()));
    let drop = cfg.commit_then_drop_rate > 0.0 && rng.random::<f64>() < cfg.commit_then_drop_rate;
    let blackhole = cfg.blackhole_rate > 0.0 && rng.random::<f64>() < cfg.blackhole_rate;
    // Drawn only when configured, so configurations without them keep their sequences.
    let reset = cfg.reset_rate > 0.0 && rng.random::<f64>() < cfg.reset_rate;
    let slow = cfg.slow_body_rate > 0.0 && rng.random::<f64>() < cfg.slow_body_rate;
    let churn = cfg.token_churn_rate > 0.0 && rng.random::<f64>() < cfg.token_churn_rate;
    Dice {
        latency,
        fault,
        drop,
        blackhole,
        reset,
        slow,
        churn,
    }
}

pub(crate) const TRANSIENT_STATUSES: [(StatusCode, &str, &str); 4] = [
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL_ERROR",
        "Internal error (injected).",
    ),
    (
        StatusCode::BAD_GATEWAY,
        "BAD_GATEWAY",
        "Bad gateway (injected); pause and retry.",
    ),
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "SERVICE_UNAVAILABLE",
        "Service unavailable (injected).",
    ),
    (
        StatusCode::GATEWAY_TIMEOUT,
        "GATEWAY_TIMEOUT",
        "Gateway timeout (injected); pause and retry.",
    ),
];

/// The bearer token of a request, if it carries a non-empty one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

impl Crm {
    pub(crate) fn count_fault(&self, fault: Fault) {
        lock(&self.tally).fault(fault);
    }

    fn throttled(&self, limit: Exceeded, retry_after: Duration) -> Response {
        let (fault, policy) = match limit {
            Exceeded::Burst => (Fault::ThrottledBurst, Policy::TenSecondlyRolling),
            Exceeded::Daily => (Fault::ThrottledDaily, Policy::Daily),
            Exceeded::Search => (Fault::ThrottledSearch, Policy::Secondly),
        };
        self.count_fault(fault);
        let mut response = rate_limited(policy, self.correlation.next());
        if self.cfg.retry_after_on_429 {
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

/// A number's decimal digits, owned by the `Bytes` of a header value.
struct Digits {
    buf: [u8; 20],
    len: usize,
}

impl AsRef<[u8]> for Digits {
    fn as_ref(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A header value for `n`: most rate headers repeat the last value sent (the maxima, the
/// interval), so each header keeps its last value per thread and clones it (a reference count)
/// instead of allocating; a changed value costs one allocation (its digits and the count
/// together, so the clone kept costs nothing more).
fn header_value(slot: usize, n: u64) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<[Option<(u64, HeaderValue)>; 5]> = Default::default();
    }
    LAST.with_borrow_mut(|last| match &last[slot] {
        Some((cached, value)) if *cached == n => value.clone(),
        _ => {
            let mut digits = Digits {
                buf: [0u8; 20],
                len: 0,
            };
            let mut cursor = std::io::Cursor::new(&mut digits.buf[..]);
            let value = match std::io::Write::write_fmt(&mut cursor, format_args!("{n}")) {
                Ok(()) => {
                    digits.len = usize::try_from(cursor.position()).unwrap_or(0);
                    HeaderValue::from_maybe_shared(axum::body::Bytes::from_owner(digits))
                        .unwrap_or_else(|_| HeaderValue::from(n))
                }
                Err(_) => HeaderValue::from(n),
            };
            last[slot] = Some((n, value.clone()));
            value
        }
    })
}

// Built at compile time: `from_static` at run time checks the name against every standard
// header first.
const RATELIMIT_MAX: HeaderName = HeaderName::from_static("x-hubspot-ratelimit-max");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-hubspot-ratelimit-remaining");
const RATELIMIT_INTERVAL: HeaderName =
    HeaderName::from_static("x-hubspot-ratelimit-interval-milliseconds");
const RATELIMIT_DAILY: HeaderName = HeaderName::from_static("x-hubspot-ratelimit-daily");
const RATELIMIT_DAILY_REMAINING: HeaderName =
    HeaderName::from_static("x-hubspot-ratelimit-daily-remaining");

fn set_rate_headers(headers: &mut HeaderMap, view: RateView) {
    let mut slot = 0;
    let mut put = |name: HeaderName, value: u64| {
        headers.insert(name, header_value(slot, value));
        slot += 1;
    };
    if let Some((max, remaining, interval)) = view.burst {
        put(RATELIMIT_MAX, u64::from(max));
        put(RATELIMIT_REMAINING, u64::from(remaining));
        put(
            RATELIMIT_INTERVAL,
            u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        );
    }
    if let Some((max, remaining)) = view.daily {
        put(RATELIMIT_DAILY, max);
        put(RATELIMIT_DAILY_REMAINING, remaining);
    }
}

/// The gate as one service around the whole API router, routes and fallbacks: a
/// `Router::layer` middleware wraps each route instead and clones boxed services per request
/// (about eight allocations a request).
#[derive(Clone)]
pub(crate) struct Gate {
    crm: Arc<Crm>,
    api: Router,
}

impl Gate {
    pub(crate) fn new(crm: Arc<Crm>, api: Router) -> Gate {
        Gate { crm, api }
    }
}

impl tower_service::Service<Request> for Gate {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        Box::pin(gate(Arc::clone(&self.crm), request, self.api.clone()))
    }
}

/// What every API request goes through (routes and fallbacks alike).
async fn gate(crm: Arc<Crm>, request: Request, mut api: Router) -> Result<Response, Infallible> {
    let endpoint = Endpoint::classify(request.method(), request.uri().path());
    // A direct call (`crate::direct`) asks for the waits instead of having them done.
    let deferred = request.extensions().get::<Deferred>().cloned();
    let now = crm.now();
    let Dice {
        latency,
        fault,
        drop,
        blackhole,
        reset,
        slow,
        churn,
    } = roll(&crm.cfg, &crm.fault_rng);
    let is_write = matches!(
        endpoint,
        Endpoint::Create
            | Endpoint::Update
            | Endpoint::Archive
            | Endpoint::BatchCreate
            | Endpoint::BatchUpsert
            | Endpoint::BatchUpdate
            | Endpoint::BatchArchive
    );
    let rated = endpoint != Endpoint::Search;

    // Decided while the token is borrowed from the request (no copy of it); the rate headers'
    // view is read as of `now`, under the admission's own lock when there is one. `None`: run
    // the handler.
    let (answer, view) = {
        // The token names the app whose rolling window the request spends.
        let auth = crm.authenticate(bearer(request.headers()), now, churn);
        let view = |app: Option<&str>| rated.then(|| lock(&crm.limiter).view(app, now));
        match auth {
            Err(err) => (Some(err.into_response(crm.correlation.next())), view(None)),
            Ok(app) if crm.in_maintenance(now).is_some() => {
                crm.count_fault(Fault::Maintenance);
                let left = crm.in_maintenance(now).unwrap_or_default();
                let mut response = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "SERVICE_UNAVAILABLE",
                    "Scheduled maintenance in progress (injected); retry after the Retry-After delay.",
                )
                .into_response(crm.correlation.next());
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
                (Some(response), view(Some(app)))
            }
            Ok(_) if reset => {
                crm.count_fault(Fault::ConnectionReset);
                lock(&crm.tally).call(endpoint, 0);
                return Ok(super::dropped::reset_connection());
            }
            Ok(app) if blackhole => {
                crm.count_fault(Fault::Blackhole);
                Deferred::pause(deferred.as_ref(), crm.cfg.clock, crm.cfg.blackhole_for).await;
                let response = ApiError::new(
                    StatusCode::GATEWAY_TIMEOUT,
                    "GATEWAY_TIMEOUT",
                    "No response in time (injected blackhole).",
                )
                .into_response(crm.correlation.next());
                (Some(response), view(Some(app)))
            }
            Ok(app) => {
                let (admission, view) = if rated {
                    let mut limiter = lock(&crm.limiter);
                    let admission = limiter.admit(app, now);
                    (admission, Some(limiter.view(Some(app), now)))
                } else {
                    (lock(&crm.limiter).admit_search(now), None)
                };
                let answer = match (admission, fault) {
                    (Admission::Throttled { limit, retry_after }, _) => {
                        Some(crm.throttled(limit, retry_after))
                    }
                    (Admission::Admitted, Some(which)) => {
                        crm.count_fault(Fault::Transient5xx);
                        let (status, category, message) = TRANSIENT_STATUSES[which];
                        Some(
                            ApiError::new(status, category, message)
                                .into_response(crm.correlation.next()),
                        )
                    }
                    (Admission::Admitted, None) => None,
                };
                (answer, view)
            }
        }
    };
    let mut response = match answer {
        Some(response) => response,
        None => match tower_service::Service::call(&mut api, request).await {
            Ok(response) => response,
            Err(never) => match never {},
        },
    };
    if let Some(view) = view {
        set_rate_headers(response.headers_mut(), view);
    }
    lock(&crm.tally).call(endpoint, response.status().as_u16());
    if !latency.is_zero() {
        Deferred::pause(deferred.as_ref(), crm.cfg.clock, latency).await;
    }
    tracing::trace!(crm = %crm.cfg.name, endpoint = endpoint.name(), status = response.status().as_u16(), "answered");
    if drop && is_write && response.status().is_success() {
        crm.count_fault(Fault::CommitThenDrop);
        return Ok(super::dropped::drop_after_commit(response));
    }
    if slow {
        crm.count_fault(Fault::SlowBody);
        let over = crm.cfg.clock.to_real(crm.cfg.slow_body_for);
        if let Some(deferred) = &deferred {
            deferred.slow_body(over);
            return Ok(response);
        }
        return Ok(super::dropped::trickle(response, over).await);
    }
    Ok(response)
}

/// Any path the API does not have.
pub(crate) async fn not_found(State(crm): State<Arc<Crm>>, request: Request) -> Response {
    let message = format!("No route for {} {}", request.method(), request.uri().path());
    crm.respond(Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "OBJECT_NOT_FOUND",
        message,
    )))
}

/// A known path with a method it does not serve.
pub(crate) async fn method_not_allowed(State(crm): State<Arc<Crm>>, request: Request) -> Response {
    let message = format!(
        "Method {} is not allowed on {}",
        request.method(),
        request.uri().path()
    );
    crm.respond(Err(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        message,
    )))
}
