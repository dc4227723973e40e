//! `run --resume DIR`: picks a run up where its last checkpoint left it.
//!
//! The checkpoint lists the closed event segments and the counters of exactly those events.
//! Everything after it (the open segment's temporary file, a segment closed after the last
//! checkpoint) is moved aside to `discarded/`, and the records it concerned are measured again.
//! From the kept segments the run learns each record's state:
//!
//! - *finished* (observed at the target or declared lost): never touched again;
//! - *settled* (acknowledged or given up, not yet observed): read back again, its verification
//!   window restarting at the resume;
//! - *carried* (attempted, neither acknowledged nor given up): sent again first, its attempt
//!   numbers continuing, so the ledger counts it sent once and retried, as it would have been;
//! - anything else: sent on the open-loop schedule, which continues from the checkpoint's time.
//!
//! Writes are upserts by external id, so sending a record again cannot duplicate it at the
//! target. Only a target whose state outlives the harness can be resumed: an API PoC (a
//! vendor, its sandbox, or `syncproof mock` in its own process). The built-in mock integration
//! lives inside the harness process and dies with it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, UInt32Type, UInt64Type};

use crate::measure::{CHECKPOINT_FILE, Checkpoint, Micros, RunClock};
use crate::replay::{Carried, RecordSet, Work};
use crate::report::SeriesError;
use crate::report::series::{column, for_each_batch_of, strings};

/// A settled record waiting to be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    pub external_id: String,
    pub scheduled_at: Micros,
}

/// What a resumed run knows of its records.
#[derive(Debug, Default)]
pub struct RecordStates {
    /// The work left: the range minus the finished and settled records; carried ones first.
    pub work: Work,
    /// Acknowledged or given up, not yet observed: to read back.
    pub settled: BTreeMap<u64, Settled>,
    /// Declared lost before the interruption (the scorecard needs them).
    pub lost: BTreeSet<u64>,
}

#[derive(Debug, Default)]
struct Seen {
    attempts: u32,
    scheduled_at: Micros,
    external_id: String,
    settled: bool,
}

/// Reads the kept segments and sorts every record of `range` into its state.
pub fn record_states(
    segments: &[PathBuf],
    range: Range<u64>,
    clock: &RunClock,
) -> Result<RecordStates, SeriesError> {
    let mut finished = RecordSet::new(&range);
    let mut lost = BTreeSet::new();
    // Only records not yet finished are kept here: at most what was in flight.
    let mut open: BTreeMap<u64, Seen> = BTreeMap::new();
    let wanted = [
        "kind",
        "record_idx",
        "external_id",
        "attempt",
        "outcome",
        "scheduled_at",
    ];
    for path in segments {
        for_each_batch_of(path, &wanted, |batch| {
            let kind = strings(path, batch, "kind")?;
            let outcome = strings(path, batch, "outcome")?;
            let external = strings(path, batch, "external_id")?;
            let typed = |name: &'static str| SeriesError::Column {
                path: path.clone(),
                column: name,
            };
            let idx = column(path, batch, "record_idx")?
                .as_primitive_opt::<UInt64Type>()
                .ok_or_else(|| typed("record_idx"))?;
            let attempt = column(path, batch, "attempt")?
                .as_primitive_opt::<UInt32Type>()
                .ok_or_else(|| typed("attempt"))?;
            let scheduled = column(path, batch, "scheduled_at")?
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| typed("scheduled_at"))?;
            for row in 0..batch.num_rows() {
                if idx.is_null(row) {
                    continue;
                }
                let i = idx.value(row);
                match kind.value(row) {
                    "observed" | "lost" => {
                        finished.insert(i);
                        open.remove(&i);
                        if kind.value(row) == "lost" {
                            lost.insert(i);
                        }
                    }
                    "attempt" if !finished.contains(i) => {
                        let seen = open.entry(i).or_default();
                        if !attempt.is_null(row) {
                            seen.attempts = seen.attempts.max(attempt.value(row));
                        }
                        if !scheduled.is_null(row) {
                            seen.scheduled_at = clock.from_epoch_micros(scheduled.value(row));
                        }
                        if !external.is_null(row) {
                            seen.external_id = external.value(row).to_string();
                        }
                        let o = (!outcome.is_null(row)).then(|| outcome.value(row));
                        seen.settled |= matches!(o, Some("ok" | "gave_up" | "rejected"));
                    }
                    _ => {}
                }
            }
            Ok(())
        })?;
    }
    let mut work = Work::all(range.clone());
    let mut settled = BTreeMap::new();
    for (i, seen) in open {
        if seen.settled {
            work.skip.insert(i);
            settled.insert(
                i,
                Settled {
                    external_id: seen.external_id,
                    scheduled_at: seen.scheduled_at,
                },
            );
        } else {
            work.carried.insert(
                i,
                Carried {
                    attempts: seen.attempts,
                    scheduled_at: seen.scheduled_at,
                },
            );
        }
    }
    for i in range {
        if finished.contains(i) {
            work.skip.insert(i);
        }
    }
    Ok(RecordStates {
        work,
        settled,
        lost,
    })
}

