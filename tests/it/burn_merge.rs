//! `syncproof burn` and `syncproof merge` on a real run directory (the built-in mock
//! integration): burn prices the run's own calls and refuses a bad contract with exit 2 and its
//! file and line; merge of a single shard reproduces its figures from the events, and the merged
//! directory is a run directory `syncproof report` accepts, its summary valid against the schema.

use std::process::Command;

use crate::support::{datasets, plan_text, read_summary, run};

fn syncproof() -> Command {
    Command::new(env!("CARGO_BIN_EXE_syncproof"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burn_and_merge_work_on_a_finished_run() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, summary) = run(dir.path(), &plan_text(300, 5, "", 0.0)).await;
    let run_dir = outcome.dir;

    let contract = datasets().join("contracts/example.toml");
    let out = syncproof()
        .args(["burn", "--contract"])
        .arg(&contract)
        .arg(&run_dir)
        .args(["--monthly-records", "1000000"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target_calls: u64 = summary["ground_truth"]["target"]["calls"]["batch_create"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(
        text.contains(&format!("| target | batch_create | {target_calls} |")),
        "{text}"
    );
    assert!(text.contains("| 3-year TCO |"), "{text}");
    // The same figures as burn.json and burn.html beside the run.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("burn.json")).unwrap()).unwrap();
    let batch = json["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["system"] == "target" && e["endpoint"] == "batch_create")
        .unwrap();
    assert_eq!(batch["calls"], target_calls);
    assert_eq!(json["projection"]["monthly_records"], 1_000_000);
    assert_eq!(json["years"].as_array().unwrap().len(), 3);
    let html = std::fs::read_to_string(run_dir.join("burn.html")).unwrap();
    assert!(
        html.contains("id=\"tco\"") && html.contains("batch_create"),
        "{html}"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[escalator]\npercent_per_year = 4\ncap_percent = 8\n[limits]\npublished = false\n").unwrap();
    let out = syncproof()
        .args(["burn", "--contract"])
        .arg(&bad)
        .arg(&run_dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml:4: cap_percent"), "{err}");

    let merged = dir.path().join("merged");
    let out = syncproof()
        .arg("merge")
        .arg(&run_dir)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 4)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back: serde_json::Value = read_summary(&merged);
    for key in [
        "records",
        "latency",
        "retries",
        "api",
        "completeness",
        "accuracy",
        "sla",
    ] {
        assert_eq!(back[key], summary[key], "{key}");
    }
    let out = syncproof().arg("report").arg(&merged).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1 | 4)));
    let out = syncproof()
        .arg("merge")
        .arg(&run_dir)
        .arg("--out")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
