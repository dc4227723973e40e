//! `report.html`: the acceptance report for people, rendered from a finished [`Summary`] and
//! the run's event [`Series`] (never from live state) through the minijinja template
//! `report.html.j2` with HTML auto-escaping, so a plan, SLA or field named `A&B <script>` stays
//! text. Numbers are formatted here, geometry in [`super::chart`]; the template only lays out.
//! No JavaScript, no external resources: the report reads the same with scripts off.

use minijinja::{AutoEscape, Environment};
use serde::Serialize;
use serde_json::Value;
use serde_json::json;

use super::Summary;
use super::chart::{bar_chart, line_chart};
use super::series::Series;
use super::summary::lookup;
use super::table::human;

const TEMPLATE: &str = include_str!("report.html.j2");

#[derive(Debug, Serialize)]
struct VerdictRow {
    name: String,
    metric: String,
    actual: String,
    op: &'static str,
    threshold: String,
    n: u64,
    ci_low: String,
    ci_high: String,
    confidence: String,
    verdict: &'static str,
    samples_needed: String,
}

#[derive(Debug, Serialize)]
struct FieldRow {
    name: String,
    source_nonempty: u64,
    completeness: String,
    accuracy: String,
    truncated: u64,
    validity: String,
    source_validity: String,
    source_invalid: u64,
    target_invalid: u64,
}

#[derive(Debug, Serialize)]
struct LatencyRow {
    name: &'static str,
    cells: Vec<String>,
}

/// A `{"1": n, "2": m}` map as `1: n · 2: m`; `n/a` when absent or empty.
pub(super) fn distribution(j: &Value, path: &str) -> String {
    let cells: Vec<String> = lookup(j, path)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    if cells.is_empty() {
        "n/a".into()
    } else {
        cells.join(" · ")
    }
}

