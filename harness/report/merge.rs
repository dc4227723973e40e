//! `syncproof merge`: the run directories of `--shard k/n` runs combined into one, exactly.
//! Counters are summed from each run's `summary.json`; latency percentiles are not (a percentile
//! of percentiles is not a percentile), so both latency histograms are rebuilt from the runs'
//! event segments, the ground truth (`observed` rows' `latency_ms`, write `call` rows'
//! `service_ms`), and merged. Verdicts are re-judged with the first run's SLA (its thresholds are
//! in its `summary.json`), and the reports re-rendered from the merged directory.
//!
//! Near-duplicate pairs that span two shards cannot be found from the shards' counts: the fuzzy
//! figures are the sum of each shard's (a lower bound); every other figure is exact.

use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use serde_json::{Value, json};

use super::series::{column, for_each_batch, strings};
use super::{
    ReportError, RunInfo, SeriesError, Summary, load_summary, lookup, segments, write_reports,
};
use crate::measure::{LatencyHistogram, Ledger, LedgerCounts};
use crate::quality::{FieldScore, Scorecard};
use crate::sla::{Metrics, Op, SlaSpec, Threshold, judge};

/// Why runs cannot be merged; names the run directory or file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no run directories given (pass the shard runs: syncproof merge RUN... --out DIR)")]
    NoRuns,
    #[error("{0}")]
    Run(#[from] ReportError),
    #[error("{0}")]
    Events(#[from] SeriesError),
    #[error(
        "{path}: {key} missing or not a number (is this a syncproof run's summary.json? re-run the shard)"
    )]
    Missing { path: PathBuf, key: String },
    #[error(
        "{path}: plan \"{plan}\" with seed {seed}, but the first run's is \"{first_plan}\" with seed {first_seed} (merge only the shards of one plan)"
    )]
    NotShards {
        path: PathBuf,
        plan: String,
        seed: u64,
        first_plan: String,
        first_seed: u64,
    },
    #[error("{0}: already holds a run (summary.json or events/); choose an empty --out directory")]
    OutNotEmpty(PathBuf),
    #[error("cannot write {path}: {source} (check the disk and permissions)")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl MergeError {
    /// True when the input is at fault (exit 2) rather than the disk (exit 3).
    pub fn is_bad_input(&self) -> bool {
        match self {
            MergeError::Run(e) => e.is_bad_input(),
            MergeError::Write { .. } => false,
            _ => true,
        }
    }
}

/// The two latency histograms of a set of event segments.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    /// Service time of write calls.
    pub api: LatencyHistogram,
    /// Intended send → first seen at the target.
    pub sync: LatencyHistogram,
}

impl Latencies {
    pub fn merge(&mut self, other: &Latencies) {
        self.api.merge(&other.api);
        self.sync.merge(&other.sync);
    }
}

