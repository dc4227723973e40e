//! The whole loop, wired: validate the inputs, generate the records, start the built-in mock
//! integration, replay on the open-loop schedule while reading the target back, reconcile,
//! judge, and write the run directory. This is what `demo` and `run` call; a library user can
//! call [`execute`] the same way.
//!
//! Bad input is refused before anything is written. A run that fails part-way leaves its
//! events and a `FAILED` note, never a `summary.json` that could pass for a finished run.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Instant, SystemTime};

use serde_json::{Value, json};
use syncproof_mocks::{CrmConfig, Integration, IntegrationConfig, LogNormal, RelayKnobs};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::ConfigError;
use crate::generate::{Generator, RecordWriter};
use crate::measure::{EventLog, Ledger, Message, RunClock};
use crate::parquet_out::ParquetOutError;
use crate::quality::Scorecard;
use crate::quality::fuzzy::NearDuplicates;
use crate::replay::{CrmClient, CrmKnobs, InFlight, Plan, ReplayContext, Topology, replay};
use crate::report::{ReportError, RunInfo, Summary, write_reports};
use crate::sla::{Metrics, SlaSpec, judge};
use crate::verify::{ReconcileError, VerifyContext, observe, reconcile};

/// Where the run directory goes and how chatty the run is.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--out DIR`; otherwise `runs/<run-id>/` under the current directory.
    pub out: Option<PathBuf>,
    /// Print progress lines to stderr.
    pub progress: bool,
}

/// A finished run.
#[derive(Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub summary: Summary,
}

