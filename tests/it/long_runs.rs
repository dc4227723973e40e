//! Long runs: a run killed with SIGKILL at any moment and then resumed ends with the figures of
//! a run never interrupted; a run on a compressed clock lives through its simulated days in flat
//! memory; a running run can be watched from Prometheus and its interim summary.
//!
//! The target is `syncproof mock` in its own process (its records survive the harness's
//! death, as a vendor's do), with `commit-then-drop` so that some writes are retried and an
//! interruption catches records mid-retry.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use super::support::{
    FAST_VERIFY, MockIntegrationProcess, MockProcess, blocking_get, datasets, read_summary,
    syncproof_bin,
};

fn syncproof() -> Command {
    syncproof_bin()
}

/// `syncproof mock` without rate limits (the runs here test durability, not throttling).
fn mock(token: &str, extra: &[&str]) -> MockProcess {
    MockProcess::start(token, &[&["--no-limits"], extra].concat())
}

/// An API-PoC plan against `base`, with the token in a file beside it.
fn plan(dir: &Path, base: &str, token: &str, records: u64) -> PathBuf {
    let target = format!("kind = \"hubspot\"\nbase_url = \"{base}\"\ntoken_file = \"token\"");
    resume_plan(dir, "resume", &target, token, records)
}

/// A plan that checkpoints every 250 ms, with `target` as its `[target]` table's body and the
/// token in a file beside it.
fn resume_plan(dir: &Path, name: &str, target: &str, token: &str, records: u64) -> PathBuf {
    std::fs::write(dir.join("token"), token).unwrap();
    let d = datasets();
    let text = format!(
        r#"
name = "{name}"
seed = 9
records = {records}
shape = "{shape}"
sla = "{sla}"
checkpoint_every = "250ms"

[target]
{target}

[load]
rate = "400/s"
batch_size = 20
linger = "50ms"
concurrency = 4
timeout = "5s"

[retry]
base_delay = "20ms"
max_delay = "200ms"
max_attempts = 10

{FAST_VERIFY}"#,
        shape = d.join("shapes/contacts.toml").display(),
        sla = d.join("sla/demo.toml").display(),
    );
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// (record, attempt) → rows, and record → observed/lost rows, over every kept segment.
fn event_rows(run: &Path) -> (BTreeMap<(u64, u32), u32>, BTreeMap<u64, u32>) {
    let mut attempts = BTreeMap::new();
    let mut finals = BTreeMap::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(run.join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        assert_eq!(
            path.extension().unwrap(),
            "parquet",
            "only closed segments stay in events/: {}",
            path.display()
        );
        let file = std::fs::File::open(&path).unwrap();
        for batch in ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
        {
            let batch = batch.unwrap();
            let kind = batch.column_by_name("kind").unwrap().as_string::<i32>();
            let idx = batch
                .column_by_name("record_idx")
                .unwrap()
                .as_primitive::<UInt64Type>();
            let attempt = batch
                .column_by_name("attempt")
                .unwrap()
                .as_primitive::<UInt32Type>();
            for row in 0..batch.num_rows() {
                match kind.value(row) {
                    "attempt" => {
                        *attempts
                            .entry((idx.value(row), attempt.value(row)))
                            .or_insert(0) += 1
                    }
                    "observed" | "lost" if !idx.is_null(row) => {
                        *finals.entry(idx.value(row)).or_insert(0) += 1
                    }
                    _ => {}
                }
            }
        }
    }
    (attempts, finals)
}

/// Waits (polling the file the run itself writes) until its checkpoint lists `n` segments.
fn wait_for_segments(run: &Path, n: usize, child: &mut Child) {
    loop {
        if let Ok(text) = std::fs::read_to_string(run.join("checkpoint.json"))
            && let Ok(cp) = serde_json::from_str::<Value>(&text)
            && cp["segments"].as_array().is_some_and(|s| s.len() >= n)
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before its checkpoint listed {n} segments");
        }
        std::thread::yield_now();
    }
}

