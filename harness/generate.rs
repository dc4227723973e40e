//! Synthetic records and their ground truth. Record `i` is a pure function of
//! (shape, seed, i): any record can be made without the others, so shards, resumes and the
//! quality stage (which regenerates what was sent instead of storing it) all see identical data.

mod record;
mod values;
mod writer;

pub use record::{Generator, Record};
pub use writer::{RecordWriter, record_schema};
