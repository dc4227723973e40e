//! Reports, rendered from a finished [`Summary`] and never from live state: `summary.json`
//! (stable dotted names, documented in the README), `report.md` for the acceptance memo,
//! `report.html` for people (inline SVG charts from the run's event segments, auto-escaped),
//! `junit.xml` (one test case per SLA) for CI, and the short verdict table on the terminal.

mod chart;
mod files;
mod html;
mod junit;
mod markdown;
mod merge;
pub(crate) mod series;
mod summary;
mod table;

pub use files::{CHART_BUCKETS, ReportError, load_summary, rerender, write_reports};
pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use merge::{Latencies, MergeError, latencies_from_segments, merge_runs};
pub use series::{Bucket, Series, SeriesError, read_series, segments};
pub use summary::{RunInfo, Summary, SummaryError, lookup};
pub use table::render_table;
