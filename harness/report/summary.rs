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

/// Why a connection is flagged in the report.
pub const BELOW_TLS_1_2: &str =
    "below TLS 1.2 (or its version is unknown); every CRM vendor requires 1.2 or later";
/// Why a plain-HTTP connection to anything but the built-in mock is flagged.
pub const UNENCRYPTED: &str = "unencrypted, acceptable for a loopback mock only";

/// One system the run reached: its role, URL, TLS version and, when it needs attention, why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reached {
    pub role: &'static str,
    pub url: String,
    pub tls: String,
    pub flag: Option<&'static str>,
}

/// How the target was reached, read from the summary's `target` section: the systems (the
/// target, and for an integration PoC the source written to) and what the OAuth session did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetFacts {
    pub systems: Vec<Reached>,
    pub oauth: Option<String>,
}

/// The `target` section as facts; `None` for summaries written before it was recorded.
pub fn target_facts(summary: &Value) -> Option<TargetFacts> {
    let t = &summary["target"];
    let mock = t["kind"] == "mock-integration";
    let reached = |role, s: &Value| {
        let tls = s["tls_version"].as_str()?.to_string();
        let flag = if s["tls_below_1_2"].as_bool() == Some(true) {
            Some(BELOW_TLS_1_2)
        } else if tls == crate::replay::tls::PLAIN_HTTP && !mock {
            Some(UNENCRYPTED)
        } else {
            None
        };
        Some(Reached {
            role,
            url: s["base_url"].as_str().unwrap_or("?").to_string(),
            tls,
            flag,
        })
    };
    let target = reached("Target", t)?;
    let systems = std::iter::once(target)
        .chain(reached("Source (written to)", &t["source"]))
        .collect();
    let oauth = (t["auth"]["kind"] == "oauth").then(|| {
        let n = |k: &str| t["auth"][k].as_u64().unwrap_or(0);
        format!(
            "OAuth: {} access tokens obtained ({} after a 401), {} refresh failures.",
            n("refreshes"),
            n("refreshed_after_401"),
            n("refresh_failures")
        )
    });
    Some(TargetFacts { systems, oauth })
}

/// How the target was reached, as Markdown: its URL, TLS version (flagged below 1.2, and
/// visibly "none" for plain HTTP) and authentication. Empty for summaries written before it was
/// recorded.
pub fn target_text(summary: &Value) -> String {
    let Some(facts) = target_facts(summary) else {
        return String::new();
    };
    let mut parts: Vec<String> = facts
        .systems
        .iter()
        .map(|s| {
            let mut text = format!("{} `{}`, TLS: {}.", s.role, s.url, s.tls);
            if let Some(flag) = s.flag {
                text.push_str(&format!(" **Flag: {flag}.**"));
            }
            text
        })
        .collect();
    parts.extend(facts.oauth);
    parts.join(" ")
}

/// One figure of the verification block; `warn` when it says records may have been missed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerificationRow {
    pub label: String,
    pub value: String,
    pub warn: bool,
}

/// How the target was watched, read from the summary's `verification` section: the method,
/// what it does, and its cadence and counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerificationFacts {
    pub method: String,
    pub how: &'static str,
    pub rows: Vec<VerificationRow>,
}

/// A verification counter's label, and whether a count above zero needs attention.
fn counter_label(key: &str) -> (String, bool) {
    let (label, warn) = match key {
        "polls" => ("search polls", false),
        "searches" => ("search calls", false),
        "searches_failed" => ("search calls that failed", true),
        "results" => ("search results read", false),
        "result_ceiling_hits" => ("searches stopped at the result ceiling", true),
        "records_found" => ("records found", false),
        "queries" => ("SQL queries", false),
        "query_errors" => ("SQL queries that failed", true),
        "rows" => ("rows read", false),
        "requests" => ("webhook requests", false),
        "requests_accepted" => ("webhook requests accepted", false),
        "rejected_unsigned" => ("rejected: unsigned", true),
        "rejected_bad_signature" => ("rejected: bad signature", true),
        "rejected_stale" => ("rejected: timestamp too old", true),
        "rejected_unreadable" => ("rejected: unreadable body", true),
        "events" => ("webhook events", false),
        "duplicate_events" => ("duplicate events (dropped by eventId)", false),
        "events_for_no_record_in_flight" => ("events for no record in flight", false),
        "records_announced" => ("records announced", false),
        other => return (other.replace('_', " "), false),
    };
    (label.to_string(), warn)
}

