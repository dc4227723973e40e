//! The plan: what to send, where, how fast, how to retry and how to verify. The serde shape
//! (`PlanFile`, `deny_unknown_fields`) is separate from the validated [`Plan`]; command-line
//! overrides are applied to the file form first, so they pass the very same checks and the
//! effective plan written to the run directory is exactly what ran.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::RetryPolicy;
use crate::config::{ConfigError, Source, suggest_closest};
use crate::shape::{DEMO_SHAPE, Shape};
use crate::units::{Rate, fraction, parse_duration};
use crate::verify::{VerifyFile, VerifyMethod, parse_method};

/// The demo's plan and SLA, embedded so `demo` needs no file.
pub const DEMO_PLAN: &str = include_str!("../../datasets/plans/demo.toml");
pub const DEMO_SLA: &str = include_str!("../../datasets/sla/demo.toml");

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    name: String,
    seed: u64,
    records: u64,
    shape: String,
    sla: String,
    target: TargetFile,
    load: LoadFile,
    #[serde(default)]
    retry: RetryFile,
    #[serde(default)]
    verify: VerifyFile,
    /// How often (real time) the event log closes its segment and writes a checkpoint.
    #[serde(default = "default_checkpoint_every")]
    checkpoint_every: String,
}

fn default_checkpoint_every() -> String {
    "1m".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum TargetKind {
    /// Built-in source mock CRM → reference relay → target mock CRM, on loopback.
    #[serde(rename = "mock-integration")]
    MockIntegration,
    /// One HubSpot-compatible API (the vendor's, its sandbox, or `syncproof mock`), written to
    /// and read back: an API PoC.
    #[serde(rename = "hubspot")]
    Hubspot,
    /// One Salesforce org (or `syncproof mock --profile salesforce-*`), written to by external
    /// id and read back with SOQL: an API PoC.
    #[serde(rename = "salesforce")]
    Salesforce,
    /// Any REST API the plan describes with path and body templates: an API PoC.
    #[serde(rename = "rest")]
    Rest,
    /// An integration PoC against real systems (or `syncproof mock --integration`): write to
    /// `[target.from]`, observe `[target.to]`, where the integration under test writes.
    #[serde(rename = "integration")]
    Integration,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFile {
    kind: TargetKind,
    #[serde(default = "default_id_property")]
    id_property: String,
    /// `kind = "hubspot"`: the API's base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<String>,
    /// `kind = "hubspot"`: the environment variable holding the bearer token...
    #[serde(skip_serializing_if = "Option::is_none")]
    token_env: Option<String>,
    /// ...or a file holding it (relative to the plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    token_file: Option<String>,
    /// `kind = "salesforce"`: `v62.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_version: Option<String>,
    /// `kind = "salesforce"`: the sObject, e.g. `Contact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    object: Option<String>,
    /// `kind = "salesforce"`: the external-id custom field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id_field: Option<String>,
    /// `kind = "salesforce"` or `"rest"`: shape field → the API's field name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    fields: BTreeMap<String, String>,
    /// `kind = "rest"`: the templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rest: Option<super::target_plan::RestFile>,
    /// `kind = "integration"`: the system syncproof writes to (the integration's source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<Box<TargetFile>>,
    /// `kind = "integration"`: the system the integration writes to, where syncproof observes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<Box<TargetFile>>,
    /// `kind = "hubspot"`: an OAuth app instead of a token (`[target.oauth]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    oauth: Option<OAuthFile>,
    /// `kind = "hubspot"`: a PEM file of extra CA certificates to trust besides the web PKI
    /// roots (e.g. what `syncproof mock --tls --ca-out` wrote). Verification stays on.
    #[serde(skip_serializing_if = "Option::is_none")]
    ca_file: Option<String>,
    #[serde(default)]
    source: CrmFile,
    #[serde(default)]
    target: CrmFile,
    #[serde(default)]
    relay: RelayFile,
}

/// An OAuth app's credentials: each from an environment variable or a file (relative to the
/// plan), never from the plan itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OAuthFile {
    /// Default: `<base_url>/oauth/v1/token` (HubSpot's endpoint on the API host).
    #[serde(skip_serializing_if = "Option::is_none")]
    token_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret_file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token_env: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token_file: Option<String>,
}

fn default_id_property() -> String {
    "syncproof_id".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct CrmFile {
    burst_max: u32,
    burst_window: String,
    daily_max: u64,
    search_per_second: u32,
    error_rate: f64,
    commit_then_drop_rate: f64,
    latency: String,
    latency_sigma: f64,
    latency_max: String,
    search_lag: String,
    /// The share of webhook events the mock sends twice: the target's with `[verify] kind =
    /// "webhook"`, the source's with `[target.relay] mode = "webhook"`.
    webhook_duplicate_rate: f64,
}

impl Default for CrmFile {
    fn default() -> Self {
        CrmFile {
            burst_max: 190,
            burst_window: "10s".into(),
            daily_max: 625_000,
            search_per_second: 5,
            error_rate: 0.0,
            commit_then_drop_rate: 0.0,
            latency: "0ms".into(),
            latency_sigma: 0.5,
            latency_max: "2s".into(),
            search_lag: "0ms".into(),
            webhook_duplicate_rate: 0.0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RelayFile {
    lag: String,
    lag_sigma: f64,
    lag_max: String,
    loss_rate: f64,
    duplicate_rate: f64,
    drop_rates: BTreeMap<String, f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    truncate_at: Option<usize>,
    poll_interval: String,
    write_interval: String,
    batch_size: usize,
    max_retries: u32,
    /// How the relay retries a failed write: "exponential" (with jitter, honouring
    /// Retry-After), "immediate" (ignoring it) or "none".
    retry: String,
    /// How the relay learns of new source records: "poll" (tails the source) or "webhook"
    /// (the source posts signed v3 webhooks; the relay reads the records with batch/read).
    mode: String,
    /// How it writes them: "create" (batch/create; a replayed write is a second copy) or
    /// "upsert" (batch/upsert by the id property; a replayed write updates the first).
    write: String,
}

impl Default for RelayFile {
    fn default() -> Self {
        RelayFile {
            lag: "0ms".into(),
            lag_sigma: 0.6,
            lag_max: "5s".into(),
            loss_rate: 0.0,
            duplicate_rate: 0.0,
            drop_rates: BTreeMap::new(),
            truncate_at: None,
            poll_interval: "100ms".into(),
            write_interval: "100ms".into(),
            batch_size: 100,
            max_retries: 8,
            retry: "exponential".into(),
            mode: "poll".into(),
            write: "create".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadFile {
    rate: String,
    #[serde(default = "default_batch")]
    batch_size: usize,
    #[serde(default = "default_linger")]
    linger: String,
    #[serde(default = "default_concurrency")]
    concurrency: usize,
    #[serde(default = "default_timeout")]
    timeout: String,
    /// Simulated seconds per real second (built-in or loopback mock targets only).
    #[serde(default = "default_clock_speed")]
    clock_speed: f64,
    /// How the rate changes over the run; empty: `rate` throughout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    stages: Vec<super::stages::StageFile>,
    /// A client-side limit on write calls (e.g. the contract's "19/s"), and its burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    limit_burst: Option<u32>,
    /// The create/update/delete mix; absent: creates only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mix: Option<MixFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct MixFile {
    create: f64,
    update: f64,
    delete: f64,
}

impl Default for MixFile {
    fn default() -> Self {
        MixFile {
            create: 0.0,
            update: 0.0,
            delete: 0.0,
        }
    }
}

fn default_batch() -> usize {
    100
}
fn default_linger() -> String {
    "100ms".into()
}
fn default_concurrency() -> usize {
    8
}
fn default_timeout() -> String {
    "10s".into()
}
fn default_clock_speed() -> f64 {
    1.0
}

/// The fastest clock a plan may ask for: at 100,000× one real millisecond is 100 simulated
/// seconds, past which loopback round trips alone would swamp any latency being measured.
pub const MAX_CLOCK_SPEED: f64 = 100_000.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RetryFile {
    max_attempts: u32,
    base_delay: String,
    max_delay: String,
    honor_retry_after: bool,
}

impl Default for RetryFile {
    fn default() -> Self {
        RetryFile {
            max_attempts: 6,
            base_delay: "100ms".into(),
            max_delay: "10s".into(),
            honor_retry_after: true,
        }
    }
}

/// Knobs of one built-in mock CRM.
#[derive(Debug, Clone, PartialEq)]
pub struct CrmKnobs {
    pub burst_max: u32,
    pub burst_window: Duration,
    pub daily_max: u64,
    pub search_per_second: u32,
    pub error_rate: f64,
    /// Share of successful writes that commit, then drop the connection before the body.
    pub commit_then_drop_rate: f64,
    pub latency: Duration,
    pub latency_sigma: f64,
    pub latency_max: Duration,
    pub search_lag: Duration,
    pub webhook_duplicate_rate: f64,
}

/// The reference relay's defects.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayPlan {
    pub lag: Duration,
    pub lag_sigma: f64,
    pub lag_max: Duration,
    pub loss_rate: f64,
    pub duplicate_rate: f64,
    pub drop_rates: BTreeMap<String, f64>,
    pub truncate_at: Option<usize>,
    pub poll_interval: Duration,
    pub write_interval: Duration,
    pub batch_size: usize,
    pub max_retries: u32,
    pub retry: syncproof_mocks::RelayRetry,
    pub mode: syncproof_mocks::RelayMode,
    pub write: syncproof_mocks::RelayWrite,
}

/// How records are sent.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    /// The open-loop rate (with `closed_loop`, a placeholder the schedule never uses).
    pub rate: Rate,
    /// `rate = "max"`: no schedule; each of `concurrency` connections sends its next batch as
    /// soon as its previous call is answered, so the run goes as fast as client and target
    /// allow. A record's intended time is the moment a connection takes it, so latency is
    /// service time: for finding a ceiling, not for judging latency under a given load.
    pub closed_loop: bool,
    pub batch_size: usize,
    /// Longest a record waits for its batch to fill.
    pub linger: Duration,
    pub concurrency: usize,
    /// HTTP timeout per call, in real time (a timeout guards the process, not the simulation).
    pub timeout: Duration,
    /// Simulated seconds per real second: every duration of the plan (rate, linger, retry
    /// back-off, verification windows) and of the built-in mock runs on this clock.
    pub clock_speed: f64,
    /// How the rate changes over the run (empty: `rate` throughout).
    pub stages: Vec<super::Stage>,
    /// Client-side limit on write calls: at most this rate, in bursts of at most the count.
    pub limit: Option<(Rate, u32)>,
    /// `[load] mix`: creates, updates and deletes on one schedule; `None`: creates only.
    pub mix: Option<super::Mix>,
}

/// How the target is observed.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyPlan {
    pub id_property: String,
    pub poll_interval: Duration,
    /// A record not seen this long after its write settled is lost.
    pub window: Duration,
    pub read_rate: Rate,
    pub search_rate: Rate,
    /// `[verify] kind`: read-back, search, webhook or postgres.
    pub method: VerifyMethod,
}

/// A credential: readable by the code that sends it, invisible to `Debug` and never serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where the records go and where they are observed.
#[derive(Debug, Clone, PartialEq)]
pub enum Topology {
    /// Integration PoC against the built-in mock: write to the source mock, the reference relay
    /// moves records to the target mock, observe the target.
    MockIntegration,
    /// API PoC: write to one API and read it back there, authenticated by `credential`,
    /// trusting the web PKI roots plus `ca_pem` (the plan's `ca_file`).
    ApiPoc {
        base_url: String,
        credential: super::Credential,
        ca_pem: Option<Vec<u8>>,
    },
    /// Integration PoC against systems that outlive the harness (vendors, sandboxes, or
    /// `syncproof mock --integration`): write to `from`, observe `to`.
    Integration { from: Endpoint, to: Endpoint },
}

/// One real system: where it is, the credential it takes and the extra CA it is trusted by.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub base_url: String,
    pub credential: super::Credential,
    pub ca_pem: Option<Vec<u8>>,
}

/// A validated plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub seed: u64,
    pub records: u64,
    pub shape: Arc<Shape>,
    /// The SLA file the plan names, read but not yet parsed (the SLA stage parses it).
    pub sla: Source,
    /// `--shard K/N`: this run sends only its slice of the record indices.
    pub shard: Option<(u64, u64)>,
    pub topology: Topology,
    /// The API of the system syncproof reads back and reconciles (HubSpot for the built-in
    /// mock; `[target.to]`'s for an integration PoC).
    pub dialect: super::DialectPlan,
    /// The API of the system syncproof writes to: `dialect` but for an integration PoC, whose
    /// `[target.from]` may speak another (HubSpot to Salesforce, say).
    pub write_dialect: super::DialectPlan,
    pub source: CrmKnobs,
    pub target: CrmKnobs,
    pub relay: RelayPlan,
    pub load: LoadPlan,
    pub retry: RetryPolicy,
    pub verify: VerifyPlan,
    /// The effective plan as TOML (overrides applied), for the run directory: it names the
    /// run directory's own copies `shape.toml` and `sla.toml`, so a run directory is complete
    /// in itself (`run --resume` and an auditor need nothing else).
    pub effective_toml: String,
    /// The shape file's text, copied into the run directory as `shape.toml`.
    pub shape_text: String,
    /// How often (real time) the run makes what it measured durable: closes its event segment
    /// and writes `checkpoint.json`. A crash loses at most this much, which a resume measures
    /// again.
    pub checkpoint_every: Duration,
}

/// Names of the copies of the shape and SLA inside a run directory.
pub const RUN_DIR_SHAPE: &str = "shape.toml";
pub const RUN_DIR_SLA: &str = "sla.toml";

/// Values given on the command line, applied over the plan file.
#[derive(Debug, Clone, Default)]
pub struct PlanOverrides {
    pub records: Option<u64>,
    pub rate: Option<String>,
    pub seed: Option<u64>,
    pub loss_rate: Option<f64>,
    pub duplicate_rate: Option<f64>,
    pub error_rate: Option<f64>,
    pub drop_rates: Vec<(String, f64)>,
    pub lag: Option<String>,
    pub sla: Option<Source>,
    pub shard: Option<(u64, u64)>,
    pub clock_speed: Option<f64>,
}

impl Plan {
    /// The record indices this run sends: all of them, or its shard's slice.
    pub fn range(&self) -> std::ops::Range<u64> {
        match self.shard {
            Some(shard) => crate::units::shard_range(self.records, shard),
            None => 0..self.records,
        }
    }

    /// The embedded demo plan with its embedded shape and SLA.
    pub fn demo(overrides: &PlanOverrides) -> Result<Plan, ConfigError> {
        Plan::load(
            &Source::embedded("datasets/plans/demo.toml", DEMO_PLAN),
            overrides,
        )
    }

    /// Parses, applies overrides, validates.
    pub fn load(src: &Source, overrides: &PlanOverrides) -> Result<Plan, ConfigError> {
        let mut file: PlanFile = src.parse()?;
        apply(&mut file, overrides);
        let flag = |name: &str, e: &dyn std::fmt::Display| ConfigError {
            file: "command line".into(),
            line: None,
            message: format!("--{name}: {e}"),
        };
        let shape_src = referenced(src, &file.shape, "shape")?;
        let shape = Arc::new(Shape::from_source(&shape_src)?);
        let sla = match &overrides.sla {
            Some(s) => s.clone(),
            None => referenced(src, &file.sla, "sla")?,
        };
        let dur = |key: &str, v: &str| parse_duration(v).map_err(|e| src.invalid(key, e));
        let frac = |key: &str, v: f64| fraction(v).map_err(|e| src.invalid(key, e));
        let crm = |prefix: &str, c: &CrmFile| -> Result<CrmKnobs, ConfigError> {
            Ok(CrmKnobs {
                burst_max: c.burst_max.max(1),
                burst_window: dur(&format!("{prefix}.burst_window"), &c.burst_window)?,
                daily_max: c.daily_max,
                search_per_second: c.search_per_second.max(1),
                error_rate: frac(&format!("{prefix}.error_rate"), c.error_rate)?,
                commit_then_drop_rate: frac(
                    &format!("{prefix}.commit_then_drop_rate"),
                    c.commit_then_drop_rate,
                )?,
                latency: dur(&format!("{prefix}.latency"), &c.latency)?,
                latency_sigma: c.latency_sigma.max(0.0),
                latency_max: dur(&format!("{prefix}.latency_max"), &c.latency_max)?,
                search_lag: dur(&format!("{prefix}.search_lag"), &c.search_lag)?,
                webhook_duplicate_rate: frac(
                    &format!("{prefix}.webhook_duplicate_rate"),
                    c.webhook_duplicate_rate,
                )?,
            })
        };
        let r = &file.target.relay;
        let mut drop_rates = BTreeMap::new();
        for (field, rate) in &r.drop_rates {
            if shape.field(field).is_none() {
                let names = shape.field_names();
                let hint = suggest_closest(field, &names)
                    .map(|s| format!("did you mean \"{s}\"?"))
                    .unwrap_or_else(|| format!("fields: {}", names.join(", ")));
                let message = format!("no field \"{field}\" in the shape ({hint})");
                return Err(if overrides.drop_rates.iter().any(|(f, _)| f == field) {
                    flag("drop-rate", &message)
                } else {
                    src.invalid("target.relay.drop_rates", message)
                });
            }
            drop_rates.insert(field.clone(), frac("target.relay.drop_rates", *rate)?);
        }
        let relay = RelayPlan {
            lag: dur("target.relay.lag", &r.lag)?,
            lag_sigma: r.lag_sigma.max(0.0),
            lag_max: dur("target.relay.lag_max", &r.lag_max)?,
            loss_rate: frac("target.relay.loss_rate", r.loss_rate)?,
            duplicate_rate: frac("target.relay.duplicate_rate", r.duplicate_rate)?,
            drop_rates,
            truncate_at: r.truncate_at,
            poll_interval: dur("target.relay.poll_interval", &r.poll_interval)?,
            write_interval: dur("target.relay.write_interval", &r.write_interval)?,
            batch_size: r.batch_size.clamp(1, 100),
            max_retries: r.max_retries,
            retry: r
                .retry
                .parse()
                .map_err(|e: String| src.invalid("target.relay.retry", e))?,
            mode: r
                .mode
                .parse()
                .map_err(|e: String| src.invalid("target.relay.mode", e))?,
            write: r
                .write
                .parse()
                .map_err(|e: String| src.invalid("target.relay.write", e))?,
        };
        let (write_dialect, dialect) = match (&file.target.from, &file.target.to) {
            (Some(from), Some(to)) if file.target.kind == TargetKind::Integration => (
                dialect_of(src, from, "target.from", &shape)?,
                dialect_of(src, to, "target.to", &shape)?,
            ),
            _ => {
                let d = dialect_of(src, &file.target, "target", &shape)?;
                (d.clone(), d)
            }
        };
        let l = &file.load;
        let max_batch = write_dialect.max_batch();
        if !(1..=max_batch).contains(&l.batch_size) {
            return Err(src.invalid(
                "load.batch_size",
                format!("must be 1..={max_batch} (the cap of one write call to the system syncproof writes to)"),
            ));
        }
        if l.concurrency == 0 {
            return Err(src.invalid("load.concurrency", "must be at least 1"));
        }
        let closed_loop = l.rate.trim() == "max";
        if closed_loop && !l.stages.is_empty() {
            return Err(src.invalid(
                "load.stages",
                "stages shape an open-loop rate; with rate = \"max\" there is none (remove the stages, or give rate a number such as \"500/s\")",
            ));
        }
        let load = LoadPlan {
            rate: if closed_loop {
                Rate::per_second(1.0).expect("1/s is a rate")
            } else {
                l.rate.parse().map_err(|e| {
                    src.invalid(
                        "load.rate",
                        format!(
                            "{e} (or \"max\": as fast as {} connections go)",
                            l.concurrency
                        ),
                    )
                })?
            },
            closed_loop,
            batch_size: l.batch_size,
            linger: dur("load.linger", &l.linger)?,
            concurrency: l.concurrency,
            timeout: dur("load.timeout", &l.timeout)?,
            clock_speed: l.clock_speed,
            stages: l
                .stages
                .iter()
                .enumerate()
                .map(|(i, f)| super::Stage::from_file(src, i, f))
                .collect::<Result<_, _>>()?,
            limit: match &l.limit {
                None => None,
                Some(text) => {
                    let rate: Rate = text.parse().map_err(|e| src.invalid("load.limit", e))?;
                    let burst = l.limit_burst.unwrap_or(1);
                    if burst == 0 {
                        return Err(src.invalid("load.limit_burst", "must be at least 1"));
                    }
                    Some((rate, burst))
                }
            },
            mix: match &l.mix {
                None => None,
                Some(m) => Some(
                    super::Mix::new(m.create, m.update, m.delete)
                        .map_err(|(key, e)| src.invalid("load.mix", format!("{key}: {e}")))?,
                ),
            },
        };
        if !(l.clock_speed.is_finite() && (1.0..=MAX_CLOCK_SPEED).contains(&l.clock_speed)) {
            let message = format!(
                "{} is not a clock speed: write a number from 1 (real time) to {MAX_CLOCK_SPEED}",
                l.clock_speed
            );
            return Err(if overrides.clock_speed.is_some() {
                flag("clock-speed", &message)
            } else {
                src.invalid("load.clock_speed", message)
            });
        }
        if file.retry.max_attempts == 0 {
            return Err(src.invalid(
                "retry.max_attempts",
                "must be at least 1 (the first attempt counts)",
            ));
        }
        let retry = RetryPolicy {
            max_attempts: file.retry.max_attempts,
            base_delay: dur("retry.base_delay", &file.retry.base_delay)?,
            max_delay: dur("retry.max_delay", &file.retry.max_delay)?,
            honor_retry_after: file.retry.honor_retry_after,
        };
        let v = &file.verify;
        let verify = VerifyPlan {
            id_property: file.target.id_property.clone(),
            poll_interval: dur("verify.poll_interval", &v.poll_interval)?,
            window: dur("verify.window", &v.window)?,
            read_rate: v
                .read_rate
                .parse()
                .map_err(|e| src.invalid("verify.read_rate", e))?,
            search_rate: v
                .search_rate
                .parse()
                .map_err(|e| src.invalid("verify.search_rate", e))?,
            method: parse_method(src, v, &file.target.id_property, &shape.field_names())?,
        };
        if file.records == 0 {
            return Err(src.invalid("records", "must be at least 1"));
        }
        // Search polling and webhooks speak HubSpot's search API and webhook signature.
        if matches!(
            verify.method,
            VerifyMethod::Search { .. } | VerifyMethod::Webhook(_)
        ) && dialect != super::DialectPlan::Hubspot
        {
            return Err(src.invalid(
                "verify.kind",
                format!(
                    "\"{}\" watches a HubSpot target (its search API, its v3 webhook signature); a kind = \"{}\" target is watched by \"read-back\"",
                    verify.method.name(),
                    dialect.kind()
                ),
            ));
        }
        let topology = topology(src, &file.target)?;
        if let Some(mix) = &load.mix {
            check_mix(src, mix, &topology, &dialect, &verify, &shape, overrides)?;
            if load.closed_loop && (mix.update > 0.0 || mix.delete > 0.0) {
                return Err(src.invalid(
                    "load.mix",
                    "a mix interleaves its operations on the open-loop schedule; with rate =                      \"max\" there is none (give rate a number such as \"500/s\", or drop the mix)",
                ));
            }
        }
        let mut for_run_dir = file.clone();
        for_run_dir.shape = RUN_DIR_SHAPE.into();
        for_run_dir.sla = RUN_DIR_SLA.into();
        // File names (never contents) go into the run directory's plan, made absolute so a
        // resume from another directory finds them.
        absolute_file_names(src, &mut for_run_dir.target);
        for secret_file in [
            &mut for_run_dir.verify.url_file,
            &mut for_run_dir.verify.secret_file,
        ]
        .into_iter()
        .flatten()
        {
            let path = src.resolve(secret_file);
            *secret_file = std::fs::canonicalize(&path)
                .unwrap_or(path)
                .display()
                .to_string();
        }
        let urls: Vec<&str> = match &topology {
            Topology::MockIntegration => Vec::new(),
            Topology::ApiPoc { base_url, .. } => vec![base_url],
            Topology::Integration { from, to } => vec![&from.base_url, &to.base_url],
        };
        if let Some(base_url) = urls.into_iter().find(|u| !is_loopback(u))
            && l.clock_speed != 1.0
        {
            let message = format!(
                "{base_url} is not on loopback: only a mock (built-in, or `syncproof mock` on \
                 127.0.0.1) can run on a faster clock; a vendor's API runs in real time"
            );
            return Err(if overrides.clock_speed.is_some() {
                flag("clock-speed", &message)
            } else {
                src.invalid("load.clock_speed", message)
            });
        }
        Ok(Plan {
            effective_toml: toml::to_string_pretty(&for_run_dir).unwrap_or_default(),
            shape_text: shape_src.text.clone(),
            checkpoint_every: dur("checkpoint_every", &file.checkpoint_every)?
                .max(Duration::from_millis(10)),
            name: file.name.clone(),
            seed: file.seed,
            records: file.records,
            shape,
            sla,
            shard: overrides.shard,
            topology,
            dialect,
            write_dialect,
            source: crm("target.source", &file.target.source)?,
            target: crm("target.target", &file.target.target)?,
            relay,
            load,
            retry,
            verify,
        })
    }
}

/// A mix with updates or deletes needs what they are sent and checked with: an API PoC whose
/// dialect writes them, a read-back verification (it reads each operation's record) and, for
/// updates, the shape's update stream (which fields an update changes).
fn check_mix(
    src: &Source,
    mix: &super::Mix,
    topology: &Topology,
    dialect: &super::DialectPlan,
    verify: &VerifyPlan,
    shape: &Shape,
    overrides: &PlanOverrides,
) -> Result<(), ConfigError> {
    if mix.update == 0.0 && mix.delete == 0.0 {
        return Ok(());
    }
    let refuse = |message: &str| Err(src.invalid("load.mix", message));
    if !matches!(topology, Topology::ApiPoc { .. }) {
        return refuse(
            "updates and deletes are sent to an API PoC target (kind = \"hubspot\" or \
             \"salesforce\"); the \
             built-in mock integration and integration PoCs relay creates only: drop the mix, \
             or point the plan at one API",
        );
    }
    if matches!(dialect, super::DialectPlan::Rest(_)) {
        return refuse(
            "updates and deletes are written in HubSpot's and Salesforce's dialects so far; a \
             kind = \"rest\" target takes creates only: drop the mix",
        );
    }
    if !matches!(verify.method, VerifyMethod::ReadBack) {
        return refuse(&format!(
            "a mixed run is verified by kind = \"read-back\" (it reads each operation's record \
             for its latest version or its absence); [verify] kind = \"{}\" cannot tell",
            verify.method.name()
        ));
    }
    if overrides.shard.is_some() {
        return refuse(
            "a mixed run cannot be sharded yet (an update may touch a record another shard \
             creates): run it whole",
        );
    }
    if mix.update > 0.0 && shape.root().updates.is_none() {
        return refuse(&format!(
            "updates need the shape's update stream ([objects.updates] of \"{}\") to say which \
             fields an update changes: add it, or set update = 0",
            shape.object()
        ));
    }
    Ok(())
}

/// Makes every file name of `t` (token, CA, OAuth parts; `[target.from]`'s and `[target.to]`'s
/// too) absolute.
fn absolute_file_names(src: &Source, t: &mut TargetFile) {
    let own = [&mut t.token_file, &mut t.ca_file]
        .into_iter()
        .chain(t.oauth.iter_mut().flat_map(|o| {
            [
                &mut o.client_id_file,
                &mut o.client_secret_file,
                &mut o.refresh_token_file,
            ]
        }));
    for file in own.flatten() {
        let path = src.resolve(file);
        *file = std::fs::canonicalize(&path)
            .unwrap_or(path)
            .display()
            .to_string();
    }
    for system in [t.from.as_deref_mut(), t.to.as_deref_mut()]
        .into_iter()
        .flatten()
    {
        absolute_file_names(src, system);
    }
}

/// The API `t` speaks; `prefix` is where `t` sits in the plan (`target`, `target.from`,
/// `target.to`), so an error names the key the user wrote.
fn dialect_of(
    src: &Source,
    t: &TargetFile,
    prefix: &str,
    shape: &Shape,
) -> Result<super::DialectPlan, ConfigError> {
    let kind = match t.kind {
        TargetKind::MockIntegration => "mock-integration",
        TargetKind::Hubspot => "hubspot",
        TargetKind::Salesforce => "salesforce",
        TargetKind::Rest => "rest",
        TargetKind::Integration if prefix == "target" => {
            return Err(src.invalid(
                "target",
                "kind = \"integration\" needs a [target.from] table (the system syncproof writes \
                 to) and a [target.to] table (where the integration writes), each with its own \
                 kind, base_url and token (see datasets/plans/integration-poc.toml)",
            ));
        }
        TargetKind::Integration => "integration",
    };
    if prefix != "target" && matches!(kind, "mock-integration" | "integration") {
        return Err(src.invalid(
            &format!("{prefix}.kind"),
            "must be \"hubspot\", \"salesforce\" or \"rest\": one system of the integration",
        ));
    }
    super::DialectPlan::from_keys(
        src,
        kind,
        &super::target_plan::DialectKeys {
            api_version: t.api_version.as_deref(),
            object: t.object.as_deref(),
            external_id_field: t.external_id_field.as_deref(),
            fields: &t.fields,
            rest: t.rest.as_ref(),
        },
        shape,
    )
    .map_err(|e| rekey(src, e, prefix))
}

/// An error about `target.<key>` raised for the system at `prefix`, re-addressed to
/// `<prefix>.<key>`.
fn rekey(src: &Source, mut e: ConfigError, prefix: &str) -> ConfigError {
    if prefix != "target"
        && let Some(rest) = e.message.strip_prefix("target.")
    {
        let key = rest.split(':').next().unwrap_or(rest);
        let full = format!("{prefix}.{key}");
        e.line = crate::config::find_key_line(&src.text, &full).or(e.line);
        e.message = format!("{prefix}.{rest}");
    }
    e
}

/// The topology a plan's `[target]` names, with its credential read from the environment or a
/// file. The credential never enters the effective plan: only the variable or file name does.
fn topology(src: &Source, t: &TargetFile) -> Result<Topology, ConfigError> {
    if t.kind != TargetKind::Integration
        && let Some(key) = [
            ("target.from", t.from.is_some()),
            ("target.to", t.to.is_some()),
        ]
        .into_iter()
        .find_map(|(key, set)| set.then_some(key))
    {
        return Err(src.invalid(
            key,
            "is only for kind = \"integration\" (write to one system, observe another)",
        ));
    }
    let real_only = [
        ("target.base_url", t.base_url.is_some()),
        ("target.token_env", t.token_env.is_some()),
        ("target.token_file", t.token_file.is_some()),
        ("target.oauth", t.oauth.is_some()),
        ("target.ca_file", t.ca_file.is_some()),
    ];
    match t.kind {
        TargetKind::MockIntegration => {
            if let Some((key, _)) = real_only.iter().find(|(_, set)| *set) {
                return Err(src.invalid(
                    key,
                    "is only for a real target (kind = \"hubspot\", \"salesforce\", \"rest\" or \"integration\"); the built-in mock needs no URL or token",
                ));
            }
            Ok(Topology::MockIntegration)
        }
        TargetKind::Integration => {
            if let Some((key, _)) = real_only.iter().find(|(_, set)| *set) {
                return Err(src.invalid(
                    key,
                    "belongs in [target.from] or [target.to]: each system of an integration has its own URL and credential",
                ));
            }
            // Both are present: the dialects were read first.
            let (Some(from), Some(to)) = (&t.from, &t.to) else {
                return Err(src.invalid(
                    "target",
                    "kind = \"integration\" needs [target.from] and [target.to]",
                ));
            };
            Ok(Topology::Integration {
                from: endpoint(src, from, "target.from")?,
                to: endpoint(src, to, "target.to")?,
            })
        }
        TargetKind::Hubspot | TargetKind::Salesforce | TargetKind::Rest => {
            let Endpoint {
                base_url,
                credential,
                ca_pem,
            } = endpoint(src, t, "target")?;
            Ok(Topology::ApiPoc {
                base_url,
                credential,
                ca_pem,
            })
        }
    }
}

/// The URL, credential and extra CA of one real system, at `prefix` in the plan (`target`,
/// `target.from`, `target.to`).
fn endpoint(src: &Source, t: &TargetFile, prefix: &str) -> Result<Endpoint, ConfigError> {
    let key = |k: &str| format!("{prefix}.{k}");
    let example = match t.kind {
        TargetKind::Salesforce => {
            "kind = \"salesforce\" needs base_url = \"https://yourorg.my.salesforce.com\" (the instance URL, a sandbox's, or a mock's)"
        }
        TargetKind::Rest => {
            "kind = \"rest\" needs base_url = \"https://api.example.com\" (the API's root; paths are relative to it)"
        }
        _ => {
            "kind = \"hubspot\" needs base_url = \"https://api.hubapi.com\" (or a sandbox or mock URL)"
        }
    };
    let base_url = t
        .base_url
        .clone()
        .ok_or_else(|| src.invalid(&key("base_url"), example))?;
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(src.invalid(
            &key("base_url"),
            format!("{base_url:?} is not an http(s) URL"),
        ));
    }
    let credential = match (&t.token_env, &t.token_file, &t.oauth) {
        (None, None, Some(o)) => super::Credential::OAuth(oauth(src, o, &base_url, prefix)?),
        (_, _, Some(_)) => {
            return Err(src.invalid(
                &key("oauth"),
                format!("give token_env/token_file or [{prefix}.oauth], not both"),
            ));
        }
        (env, file, None) => super::Credential::Token(secret(
            src,
            &key("token"),
            env.as_deref(),
            file.as_deref(),
            match t.kind {
                TargetKind::Salesforce => "SALESFORCE_TOKEN",
                TargetKind::Rest => "API_TOKEN",
                _ => "HUBSPOT_TOKEN",
            },
        )?),
    };
    let ca_pem = match &t.ca_file {
        None => None,
        Some(file) => {
            let pem = std::fs::read(src.resolve(file)).map_err(|e| {
                src.invalid(
                    &key("ca_file"),
                    format!("cannot read {file}: {e} (the path is relative to the plan)"),
                )
            })?;
            super::tls::parse_ca_pem(&pem).map_err(|e| {
                src.invalid(&key("ca_file"), format!("{file} {e} (give the CA certificate in PEM, e.g. what `syncproof mock --tls --ca-out` wrote)"))
            })?;
            Some(pem)
        }
    };
    Ok(Endpoint {
        base_url,
        credential,
        ca_pem,
    })
}

/// One credential from `<key>_env` (an environment variable) or `<key>_file` (a file next to
/// the plan), exactly one of them, non-empty.
fn secret(
    src: &Source,
    key: &str,
    env: Option<&str>,
    file: Option<&str>,
    example: &str,
) -> Result<Secret, ConfigError> {
    let value = match (env, file) {
        (Some(var), None) => std::env::var(var).map_err(|_| {
            src.invalid(
                &format!("{key}_env"),
                format!("the environment variable {var} is not set (export it, or use {key}_file)"),
            )
        })?,
        (None, Some(file)) => std::fs::read_to_string(src.resolve(file))
            .map_err(|e| {
                src.invalid(
                    &format!("{key}_file"),
                    format!("cannot read {file}: {e} (the path is relative to the plan)"),
                )
            })?
            .trim()
            .to_string(),
        (Some(_), Some(_)) => {
            return Err(src.invalid(
                &format!("{key}_file"),
                format!("give {key}_env or {key}_file, not both"),
            ));
        }
        (None, None) => {
            return Err(src.invalid(
                key.rsplit_once('.').map_or(key, |(table, _)| table),
                format!(
                    "needs {short}_env = \"{example}\" or {short}_file = \"...\"{alternative} (credentials never go in the plan)",
                    short = key.rsplit('.').next().unwrap_or(key),
                            alternative = if key.ends_with(".token") { format!(", or a [{}.oauth] table", key.trim_end_matches(".token")) } else { String::new() },
                ),
            ));
        }
    };
    if value.trim().is_empty() {
        return Err(src.invalid(key, "the credential is empty"));
    }
    Ok(Secret::new(value.trim()))
}

/// `[target.oauth]`: the three credentials and the token endpoint.
fn oauth(
    src: &Source,
    o: &OAuthFile,
    base_url: &str,
    prefix: &str,
) -> Result<super::OAuthCredentials, ConfigError> {
    let key = |k: &str| format!("{prefix}.oauth.{k}");
    let token_url = o
        .token_url
        .clone()
        .unwrap_or_else(|| format!("{}/oauth/v1/token", base_url.trim_end_matches('/')));
    if reqwest::Url::parse(&token_url).is_err() {
        return Err(src.invalid(&key("token_url"), format!("{token_url:?} is not a URL")));
    }
    Ok(super::OAuthCredentials {
        token_url,
        client_id: secret(
            src,
            &key("client_id"),
            o.client_id_env.as_deref(),
            o.client_id_file.as_deref(),
            "HUBSPOT_CLIENT_ID",
        )?,
        client_secret: secret(
            src,
            &key("client_secret"),
            o.client_secret_env.as_deref(),
            o.client_secret_file.as_deref(),
            "HUBSPOT_CLIENT_SECRET",
        )?,
        refresh_token: secret(
            src,
            &key("refresh_token"),
            o.refresh_token_env.as_deref(),
            o.refresh_token_file.as_deref(),
            "HUBSPOT_REFRESH_TOKEN",
        )?,
    })
}

/// True for an `http(s)://` URL whose host is 127.0.0.0/8, `::1` or `localhost`.
fn is_loopback(url: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn apply(file: &mut PlanFile, o: &PlanOverrides) {
    if let Some(v) = o.clock_speed {
        file.load.clock_speed = v;
    }
    if let Some(v) = o.records {
        file.records = v;
    }
    if let Some(v) = &o.rate {
        file.load.rate = v.clone();
    }
    if let Some(v) = o.seed {
        file.seed = v;
    }
    let relay = &mut file.target.relay;
    if let Some(v) = o.loss_rate {
        relay.loss_rate = v;
    }
    if let Some(v) = o.duplicate_rate {
        relay.duplicate_rate = v;
    }
    if let Some(v) = &o.lag {
        relay.lag = v.clone();
    }
    for (field, rate) in &o.drop_rates {
        relay.drop_rates.insert(field.clone(), *rate);
    }
    if let Some(v) = o.error_rate {
        file.target.source.error_rate = v;
        file.target.target.error_rate = v;
    }
}

/// Reads a file the plan refers to: from disk next to the plan, or among the embedded files.
fn referenced(plan: &Source, path: &str, key: &str) -> Result<Source, ConfigError> {
    if plan.base_dir.is_some() {
        let full = plan.resolve(path);
        return Source::read(&full).map_err(|e| {
            plan.invalid(
                key,
                format!("{} (the path is relative to the plan file)", e.message),
            )
        });
    }
    let embedded = [
        ("shapes/contacts.toml", DEMO_SHAPE),
        ("sla/demo.toml", DEMO_SLA),
    ];
    embedded
        .iter()
        .find(|(name, _)| path.ends_with(name))
        .map(|(name, text)| Source::embedded(&format!("datasets/{name}"), text))
        .ok_or_else(|| plan.invalid(key, format!("no embedded file {path:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_demo_plan_is_valid_and_overridable() {
        let plan = Plan::demo(&PlanOverrides::default()).unwrap();
        assert!(plan.records > 0);
        let o = PlanOverrides {
            records: Some(10),
            rate: Some("50/s".into()),
            drop_rates: vec![("phone".into(), 0.05)],
            error_rate: Some(0.1),
            ..PlanOverrides::default()
        };
        let plan = Plan::demo(&o).unwrap();
        assert_eq!(plan.records, 10);
        assert_eq!(plan.load.rate.as_per_second(), 50.0);
        assert_eq!(plan.relay.drop_rates["phone"], 0.05);
        assert_eq!(plan.source.error_rate, 0.1);
        assert!(plan.effective_toml.contains("records = 10"));
    }

    #[test]
    fn bad_overrides_name_the_flag() {
        let o = PlanOverrides {
            drop_rates: vec![("phnoe".into(), 0.05)],
            ..Default::default()
        };
        let err = Plan::demo(&o).unwrap_err().to_string();
        assert!(
            err.contains("--drop-rate") && err.contains("did you mean \"phone\""),
            "{err}"
        );
        let o = PlanOverrides {
            loss_rate: Some(5.0),
            ..Default::default()
        };
        let err = Plan::demo(&o).unwrap_err().to_string();
        assert!(
            err.contains("loss_rate") && err.contains("not a fraction"),
            "{err}"
        );
    }

    fn demo_with_relay(extra: &str) -> Result<Plan, ConfigError> {
        let text = DEMO_PLAN.replace("[target.relay]", &format!("[target.relay]\n{extra}"));
        Plan::load(
            &Source::embedded("datasets/plans/demo.toml", &text),
            &PlanOverrides::default(),
        )
    }

    #[test]
    fn relay_mode_and_write_default_to_poll_and_create_and_bad_ones_name_their_key() {
        use syncproof_mocks::{RelayMode, RelayWrite};
        let plan = demo_with_relay("").unwrap();
        assert_eq!(
            (plan.relay.mode, plan.relay.write),
            (RelayMode::Poll, RelayWrite::Create)
        );
        let plan = demo_with_relay("mode = \"webhook\"\nwrite = \"upsert\"").unwrap();
        assert_eq!(
            (plan.relay.mode, plan.relay.write),
            (RelayMode::Webhook, RelayWrite::Upsert)
        );
        assert!(plan.effective_toml.contains("mode = \"webhook\""));
        let err = demo_with_relay("mode = \"push\"").unwrap_err().to_string();
        assert!(
            err.contains("target.relay.mode") && err.contains("poll, webhook"),
            "{err}"
        );
        let err = demo_with_relay("write = \"merge\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("target.relay.write") && err.contains("create, upsert"),
            "{err}"
        );
    }

    fn demo_with_load(extra: &str) -> Result<Plan, ConfigError> {
        let text = DEMO_PLAN.replace("[retry]", &format!("{extra}\n\n[retry]"));
        Plan::load(
            &Source::embedded("datasets/plans/demo.toml", &text),
            &PlanOverrides::default(),
        )
    }

    #[test]
    fn load_stages_parse_and_bad_ones_name_their_key() {
        let plan = demo_with_load(
            "[[load.stages]]\nshape = \"ramp\"\nduration = \"10s\"\nrate = \"10/s\"\nto = \"200/s\"\n\n\
             [[load.stages]]\nshape = \"burst\"\nduration = \"1m\"\nrate = \"50/s\"\n\
             burst_rate = \"500/s\"\nevery = \"20s\"\nburst_for = \"2s\"",
        )
        .unwrap();
        assert_eq!(plan.load.stages.len(), 2);
        assert!(plan.effective_toml.contains("[[load.stages]]"));
        let err = demo_with_load(
            "[[load.stages]]\nshape = \"rmap\"\nduration = \"10s\"\nrate = \"10/s\"",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("load.stages[0].shape") && err.contains("did you mean \"ramp\""),
            "{err}"
        );
        let err = demo_with_load(
            "[[load.stages]]\nshape = \"ramp\"\nduration = \"10s\"\nrate = \"10/s\"",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("needs to = "), "{err}");
        let err = demo_with_load(
            "[[load.stages]]\nshape = \"diurnal\"\nduration = \"1d\"\nrate = \"10/s\"\namplitude = 1.5",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("amplitude"), "{err}");
    }
}
