//! The reference relay: a mock integration under test that tails a source mock CRM and copies
//! contacts to a target mock CRM, with knobs for the defects a harness must detect (lag, loss,
//! duplicates, dropped fields, truncation).
//!
//! Tasks joined on shutdown, nothing detached. A reader learns of source records and decides
//! each one's fate (`plan`, seeded per record): in poll mode `tail` lists the source with the
//! tail-safe cursor; in webhook mode `hook` serves the endpoint the source's webhooks reach and
//! `fetch` reads the notified records with `batch/read`. `writer` holds records until due and
//! writes them to the target (or a warehouse table) in batches, by create or upsert, retrying
//! per `retry`. Every decision and outcome is booked in the `ledger`, whose `RelayStats` are the
//! ground truth of what the relay did. A retry is not a loss: a record is `gave_up` only after
//! `max_retries` retries of its batch, and `lost` only by the loss knob.

mod fetch;
mod hook;
mod ledger;
mod plan;
mod retry;
mod tail;
mod warehouse;
mod writer;

pub use hook::WebhookListener;
pub use warehouse::{WarehouseCopies, WarehouseSink, quote_ident};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::crm::lock;
use crate::dist::LogNormal;
use ledger::Ledger;

/// Every HTTP call the relay makes times out after this long.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// HubSpot's batch cap.
const MAX_BATCH: usize = 100;

/// How the integration under test retries a failed target write, as real integrations differ.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RelayRetry {
    /// Never: the first 429, 5xx or transport error gives the records up.
    None,
    /// At once, ignoring `Retry-After` and the limit headers: the naive loop that hammers a
    /// throttled API.
    Immediate,
    /// Exponential back-off with jitter, waiting as long as a 429 says.
    #[default]
    Exponential,
}

impl std::str::FromStr for RelayRetry {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "none" => Ok(RelayRetry::None),
            "immediate" => Ok(RelayRetry::Immediate),
            "exponential" => Ok(RelayRetry::Exponential),
            other => Err(format!(
                "unknown retry policy {other:?} (none, immediate, exponential)"
            )),
        }
    }
}

/// How the relay learns of new source records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RelayMode {
    /// Tails the source's list endpoint by id (a modified-since poll for records that are only
    /// ever created).
    #[default]
    Poll,
    /// Serves a HubSpot v3 webhook endpoint the source posts to, verifies each request's
    /// signature, deduplicates by object and reads the changed records back with `batch/read`
    /// (a webhook carries the object id only).
    Webhook,
}

impl std::str::FromStr for RelayMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "poll" => Ok(RelayMode::Poll),
            "webhook" => Ok(RelayMode::Webhook),
            other => Err(format!("unknown relay mode {other:?} (poll, webhook)")),
        }
    }
}

/// How the relay writes a record to the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RelayWrite {
    /// `batch/create` (a warehouse: plain `INSERT`): a retry after a lost acknowledgement, or
    /// a second write, makes another copy.
    #[default]
    Create,
    /// `batch/upsert` by the id property (a warehouse: `INSERT … ON CONFLICT … DO UPDATE`):
    /// writing a record again lands on the same copy.
    Upsert,
}

impl std::str::FromStr for RelayWrite {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "create" => Ok(RelayWrite::Create),
            "upsert" => Ok(RelayWrite::Upsert),
            other => Err(format!("unknown write mode {other:?} (create, upsert)")),
        }
    }
}

/// The defects of the integration under test.
#[derive(Clone, Debug)]
pub struct RelayKnobs {
    /// Delay between the relay seeing a source record and writing it to the target.
    pub lag: LogNormal,
    /// Fraction of records never written.
    pub loss_rate: f64,
    /// Fraction of forwarded records written twice (a replayed change). With
    /// [`RelayWrite::Create`] the second write is a second copy; with [`RelayWrite::Upsert`]
    /// it lands on the first.
    pub duplicate_rate: f64,
    /// Per property: fraction of forwarded records where the relay omits that property.
    pub drop_rates: BTreeMap<String, f64>,
    /// String values longer than this many chars (not bytes) are cut to it.
    pub truncate_at: Option<usize>,
    /// How the relay learns of new source records.
    pub mode: RelayMode,
    /// How it writes them.
    pub write: RelayWrite,
    /// How often the relay tails the source when it has caught up; in webhook mode, the
    /// longest a notified id waits for its `batch/read` to fill.
    pub poll_interval: Duration,
    /// Records per `batch/create` (1..=100).
    pub batch_size: usize,
    /// The relay writes at most once per this interval unless a full batch is ready, as a
    /// batching integration does; zero writes each record the moment it is due.
    pub write_interval: Duration,
    /// The relay's own retries of a target call on 429/5xx/transport error.
    pub max_retries: u32,
    /// How it waits before those retries (or whether it retries at all).
    pub retry: RelayRetry,
    /// Seeds every decision the relay makes.
    pub seed: u64,
    /// The time the relay's lag, poll and write intervals and back-offs run on (HTTP timeouts
    /// stay in real time).
    pub clock: crate::Clock,
}

