//! syncproof's integration tests: one binary, one module per area (see STYLE.md).

mod cli;
mod generate;
mod ground_truth;
mod support;
