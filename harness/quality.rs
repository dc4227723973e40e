//! Quality: what the target holds compared with what was sent. Loss, exact duplicates by
//! external id, and per-field completeness, validity and accuracy, each with the counts behind it, so a
//! figure can be traced to the records that make it. No network I/O here: it judges copies the
//! verify stage fetched against records the generator regenerates.

mod compare;
pub mod fuzzy;
mod scorecard;
mod validity;

pub use compare::{equal, normalize_e164};
pub use scorecard::{FieldScore, Scorecard};
pub use validity::{Invalid, check as check_validity, is_email, is_phone, is_required, max_len};
