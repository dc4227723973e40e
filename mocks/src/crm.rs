//! `Crm`: one mock CRM account serving a HubSpot-style contacts API, and its configuration.
//!
//! The engine is shared as `Arc<Crm>`; its state sits behind separate `std::sync::Mutex`es
//! (store, limiter, counters, fault RNG) because every critical section is short and never held
//! across an `.await`, and separate locks keep a search scan from stalling the limiter. The same
//! `router()` serves real runs (through [`crate::serve`]) and tests (through
//! `tower::ServiceExt::oneshot`).
//!
//! Files: `gate` (auth, limits, faults, latency, headers, accounting around every request),
//! `objects` (create/read/list), `batch` (batch create/upsert/read), `search`, `store`,
//! `limits`, `wire` (JSON shapes), `errors`, `accounting`, `oauth` (the token endpoint and
//! access tokens that expire on the CRM's clock).

pub(crate) mod accounting;
mod batch;
pub(crate) mod dropped;
mod errors;
pub(crate) mod gate;
mod limits;
pub mod oauth;
mod objects;
mod search;
pub(crate) mod store;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use accounting::CrmAccounting;

use crate::dist::LogNormal;
use accounting::Tally;
use errors::{ApiError, CorrelationIds};
use limits::{Limiter, Limits};
use store::Store;

/// Base path of the contacts API.
pub(crate) const CONTACTS_PATH: &str = "/crm/v3/objects/contacts";

/// How one mock CRM behaves. Defaults are HubSpot Professional's published limits and a
/// well-behaved vendor (no faults, no latency, no search lag).
#[derive(Clone, Debug)]
pub struct CrmConfig {
    /// `"source"` | `"target"`, used in logs.
    pub name: String,
    /// Requests per app (bearer token) per rolling window; 0 disables the burst limit.
    pub burst_max: u32,
    /// The rolling window's width.
    pub burst_window: Duration,
    /// Requests per account per day; 0 = no daily limit (and no `Daily` headers).
    pub daily_max: u64,
    /// Searches per account per second; search is exempt from the burst window. 0 = unlimited.
    pub search_per_second: u32,
    /// Fraction of admitted requests answered with a transient 500/502/503/504 before the store
    /// is touched.
    pub error_rate: f64,
    /// Fraction of successful writes (create, batch create, batch upsert) that commit and then
    /// drop the connection before the body is sent (the `commit-then-drop` fault).
    pub commit_then_drop_rate: f64,
    /// Fraction of the daily quota already used when the mock starts (`quota-edge`: 0.95).
    pub daily_used_at_start: f64,
    /// A maintenance window: every API request inside it answers 503 with `Retry-After` until
    /// the window ends. `(starts after, lasts)`, measured from when the mock was built.
    pub maintenance: Option<(Duration, Duration)>,
    /// Fraction of requests that hang for `blackhole_for`, then answer 504 (a client with a
    /// shorter timeout sees a timeout).
    pub blackhole_rate: f64,
    pub blackhole_for: Duration,
    /// Fraction of requests whose connection is reset before anything is done: the client sees
    /// a transport error and nothing was written (`connection-reset`).
    pub reset_rate: f64,
    /// Fraction of responses whose body trickles out over `slow_body_for` (`slow-body`): the
    /// work is done, the answer is slow to arrive.
    pub slow_body_rate: f64,
    pub slow_body_for: Duration,
    /// Lock contention: a batch upsert touching a record written less than this long ago is
    /// answered 423 (the `locked` overlay: 2 s, as HubSpot documents).
    pub lock_for: Option<Duration>,
    /// Injected per request before the response leaves.
    pub latency: LogNormal,
    /// A record is visible to search only once `updatedAt + search_lag` has passed.
    pub search_lag: Duration,
    /// Properties whose values must be unique among live records (409 on conflict).
    pub unique_properties: Vec<String>,
    /// Deliver `contact.creation` / `contact.propertyChange` webhooks to a subscriber; start the
    /// emitter with [`Crm::start_webhooks`].
    pub webhooks: Option<crate::webhooks::WebhookConfig>,
    /// Lower-case `email` on write and lookup, as HubSpot does.
    pub lowercase_email: bool,
    /// Accepted bearer tokens (private-app tokens); empty = any non-empty bearer, unless
    /// `oauth` is set.
    pub tokens: Vec<String>,
    /// An OAuth app: serves `POST /oauth/v1/token` and accepts the access tokens it hands out
    /// until they expire (30 minutes on `clock`).
    pub oauth: Option<oauth::OAuthConfig>,
    /// Fraction of requests carrying a valid OAuth access token that revoke it early
    /// (`token-churn`): that request and later ones with the token get 401.
    pub token_churn_rate: f64,
    /// 429s carry `Retry-After` (whole seconds, rounded up, at least 1).
    pub retry_after_on_429: bool,
    /// Seeds the fault and latency RNG (deterministic per request order).
    pub seed: u64,
    /// The time every window, quota, lag and timestamp of this CRM reads; share one clock
    /// between the CRMs and relay of an integration (and with the harness).
    pub clock: crate::Clock,
}

