//! The event log: every API call, every attempt of every record, every observation at the
//! target, written to `events/events-NNNNNN.parquet` segments. A segment is closed atomically
//! (see [`crate::parquet_out`]) every `segment_rows` rows and at the end, so a crash loses at
//! most the open segment and never leaves a half file under a final name.
//!
//! One table, one row per event, `kind` telling which columns are set:
//!
//! | kind | one row per | columns set |
//! |---|---|---|
//! | `call` | API call | call_id, endpoint, status, outcome, sent_at, done_at, service_ms, n_records, retry_after_ms, attempt (write calls: 1 = fresh send) |
//! | `attempt` | record in a write call | record_idx, external_id, call_id, attempt, status, outcome, scheduled_at, sent_at, done_at |
//! | `observed` | record first seen at the target | record_idx, external_id, scheduled_at, done_at (= seen), latency_ms |
//! | `lost` | record never seen within the window | record_idx, external_id, scheduled_at |
//! | `reconciled` | record after the final read of the target | record_idx, external_id, copies |
//! | `skipped` | operation of a `[load] mix` not sent: its record's create was lost, or no live record was in the window (then external_id is empty) | record_idx, external_id, scheduled_at |
//!
//! In a run with a `[load] mix`, every record-level event also carries `op` (`create`,
//! `update`, `delete`), `op_idx` (the operation's place on the schedule) and, for updates,
//! `version`; `record_idx` is the record the operation touches. In a creates-only run these
//! three columns are null.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::builder::{
    Float64Builder, StringBuilder, TimestampMicrosecondBuilder, UInt16Builder, UInt32Builder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{Micros, RunClock};
use crate::parquet_out::{ParquetOut, ParquetOutError};
use crate::replay::OpKind;

/// How a call (and so each record in it) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 2xx: accepted.
    Ok,
    /// 429 (or a vendor's equivalent): slow down and retry.
    Throttled,
    /// 5xx or 408: retry after a back-off.
    Transient,
    /// Connection refused, reset, timed out: retry after a back-off.
    Transport,
    /// Other 4xx: retrying cannot help.
    Rejected,
    /// The retry budget ran out (or a rejection): the record was abandoned.
    GaveUp,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Throttled => "throttled",
            Outcome::Transient => "transient",
            Outcome::Transport => "transport",
            Outcome::Rejected => "rejected",
            Outcome::GaveUp => "gave_up",
        }
    }

    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Outcome::Throttled | Outcome::Transient | Outcome::Transport
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Attempt,
    Observed,
    Lost,
    Reconciled,
    /// A mixed run's operation that was not sent.
    Skipped,
}

impl EventKind {
    fn as_str(self) -> &'static str {
        match self {
            EventKind::Attempt => "attempt",
            EventKind::Observed => "observed",
            EventKind::Lost => "lost",
            EventKind::Reconciled => "reconciled",
            EventKind::Skipped => "skipped",
        }
    }
}

/// One API call as the client saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub call_id: u64,
    /// `write`, `read` or `search`, then the endpoint, e.g. `write:batch_upsert`.
    pub endpoint: &'static str,
    pub is_write: bool,
    /// HTTP status; 0 when no response arrived (transport error).
    pub status: u16,
    pub outcome: Outcome,
    pub sent_at: Micros,
    pub done_at: Micros,
    pub n_records: u32,
    /// Which attempt of its batch a write call was (1 = a fresh send); `None` for reads.
    pub attempt: Option<u32>,
    pub retry_after: Option<Duration>,
    /// This call was a retry sent before the previous response's `Retry-After` had passed.
    pub early_retry: bool,
    /// Share of the vendor's rolling-window quota used, from its rate-limit headers (0..=1).
    pub quota_used: Option<f64>,
    /// Share of the vendor's daily quota used, from its daily rate-limit headers (0..=1).
    pub daily_used: Option<f64>,
    /// The vendor's burst quota as calls per second (its max over its interval).
    pub burst_per_s: Option<f64>,
}

