//! `syncproof compare REAL SYNTH [--json FILE] [--min-count K]`: column-shape and pair-trend
//! similarity of a synthetic twin to its real export ([`crate::shape::profile::compare`]), as a
//! table on stdout and, with `--json`, as JSON.

use std::path::PathBuf;

use clap::Args;

use super::Exit;
use crate::shape::profile::compare;

/// Flags of `compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// The real export (.csv, .ndjson/.jsonl, .parquet).
    #[arg(value_name = "REAL")]
    pub real: PathBuf,
    /// The synthetic file (e.g. `synth/contact.parquet` from `generate`).
    #[arg(value_name = "SYNTH")]
    pub synth: PathBuf,
    /// Also write the scores as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// The k used by `profile`, for the k-anonymity ceiling of each category column.
    #[arg(long, value_name = "K", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_count: u64,
}

pub fn run(args: &CompareArgs) -> Exit {
    let comparison = match compare(&args.real, &args.synth, args.min_count) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    print!("{}", comparison.render_table());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&comparison).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text + "\n") {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Exit::RunFailed;
        }
    }
    Exit::Pass
}
