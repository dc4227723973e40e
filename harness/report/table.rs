//! The short verdict table printed at the end of a run.

use std::fmt::Write;

use super::Summary;
use super::summary::lookup;

/// Formats a figure for people: rates as percentages with enough digits, others as numbers.
pub(crate) fn human(metric: &str, value: f64) -> String {
    if !value.is_finite() {
        "n/a".to_string()
    } else if metric.ends_with("_ms") || metric.contains("_ms.") {
        format!("{value:.1} ms")
    } else if metric.ends_with("_rate")
        || metric.starts_with("completeness")
        || metric.starts_with("accuracy")
        || metric.starts_with("validity")
    {
        format!("{:.3}%", value * 100.0)
    } else if value.fract() == 0.0 {
        format!("{value}")
    } else {
        format!("{value:.3}")
    }
}

pub fn render_table(summary: &Summary) -> String {
    let mut out = String::new();
    let width = summary
        .verdicts
        .iter()
        .map(|v| v.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "{:<width$}  {:<12}  {:>14}  {:>22}  {:>8}",
        "SLA", "verdict", "actual", "threshold", "n"
    );
    for v in &summary.verdicts {
        let verdict = match v.samples_needed {
            Some(_) => "INCONCLUSIVE".to_string(),
            None => v.verdict.as_str().to_uppercase(),
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:<12}  {:>14}  {:>22}  {:>8}",
            v.name,
            verdict,
            human(&v.metric, v.actual),
            format!("{} {}", v.op, human(&v.metric, v.threshold)),
            v.n,
        );
    }
    let j = &summary.json;
    let get = |p: &str| lookup(j, p).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);
    if j["verification"]["kind"] == "none" {
        let _ = writeln!(
            out,
            "\nrecords: {} sent, {} acknowledged, delivery not verified; API p50 {:.1} ms, p99 {:.1} ms; {} write calls ({:.2} per record)",
            get("records.sent"),
            get("records.acknowledged"),
            get("latency.api_ms.p50"),
            get("latency.api_ms.p99"),
            get("api.calls"),
            get("api.calls_per_record"),
        );
    } else {
        let _ = writeln!(
            out,
            "\nrecords: {} sent, {} delivered, {} lost; sync p50 {:.0} ms, p95 {:.0} ms; {} write calls ({:.2} per record)",
            get("records.sent"),
            get("records.delivered"),
            get("records.lost"),
            get("latency.sync_ms.p50"),
            get("latency.sync_ms.p95"),
            get("api.calls"),
            get("api.calls_per_record"),
        );
    }
    let _ = writeln!(out, "overall: {}", summary.overall.as_str().to_uppercase());
    out
}
