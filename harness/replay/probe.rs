//! Probing a target's rate limits: what the vendor *does*, next to what its headers *say*.
//!
//! Three phases, each bounded in calls and time:
//! 1. **Burst**: cheap reads (`GET /crm/v3/objects/contacts?limit=1`, or the target dialect's own,
//!    see [`crate::replay::DialectPlan::probe_path`]) with a few in flight, as
//!    fast as the target answers, until the first throttle (429, or 403 `REQUEST_LIMIT_EXCEEDED`).
//!    The calls admitted among those sent until then are the effective burst.
//! 2. **Retry-After honesty**: wait exactly what `Retry-After` said, send one call. Admitted:
//!    honest. Throttled again: dishonest, and the next phase measures how long it really takes.
//! 3. **Recovery**: poll until a call is admitted; the time since the first throttle is the
//!    effective window.
//!
//! Everything is measured on the client's clock; flags compare the observations with the
//! headers (`X-HubSpot-RateLimit-Max`, `-Interval-Milliseconds`) and say where they disagree.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Mutex;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{CallResponse, CrmClient, RateHeaders};
use crate::measure::LatencyHistogram;

/// HubSpot's cheap read, the default.
pub const PROBE_PATH: &str = "/crm/v3/objects/contacts?limit=1";

/// Bounds of a probe.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// Calls in all phases together.
    pub max_calls: u64,
    /// Wall time in all phases together.
    pub max_duration: Duration,
    /// Calls in flight during the burst phase.
    pub concurrency: usize,
    /// Gap between recovery polls.
    pub poll: Duration,
    /// The cheap read each probe call sends (relative to the base URL).
    pub path: String,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            max_calls: 2_000,
            max_duration: Duration::from_secs(90),
            concurrency: 8,
            poll: Duration::from_millis(100),
            path: PROBE_PATH.to_string(),
        }
    }
}

/// What a probe found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProbeReport {
    pub calls: u64,
    /// Calls admitted among those sent before the first throttled answer arrived (the
    /// effective burst).
    pub admitted_before_throttle: Option<u64>,
    /// Time from the first call to the first throttled answer.
    pub first_throttle_after_ms: Option<f64>,
    pub throttle_status: Option<u16>,
    /// `policyName` (HubSpot) or `errorCode` (Salesforce) of the first throttled answer.
    pub throttle_policy: Option<String>,
    /// `Retry-After` of the first throttled answer, in seconds.
    pub retry_after_s: Option<f64>,
    /// A call sent exactly when `Retry-After` expired was admitted.
    pub retry_after_honest: Option<bool>,
    /// First throttled answer → first admitted call after it.
    pub recovery_ms: Option<f64>,
    /// Admitted calls per second during the burst phase.
    pub burst_rate_per_s: f64,
    /// Service time of admitted calls, milliseconds.
    pub latency_p50_ms: f64,
    pub latency_p95_ms: f64,
    /// The rate-limit headers of the last admitted call before the throttle.
    pub headers: RateHeaders,
    /// Other statuses seen (transient errors), by status.
    pub other_statuses: std::collections::BTreeMap<u16, u64>,
    /// Where observation and headers disagree, or the probe could not decide.
    pub flags: Vec<String>,
}

fn is_throttle(r: &CallResponse) -> bool {
    r.status == 429
        || (r.status == 403
            && r.body
                .value()
                .is_some_and(|b| b.to_string().contains("REQUEST_LIMIT_EXCEEDED")))
}

fn policy(r: &CallResponse) -> Option<String> {
    let body = r.body.value()?;
    let direct = body.get("policyName").or_else(|| body.get("errorCode"));
    let first = body.get(0).and_then(|e| e.get("errorCode"));
    direct.or(first)?.as_str().map(str::to_string)
}

struct Burst {
    admitted: u64,
    calls: u64,
    first_throttle: Option<(Instant, CallResponse)>,
    headers: RateHeaders,
    latency: LatencyHistogram,
    other: std::collections::BTreeMap<u16, u64>,
}

