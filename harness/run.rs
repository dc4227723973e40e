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
use crate::measure::{Checkpoint, CheckpointError, EventLog, Ledger, Message, Micros, RunClock};
use crate::parquet_out::ParquetOutError;
use crate::quality::Scorecard;
use crate::quality::fuzzy::NearDuplicates;
use crate::replay::{
    CrmClient, CrmKnobs, InFlight, Pending, Plan, PlanOverrides, RUN_DIR_SHAPE, RUN_DIR_SLA,
    ReplayContext, Topology, Work, replay,
};
use crate::report::{ReportError, RunInfo, Summary, write_reports};
use crate::resume::{keep_checkpointed, record_states};
use crate::sla::{Metrics, SlaSpec, judge};
use crate::verify::{
    Counters, Receiver, ReconcileError, SearchFinder, VerifyContext, VerifyMethod, Warehouse,
    WarehouseError, WarehouseFinder, observe, reconcile, reconcile_warehouse, watch,
};

/// Where the run directory goes and how chatty the run is.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--out DIR`; otherwise `runs/<run-id>/` under the current directory.
    pub out: Option<PathBuf>,
    /// Print progress lines to stderr.
    pub progress: bool,
    /// `--metrics ADDR`: serve the live figures for Prometheus at `http://ADDR/metrics`.
    pub metrics: Option<std::net::SocketAddr>,
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
    Client(#[source] crate::replay::ClientError),
    #[error(transparent)]
    Reconcile(#[from] ReconcileError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(
        "verify.listen: cannot start the webhook receiver: {0} (choose another address, or port 0)"
    )]
    Receiver(#[source] std::io::Error),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("{dir}: {reason}")]
    NotResumable { dir: PathBuf, reason: String },
    #[error("cannot read the run's events to resume it: {0}")]
    Events(#[from] crate::report::SeriesError),
    #[error("--metrics {addr}: cannot listen there: {source} (choose another address, or port 0)")]
    Metrics {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

impl RunError {
    /// Bad input (exit 2) as opposed to a run that failed (exit 3).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            RunError::Config(_)
                | RunError::OutDir { .. }
                | RunError::NotResumable { .. }
                | RunError::Checkpoint(CheckpointError::Read { .. })
        )
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
    for (name, text) in [
        ("plan.toml", &plan.effective_toml),
        (RUN_DIR_SHAPE, &plan.shape_text),
        (RUN_DIR_SLA, &plan.sla.text),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io(&path))?;
    }
    let start = Start::Fresh;
    let result = run_in(&plan, &sla, &dir, &run_id, start, &options, cancel).await;
    failed_note(&dir, &result);
    result
}

/// Continues the run in `dir` from its last checkpoint (see [`crate::resume`]).
pub async fn resume(
    dir: &Path,
    options: RunOptions,
    cancel: CancellationToken,
) -> Result<RunOutcome, RunError> {
    let not = |reason: &str| RunError::NotResumable {
        dir: dir.to_path_buf(),
        reason: reason.to_string(),
    };
    if !dir.join("plan.toml").is_file() {
        return Err(not(
            "no plan.toml here: pass the directory of a run started with `syncproof run`",
        ));
    }
    let checkpoint = Checkpoint::read(dir)?;
    if let Ok(done) = crate::report::load_summary(dir)
        && done.json["run"]["complete"].as_bool() == Some(true)
    {
        return Err(not("the run is complete: nothing to resume"));
    }
    let src = crate::config::Source::read(&dir.join("plan.toml"))?;
    let overrides = PlanOverrides {
        shard: checkpoint.shard,
        ..PlanOverrides::default()
    };
    let plan = Plan::load(&src, &overrides)?;
    if plan.topology == Topology::MockIntegration {
        return Err(not(
            "the built-in mock integration lived inside the interrupted process and its records \
             died with it; run the plan again, or serve the same integration in its own process \
             (`syncproof mock --integration PLAN`) and point a kind = \"integration\" plan at \
             its two URLs (datasets/plans/integration-poc.toml): that run can be resumed",
        ));
    }
    if !plan.dialect.resumable() || !plan.write_dialect.resumable() {
        return Err(not(
            "its REST target is read back by the ids its creates answered with, which lived \
             inside the interrupted process; read back by {external_id} to make such a run \
             resumable, or run the plan again",
        ));
    }
    if plan
        .load
        .mix
        .is_some_and(|m| m.update > 0.0 || m.delete > 0.0)
    {
        return Err(not(
            "its [load] mix of updates and deletes cannot be resumed yet (the in-flight \
             operations and the target ids of its records lived inside the interrupted \
             process); run the plan again",
        ));
    }
    let sla = SlaSpec::from_source(&plan.sla, &plan.shape)?;
    let kept = keep_checkpointed(dir, &checkpoint).map_err(|source| RunError::Io {
        path: dir.join("events"),
        source,
    })?;
    let _ = std::fs::remove_file(dir.join("FAILED"));
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| plan.name.clone());
    let start = Start::Resumed {
        checkpoint: Box::new(checkpoint),
        kept,
    };
    let result = run_in(&plan, &sla, dir, &run_id, start, &options, cancel).await;
    failed_note(dir, &result);
    result
}

