//! The command line: argument parsing, the commands, and the mapping of outcomes to the exit
//! codes of DESIGN.md. No logic a library user would need lives here.

mod args;
mod burn;
mod compare;
mod dupes;
mod exit;
mod generate;
mod merge;
mod mock;
mod probe;
mod profile;
mod report;

pub use args::{Cli, Command, DemoArgs};
pub use exit::Exit;
pub use generate::GenerateArgs;

use std::path::Path;

use tokio_util::sync::CancellationToken;

use crate::config::Source;
use crate::replay::{Plan, PlanOverrides};
use crate::report::render_table;
use crate::run::{RunOptions, execute};
use crate::sla::SlaSpec;

/// Runs a parsed command line; returns the exit code.
pub async fn main(cli: Cli) -> Exit {
    match cli.command {
        Command::Demo(args) => {
            let plan = match &args.plan {
                Some(path) => {
                    Source::read(path).and_then(|src| Plan::load(&src, &overrides(&args)))
                }
                None => sla_override(&args).and_then(|o| Plan::demo(&o)),
            };
            run_plan(plan.and_then(|p| with_sla(p, &args)), &args).await
        }
        Command::Mock(args) => mock::run(args).await,
        Command::ProbeLimits(args) => probe::run(args).await,
        Command::Run {
            plan_file,
            resume,
            overrides: args,
        } => {
            if args.plan.is_some() {
                eprintln!("error: `run` takes its plan as an argument; --plan is for `demo`");
                return Exit::BadInput;
            }
            match (plan_file, resume) {
                (_, Some(dir)) => resume_run(&dir, &args).await,
                (Some(plan_file), None) => {
                    let plan = Source::read(&plan_file)
                        .and_then(|src| Plan::load(&src, &overrides(&args)));
                    run_plan(plan.and_then(|p| with_sla(p, &args)), &args).await
                }
                (None, None) => {
                    eprintln!("error: give a plan file, or --resume RUN_DIR");
                    Exit::BadInput
                }
            }
        }
        Command::Report { run_dir } => report::report(&run_dir),
        Command::Dupes {
            export,
            id,
            out,
            threshold,
            fields,
            roles,
        } => dupes::dupes(
            &export,
            &id,
            out.as_ref(),
            threshold,
            fields,
            roles.as_deref(),
        ),
        Command::Generate(args) => tokio::task::block_in_place(|| generate::run(&args)),
        Command::Burn(args) => burn::run(&args),
        Command::Merge(args) => tokio::task::block_in_place(|| merge::run(&args)),
        Command::Profile(args) => tokio::task::block_in_place(|| profile::run(&args)),
        Command::Compare(args) => tokio::task::block_in_place(|| compare::run(&args)),
    }
}

fn overrides(args: &DemoArgs) -> PlanOverrides {
    PlanOverrides {
        records: args.records,
        rate: args.rate.clone(),
        seed: args.seed,
        loss_rate: args.loss_rate,
        duplicate_rate: args.duplicate_rate,
        error_rate: args.error_rate,
        drop_rates: args.drop_rate.clone(),
        lag: args.lag.clone(),
        sla: None,
        shard: args.shard,
        clock_speed: args.clock_speed,
    }
}

fn sla_override(args: &DemoArgs) -> Result<PlanOverrides, crate::config::ConfigError> {
    let mut o = overrides(args);
    if let Some(path) = &args.sla {
        o.sla = Some(Source::read(path)?);
    }
    Ok(o)
}

fn with_sla(mut plan: Plan, args: &DemoArgs) -> Result<Plan, crate::config::ConfigError> {
    if let Some(path) = &args.sla {
        plan.sla = Source::read(path)?;
    }
    Ok(plan)
}

async fn run_plan(plan: Result<Plan, crate::config::ConfigError>, args: &DemoArgs) -> Exit {
    // The SLA is checked with the plan, before anything is printed or written.
    let checked = plan.and_then(|p| SlaSpec::from_source(&p.sla, &p.shape).map(|_| p));
    let plan = match checked {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let cancel = cancel_on_ctrl_c();
    if !args.quiet {
        let pace = if plan.load.closed_loop {
            format!("as fast as {} connections go", plan.load.concurrency)
        } else {
            format!("at {}/s", plan.load.rate.as_per_second())
        };
        eprintln!(
            "syncproof: plan \"{}\": {} records {pace}, seed {}",
            plan.name, plan.records, plan.seed
        );
    }
    let options = RunOptions {
        out: args.out.clone(),
        progress: !args.quiet,
        metrics: args.metrics,
    };
    finish(execute(plan, options, cancel).await)
}

/// `run --resume DIR`: flags that would change the plan are refused; the plan is the run's.
async fn resume_run(dir: &Path, args: &DemoArgs) -> Exit {
    let changes_plan = args.records.is_some()
        || args.rate.is_some()
        || args.seed.is_some()
        || args.loss_rate.is_some()
        || args.duplicate_rate.is_some()
        || args.error_rate.is_some()
        || !args.drop_rate.is_empty()
        || args.lag.is_some()
        || args.sla.is_some()
        || args.shard.is_some()
        || args.clock_speed.is_some()
        || args.out.is_some();
    if changes_plan {
        eprintln!(
            "error: --resume continues the run as it was planned (its plan.toml); only --quiet \
             goes with it"
        );
        return Exit::BadInput;
    }
    if !args.quiet {
        eprintln!("syncproof: resuming {}", display(dir));
    }
    let options = RunOptions {
        out: Some(dir.to_path_buf()),
        progress: !args.quiet,
        metrics: args.metrics,
    };
    finish(crate::run::resume(dir, options, cancel_on_ctrl_c()).await)
}

/// A token cancelled by Ctrl-C: the run drains, writes a partial report and can be resumed.
fn cancel_on_ctrl_c() -> CancellationToken {
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!(
                "interrupted: draining; the report will say the run is incomplete (continue it \
                 with `syncproof run --resume RUN_DIR`)"
            );
            on_signal.cancel();
        }
    });
    cancel
}

fn finish(result: Result<crate::run::RunOutcome, crate::run::RunError>) -> Exit {
    match result {
        Ok(outcome) => {
            print!("{}", render_table(&outcome.summary));
            println!("run directory: {}", display(&outcome.dir));
            let complete = outcome.summary.json["run"]["complete"]
                .as_bool()
                .unwrap_or(false);
            if !complete {
                eprintln!("the run was interrupted: its report covers only what was sent");
                return Exit::RunFailed;
            }
            Exit::for_verdict(outcome.summary.overall)
        }
        Err(e) => Exit::for_error(&e, e.is_bad_input()),
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
