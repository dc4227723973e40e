//! Shared helpers: plans written to a temp dir that point at the shipped datasets, and runs of
//! the library or the binary against the built-in mock.

use std::path::{Path, PathBuf};

use serde_json::Value;
use syncproof::config::Source;
use syncproof::replay::{Plan, PlanOverrides};
use syncproof::run::{RunOptions, RunOutcome, execute};
use tokio_util::sync::CancellationToken;

pub fn datasets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets")
}

/// A fast plan: high rate, generous limits, no injected latency, relay knobs from `relay`.
pub fn plan_text(records: u64, seed: u64, relay: &str, source_errors: f64) -> String {
    plan_text_with(
        records,
        seed,
        relay,
        &format!("error_rate = {source_errors}"),
        "",
    )
}

/// Like [`plan_text`], with extra keys for the source and target mock CRMs.
pub fn plan_text_with(records: u64, seed: u64, relay: &str, source: &str, target: &str) -> String {
    let d = datasets();
    format!(
        r#"
name = "it"
seed = {seed}
records = {records}
shape = "{shape}"
sla = "{sla}"

[target]
kind = "mock-integration"

[target.source]
burst_max = 100000
search_per_second = 200
{source}

[target.target]
burst_max = 100000
search_per_second = 200
{target}

[target.relay]
poll_interval = "20ms"
write_interval = "20ms"
lag = "20ms"
lag_max = "200ms"
{relay}

[load]
rate = "1500/s"
batch_size = 25
linger = "50ms"
concurrency = 8

[retry]
base_delay = "20ms"
max_delay = "500ms"
max_attempts = 8

{FAST_VERIFY}"#,
        shape = d.join("shapes/contacts.toml").display(),
        sla = d.join("sla/demo.toml").display(),
    )
}

/// Verification fast enough for tests: frequent read-back, a short window, generous call rates
/// (the mocks in tests run with their limits raised).
pub const FAST_VERIFY: &str = r#"[verify]
poll_interval = "100ms"
window = "5s"
read_rate = "200/s"
search_rate = "150/s"
"#;

/// Writes `text` as a plan file in `dir`.
pub fn write_plan(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("plan.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Loads the plan file at `path` as `syncproof run` does without flags.
pub fn load_plan(path: &Path) -> Result<Plan, syncproof::config::ConfigError> {
    Plan::load(&Source::read(path).unwrap(), &PlanOverrides::default())
}

/// Why the plan file at `path` is refused (fails the test when it loads).
pub fn plan_error_at(path: &Path) -> String {
    match load_plan(path) {
        Ok(_) => panic!("{} loaded; a refusal was expected", path.display()),
        Err(e) => e.to_string(),
    }
}

/// Writes `text` as `dir/plan.toml` and says why it is refused.
pub fn plan_error(dir: &Path, text: &str) -> String {
    plan_error_at(&write_plan(dir, text))
}

/// Runs a plan through the library; returns the outcome and the parsed summary.json.
pub async fn run(dir: &Path, text: &str) -> (RunOutcome, Value) {
    run_with(dir, text, &PlanOverrides::default()).await
}

/// [`run`] with command-line overrides.
pub async fn run_with(dir: &Path, text: &str, overrides: &PlanOverrides) -> (RunOutcome, Value) {
    let path = write_plan(dir, text);
    let plan = Plan::load(&Source::read(&path).unwrap(), overrides).unwrap();
    let options = RunOptions {
        out: Some(dir.join("run")),
        progress: false,
        metrics: None,
    };
    let outcome = execute(plan, options, CancellationToken::new())
        .await
        .unwrap();
    let summary: Value = read_summary(&outcome.dir);
    (outcome, summary)
}

/// The `summary.json` of the run directory `dir`.
pub fn read_summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

pub fn get(summary: &Value, path: &str) -> f64 {
    syncproof::report::lookup(summary, path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("summary.json has no number at {path}"))
}

/// |observed − n·p| within `k` binomial standard deviations.
pub fn within_binomial(observed: f64, n: f64, p: f64, k: f64) -> bool {
    let sd = (n * p * (1.0 - p)).sqrt().max(1.0);
    (observed - n * p).abs() <= k * sd
}

/// Whether `CI` is set (to anything but empty, `false` or `0`): tools a test needs must then be
/// installed, and a missing one fails the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The `syncproof` binary under test.
pub fn syncproof_bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_syncproof"))
}

/// `syncproof mock` in its own process on a free loopback port, accepting `token`; killed when
/// dropped. `extra` adds flags (`--faults`, `--clock-speed`, `--no-limits`, ...).
pub struct MockProcess {
    child: std::process::Child,
    pub base: String,
}

impl MockProcess {
    pub fn start(token: &str, extra: &[&str]) -> MockProcess {
        use std::io::BufRead;
        let mut child = syncproof_bin()
            .args(["mock", "--port", "0", "--token", token])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let base = first.split(" at ").nth(1).unwrap().trim().to_string();
        // Keep reading its output so the pipe never fills.
        std::thread::spawn(move || lines.for_each(drop));
        MockProcess { child, base }
    }

    /// `GET /__syncproof/stats`: what the mock saw and did.
    pub fn stats(&self) -> Value {
        serde_json::from_str(&blocking_get(&format!("{}/__syncproof/stats", self.base))).unwrap()
    }
}

/// `syncproof mock --integration PLAN` in its own process: source CRM, relay, target CRM.
pub struct MockIntegrationProcess {
    child: std::process::Child,
    pub source: String,
    pub target: String,
}

impl MockIntegrationProcess {
    pub fn start(plan: &Path, token: &str) -> MockIntegrationProcess {
        use std::io::BufRead;
        let mut child = syncproof_bin()
            .args(["mock", "--token", token, "--integration"])
            .arg(plan)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut url = |prefix: &str| loop {
            let line = lines.next().unwrap().unwrap();
            if let Some(url) = line.strip_prefix(prefix) {
                return url.trim().to_string();
            }
        };
        let (source, target) = (url("source:"), url("target:"));
        std::thread::spawn(move || lines.for_each(drop));
        MockIntegrationProcess {
            child,
            source,
            target,
        }
    }

    /// `GET /__syncproof/stats` of the source or the target CRM.
    pub fn stats(url: &str) -> Value {
        serde_json::from_str(&blocking_get(&format!("{url}/__syncproof/stats"))).unwrap()
    }
}

impl Drop for MockIntegrationProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET from synchronous test code; the body as text.
pub fn blocking_get(url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { reqwest::get(url).await.unwrap().text().await.unwrap() })
}