/// Probes `client`'s target within `options`' bounds.
pub async fn probe_limits(client: &CrmClient, options: &ProbeOptions) -> ProbeReport {
    let started = Instant::now();
    let deadline = started + options.max_duration;
    // A tokio Mutex: workers hold it only to book a result, but across no await of a call.
    let state = Arc::new(Mutex::new(Burst {
        admitted: 0,
        calls: 0,
        first_throttle: None,
        headers: RateHeaders::default(),
        latency: LatencyHistogram::default(),
        other: Default::default(),
    }));
    let mut workers = JoinSet::new();
    for _ in 0..options.concurrency.max(1) {
        let (client, state, max_calls) = (client.clone(), Arc::clone(&state), options.max_calls);
        let path = options.path.clone();
        workers.spawn(async move {
            loop {
                {
                    let s = state.lock().await;
                    if s.first_throttle.is_some()
                        || s.calls >= max_calls
                        || Instant::now() >= deadline
                    {
                        return;
                    }
                }
                let sent = Instant::now();
                let response = client.get(&path).await;
                let done = Instant::now();
                let mut s = state.lock().await;
                s.calls += 1;
                if is_throttle(&response) {
                    if s.first_throttle.is_none() {
                        s.first_throttle = Some((done, response));
                    }
                } else if (200..300).contains(&response.status) {
                    // Every call of this phase was sent before the first throttle was seen; with
                    // several in flight, a 429 can arrive before earlier calls' 200s.
                    s.admitted += 1;
                    s.headers = response.limits;
                    s.latency.record(done - sent);
                } else {
                    *s.other.entry(response.status).or_default() += 1;
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let mut burst = Arc::try_unwrap(state)
        .map(Mutex::into_inner)
        .unwrap_or_else(|_| unreachable!("every worker has finished"));
    let mut report = ProbeReport {
        latency_p50_ms: burst.latency.quantile_ms(0.5),
        latency_p95_ms: burst.latency.quantile_ms(0.95),
        headers: burst.headers,
        ..ProbeReport::default()
    };
    let Some((throttled_at, first)) = burst.first_throttle.take() else {
        report.calls = burst.calls;
        report.other_statuses = burst.other;
        report.burst_rate_per_s = burst.admitted as f64 / started.elapsed().as_secs_f64().max(1e-9);
        report.flags.push(format!(
            "no throttling within {} calls and {:?}: the limit is above what the probe sent (raise --max-calls or --concurrency)",
            burst.calls, options.max_duration
        ));
        return report;
    };
    report.admitted_before_throttle = Some(burst.admitted);
    report.first_throttle_after_ms = Some((throttled_at - started).as_secs_f64() * 1000.0);
    report.burst_rate_per_s =
        burst.admitted as f64 / (throttled_at - started).as_secs_f64().max(1e-9);
    report.throttle_status = Some(first.status);
    report.throttle_policy = policy(&first);
    report.retry_after_s = first.retry_after.map(|d| d.as_secs_f64());

    let mut calls = burst.calls;
    let mut recovered: Option<Instant> = None;
    if let Some(wait) = first.retry_after {
        tokio::time::sleep_until(throttled_at + wait).await;
        let response = client.get(&options.path).await;
        calls += 1;
        let honest = !is_throttle(&response);
        report.retry_after_honest = Some(honest);
        if honest {
            recovered = Some(Instant::now());
        }
    }
    while recovered.is_none() && calls < options.max_calls && Instant::now() < deadline {
        tokio::time::sleep(options.poll).await;
        let response = client.get(&options.path).await;
        calls += 1;
        if !is_throttle(&response) && (200..300).contains(&response.status) {
            recovered = Some(Instant::now());
        }
    }
    report.recovery_ms = recovered.map(|at| (at - throttled_at).as_secs_f64() * 1000.0);
    report.calls = calls;
    report.other_statuses = burst.other;
    flag(&mut report, first.retry_after);
    report
}

fn flag(report: &mut ProbeReport, retry_after: Option<Duration>) {
    let flags = &mut report.flags;
    if let (Some(admitted), Some(max)) = (report.admitted_before_throttle, report.headers.burst_max)
    {
        if admitted > max {
            flags.push(format!("admitted {admitted} calls before throttling, more than X-HubSpot-RateLimit-Max {max}"));
        } else if admitted + max / 10 < max {
            flags.push(format!(
                "throttled after {admitted} calls, well below X-HubSpot-RateLimit-Max {max} (another client shares the quota, or the header overstates it)"
            ));
        }
    }
    match (report.retry_after_honest, retry_after) {
        (Some(false), Some(wait)) => flags.push(format!(
            "Retry-After is dishonest: a call sent after the {:.1} s it asked for was throttled again",
            wait.as_secs_f64()
        )),
        (None, None) => flags.push("the throttled answer carried no Retry-After: clients must guess their back-off".into()),
        _ => {}
    }
    if let (Some(recovery), Some(interval)) = (report.recovery_ms, report.headers.interval_ms)
        && recovery > interval as f64 * 1.5
    {
        flags.push(format!(
            "recovery took {recovery:.0} ms, longer than the {interval} ms window the headers announce"
        ));
    }
    if report.recovery_ms.is_none() {
        flags.push("the target did not admit a call again within the probe's bounds".into());
    }
}
