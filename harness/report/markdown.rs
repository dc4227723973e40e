//! `report.md`: the acceptance memo. Verdicts with their evidence first, then where the
//! figures come from, then what the mock says it did (when the target was the built-in mock),
//! so a reader can check each measured figure against the ground truth.

use std::fmt::Write;

use serde_json::Value;

use super::Summary;
use super::summary::lookup;
use super::table::human;

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render_markdown(summary: &Summary) -> String {
    let j = &summary.json;
    let s = |p: &str| {
        lookup(j, p)
            .map(|v| v.to_string().trim_matches('"').to_string())
            .unwrap_or_else(|| "n/a".into())
    };
    let f = |p: &str| lookup(j, p).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let mut out = String::new();
    let _ = writeln!(out, "# syncproof report: {}\n", cell(&s("run.plan")));
    let _ = writeln!(
        out,
        "Run `{}`, seed {}, {} → {} ({}). Overall verdict: **{}**.{}\n",
        s("run.id"),
        s("run.seed"),
        s("run.started_at"),
        s("run.finished_at"),
        super::summary::duration_text(j),
        summary.overall.as_str().to_uppercase(),
        if lookup(j, "run.complete") == Some(&Value::Bool(false)) {
            " **The run was interrupted: figures cover only the records sent before it stopped.**"
        } else {
            ""
        }
    );
    let process = super::summary::process_text(j);
    if !process.is_empty() {
        let _ = writeln!(out, "{process}\n");
    }
    let target = super::summary::target_text(j);
    if !target.is_empty() {
        let _ = writeln!(out, "{target}\n");
    }
    out.push_str("## SLA verdicts\n\n| SLA | figure | actual | threshold | n | interval | verdict |\n|---|---|---|---|---|---|---|\n");
    for v in &summary.verdicts {
        let need = match (&v.note, v.samples_needed) {
            (Some(note), _) => format!(" ({})", cell(note)),
            (None, Some(n)) => format!(" (≈{n} samples would decide)"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} {} | {} | {} .. {} ({:.0}%) | **{}**{} |",
            cell(&v.name),
            v.metric,
            human(&v.metric, v.actual),
            v.op,
            human(&v.metric, v.threshold),
            v.n,
            human(&v.metric, v.ci_low),
            human(&v.metric, v.ci_high),
            v.confidence * 100.0,
            v.verdict.as_str(),
            need
        );
    }
    let _ = writeln!(
        out,
        "\n## Records\n\n{} sent, {} acknowledged by the source, {} delivered to the target, {} lost \
         (loss rate {}), {} found only after the window closed.\n",
        s("records.sent"),
        s("records.acknowledged"),
        s("records.delivered"),
        s("records.lost"),
        human("records.loss_rate", f("records.loss_rate")),
        s("records.late"),
    );
    let _ = writeln!(
        out,
        "## Latency\n\n| | p50 | p90 | p95 | p99 | max | n |\n|---|---|---|---|---|---|---|\n\
         | sync (intended send → first seen at target) | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |\n\
         | API service time (write calls) | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {} |\n\n\
         Milliseconds. Sync latency starts at each record's intended send time on the open-loop \
         schedule; the target is checked every {} ms, which bounds its resolution.\n",
        f("latency.sync_ms.p50"),
        f("latency.sync_ms.p90"),
        f("latency.sync_ms.p95"),
        f("latency.sync_ms.p99"),
        f("latency.sync_ms.max"),
        s("latency.sync_ms.n"),
        f("latency.api_ms.p50"),
        f("latency.api_ms.p90"),
        f("latency.api_ms.p95"),
        f("latency.api_ms.p99"),
        f("latency.api_ms.max"),
        s("latency.api_ms.n"),
        s("run.verify_poll_interval_ms"),
    );
    if let Some(mix) = super::summary::mix_facts(j) {
        out.push_str(
            "## Operations

| operation | share | sent | acknowledged | observed | lost | gave up | skipped | sync p50 | sync p95 |\n|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for r in &mix.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.kind,
                r.share,
                r.sent,
                r.acknowledged,
                r.observed,
                r.lost,
                r.gave_up,
                r.skipped,
                r.sync_p50,
                r.sync_p95
            );
        }
        let _ = writeln!(
            out,
            "\nAt the end: {} records updated, compared with their latest version; {} deleted, {} of them still visible on the target (lost deletes).\n",
            mix.updated, mix.deleted, mix.deleted_still_visible
        );
    }
    if let Some(v) = super::summary::verification_facts(j) {
        let _ = writeln!(
            out,
            "## Verification\n\nMethod `{}`: {}.\n\n| | |\n|---|---|",
            cell(&v.method),
            v.how
        );
        for row in &v.rows {
            let value = if row.warn {
                format!("**{}** (records may have been missed)", cell(&row.value))
            } else {
                cell(&row.value)
            };
            let _ = writeln!(out, "| {} | {} |", cell(&row.label), value);
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "## Retries and API calls\n\n{} attempts per record, {} of records retried, {} gave up, {} \
         retries sent before `Retry-After` passed. Records by attempts taken: {}; write calls by \
         attempt (1 = fresh): {}. Retry storms ({} s windows with at least {} retries, more retries \
         than fresh sends): {}, worst {} retries to {} fresh sends. Duplicates created by retries \
         (mock ground truth): {}. {} write calls ({} per record), throttled rate {}, \
         peak use of the rolling quota {:.1}%, of the daily quota {:.1}%.\n",
        s("retries.attempts_per_record"),
        human("retries.retried_rate", f("retries.retried_rate")),
        s("retries.gave_up"),
        s("retries.retry_after_violations"),
        super::html::distribution(j, "retries.records_by_attempts"),
        super::html::distribution(j, "retries.write_calls_by_attempt"),
        s("retries.storms.window_s"),
        s("retries.storms.min_retries"),
        s("retries.storms.windows"),
        s("retries.storms.worst_retries"),
        s("retries.storms.worst_fresh"),
        s("retries.duplicates_created"),
        s("api.calls"),
        s("api.calls_per_record"),
        human("api.throttled_rate", f("api.throttled_rate")),
        f("api.quota_peak_pct"),
        f("api.daily_quota_peak_pct"),
    );
    out.push_str("## Fields\n\n| field | source non-empty | completeness | accuracy | truncated | validity | invalid in the source |\n|---|---|---|---|---|---|---|\n");
    if let Some(fields) = j.get("fields").and_then(Value::as_array) {
        for field in fields {
            let name = field["name"].as_str().unwrap_or("?");
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(name),
                field["source_nonempty"],
                human("completeness", f(&format!("completeness.fields.{name}"))),
                human("accuracy", f(&format!("accuracy.fields.{name}"))),
                field["truncated"],
                human("validity", f(&format!("validity.fields.{name}"))),
                field["source_invalid"],
            );
        }
    }
    let _ = writeln!(
        out,
        "\nDuplicates: {} extra target records ({} per delivered record); near-duplicates under \
         another id: {} extra target records ({} per delivered record), {} pairs the source data \
         already had (not counted). Validity: {} of target values valid where the source value was \
         (integration), {} of source values valid (the data).\n",
        s("duplicates.extra_copies"),
        human("duplicates.exact_rate", f("duplicates.exact_rate")),
        s("duplicates.fuzzy_extra_records"),
        human("duplicates.fuzzy_rate", f("duplicates.fuzzy_rate")),
        s("duplicates.fuzzy_source_pairs"),
        human("validity.overall", f("validity.overall")),
        human("validity.source.overall", f("validity.source.overall")),
    );
    if let Some(truth) = j.get("ground_truth").filter(|t| !t.is_null()) {
        let r = &truth["relay"];
        let _ = writeln!(
            out,
            "## Ground truth (what the built-in mock did)\n\n| | measured | the mock's own count |\n|---|---|---|\n\
             | records lost | {} | {} (+{} given up) |\n| records duplicated | {} | {} |\n",
            s("records.lost"),
            r["lost"],
            r["gave_up"],
            s("duplicates.duplicated_records"),
            // Copies made by second writes (older summaries: the second writes).
            r.get("duplicate_copies").unwrap_or(&r["duplicated"]),
        );
        if let Some(dropped) = r["fields_dropped"].as_object() {
            for (field, n) in dropped {
                let missing = lookup(j, "fields")
                    .and_then(Value::as_array)
                    .and_then(|fs| fs.iter().find(|x| x["name"] == field.as_str()))
                    .map(|x| {
                        let a = x["source_nonempty"].as_u64().unwrap_or(0);
                        let b = x["present"].as_u64().unwrap_or(0);
                        (a - b.min(a)).to_string()
                    })
                    .unwrap_or_else(|| "n/a".into());
                let _ = writeln!(out, "| `{}` dropped | {} | {} |", cell(field), missing, n);
            }
        }
    }
    out
}