/// Keeps the segments the checkpoint lists and moves every other file of `events/` to
/// `discarded/` (nothing measured is deleted). Returns the kept segments, in order.
pub fn keep_checkpointed(
    run_dir: &Path,
    checkpoint: &Checkpoint,
) -> Result<Vec<PathBuf>, std::io::Error> {
    let events = run_dir.join("events");
    let kept: Vec<PathBuf> = checkpoint
        .segments
        .iter()
        .map(|s| run_dir.join(s))
        .collect();
    for path in &kept {
        if !path.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "{} is listed in {CHECKPOINT_FILE} but missing",
                    path.display()
                ),
            ));
        }
    }
    let entries = match std::fs::read_dir(&events) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(kept),
        Err(e) => return Err(e),
    };
    let discarded = run_dir.join("discarded");
    for entry in entries {
        let path = entry?.path();
        if path.is_file() && !kept.contains(&path) {
            std::fs::create_dir_all(&discarded)?;
            let name = format!(
                "resume-{}-{}",
                checkpoint.resumes + 1,
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            std::fs::rename(&path, discarded.join(name))?;
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{Event, EventKind, EventLog, Message, Outcome};

    fn attempt(idx: u64, n: u32, outcome: Outcome) -> Message {
        let mut e = Event::new(
            EventKind::Attempt,
            idx,
            format!("id-{idx}"),
            Micros(idx * 1000),
        );
        e.attempt = Some(n);
        e.outcome = Some(outcome);
        Message::Event(e)
    }

    #[tokio::test]
    async fn records_are_sorted_into_finished_settled_carried_and_left() {
        let dir = tempfile::tempdir().unwrap();
        let clock = RunClock::start();
        let mut log = EventLog::create(&dir.path().join("events"), clock, 64);
        let seen =
            |idx, kind| Message::Event(Event::new(kind, idx, format!("id-{idx}"), Micros(0)));
        for m in [
            attempt(0, 1, Outcome::Ok),
            seen(0, EventKind::Observed),
            attempt(1, 1, Outcome::Ok),
            seen(1, EventKind::Lost),
            attempt(2, 1, Outcome::Ok),
            attempt(3, 1, Outcome::Transient),
            attempt(3, 2, Outcome::Throttled),
            attempt(4, 1, Outcome::GaveUp),
        ] {
            log.append(&m).unwrap();
        }
        let segments = log.finish().unwrap();
        let states = record_states(&segments, 0..8, &clock).unwrap();
        // 0 observed and 1 lost are finished; 2 acknowledged and 4 given up wait for read-back;
        // 3 is carried with its two attempts; 5..8 were never sent.
        assert_eq!(states.lost, BTreeSet::from([1]));
        assert_eq!(states.settled.keys().copied().collect::<Vec<_>>(), [2, 4]);
        assert_eq!(states.settled[&2].external_id, "id-2");
        assert_eq!(states.settled[&2].scheduled_at, Micros(2000));
        assert_eq!(
            states.work.carried,
            BTreeMap::from([(
                3,
                Carried {
                    attempts: 2,
                    scheduled_at: Micros(3000)
                }
            )])
        );
        // Left to send: 3 (carried) and 5, 6, 7.
        assert_eq!(states.work.len(), 4);
        for i in [0, 1, 2, 4] {
            assert!(states.work.skip.contains(i), "{i}");
        }
    }

    #[test]
    fn files_after_the_checkpoint_are_moved_aside_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("events");
        std::fs::create_dir_all(&events).unwrap();
        for name in [
            "events-000001.parquet",
            "events-000002.parquet",
            "events-000003.parquet.tmp",
        ] {
            std::fs::write(events.join(name), name).unwrap();
        }
        let cp = Checkpoint {
            version: Checkpoint::VERSION,
            run_clock_us: 0,
            started_wall_us: 0,
            segments: vec!["events/events-000001.parquet".into()],
            counts: Default::default(),
            next_call_id: 1,
            resumes: 0,
            shard: None,
            real_us: 0,
        };
        let kept = keep_checkpointed(dir.path(), &cp).unwrap();
        assert_eq!(kept, vec![events.join("events-000001.parquet")]);
        let mut moved: Vec<String> = std::fs::read_dir(dir.path().join("discarded"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        moved.sort();
        assert_eq!(
            moved,
            [
                "resume-1-events-000002.parquet",
                "resume-1-events-000003.parquet.tmp"
            ]
        );
        let missing = Checkpoint {
            segments: vec!["events/events-000009.parquet".into()],
            ..cp
        };
        let err = keep_checkpointed(dir.path(), &missing).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