impl Default for RelayKnobs {
    fn default() -> Self {
        RelayKnobs {
            lag: LogNormal::ZERO,
            loss_rate: 0.0,
            duplicate_rate: 0.0,
            drop_rates: BTreeMap::new(),
            truncate_at: None,
            mode: RelayMode::Poll,
            write: RelayWrite::Create,
            poll_interval: Duration::from_millis(50),
            batch_size: MAX_BATCH,
            write_interval: Duration::from_millis(100),
            max_retries: 8,
            retry: RelayRetry::Exponential,
            seed: 0,
            clock: crate::Clock::real(),
        }
    }
}

impl RelayKnobs {
    /// Clamps rates to `[0, 1]`, the batch size to `1..=100` and the poll interval to ≥ 1 ms,
    /// so no knob value can make the relay panic or spin.
    fn sanitised(mut self) -> Self {
        let rate = |r: f64| if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
        self.loss_rate = rate(self.loss_rate);
        self.duplicate_rate = rate(self.duplicate_rate);
        for r in self.drop_rates.values_mut() {
            *r = rate(*r);
        }
        self.batch_size = self.batch_size.clamp(1, MAX_BATCH);
        self.poll_interval = self.poll_interval.max(Duration::from_millis(1));
        self
    }
}

/// Where the relay reads and writes, and what it copies.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    pub source_url: String,
    pub source_token: String,
    pub target_url: String,
    pub target_token: String,
    /// The property holding the harness's external id, e.g. `"syncproof_id"`; always copied,
    /// never dropped or truncated.
    pub id_property: String,
    /// Properties to copy besides `id_property`.
    pub properties: Vec<String>,
    pub knobs: RelayKnobs,
}

/// What the relay did: the ground truth for the harness's loss/duplicate/field measurements.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct RelayStats {
    /// Distinct source records seen.
    pub seen: u64,
    /// Records written to the target at least once (first copy acknowledged).
    pub forwarded: u64,
    /// Records the loss knob dropped.
    pub lost: u64,
    /// Records abandoned after `max_retries` (or refused by the target with a non-retryable 4xx).
    pub gave_up: u64,
    /// Records whose second write (the duplicate knob) was acknowledged by the target.
    pub duplicated: u64,
    /// Of those, the second writes that made a separate copy: every one with `write = create`;
    /// with `upsert`, only those the target answered as new (none: the upsert finds the first).
    /// Copies made by a retry after a lost acknowledgement are not here: the relay never knew.
    pub duplicate_copies: u64,
    /// Per property: forwarded records where it was omitted and the source value was non-empty.
    pub fields_dropped: BTreeMap<String, u64>,
    /// Per property: forwarded records where truncation changed the value.
    pub fields_truncated: BTreeMap<String, u64>,
    /// Calls made to the source (every attempt).
    pub source_calls: u64,
    /// Calls made to the target (every attempt).
    pub target_calls: u64,
    /// Target calls that were retries.
    pub target_retries: u64,
    /// Webhook mode: requests whose signature held and were accepted.
    pub webhook_requests: u64,
    /// Webhook mode: requests refused (unsigned, bad signature, stale timestamp, unreadable).
    pub webhook_rejected: u64,
    /// Webhook mode: events in accepted requests.
    pub webhook_events: u64,
    /// Webhook mode: events about an object already taken (repeated deliveries, duplicates, a
    /// second subscription's event for the same object).
    pub webhook_redundant: u64,
    /// Webhook mode: notified ids the source's `batch/read` did not find.
    pub fetch_missing: u64,
}

/// The id property first, then the other properties the relay copies.
fn copied_properties(cfg: &RelayConfig) -> Vec<String> {
    std::iter::once(cfg.id_property.clone())
        .chain(
            cfg.properties
                .iter()
                .filter(|p| **p != cfg.id_property)
                .cloned(),
        )
        .collect()
}

/// A running relay.
pub struct RelayHandle {
    // std Mutex: bookings are a few counter updates, never across an await.
    ledger: Arc<Mutex<Ledger>>,
    tasks: Vec<JoinHandle<()>>,
    webhook_url: Option<String>,
}

/// Where the relay's records come from.
enum Feed {
    Poll,
    Webhook(WebhookListener),
}

impl RelayHandle {
    /// Starts a polling relay (the tail and writer tasks) on the current tokio runtime; they
    /// run until `shutdown` is cancelled. `knobs.mode` is not read: [`RelayHandle::start`]
    /// serves either mode.
    pub fn spawn(cfg: RelayConfig, shutdown: CancellationToken) -> RelayHandle {
        RelayHandle::spawn_with(cfg, Feed::Poll, None, shutdown)
    }

