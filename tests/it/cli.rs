//! The binary as a user meets it: help lists the knobs, bad input is refused in one line that
//! names the file, the key and the fix, with exit code 2 and no run directory claiming success.

use crate::support::read_summary;
use std::process::Command;

fn syncproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_syncproof"))
}

#[test]
fn demo_help_lists_the_knobs_scripts_rely_on() {
    let out = syncproof().args(["demo", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--records",
        "--rate",
        "--seed",
        "--out",
        "--loss-rate",
        "--duplicate-rate",
        "--error-rate",
        "--drop-rate",
        "--lag",
    ] {
        assert!(help.contains(flag), "{flag} missing from demo --help");
    }
}

fn refused(args: &[&str], out_dir: &std::path::Path) -> String {
    let out = syncproof().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out_dir.join("summary.json").exists(),
        "no run directory claiming success"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "one-line error: {stderr}");
    stderr
}

#[test]
fn a_misspelt_plan_key_is_refused_with_file_line_and_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let text = crate::support::plan_text(10, 1, "", 0.0).replace("linger =", "lingr =");
    let plan = crate::support::write_plan(dir.path(), &text);
    let out = dir.path().join("run");
    let err = refused(
        &[
            "run",
            plan.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &out,
    );
    assert!(
        err.contains("plan.toml:")
            && err.contains("unknown key \"lingr\" in [load]")
            && err.contains("did you mean \"linger\""),
        "{err}"
    );
}