/// Renders `report.html`. `series` holds the charts' time series (empty when the run has no
/// events: the charts then say so).
pub fn render_html(summary: &Summary, series: &Series) -> String {
    let j = &summary.json;
    let s = |p: &str| {
        lookup(j, p)
            .filter(|v| !v.is_null())
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .unwrap_or_else(|| "n/a".into())
    };
    let f = |p: &str| lookup(j, p).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let h = |p: &str| human(p, f(p));

    let verdicts: Vec<VerdictRow> = summary
        .verdicts
        .iter()
        .map(|v| VerdictRow {
            name: v.name.clone(),
            metric: v.metric.clone(),
            actual: human(&v.metric, v.actual),
            op: v.op,
            threshold: human(&v.metric, v.threshold),
            n: v.n,
            ci_low: human(&v.metric, v.ci_low),
            ci_high: human(&v.metric, v.ci_high),
            confidence: format!("{:.0}%", v.confidence * 100.0),
            verdict: v.verdict.as_str(),
            samples_needed: match (&v.note, v.samples_needed) {
                (Some(note), _) => note.clone(),
                (None, Some(n)) => format!("≈{n}"),
                (None, None) => "—".into(),
            },
        })
        .collect();

    let record_cells = vec![
        s("records.sent"),
        s("records.acknowledged"),
        s("records.delivered"),
        s("records.lost"),
        h("records.loss_rate"),
        s("records.late"),
        h("duplicates.exact_rate"),
        h("duplicates.fuzzy_rate"),
    ];
    let latency_rows = [
        ("sync (intended send → first seen at target)", "sync_ms"),
        ("API service time (write calls)", "api_ms"),
    ]
    .into_iter()
    .map(|(name, key)| LatencyRow {
        name,
        cells: ["p50", "p90", "p95", "p99", "max"]
            .iter()
            .map(|q| format!("{:.1}", f(&format!("latency.{key}.{q}"))))
            .chain([s(&format!("latency.{key}.n"))])
            .collect(),
    })
    .collect::<Vec<_>>();

    let api_rows: Vec<(&str, String)> = vec![
        ("attempts per record", s("retries.attempts_per_record")),
        ("records retried", h("retries.retried_rate")),
        ("records given up", s("retries.gave_up")),
        (
            "retries before Retry-After passed",
            s("retries.retry_after_violations"),
        ),
        (
            "records by attempts taken",
            distribution(j, "retries.records_by_attempts"),
        ),
        (
            "write calls by attempt (1 = fresh)",
            distribution(j, "retries.write_calls_by_attempt"),
        ),
        (
            "retry storms",
            format!(
                "{} windows of {} s (worst: {} retries to {} fresh sends)",
                s("retries.storms.windows"),
                s("retries.storms.window_s"),
                s("retries.storms.worst_retries"),
                s("retries.storms.worst_fresh"),
            ),
        ),
        (
            "duplicates created by retries (mock ground truth)",
            s("retries.duplicates_created"),
        ),
        ("write calls", s("api.calls")),
        ("write calls per record", s("api.calls_per_record")),
        ("throttled (all calls)", h("api.throttled_rate")),
        (
            "peak use of the rolling quota",
            format!("{:.1}%", f("api.quota_peak_pct")),
        ),
        (
            "peak use of the daily quota",
            format!("{:.1}%", f("api.daily_quota_peak_pct")),
        ),
    ];

    let mut fields = Vec::new();
    let mut bars = Vec::new();
    for field in j
        .get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = field["name"].as_str().unwrap_or("?").to_string();
        let completeness = f(&format!("completeness.fields.{name}"));
        let accuracy = f(&format!("accuracy.fields.{name}"));
        let validity = f(&format!("validity.fields.{name}"));
        bars.push((name.clone(), vec![completeness, accuracy, validity]));
        fields.push(FieldRow {
            source_nonempty: field["source_nonempty"].as_u64().unwrap_or(0),
            completeness: human("completeness", completeness),
            accuracy: human("accuracy", accuracy),
            truncated: field["truncated"].as_u64().unwrap_or(0),
            validity: human("validity", validity),
            source_validity: human("validity", f(&format!("validity.source.fields.{name}"))),
            source_invalid: field["source_invalid"].as_u64().unwrap_or(0),
            target_invalid: field["target_invalid"].as_u64().unwrap_or(0),
            name,
        });
    }
    let field_chart = bar_chart(
        "chart-fields",
        "Completeness, accuracy and validity per field",
        &["completeness", "accuracy", "validity"],
        &bars,
    );

    let per_s = |n: u64| n as f64 / series.bucket_s;
    let over_time = |pick: &dyn Fn(&super::series::Bucket) -> Option<f64>| {
        series
            .buckets
            .iter()
            .filter_map(|b| pick(b).map(|y| (b.start_s, y)))
            .collect::<Vec<_>>()
    };
    let quantile = |q: f64| {
        over_time(&move |b: &super::series::Bucket| {
            (!b.sync.is_empty()).then(|| b.sync.quantile_ms(q))
        })
    };
    let span = series.buckets.len() as f64 * series.bucket_s;
    // The vendor's burst quota as a flat line, when its headers said it.
    let mut throughput = vec![
        (
            "records written",
            over_time(&|b| Some(per_s(b.records_written))),
        ),
        ("write calls", over_time(&|b| Some(per_s(b.write_calls)))),
        (
            "throttled calls",
            over_time(&|b| Some(per_s(b.throttled_calls))),
        ),
    ];
    if let Some(q) = lookup(j, "api.burst_limit_per_s").and_then(Value::as_f64) {
        throughput.push(("call quota", vec![(0.0, q), (span, q)]));
    }
    let line_charts = vec![
        line_chart(
            "chart-sync-latency",
            "Sync latency percentiles over time (by the time the record was first seen)",
            "ms",
            span,
            &[
                ("p50", quantile(0.5)),
                ("p95", quantile(0.95)),
                ("p99", quantile(0.99)),
            ],
        ),
        line_chart(
            "chart-throughput",
            "Throughput and throttling over time",
            "per s",
            span,
            &throughput,
        ),
        line_chart(
            "chart-retries",
            "Retries over time (write attempts after a record's first)",
            "per s",
            span,
            &[("retries", over_time(&|b| Some(per_s(b.retries))))],
        ),
    ];

    let ground_truth: Vec<(String, String, String)> = j
        .get("ground_truth")
        .filter(|t| !t.is_null())
        .map(|truth| {
            let r = &truth["relay"];
            vec![
                (
                    "records lost".into(),
                    s("records.lost"),
                    format!("{} (+{} given up)", r["lost"], r["gave_up"]),
                ),
                (
                    "records duplicated".into(),
                    s("duplicates.duplicated_records"),
                    // Copies made by second writes (older summaries: the second writes).
                    r.get("duplicate_copies")
                        .unwrap_or(&r["duplicated"])
                        .to_string(),
                ),
            ]
        })
        .unwrap_or_default();

    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("report.html", TEMPLATE)
        .expect("the embedded report template parses (checked by the tests)");
    let template = env
        .get_template("report.html")
        .expect("the template was just added");
    let html = template
        .render(minijinja::value::Serde(json!({
            "plan": s("run.plan"),
            "run_id": s("run.id"),
            "seed": s("run.seed"),
            "started_at": s("run.started_at"),
            "finished_at": s("run.finished_at"),
            "duration": super::summary::duration_text(j),
            "target": super::summary::target_facts(j),
            "verification": super::summary::verification_facts(j),
            "mix": super::summary::mix_facts(j),
            "complete": lookup(j, "run.complete") != Some(&Value::Bool(false)),
            "overall": summary.overall.as_str(),
            "verdicts": verdicts,
            "record_cells": record_cells,
            "latency_rows": latency_rows,
            "poll_ms": s("run.verify_poll_interval_ms"),
            "bucket_s": series.bucket_s,
            "line_charts": line_charts,
            "api_rows": api_rows,
            "fields": fields,
            "field_chart": field_chart,
            "ground_truth": ground_truth,
        })))
        .expect("the embedded report template renders every summary (checked by the tests)");
    html.trim_start().to_string() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::Ledger;
    use crate::quality::Scorecard;
    use crate::report::RunInfo;
    use crate::shape::Shape;
    use crate::sla::{Metrics, SlaSpec, judge};

    const HOSTILE: &str = "A&B <script>alert(1)</script>";

    fn summary(plan: &str) -> Summary {
        let shape = Shape::demo();
        let card = Scorecard::new(&shape);
        let mut ledger = Ledger::default();
        ledger.sync.record(std::time::Duration::from_millis(120));
        ledger.counts.sent = 10;
        ledger.counts.observed = 10;
        let metrics = Metrics::collect(&ledger, &card);
        let sla = SlaSpec::from_source(
            &crate::config::Source::embedded(
                "sla.toml",
                "[[sla]]\nname = \"loss <b>&</b>\"\nmetric = \"records.loss_rate\"\nop = \"<=\"\nthreshold = 0.01\n",
            ),
            &shape,
        )
        .unwrap();
        let verdicts = judge(&sla, &metrics);
        let run = RunInfo::example("r1", plan, 7);
        Summary::build(&run, &ledger, &card, &metrics, verdicts, None)
    }

    #[test]
    fn markup_in_names_stays_text_and_the_report_has_verdicts_and_charts() {
        let html = render_html(&summary(HOSTILE), &Series::default());
        assert!(!html.contains("<script"), "raw markup leaked: {html}");
        assert!(html.contains("A&amp;B &lt;script&gt;alert(1)"), "{html}");
        assert!(html.contains("loss &lt;b&gt;&amp;&lt;"));
        assert!(html.contains("<table id=\"verdicts\">"));
        assert!(html.contains("<svg"));
        assert!(html.contains("records.loss_rate"));
        assert_eq!(html.matches("<figure").count(), 4);
    }

    #[test]
    fn both_reports_show_a_mixed_runs_operations_per_kind() {
        let mut s = summary("p");
        s.json["mix"] = json!({
            "shares": { "create": 0.7, "update": 0.2, "delete": 0.1 },
            "by_kind": {
                "create": { "sent": 700, "acknowledged": 700, "observed": 699, "lost": 1,
                            "gave_up": 0, "skipped": 0, "sync_p50_ms": 812.0, "sync_p95_ms": 1490.0 },
                "update": { "sent": 190, "acknowledged": 190, "observed": 190, "lost": 0,
                            "gave_up": 0, "skipped": 10, "sync_p50_ms": 640.0, "sync_p95_ms": null },
                "delete": { "sent": 97, "acknowledged": 97, "observed": 95, "lost": 2,
                            "gave_up": 1, "skipped": 3, "sync_p50_ms": null, "sync_p95_ms": null },
            },
            "final": { "deleted": 95, "deleted_still_visible": 2, "updated": 150 },
        });
        let html = render_html(&s, &Series::default());
        let md = super::super::render_markdown(&s);
        assert!(
            md.contains("| create | 70.0 % | 700 | 700 | 699 | 1 | 0 | 0 | 812 ms | 1490 ms |"),
            "{md}"
        );
        assert!(
            md.contains("| delete | 10.0 % | 97 | 97 | 95 | 2 | 1 | 3 | — | — |"),
            "{md}"
        );
        for report in [&html, &md] {
            assert!(
                report.contains("150 records updated")
                    && report.contains("95 deleted")
                    && report.contains("still visible on the target (lost deletes)"),
                "{report}"
            );
        }
        assert!(html.contains("<h2 id=\"operations\">"), "{html}");
        assert!(
            html.contains("<td>update</td><td class=\"num\">20.0 %</td>"),
            "{html}"
        );
        // A creates-only run has no operations block.
        let plain = summary("p");
        assert!(!super::super::render_markdown(&plain).contains("## Operations"));
        assert!(!render_html(&plain, &Series::default()).contains("id=\"operations\""));
    }

    #[test]
    fn both_reports_show_how_the_target_was_reached_and_watched() {
        let mut s = summary("p");
        s.json["target"] = json!({
            "kind": "integration", "base_url": "https://to.example",
            "tls_version": "TLSv1.3", "tls_below_1_2": false,
            "auth": { "kind": "oauth", "refreshes": 25, "refreshed_after_401": 2,
                      "refresh_failures": 1 },
            "source": { "base_url": "https://from.example", "tls_version": "TLSv1_1",
                        "tls_below_1_2": true },
        });
        s.json["verification"] = json!({
            "kind": "webhook", "requests": 4321, "requests_accepted": 4318,
            "rejected_bad_signature": 3, "duplicate_events": 17,
        });
        s.json["api"]["verify_calls"] = json!(0);
        // minijinja escapes `/` too; the URLs are compared as a browser shows them.
        let html = render_html(&s, &Series::default()).replace("&#x2f;", "/");
        let md = super::super::render_markdown(&s);
        for report in [&html, &md] {
            for expected in [
                "https://to.example",
                "TLS: TLSv1.3.",
                "https://from.example",
                "TLS: TLSv1_1.",
                "Flag: below TLS 1.2",
                "OAuth: 25 access tokens obtained (2 after a 401), 1 refresh failures.",
                "webhook",
                "webhook requests",
                "4321",
                "4318",
                "rejected: bad signature",
                "duplicate events (dropped by eventId)",
                "17",
                "checked every",
                "200 ms",
                "8000 ms",
                "(records may have been missed)",
            ] {
                assert!(report.contains(expected), "{expected:?} missing: {report}");
            }
            // The flag is on the source, written to, not on the target.
            let flag = report.find("Flag: below TLS 1.2").unwrap();
            assert!(report.find("https://from.example").unwrap() < flag);
            assert!(report.find("TLS: TLSv1.3.").unwrap() < flag);
            // No read or search call was made: a webhook run does not list them.
            assert!(!report.contains("read and search calls"), "{report}");
        }
        assert!(html.contains("<h2 id=\"verification\">"), "{html}");
        assert!(md.contains("## Verification"), "{md}");
        assert!(md.contains("| rejected: bad signature | **3** (records may have been missed) |"));
        assert!(md.contains("| webhook requests | 4321 |"), "{md}");

        // Summaries written before either section existed render without them.
        let old = summary("p");
        for report in [
            render_html(&old, &Series::default()),
            super::super::render_markdown(&old),
        ] {
            assert!(!report.contains("Verification") && !report.contains("TLS:"));
        }
    }

    #[test]
    fn the_throughput_chart_draws_the_quota_only_when_the_vendor_sent_it() {
        let mut s = summary("p");
        assert!(!render_html(&s, &Series::default()).contains("call quota"));
        s.json["api"]["burst_limit_per_s"] = json!(19.0);
        s.json["api"]["daily_quota_peak_pct"] = json!(42.5);
        let html = render_html(&s, &Series::default());
        assert!(html.contains("call quota"), "{html}");
        assert!(html.contains("42.5%"), "{html}");
    }
}
