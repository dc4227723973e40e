//! Time series for the report's charts, read back from a finished run's event segments
//! (`events/*.parquet`), never from live state: sync latency percentiles of `observed` events,
//! write calls, throttled calls and records written per time bucket, and retries (attempts after
//! the first). Memory is bounded by the number of buckets, not by the number of events: two
//! passes over the segments (the time range, then the buckets), reading only the columns needed.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType, UInt32Type};
use arrow_array::{Array, RecordBatch};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::measure::LatencyHistogram;

/// Why the event segments could not be read; names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum SeriesError {
    #[error("cannot read {path}: {source} (is this a syncproof run directory?)")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a readable event segment: {source} (remove it or re-run)")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("{path}: not a readable event segment: {source} (remove it or re-run)")]
    Arrow {
        path: PathBuf,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error("{path}: event segment has no column \"{column}\" of the documented type")]
    Column { path: PathBuf, column: &'static str },
}

/// One time bucket.
#[derive(Debug, Clone, Default)]
pub struct Bucket {
    /// Seconds since the first event of the run.
    pub start_s: f64,
    /// Sync latency of the records first seen at the target in this bucket.
    pub sync: LatencyHistogram,
    /// Write calls that completed in this bucket, and those answered 429.
    pub write_calls: u64,
    pub throttled_calls: u64,
    /// Records in write calls that completed `ok`.
    pub records_written: u64,
    /// Write attempts after a record's first.
    pub retries: u64,
}

/// The run's events, bucketed by the time they completed.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub bucket_s: f64,
    pub buckets: Vec<Bucket>,
}

const COLUMNS: [&str; 7] = [
    "kind",
    "attempt",
    "endpoint",
    "outcome",
    "done_at",
    "latency_ms",
    "service_ms",
];

/// The event segments of a run directory, in order; in-progress `.tmp` files are not segments.
pub fn segments(run_dir: &Path) -> Result<Vec<PathBuf>, SeriesError> {
    let dir = run_dir.join("events");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SeriesError::Io { path: dir, source }),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| SeriesError::Io {
                path: dir.clone(),
                source,
            })?
            .path();
        if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Reads the run's events into at most `max_buckets` buckets of equal width.
pub fn read_series(run_dir: &Path, max_buckets: usize) -> Result<Series, SeriesError> {
    let files = segments(run_dir)?;
    let mut range: Option<(i64, i64)> = None;
    for path in &files {
        for_each_batch(path, |batch| {
            let done = timestamps(path, batch)?;
            for t in done.iter().flatten() {
                range = Some(match range {
                    None => (t, t),
                    Some((lo, hi)) => (lo.min(t), hi.max(t)),
                });
            }
            Ok(())
        })?;
    }
    let Some((first, last)) = range else {
        return Ok(Series::default());
    };
    let max_buckets = max_buckets.max(1);
    let span_us = (last - first).max(1) as f64;
    // A round width (whole seconds when the run is long, else tenths) so axes read cleanly.
    let raw_s = span_us / 1e6 / max_buckets as f64;
    let bucket_s = if raw_s >= 1.0 {
        raw_s.ceil()
    } else {
        ((raw_s * 10.0).ceil() / 10.0).max(0.1)
    };
    let bucket_us = bucket_s * 1e6;
    let n = ((span_us / bucket_us).floor() as usize + 1).min(max_buckets + 1);
    let mut buckets: Vec<Bucket> = (0..n)
        .map(|i| Bucket {
            start_s: i as f64 * bucket_s,
            ..Bucket::default()
        })
        .collect();
    for path in &files {
        for_each_batch(path, |batch| {
            let done = timestamps(path, batch)?;
            let kind = strings(path, batch, "kind")?;
            let endpoint = strings(path, batch, "endpoint")?;
            let outcome = strings(path, batch, "outcome")?;
            let attempt = column(path, batch, "attempt")?.as_primitive_opt::<UInt32Type>();
            let latency = column(path, batch, "latency_ms")?.as_primitive_opt::<Float64Type>();
            let (Some(attempt), Some(latency)) = (attempt, latency) else {
                return Err(SeriesError::Column {
                    path: path.clone(),
                    column: "attempt/latency_ms",
                });
            };
            for row in 0..batch.num_rows() {
                if done.is_null(row) {
                    continue;
                }
                let at = ((done.value(row) - first) as f64 / bucket_us) as usize;
                let b = &mut buckets[at.min(n - 1)];
                match kind.value(row) {
                    "observed" if !latency.is_null(row) => {
                        let ms = latency.value(row).max(0.0);
                        b.sync.record(Duration::from_secs_f64(ms / 1000.0));
                    }
                    "call" if endpoint.value(row).starts_with("write:") => {
                        b.write_calls += 1;
                        if outcome.value(row) == "throttled" {
                            b.throttled_calls += 1;
                        }
                    }
                    "attempt" => {
                        if !attempt.is_null(row) && attempt.value(row) > 1 {
                            b.retries += 1;
                        }
                        if outcome.value(row) == "ok" {
                            b.records_written += 1;
                        }
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
    }
    Ok(Series { bucket_s, buckets })
}

pub(super) fn for_each_batch(
    path: &Path,
    f: impl FnMut(&RecordBatch) -> Result<(), SeriesError>,
) -> Result<(), SeriesError> {
    for_each_batch_of(path, &COLUMNS, f)
}

/// Reads the named columns of an event segment, batch by batch.
pub(crate) fn for_each_batch_of(
    path: &Path,
    columns: &[&str],
    mut f: impl FnMut(&RecordBatch) -> Result<(), SeriesError>,
) -> Result<(), SeriesError> {
    let parquet = |source| SeriesError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|source| SeriesError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet)?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), columns.iter().copied());
    let reader = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(parquet)?;
    for batch in reader {
        let batch = batch.map_err(|source| SeriesError::Arrow {
            path: path.to_path_buf(),
            source,
        })?;
        f(&batch)?;
    }
    Ok(())
}

pub(crate) fn column<'a>(
    path: &Path,
    batch: &'a RecordBatch,
    name: &'static str,
) -> Result<&'a dyn Array, SeriesError> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| SeriesError::Column {
            path: path.to_path_buf(),
            column: name,
        })
}

