//! `Crm`: one mock CRM account serving HubSpot's v3 objects API for contacts, companies and
//! deals, and its configuration.
//!
//! The engine is shared as `Arc<Crm>`; its state sits behind separate `std::sync::Mutex`es
//! (store, limiter, counters, fault RNG) because every critical section is short and never held
//! across an `.await`, and separate locks keep a search scan from stalling the limiter. The same
//! `router()` serves real runs (through [`crate::serve`]), tests (through
//! `tower::ServiceExt::oneshot`) and socketless transports such as wiremock (through
//! [`crate::direct::Direct`], which has the gate hand back its waits instead of sleeping).
//!
//! Files: `gate` (auth, limits, faults, latency, headers, accounting around every request),
//! `object_type` (contacts, companies, deals), `objects` (create/read/update/archive/list),
//! `batch` (batch create/read/update/upsert/archive), `search`, `store`,
//! `limits`, `wire` (JSON shapes), `errors`, `accounting`, `oauth` (the token endpoint and
//! access tokens that expire on the CRM's clock).

pub(crate) mod accounting;
mod batch;
pub(crate) mod dropped;
mod errors;
pub(crate) mod gate;
mod limits;
pub mod oauth;
mod object_type;
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
pub(crate) use object_type::ObjectType;
use object_type::{COMPANIES, CONTACTS, DEALS};
use store::Store;

/// Base path of the v3 objects API.
pub(crate) const OBJECTS_PATH: &str = "/crm/v3/objects";

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
    /// One store per object type, indexed by `ObjectType::index`.
    stores: [Mutex<Store>; 3],
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
        // Contacts carry the configured unique properties and webhooks; companies and deals
        // have no unique property (HubSpot enforces none by default).
        let mut store = Store::new(cfg.unique_properties.clone(), cfg.lowercase_email);
        store.clock = cfg.clock;
        if let Some(webhooks) = &cfg.webhooks {
            store.journal = Some(Vec::new());
            store.journal_on_create = webhooks.creation_properties.clone();
        }
        let other = |object: ObjectType| {
            let mut store = Store::new(Vec::new(), false).for_type(object);
            store.clock = cfg.clock;
            Mutex::new(store)
        };
        let now = cfg.clock.now();
        Arc::new(Crm {
            stores: [
                Mutex::new(store),
                other(ObjectType::Companies),
                other(ObjectType::Deals),
            ],
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
        let api = objects_routes::<CONTACTS>(Router::new());
        let api = objects_routes::<COMPANIES>(api);
        let api = objects_routes::<DEALS>(api)
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
        self.store()
            .journal
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// A snapshot of what this CRM saw and did.
    pub fn accounting(&self) -> CrmAccounting {
        let (mut created, mut updated, mut archived) = (0, 0, 0);
        for store in &self.stores {
            let store = lock(store);
            created += store.records_created;
            updated += store.records_updated;
            archived += store.records_archived;
        }
        let daily_resets = {
            let mut limiter = lock(&self.limiter);
            limiter.roll_day(self.now());
            limiter.daily_resets
        };
        CrmAccounting {
            daily_resets,
            records_archived: archived,
            ..lock(&self.tally).snapshot(created, updated)
        }
    }

    /// Live records per distinct non-empty value of `property`: the ground truth for duplicates.
    pub fn copies_by_property(&self, property: &str) -> BTreeMap<String, u64> {
        self.store().copies_by_property(property)
    }

    /// How many records the stores hold (every object type, archived ones included).
    pub fn record_count(&self) -> usize {
        self.stores.iter().map(|store| lock(store).len()).sum()
    }

    /// How many apps the burst limiter holds a window for.
    #[cfg(test)]
    pub(crate) fn tracked_apps(&self) -> usize {
        lock(&self.limiter).tracked_apps()
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

    /// The contacts store.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store_of(ObjectType::Contacts)
    }

    /// The store of `object`.
    pub(crate) fn store_of(&self, object: ObjectType) -> MutexGuard<'_, Store> {
        lock(&self.stores[object.index()])
    }

    /// Turns a handler's outcome into a response, giving errors a correlation id.
    pub(crate) fn respond(&self, outcome: Result<Response, ApiError>) -> Response {
        outcome.unwrap_or_else(|err| err.into_response(self.correlation.next()))
    }
}

/// The routes of one object type (`O` = `ObjectType::index`): single-object create, list,
/// read, update, archive; batch create, read, update, upsert, archive; search.
fn objects_routes<const O: u8>(router: Router<Arc<Crm>>) -> Router<Arc<Crm>> {
    let base = ObjectType::of(O).path();
    let path = |suffix: &str| format!("{base}{suffix}");
    router
        .route(&base, post(objects::create::<O>).get(objects::list::<O>))
        .route(
            &path("/{id}"),
            get(objects::read::<O>)
                .patch(objects::update::<O>)
                .delete(objects::archive::<O>),
        )
        .route(&path("/batch/create"), post(batch::create::<O>))
        .route(&path("/batch/upsert"), post(batch::upsert::<O>))
        .route(&path("/batch/read"), post(batch::read::<O>))
        .route(&path("/batch/update"), post(batch::update::<O>))
        .route(&path("/batch/archive"), post(batch::archive::<O>))
        .route(&path("/search"), post(search::handle::<O>))
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
