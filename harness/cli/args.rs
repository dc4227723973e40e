//! Command-line arguments. Flag names are a contract: scripts and CI pipelines call them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::units::{fraction, parse_duration};

#[derive(Debug, Parser)]
#[command(
    name = "syncproof",
    version,
    about = "Evidence, in numbers, that a CRM integration moves data as fast, as completely and as correctly as its contract says.",
    after_help = "Exit codes: 0 all SLAs pass, 1 an SLA breached, 2 bad input or usage, 3 the run failed, 4 inconclusive."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole loop on embedded defaults: synthetic contacts through the built-in mock
    /// integration (source CRM → reference relay → target CRM) on loopback, judged against the
    /// demo SLA, in under a minute.
    Demo(DemoArgs),
    /// Serve one mock CRM standalone (HubSpot-style contacts API) for any client to use.
    Mock(super::mock::MockArgs),
    /// Find a target's effective rate limit, burst and Retry-After behaviour, next to what its
    /// headers claim.
    ProbeLimits(super::probe::ProbeArgs),
    /// Run a plan file (the built-in mock integration, or a HubSpot-compatible API), or resume
    /// an interrupted run from its last checkpoint.
    Run {
        /// The plan file (see datasets/plans/).
        #[arg(
            value_name = "PLAN",
            required_unless_present = "resume",
            conflicts_with = "resume"
        )]
        plan_file: Option<PathBuf>,
        /// Continue the run in this directory from its last checkpoint, after a crash, a
        /// reboot or Ctrl-C: every record is sent once in all, nothing is counted twice.
        #[arg(long, value_name = "RUN_DIR")]
        resume: Option<PathBuf>,
        #[command(flatten)]
        overrides: DemoArgs,
    },
    /// Re-render report.md, junit.xml and report.html from a finished run directory alone
    /// (summary.json and events/); exits by its verdicts.
    Report {
        /// The run directory (holds summary.json).
        #[arg(value_name = "RUN_DIR")]
        run_dir: PathBuf,
    },
    /// Near-duplicate pairs in any export (CSV, NDJSON, Parquet), with the engine the report
    /// uses: CSV `left_id,right_id,score`, header first.
    Dupes {
        /// The export file (.csv, .ndjson/.jsonl, .parquet).
        #[arg(value_name = "EXPORT")]
        export: PathBuf,
        /// The column holding each record's id.
        #[arg(long, value_name = "COLUMN")]
        id: String,
        /// Where to write the pairs (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Lowest score (0..1) reported as a duplicate.
        #[arg(long, value_name = "F", default_value_t = crate::quality::fuzzy::DEFAULT_THRESHOLD, value_parser = parse_fraction)]
        threshold: f64,
        /// Map a column to an identifying role (repeatable): first_name, last_name, name, email,
        /// phone, company, address (may span columns), postcode, city, birth_date, id_number.
        /// With a mapping, only the mapped columns are used; without, CRM columns are recognised
        /// by name.
        #[arg(long = "field", value_name = "COLUMN=ROLE", value_parser = crate::quality::fuzzy::FieldMap::parse_flag)]
        fields: Vec<(String, crate::quality::fuzzy::Role)>,
        /// A TOML file with a `[fields]` table of `COLUMN = "ROLE"`, read before any --field.
        #[arg(long, value_name = "FILE")]
        roles: Option<PathBuf>,
    },
    /// Synthetic records with their ground truth from a shape file: one file per object.
    Generate(super::generate::GenerateArgs),
    /// API-call burn of a finished run priced by a contract: calls per record by endpoint, the
    /// monthly projection, a 3-year TCO table and red flags.
    Burn(super::burn::BurnArgs),
    /// Combine the run directories of `--shard k/n` runs exactly: counters summed, histograms
    /// merged from the event segments, verdicts re-judged, reports re-rendered.
    Merge(super::merge::MergeArgs),
    /// Learn a shape file from real exports without taking any real person's data.
    Profile(super::profile::ProfileArgs),
    /// How close a synthetic file is to the real export: column shapes and pair trends.
    Compare(super::compare::CompareArgs),
}