const FIGURES: [&str; 7] = [
    "records.sent",
    "records.delivered",
    "records.lost",
    "duplicates.exact_rate",
    "completeness.overall",
    "accuracy.overall",
    "validity.overall",
];

fn figure(s: &Value, path: &str) -> Value {
    path.split('.').fold(s.clone(), |v, k| v[k].clone())
}

/// Runs `plan` to its end into `run` and returns its summary.
fn run_whole(plan: &Path, run: &Path) -> Value {
    let out = syncproof()
        .args(["run", plan.to_str().unwrap(), "--quiet", "--out"])
        .arg(run)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 4)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_summary(run)
}

/// Runs `plan` into `run`, kills it with SIGKILL once `first` segments are checkpointed,
/// resumes it and kills it again at `second`, then resumes it to its end: its summary.
fn killed_twice_then_resumed(plan: &Path, run: &Path, first: usize, second: usize) -> Value {
    let mut child = syncproof()
        .args(["run", plan.to_str().unwrap(), "--quiet", "--out"])
        .arg(run)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_segments(run, first, &mut child);
    child.kill().unwrap(); // SIGKILL: no draining, no report
    child.wait().unwrap();
    assert!(!run.join("summary.json").exists());

    let mut again = syncproof()
        .args(["run", "--quiet", "--resume"])
        .arg(run)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_segments(run, second, &mut again);
    again.kill().unwrap();
    again.wait().unwrap();

    let last = syncproof()
        .args(["run", "--quiet", "--resume"])
        .arg(run)
        .output()
        .unwrap();
    assert!(
        matches!(last.status.code(), Some(0 | 1 | 4)),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let resumed = read_summary(run);
    assert_eq!(resumed["run"]["complete"], true);
    assert_eq!(resumed["run"]["resumes"], 2);
    resumed
}

/// On disk: every planned record's first attempt exactly once, no attempt logged twice, every
/// record observed or lost exactly once; and in the summary `sent = delivered + lost`.
fn accounted_once(run: &Path, summary: &Value, records: u64) {
    let c = &summary["records"];
    assert_eq!(
        c["sent"].as_u64().unwrap(),
        c["delivered"].as_u64().unwrap() + c["lost"].as_u64().unwrap()
    );
    let (attempts, finals) = event_rows(run);
    assert!(
        attempts.values().all(|n| *n == 1),
        "an attempt logged twice"
    );
    let firsts = attempts.keys().filter(|(_, a)| *a == 1).count() as u64;
    assert_eq!(firsts, records);
    assert_eq!(finals.len() as u64, records);
    assert!(finals.values().all(|n| *n == 1), "a record finished twice");
}

#[test]
fn kill_9_at_any_point_then_resume_gives_the_figures_of_an_uninterrupted_run() {
    const N: u64 = 3000;
    let token = "resume-t0k3n";
    let faults = ["--faults", "commit-then-drop", "--seed", "5"];
    let tmp = tempfile::tempdir().unwrap();

    // The reference: the same plan, never interrupted, against its own mock.
    let whole_mock = mock(token, &faults);
    let whole_dir = tmp.path().join("whole");
    std::fs::create_dir_all(&whole_dir).unwrap();
    let whole_plan = plan(&whole_dir, &whole_mock.base, token, N);
    let whole = run_whole(&whole_plan, &whole_dir.join("run"));
    assert_eq!(whole["records"]["sent"], N);

    // Killed twice, at different points, and resumed each time.
    let mock = mock(token, &faults);
    let dir = tmp.path().join("killed");
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = plan(&dir, &mock.base, token, N);
    let run = dir.join("run");
    let resumed = killed_twice_then_resumed(&plan_path, &run, 3, 8);
    for path in FIGURES {
        assert_eq!(
            figure(&resumed, path),
            figure(&whole, path),
            "{path}: resumed vs uninterrupted"
        );
    }
    accounted_once(&run, &resumed, N);

    // At the vendor: one record per planned record (upserts made the resends harmless).
    assert_eq!(mock.stats()["records"], N);
    assert_eq!(whole_mock.stats()["records"], N);

    // Resuming a finished run is refused, and so is changing the plan on resume.
    let done = syncproof()
        .args(["run", "--resume"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&done.stderr).contains("complete"));
    let changed = syncproof()
        .args(["run", "--records", "5", "--resume"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(changed.status.code(), Some(2));
}

/// The mock integration `syncproof mock --integration` serves: writes that commit and lose
/// their answer (retries), and a relay that loses 3% of the records and lags.
/// A mock-integration plan for `syncproof mock --integration`; `relay` adds relay keys.
fn integration_mock_plan(dir: &Path, relay: &str) -> PathBuf {
    let d = datasets();
    let text = format!(
        r#"
name = "integration-mock"
seed = 21
records = 1
shape = "{shape}"
sla = "{sla}"

[target]
kind = "mock-integration"

[target.source]
burst_max = 100000
daily_max = 100000000
search_per_second = 10000
commit_then_drop_rate = 0.01

[target.target]
burst_max = 100000
daily_max = 100000000
search_per_second = 10000

[target.relay]
lag = "30ms"
lag_max = "300ms"
loss_rate = 0.03
poll_interval = "50ms"
write_interval = "20ms"
{relay}

[load]
rate = "1/s"
"#,
        shape = d.join("shapes/contacts.toml").display(),
        sla = d.join("sla/demo.toml").display(),
    );
    let path = dir.join("mock.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// An integration-PoC plan: write to `source`, observe `target`, one token file for both.
fn integration_plan(dir: &Path, source: &str, target: &str, token: &str, records: u64) -> PathBuf {
    let systems = format!(
        "kind = \"integration\"\n\n[target.from]\nkind = \"hubspot\"\nbase_url = \"{source}\"\n\
         token_file = \"token\"\n\n[target.to]\nkind = \"hubspot\"\nbase_url = \"{target}\"\n\
         token_file = \"token\""
    );
    resume_plan(dir, "integration-resume", &systems, token, records)
}

#[test]
fn an_integration_poc_against_a_mock_integration_in_its_own_process_survives_kill_9() {
    const N: u64 = 1500;
    let token = "integration-t0k3n";
    let tmp = tempfile::tempdir().unwrap();
    let mock_plan = integration_mock_plan(tmp.path(), "");

    // The reference: never interrupted, against its own integration.
    let whole_mock = MockIntegrationProcess::start(&mock_plan, token);
    let whole_dir = tmp.path().join("whole");
    std::fs::create_dir_all(&whole_dir).unwrap();
    let whole_plan = integration_plan(&whole_dir, &whole_mock.source, &whole_mock.target, token, N);
    let whole = run_whole(&whole_plan, &whole_dir.join("run"));
    assert_eq!(whole["records"]["sent"], N);
    // The relay's losses are the integration's: the harness sees them at the target.
    let whole_lost = whole["records"]["lost"].as_u64().unwrap();
    assert!(
        whole_lost > 0,
        "a 3% loss rate over {N} records lost nothing"
    );

    // The same plan, killed twice and resumed: the integration lives on in its own process.
    let mock = MockIntegrationProcess::start(&mock_plan, token);
    let dir = tmp.path().join("killed");
    std::fs::create_dir_all(&dir).unwrap();
    let plan_path = integration_plan(&dir, &mock.source, &mock.target, token, N);
    let run = dir.join("run");
    let resumed = killed_twice_then_resumed(&plan_path, &run, 3, 6);
    // The relay decides each record's fate from its id: the same records are lost either way.
    for path in ["records.sent", "records.delivered", "records.lost"] {
        assert_eq!(
            figure(&resumed, path),
            figure(&whole, path),
            "{path}: resumed vs uninterrupted"
        );
    }
    accounted_once(&run, &resumed, N);

    // Ground truth: the source holds every record once; the target what was delivered.
    assert_eq!(MockIntegrationProcess::stats(&mock.source)["records"], N);
    assert_eq!(
        MockIntegrationProcess::stats(&mock.target)["records"],
        resumed["records"]["delivered"]
    );
    // The token is in no file of the run directory.
    let leaks = super::api_poc::files_containing(&run, token.as_bytes());
    assert!(leaks.is_empty(), "the token leaked into {leaks:?}");
}

/// `syncproof mock --integration` serves the relay a plan describes, here webhook-driven and
/// upserting: a PoC against it finds every record the relay did not lose, each once, although
/// the relay wrote some twice.
#[test]
fn a_mock_integration_process_serves_a_webhook_driven_upserting_relay() {
    const N: u64 = 600;
    let token = "webhook-t0k3n";
    let tmp = tempfile::tempdir().unwrap();
    let mock_plan = integration_mock_plan(
        tmp.path(),
        "mode = \"webhook\"\nwrite = \"upsert\"\nduplicate_rate = 0.1",
    );
    let mock = MockIntegrationProcess::start(&mock_plan, token);
    let dir = tmp.path().join("poc");
    std::fs::create_dir_all(&dir).unwrap();
    let plan = integration_plan(&dir, &mock.source, &mock.target, token, N);
    let s = run_whole(&plan, &dir.join("run"));
    assert_eq!(s["records"]["sent"], N);
    let delivered = s["records"]["delivered"].as_u64().unwrap();
    let lost = s["records"]["lost"].as_u64().unwrap();
    assert_eq!(delivered + lost, N);
    assert!(lost > 0, "a 3% loss rate over {N} records lost nothing");
    assert_eq!(s["duplicates"]["extra_copies"], 0);

    let target = MockIntegrationProcess::stats(&mock.target);
    assert_eq!(target["records"], delivered, "one copy per record");
    let updated = target["accounting"]["records_updated"].as_u64().unwrap();
    assert!(updated > 0, "the second writes were updates: {target}");
    assert!(target["accounting"]["calls"]["batch_create"].is_null());
    let source = MockIntegrationProcess::stats(&mock.source);
    assert_eq!(source["records"], N);
    let calls = &source["accounting"]["calls"];
    assert!(
        calls["batch_read"].is_object(),
        "the relay read what it was told of: {calls}"
    );
    assert!(
        calls["list"].is_null(),
        "a webhook-driven relay does not poll: {calls}"
    );
}

#[test]
fn the_built_in_mock_integration_cannot_be_resumed_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = syncproof()
        .args([
            "demo",
            "--records",
            "50",
            "--rate",
            "500/s",
            "--quiet",
            "--out",
        ])
        .arg(&run)
        .output()
        .unwrap();
    assert!(out.status.code().is_some());
    // Pretend it was interrupted: its summary says incomplete.
    let mut s = read_summary(&run);
    s["run"]["complete"] = Value::Bool(false);
    std::fs::write(run.join("summary.json"), s.to_string()).unwrap();
    let again = syncproof()
        .args(["run", "--resume"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("built-in mock integration"), "{err}");
}

/// Runs `datasets/plans/mock-two-weeks.toml` at 2000× with `records` at `rate` and returns its
/// summary.
fn two_weeks_plan_at_2000x(records: &str, rate: &str, out: &Path) -> Value {
    let plan = datasets().join("plans/mock-two-weeks.toml");
    let run = syncproof()
        .args([
            "run",
            plan.to_str().unwrap(),
            "--quiet",
            "--clock-speed",
            "2000",
        ])
        .args(["--records", records, "--rate", rate, "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert!(
        matches!(run.status.code(), Some(0 | 1 | 4)),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    read_summary(out)
}

#[test]
fn fourteen_simulated_days_at_2000x_reset_the_daily_quota_fourteen_times_in_flat_memory() {
    let tmp = tempfile::tempdir().unwrap();
    // The same records over one simulated day, then over fourteen (the last one due at the
    // start of day 15): memory must not grow with the run's length (the mock's store holds the
    // same records in both).
    let day = two_weeks_plan_at_2000x("1401", "1401/day", &tmp.path().join("day"));
    let fortnight = two_weeks_plan_at_2000x("1401", "100/day", &tmp.path().join("fortnight"));
    for s in [&day, &fortnight] {
        assert_eq!(s["run"]["complete"], true);
        assert_eq!(s["run"]["clock_speed"], 2000.0);
        assert_eq!(s["records"]["sent"], 1401);
        let c = &s["records"];
        assert_eq!(
            c["sent"].as_u64().unwrap(),
            c["delivered"].as_u64().unwrap() + c["lost"].as_u64().unwrap()
        );
    }
    let simulated = fortnight["run"]["duration_s"].as_f64().unwrap();
    let real = fortnight["run"]["real_duration_s"].as_f64().unwrap();
    assert!(simulated >= 14.0 * 86_400.0, "simulated {simulated} s");
    assert!(
        real < simulated / 1000.0,
        "real {real} s for {simulated} simulated"
    );
    for crm in ["source", "target"] {
        let resets = fortnight["ground_truth"][crm]["daily_resets"]
            .as_u64()
            .unwrap();
        assert!((14..=15).contains(&resets), "{crm}: {resets} daily resets");
        assert!(day["ground_truth"][crm]["daily_resets"].as_u64().unwrap() <= 2);
    }
    // API latency is not judged on a compressed clock; the reason says so.
    let api = fortnight["sla"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["metric"] == "latency.api_ms.p95")
        .unwrap();
    assert_eq!(api["verdict"], "inconclusive");
    assert!(api["note"].as_str().unwrap().contains("2000"));
    let (short, long) = (
        day["run"]["peak_rss_mib"].as_f64().unwrap(),
        fortnight["run"]["peak_rss_mib"].as_f64().unwrap(),
    );
    assert!(
        long <= short * 1.25 + 16.0,
        "peak memory {long} MiB over 14 days vs {short} MiB over one"
    );
}

#[test]
fn a_running_run_serves_prometheus_metrics_and_an_interim_summary() {
    let token = "metrics-t0k3n";
    let mock = mock(token, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let plan_path = plan(tmp.path(), &mock.base, token, 3000);
    let run = tmp.path().join("run");
    let mut child = syncproof()
        .args(["run", plan_path.to_str().unwrap(), "--quiet"])
        .args(["--metrics", "127.0.0.1:0", "--out"])
        .arg(&run)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let url = lines
        .by_ref()
        .map(Result::unwrap)
        .find_map(|l| l.strip_prefix("metrics: ").map(str::to_string))
        .expect("the metrics address is printed");
    std::thread::spawn(move || lines.for_each(drop));
    wait_for_segments(&run, 2, &mut child);
    let text = blocking_get(&url);
    let sent: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("syncproof_records_sent_total "))
        .expect("records sent are exposed")
        .parse()
        .unwrap();
    assert!(sent > 0.0 && sent <= 3000.0, "{sent}");
    assert!(
        text.contains("# TYPE syncproof_calls_total counter"),
        "{text}"
    );
    let interim: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("interim-summary.json")).unwrap())
            .unwrap();
    assert_eq!(interim["run"]["complete"], false);
    assert!(interim["records"]["sent"].as_u64().unwrap() > 0);
    let status = child.wait().unwrap();
    assert!(matches!(status.code(), Some(0 | 1 | 4)), "{status}");
    // The final summary replaces the interim one.
    assert!(run.join("summary.json").exists());
    assert!(!run.join("interim-summary.json").exists());
}
