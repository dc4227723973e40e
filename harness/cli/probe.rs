//! `syncproof probe-limits`: what a target's rate limit really is, whether its `Retry-After` is
//! honest, and how that compares with its headers. Against the source of a plan's built-in mock,
//! or any HubSpot-compatible URL with the token from an environment variable.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use syncproof_mocks::{Crm, serve};
use tokio_util::sync::CancellationToken;

use super::Exit;
use crate::config::Source;
use crate::replay::{
    CrmClient, Plan, PlanOverrides, ProbeOptions, ProbeReport, Topology, probe_limits,
};
use crate::run::mock_crm_config;
use crate::units::parse_duration;

#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    /// A plan: a `kind = "hubspot"` target is probed at its URL with its credential; the
    /// built-in mock's source CRM is started and probed otherwise.
    #[arg(value_name = "PLAN", required_unless_present = "url")]
    pub plan: Option<PathBuf>,
    /// Probe this HubSpot-compatible base URL instead (e.g. https://api.hubapi.com).
    #[arg(long, conflicts_with = "plan")]
    pub url: Option<String>,
    /// Environment variable holding the bearer token for --url.
    #[arg(long, default_value = "SYNCPROOF_TOKEN")]
    pub token_env: String,
    /// At most this many calls in all.
    #[arg(long, default_value_t = 2_000)]
    pub max_calls: u64,
    /// At most this long in all, e.g. 90s.
    #[arg(long, default_value = "90s", value_parser = |s: &str| parse_duration(s).map_err(|e| e.to_string()))]
    pub max_duration: Duration,
    /// Calls in flight while looking for the burst limit.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Also write the findings as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

pub async fn run(args: ProbeArgs) -> Exit {
    let mut options = ProbeOptions {
        max_calls: args.max_calls,
        max_duration: args.max_duration,
        concurrency: args.concurrency.max(1),
        ..ProbeOptions::default()
    };
    let shutdown = CancellationToken::new();
    let (client, what) = match (&args.plan, &args.url) {
        (_, Some(url)) => {
            let Ok(token) = std::env::var(&args.token_env) else {
                eprintln!(
                    "error: --url needs a token: set the environment variable {} (or name another with --token-env)",
                    args.token_env
                );
                return Exit::BadInput;
            };
            match CrmClient::new(url, &token, Duration::from_secs(30)) {
                Ok(client) => (client, url.clone()),
                Err(e) => {
                    eprintln!("error: cannot build an HTTP client for {url}: {e}");
                    return Exit::BadInput;
                }
            }
        }
        (Some(path), None) => {
            let plan = match Source::read(path)
                .and_then(|src| Plan::load(&src, &PlanOverrides::default()))
            {
                Ok(plan) => plan,
                Err(e) => {
                    eprintln!("error: {e}");
                    return Exit::BadInput;
                }
            };
            // An integration PoC's load falls on the system syncproof writes to: probe that one.
            let (dialect, real) = match &plan.topology {
                Topology::ApiPoc {
                    base_url,
                    credential,
                    ca_pem,
                } => (&plan.dialect, Some((base_url, credential, ca_pem))),
                Topology::Integration { from, .. } => (
                    &plan.write_dialect,
                    Some((&from.base_url, &from.credential, &from.ca_pem)),
                ),
                Topology::MockIntegration => (&plan.dialect, None),
            };
            match dialect.probe_path() {
                Some(probe) => options.path = probe,
                None => {
                    eprintln!(
                        "error: {}: probe-limits knows no cheap read of a kind = \"rest\" target; watch api.throttled_calls in a short run instead",
                        path.display()
                    );
                    return Exit::BadInput;
                }
            }
            if let Some((base_url, credential, ca_pem)) = real {
                match CrmClient::with_credential(
                    base_url,
                    credential,
                    Duration::from_secs(30),
                    ca_pem.as_deref(),
                    syncproof_mocks::Clock::real(),
                ) {
                    Ok(client) => (client, base_url.clone()),
                    Err(e) => {
                        eprintln!("error: cannot build an HTTP client for {base_url}: {e}");
                        return Exit::BadInput;
                    }
                }
            } else {
                let crm = Crm::new(mock_crm_config("source", &plan.source, plan.seed));
                let addr = match serve(crm.router(), shutdown.clone()).await {
                    Ok((addr, _task)) => addr,
                    Err(e) => {
                        eprintln!("error: cannot start the built-in mock on loopback: {e}");
                        return Exit::RunFailed;
                    }
                };
                let base = format!("http://{addr}");
                match CrmClient::new(&base, "syncproof-probe", Duration::from_secs(30)) {
                    Ok(client) => (
                        client,
                        format!("the built-in source mock of {}", path.display()),
                    ),
                    Err(e) => {
                        eprintln!("error: cannot build an HTTP client: {e}");
                        return Exit::RunFailed;
                    }
                }
            }
        }
        (None, None) => unreachable!("clap requires PLAN or --url"),
    };
    eprintln!(
        "probing {what}: at most {} calls, {:?}",
        options.max_calls, options.max_duration
    );
    let report = probe_limits(&client, &options).await;
    shutdown.cancel();
    print!("{}", render(&report));
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return Exit::RunFailed;
        }
    }
    Exit::Pass
}

fn render(r: &ProbeReport) -> String {
    let opt = |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |v| format!("{v:.0}{unit}"));
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: String| out.push_str(&format!("{k:<34} {v}\n"));
    line(&mut out, "calls made", r.calls.to_string());
    line(
        &mut out,
        "admitted before the first throttle",
        r.admitted_before_throttle
            .map_or("n/a".into(), |v| v.to_string()),
    );
    line(
        &mut out,
        "burst rate",
        format!("{:.1}/s", r.burst_rate_per_s),
    );
    line(
        &mut out,
        "first throttle after",
        opt(r.first_throttle_after_ms, " ms"),
    );
    line(
        &mut out,
        "throttle answer",
        match (r.throttle_status, &r.throttle_policy) {
            (Some(s), Some(p)) => format!("{s} {p}"),
            (Some(s), None) => s.to_string(),
            _ => "none".into(),
        },
    );
    line(
        &mut out,
        "Retry-After",
        r.retry_after_s
            .map_or("absent".into(), |s| format!("{s} s")),
    );
    line(
        &mut out,
        "Retry-After honest",
        r.retry_after_honest
            .map_or("n/a".into(), |h| if h { "yes".into() } else { "NO".into() }),
    );
    line(
        &mut out,
        "recovery (throttle → admitted)",
        opt(r.recovery_ms, " ms"),
    );
    line(
        &mut out,
        "headers: max / interval",
        format!(
            "{} / {}",
            r.headers
                .burst_max
                .map_or("absent".into(), |v| v.to_string()),
            r.headers
                .interval_ms
                .map_or("absent".into(), |v| format!("{v} ms"))
        ),
    );
    line(
        &mut out,
        "headers: daily / remaining",
        format!(
            "{} / {}",
            r.headers.daily.map_or("absent".into(), |v| v.to_string()),
            r.headers
                .daily_remaining
                .map_or("absent".into(), |v| v.to_string())
        ),
    );
    line(
        &mut out,
        "service time p50 / p95",
        format!("{:.1} / {:.1} ms", r.latency_p50_ms, r.latency_p95_ms),
    );
    for flag in &r.flags {
        out.push_str(&format!("flag: {flag}\n"));
    }
    out
}