/// Why a run did not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The user's input is wrong; nothing was run.
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{path}: {message}")]
    OutDir { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Parquet(#[from] ParquetOutError),
    #[error("cannot start the built-in mock integration on loopback: {0}")]
    Mock(#[source] std::io::Error),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl RunError {
    /// Bad input (exit 2) as opposed to a run that failed (exit 3).
    pub fn is_bad_input(&self) -> bool {
        matches!(self, RunError::Config(_) | RunError::OutDir { .. })
    }
}

const HARNESS_TOKEN: &str = "syncproof-harness";
const RELAY_TOKEN: &str = "syncproof-relay";

/// Runs a plan against the built-in mock integration and writes the run directory.
pub async fn execute(
    plan: Plan,
    options: RunOptions,
    cancel: CancellationToken,
) -> Result<RunOutcome, RunError> {
    let sla = SlaSpec::from_source(&plan.sla, &plan.shape)?;
    let started_wall = SystemTime::now();
    let run_id = match plan.shard {
        Some((k, n)) => format!("{}-shard-{k}-of-{n}", run_id(started_wall, &plan.name)),
        None => run_id(started_wall, &plan.name),
    };
    let dir = prepare_dir(
        options
            .out
            .clone()
            .unwrap_or_else(|| Path::new("runs").join(&run_id)),
    )?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunError::Io { path, source }
    };
    let plan_path = dir.join("plan.toml");
    std::fs::write(&plan_path, &plan.effective_toml).map_err(io(&plan_path))?;

    let result = run_in(&plan, &sla, &dir, &run_id, started_wall, &options, cancel).await;
    if let Err(e) = &result {
        let note = dir.join("FAILED");
        let _ = std::fs::write(&note, format!("the run did not finish: {e:#}\n"));
    }
    result
}

async fn run_in(
    plan: &Plan,
    sla: &SlaSpec,
    dir: &Path,
    run_id: &str,
    started_wall: SystemTime,
    options: &RunOptions,
    cancel: CancellationToken,
) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    let generator = Generator::new(Arc::clone(&plan.shape), plan.seed);
    let records_path = dir
        .join("data")
        .join(format!("{}.parquet", plan.shape.object()));
    let mut writer = RecordWriter::create(&records_path, &plan.shape, plan.seed)?;
    let range = plan.range();
    for idx in range.clone() {
        writer.push(&generator.record(idx))?;
    }
    writer.finish()?;

    let fields = plan.shape.field_names();
    // One clock for the run and the built-in mock: under `--clock-speed` every window, quota,
    // lag and wait of both runs N× faster than real time.
    let shared_clock = syncproof_mocks::Clock::with_speed(plan.load.clock_speed);
    // Integration PoC against the built-in mock: write to its source, observe its target. API
    // PoC: write to one API and read it back there; no mock, so no ground truth.
    let (integration, source, target) = match &plan.topology {
        Topology::MockIntegration => {
            let integration = Integration::start(integration_config(plan, &fields, shared_clock))
                .await
                .map_err(RunError::Mock)?;
            let client = |url: &str| {
                CrmClient::new(url, HARNESS_TOKEN, plan.load.timeout).map_err(RunError::Client)
            };
            let source = client(&integration.source_url())?;
            let target = client(&integration.target_url())?;
            (Some(integration), source, target)
        }
        Topology::ApiPoc { base_url, token } => {
            let api = CrmClient::new(base_url, token.expose(), plan.load.timeout)
                .map_err(RunError::Client)?;
            (None, api.clone(), api)
        }
    };

    let clock = RunClock::on(shared_clock);
    let (tx, rx) = mpsc::channel::<Message>(16_384);
    let collector = tokio::spawn(collect(
        rx,
        EventLog::create(&dir.join("events"), clock, 250_000),
        options.progress,
        range.end - range.start,
    ));
    let inflight = Arc::new(InFlight::default());
    let call_ids = Arc::new(AtomicU64::new(1));

    let replay_ctx = Arc::new(ReplayContext {
        generator: generator.clone(),
        client: source,
        id_property: plan.verify.id_property.clone(),
        load: plan.load.clone(),
        retry: plan.retry.clone(),
        clock,
        events: tx.clone(),
        inflight: Arc::clone(&inflight),
        call_ids: Arc::clone(&call_ids),
    });
    let verify_ctx = Arc::new(VerifyContext {
        client: target.clone(),
        plan: plan.verify.clone(),
        clock,
        events: tx.clone(),
        inflight: Arc::clone(&inflight),
        call_ids: Arc::clone(&call_ids),
    });
    let sending_done = CancellationToken::new();
    let observer = tokio::spawn(observe(verify_ctx, sending_done.clone(), cancel.clone()));
    let report = replay(replay_ctx, range.clone(), cancel.clone()).await;
    sending_done.cancel();
    let lost: BTreeSet<u64> = observer
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));

    let mut card = Scorecard::new(&plan.shape);
    let mut near = NearDuplicates::new(&plan.shape);
    let reconciled = if cancel.is_cancelled() {
        Ok(())
    } else {
        reconcile(
            &target,
            &plan.verify.id_property,
            &fields,
            (range.start..range.start + report.dispatched).map(|i| (i, generator.external_id(i))),
            plan.verify.search_rate.interval(),
            &plan.retry,
            clock,
            &tx,
            &call_ids,
            &cancel,
            |idx, copies| {
                let record = generator.record(idx);
                let delivered = !lost.contains(&idx);
                card.add(&plan.shape, &record, &copies, delivered);
                if delivered {
                    near.add(&record, &copies);
                }
            },
        )
        .await
    };
    let ground_truth = match integration {
        Some(integration) => {
            let copies = integration
                .target()
                .copies_by_property(&plan.verify.id_property);
            let truth = integration.shutdown().await;
            let extra: u64 = copies.values().map(|n| n.saturating_sub(1)).sum();
            Some(json!({
                "relay": truth.relay,
                "source": truth.source,
                "target": truth.target,
                "target_ids_with_copies": copies.values().filter(|n| **n > 1).count(),
                "target_extra_copies": extra,
            }))
        }
        None => None,
    };
    drop(tx);
    let (ledger, segments) = collector
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let segments = segments?;
    reconciled?;
    card.fuzzy = near.count();

    let complete = !report.interrupted && !cancel.is_cancelled();
    let finished_wall = SystemTime::now();
    let metrics = Metrics::collect(&ledger, &card);
    let mut verdicts = judge(sla, &metrics);
    crate::sla::on_compressed_clock(&mut verdicts, plan.load.clock_speed);
    let info = RunInfo {
        id: run_id.to_string(),
        plan: plan.name.clone(),
        seed: plan.seed,
        started_at: humantime::format_rfc3339_millis(started_wall).to_string(),
        finished_at: humantime::format_rfc3339_millis(finished_wall).to_string(),
        duration_s: millis_rounded(clock.now().since(Default::default())),
        complete,
        records_planned: range.end - range.start,
        shard: plan.shard.map(|(k, n)| format!("{k}/{n}")),
        rate_per_s: plan.load.rate.as_per_second(),
        verify_poll_interval_ms: plan.verify.poll_interval.as_millis() as u64,
        verify_window_ms: plan.verify.window.as_millis() as u64,
        clock_speed: plan.load.clock_speed,
        real_duration_s: Some(millis_rounded(started.elapsed())),
    };
    let mut summary = Summary::build(&info, &ledger, &card, &metrics, verdicts, ground_truth);
    summary.json["files"] = json!({
        "records": relative(dir, &records_path),
        "events": segments.iter().map(|p| relative(dir, p)).collect::<Vec<_>>(),
    });
    write_reports(dir, &summary)?;
    Ok(RunOutcome {
        dir: dir.to_path_buf(),
        summary,
    })
}