/// Runs the demo with an SLA file of `text`; returns the one-line refusal.
fn refused_sla(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let sla = dir.path().join("sla.toml");
    std::fs::write(&sla, text).unwrap();
    let out = dir.path().join("run");
    let args = [
        "demo",
        "--sla",
        sla.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    refused(&args, &out)
}

#[test]
fn a_wrong_type_in_the_sla_file_names_file_and_key() {
    let err = refused_sla(
        "[[sla]]\nname = \"x\"\nmetric = \"records.loss_rate\"\nop = \"<=\"\nthreshold = \"low\"\n",
    );
    assert!(
        err.contains("sla.toml:5") && err.contains("threshold"),
        "{err}"
    );
}

#[test]
fn an_unknown_sla_metric_gets_the_closest_figure() {
    let err = refused_sla(
        "[[sla]]\nname = \"x\"\nmetric = \"latency.synk_ms.p95\"\nop = \"<=\"\nthreshold = 1\n",
    );
    assert!(
        err.contains("did you mean \"latency.sync_ms.p95\""),
        "{err}"
    );
}

#[test]
fn a_missing_plan_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let err = refused(
        &["run", "no/such/plan.toml", "--out", out.to_str().unwrap()],
        &out,
    );
    assert!(
        err.contains("no/such/plan.toml") && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn a_drop_rate_for_a_field_the_shape_lacks_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let err = refused(
        &[
            "demo",
            "--drop-rate",
            "phnoe=0.1",
            "--out",
            out.to_str().unwrap(),
        ],
        &out,
    );
    assert!(
        err.contains("--drop-rate") && err.contains("did you mean \"phone\""),
        "{err}"
    );
}

fn demo(extra: &[&str], out: &std::path::Path) -> std::process::Output {
    let mut args = vec![
        "demo",
        "--records",
        "300",
        "--rate",
        "600/s",
        "--loss-rate",
        "0",
        "--seed",
        "5",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    syncproof().args(&args).output().unwrap()
}

#[test]
fn a_sample_too_small_to_decide_exits_4_and_says_what_would() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let result = demo(&[], &out);
    // 0 lost of 300 cannot show "at most 1 %" at 95 % confidence (Wilson upper bound 1.26 %).
    assert_eq!(
        result.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let table = String::from_utf8(result.stdout).unwrap();
    assert!(
        table.contains("INCONCLUSIVE") && table.contains("overall: INCONCLUSIVE"),
        "{table}"
    );
    let summary: serde_json::Value = read_summary(&out);
    let loss = summary["sla"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["metric"] == "records.loss_rate")
        .unwrap();
    assert_eq!(loss["verdict"], "inconclusive");
    assert!(loss["samples_needed"].as_u64().unwrap() > 300);
    for file in [
        "plan.toml",
        "report.md",
        "junit.xml",
        "data/contact.parquet",
    ] {
        assert!(out.join(file).exists(), "{file} missing");
    }
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(junit.contains("<skipped message=\"inconclusive"), "{junit}");
}

#[test]
fn a_breached_sla_exits_1_with_a_junit_failure() {
    let dir = tempfile::tempdir().unwrap();
    let sla = dir.path().join("sla.toml");
    std::fs::write(&sla, "[[sla]]\nname = \"sync p50 under 1 ms\"\nmetric = \"latency.sync_ms.p50\"\nop = \"<=\"\nthreshold = 1\n").unwrap();
    let out = dir.path().join("run");
    let result = demo(&["--sla", sla.to_str().unwrap()], &out);
    assert_eq!(
        result.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let junit = std::fs::read_to_string(out.join("junit.xml")).unwrap();
    assert!(
        junit.contains("failures=\"1\"")
            && junit.contains("<failure message=\"latency.sync_ms.p50"),
        "{junit}"
    );
    // A second run into the same directory is refused rather than mixed with the first.
    let again = demo(&[], &out);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a run"));
}

#[tokio::test]
async fn mock_serves_standalone_with_health_stats_and_its_token_then_stops_on_ctrl_c() {
    let body = serde_json::json!({ "properties": { "email": "a@b.co" } });
    let profile = ["--faults", "latency-realistic"];
    let created = ("/crm/v3/objects/contacts", "create");
    mock_round_trip(&profile, created, body, ("x-hubspot-ratelimit-max", "190")).await;
}

#[tokio::test]
async fn mock_serves_the_salesforce_profile_the_same_way() {
    let body = serde_json::json!({ "LastName": "Lovelace" });
    let profile = ["--profile", "salesforce-developer"];
    let created = ("/services/data/v60.0/sobjects/Contact", "sobject_create");
    mock_round_trip(
        &profile,
        created,
        body,
        ("sforce-limit-info", "api-usage=1/15000"),
    )
    .await;
}

/// Starts `syncproof mock` with `profile` arguments and checks what every profile promises: the
/// printed base URL and token, health, a refused and an accepted create (`created`: path and
/// accounting name) answered with `header`, the stats, and a clean stop on Ctrl-C.
async fn mock_round_trip(
    profile: &[&str],
    created: (&str, &str),
    body: serde_json::Value,
    header: (&str, &str),
) {
    use std::io::BufRead;
    let mut child = syncproof()
        .args(["mock", "--port", "0", "--token", "t0k3n"])
        .args(profile)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .split(" at ")
        .nth(1)
        .expect("the base URL is printed")
        .trim()
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    assert_eq!(lines.next().unwrap().unwrap(), "token: t0k3n");

    let http = reqwest::Client::new();
    let health: serde_json::Value = http
        .get(format!("{base}/__syncproof/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let create = format!("{base}{}", created.0);
    let denied = http
        .post(&create)
        .bearer_auth("wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status().as_u16(), 401);
    let answer = http
        .post(&create)
        .bearer_auth("t0k3n")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 201);
    assert_eq!(answer.headers()[header.0], header.1);
    let stats: serde_json::Value = http
        .get(format!("{base}/__syncproof/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["records"], 1);
    assert_eq!(stats["accounting"]["calls"][created.1]["201"], 1);
    assert_eq!(stats["accounting"]["faults"]["unauthorized"], 1);

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(
        rest.iter()
            .any(|l| l.starts_with("stopped: ") && l.contains("1 records created")),
        "{rest:?}"
    );
}

#[test]
fn mock_refuses_an_unknown_profile_with_a_suggestion() {
    let out = syncproof()
        .args(["mock", "--profile", "hubspot-professional", "--port", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("did you mean \"hubspot-pro"), "{err}");
}

#[test]
fn ctrl_c_drains_and_leaves_a_report_marked_partial() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut child = syncproof()
        .args([
            "demo",
            "--records",
            "100000",
            "--rate",
            "500/s",
            "--out",
            out.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first progress line: records are being sent.
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let progress = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.trim_start().starts_with("sent "));
    assert!(progress.is_some(), "the run printed no progress");
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(3), "{rest:?}");
    assert!(rest.iter().any(|l| l.contains("interrupted")), "{rest:?}");
    let summary: serde_json::Value = read_summary(&out);
    assert_eq!(summary["run"]["complete"], false);
    let sent = summary["records"]["sent"].as_f64().unwrap();
    assert!(sent > 0.0 && sent < 100_000.0, "sent {sent}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("interrupted"),
        "the memo says it is partial"
    );
}
