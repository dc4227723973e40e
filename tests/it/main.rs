//! syncproof's integration tests: one binary, one module per area (see STYLE.md).

mod api_poc;
mod auth_tls;
mod burn_merge;
mod cli;
mod dupes;
mod faults;
mod generate;
mod ground_truth;
mod html_report;
mod layout;
mod long_runs;
mod mix;
mod official_clients;
mod probe;
mod profile;
mod report_cmd;
mod schema;
mod support;
mod targets;
mod verification;
