//! `syncproof profile EXPORT... --out my-shape.toml [--min-count K]`: learns a shape from real
//! exports with [`crate::shape::profile`], checks it parses as a shape before writing it, and
//! prints what it withheld (counts, never values) and any repair the reader made.

use std::path::PathBuf;

use clap::Args;

use super::Exit;
use crate::config::Source;
use crate::shape::Shape;
use crate::shape::profile::{ProfileOptions, profile, write_shape};

/// Flags of `profile`.
#[derive(Debug, Clone, Args)]
pub struct ProfileArgs {
    /// Export files (.csv, .ndjson/.jsonl, .parquet); several files = several objects.
    #[arg(value_name = "EXPORT", required = true)]
    pub exports: Vec<PathBuf>,
    /// Where to write the shape file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// A category value enters the shape only if it occurs at least K times.
    #[arg(long, value_name = "K", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub min_count: u64,
}

pub fn run(args: &ProfileArgs) -> Exit {
    let learnt = match profile(
        &args.exports,
        ProfileOptions {
            min_count: args.min_count,
        },
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    for o in &learnt.objects {
        for w in &o.warnings {
            eprintln!("warning: {w}");
        }
    }
    let written = write_shape(&learnt);
    let name = args.out.display().to_string();
    if let Err(e) = Shape::from_source(&Source::embedded(&name, &written.text)) {
        eprintln!(
            "error: the learnt shape does not validate ({e}); please report this with the export's header row"
        );
        return Exit::RunFailed;
    }
    let tmp = args.out.with_extension("toml.tmp");
    if let Err(e) =
        std::fs::write(&tmp, &written.text).and_then(|()| std::fs::rename(&tmp, &args.out))
    {
        eprintln!("error: cannot write {name}: {e}");
        return Exit::RunFailed;
    }
    for note in &written.notes {
        eprintln!("note: {note}");
    }
    for o in &learnt.objects {
        eprintln!(
            "{}: {} rows, {} columns → object \"{}\"",
            o.path.display(),
            o.rows,
            o.columns.len(),
            o.name
        );
        if let Some(d) = &o.near_duplicates {
            eprintln!(
                "  near-duplicates (fuzzy engine, {} rows paired): {} extra records → near_duplicate = {:.4}",
                d.sampled, d.extra, d.rate
            );
        }
    }
    if !written.associations.is_empty() {
        eprintln!("column pairs kept as conditional distributions:");
        for a in &written.associations {
            eprintln!("  {a}");
        }
    }
    eprintln!("withheld (counts, not values):");
    for w in &written.withheld {
        let values = w
            .values
            .map_or("more than 50000".to_string(), |v| v.to_string());
        match w.reason {
            "personal" => eprintln!(
                "  {}.{}: all {values} distinct values in {} rows (personal field)",
                w.object, w.field, w.rows
            ),
            _ => eprintln!(
                "  {}.{}: {values} values in {} rows occur fewer than {} times → \"(other)\"",
                w.object, w.field, w.rows, args.min_count
            ),
        }
    }
    eprintln!("wrote {name}");
    Exit::Pass
}
