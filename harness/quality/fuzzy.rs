//! Fuzzy duplicates: target records that are the same person under different ids. The engine is
//! the one `syncproof dupes EXPORT` runs on any export, and what fills `duplicates.fuzzy_rate`.
//!
//! Three steps, never n²: [`Person`] normalises the identifying fields once (names, email local
//! part, phone digits, company without legal suffixes); [`candidate_pairs`] pairs only records
//! that share a blocking key (email local part, phone digits, last-name soundex + first initial,
//! last-name soundex + company prefix), skipping keys so common they would not discriminate;
//! [`score`] weighs string similarity field by field, with an exact-match shortcut before any
//! similarity is computed. [`find_pairs`] runs the scoring on both cores. [`Roles`] say which
//! column plays which part: guessed from CRM column names, or mapped explicitly ([`FieldMap`])
//! for exports carrying addresses, postcodes, birth dates or other identifiers instead.

mod blocking;
mod census;
mod person;
mod roles;
mod score;
mod similarity;
mod table;

pub use blocking::{Blocks, MAX_BLOCK, candidate_pairs};
pub use census::{FuzzyCounts, NearDuplicates};
pub use person::{Extra, Person, soundex, soundex_code};
pub use roles::{FieldMap, MappingError, Role, Roles};
pub use score::{DEFAULT_THRESHOLD, Pair, find_pairs, score};
pub use similarity::{jaro_winkler, normalized_levenshtein, normalized_osa};
pub use table::{PeopleTable, Table, read_people, read_table};
