//! Learning a shape from a real export (`syncproof profile`) and measuring how close a synthetic
//! twin is to it (`syncproof compare`). Exports are streamed (`export.rs`) into bounded column
//! statistics (`column.rs`); kinds are inferred from headers and value patterns (`infer.rs`);
//! relations between files are found by id containment and the export's own near-duplicate
//! rate by the fuzzy engine (`learn.rs`); the strongest column-pair associations become
//! conditional distributions (`assoc.rs`); `write.rs` writes the shape text with a reason per
//! field; `compare.rs` scores column shapes and pair trends.
//!
//! Privacy invariant: no value of a personal field (names, emails, phones, streets, postal codes,
//! free text) enters the shape; a category value enters only if it occurs at least `min_count`
//! times, rarer values are merged into `(other)`.

mod assoc;
mod column;
mod compare;
mod export;
mod habits;
mod infer;
mod learn;
mod time;
mod write;

pub use assoc::{Association, MAX_ASSOCIATIONS, MIN_STRENGTH, associations, cramers_v};
pub use column::{ColumnStats, mask};
pub use compare::{ColumnScore, Comparison, Metric, PairScore, compare, tvd};
pub use export::{ExportError, ReadSummary, RowSink, Warnings, sniff_delimiter, stream_export};
pub use habits::{case_of, local_part_style, phone_template, spacing_of, tld};
pub use infer::{Inferred, infer, is_personal};
pub use learn::{
    NearDuplicateRate, ObjectProfile, PEOPLE_SAMPLE, Profile, ProfileOptions, ROW_SAMPLE, Relation,
    near_duplicate_rate, object_name, profile, profile_file,
};
pub use write::{OTHER, Withheld, Written, write_shape};