    /// Starts a relay in `cfg.knobs.mode`. Webhook mode serves its endpoint on `listener`
    /// (bound beforehand, so the source can be told its URL and secret). With
    /// `warehouse`, it connects (dropping and creating the table) and writes there instead of
    /// to `cfg.target_url`: a CRM→warehouse sync.
    pub async fn start(
        cfg: RelayConfig,
        listener: Option<WebhookListener>,
        warehouse: Option<&WarehouseSink>,
        shutdown: CancellationToken,
    ) -> std::io::Result<RelayHandle> {
        let feed = match (cfg.knobs.mode, listener) {
            (RelayMode::Poll, _) => Feed::Poll,
            (RelayMode::Webhook, Some(listener)) => Feed::Webhook(listener),
            (RelayMode::Webhook, None) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "a webhook-mode relay needs its WebhookListener (bind it, then point the source's webhooks at its URL)",
                ));
            }
        };
        let connected = match warehouse {
            None => None,
            Some(warehouse) => Some(
                warehouse
                    .connect(copied_properties(&cfg), cfg.knobs.write)
                    .await
                    .map_err(|err| {
                        std::io::Error::other(format!(
                            "the warehouse sink cannot use table {:?}: {err}",
                            warehouse.table
                        ))
                    })?,
            ),
        };
        Ok(RelayHandle::spawn_with(cfg, feed, connected, shutdown))
    }

    fn spawn_with(
        cfg: RelayConfig,
        feed: Feed,
        warehouse: Option<warehouse::Connected>,
        shutdown: CancellationToken,
    ) -> RelayHandle {
        let knobs = cfg.knobs.clone().sanitised();
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            // The relay only talks to loopback mocks; an environment proxy must not intercept.
            .no_proxy()
            .build()
            .unwrap_or_else(|err| {
                tracing::error!(error = %err, "relay: cannot build an HTTP client with a timeout; using the default client");
                reqwest::Client::default()
            });
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let copied = copied_properties(&cfg);
        let (tx, rx) = mpsc::unbounded_channel();
        let planner = plan::Planner::new(&knobs, cfg.id_property.clone(), copied.clone());
        let source_url = cfg.source_url.trim_end_matches('/').to_string();
        let reader_jitter = knobs.seed ^ 0x9e37_79b9_7f4a_7c15;
        let writer = writer::Writer {
            client: client.clone(),
            url: cfg.target_url.trim_end_matches('/').to_string(),
            token: cfg.target_token.clone(),
            id_property: cfg.id_property.clone(),
            write: knobs.write,
            batch_size: knobs.batch_size,
            write_interval: knobs.write_interval,
            max_retries: knobs.max_retries,
            retry: knobs.retry,
            ledger: Arc::clone(&ledger),
            jitter_seed: knobs.seed ^ 0x6a09_e667_f3bc_c908,
            clock: knobs.clock,
            warehouse,
        };
        let mut tasks = Vec::with_capacity(4);
        let mut webhook_url = None;
        match feed {
            Feed::Poll => {
                let tail = tail::Tail {
                    client,
                    url: source_url,
                    token: cfg.source_token.clone(),
                    properties: copied.join(","),
                    poll_interval: knobs.poll_interval,
                    planner,
                    ledger: Arc::clone(&ledger),
                    jitter_seed: reader_jitter,
                    clock: knobs.clock,
                };
                tasks.push(tokio::spawn(tail.run(tx, shutdown.clone())));
            }
            Feed::Webhook(listener) => {
                let (ids_tx, ids_rx) = mpsc::unbounded_channel();
                webhook_url = Some(listener.url().to_string());
                tasks.push(listener.serve(
                    Arc::clone(&ledger),
                    knobs.clock,
                    ids_tx,
                    shutdown.clone(),
                ));
                let fetch = fetch::Fetch {
                    client,
                    url: source_url,
                    token: cfg.source_token.clone(),
                    properties: copied,
                    linger: knobs.poll_interval,
                    planner,
                    ledger: Arc::clone(&ledger),
                    jitter_seed: reader_jitter,
                    clock: knobs.clock,
                };
                tasks.push(tokio::spawn(fetch.run(ids_rx, tx, shutdown.clone())));
            }
        }
        tasks.push(tokio::spawn(writer.run(rx, shutdown)));
        RelayHandle {
            ledger,
            tasks,
            webhook_url,
        }
    }

    /// Webhook mode: the URL the source must post its webhooks to.
    pub fn webhook_url(&self) -> Option<&str> {
        self.webhook_url.as_deref()
    }

    /// A snapshot of the relay's counters.
    pub fn stats(&self) -> RelayStats {
        lock(&self.ledger).stats.clone()
    }

    /// Records seen but not yet settled: not forwarded, lost or given up, or with a planned
    /// second copy still outstanding; in webhook mode also the notified ids not yet read from
    /// the source. 0 means the relay has caught up with what it has seen or been told of.
    pub fn pending(&self) -> usize {
        lock(&self.ledger).in_flight()
    }

    /// Waits for the tasks (they end once the shutdown token is cancelled) and returns the final
    /// counters. A task's panic is re-raised here rather than lost.
    pub async fn join(self) -> RelayStats {
        for task in self.tasks {
            if let Err(err) = task.await
                && err.is_panic()
            {
                std::panic::resume_unwind(err.into_panic());
            }
        }
        lock(&self.ledger).stats.clone()
    }
}