/// One record-level event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub record_idx: u64,
    pub external_id: String,
    pub scheduled_at: Micros,
    pub call_id: Option<u64>,
    pub attempt: Option<u32>,
    pub status: Option<u16>,
    pub outcome: Option<Outcome>,
    pub sent_at: Option<Micros>,
    pub done_at: Option<Micros>,
    pub copies: Option<u32>,
    /// A mixed run's operation: its kind, its index on the schedule, an update's version.
    pub op: Option<(OpKind, u64, u32)>,
}

impl Event {
    pub fn new(
        kind: EventKind,
        record_idx: u64,
        external_id: String,
        scheduled_at: Micros,
    ) -> Event {
        Event {
            kind,
            record_idx,
            external_id,
            scheduled_at,
            call_id: None,
            attempt: None,
            status: None,
            outcome: None,
            sent_at: None,
            done_at: None,
            copies: None,
            op: None,
        }
    }

    /// The event of a mixed run's operation `op_idx` (`None`: a creates-only run's record).
    pub fn with_op(mut self, op: Option<(OpKind, u64, u32)>) -> Event {
        self.op = op;
        self
    }
}

/// What workers and verifiers send to the collector.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Call(CallRecord),
    Event(Event),
}

/// The schema of the event segments (documented in the README).
pub fn event_schema() -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    Arc::new(Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("record_idx", DataType::UInt64, true),
        Field::new("external_id", DataType::Utf8, true),
        Field::new("call_id", DataType::UInt64, true),
        Field::new("attempt", DataType::UInt32, true),
        Field::new("endpoint", DataType::Utf8, true),
        Field::new("status", DataType::UInt16, true),
        Field::new("outcome", DataType::Utf8, true),
        Field::new("scheduled_at", ts.clone(), true),
        Field::new("sent_at", ts.clone(), true),
        Field::new("done_at", ts, true),
        Field::new("service_ms", DataType::Float64, true),
        Field::new("latency_ms", DataType::Float64, true),
        Field::new("retry_after_ms", DataType::UInt64, true),
        Field::new("n_records", DataType::UInt32, true),
        Field::new("copies", DataType::UInt32, true),
        Field::new("op", DataType::Utf8, true),
        Field::new("op_idx", DataType::UInt64, true),
        Field::new("version", DataType::UInt32, true),
    ]))
}

struct Columns {
    kind: StringBuilder,
    record_idx: UInt64Builder,
    external_id: StringBuilder,
    call_id: UInt64Builder,
    attempt: UInt32Builder,
    endpoint: StringBuilder,
    status: UInt16Builder,
    outcome: StringBuilder,
    scheduled_at: TimestampMicrosecondBuilder,
    sent_at: TimestampMicrosecondBuilder,
    done_at: TimestampMicrosecondBuilder,
    service_ms: Float64Builder,
    latency_ms: Float64Builder,
    retry_after_ms: UInt64Builder,
    n_records: UInt32Builder,
    copies: UInt32Builder,
    op: StringBuilder,
    op_idx: UInt64Builder,
    version: UInt32Builder,
    rows: usize,
}

impl Columns {
    fn new() -> Columns {
        let ts = || TimestampMicrosecondBuilder::new().with_timezone("UTC");
        Columns {
            kind: StringBuilder::new(),
            record_idx: UInt64Builder::new(),
            external_id: StringBuilder::new(),
            call_id: UInt64Builder::new(),
            attempt: UInt32Builder::new(),
            endpoint: StringBuilder::new(),
            status: UInt16Builder::new(),
            outcome: StringBuilder::new(),
            scheduled_at: ts(),
            sent_at: ts(),
            done_at: ts(),
            service_ms: Float64Builder::new(),
            latency_ms: Float64Builder::new(),
            retry_after_ms: UInt64Builder::new(),
            n_records: UInt32Builder::new(),
            copies: UInt32Builder::new(),
            op: StringBuilder::new(),
            op_idx: UInt64Builder::new(),
            version: UInt32Builder::new(),
            rows: 0,
        }
    }

