//! `summary.json` validates against its checked-in JSON Schema
//! (`harness/report/summary.schema.json`), the contract CI pipelines rely on: a real run with
//! loss, duplicates and transient errors passes, and the schema is strict enough that a rate
//! outside 0..=1, an unknown verdict or a missing figure is refused.

use serde_json::{Value, json};

use crate::support::{plan_text, run};

pub fn schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/harness/report/summary.schema.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON: {e}"))
}

/// A way to break a summary, named for the failure message.
type Breakage = (&'static str, fn(&mut Value));

fn errors(validator: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_runs_summary_validates_and_broken_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let relay = "loss_rate = 0.02\nduplicate_rate = 0.02\ndrop_rates = { phone = 0.05 }";
    let (_, summary) = run(dir.path(), &plan_text(400, 5, relay, 0.02)).await;
    let validator = jsonschema::draft202012::new(&schema()).expect("the schema compiles");
    let found = errors(&validator, &summary);
    assert!(
        found.is_empty(),
        "summary.json breaks its schema: {found:#?}"
    );

    // The retry distributions account for every record and every write call once, and the
    // mock's ground truth of retry-made duplicates is carried over.
    let sum = |v: &serde_json::Value| -> u64 {
        v.as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum()
    };
    let r = &summary["retries"];
    assert_eq!(sum(&r["records_by_attempts"]), summary["records"]["sent"]);
    assert_eq!(sum(&r["write_calls_by_attempt"]), summary["api"]["calls"]);
    let attempts: u64 = r["records_by_attempts"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| k.parse::<u64>().unwrap() * n.as_u64().unwrap())
        .sum();
    assert_eq!(attempts, r["record_attempts"]);
    assert_eq!(
        r["duplicates_created"],
        summary["ground_truth"]["relay"]["duplicate_copies"]
    );
    assert_eq!(
        r["retry_calls"].as_u64().unwrap(),
        sum(&r["write_calls_by_attempt"]) - r["write_calls_by_attempt"]["1"].as_u64().unwrap()
    );

    let broken: [Breakage; 5] = [
        ("rate above 1", |s| s["records"]["loss_rate"] = json!(2.0)),
        ("unknown verdict", |s| s["verdict"] = json!("maybe")),
        ("missing figure", |s| {
            s["latency"]["sync_ms"]
                .as_object_mut()
                .unwrap()
                .remove("p95");
        }),
        ("negative count", |s| s["records"]["sent"] = json!(-1)),
        ("unknown verification method", |s| {
            s["verification"]["kind"] = json!("carrier-pigeon")
        }),
    ];
    for (what, breaks) in broken {
        let mut bad = summary.clone();
        breaks(&mut bad);
        assert!(
            !validator.is_valid(&bad),
            "the schema accepts a summary with a {what}"
        );
    }
}

/// A run's events read in DuckDB with the columns and types the README documents, and their
/// counts are the summary's: every first attempt is a record sent, every `observed` row a record
/// delivered, every write `call` row a write call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_events_read_in_duckdb_with_the_documented_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, s) = run(dir.path(), &plan_text(600, 21, "loss_rate = 0.02", 0.02)).await;
    let script = r#"
import json, sys
import duckdb
events = sys.argv[1] + "/events/*.parquet"
out = {"types": {n: t for n, t, *_ in duckdb.sql(f"DESCRIBE SELECT * FROM '{events}'").fetchall()}}
q = lambda sql: duckdb.sql(sql.replace("EV", f"'{events}'")).fetchall()[0][0]
out["first_attempts"] = q("SELECT count(*) FROM EV WHERE kind = 'attempt' AND attempt = 1")
out["observed"] = q("SELECT count(*) FROM EV WHERE kind = 'observed'")
out["lost"] = q("SELECT count(*) FROM EV WHERE kind = 'lost'")
out["write_calls"] = q("SELECT count(*) FROM EV WHERE kind = 'call' AND endpoint LIKE 'write:%'")
out["p50"] = q("SELECT quantile_cont(latency_ms, 0.5) FROM EV WHERE kind = 'observed'")
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&outcome.dir)
        .output()
        .expect("python3 runs (pip install duckdb)");
    assert!(
        out.status.success(),
        "needs python3 with duckdb (pip install duckdb): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ts = "TIMESTAMP WITH TIME ZONE";
    for (column, ty) in [
        ("kind", "VARCHAR"),
        ("record_idx", "UBIGINT"),
        ("external_id", "VARCHAR"),
        ("call_id", "UBIGINT"),
        ("attempt", "UINTEGER"),
        ("endpoint", "VARCHAR"),
        ("status", "USMALLINT"),
        ("outcome", "VARCHAR"),
        ("scheduled_at", ts),
        ("sent_at", ts),
        ("done_at", ts),
        ("service_ms", "DOUBLE"),
        ("latency_ms", "DOUBLE"),
        ("retry_after_ms", "UBIGINT"),
        ("n_records", "UINTEGER"),
        ("copies", "UINTEGER"),
    ] {
        assert_eq!(v["types"][column], ty, "{column}: {}", v["types"]);
    }
    assert_eq!(v["first_attempts"], s["records"]["sent"]);
    assert_eq!(v["observed"], s["records"]["delivered"]);
    assert_eq!(v["lost"], s["records"]["lost"]);
    assert_eq!(v["write_calls"], s["api"]["calls"]);
    let p50 = v["p50"].as_f64().unwrap();
    let summary_p50 = s["latency"]["sync_ms"]["p50"].as_f64().unwrap();
    // HDR buckets keep 3 significant digits; DuckDB interpolates exactly.
    assert!(
        (p50 - summary_p50).abs() <= summary_p50 * 0.02 + 1.0,
        "DuckDB p50 {p50} vs summary {summary_p50}"
    );
}
