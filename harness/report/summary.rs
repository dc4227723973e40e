//! `summary.json`: every figure of a run and every verdict. Figures an SLA can name are written
//! from the same [`Metrics`] the verdicts were judged on, so the file and the verdicts can never
//! disagree; the rest (counts behind each rate, the mock's ground truth) sits beside them.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::measure::{Ledger, STORM_MIN_RETRIES, STORM_WINDOW};
use crate::quality::Scorecard;
use crate::sla::{Metrics, Op, Verdict, VerdictKind, overall};

/// Why a `summary.json` cannot be read back into a [`Summary`]; names the entry and the key.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum SummaryError {
    #[error("no \"sla\" array: not a syncproof summary (re-run, or restore the file)")]
    NoVerdicts,
    #[error("sla[{index}].{key}: missing or not {expected} (restore the file from the run)")]
    Verdict {
        index: usize,
        key: &'static str,
        expected: &'static str,
    },
}

/// Facts about the run itself.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RunInfo {
    pub id: String,
    pub plan: String,
    pub seed: u64,
    pub started_at: String,
    pub finished_at: String,
    pub duration_s: f64,
    /// False when the run was interrupted: figures cover only what was sent before.
    pub complete: bool,
    /// Records this run was to send (its shard's slice under `--shard`).
    pub records_planned: u64,
    /// `K/N` when the run is one shard of a larger run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub rate_per_s: f64,
    pub verify_poll_interval_ms: u64,
    pub verify_window_ms: u64,
    /// Simulated seconds per real second: 1 for real time; above 1 against the built-in mock
    /// under `--clock-speed` (every `_s`/`_ms` figure is on the run's clock).
    #[serde(default = "real_time")]
    pub clock_speed: f64,
    /// Seconds the run took on the wall clock (`duration_s` is on the run's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub real_duration_s: Option<f64>,
    /// How many times the run was resumed (`run --resume`) after an interruption.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resumes: u32,
    /// CPU seconds this process spent (user + system; with the built-in mock when it ran
    /// inside): near `real_duration_s` × cores means the client, not the target, was the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_s: Option<f64>,
    /// `cpu_s` as a share of `real_duration_s`, in percent of one core: near 100 × the cores the
    /// process may use, the client was the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_pct_of_wall: Option<f64>,
    /// Peak resident memory of this process, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    /// `[load] rate = "max"`: no schedule, each connection sends its next record as soon as the
    /// previous answer arrives; `rate_per_s` is then the rate reached.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub closed_loop: bool,
}

