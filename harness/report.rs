//! Reports, rendered from a finished [`Summary`] and never from live state: `summary.json`
//! (stable dotted names, documented in the README), `report.md` for the acceptance memo,
//! `junit.xml` (one test case per SLA) for CI, and the short verdict table on the terminal.

mod junit;
mod markdown;
mod summary;
mod table;

pub use junit::render_junit;
pub use markdown::render_markdown;
pub use summary::{RunInfo, Summary, lookup};
pub use table::render_table;
