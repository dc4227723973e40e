//! What a run measured: every attempt and observation as an event on disk
//! ([`EventLog`], Parquet segments closed atomically), and in memory only bounded structures:
//! HDR histograms and counters ([`Ledger`]). A run's memory does not grow with its length.

mod checkpoint;
mod clock;
mod events;
mod latency;
mod ledger;
mod usage;

pub use checkpoint::{CHECKPOINT_FILE, Checkpoint, CheckpointError};
pub use clock::{Micros, RunClock};
pub use events::{CallRecord, Event, EventKind, EventLog, Message, Outcome, event_schema};
pub use latency::{LatencyHistogram, LatencySummary};
pub use ledger::{Ledger, LedgerCounts, STORM_MIN_RETRIES, STORM_WINDOW, Storms};
pub use usage::{OwnUsage, own_usage};
