//! API-call burn and cost: what a finished run's calls per delivered record mean at production
//! volume under a vendor contract. Its own stage, right of `sla` in the pipeline: it reads a
//! finished `summary.json` (never live state) and a contract file, and does no network I/O.
//! `measure/` owns the live counters a run keeps; this stage only projects and prices them.
//!
//! - `contract.rs`: the contract file (seats, per-call quota and overage, tiers, escalator, limits).
//! - `usage.rs`: calls by system and endpoint from `summary.json` (and its ground truth).
//! - `tco.rs`: the projection, the 3-year TCO table and the red flags.
//! - `output.rs`: `burn.json` and `burn.html` (auto-escaping template `burn.html.j2`).

mod contract;
mod output;
mod tco;
mod usage;

pub use contract::{Contract, ESCALATOR_CAP_RANGE, Tier};
pub use output::{render_html, to_json};
pub use tco::{Flag, Projection, QUOTA_ALARM, Year, overage_cost, project, render};
pub use usage::{EndpointBurn, Usage, UsageError};
