//! `syncproof merge RUN... --out DIR`: combines the run directories of `--shard k/n` runs into
//! one ([`crate::report::merge_runs`]): counters summed, latency histograms rebuilt from the
//! event segments and merged, verdicts re-judged with the first run's SLA, reports re-rendered.
//! Prints the verdict table and exits by the verdicts (0, 1, 4); 2 for bad input, 3 when the
//! output cannot be written.

use std::path::PathBuf;

use clap::Args;

use super::Exit;
use crate::report::{merge_runs, render_table};

#[derive(Debug, Clone, Args)]
pub struct MergeArgs {
    /// The shard run directories (each holds summary.json and events/).
    #[arg(value_name = "RUN", required = true)]
    pub runs: Vec<PathBuf>,
    /// The merged run directory (created; must not hold a run).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: &MergeArgs) -> Exit {
    match merge_runs(&args.runs, &args.out) {
        Ok(summary) => {
            print!("{}", render_table(&summary));
            println!(
                "merged {} runs into {}",
                args.runs.len(),
                args.out.display()
            );
            Exit::for_verdict(summary.overall)
        }
        Err(e) => Exit::for_error(&e, e.is_bad_input()),
    }
}
