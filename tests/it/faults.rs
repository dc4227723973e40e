//! Every retry policy against every fault overlay of `syncproof mock`, over real loopback HTTP,
//! with every record accounted for: sent once, delivered or lost, and held by the mock exactly as
//! often as the harness says it was delivered (upserts never duplicate).
//!
//! The mock and the harness share a clock 20× real time, so a maintenance window 60 s after the
//! mock starts, its 30 s of 503s, and 30 s blackholes all happen within seconds.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::support::{MockProcess, datasets, read_summary, syncproof_bin};

const TOKEN: &str = "faults-t0k3n";
const SPEED: &str = "20";
const RECORDS: u64 = 400;

fn syncproof() -> Command {
    syncproof_bin()
}

fn mock(overlay: &str) -> MockProcess {
    MockProcess::start(
        TOKEN,
        &["--seed", "3", "--faults", overlay, "--clock-speed", SPEED],
    )
}

/// The retry policies a plan can state.
const POLICIES: [(&str, &str); 3] = [
    (
        "honours Retry-After",
        "max_attempts = 10\nbase_delay = \"200ms\"\nmax_delay = \"20s\"\nhonor_retry_after = true",
    ),
    (
        "ignores Retry-After",
        "max_attempts = 10\nbase_delay = \"200ms\"\nmax_delay = \"20s\"\nhonor_retry_after = false",
    ),
    ("a single attempt", "max_attempts = 1"),
];

fn run(dir: &Path, base: &str, retry: &str) -> Value {
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    let d = datasets();
    // 400 records at 5/s: 80 simulated seconds, across the maintenance window (60 s to 90 s).
    let plan = format!(
        r#"
name = "faults"
seed = 4
records = {RECORDS}
shape = "{shape}"
sla = "{sla}"

[target]
kind = "hubspot"
base_url = "{base}"
token_file = "token"

[load]
rate = "5/s"
batch_size = 10
linger = "1s"
concurrency = 4
timeout = "5s"
clock_speed = {SPEED}

[retry]
{retry}

[verify]
poll_interval = "500ms"
window = "3m"                 # 9 s of wall clock at 20×: loaded machines are slow to read back
read_rate = "50/s"
search_rate = "4/s"
"#,
        shape = d.join("shapes/contacts.toml").display(),
        sla = d.join("sla/demo.toml").display(),
    );
    std::fs::write(dir.join("plan.toml"), plan).unwrap();
    let out = syncproof()
        .args(["run", "plan.toml", "--quiet", "--out", "run"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 4)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    read_summary(&dir.join("run"))
}

/// Runs every policy against `overlay` and checks the accounting; returns the faults the mocks
/// counted, summed over the policies.
fn every_policy_against(overlay: &str) -> Value {
    let mut faults = serde_json::Map::new();
    for (policy, retry) in POLICIES {
        let tmp = tempfile::tempdir().unwrap();
        let m = mock(overlay);
        let s = run(tmp.path(), &m.base, retry);
        let what = format!("{overlay}, {policy}");
        let n = |path: &str| {
            path.split('.')
                .fold(&s, |v, k| &v[k])
                .as_u64()
                .unwrap_or_else(|| panic!("{what}: {path}"))
        };
        assert_eq!(n("records.sent"), RECORDS, "{what}");
        assert_eq!(
            n("records.delivered") + n("records.lost"),
            RECORDS,
            "{what}"
        );
        let truth = m.stats();
        assert_eq!(
            truth["records"].as_u64().unwrap(),
            n("records.delivered"),
            "{what}: the mock holds exactly the records seen there"
        );
        assert_eq!(s["duplicates"]["exact_rate"], 0.0, "{what}");
        // The mock loses nothing it committed: a record missing at the end is one the client
        // gave up on. A client that waits as Retry-After says recovers every record; one that
        // ignores it can run out of attempts inside a 30 s maintenance window, as real ones do.
        assert!(
            n("records.lost") <= n("retries.gave_up"),
            "{what}: {} lost, {} given up",
            n("records.lost"),
            n("retries.gave_up")
        );
        if policy == "honours Retry-After" {
            assert_eq!(n("records.lost"), 0, "{what}: retries recover every record");
        }
        for (k, v) in truth["accounting"]["faults"].as_object().unwrap() {
            let sum = faults.get(k).and_then(Value::as_u64).unwrap_or(0) + v.as_u64().unwrap();
            faults.insert(k.clone(), sum.into());
        }
    }
    Value::Object(faults)
}

#[test]
fn brownout() {
    let f = every_policy_against("brownout");
    assert!(f["transient_5xx"].as_u64().unwrap() > 0, "{f}");
}

#[test]
fn commit_then_drop() {
    let f = every_policy_against("commit-then-drop");
    assert!(f["commit_then_drop"].as_u64().unwrap() > 0, "{f}");
}

#[test]
fn maintenance_window() {
    let f = every_policy_against("maintenance-window");
    assert!(f["maintenance"].as_u64().unwrap() > 0, "{f}");
}

#[test]
fn blackhole() {
    let f = every_policy_against("blackhole");
    assert!(f["blackhole"].as_u64().unwrap() > 0, "{f}");
}

#[test]
fn connection_reset() {
    let f = every_policy_against("connection-reset");
    assert!(f["connection_reset"].as_u64().unwrap() > 0, "{f}");
}

#[test]
fn slow_body() {
    let f = every_policy_against("slow-body");
    assert!(f["slow_body"].as_u64().unwrap() > 0, "{f}");
}

#[test]
fn quota_edge_eventual_search_and_locks() {
    every_policy_against("quota-edge");
    every_policy_against("eventual-search");
    every_policy_against("locked");
}

/// The built-in mock's source allows 10 calls per rolling second per app; the harness writes 30
/// records a second, one per call. Without a client-side limit the vendor throttles its writes;
/// with `limit = "9/s"` and a burst of 1 (a token bucket lets through at most burst + rate × W in
/// any window W: 1 + 9 ≤ 10) it never has to, and every record still arrives. On a 10× clock,
/// so the limiter's period is checked on the run's clock, not the wall's.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_side_limit_keeps_the_vendor_from_throttling() {
    use super::support::{get, plan_text, run};
    let free = plan_text(60, 7, "", 0.0)
        .replacen(
            "burst_max = 100000",
            "burst_max = 10\nburst_window = \"1s\"",
            1,
        )
        .replace(
            "rate = \"1500/s\"\nbatch_size = 25",
            "rate = \"30/s\"\nbatch_size = 1\nclock_speed = 10",
        );
    assert!(free.contains("clock_speed = 10"), "the template changed");
    let limited = free.replace(
        "clock_speed = 10",
        "clock_speed = 10\nlimit = \"9/s\"\nlimit_burst = 1",
    );
    // The harness's writes the source answered 429 (the relay polls it under its own app).
    let throttled = |s: &Value| {
        s["ground_truth"]["source"]["calls"]["batch_upsert"]["429"]
            .as_u64()
            .unwrap_or(0)
    };
    let a = tempfile::tempdir().unwrap();
    let (_, unlimited) = run(a.path(), &free).await;
    let b = tempfile::tempdir().unwrap();
    let (_, paced) = run(b.path(), &limited).await;
    for s in [&unlimited, &paced] {
        assert_eq!(get(s, "records.sent"), 60.0);
        assert_eq!(get(s, "records.delivered"), 60.0);
    }
    assert!(throttled(&unlimited) > 0, "{}", unlimited["ground_truth"]);
    assert_eq!(throttled(&paced), 0, "{}", paced["ground_truth"]);
    assert_eq!(get(&paced, "api.throttled_calls"), 0.0);
}
