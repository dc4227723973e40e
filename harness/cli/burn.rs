//! `syncproof burn --contract contract.toml [RUN_DIR] [--monthly-records N]`: the API-call burn
//! of a finished run priced by a contract ([`crate::burn`]): calls per delivered record by
//! endpoint, the projection at production volume, the 3-year TCO table and the red flags, as
//! Markdown on stdout, and as `burn.json` and `burn.html` in `--out` (default: the run directory). Exit 0 when priced (red flags are findings, not failures); 2 for a bad
//! contract, a run directory that is not a finished run, or no production volume.

use std::path::{Path, PathBuf};

use clap::Args;

use super::Exit;
use crate::burn::{Contract, Usage, project, render, render_html, to_json};
use crate::config::Source;
use crate::report::load_summary;

#[derive(Debug, Clone, Args)]
pub struct BurnArgs {
    /// The contract file (see datasets/contracts/example.toml).
    #[arg(long, value_name = "FILE")]
    pub contract: PathBuf,
    /// A finished run directory (holds summary.json); default: the newest finished run under runs/.
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: Option<PathBuf>,
    /// Records synced per month in production (default: the contract's monthly_records).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub monthly_records: Option<u64>,
    /// Directory for burn.json and burn.html (default: the run directory).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &BurnArgs) -> Exit {
    match burn(args) {
        Ok(text) => {
            print!("{text}");
            Exit::Pass
        }
        Err(message) => {
            eprintln!("error: {message}");
            Exit::BadInput
        }
    }
}

fn burn(args: &BurnArgs) -> Result<String, String> {
    let contract = Source::read(&args.contract)
        .and_then(|src| Contract::from_source(&src))
        .map_err(|e| e.to_string())?;
    let run_dir = match &args.run_dir {
        Some(dir) => dir.clone(),
        None => newest_run(Path::new("runs")).ok_or(
            "no RUN_DIR given and no finished run under runs/ (pass the run directory)".to_string(),
        )?,
    };
    let summary = load_summary(&run_dir).map_err(|e| format!("{e:#}"))?;
    let file = run_dir.join("summary.json").display().to_string();
    let usage = Usage::from_summary(&file, &summary.json).map_err(|e| e.to_string())?;
    usage
        .check_system(&file, &contract.system)
        .map_err(|e| e.to_string())?;
    let monthly = args
        .monthly_records
        .or(contract.monthly_records)
        .ok_or(format!(
            "{}: no monthly_records, and no --monthly-records (give the production volume: records synced per month)",
            contract.file
        ))?;
    let projection = project(&contract, &usage, monthly);
    let out = args.out.clone().unwrap_or(run_dir);
    let json = serde_json::to_string_pretty(&to_json(&contract, &usage, &projection))
        .map_err(|e| format!("cannot format burn.json: {e}"))?;
    for (name, text) in [
        ("burn.json", json + "\n"),
        ("burn.html", render_html(&contract, &usage, &projection)),
    ] {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|e| {
            format!(
                "cannot write {}: {e} (pass a writable --out DIR)",
                path.display()
            )
        })?;
    }
    Ok(render(&contract, &usage, &projection))
}

fn newest_run(runs: &Path) -> Option<PathBuf> {
    std::fs::read_dir(runs)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("summary.json").is_file())
        .max_by_key(|p| {
            std::fs::metadata(p.join("summary.json"))
                .and_then(|m| m.modified())
                .ok()
        })
}