/// Knobs that override the plan. Rates are fractions (0.02, not 2).
#[derive(Debug, Clone, Default, Args)]
pub struct DemoArgs {
    /// Records to send.
    #[arg(long, value_name = "N")]
    pub records: Option<u64>,
    /// Open-loop arrival rate, e.g. 200/s, 600/m.
    #[arg(long, value_name = "R", value_parser = parse_rate)]
    pub rate: Option<String>,
    /// Seed of all randomness (data, faults, jitter).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// The run directory (default: runs/<run-id>/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Relay defect: fraction of records never written to the target.
    #[arg(long, value_name = "F", value_parser = parse_fraction)]
    pub loss_rate: Option<f64>,
    /// Relay defect: fraction of records written twice (a non-idempotent retry).
    #[arg(long, value_name = "F", value_parser = parse_fraction)]
    pub duplicate_rate: Option<f64>,
    /// Fraction of API calls the mock CRMs answer with a transient 5xx.
    #[arg(long, value_name = "F", value_parser = parse_fraction)]
    pub error_rate: Option<f64>,
    /// Relay defect: fraction of records whose FIELD the relay omits (repeatable).
    #[arg(long, value_name = "FIELD=F", value_parser = parse_drop)]
    pub drop_rate: Vec<(String, f64)>,
    /// Relay defect: median delay from source to target, e.g. 300ms.
    #[arg(long, value_name = "DURATION", value_parser = parse_lag)]
    pub lag: Option<String>,
    /// Use this plan file instead of the embedded demo plan.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Use this SLA file instead of the plan's.
    #[arg(long, value_name = "FILE")]
    pub sla: Option<PathBuf>,
    /// Send only shard K of N of the records (0-based K, e.g. a Kubernetes Indexed Job's
    /// index); the shards' runs together are the whole run (combine them with `merge`).
    #[arg(long, value_name = "K/N", value_parser = |s: &str| crate::units::parse_shard(s).map_err(|e| e.to_string()))]
    pub shard: Option<(u64, u64)>,
    /// Run the built-in mock and every duration of the plan N× faster than real time (a
    /// 14-day plan at 2000 takes about 10 minutes); the report states both clocks.
    #[arg(long, value_name = "N", value_parser = parse_clock_speed)]
    pub clock_speed: Option<f64>,
    /// Serve the run's live figures for Prometheus at http://ADDR/metrics (e.g.
    /// 127.0.0.1:9464; port 0 picks a free one and prints it).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// No progress lines; the verdict table only.
    #[arg(long)]
    pub quiet: bool,
}

/// `--clock-speed N`: 1 (real time) up to the plan's maximum.
pub fn parse_clock_speed(text: &str) -> Result<f64, String> {
    let max = crate::replay::MAX_CLOCK_SPEED;
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && (1.0..=max).contains(&v) => Ok(v),
        _ => Err(format!(
            "{text:?} is not a clock speed: write a number from 1 (real time) to {max}"
        )),
    }
}

fn parse_fraction(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number (rates are fractions: 0.02, not 2%)"))?;
    fraction(value).map_err(|e| e.to_string())
}

fn parse_rate(text: &str) -> Result<String, String> {
    text.parse::<crate::units::Rate>()
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

fn parse_lag(text: &str) -> Result<String, String> {
    parse_duration(text)
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

fn parse_drop(text: &str) -> Result<(String, f64), String> {
    let (field, rate) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: write FIELD=F, e.g. phone=0.05"))?;
    Ok((field.trim().to_string(), parse_fraction(rate.trim())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_bad_values_are_explained() {
        let cli = Cli::try_parse_from([
            "syncproof",
            "demo",
            "--records",
            "10",
            "--rate",
            "50/s",
            "--drop-rate",
            "phone=0.05",
            "--drop-rate",
            "email=0.1",
            "--lag",
            "250ms",
            "--loss-rate",
            "0.01",
        ])
        .unwrap();
        let Command::Demo(args) = cli.command else {
            panic!("demo")
        };
        assert_eq!(args.records, Some(10));
        assert_eq!(
            args.drop_rate,
            vec![("phone".into(), 0.05), ("email".into(), 0.1)]
        );
        let err = Cli::try_parse_from(["syncproof", "demo", "--loss-rate", "2"]).unwrap_err();
        assert!(err.to_string().contains("not a fraction"), "{err}");
        let err = Cli::try_parse_from(["syncproof", "demo", "--drop-rate", "phone"]).unwrap_err();
        assert!(err.to_string().contains("FIELD=F"), "{err}");
    }
}