/// Owns the ledger and the event log; returns them when every sender is gone.
async fn collect(
    mut rx: mpsc::Receiver<Message>,
    mut log: EventLog,
    progress: bool,
    planned: u64,
) -> (Ledger, Result<Vec<PathBuf>, ParquetOutError>) {
    let mut ledger = Ledger::default();
    let mut failure = None;
    let mut view = crate::progress::Progress::new(planned, progress);
    while let Some(message) = rx.recv().await {
        ledger.apply(&message);
        if failure.is_none()
            && let Err(e) = log.append(&message)
        {
            failure = Some(e);
        }
        view.update(&ledger);
    }
    view.finish();
    let segments = match failure {
        Some(e) => Err(e),
        None => log.finish(),
    };
    (ledger, segments)
}

/// The built-in mock CRM a plan describes (its source or its target).
pub fn mock_crm_config(name: &str, k: &CrmKnobs, seed: u64) -> CrmConfig {
    CrmConfig {
        name: name.to_string(),
        burst_max: k.burst_max,
        burst_window: k.burst_window,
        daily_max: k.daily_max,
        search_per_second: k.search_per_second,
        error_rate: k.error_rate,
        commit_then_drop_rate: k.commit_then_drop_rate,
        latency: LogNormal {
            median: k.latency,
            sigma: k.latency_sigma,
            max: k.latency_max,
        },
        search_lag: k.search_lag,
        seed,
        ..CrmConfig::default()
    }
}

/// Seconds, rounded to the millisecond.
fn millis_rounded(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

fn integration_config(
    plan: &Plan,
    fields: &[String],
    clock: syncproof_mocks::Clock,
) -> IntegrationConfig {
    let crm = mock_crm_config;
    let r = &plan.relay;
    IntegrationConfig {
        source: crm("source", &plan.source, plan.seed ^ 0x50),
        target: crm("target", &plan.target, plan.seed ^ 0x7a),
        relay: RelayKnobs {
            lag: LogNormal {
                median: r.lag,
                sigma: r.lag_sigma,
                max: r.lag_max,
            },
            loss_rate: r.loss_rate,
            duplicate_rate: r.duplicate_rate,
            drop_rates: r.drop_rates.clone(),
            truncate_at: r.truncate_at,
            poll_interval: r.poll_interval,
            write_interval: r.write_interval,
            batch_size: r.batch_size,
            max_retries: r.max_retries,
            seed: plan.seed ^ 0x4e1a,
            clock,
        },
        id_property: plan.verify.id_property.clone(),
        properties: fields.to_vec(),
        harness_token: HARNESS_TOKEN.to_string(),
        relay_token: RELAY_TOKEN.to_string(),
        clock,
    }
}

fn run_id(at: SystemTime, plan: &str) -> String {
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| *c != ':' && *c != 'Z')
        .collect();
    let name: String = plan
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{stamp}-{name}")
}

/// Creates the run directory; refuses one that already holds a run.
fn prepare_dir(dir: PathBuf) -> Result<PathBuf, RunError> {
    if dir.join("summary.json").exists() || dir.join("events").exists() {
        return Err(RunError::OutDir {
            path: dir,
            message: "already holds a run; choose another --out directory or remove it".into(),
        });
    }
    std::fs::create_dir_all(&dir).map_err(|source| RunError::Io {
        path: dir.clone(),
        source,
    })?;
    let _ = std::fs::remove_file(dir.join("FAILED"));
    Ok(dir)
}

fn relative(dir: &Path, path: &Path) -> Value {
    Value::from(path.strip_prefix(dir).unwrap_or(path).display().to_string())
}