/// The client of one real system: its credential (sent as the dialect asks: a REST API may want
/// its own header), its extra CA, OAuth expiry on the run's clock.
fn api_client(
    base_url: &str,
    credential: &crate::replay::Credential,
    ca_pem: Option<&[u8]>,
    dialect: &crate::replay::DialectPlan,
    timeout: std::time::Duration,
    clock: syncproof_mocks::Clock,
) -> Result<CrmClient, RunError> {
    let mut api = CrmClient::with_credential(base_url, credential, timeout, ca_pem, clock)
        .map_err(RunError::Client)?;
    if let crate::replay::Credential::Token(token) = credential
        && let Some((header, value)) = dialect.auth_header(token.expose())
    {
        api = api
            .with_auth_header(&header, value)
            .map_err(|e| RunError::Client(crate::replay::ClientError::Target(e)))?;
    }
    Ok(api)
}

/// A system's URL as the summary shows it (no credentials) and the TLS version it negotiates,
/// trusting the plan's extra CA too.
async fn reached(base_url: &str, ca_pem: Option<&[u8]>) -> (String, String) {
    let extra = ca_pem
        .and_then(|pem| crate::replay::tls::parse_ca_pem(pem).ok())
        .unwrap_or_default();
    (
        without_userinfo(base_url),
        crate::replay::tls::tls_version(base_url, &extra).await,
    )
}

fn failed_note(dir: &Path, result: &Result<RunOutcome, RunError>) {
    if let Err(e) = result {
        let note = dir.join("FAILED");
        let _ = std::fs::write(&note, format!("the run did not finish: {e:#}\n"));
    }
}

/// How a run starts: from nothing, or from a checkpoint.
enum Start {
    Fresh,
    Resumed {
        checkpoint: Box<Checkpoint>,
        kept: Vec<PathBuf>,
    },
}

