//! `Org`: one mock Salesforce org serving the REST API under `/services/data/vNN.N/` (sObject
//! CRUD, upsert by external id, sObject Collections, composite, SOQL `query`/`queryAll`,
//! `limits`), the OAuth token endpoint, and the harness's `/__syncproof/*` endpoints.
//!
//! It reuses the HubSpot engine's pieces: the record store (one per object), the fault draws
//! and overlays (its [`CrmConfig`] is `OrgConfig::base`, so `apply_overlay` works unchanged),
//! the commit-then-drop body and the accounting. What is Salesforce's own: 18-character ids,
//! array error bodies, the rolling-24-hour allocation with `Sforce-Limit-Info`, the
//! long-running concurrency limit, idle-expiring sessions, and SOQL.
//!
//! Time is read in one place, [`Org::now`]. Files: `api` (the resources), `records` (checked
//! writes with rollback), `query` (SOQL execution and cursors), `soql` (the parser), `schema`,
//! `ids`, `limits`, `errors`.

mod api;
mod errors;
mod ids;
mod limits;
mod query;
mod records;
mod schema;
mod soql;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::crm::accounting::{CrmAccounting, Fault, Tally};
use crate::crm::gate::{Dice, TRANSIENT_STATUSES, roll};
use crate::crm::{CrmConfig, lock, maintenance_left, with_harness_routes};
use crate::direct::Deferred;
use api::Call;
use errors::SfError;
use limits::{Allocation, InFlight, Refused, Sessions};
use query::Cursors;
use records::{Stores, Tx};

/// How one mock org behaves. `base` carries what it shares with the HubSpot engine and its
/// overlays: name, faults, latency, seed, accepted tokens, and the request allocation
/// (`daily_max`: requests per rolling 24 hours; `daily_used_at_start` for `quota-edge`). Its
/// HubSpot-only fields (burst window, search rate, lag, lock) are ignored.
#[derive(Clone, Debug)]
pub struct OrgConfig {
    pub base: CrmConfig,
    /// A request in flight this long counts as long-running.
    pub long_running_after: Duration,
    /// Long-running requests allowed at once (5 Developer Edition, 25 production).
    pub long_running_max: u32,
    /// A session token unused this long expires (`INVALID_SESSION_ID`).
    pub session_ttl: Duration,
    /// Custom fields whose values must be unique per object (`DUPLICATE_VALUE`); other
    /// external-id fields may repeat, which makes an upsert answer 300.
    pub unique_fields: Vec<String>,
    /// Records per query page (Salesforce: up to 2,000).
    pub query_page: usize,
    /// Served over TLS (`syncproof mock --tls`): the token answer's `instance_url` and `id`
    /// say `https`, so clients that follow them stay on TLS.
    pub https: bool,
}

impl Default for OrgConfig {
    /// Enterprise Edition with 50 licences: 150,000 requests a day, 25 long-running, 2 h
    /// sessions.
    fn default() -> Self {
        OrgConfig {
            base: CrmConfig {
                name: "salesforce-enterprise".into(),
                daily_max: 150_000,
                ..CrmConfig::default()
            },
            long_running_after: Duration::from_secs(20),
            long_running_max: 25,
            session_ttl: Duration::from_secs(2 * 60 * 60),
            unique_fields: Vec::new(),
            query_page: 2_000,
            https: false,
        }
    }
}

/// One mock Salesforce org.
pub struct Org {
    cfg: OrgConfig,
    stores: Mutex<Stores>,
    cursors: Mutex<Cursors>,
    allocation: Mutex<Allocation>,
    in_flight: Mutex<InFlight>,
    sessions: Mutex<Sessions>,
    tally: Mutex<Tally>,
    fault_rng: Mutex<ChaCha8Rng>,
    started: Instant,
    issued: std::sync::atomic::AtomicU64,
}

/// Parses an `application/x-www-form-urlencoded` string (a query string or a form body).
pub(crate) fn form_pairs(raw: &str) -> Vec<(String, String)> {
    let uri = format!("/?{raw}");
    uri.parse::<axum::http::Uri>()
        .ok()
        .and_then(|uri| axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri).ok())
        .map(|q| q.0)
        .unwrap_or_default()
}

fn error_response(error: &SfError) -> Response {
    (error.status, axum::Json(error.body())).into_response()
}