impl Default for CrmConfig {
    fn default() -> Self {
        CrmConfig {
            name: "crm".to_string(),
            burst_max: 190,
            burst_window: Duration::from_secs(10),
            daily_max: 625_000,
            search_per_second: 5,
            error_rate: 0.0,
            commit_then_drop_rate: 0.0,
            daily_used_at_start: 0.0,
            maintenance: None,
            lock_for: None,
            blackhole_rate: 0.0,
            blackhole_for: Duration::from_secs(30),
            reset_rate: 0.0,
            slow_body_rate: 0.0,
            slow_body_for: Duration::from_secs(5),
            webhooks: None,
            latency: LogNormal::ZERO,
            search_lag: Duration::ZERO,
            unique_properties: Vec::new(),
            lowercase_email: true,
            tokens: Vec::new(),
            oauth: None,
            token_churn_rate: 0.0,
            retry_after_on_429: true,
            seed: 0,
            clock: crate::Clock::real(),
        }
    }
}

/// One mock CRM account: records, limits, faults and the counters of what happened.
pub struct Crm {
    cfg: CrmConfig,
    // Each lock guards a short, await-free section; a std Mutex is cheaper than an async one
    // there, and separate locks keep the store, limiter and counters from contending.
    store: Mutex<Store>,
    limiter: Mutex<Limiter>,
    tally: Mutex<Tally>,
    fault_rng: Mutex<ChaCha8Rng>,
    oauth_tokens: Mutex<oauth::Tokens>,
    webhook_counters: Arc<crate::webhooks::Counters>,
    /// When the mock was built (on its clock): the origin of the maintenance window.
    started: tokio::time::Instant,
    correlation: CorrelationIds,
}