/// The `verification` section as facts; `None` for summaries written before it was recorded.
pub fn verification_facts(summary: &Value) -> Option<VerificationFacts> {
    let v = summary["verification"].as_object()?;
    let method = v.get("kind")?.as_str()?.to_string();
    let how = match method.as_str() {
        "read-back" => {
            "records in flight read back by external id, paced below the read limit; \
             a final reconciliation by search finds every copy"
        }
        "search" => {
            "search polled for records modified since the newest seen, minus an overlap; \
             a final reconciliation by search"
        }
        "webhook" => {
            "signed webhooks received (signature and age checked, deduplicated by event id); \
             a record counts at the change of its id property"
        }
        "postgres" => "the plan's SQL query on the warehouse table, for the records in flight",
        _ => "a method this version does not describe",
    };
    let row = |label: &str, value: String, warn| VerificationRow {
        label: label.to_string(),
        value,
        warn,
    };
    let run = &summary["run"];
    let mut rows = Vec::new();
    if let Some(ms) = run["verify_poll_interval_ms"].as_u64() {
        rows.push(row("checked every", format!("{ms} ms"), false));
    }
    if let Some(ms) = run["verify_window_ms"].as_u64() {
        rows.push(row("lost when not seen within", format!("{ms} ms"), false));
    }
    if let Some(calls) = summary["api"]["verify_calls"].as_u64()
        && (calls > 0 || matches!(method.as_str(), "read-back" | "search"))
    {
        rows.push(row(
            "read and search calls to the target",
            calls.to_string(),
            false,
        ));
    }
    for (key, n) in v.iter().filter(|(k, _)| *k != "kind") {
        let (label, warn) = counter_label(key);
        let warn = warn && n.as_u64().is_some_and(|n| n > 0);
        rows.push(row(&label, n.to_string(), warn));
    }
    Some(VerificationFacts { method, how, rows })
}

/// One operation kind of a mixed run, as the reports show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixRow {
    pub kind: String,
    pub share: String,
    pub sent: u64,
    pub acknowledged: u64,
    pub observed: u64,
    pub lost: u64,
    pub gave_up: u64,
    pub skipped: u64,
    pub sync_p50: String,
    pub sync_p95: String,
}

/// A mixed run's operations per kind and what reconciliation found of the final states.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MixFacts {
    pub rows: Vec<MixRow>,
    /// Records whose last operation deleted them, and of those the ones still visible.
    pub deleted: u64,
    pub deleted_still_visible: u64,
    /// Records updated at least once, compared with their latest version.
    pub updated: u64,
}

/// The `mix` section as facts; `None` for a creates-only run.
pub fn mix_facts(summary: &Value) -> Option<MixFacts> {
    let mix = summary["mix"].as_object()?;
    let by_kind = mix.get("by_kind")?.as_object()?;
    let n = |v: &Value, key: &str| v[key].as_u64().unwrap_or(0);
    let ms = |v: &Value| match v.as_f64() {
        Some(ms) => format!("{ms:.0} ms"),
        None => "—".to_string(),
    };
    let rows = ["create", "update", "delete"]
        .iter()
        .filter_map(|kind| {
            let c = by_kind.get(*kind)?;
            let share = mix["shares"][*kind].as_f64().unwrap_or(0.0);
            Some(MixRow {
                kind: (*kind).to_string(),
                share: format!("{:.1} %", share * 100.0),
                sent: n(c, "sent"),
                acknowledged: n(c, "acknowledged"),
                observed: n(c, "observed"),
                lost: n(c, "lost"),
                gave_up: n(c, "gave_up"),
                skipped: n(c, "skipped"),
                sync_p50: ms(&c["sync_p50_ms"]),
                sync_p95: ms(&c["sync_p95_ms"]),
            })
        })
        .collect();
    let end = &mix["final"];
    Some(MixFacts {
        rows,
        deleted: n(end, "deleted"),
        deleted_still_visible: n(end, "deleted_still_visible"),
        updated: n(end, "updated"),
    })
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
                // Ground truth of a mock integration: the extra copies its second writes made
                // (an upsert's second write makes none).
                "duplicates_created": ground_truth.as_ref()
                    .and_then(|t| t.pointer("/relay/duplicate_copies")).cloned().unwrap_or(Value::Null),
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
            plain.contains("TLS: none (plain HTTP).") && plain.contains("**Flag: unencrypted"),
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