    fn push(&mut self, clock: &RunClock, message: &Message) {
        let ts = |m: Option<Micros>| m.map(|m| clock.epoch_micros(m));
        match message {
            Message::Call(c) => {
                self.kind.append_value("call");
                self.record_idx.append_null();
                self.external_id.append_null();
                self.call_id.append_value(c.call_id);
                self.attempt.append_option(c.attempt);
                self.endpoint.append_value(c.endpoint);
                self.status.append_value(c.status);
                self.outcome.append_value(c.outcome.as_str());
                self.scheduled_at.append_null();
                self.sent_at.append_option(ts(Some(c.sent_at)));
                self.done_at.append_option(ts(Some(c.done_at)));
                self.service_ms
                    .append_value(c.done_at.since(c.sent_at).as_secs_f64() * 1000.0);
                self.latency_ms.append_null();
                self.retry_after_ms
                    .append_option(c.retry_after.map(|d| d.as_millis() as u64));
                self.n_records.append_value(c.n_records);
                self.copies.append_null();
                self.op.append_null();
                self.op_idx.append_null();
                self.version.append_null();
            }
            Message::Event(e) => {
                self.kind.append_value(e.kind.as_str());
                self.record_idx.append_value(e.record_idx);
                self.external_id.append_value(&e.external_id);
                self.call_id.append_option(e.call_id);
                self.attempt.append_option(e.attempt);
                self.endpoint.append_null();
                self.status.append_option(e.status);
                self.outcome.append_option(e.outcome.map(Outcome::as_str));
                let scheduled = (e.kind != EventKind::Reconciled).then_some(e.scheduled_at);
                self.scheduled_at.append_option(ts(scheduled));
                self.sent_at.append_option(ts(e.sent_at));
                self.done_at.append_option(ts(e.done_at));
                self.service_ms.append_null();
                let latency = match e.kind {
                    EventKind::Observed => e
                        .done_at
                        .map(|seen| seen.since(e.scheduled_at).as_secs_f64() * 1000.0),
                    _ => None,
                };
                self.latency_ms.append_option(latency);
                self.retry_after_ms.append_null();
                self.n_records.append_null();
                self.copies.append_option(e.copies);
                self.op.append_option(e.op.map(|(k, _, _)| k.as_str()));
                self.op_idx.append_option(e.op.map(|(_, j, _)| j));
                self.version.append_option(
                    e.op.and_then(|(k, _, v)| (k == crate::replay::OpKind::Update).then_some(v)),
                );
            }
        }
        self.rows += 1;
    }

    fn finish(&mut self, schema: &SchemaRef) -> RecordBatch {
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(self.kind.finish()),
            Arc::new(self.record_idx.finish()),
            Arc::new(self.external_id.finish()),
            Arc::new(self.call_id.finish()),
            Arc::new(self.attempt.finish()),
            Arc::new(self.endpoint.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.outcome.finish()),
            Arc::new(self.scheduled_at.finish()),
            Arc::new(self.sent_at.finish()),
            Arc::new(self.done_at.finish()),
            Arc::new(self.service_ms.finish()),
            Arc::new(self.latency_ms.finish()),
            Arc::new(self.retry_after_ms.finish()),
            Arc::new(self.n_records.finish()),
            Arc::new(self.copies.finish()),
            Arc::new(self.op.finish()),
            Arc::new(self.op_idx.finish()),
            Arc::new(self.version.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(schema), arrays).expect("columns match the schema")
    }
}

/// Appends events to rolling Parquet segments under a run's `events/` directory.
pub struct EventLog {
    dir: PathBuf,
    clock: RunClock,
    schema: SchemaRef,
    columns: Columns,
    segment: Option<ParquetOut>,
    next_segment: u32,
    segment_rows: u64,
    closed: Vec<PathBuf>,
    total_rows: u64,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog")
            .field("dir", &self.dir)
            .field("total_rows", &self.total_rows)
            .finish()
    }
}

const BATCH_ROWS: usize = 4096;

/// Columns whose values rarely repeat within a segment (ids, indices, timestamps, durations):
/// a dictionary would only be built to be thrown away, so they are written plain.
const PLAIN_COLUMNS: [&str; 9] = [
    "record_idx",
    "external_id",
    "call_id",
    "scheduled_at",
    "sent_at",
    "done_at",
    "service_ms",
    "latency_ms",
    "op_idx",
];