/// Locks `mutex`, recovering the data if a panicking thread poisoned it: every section keeps
/// the guarded data consistent at each step, so the data is still usable.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Crm {
    /// Builds the engine. Probabilities outside `[0, 1]` are clamped.
    pub fn new(mut cfg: CrmConfig) -> Arc<Crm> {
        let rate = |r: f64| if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        cfg.error_rate = rate(cfg.error_rate);
        cfg.commit_then_drop_rate = rate(cfg.commit_then_drop_rate);
        cfg.blackhole_rate = rate(cfg.blackhole_rate);
        cfg.reset_rate = rate(cfg.reset_rate);
        cfg.slow_body_rate = rate(cfg.slow_body_rate);
        cfg.token_churn_rate = rate(cfg.token_churn_rate);
        cfg.daily_used_at_start = rate(cfg.daily_used_at_start);
        let limits = Limits {
            burst_max: cfg.burst_max,
            burst_window: cfg.burst_window,
            daily_max: cfg.daily_max,
            search_per_second: cfg.search_per_second,
            daily_used_at_start: (cfg.daily_max as f64 * cfg.daily_used_at_start) as u64,
        };
        let mut store = Store::new(cfg.unique_properties.clone(), cfg.lowercase_email);
        store.clock = cfg.clock;
        if let Some(webhooks) = &cfg.webhooks {
            store.journal = Some(Vec::new());
            store.journal_on_create = webhooks.creation_properties.clone();
        }
        let now = cfg.clock.now();
        Arc::new(Crm {
            store: Mutex::new(store),
            webhook_counters: Arc::default(),
            started: now,
            limiter: Mutex::new(Limiter::new(limits, now)),
            tally: Mutex::new(Tally::default()),
            fault_rng: Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed)),
            oauth_tokens: Mutex::new(
                cfg.oauth
                    .as_ref()
                    .map(oauth::Tokens::new)
                    .unwrap_or_default(),
            ),
            correlation: CorrelationIds::new(cfg.seed),
            cfg,
        })
    }

    /// The HTTP API. Every request passes the gate (auth, limits, faults, latency, accounting).
    pub fn router(self: &Arc<Self>) -> Router {
        let path = |suffix: &str| format!("{CONTACTS_PATH}{suffix}");
        let api = Router::new()
            .route(CONTACTS_PATH, post(objects::create).get(objects::list))
            .route(&path("/{id}"), get(objects::read))
            .route(&path("/batch/create"), post(batch::create))
            .route(&path("/batch/upsert"), post(batch::upsert))
            .route(&path("/batch/read"), post(batch::read))
            .route(&path("/search"), post(search::handle))
            .fallback(gate::not_found)
            .method_not_allowed_fallback(gate::method_not_allowed)
            .with_state(Arc::clone(self));
        Router::new()
            // Outside the gate: getting a token needs no bearer and spends no API quota.
            .route(oauth::TOKEN_PATH, post(oauth::token))
            .fallback_service(gate::Gate::new(Arc::clone(self), api))
            .with_state(Arc::clone(self))
    }

    /// The API plus the harness's own endpoints, outside the gate (no auth, not counted):
    /// `GET /__syncproof/health` and `GET /__syncproof/stats` (the accounting as JSON).
    pub fn app(self: &Arc<Self>) -> Router {
        let crm = Arc::clone(self);
        with_harness_routes(self.router(), move || {
            let clock = crm.clock();
            serde_json::json!({
                "profile": crm.cfg.name,
                "records": crm.record_count(),
                "accounting": crm.accounting(),
                "clock": {
                    "speed": clock.speed(),
                    "simulated_s": clock.elapsed().as_secs_f64(),
                },
            })
        })
    }

    /// Starts delivering webhooks (when configured) until `shutdown`; the task delivers what
    /// is journalled before it ends.
    pub fn start_webhooks(
        self: &Arc<Self>,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let cfg = self.cfg.webhooks.clone()?;
        Some(crate::webhooks::spawn(
            Arc::clone(self),
            cfg,
            Arc::clone(&self.webhook_counters),
            shutdown,
        ))
    }

    /// What the webhook emitter did so far.
    pub fn webhook_stats(&self) -> crate::webhooks::WebhookStats {
        self.webhook_counters.snapshot()
    }

    pub(crate) fn drain_journal(&self) -> Vec<store::Change> {
        lock(&self.store)
            .journal
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// A snapshot of what this CRM saw and did.
    pub fn accounting(&self) -> CrmAccounting {
        let (created, updated) = {
            let store = lock(&self.store);
            (store.records_created, store.records_updated)
        };
        let daily_resets = {
            let mut limiter = lock(&self.limiter);
            limiter.roll_day(self.now());
            limiter.daily_resets
        };
        CrmAccounting {
            daily_resets,
            ..lock(&self.tally).snapshot(created, updated)
        }
    }

    /// Live records per distinct non-empty value of `property`: the ground truth for duplicates.
    pub fn copies_by_property(&self, property: &str) -> BTreeMap<String, u64> {
        lock(&self.store).copies_by_property(property)
    }

    /// How many records the store holds.
    pub fn record_count(&self) -> usize {
        lock(&self.store).len()
    }

    /// Time left in the maintenance window at `now`, if `now` is inside it.
    pub(crate) fn in_maintenance(&self, now: tokio::time::Instant) -> Option<Duration> {
        maintenance_left(&self.cfg, self.started, now)
    }

    /// Now, on this CRM's clock.
    pub(crate) fn now(&self) -> tokio::time::Instant {
        self.cfg.clock.now()
    }

    /// This CRM's clock.
    pub fn clock(&self) -> crate::Clock {
        self.cfg.clock
    }

    pub(crate) fn config(&self) -> &CrmConfig {
        &self.cfg
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// Turns a handler's outcome into a response, giving errors a correlation id.
    pub(crate) fn respond(&self, outcome: Result<Response, ApiError>) -> Response {
        outcome.unwrap_or_else(|err| err.into_response(self.correlation.next()))
    }
}

/// `router` plus the harness's own endpoints, outside any gate (no auth, not counted):
/// `GET /__syncproof/health` and `GET /__syncproof/stats` (what `stats` returns, as JSON).
pub(crate) fn with_harness_routes(
    router: Router,
    stats: impl Fn() -> serde_json::Value + Clone + Send + Sync + 'static,
) -> Router {
    Router::new()
        .route(
            "/__syncproof/health",
            get(|| async { axum::Json(serde_json::json!({ "status": "ok" })) }),
        )
        .route(
            "/__syncproof/stats",
            get(move || {
                let stats = stats.clone();
                async move { axum::Json(stats()) }
            }),
        )
        .merge(router)
}

/// Time left in `cfg`'s maintenance window at `now` (measured from `started`), if inside it.
pub(crate) fn maintenance_left(
    cfg: &CrmConfig,
    started: tokio::time::Instant,
    now: tokio::time::Instant,
) -> Option<Duration> {
    let (starts, lasts) = cfg.maintenance?;
    let elapsed = now.saturating_duration_since(started);
    (elapsed >= starts && elapsed < starts + lasts).then(|| starts + lasts - elapsed)
}