/// Rebuilds the latency histograms from event segments.
pub fn latencies_from_segments(files: &[PathBuf]) -> Result<Latencies, SeriesError> {
    let mut out = Latencies::default();
    let ms = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1000.0);
    for path in files {
        for_each_batch(path, |batch| {
            let kind = strings(path, batch, "kind")?;
            let endpoint = strings(path, batch, "endpoint")?;
            let f64s = |name: &'static str| {
                column(path, batch, name)?
                    .as_primitive_opt::<Float64Type>()
                    .ok_or(SeriesError::Column {
                        path: path.clone(),
                        column: name,
                    })
            };
            let (latency, service) = (f64s("latency_ms")?, f64s("service_ms")?);
            for row in 0..batch.num_rows() {
                match kind.value(row) {
                    "observed" if !latency.is_null(row) => out.sync.record(ms(latency.value(row))),
                    "call"
                        if !endpoint.is_null(row)
                            && endpoint.value(row).starts_with("write:")
                            && !service.is_null(row) =>
                    {
                        out.api.record(ms(service.value(row)))
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
    }
    Ok(out)
}

/// Merges the runs into `out` (created; must not hold a run) and returns the merged summary.
pub fn merge_runs(runs: &[PathBuf], out: &Path) -> Result<Summary, MergeError> {
    let first = runs.first().ok_or(MergeError::NoRuns)?;
    if out.join("summary.json").exists() || out.join("events").exists() {
        return Err(MergeError::OutNotEmpty(out.to_path_buf()));
    }
    let summaries = runs
        .iter()
        .map(|r| load_summary(r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut files = Vec::new();
    let mut latencies = Latencies::default();
    for run in runs {
        let segs = segments(run)?;
        latencies.merge(&latencies_from_segments(&segs)?);
        files.extend(segs);
    }
    let mut ledger = Ledger {
        api: latencies.api,
        sync: latencies.sync,
        ..Ledger::default()
    };
    let mut card = Scorecard::default();
    let mut ground_truth = Value::Null;
    for (run, s) in runs.iter().zip(&summaries) {
        let path = run.join("summary.json");
        let n = |key: &str| {
            lookup(&s.json, key)
                .and_then(Value::as_f64)
                .ok_or_else(|| MergeError::Missing {
                    path: path.clone(),
                    key: key.to_string(),
                })
        };
        let c = &mut ledger.counts;
        add_counts(c, &n)?;
        c.quota_peak = c.quota_peak.max(n("api.quota_peak_pct")? / 100.0);
        // Shards share the vendor's daily quota: their peaks add up (an upper bound).
        c.daily_quota_peak += n("api.daily_quota_peak_pct")? / 100.0;
        if let Some(rate) = lookup(&s.json, "api.burst_limit_per_s").and_then(Value::as_f64) {
            c.burst_per_s = rate;
        }
        for (key, map) in [
            ("api.status", &mut c.write_status),
            ("api.verify_status", &mut c.verify_status),
        ] {
            for (code, count) in lookup(&s.json, key)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let code: u16 = code.parse().map_err(|_| MergeError::Missing {
                    path: path.clone(),
                    key: format!("{key}.{code}"),
                })?;
                *map.entry(code).or_default() += count.as_u64().unwrap_or(0);
            }
        }
        card.delivered += n("records.delivered")? as u64;
        card.late += n("records.late")? as u64;
        card.target_copies += n("duplicates.extra_copies")? as u64;
        card.duplicated_records += n("duplicates.duplicated_records")? as u64;
        card.fuzzy.target_pairs += n("duplicates.fuzzy_pairs")? as u64;
        card.fuzzy.source_pairs += n("duplicates.fuzzy_source_pairs")? as u64;
        card.fuzzy.extra_records += n("duplicates.fuzzy_extra_records")? as u64;
        add_retries(c, &s.json["retries"], &path)?;
        add_fields(&mut card.fields, &s.json, &path)?;
        ground_truth = sum_json(ground_truth, &s.json["ground_truth"]);
    }
    let sla = first_sla(&summaries[0], first);
    let metrics = Metrics::collect(&ledger, &card);
    let run = merged_info(&summaries, runs)?;
    let mut verdicts = judge(&sla, &metrics);
    crate::sla::on_compressed_clock(&mut verdicts, run.clock_speed);
    let summary = Summary::build(&run, &ledger, &card, &metrics, verdicts, Some(ground_truth));
    let events = out.join("events");
    let write = |path: &Path, source| MergeError::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(&events).map_err(|e| write(&events, e))?;
    for (i, file) in files.iter().enumerate() {
        let to = events.join(format!("events-{i:06}.parquet"));
        std::fs::copy(file, &to).map_err(|e| write(&to, e))?;
    }
    if first.join("plan.toml").is_file() {
        let to = out.join("plan.toml");
        std::fs::copy(first.join("plan.toml"), &to).map_err(|e| write(&to, e))?;
    }
    write_reports(out, &summary)?;
    Ok(summary)
}

fn add_counts(
    c: &mut LedgerCounts,
    n: &impl Fn(&str) -> Result<f64, MergeError>,
) -> Result<(), MergeError> {
    c.sent += n("records.sent")? as u64;
    c.acknowledged += n("records.acknowledged")? as u64;
    c.observed += n("records.delivered")? as u64;
    c.lost += n("records.lost")? as u64;
    c.gave_up += n("retries.gave_up")? as u64;
    c.retried += n("retries.retried")? as u64;
    c.record_attempts += n("retries.record_attempts")? as u64;
    c.early_retries += n("retries.retry_after_violations")? as u64;
    c.write_calls += n("api.calls")? as u64;
    // Reads and searches are judged together (throttled share, availability): one counter.
    c.read_calls += n("api.verify_calls")? as u64;
    c.throttled_calls += n("api.throttled_calls")? as u64;
    Ok(())
}

/// Sums the retry distributions and storm counts of one shard. Records by attempts add up
/// across shards; the ledger keeps records *reaching* each attempt, their suffix sums.
fn add_retries(c: &mut LedgerCounts, retries: &Value, path: &Path) -> Result<(), MergeError> {
    let missing = |key: &str| MergeError::Missing {
        path: path.to_path_buf(),
        key: format!("retries.{key}"),
    };
    let map = |key: &str| -> Result<Vec<(u32, u64)>, MergeError> {
        let Some(object) = retries.get(key).and_then(Value::as_object) else {
            return Err(missing(key));
        };
        object
            .iter()
            .map(|(k, v)| match (k.parse::<u32>(), v.as_u64()) {
                (Ok(k), Some(v)) => Ok((k, v)),
                _ => Err(missing(&format!("{key}.{k}"))),
            })
            .collect()
    };
    for (k, n) in map("records_by_attempts")? {
        for reached in 1..=k {
            *c.reached_attempt.entry(reached).or_default() += n;
        }
    }
    for (k, n) in map("write_calls_by_attempt")? {
        *c.write_calls_by_attempt.entry(k).or_default() += n;
    }
    let storm = |key: &str| {
        retries
            .pointer(&format!("/storms/{key}"))
            .and_then(Value::as_u64)
            .ok_or_else(|| missing(&format!("storms.{key}")))
    };
    c.storms.absorb(
        storm("windows")?,
        (storm("worst_retries")?, storm("worst_fresh")?),
    );
    Ok(())
}

fn add_fields(fields: &mut Vec<FieldScore>, json: &Value, path: &Path) -> Result<(), MergeError> {
    let entries = json["fields"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for (i, f) in entries.iter().enumerate() {
        let name = f["name"].as_str().unwrap_or_default().to_string();
        let at = match fields.iter().position(|x| x.name == name) {
            Some(at) => at,
            None => {
                fields.push(FieldScore {
                    name,
                    ..FieldScore::default()
                });
                fields.len() - 1
            }
        };
        let x = &mut fields[at];
        for (key, slot) in [
            ("source_nonempty", &mut x.source_nonempty),
            ("present", &mut x.present),
            ("accurate", &mut x.accurate),
            ("truncated", &mut x.truncated),
            ("source_judged", &mut x.source_judged),
            ("source_invalid", &mut x.source_invalid),
            ("target_judged", &mut x.target_judged),
            ("target_invalid", &mut x.target_invalid),
            ("invalid_carried", &mut x.invalid_carried),
        ] {
            *slot += f[key].as_u64().ok_or_else(|| MergeError::Missing {
                path: path.to_path_buf(),
                key: format!("fields[{i}].{key}"),
            })?;
        }
    }
    Ok(())
}

/// The first run's SLA, as its `summary.json` states its thresholds.
fn first_sla(summary: &Summary, run: &Path) -> SlaSpec {
    let op = |s: &str| match s {
        "<" => Op::Lt,
        ">=" => Op::Ge,
        ">" => Op::Gt,
        _ => Op::Le,
    };
    SlaSpec {
        file: run.join("summary.json").display().to_string(),
        thresholds: summary
            .verdicts
            .iter()
            .map(|v| Threshold {
                name: v.name.clone(),
                metric: v.metric.clone(),
                op: op(v.op),
                threshold: v.threshold,
                confidence: v.confidence,
            })
            .collect(),
    }
}

fn merged_info(summaries: &[Summary], runs: &[PathBuf]) -> Result<RunInfo, MergeError> {
    let infos = summaries
        .iter()
        .zip(runs)
        .map(|(s, r)| {
            serde_json::from_value::<RunInfo>(s.json["run"].clone()).map_err(|_| {
                MergeError::Missing {
                    path: r.join("summary.json"),
                    key: "run".into(),
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let head = &infos[0];
    if let Some((info, run)) = infos
        .iter()
        .zip(runs)
        .find(|(i, _)| i.plan != head.plan || i.seed != head.seed)
    {
        return Err(MergeError::NotShards {
            path: run.join("summary.json"),
            plan: info.plan.clone(),
            seed: info.seed,
            first_plan: head.plan.clone(),
            first_seed: head.seed,
        });
    }
    Ok(RunInfo {
        id: format!("{}-merged-{}", head.id, infos.len()),
        plan: head.plan.clone(),
        seed: head.seed,
        started_at: infos
            .iter()
            .map(|i| i.started_at.clone())
            .min()
            .unwrap_or_default(),
        finished_at: infos
            .iter()
            .map(|i| i.finished_at.clone())
            .max()
            .unwrap_or_default(),
        duration_s: infos.iter().map(|i| i.duration_s).fold(0.0, f64::max),
        complete: infos.iter().all(|i| i.complete),
        records_planned: infos.iter().map(|i| i.records_planned).sum(),
        // The merged run is the whole run again.
        shard: None,
        rate_per_s: infos.iter().map(|i| i.rate_per_s).sum(),
        verify_poll_interval_ms: head.verify_poll_interval_ms,
        verify_window_ms: head.verify_window_ms,
        clock_speed: head.clock_speed,
        real_duration_s: infos
            .iter()
            .filter_map(|i| i.real_duration_s)
            .reduce(f64::max),
        resumes: infos.iter().map(|i| i.resumes).sum(),
        // Shards run in their own processes: CPU adds up, memory is per process.
        cpu_s: infos.iter().filter_map(|i| i.cpu_s).reduce(|a, b| a + b),
        // Shards ran in processes of their own, possibly on other machines: no one share.
        cpu_pct_of_wall: None,
        peak_rss_mib: infos.iter().filter_map(|i| i.peak_rss_mib).reduce(f64::max),
        closed_loop: infos.iter().any(|i| i.closed_loop),
    })
}

/// Sums two ground-truth documents: numbers add, objects merge key by key, the rest keeps `a`.
fn sum_json(a: Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Null, b) => b.clone(),
        (Value::Number(x), Value::Number(y)) => match (x.as_u64(), y.as_u64()) {
            (Some(x), Some(y)) => json!(x + y),
            _ => json!(x.as_f64().unwrap_or(0.0) + y.as_f64().unwrap_or(0.0)),
        },
        (Value::Object(mut x), Value::Object(y)) => {
            for (k, v) in y {
                let old = x.remove(k).unwrap_or(Value::Null);
                x.insert(k.clone(), sum_json(old, v));
            }
            Value::Object(x)
        }
        (a, _) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;
    use crate::measure::{
        CallRecord, Event, EventKind, EventLog, Message, Micros, Outcome, RunClock,
    };
    use crate::shape::Shape;

    /// A small run's messages: record `i` written once (a few throttled first), seen or lost.
    fn messages() -> Vec<Message> {
        let ms = |m: u64| Micros(m * 1000);
        let mut out = Vec::new();
        for i in 0..200u64 {
            let throttled = i % 7 == 0;
            out.push(Message::Call(CallRecord {
                call_id: i,
                endpoint: "write:batch_upsert",
                is_write: true,
                status: if throttled { 429 } else { 200 },
                outcome: if throttled {
                    Outcome::Throttled
                } else {
                    Outcome::Ok
                },
                sent_at: ms(i * 10),
                done_at: ms(i * 10 + 3 + (i * 37) % 250),
                n_records: 1,
                attempt: Some(1),
                retry_after: None,
                early_retry: false,
                quota_used: Some((i % 50) as f64 / 100.0),
                daily_used: None,
                burst_per_s: None,
            }));
            let mut attempt = Event::new(EventKind::Attempt, i, format!("c-{i}"), ms(i * 10));
            attempt.call_id = Some(i);
            attempt.attempt = Some(1);
            attempt.status = Some(200);
            attempt.outcome = Some(Outcome::Ok);
            attempt.sent_at = Some(ms(i * 10));
            attempt.done_at = Some(ms(i * 10 + 3));
            out.push(Message::Event(attempt));
            let mut seen = if i % 23 == 5 {
                Event::new(EventKind::Lost, i, format!("c-{i}"), ms(i * 10))
            } else {
                Event::new(EventKind::Observed, i, format!("c-{i}"), ms(i * 10))
            };
            seen.done_at = Some(ms(i * 10 + 100 + (i * i * 13) % 1900));
            out.push(Message::Event(seen));
        }
        out
    }

    /// Writes `msgs` as a finished run directory the way `run.rs` does: events, then summary.
    fn write_run(dir: &Path, msgs: &[&Message]) -> Summary {
        let mut log = EventLog::create(&dir.join("events"), RunClock::start(), 64);
        let mut ledger = Ledger::default();
        for m in msgs {
            log.append(m).unwrap();
            ledger.apply(m);
        }
        log.finish().unwrap();
        let shape = Shape::demo();
        // As in a run, every record seen in the window is reconciled.
        let card = Scorecard {
            delivered: ledger.counts.observed,
            ..Scorecard::new(&shape)
        };
        let metrics = Metrics::collect(&ledger, &card);
        let sla = SlaSpec::from_source(
            &Source::embedded("sla.toml", include_str!("../../datasets/sla/demo.toml")),
            &shape,
        )
        .unwrap();
        let run: RunInfo = serde_json::from_value(json!({
            "id": "r", "plan": "p", "seed": 1, "started_at": "s", "finished_at": "f",
            "duration_s": 2.0, "complete": true, "records_planned": msgs.len(), "rate_per_s": 100.0,
            "verify_poll_interval_ms": 200, "verify_window_ms": 8000
        }))
        .unwrap();
        let summary = Summary::build(&run, &ledger, &card, &metrics, judge(&sla, &metrics), None);
        write_reports(dir, &summary).unwrap();
        summary
    }

    #[test]
    fn four_shards_merge_to_the_figures_of_all_events_at_once() {
        let tmp = tempfile::tempdir().unwrap();
        let msgs = messages();
        let whole = write_run(&tmp.path().join("whole"), &msgs.iter().collect::<Vec<_>>());
        let shard_of = |m: &Message| match m {
            Message::Call(c) => c.call_id % 4,
            Message::Event(e) => e.record_idx % 4,
        };
        let runs: Vec<PathBuf> = (0..4)
            .map(|k| {
                let dir = tmp.path().join(format!("shard-{k}"));
                let part: Vec<&Message> = msgs.iter().filter(|m| shard_of(m) == k).collect();
                write_run(&dir, &part);
                dir
            })
            .collect();
        let out = tmp.path().join("merged");
        let merged = merge_runs(&runs, &out).unwrap();
        for key in [
            "records",
            "latency",
            "retries",
            "api",
            "completeness",
            "accuracy",
        ] {
            assert_eq!(merged.json[key], whole.json[key], "{key}");
        }
        assert_eq!(merged.json["sla"], whole.json["sla"]);
        assert_eq!(merged.overall, whole.overall);
        assert_eq!(
            segments(&out).unwrap().len(),
            (0..4)
                .map(|k| segments(&runs[k]).unwrap().len())
                .sum::<usize>()
        );
        // The merged directory is a run directory: it loads back and re-renders.
        assert_eq!(load_summary(&out).unwrap().json, merged.json);
        assert!(out.join("report.html").is_file());
        // Merging into it again is refused: it already holds a run.
        assert!(matches!(
            merge_runs(&runs, &out),
            Err(MergeError::OutNotEmpty(_))
        ));
        let other = tmp.path().join("other-seed");
        std::fs::create_dir_all(&other).unwrap();
        let mut json = load_summary(&runs[1]).unwrap().json;
        json["run"]["seed"] = json!(2);
        std::fs::write(other.join("summary.json"), json.to_string()).unwrap();
        let err = merge_runs(&[runs[0].clone(), other], &tmp.path().join("y")).unwrap_err();
        assert!(
            err.is_bad_input() && err.to_string().contains("with seed 2, but the first run's"),
            "{err}"
        );
        assert!(
            !tmp.path().join("y").exists(),
            "nothing is written for refused input"
        );
        let err = merge_runs(&[tmp.path().to_path_buf()], &tmp.path().join("x")).unwrap_err();
        assert!(
            err.is_bad_input() && err.to_string().contains("no summary.json"),
            "{err}"
        );
    }

    #[test]
    fn histograms_from_segments_are_the_ledgers() {
        let tmp = tempfile::tempdir().unwrap();
        let msgs = messages();
        let mut log = EventLog::create(&tmp.path().join("events"), RunClock::start(), 50);
        let mut ledger = Ledger::default();
        for m in &msgs {
            log.append(m).unwrap();
            ledger.apply(m);
        }
        log.finish().unwrap();
        let l = latencies_from_segments(&segments(tmp.path()).unwrap()).unwrap();
        assert_eq!(l.sync.summary(), ledger.sync.summary());
        assert_eq!(l.api.summary(), ledger.api.summary());
    }
}
