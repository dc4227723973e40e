//! syncproof: evidence, in numbers, that a CRM integration moves data as fast, as completely and
//! as correctly as its contract says.
//!
//! # Layout
//!
//! One module per pipeline stage, each depending only on the stages to its left:
//!
//! - [`units`]: durations (`"500ms"`), rates (`"200/s"`) and fractions, parsed once, shared.
//! - [`config`]: reading TOML files with errors that name the file, the key and the fix.
//! - [`shape`]: what the data looks like (objects, fields, kinds, relations, labelled defects).
//! - [`generate`]: rows as a pure function of (shape, seed, index); datasets in parallel, to files.
//! - [`parquet_out`]: Parquet files that appear under their final name only when complete.
//! - [`measure`]: attempt and observation events (Parquet segments), HDR histograms, the ledger.
//! - [`replay`]: the plan, the open-loop schedule, batching workers, retries, the HTTP client.
//! - [`verify`]: read-back of the target by external id, and the final reconciliation.
//! - [`quality`]: loss, exact duplicates, per-field completeness and accuracy.
//! - [`sla`]: SLA files, confidence intervals and verdicts.
//! - [`report`]: `summary.json`, `report.md`, `junit.xml`, the terminal table; shard merge.
//! - [`burn`]: API-call burn of a finished run priced by a contract: 3-year TCO and red flags.
//! - [`live`]: `--metrics` (Prometheus `/metrics`) and `interim-summary.json` for long runs.
//! - [`progress`]: the live view (a bar on a terminal, plain lines otherwise).
//! - [`run`]: the whole loop wired together (what `demo` and `run` call).
//! - [`resume`]: `run --resume`: a run picked up from its last checkpoint.
//! - [`cli`]: argument parsing and exit codes; nothing a library user would need.

pub mod burn;
pub mod cli;
pub mod config;
pub mod generate;
pub mod live;
pub mod measure;
pub mod parquet_out;
pub mod progress;
pub mod quality;
pub mod replay;
pub mod report;
pub mod resume;
pub mod run;
pub mod shape;
pub mod sla;
pub mod units;
pub mod verify;
