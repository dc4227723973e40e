//! SLA: thresholds from a TOML file, each on a figure addressed by its `summary.json` path,
//! judged with a confidence interval: *pass* when the whole interval meets the threshold, *fail*
//! when the whole interval misses it, *inconclusive* otherwise, with the sample size that would
//! decide. No network I/O; judges finished figures only.

mod metrics;
mod spec;
mod stats;
mod verdict;

pub use metrics::{Evidence, Metrics};
pub use spec::{Op, SlaSpec, Threshold};
pub use stats::{quantile_ranks, wilson, z_for};
pub use verdict::{
    NEEDS_VERIFICATION, Verdict, VerdictKind, judge, not_verified, on_compressed_clock, overall,
};