async fn run_in(
    plan: &Plan,
    sla: &SlaSpec,
    dir: &Path,
    run_id: &str,
    start: Start,
    options: &RunOptions,
    cancel: CancellationToken,
) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    let generator = Generator::new(Arc::clone(&plan.shape), plan.seed);
    let records_path = dir
        .join("data")
        .join(format!("{}.parquet", plan.shape.object()));
    let range = plan.range();
    // The records are a pure function of (shape, seed, index): a resumed run has them already.
    if !(matches!(start, Start::Resumed { .. }) && records_path.is_file()) {
        let mut writer = RecordWriter::create(&records_path, &plan.shape, plan.seed)?;
        for idx in range.clone() {
            writer.push(&generator.record(idx))?;
        }
        writer.finish()?;
    }

    let fields = plan.shape.field_names();
    // One clock for the run and the built-in mock: under `--clock-speed` every window, quota,
    // lag and wait of both runs N× faster than real time.
    let shared_clock = syncproof_mocks::Clock::with_speed(plan.load.clock_speed);
    // Integration PoC against the built-in mock: write to its source, observe its target. API
    // PoC: write to one API and read it back there; no mock, so no ground truth.
    // The webhook receiver listens before anything can send to it.
    let receiver = match &plan.verify.method {
        VerifyMethod::Webhook(m) => Some(
            Receiver::start(m, &plan.verify.id_property, shared_clock)
                .await
                .map_err(RunError::Receiver)?,
        ),
        _ => None,
    };
    let (integration, source, target) = match &plan.topology {
        Topology::MockIntegration => {
            let mut config = integration_config(plan, &fields, shared_clock);
            verified_by(&mut config, plan, receiver.as_ref());
            let integration = Integration::start(config).await.map_err(RunError::Mock)?;
            let client = |url: &str| {
                CrmClient::new(url, HARNESS_TOKEN, plan.load.timeout).map_err(RunError::Client)
            };
            let source = client(&integration.source_url())?;
            let target = client(&integration.target_url())?;
            (Some(integration), source, target)
        }
        Topology::ApiPoc {
            base_url,
            credential,
            ca_pem,
        } => {
            let api = api_client(
                base_url,
                credential,
                ca_pem.as_deref(),
                &plan.dialect,
                plan.load.timeout,
                shared_clock,
            )?;
            (None, api.clone(), api)
        }
        Topology::Integration { from, to } => {
            let client = |e: &crate::replay::Endpoint, dialect| {
                api_client(
                    &e.base_url,
                    &e.credential,
                    e.ca_pem.as_deref(),
                    dialect,
                    plan.load.timeout,
                    shared_clock,
                )
            };
            (
                None,
                client(from, &plan.write_dialect)?,
                client(to, &plan.dialect)?,
            )
        }
    };

    // How the target is reached, for the summary: its TLS version from a handshake of our own
    // (reqwest does not expose it), and later what the OAuth session did. An integration PoC
    // reaches two systems: the one written to is recorded beside.
    let (target_kind, (target_url, tls_version), source_tls) = match &plan.topology {
        Topology::MockIntegration => (
            "mock-integration",
            (
                target.base().to_string(),
                crate::replay::tls::PLAIN_HTTP.to_string(),
            ),
            None,
        ),
        Topology::ApiPoc {
            base_url, ca_pem, ..
        } => (
            plan.dialect.kind(),
            reached(base_url, ca_pem.as_deref()).await,
            None,
        ),
        Topology::Integration { from, to } => (
            "integration",
            reached(&to.base_url, to.ca_pem.as_deref()).await,
            Some(reached(&from.base_url, from.ca_pem.as_deref()).await),
        ),
    };
    if crate::replay::tls::below_tls12(&tls_version) {
        tracing::warn!(target = %target_url, tls = %tls_version, "the target's TLS is below 1.2 or unknown");
    }

    let events_dir = dir.join("events");
    let resumed = match start {
        Start::Fresh => Resumed::fresh(shared_clock, &events_dir, range.clone()),
        Start::Resumed { checkpoint, kept } => {
            Resumed::from_checkpoint(shared_clock, &events_dir, *checkpoint, kept, range.clone())?
        }
    };
    let clock = resumed.clock;
    if let Some(receiver) = &receiver {
        receiver.set_run_clock(clock);
    }
    // The warehouse is opened once the built-in mock's sink has created its table.
    let warehouse = match &plan.verify.method {
        VerifyMethod::Postgres(m) => Some(Arc::new(
            Warehouse::connect(m, &plan.verify.id_property).await?,
        )),
        _ => None,
    };
    let verified = plan.verify.method != VerifyMethod::None;
    let inflight = Arc::new(if verified {
        InFlight::default()
    } else {
        InFlight::untracked()
    });
    // Records acknowledged before an interruption are read back again; their window restarts.
    let now = clock.now();
    for (idx, s) in &resumed.settled {
        inflight.insert(
            *idx,
            Pending {
                external_id: s.external_id.clone(),
                scheduled_at: s.scheduled_at,
                settled_at: Some(now),
                op: None,
            },
        );
    }
    let call_ids = Arc::new(AtomicU64::new(resumed.next_call_id));
    // A mix with updates or deletes runs its own dispatcher (creates only keep the record one),
    // and the progress counts its operations.
    let mix = plan.load.mix.filter(|m| m.update > 0.0 || m.delete > 0.0);
    let planned = mix.map_or(range.end - range.start, |m| m.ops_for(range.end));
    let live = crate::live::LiveFigures::new(planned);
    let metrics_stop = CancellationToken::new();
    let _stop_metrics = metrics_stop.clone().drop_guard();
    if let Some(addr) = options.metrics {
        let bound = crate::live::serve_metrics(addr, Arc::clone(&live), metrics_stop.clone())
            .await
            .map_err(|source| RunError::Metrics { addr, source })?;
        eprintln!("metrics: http://{bound}/metrics");
    }
    let (tx, rx) = mpsc::channel::<Message>(16_384);
    let checkpointing = Checkpointing {
        live: Arc::clone(&live),
        inflight: Arc::clone(&inflight),
        dir: dir.to_path_buf(),
        every: plan.checkpoint_every,
        call_ids: Arc::clone(&call_ids),
        resumes: resumed.resumes,
        shard: plan.shard,
        clock,
        real_base_us: resumed.real_us,
        real_start: started,
        closed: 0,
    };
    let mut view = crate::progress::Progress::new(planned, options.progress);
    if !verified {
        view = view.without_verification();
    }
    let collector = tokio::spawn(collect(
        rx,
        resumed.log,
        resumed.ledger,
        checkpointing,
        view,
    ));

    let dialect = plan.dialect.build(&plan.verify.id_property, &fields);
    // One instance where syncproof writes and reads the same system: a dialect may learn from
    // its writes what its reads need (the ids a REST API answered with).
    let write_dialect = match plan.topology {
        Topology::Integration { .. } => plan.write_dialect.build(&plan.verify.id_property, &fields),
        _ => Arc::clone(&dialect),
    };
    let replay_ctx = Arc::new(ReplayContext {
        generator: generator.clone(),
        client: source,
        dialect: write_dialect,
        load: plan.load.clone(),
        retry: plan.retry.clone(),
        clock,
        events: tx.clone(),
        inflight: Arc::clone(&inflight),
        call_ids: Arc::clone(&call_ids),
        limiter: plan.load.limit.and_then(|(rate, burst)| {
            crate::replay::ClientLimiter::new(rate, burst, &shared_clock)
        }),
        spare: Default::default(),
    });
    let verify_ctx = Arc::new(VerifyContext {
        client: target.clone(),
        dialect: Arc::clone(&dialect),
        plan: plan.verify.clone(),
        clock,
        events: tx.clone(),
        inflight: Arc::clone(&inflight),
        call_ids: Arc::clone(&call_ids),
    });
    let sending_done = CancellationToken::new();
    let counters: Arc<Counters> = match (&receiver, &warehouse) {
        (Some(receiver), _) => receiver.counters(),
        (_, Some(warehouse)) => Arc::clone(&warehouse.counters),
        _ => Arc::default(),
    };
    let (done, stop) = (sending_done.clone(), cancel.clone());
    let observer = match (&plan.verify.method, &receiver, &warehouse) {
        (VerifyMethod::Webhook(_), Some(receiver), _) => {
            tokio::spawn(watch(verify_ctx, receiver.finder(), done, stop))
        }
        (VerifyMethod::Postgres(_), _, Some(warehouse)) => {
            let finder = WarehouseFinder {
                warehouse: Arc::clone(warehouse),
                clock,
            };
            tokio::spawn(watch(verify_ctx, finder, done, stop))
        }
        (VerifyMethod::Search { overlap }, _, _) => {
            let finder = SearchFinder::new(
                target.clone(),
                plan.verify.id_property.clone(),
                *overlap,
                plan.verify.search_rate.interval(),
                clock,
                tx.clone(),
                Arc::clone(&call_ids),
                Arc::clone(&counters),
            );
            tokio::spawn(watch(verify_ctx, finder, done, stop))
        }
        (VerifyMethod::None, _, _) => {
            // Nothing watches: its context (and its event sender) goes now, so the collector
            // ends when the writers do.
            drop(verify_ctx);
            tokio::spawn(async { BTreeSet::new() })
        }
        _ => tokio::spawn(observe(verify_ctx, done, stop)),
    };
    let report = match mix {
        Some(mix) => {
            let ops = 0..mix.ops_for(range.end);
            crate::replay::replay_mix(replay_ctx, mix, ops, cancel.clone()).await
        }
        None => replay(replay_ctx, resumed.work, cancel.clone()).await,
    };
    sending_done.cancel();
    let mut lost: BTreeSet<u64> = observer
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    lost.extend(resumed.lost);

    let mut card = Scorecard::new(&plan.shape);
    let mut near = NearDuplicates::new(&plan.shape);
    // A mixed run's records end as their last version, or deleted: each record's final state,
    // in record order (the order reconciliation goes in).
    let mut finals = mix.map(|m| crate::replay::finals(m, plan.seed, range.end));
    let mut mix_end = MixEnd::default();
    let on_record = |idx: u64, copies: Vec<crate::replay::TargetCopy>| {
        let mut record = generator.record(idx);
        if let Some(finals) = &mut finals {
            let state = finals
                .by_ref()
                .find(|f| f.record >= idx)
                .filter(|f| f.record == idx);
            if let Some(state) = state {
                if state.deleted {
                    mix_end.deleted += 1;
                    mix_end.deleted_still_visible += u64::from(!copies.is_empty());
                    return;
                }
                latest_version(&generator, &mut record, state.version);
                mix_end.updated += u64::from(state.version > 0);
            }
        }
        let delivered = !lost.contains(&idx);
        card.add(&plan.shape, &record, &copies, delivered);
        if delivered {
            near.add(&record, &copies);
        }
    };
    let reconciled = if cancel.is_cancelled() || !verified {
        Ok(())
    } else if let Some(warehouse) = &warehouse {
        reconcile_warehouse(
            warehouse,
            range.clone().map(|i| (i, generator.external_id(i))),
            &tx,
            &cancel,
            on_record,
        )
        .await
    } else {
        reconcile(
            &target,
            dialect.as_ref(),
            &plan.verify.id_property,
            &fields,
            // Every record of the range was handled (the run was not interrupted).
            range.clone().map(|i| (i, generator.external_id(i))),
            plan.verify.search_rate.interval(),
            &plan.retry.for_verification(),
            clock,
            &tx,
            &call_ids,
            &cancel,
            on_record,
        )
        .await
    };
    if let Some(receiver) = receiver {
        receiver.stop().await;
    }
    let ground_truth = match integration {
        Some(integration) => {
            let id = &plan.verify.id_property;
            let copies = integration.target().copies_by_property(id);
            let sink = integration.warehouse().cloned();
            let truth = integration.shutdown().await;
            // Copies are counted where the relay wrote: the target CRM, or the warehouse table
            // of a CRM→warehouse sync (once the relay has stopped writing to it).
            let (with_copies, extra) = match sink {
                None => (
                    json!(copies.values().filter(|n| **n > 1).count()),
                    json!(copies.values().map(|n| n.saturating_sub(1)).sum::<u64>()),
                ),
                Some(sink) => match sink.copies(id).await {
                    Ok(c) => (json!(c.ids_with_copies), json!(c.extra_copies)),
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot count the warehouse table's copies");
                        (Value::Null, Value::Null)
                    }
                },
            };
            Some(json!({
                "relay": truth.relay,
                "source": truth.source,
                "target": truth.target,
                "target_ids_with_copies": with_copies,
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
    let usage = crate::measure::own_usage();
    let metrics = Metrics::collect(&ledger, &card);
    let mut verdicts = judge(sla, &metrics);
    crate::sla::on_compressed_clock(&mut verdicts, plan.load.clock_speed);
    if !verified {
        crate::sla::not_verified(&mut verdicts);
    }
    let info = RunInfo {
        id: run_id.to_string(),
        plan: plan.name.clone(),
        seed: plan.seed,
        started_at: humantime::format_rfc3339_millis(clock.started_wall()).to_string(),
        finished_at: humantime::format_rfc3339_millis(finished_wall).to_string(),
        duration_s: millis_rounded(clock.now().since(Default::default())),
        complete,
        records_planned: range.end - range.start,
        shard: plan.shard.map(|(k, n)| format!("{k}/{n}")),
        rate_per_s: if plan.load.closed_loop {
            // No schedule: the rate reached while sending (at least one record, so never 0).
            let sending_s = report.elapsed.as_secs_f64().max(1e-3);
            ((ledger.counts.sent.max(1) as f64 / sending_s) * 10.0).round() / 10.0
        } else {
            plan.load.rate.as_per_second()
        },
        verify_poll_interval_ms: plan.verify.poll_interval.as_millis() as u64,
        verify_window_ms: plan.verify.window.as_millis() as u64,
        clock_speed: plan.load.clock_speed,
        real_duration_s: Some(millis_rounded(
            started.elapsed() + std::time::Duration::from_micros(resumed.real_us),
        )),
        resumes: resumed.resumes,
        cpu_s: usage.map(|u| (u.cpu_s * 1000.0).round() / 1000.0),
        // This process's CPU over this process's wall time (a resume counts from its start).
        cpu_pct_of_wall: usage
            .map(|u| (u.cpu_s / started.elapsed().as_secs_f64().max(1e-3) * 1000.0).round() / 10.0),
        peak_rss_mib: usage.map(|u| (u.peak_rss_mib * 10.0).round() / 10.0),
        closed_loop: plan.load.closed_loop,
    };
    let mut summary = Summary::build(&info, &ledger, &card, &metrics, verdicts, ground_truth);
    summary.json["target"] = json!({
        "kind": target_kind,
        "base_url": target_url,
        "tls_version": tls_version,
        "tls_below_1_2": crate::replay::tls::below_tls12(&tls_version),
        "auth": match target.auth_stats() {
            Some(stats) => json!({ "kind": "oauth", "refreshes": stats.refreshes,
                "refreshed_after_401": stats.refreshed_after_401,
                "refresh_failures": stats.refresh_failures }),
            None => json!({ "kind": "token" }),
        },
    });
    if let Some((url, version)) = &source_tls {
        summary.json["target"]["source"] = json!({
            "base_url": url,
            "tls_version": version,
            "tls_below_1_2": crate::replay::tls::below_tls12(version),
        });
    }
    summary.json["verification"] = verification_summary(plan, &counters);
    if let Some(mix) = mix {
        summary.json["mix"] = mix_summary(mix, &ledger, &mix_end);
    }
    summary.json["files"] = json!({
        "records": relative(dir, &records_path),
        "events": segments.iter().map(|p| relative(dir, p)).collect::<Vec<_>>(),
    });
    write_reports(dir, &summary)?;
    let _ = std::fs::remove_file(dir.join(INTERIM_SUMMARY));
    Ok(RunOutcome {
        dir: dir.to_path_buf(),
        summary,
    })
}

/// What a mixed run's reconciliation found of its final states.
#[derive(Debug, Default)]
struct MixEnd {
    /// Records whose last operation deleted them.
    deleted: u64,
    /// Of those, the ones the target still showed at the end: lost deletes.
    deleted_still_visible: u64,
    /// Records updated at least once (compared with their last version).
    updated: u64,
}

/// Lays updates `1..=version` of `record` over its create's values.
fn latest_version(generator: &Generator, record: &mut crate::generate::Record, version: u32) {
    let mut v = crate::generate::Version::default();
    for n in 1..=version {
        if generator.update_into(record.idx, n, &mut v) {
            for (slot, value) in record.values.iter_mut().zip(v.values.drain(..)) {
                if let Some(value) = value {
                    *slot = Some(value);
                }
            }
        }
    }
}

/// `summary.json`'s `mix`: the shares and, per operation kind, what was sent, acknowledged,
/// observed, lost and skipped, with the sync latency of what was observed.
fn mix_summary(mix: crate::replay::Mix, ledger: &Ledger, end: &MixEnd) -> Value {
    let by_kind: serde_json::Map<String, Value> = crate::replay::OpKind::ALL
        .iter()
        .map(|kind| {
            let c = ledger.counts.by_op.get(kind).copied().unwrap_or_default();
            let sync = ledger.sync_by_op.get(kind);
            let q = |p: f64| sync.filter(|h| !h.is_empty()).map(|h| h.quantile_ms(p));
            (
                kind.as_str().to_string(),
                json!({
                    "sent": c.sent,
                    "acknowledged": c.acknowledged,
                    "gave_up": c.gave_up,
                    "attempts": c.attempts,
                    "observed": c.observed,
                    "lost": c.lost,
                    "skipped": c.skipped,
                    "sync_p50_ms": q(0.5),
                    "sync_p95_ms": q(0.95),
                }),
            )
        })
        .collect();
    json!({
        "shares": { "create": mix.create, "update": mix.update, "delete": mix.delete },
        "window_records": crate::replay::MIX_WINDOW,
        "by_kind": by_kind,
        "final": {
            "deleted": end.deleted,
            "deleted_still_visible": end.deleted_still_visible,
            "updated": end.updated,
        },
    })
}

/// Where a run's measurement starts: empty, or what a checkpoint kept.
struct Resumed {
    clock: RunClock,
    log: EventLog,
    ledger: Ledger,
    work: Work,
    settled: std::collections::BTreeMap<u64, crate::resume::Settled>,
    lost: BTreeSet<u64>,
    next_call_id: u64,
    resumes: u32,
    real_us: u64,
}

const SEGMENT_ROWS: u64 = 250_000;
/// The run's figures so far, refreshed at every checkpoint; removed once `summary.json` exists.
pub const INTERIM_SUMMARY: &str = "interim-summary.json";

impl Resumed {
    fn fresh(
        shared: syncproof_mocks::Clock,
        events: &Path,
        range: std::ops::Range<u64>,
    ) -> Resumed {
        let clock = RunClock::on(shared);
        Resumed {
            clock,
            log: EventLog::create(events, clock, SEGMENT_ROWS),
            ledger: Ledger::default(),
            work: Work::all(range),
            settled: Default::default(),
            lost: BTreeSet::new(),
            next_call_id: 1,
            resumes: 0,
            real_us: 0,
        }
    }

    fn from_checkpoint(
        shared: syncproof_mocks::Clock,
        events: &Path,
        checkpoint: Checkpoint,
        kept: Vec<PathBuf>,
        range: std::ops::Range<u64>,
    ) -> Result<Resumed, RunError> {
        let started_wall = SystemTime::UNIX_EPOCH
            + std::time::Duration::from_micros(checkpoint.started_wall_us.max(0) as u64);
        let clock = RunClock::resumed(shared, Micros(checkpoint.run_clock_us), started_wall);
        let states = tokio::task::block_in_place(|| record_states(&kept, range, &clock))?;
        let latencies =
            tokio::task::block_in_place(|| crate::report::latencies_from_segments(&kept))?;
        Ok(Resumed {
            clock,
            log: EventLog::resume(events, clock, SEGMENT_ROWS, kept),
            ledger: Ledger {
                counts: checkpoint.counts,
                api: latencies.api,
                sync: latencies.sync,
                sync_by_op: Default::default(),
            },
            work: states.work,
            settled: states.settled,
            lost: states.lost,
            next_call_id: checkpoint.next_call_id,
            resumes: checkpoint.resumes + 1,
            real_us: checkpoint.real_us,
        })
    }
}

/// What the collector needs to write checkpoints.
struct Checkpointing {
    live: Arc<crate::live::LiveFigures>,
    inflight: Arc<InFlight>,
    dir: PathBuf,
    every: std::time::Duration,
    call_ids: Arc<AtomicU64>,
    resumes: u32,
    shard: Option<(u64, u64)>,
    clock: RunClock,
    real_base_us: u64,
    real_start: Instant,
    /// Segments closed when the last checkpoint was written.
    closed: usize,
}

impl Checkpointing {
    /// Refreshes the live figures (for `--metrics` and the interim summary).
    fn publish(&self, ledger: &Ledger) {
        let now = self.clock.now().since(Micros(0)).as_secs_f64();
        self.live.publish(ledger, self.inflight.len() as u64, now);
    }

    /// Writes `interim-summary.json` atomically from the live figures.
    fn write_interim(&self) -> Result<(), CheckpointError> {
        let path = self.dir.join(INTERIM_SUMMARY);
        let tmp = self.dir.join(format!("{INTERIM_SUMMARY}.tmp"));
        let text = serde_json::to_vec_pretty(&self.live.interim()).unwrap_or_default();
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|source| CheckpointError::Write { path, source })
    }

    /// Writes a checkpoint when a segment closed since the last one.
    fn after_close(&mut self, log: &EventLog, ledger: &Ledger) -> Result<(), RunError> {
        if log.closed().len() > self.closed {
            self.closed = log.closed().len();
            self.write(log, ledger)?;
        }
        Ok(())
    }

    fn write(&self, log: &EventLog, ledger: &Ledger) -> Result<(), CheckpointError> {
        self.publish(ledger);
        self.write_interim()?;
        let segments = log
            .closed()
            .iter()
            .map(|p| p.strip_prefix(&self.dir).unwrap_or(p).display().to_string())
            .collect();
        Checkpoint {
            version: Checkpoint::VERSION,
            run_clock_us: self.clock.now().0,
            started_wall_us: self.clock.started_wall_us(),
            segments,
            counts: ledger.counts.clone(),
            next_call_id: self.call_ids.load(std::sync::atomic::Ordering::Relaxed),
            resumes: self.resumes,
            shard: self.shard,
            real_us: self.real_base_us + self.real_start.elapsed().as_micros() as u64,
        }
        .write(&self.dir)
    }
}

/// The most messages the collector takes from its channel at once.
const COLLECT_AT_ONCE: usize = 256;

/// Owns the ledger and the event log; returns them when every sender is gone. Every time a
/// segment closes (when full, and at least every `checkpoint_every` of real time) everything
/// counted is in closed segments, and the checkpoint says so.
async fn collect(
    mut rx: mpsc::Receiver<Message>,
    mut log: EventLog,
    mut ledger: Ledger,
    mut checkpointing: Checkpointing,
    mut view: crate::progress::Progress,
) -> (Ledger, Result<Vec<PathBuf>, RunError>) {
    let mut failure: Option<RunError> = None;
    let mut tick = tokio::time::interval(checkpointing.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    checkpointing.closed = log.closed().len();
    let mut publish = tokio::time::interval(std::time::Duration::from_secs(1));
    publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Messages are taken as many as are waiting at once, so a busy run pays for the wake-up
    // and the timers once per handful of events, not once per event.
    let mut messages = Vec::with_capacity(COLLECT_AT_ONCE);
    loop {
        tokio::select! {
            taken = rx.recv_many(&mut messages, COLLECT_AT_ONCE) => if taken == 0 {
                break;
            },
            _ = publish.tick() => {
                checkpointing.publish(&ledger);
                continue;
            }
            _ = tick.tick() => {
                if failure.is_none() {
                    failure = log
                        .close_segment()
                        .map_err(RunError::from)
                        .and_then(|_| checkpointing.after_close(&log, &ledger))
                        .err();
                }
                continue;
            }
        }
        for message in messages.drain(..) {
            ledger.apply(&message);
            if failure.is_none() {
                failure = log
                    .append(&message)
                    .map_err(RunError::from)
                    .and_then(|()| checkpointing.after_close(&log, &ledger))
                    .err();
            }
        }
        view.update(&ledger);
    }
    view.finish();
    if let Some(e) = failure {
        return (ledger, Err(e));
    }
    let finished = log.close_segment().map_err(RunError::from).and_then(|_| {
        checkpointing.write(&log, &ledger)?;
        Ok(log.closed().to_vec())
    });
    (ledger, finished)
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

/// What the summary says of the verification: the method and what it counted.
fn verification_summary(plan: &Plan, counters: &Counters) -> Value {
    let mut v = json!({ "kind": plan.verify.method.name() });
    if let (Value::Object(map), Value::Object(counts)) = (&mut v, counters.to_json()) {
        map.extend(counts);
    }
    v
}

/// Points the built-in mock integration at the verification: its target sends webhooks to the
/// receiver, or its relay writes to the warehouse table instead of the target CRM.
fn verified_by(config: &mut IntegrationConfig, plan: &Plan, receiver: Option<&Receiver>) {
    match (&plan.verify.method, receiver) {
        (VerifyMethod::Webhook(m), Some(receiver)) => {
            config.target.webhooks = Some(syncproof_mocks::WebhookConfig {
                url: receiver.url().to_string(),
                client_secret: m.secret.expose().to_string(),
                duplicate_rate: plan.target.webhook_duplicate_rate,
                creation_properties: vec![plan.verify.id_property.clone()],
                seed: plan.seed ^ 0x3eb,
                ..syncproof_mocks::WebhookConfig::default()
            });
        }
        (VerifyMethod::Postgres(m), _) => {
            config.warehouse = Some(syncproof_mocks::WarehouseSink {
                url: m.url.expose().to_string(),
                table: m.table.clone(),
            });
        }
        _ => {}
    }
}

/// The built-in mock integration a `kind = "mock-integration"` plan describes (also what
/// `syncproof mock --integration PLAN` serves in its own process).
pub fn integration_config(
    plan: &Plan,
    fields: &[String],
    clock: syncproof_mocks::Clock,
) -> IntegrationConfig {
    let crm = mock_crm_config;
    let r = &plan.relay;
    let mut source = crm("source", &plan.source, plan.seed ^ 0x50);
    if r.mode == syncproof_mocks::RelayMode::Webhook {
        // The integration points these at the relay's endpoint, with its secret.
        source.webhooks = Some(syncproof_mocks::WebhookConfig {
            duplicate_rate: plan.source.webhook_duplicate_rate,
            seed: plan.seed ^ 0x5eb,
            ..syncproof_mocks::WebhookConfig::default()
        });
    }
    IntegrationConfig {
        source,
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
            retry: r.retry,
            mode: r.mode,
            write: r.write,
            seed: plan.seed ^ 0x4e1a,
            clock,
        },
        id_property: plan.verify.id_property.clone(),
        properties: fields.to_vec(),
        harness_token: HARNESS_TOKEN.to_string(),
        relay_token: RELAY_TOKEN.to_string(),
        clock,
        warehouse: None,
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

/// A URL with any `user:password@` part removed, for the summary.
fn without_userinfo(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => url.to_string(),
    }
}

fn relative(dir: &Path, path: &Path) -> Value {
    Value::from(path.strip_prefix(dir).unwrap_or(path).display().to_string())
}