/// The accounting name of a call, from its method and path alone.
fn classify(method: &Method, rest: &str) -> &'static str {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let m = method.as_str();
    match (m, segments.as_slice()) {
        ("GET", ["limits"]) => "limits",
        ("POST", ["sobjects", _]) => "sobject_create",
        ("GET", ["sobjects", _, _]) => "sobject_read",
        ("PATCH", ["sobjects", _, _]) => "sobject_update",
        ("DELETE", ["sobjects", _, _]) => "sobject_delete",
        ("PATCH" | "POST", ["sobjects", _, _, _]) => "sobject_upsert",
        ("GET", ["sobjects", _, _, _]) => "sobject_read",
        ("POST", ["composite", "sobjects"]) => "collections_create",
        ("PATCH", ["composite", "sobjects"]) => "collections_update",
        ("DELETE", ["composite", "sobjects"]) => "collections_delete",
        ("PATCH", ["composite", "sobjects", _, _]) => "collections_upsert",
        ("GET" | "POST", ["composite", "sobjects", _]) => "collections_read",
        ("POST", ["composite"]) => "composite",
        ("GET", ["query" | "queryAll"]) => "query",
        ("GET", ["query" | "queryAll", _]) => "query_more",
        _ => "other",
    }
}

fn is_write(method: &Method) -> bool {
    matches!(*method, Method::POST | Method::PATCH | Method::DELETE)
}

/// Removes a request from the in-flight set when its handling ends, however it ends.
struct InFlightGuard<'a> {
    org: &'a Org,
    ticket: u64,
}

impl Drop for InFlightGuard<'_> {
    fn drop(&mut self) {
        lock(&self.org.in_flight).end(self.ticket);
    }
}

impl Org {
    /// Builds the org. Probabilities outside `[0, 1]` are clamped.
    pub fn new(mut cfg: OrgConfig) -> Arc<Org> {
        let base = &mut cfg.base;
        let rate = |r: f64| if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        base.error_rate = rate(base.error_rate);
        base.commit_then_drop_rate = rate(base.commit_then_drop_rate);
        base.blackhole_rate = rate(base.blackhole_rate);
        base.daily_used_at_start = rate(base.daily_used_at_start);
        cfg.query_page = cfg.query_page.clamp(1, 2_000);
        let now = base.clock.now();
        let used = (base.daily_max as f64 * base.daily_used_at_start) as u64;
        Arc::new(Org {
            stores: Mutex::new(Stores::new(&cfg.unique_fields, base.clock)),
            cursors: Mutex::new(Cursors::default()),
            allocation: Mutex::new(Allocation::new(base.daily_max, used, now)),
            in_flight: Mutex::new(InFlight::default()),
            sessions: Mutex::new(Sessions::new(cfg.session_ttl, base.tokens.clone(), now)),
            tally: Mutex::new(Tally::default()),
            fault_rng: Mutex::new(ChaCha8Rng::seed_from_u64(base.seed)),
            started: now,
            issued: std::sync::atomic::AtomicU64::new(0),
            cfg,
        })
    }

    /// The one place the engine reads the time: the shared (possibly compressed) clock.
    pub(crate) fn now(&self) -> Instant {
        self.cfg.base.clock.now()
    }