pub(crate) fn strings<'a>(
    path: &Path,
    batch: &'a RecordBatch,
    name: &'static str,
) -> Result<&'a arrow_array::StringArray, SeriesError> {
    column(path, batch, name)?
        .as_string_opt::<i32>()
        .ok_or_else(|| SeriesError::Column {
            path: path.to_path_buf(),
            column: name,
        })
}

fn timestamps<'a>(
    path: &Path,
    batch: &'a RecordBatch,
) -> Result<&'a arrow_array::TimestampMicrosecondArray, SeriesError> {
    column(path, batch, "done_at")?
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| SeriesError::Column {
            path: path.to_path_buf(),
            column: "done_at",
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{
        CallRecord, Event, EventKind, EventLog, Message, Micros, Outcome, RunClock,
    };

    #[test]
    fn events_are_bucketed_by_completion_time_with_their_counts() {
        let dir = tempfile::tempdir().unwrap();
        let clock = RunClock::start();
        let mut log = EventLog::create(&dir.path().join("events"), clock, 3);
        let ms = |m: u64| Micros(m * 1000);
        for i in 0..10u64 {
            let mut e = Event::new(EventKind::Observed, i, format!("x{i}"), ms(i * 1000));
            e.done_at = Some(ms(i * 1000 + 100 + i * 10));
            log.append(&Message::Event(e)).unwrap();
            log.append(&Message::Call(CallRecord {
                call_id: i,
                endpoint: "write:batch_upsert",
                is_write: true,
                status: if i % 2 == 0 { 429 } else { 200 },
                outcome: if i % 2 == 0 {
                    Outcome::Throttled
                } else {
                    Outcome::Ok
                },
                sent_at: ms(i * 1000),
                done_at: ms(i * 1000 + 5),
                n_records: 1,
                attempt: Some(1),
                retry_after: None,
                early_retry: false,
                quota_used: None,
                daily_used: None,
                burst_per_s: None,
            }))
            .unwrap();
        }
        log.finish().unwrap();
        let series = read_series(dir.path(), 5).unwrap();
        let calls: u64 = series.buckets.iter().map(|b| b.write_calls).sum();
        let throttled: u64 = series.buckets.iter().map(|b| b.throttled_calls).sum();
        let seen: u64 = series.buckets.iter().map(|b| b.sync.len()).sum();
        assert_eq!((calls, throttled, seen), (10, 5, 10));
        assert!(series.buckets.len() <= 6, "{}", series.buckets.len());
        assert_eq!(series.bucket_s, 2.0);
        // Latency rises with i: the last bucket's median is above the first's.
        let first = &series.buckets[0].sync;
        let last = &series
            .buckets
            .iter()
            .rfind(|b| !b.sync.is_empty())
            .unwrap()
            .sync;
        assert!(last.quantile_ms(0.5) > first.quantile_ms(0.5));
    }

    #[test]
    fn a_run_without_events_has_an_empty_series() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_series(dir.path(), 10).unwrap().buckets.is_empty());
    }
}