#[cfg(test)]
impl RunInfo {
    /// A finished one-second run of 10 records, for tests of what is built from a `RunInfo`.
    pub(crate) fn example(id: &str, plan: &str, seed: u64) -> RunInfo {
        RunInfo {
            id: id.into(),
            plan: plan.into(),
            seed,
            started_at: "s".into(),
            finished_at: "f".into(),
            duration_s: 1.0,
            complete: true,
            records_planned: 10,
            shard: None,
            rate_per_s: 1.0,
            verify_poll_interval_ms: 200,
            verify_window_ms: 8000,
            clock_speed: 1.0,
            real_duration_s: None,
            resumes: 0,
            cpu_s: None,
            cpu_pct_of_wall: None,
            peak_rss_mib: None,
            closed_loop: false,
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn real_time() -> f64 {
    1.0
}

/// Resumes and the harness's own CPU and memory, as a sentence (empty when unknown).
pub fn process_text(summary: &Value) -> String {
    let run = &summary["run"];
    let mut parts = Vec::new();
    match run["resumes"].as_u64() {
        Some(1) => parts.push("Resumed once after an interruption.".to_string()),
        Some(n) if n > 1 => parts.push(format!("Resumed {n} times after interruptions.")),
        _ => {}
    }
    if let (Some(cpu), Some(rss)) = (run["cpu_s"].as_f64(), run["peak_rss_mib"].as_f64()) {
        let share = run["cpu_pct_of_wall"]
            .as_f64()
            .map(|pct| format!(" ({pct:.0} % of one core over the run's wall time)"))
            .unwrap_or_default();
        parts.push(format!(
            "Harness process: {cpu:.1} CPU s{share}, peak memory {rss:.1} MiB."
        ));
    }
    if run["closed_loop"].as_bool() == Some(true) {
        parts.push(
            "Closed loop (rate = \"max\"): each connection sent as soon as its previous call \
             was answered; latency is service time."
                .to_string(),
        );
    }
    parts.join(" ")
}

/// How the target was reached: its URL, TLS version (flagged below 1.2, and visibly "none" for
/// plain HTTP) and authentication. Empty for summaries written before it was recorded.
pub fn target_text(summary: &Value) -> String {
    let t = &summary["target"];
    let Some(tls) = t["tls_version"].as_str() else {
        return String::new();
    };
    let url = t["base_url"].as_str().unwrap_or("?");
    let mut text = format!("Target `{url}`, TLS: {tls}.");
    if t["tls_below_1_2"].as_bool() == Some(true) {
        text.push_str(
            " **Flag: the connection is below TLS 1.2 (or its version is unknown); every CRM \
             vendor requires 1.2 or later.**",
        );
    } else if tls == crate::replay::tls::PLAIN_HTTP && t["kind"] != "mock-integration" {
        text.push_str(" **Unencrypted: acceptable for a loopback mock only.**");
    }
    if t["auth"]["kind"] == "oauth" {
        let n = |k: &str| t["auth"][k].as_u64().unwrap_or(0);
        text.push_str(&format!(
            " OAuth: {} access tokens obtained ({} after a 401), {} refresh failures.",
            n("refreshes"),
            n("refreshed_after_401"),
            n("refresh_failures")
        ));
    }
    text
}

/// How long a run took, stating both clocks when it ran time-compressed.
pub fn duration_text(summary: &Value) -> String {
    let run = &summary["run"];
    let on_run_clock = run["duration_s"].as_f64().unwrap_or(0.0);
    let speed = run["clock_speed"].as_f64().unwrap_or(1.0);
    match run["real_duration_s"].as_f64() {
        Some(real) if speed != 1.0 => format!(
            "{} simulated at {speed}× real time; {:.1} s on the wall clock",
            crate::units::format_duration(std::time::Duration::from_secs_f64(
                on_run_clock.round().max(0.0)
            )),
            real
        ),
        _ => format!("{on_run_clock:.1} s"),
    }
}

/// The finished run, as written to `summary.json`.
#[derive(Debug, Clone)]
pub struct Summary {
    pub json: Value,
    pub verdicts: Vec<Verdict>,
    pub overall: VerdictKind,
}

impl Summary {
    pub fn build(
        run: &RunInfo,
        ledger: &Ledger,
        card: &Scorecard,
        metrics: &Metrics,
        verdicts: Vec<Verdict>,
        ground_truth: Option<Value>,
    ) -> Summary {
        let c = &ledger.counts;
        let status = |m: &std::collections::BTreeMap<u16, u64>| -> Map<String, Value> {
            m.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()
        };
        let overall = overall(&verdicts);
        let mut json = json!({
            "schema_version": 1,
            "run": run,
            "verdict": overall.as_str(),
            "records": { "late": card.late },
            "latency": {
                "sync_ms": { "n": ledger.sync.len(), "mean": ledger.sync.summary().mean },
                "api_ms": { "n": ledger.api.len(), "mean": ledger.api.summary().mean },
            },
            "retries": {
                "record_attempts": c.record_attempts,
                "retried": c.retried,
                "records_by_attempts": ledger.records_by_attempts().iter()
                    .map(|(k, n)| (k.to_string(), json!(n))).collect::<Map<_, _>>(),
                "write_calls_by_attempt": c.write_calls_by_attempt.iter()
                    .map(|(k, n)| (k.to_string(), json!(n))).collect::<Map<_, _>>(),
                "retry_calls": c.write_calls_by_attempt.range(2..).map(|(_, n)| n).sum::<u64>(),
                "storms": {
                    "window_s": STORM_WINDOW.as_secs(),
                    "min_retries": STORM_MIN_RETRIES,
                    "windows": c.storms.count(),
                    "worst_retries": c.storms.worst().0,
                    "worst_fresh": c.storms.worst().1,
                    "peak_ratio": (c.storms.peak_ratio() * 1e6).round() / 1e6,
                },
                // Ground truth of a mock integration: records its retries wrote twice.
                "duplicates_created": ground_truth.as_ref()
                    .and_then(|t| t.pointer("/relay/duplicated")).cloned().unwrap_or(Value::Null),
            },
            "duplicates": {
                "extra_copies": card.extra_copies(),
                "fuzzy_pairs": card.fuzzy.target_pairs,
                "fuzzy_source_pairs": card.fuzzy.source_pairs,
                "fuzzy_extra_records": card.fuzzy.extra_records,
                "duplicated_records": card.duplicated_records,
            },
            "completeness": {},
            "accuracy": {
                "truncated": card.fields.iter().filter(|f| f.truncated > 0)
                    .map(|f| (f.name.clone(), json!(f.truncated))).collect::<Map<_, _>>(),
            },
            "fields": card.fields,
            "api": {
                "status": status(&c.write_status),
                "throttled_calls": c.throttled_calls,
                // The vendor's burst quota in calls/s from its headers; null when not sent.
                "burst_limit_per_s": (c.burst_per_s > 0.0).then_some(c.burst_per_s),
                "verify_calls": c.read_calls + c.search_calls,
                "verify_status": status(&c.verify_status),
            },
            "sla": verdicts,
            "ground_truth": ground_truth.unwrap_or(Value::Null),
        });
        for (path, evidence) in &metrics.figures {
            let value = evidence.value();
            let value = if value.fract() == 0.0 && value.abs() < 1e15 && is_count(path) {
                json!(value as u64)
            } else {
                json!((value * 1e6).round() / 1e6)
            };
            set_path(&mut json, path, value);
        }
        Summary {
            json,
            verdicts,
            overall,
        }
    }
}

impl Summary {
    /// Reads a summary back from its `summary.json` form (`syncproof report RUN`). Intervals
    /// written as `null` (no sample) read back as NaN, as they were before writing.
    pub fn from_json(json: Value) -> Result<Summary, SummaryError> {
        let entries = json
            .get("sla")
            .and_then(Value::as_array)
            .ok_or(SummaryError::NoVerdicts)?;
        let mut verdicts = Vec::with_capacity(entries.len());
        for (index, v) in entries.iter().enumerate() {
            let bad = |key, expected| SummaryError::Verdict {
                index,
                key,
                expected,
            };
            let text = |key: &'static str| {
                v.get(key)
                    .and_then(Value::as_str)
                    .ok_or(bad(key, "a string"))
            };
            let number = |key: &'static str| match v.get(key) {
                Some(Value::Null) => Ok(f64::NAN),
                Some(x) => x.as_f64().ok_or(bad(key, "a number")),
                None => Err(bad(key, "a number")),
            };
            let op = [Op::Le, Op::Lt, Op::Ge, Op::Gt]
                .into_iter()
                .find(|op| Ok(op.as_str()) == text("op"))
                .ok_or(bad("op", "one of <=, <, >=, >"))?;
            let verdict = [
                VerdictKind::Pass,
                VerdictKind::Fail,
                VerdictKind::Inconclusive,
            ]
            .into_iter()
            .find(|k| Ok(k.as_str()) == text("verdict"))
            .ok_or(bad("verdict", "one of pass, fail, inconclusive"))?;
            verdicts.push(Verdict {
                name: text("name")?.to_string(),
                metric: text("metric")?.to_string(),
                op: op.as_str(),
                threshold: number("threshold")?,
                actual: number("actual")?,
                n: v.get("n")
                    .and_then(Value::as_u64)
                    .ok_or(bad("n", "a count"))?,
                ci_low: number("ci_low")?,
                ci_high: number("ci_high")?,
                confidence: number("confidence")?,
                verdict,
                samples_needed: v.get("samples_needed").and_then(Value::as_u64),
                note: v.get("note").and_then(Value::as_str).map(str::to_string),
            });
        }
        let overall = overall(&verdicts);
        Ok(Summary {
            json,
            verdicts,
            overall,
        })
    }
}

fn is_count(path: &str) -> bool {
    path.starts_with("records.") && !path.ends_with("_rate")
        || path == "api.calls"
        || path == "retries.gave_up"
        || path == "retries.retry_after_violations"
}

fn set_path(root: &mut Value, path: &str, value: Value) {
    let mut node = root;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let map = match node {
            Value::Object(map) => map,
            other => {
                *other = Value::Object(Map::new());
                other.as_object_mut().expect("just made an object")
            }
        };
        if parts.peek().is_none() {
            map.insert(part.to_string(), value);
            return;
        }
        node = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The value at a dotted path of a summary (what an SLA's `metric` names).
pub fn lookup<'a>(summary: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(summary, |node, part| node.get(part))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Shape;

    #[test]
    fn the_target_line_flags_old_tls_and_shows_plain_http_and_oauth() {
        let t = |target: Value| target_text(&json!({ "target": target }));
        let old = t(
            json!({ "kind": "hubspot", "base_url": "https://crm.example",
            "tls_version": "TLSv1_1", "tls_below_1_2": true, "auth": { "kind": "token" } }),
        );
        assert!(
            old.contains("TLS: TLSv1_1.") && old.contains("below TLS 1.2"),
            "{old}"
        );
        let plain = t(
            json!({ "kind": "hubspot", "base_url": "http://127.0.0.1:8080",
            "tls_version": "none (plain HTTP)", "tls_below_1_2": false,
            "auth": { "kind": "oauth", "refreshes": 25, "refreshed_after_401": 2,
                      "refresh_failures": 0 } }),
        );
        assert!(
            plain.contains("TLS: none (plain HTTP).") && plain.contains("Unencrypted"),
            "{plain}"
        );
        assert!(
            plain.contains("OAuth: 25 access tokens obtained (2 after a 401)"),
            "{plain}"
        );
        assert!(!plain.contains("below TLS 1.2"));
        let modern = t(
            json!({ "kind": "hubspot", "base_url": "https://api.hubapi.com",
            "tls_version": "TLSv1.3", "tls_below_1_2": false, "auth": { "kind": "token" } }),
        );
        assert_eq!(modern, "Target `https://api.hubapi.com`, TLS: TLSv1.3.");
        assert_eq!(target_text(&json!({})), "");
    }

    #[test]
    fn every_sla_figure_is_at_its_path_with_the_judged_value() {
        let shape = Shape::demo();
        let card = Scorecard::new(&shape);
        let mut ledger = Ledger::default();
        ledger.sync.record(std::time::Duration::from_millis(120));
        ledger.counts.sent = 10;
        ledger.counts.lost = 1;
        let metrics = Metrics::collect(&ledger, &card);
        let run = RunInfo::example("r", "p", 1);
        let summary = Summary::build(&run, &ledger, &card, &metrics, Vec::new(), None);
        for (path, evidence) in &metrics.figures {
            let v = lookup(&summary.json, path).unwrap_or_else(|| panic!("{path} missing"));
            let v = v.as_f64().unwrap();
            assert!(
                (v - evidence.value()).abs() < 1e-6,
                "{path}: {v} vs {}",
                evidence.value()
            );
        }
        assert_eq!(
            lookup(&summary.json, "records.loss_rate").unwrap(),
            &json!(0.1)
        );
        assert_eq!(lookup(&summary.json, "records.sent").unwrap(), &json!(10));
    }

    #[test]
    fn a_summary_reads_back_from_its_json_with_the_same_verdicts() {
        let shape = Shape::demo();
        let card = Scorecard::new(&shape);
        let metrics = Metrics::collect(&Ledger::default(), &card);
        let sla = crate::sla::SlaSpec::from_source(
            &crate::config::Source::embedded(
                "sla.toml",
                include_str!("../../datasets/sla/demo.toml"),
            ),
            &shape,
        )
        .unwrap();
        let verdicts = crate::sla::judge(&sla, &metrics);
        let run: RunInfo = serde_json::from_value(json!({
            "id": "r", "plan": "p", "seed": 1, "started_at": "s", "finished_at": "f",
            "duration_s": 1.0, "complete": true, "records_planned": 0, "rate_per_s": 1.0,
            "verify_poll_interval_ms": 200, "verify_window_ms": 8000
        }))
        .unwrap();
        let built = Summary::build(&run, &Ledger::default(), &card, &metrics, verdicts, None);
        let text = serde_json::to_string(&built.json).unwrap();
        let back = Summary::from_json(serde_json::from_str(&text).unwrap()).unwrap();
        assert_eq!(back.overall, built.overall);
        assert_eq!(back.verdicts.len(), built.verdicts.len());
        for (a, b) in back.verdicts.iter().zip(&built.verdicts) {
            assert_eq!(
                (&a.name, a.verdict, a.n, a.op),
                (&b.name, b.verdict, b.n, b.op)
            );
            assert!(a.actual == b.actual || (a.actual.is_nan() && b.actual.is_nan()));
        }
        let mut broken = built.json.clone();
        broken["sla"][0]["op"] = json!("~");
        let err = Summary::from_json(broken).unwrap_err().to_string();
        assert!(err.contains("sla[0].op"), "{err}");
    }
}