    pub(crate) fn cursors(&self) -> MutexGuard<'_, Cursors> {
        lock(&self.cursors)
    }

    /// The REST API and the token endpoint.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/services/oauth2/token", post(token))
            .route("/services/data", get(versions))
            .route("/services/data/", get(versions))
            .route("/services/data/{version}/{*rest}", any(api))
            .fallback(not_found)
            .with_state(Arc::clone(self))
    }

    /// The API plus `GET /__syncproof/health` and `GET /__syncproof/stats` (no auth, not
    /// counted).
    pub fn app(self: &Arc<Self>) -> Router {
        let org = Arc::clone(self);
        with_harness_routes(self.router(), move || {
            json!({
                "profile": org.cfg.base.name,
                "records": org.record_count(),
                "api_usage": org.api_usage(),
                "accounting": org.accounting(),
            })
        })
    }

    /// Records held over all objects (deleted ones included).
    pub fn record_count(&self) -> usize {
        lock(&self.stores).by_object.iter().map(|s| s.len()).sum()
    }

    /// `(used, max)` of the rolling-24-hour allocation now.
    pub fn api_usage(&self) -> (u64, u64) {
        let mut allocation = lock(&self.allocation);
        let used = allocation.used(self.now());
        (used, allocation.max)
    }

    /// A snapshot of what this org saw and did.
    pub fn accounting(&self) -> CrmAccounting {
        let (created, updated) = {
            let stores = lock(&self.stores);
            stores.by_object.iter().fold((0, 0), |(c, u), s| {
                (c + s.records_created, u + s.records_updated)
            })
        };
        lock(&self.tally).snapshot(created, updated)
    }

    /// Live records per distinct non-empty value of `field` on `object` (`Contact`, ...): the
    /// ground truth for duplicates.
    pub fn copies_by_field(
        &self,
        object: &str,
        field: &str,
    ) -> std::collections::BTreeMap<String, u64> {
        schema::SObject::parse(object)
            .map(|o| lock(&self.stores).of(o).copies_by_property(field))
            .unwrap_or_default()
    }

    fn count_fault(&self, fault: Fault) {
        lock(&self.tally).fault(fault);
    }

    fn limits_body(&self) -> Value {
        let (used, max) = self.api_usage();
        json!({
            "DailyApiRequests": { "Max": max, "Remaining": max.saturating_sub(used) },
            "ConcurrentPerOrgLongTxn": { "Max": self.cfg.long_running_max, "Remaining": self.cfg.long_running_max },
            "DailyBulkApiBatches": { "Max": 15_000, "Remaining": 15_000 },
            "DailyBulkV2QueryJobs": { "Max": 10_000, "Remaining": 10_000 },
        })
    }

    /// Requests being answered right now (latency and blackhole time included).
    pub fn in_flight(&self) -> usize {
        lock(&self.in_flight).len()
    }

    /// Authenticates, admits and answers one API request (everything but the latency sleep).
    /// `long_running`: requests already in flight for the threshold or longer when it arrived.
    fn answer(
        &self,
        dice: Dice,
        headers: &HeaderMap,
        call: &Call<'_>,
        now: Instant,
        long_running: usize,
    ) -> Response {
        let session = bearer(headers)
            .ok_or(Refused::Unknown)
            .and_then(|t| lock(&self.sessions).check(&t, now));
        if let Err(refused) = session {
            self.count_fault(match refused {
                Refused::Unknown => Fault::Unauthorized,
                Refused::Expired => Fault::SessionExpired,
            });
            return error_response(&SfError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_SESSION_ID",
                "Session expired or invalid",
            ));
        }
        if let Some(left) = maintenance_left(&self.cfg.base, self.started, now) {
            self.count_fault(Fault::Maintenance);
            let mut response = error_response(&SfError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVER_UNAVAILABLE",
                "Scheduled maintenance in progress (injected); retry later.",
            ));
            let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
            return response;
        }
        if long_running >= self.cfg.long_running_max as usize {
            self.count_fault(Fault::ThrottledConcurrency);
            return error_response(&SfError::new(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
            ));
        }
        if !lock(&self.allocation).admit(now) {
            self.count_fault(Fault::ThrottledAllocation);
            return error_response(&SfError::new(
                StatusCode::FORBIDDEN,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            ));
        }
        if let Some(which) = dice.fault {
            self.count_fault(Fault::Transient5xx);
            let (status, code, message) = TRANSIENT_STATUSES[which];
            return error_response(&SfError::new(status, code, message));
        }
        let mut stores = lock(&self.stores);
        let mut tx = Tx::new(&mut stores);
        match self.dispatch(&mut tx, call) {
            Ok(reply) => {
                let mut response = match reply.body {
                    Some(body) => (reply.status, axum::Json(body)).into_response(),
                    None => reply.status.into_response(),
                };
                if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok())
                {
                    response.headers_mut().insert(header::LOCATION, location);
                }
                response
            }
            Err(error) => {
                // A failed request writes nothing.
                tx.rollback();
                error_response(&error)
            }
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (["bearer", "oauth"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
        && !token.is_empty())
    .then(|| token.to_string())
}