/// A segment's writer properties: snappy, the run's start in the key-value metadata, the
/// [`PLAIN_COLUMNS`] without a dictionary, and no min/max statistics for external ids (nobody
/// prunes by them; they cost a comparison per row).
fn segment_properties(run_started_at: String) -> WriterProperties {
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "syncproof.run_started_at".to_string(),
            run_started_at,
        )]))
        .set_column_statistics_enabled(ColumnPath::from("external_id"), EnabledStatistics::None);
    for column in PLAIN_COLUMNS {
        props = props.set_column_dictionary_enabled(ColumnPath::from(column), false);
    }
    props.build()
}

impl EventLog {
    pub fn create(dir: &Path, clock: RunClock, segment_rows: u64) -> EventLog {
        EventLog {
            dir: dir.to_path_buf(),
            clock,
            schema: event_schema(),
            columns: Columns::new(),
            segment: None,
            next_segment: 1,
            segment_rows: segment_rows.max(BATCH_ROWS as u64),
            closed: Vec::new(),
            total_rows: 0,
        }
    }

    /// Continues a run's log after `closed` (the segments a checkpoint lists, in order).
    pub fn resume(
        dir: &Path,
        clock: RunClock,
        segment_rows: u64,
        closed: Vec<PathBuf>,
    ) -> EventLog {
        let mut log = EventLog::create(dir, clock, segment_rows);
        log.next_segment = closed.len() as u32 + 1;
        log.closed = closed;
        log
    }

    /// Every segment closed so far, in order.
    pub fn closed(&self) -> &[PathBuf] {
        &self.closed
    }

    /// Writes what is buffered and closes the open segment, so that everything appended so far
    /// is durable. True when a segment was closed.
    pub fn close_segment(&mut self) -> Result<bool, ParquetOutError> {
        self.flush_batch()?;
        match self.segment.take() {
            Some(segment) => {
                self.closed.push(segment.close()?);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub fn append(&mut self, message: &Message) -> Result<(), ParquetOutError> {
        self.columns.push(&self.clock, message);
        self.total_rows += 1;
        if self.columns.rows >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), ParquetOutError> {
        if self.columns.rows == 0 {
            return Ok(());
        }
        let batch = self.columns.finish(&self.schema);
        if self.segment.is_none() {
            let path = self
                .dir
                .join(format!("events-{:06}.parquet", self.next_segment));
            self.next_segment += 1;
            let started = humantime::format_rfc3339_micros(self.clock.started_wall()).to_string();
            self.segment = Some(ParquetOut::with_properties(
                &path,
                Arc::clone(&self.schema),
                segment_properties(started),
            )?);
        }
        let segment = self.segment.as_mut().expect("opened above");
        segment.write(&batch)?;
        if segment.rows() >= self.segment_rows {
            let full = self.segment.take().expect("present");
            self.closed.push(full.close()?);
        }
        Ok(())
    }

    /// Flushes and closes the open segment; returns every segment written.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, ParquetOutError> {
        self.close_segment()?;
        Ok(self.closed)
    }

    pub fn total_rows(&self) -> u64 {
        self.total_rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn segments_roll_over_and_read_back_every_row() {
        let dir = tempfile::tempdir().unwrap();
        let clock = RunClock::start();
        let mut log = EventLog::create(dir.path(), clock, 5000);
        for i in 0..12_000u64 {
            let mut e = Event::new(EventKind::Observed, i, format!("id-{i}"), Micros(i));
            e.done_at = Some(Micros(i + 1500));
            log.append(&Message::Event(e)).unwrap();
        }
        let segments = log.finish().unwrap();
        assert!(segments.len() >= 2, "{segments:?}");
        let mut rows = 0;
        for path in &segments {
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap())
                    .unwrap()
                    .build()
                    .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                rows += batch.num_rows();
                let latency = batch
                    .column_by_name("latency_ms")
                    .unwrap()
                    .as_any()
                    .downcast_ref::<arrow_array::Float64Array>()
                    .unwrap();
                assert!(latency.iter().all(|v| v == Some(1.5)));
            }
        }
        assert_eq!(rows, 12_000);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .collect();
        assert!(leftovers.is_empty());
    }
}
