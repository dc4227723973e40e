//! `syncproof generate`: a shape file in, one file per object out. Parses the flags, loads the
//! shape (a bad one exits 2 before anything is written), calls the library's
//! [`write_dataset`](crate::generate::write_dataset) and prints what it wrote.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use super::Exit;
use crate::config::Source;
use crate::generate::{Codec, DatasetOptions, Format, write_dataset};
use crate::shape::Shape;

/// Flags of `generate`. Flag names are a contract: scripts and CI pipelines call them.
#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// The shape file (see datasets/shapes/).
    #[arg(long, value_name = "FILE")]
    pub shape: PathBuf,
    /// Rows of the shape's root object; related objects follow their cardinalities.
    #[arg(long, value_name = "N")]
    pub records: u64,
    /// Seed of all randomness: the same shape, seed and records give the same bytes.
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// Output directory: one `<object>.<format>` file per object.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Write only shard K of N (0-based, e.g. a Kubernetes Indexed Job's index), as
    /// `<object>-KKKK.<format>`; the shards' rows together are the whole dataset's.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// parquet (default), csv or ndjson.
    #[arg(long, value_name = "FORMAT", default_value = "parquet")]
    pub format: Format,
    /// Generator threads (default: all cores); the output is the same whatever the count.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Split each object's rows into files of at most N rows: `<object>-0000.<format>`,
    /// `<object>-0001.<format>`, … (`<object>-KKKK-0000.<format>` in shard KKKK); the parts,
    /// concatenated in order, are the unsplit file's rows.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_rows_per_file: Option<u64>,
    /// Parquet compression: snappy (default) or none (faster to write, about twice the size).
    #[arg(long, value_name = "CODEC", default_value = "snappy")]
    pub compression: Codec,
    /// No summary lines.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    crate::units::parse_shard(text).map_err(|e| e.to_string())
}

/// Runs `generate`.
pub fn run(args: &GenerateArgs) -> Exit {
    let shape = match Source::read(&args.shape).and_then(|src| Shape::from_source(&src)) {
        Ok(shape) => Arc::new(shape),
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let options = DatasetOptions {
        records: args.records,
        seed: args.seed,
        shard: args.shard,
        format: args.format,
        threads,
        out: args.out.clone(),
        max_rows_per_file: args.max_rows_per_file,
        compression: args.compression,
    };
    let started = Instant::now();
    match write_dataset(&shape, &options) {
        Ok(files) => {
            if !args.quiet {
                let secs = started.elapsed().as_secs_f64();
                let total: u64 = files.iter().map(|f| f.rows).sum();
                for f in &files {
                    println!("{:>12} rows  {}", f.rows, f.path.display());
                }
                println!(
                    "{total} rows in {secs:.2}s ({:.0} rows/s, {threads} threads)",
                    total as f64 / secs.max(1e-9)
                );
            }
            Exit::Pass
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::RunFailed
        }
    }
}