/// Every request under `/services/data/{version}/`: the gate and the dispatcher.
async fn api(
    State(org): State<Arc<Org>>,
    Path((version, rest)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    method: Method,
    headers: HeaderMap,
    deferred: Option<Extension<Deferred>>,
    body: Bytes,
) -> Response {
    // A direct call (`crate::direct`) asks for the waits instead of having them done.
    let deferred = deferred.map(|Extension(d)| d);
    let endpoint = classify(&method, &rest);
    let now = org.now();
    let valid_version = version
        .strip_prefix('v')
        .and_then(|v| v.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && minor.len() == 1
                && minor.bytes().all(|b| b.is_ascii_digit())
        });
    if !valid_version {
        lock(&org.tally).call_named(endpoint, 404);
        return error_response(&SfError::not_found());
    }
    let dice = roll(&org.cfg.base, &org.fault_rng);
    // Counted before this request joins the in-flight set, so it never counts itself.
    let (long_running, ticket) = {
        let mut in_flight = lock(&org.in_flight);
        let long_running = in_flight.long_running(now, org.cfg.long_running_after);
        (long_running, in_flight.start(now))
    };
    let _in_flight = InFlightGuard { org: &org, ticket };
    let mut response = if dice.blackhole {
        org.count_fault(Fault::Blackhole);
        let clock = org.cfg.base.clock;
        Deferred::pause(deferred.as_ref(), clock, org.cfg.base.blackhole_for).await;
        error_response(&SfError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "GATEWAY_TIMEOUT",
            "No response in time (injected blackhole).",
        ))
    } else {
        let params = form_pairs(query.as_deref().unwrap_or(""));
        let call = Call {
            method: &method,
            version: &version,
            path: &rest,
            params: &params,
            body: &body,
        };
        org.answer(dice, &headers, &call, now, long_running)
    };
    let (used, max) = org.api_usage();
    if let Ok(value) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        response.headers_mut().insert("sforce-limit-info", value);
    }
    lock(&org.tally).call_named(endpoint, response.status().as_u16());
    if !dice.latency.is_zero() {
        Deferred::pause(deferred.as_ref(), org.cfg.base.clock, dice.latency).await;
    }
    if dice.drop && is_write(&method) && response.status().is_success() {
        org.count_fault(Fault::CommitThenDrop);
        return crate::crm::dropped::drop_after_commit(response);
    }
    response
}

/// `GET /services/data`: the API versions.
async fn versions() -> Response {
    axum::Json(json!([{ "label": "Spring '24", "url": "/services/data/v60.0", "version": "60.0" }]))
        .into_response()
}

async fn not_found(State(org): State<Arc<Org>>) -> Response {
    lock(&org.tally).call_named("other", 404);
    error_response(&SfError::not_found())
}

/// `POST /services/oauth2/token`: the `password` and `client_credentials` grants (any
/// credentials are accepted; a fixed `--token` is handed out when one is configured).
async fn token(
    State(org): State<Arc<Org>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut params = form_pairs(query.as_deref().unwrap_or(""));
    params.extend(form_pairs(&String::from_utf8_lossy(&body)));
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let oauth_error = |error: &str, description: &str| {
        lock(&org.tally).call_named("oauth_token", 400);
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "error": error, "error_description": description })),
        )
            .into_response()
    };
    let needed: &[&str] = match get("grant_type") {
        Some("password") => &["client_id", "username", "password"],
        Some("client_credentials") => &["client_id", "client_secret"],
        _ => return oauth_error("unsupported_grant_type", "grant type not supported"),
    };
    if let Some(missing) = needed.iter().find(|k| get(k).is_none()) {
        return oauth_error(
            "invalid_request",
            &format!("missing required parameter: {missing}"),
        );
    }
    let now = org.now();
    let n = org
        .issued
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        + 1;
    let access_token = match org.cfg.base.tokens.first() {
        Some(fixed) => fixed.clone(),
        None => format!("00D5g000000{n:04}!mock.session.{}.{n}", org.cfg.base.seed),
    };
    lock(&org.sessions).issue(access_token.clone(), now);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let issued_at = org
        .cfg
        .base
        .clock
        .wall_now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    lock(&org.tally).call_named("oauth_token", 200);
    let scheme = if org.cfg.https { "https" } else { "http" };
    axum::Json(json!({
        "access_token": access_token,
        "instance_url": format!("{scheme}://{host}"),
        "id": format!("{scheme}://{host}/id/00D5g0000000001AAA/0055g0000000001AAA"),
        "token_type": "Bearer",
        "issued_at": issued_at.to_string(),
        "signature": "bW9jaw==",
    }))
    .into_response()
}
