//! `summary.json`: every figure of a run and every verdict. Figures an SLA can name are written
//! from the same [`Metrics`] the verdicts were judged on, so the file and the verdicts can never
//! disagree; the rest (counts behind each rate, the mock's ground truth) sits beside them.

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::measure::Ledger;
use crate::quality::Scorecard;
use crate::sla::{Metrics, Verdict, VerdictKind, overall};

/// Facts about the run itself.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub id: String,
    pub plan: String,
    pub seed: u64,
    pub started_at: String,
    pub finished_at: String,
    pub duration_s: f64,
    /// False when the run was interrupted: figures cover only what was sent before.
    pub complete: bool,
    pub records_planned: u64,
    pub rate_per_s: f64,
    pub verify_poll_interval_ms: u64,
    pub verify_window_ms: u64,
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
            "retries": { "record_attempts": c.record_attempts, "retried": c.retried },
            "duplicates": {
                "fuzzy_rate": Value::Null,
                "extra_copies": card.extra_copies(),
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
    fn every_sla_figure_is_at_its_path_with_the_judged_value() {
        let shape = Shape::demo();
        let card = Scorecard::new(&shape);
        let mut ledger = Ledger::default();
        ledger.sync.record(std::time::Duration::from_millis(120));
        ledger.counts.sent = 10;
        ledger.counts.lost = 1;
        let metrics = Metrics::collect(&ledger, &card);
        let run = RunInfo {
            id: "r".into(),
            plan: "p".into(),
            seed: 1,
            started_at: "s".into(),
            finished_at: "f".into(),
            duration_s: 1.0,
            complete: true,
            records_planned: 10,
            rate_per_s: 1.0,
            verify_poll_interval_ms: 200,
            verify_window_ms: 8000,
        };
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
}
