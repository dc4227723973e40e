//! The checkpoint: what a run has durably measured. The collector writes `checkpoint.json`
//! atomically (a temporary file, then a rename) right after each event segment closes, when
//! every event it has counted is inside a closed segment. So the counters it holds are exactly
//! the counters of the segments it lists: `run --resume` starts from them, and anything written
//! after it (an open segment's temporary file) is discarded and measured again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LedgerCounts;

/// The file name inside a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

/// A run's durable state at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    /// The run's clock (µs since it started) when the checkpoint was taken.
    pub run_clock_us: u64,
    /// When the run started, µs since the Unix epoch: event timestamps are this plus the run
    /// clock, across resumes.
    pub started_wall_us: i64,
    /// Closed segments, relative to the run directory, in order.
    pub segments: Vec<String>,
    /// The counters of exactly the events in `segments`.
    pub counts: LedgerCounts,
    /// The next API call id to hand out.
    pub next_call_id: u64,
    /// How many times the run has been resumed so far.
    pub resumes: u32,
    /// `--shard K/N` of the run, if it is one shard.
    #[serde(default)]
    pub shard: Option<(u64, u64)>,
    /// Real (wall-clock) time the run has spent so far, over all its processes, in µs.
    #[serde(default)]
    pub real_us: u64,
}

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path}: {message} (only a run directory written by `syncproof run` can be resumed; if \
         the run stopped before its first checkpoint, start it again)"
    )]
    Read { path: PathBuf, message: String },
}

impl Checkpoint {
    pub const VERSION: u32 = 1;

    /// Writes `run_dir/checkpoint.json` atomically.
    pub fn write(&self, run_dir: &Path) -> Result<(), CheckpointError> {
        let path = run_dir.join(CHECKPOINT_FILE);
        let tmp = run_dir.join(format!("{CHECKPOINT_FILE}.tmp"));
        let err = |source| CheckpointError::Write {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_vec_pretty(self).expect("a checkpoint always serialises");
        {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp).map_err(err)?;
            file.write_all(&text).map_err(err)?;
            file.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, &path).map_err(err)
    }

    /// Reads `run_dir/checkpoint.json`.
    pub fn read(run_dir: &Path) -> Result<Checkpoint, CheckpointError> {
        let path = run_dir.join(CHECKPOINT_FILE);
        let bad = |message: String| CheckpointError::Read {
            path: path.clone(),
            message,
        };
        let text = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
        let checkpoint: Checkpoint =
            serde_json::from_slice(&text).map_err(|e| bad(format!("not a checkpoint: {e}")))?;
        if checkpoint.version != Checkpoint::VERSION {
            return Err(bad(format!(
                "checkpoint version {} (this syncproof reads version {})",
                checkpoint.version,
                Checkpoint::VERSION
            )));
        }
        Ok(checkpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_and_a_bad_one_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let mut counts = LedgerCounts {
            sent: 10,
            observed: 7,
            lost: 1,
            ..LedgerCounts::default()
        };
        counts.write_status.insert(200, 3);
        let cp = Checkpoint {
            version: Checkpoint::VERSION,
            run_clock_us: 5_000_000,
            started_wall_us: 1_700_000_000_000_000,
            segments: vec!["events/events-000001.parquet".into()],
            counts,
            next_call_id: 42,
            resumes: 1,
            shard: Some((1, 4)),
            real_us: 9,
        };
        cp.write(dir.path()).unwrap();
        assert_eq!(Checkpoint::read(dir.path()).unwrap(), cp);
        assert!(!dir.path().join("checkpoint.json.tmp").exists());
        std::fs::write(dir.path().join(CHECKPOINT_FILE), "{\"version\": 1}").unwrap();
        let err = Checkpoint::read(dir.path()).unwrap_err().to_string();
        assert!(err.contains("not a checkpoint"), "{err}");
        let empty = tempfile::tempdir().unwrap();
        let err = Checkpoint::read(empty.path()).unwrap_err().to_string();
        assert!(err.contains("checkpoint.json"), "{err}");
    }
}
