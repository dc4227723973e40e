//! `syncproof mock`: one mock CRM served standalone, so any client, iPaaS or connector can be
//! pointed at it. Loopback by default; prints its base URL and the bearer token it accepts;
//! `GET /__syncproof/health` and `GET /__syncproof/stats` answer without auth; Ctrl-C stops it.
//! A `salesforce-*` profile serves the Salesforce org (REST API under `/services/data/v60.0/`,
//! token endpoint `/services/oauth2/token`) instead of the HubSpot contacts API.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Args;
use rand::Rng;
use syncproof_mocks::{
    Crm, CrmAccounting, CrmConfig, OAuthConfig, Org, SALESFORCE_OVERLAYS, SALESFORCE_PROFILES,
    TlsMaterial, WebhookConfig, apply_overlay, profile, salesforce_profile, serve_at, serve_tls_at,
};
use tokio_util::sync::CancellationToken;

use super::Exit;

#[derive(Debug, Clone, Args)]
pub struct MockArgs {
    /// Vendor tier: hubspot-starter, hubspot-pro, hubspot-enterprise, hubspot-public-oauth,
    /// salesforce-developer, salesforce-enterprise.
    #[arg(long, default_value = "hubspot-pro")]
    pub profile: String,
    /// Fault overlays to stack, comma-separated: brownout, latency-realistic, eventual-search,
    /// commit-then-drop, quota-edge, maintenance-window, blackhole, locked, connection-reset,
    /// slow-body, token-churn (OAuth tokens revoked early; needs --oauth).
    #[arg(long, value_delimiter = ',')]
    pub faults: Vec<String>,
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// The bearer token the mock accepts (default: a random one, printed).
    #[arg(long)]
    pub token: Option<String>,
    /// Switch the rate limits off (burst, daily, search; Salesforce: the 24-hour allocation and
    /// the long-running concurrency): for load rehearsals of the client
    /// itself, and for measuring the mock.
    #[arg(long)]
    pub no_limits: bool,
    /// Properties whose values must be unique, comma-separated: HubSpot contacts (a second
    /// contact with a taken `email` is refused 409 "Contact already exists. Existing ID: N", as
    /// a portal does), Salesforce fields (`DUPLICATE_VALUE`). Default: none.
    #[arg(long, value_delimiter = ',', value_name = "PROPS")]
    pub unique: Vec<String>,
    /// Seed of the mock's fault decisions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Deliver contact.creation / contact.propertyChange webhooks (HubSpot v3, signed) to this
    /// URL. The signing secret comes from SYNCPROOF_WEBHOOK_SECRET (default: a random one,
    /// printed).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Run the mock's clock N× faster than real time: rolling windows, daily quotas (a
    /// simulated day lasts 86,400/N real seconds), search lag, injected latency, maintenance
    /// windows and webhook retries all follow it. Point a client on the same clock at it
    /// (`syncproof run --clock-speed N`).
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = super::args::parse_clock_speed)]
    pub clock_speed: f64,
    /// Serve the whole mock integration a `kind = "mock-integration"` plan describes (source
    /// CRM, reference relay, target CRM, with the plan's limits, faults, relay defects and
    /// clock) in this process, so that a `kind = "integration"` plan pointed at its two URLs
    /// outlives a crash of the harness and can be resumed. `--profile`, `--faults`,
    /// `--no-limits`, `--webhook-url`, `--oauth` and `--tls` do not apply; `--clock-speed`
    /// overrides the plan's.
    #[arg(long, value_name = "PLAN", conflicts_with_all = ["faults", "no_limits", "webhook_url", "oauth", "tls", "unique"])]
    pub integration: Option<PathBuf>,
    /// Register an OAuth app (HubSpot profiles): `POST /oauth/v1/token` hands out 30-minute
    /// access tokens on the mock's clock. Client id, client secret and an installed refresh
    /// token come from SYNCPROOF_OAUTH_CLIENT_ID, SYNCPROOF_OAUTH_CLIENT_SECRET and
    /// SYNCPROOF_OAUTH_REFRESH_TOKEN (default: random ones, printed). The `--token` private-app
    /// token keeps working beside it.
    #[arg(long)]
    pub oauth: bool,
    /// Serve HTTPS with a certificate for localhost, 127.0.0.1 and ::1, signed by a CA
    /// generated at start (needs --ca-out).
    #[arg(long, requires = "ca_out")]
    pub tls: bool,
    /// With --tls: write the CA certificate (PEM) here, for clients to trust
    /// (`[target] ca_file` in a plan).
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca_out: Option<std::path::PathBuf>,
}

/// The OAuth app `--oauth` registers: each part from its environment variable or random.
fn oauth_app() -> (OAuthConfig, [bool; 3]) {
    let part = |var: &str, prefix: &str| match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => (v.trim().to_string(), true),
        _ => (format!("{prefix}{}", random_hex(32)), false),
    };
    let (client_id, id_env) = part("SYNCPROOF_OAUTH_CLIENT_ID", "");
    let (client_secret, secret_env) = part("SYNCPROOF_OAUTH_CLIENT_SECRET", "");
    let (refresh, refresh_env) = part("SYNCPROOF_OAUTH_REFRESH_TOKEN", "na1-");
    (
        OAuthConfig {
            client_id,
            client_secret,
            refresh_tokens: vec![refresh],
            ..OAuthConfig::default()
        },
        [id_env, secret_env, refresh_env],
    )
}

/// The engine being served.
enum Engine {
    HubSpot(std::sync::Arc<Crm>),
    Salesforce(std::sync::Arc<Org>),
}

impl Engine {
    fn accounting(&self) -> CrmAccounting {
        match self {
            Engine::HubSpot(crm) => crm.accounting(),
            Engine::Salesforce(org) => org.accounting(),
        }
    }
}

/// The profile's configuration with `--faults` stacked on it (on the shared part for
/// Salesforce, which takes only the overlays that mean something to it).
fn configure(args: &MockArgs) -> Result<(CrmConfig, Option<syncproof_mocks::OrgConfig>), String> {
    let salesforce = SALESFORCE_PROFILES.contains(&args.profile.as_str());
    let (mut base, org) = if salesforce {
        let org = salesforce_profile(&args.profile).map_err(|e| format!("--profile: {e}"))?;
        (org.base.clone(), Some(org))
    } else {
        (
            profile(&args.profile).map_err(|e| format!("--profile: {e}"))?,
            None,
        )
    };
    for overlay in args
        .faults
        .iter()
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
    {
        if salesforce
            && !SALESFORCE_OVERLAYS.contains(&overlay)
            && apply_overlay(&mut base.clone(), overlay).is_ok()
        {
            return Err(format!(
                "--faults: overlay \"{overlay}\" does not apply to {} (overlays for Salesforce: {})",
                args.profile,
                SALESFORCE_OVERLAYS.join(", ")
            ));
        }
        apply_overlay(&mut base, overlay).map_err(|e| format!("--faults: {e}"))?;
    }
    if salesforce && args.oauth {
        return Err(
            "--oauth: the Salesforce profiles serve their own token endpoint (/services/oauth2/token)"
                .into(),
        );
    }
    if salesforce && args.webhook_url.is_some() {
        return Err("--webhook-url: webhooks are served by the HubSpot profiles only".into());
    }
    Ok((base, org))
}

pub async fn run(args: MockArgs) -> Exit {
    if let Some(plan) = args.integration.clone() {
        return integration(args, plan).await;
    }
    let (mut cfg, org_cfg) = match configure(&args) {
        Ok(configured) => configured,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    let token = args.token.clone().unwrap_or_else(|| random_hex(32));
    cfg.tokens = vec![token.clone()];
    cfg.seed = args.seed;
    cfg.clock = syncproof_mocks::Clock::with_speed(args.clock_speed);
    let unique: Vec<String> = args
        .unique
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    cfg.unique_properties.clone_from(&unique);
    if args.no_limits {
        (cfg.burst_max, cfg.daily_max, cfg.search_per_second) = (0, 0, 0);
    }
    let oauth = args.oauth.then(oauth_app);
    cfg.oauth = oauth.as_ref().map(|(app, _)| app.clone());
    let tls = if args.tls {
        match TlsMaterial::generate() {
            Ok(tls) => Some(tls),
            Err(e) => {
                eprintln!("error: --tls: {e}");
                return Exit::RunFailed;
            }
        }
    } else {
        None
    };
    if let (Some(tls), Some(path)) = (&tls, &args.ca_out)
        && let Err(e) = std::fs::write(path, tls.ca_pem())
    {
        eprintln!(
            "error: --ca-out: cannot write {}: {e} (choose a writable path)",
            path.display()
        );
        return Exit::BadInput;
    }
    let webhook_secret = args.webhook_url.as_ref().map(|url| {
        let secret = std::env::var("SYNCPROOF_WEBHOOK_SECRET").unwrap_or_else(|_| random_hex(32));
        cfg.webhooks = Some(WebhookConfig {
            url: url.clone(),
            client_secret: secret.clone(),
            seed: args.seed,
            ..WebhookConfig::default()
        });
        (url.clone(), secret)
    });
    let shutdown = CancellationToken::new();
    let (engine, app, emitter) = match org_cfg {
        Some(org_cfg) => {
            let long_running_max = if args.no_limits {
                u32::MAX
            } else {
                org_cfg.long_running_max
            };
            let org = Org::new(syncproof_mocks::OrgConfig {
                base: cfg,
                long_running_max,
                https: args.tls,
                unique_fields: unique,
                ..org_cfg
            });
            let app = org.app();
            (Engine::Salesforce(org), app, None)
        }
        None => {
            let crm = Crm::new(cfg);
            let emitter = crm.start_webhooks(shutdown.clone());
            let app = crm.app();
            (Engine::HubSpot(crm), app, emitter)
        }
    };
    let at = SocketAddr::new(args.host, args.port);
    let bound = match &tls {
        Some(tls) => serve_tls_at(app, at, tls, shutdown.clone()).await,
        None => serve_at(app, at, shutdown.clone()).await,
    };
    let (addr, server) = match bound {
        Ok(bound) => bound,
        Err(e) => {
            eprintln!(
                "error: cannot listen on {}:{}: {e} (choose another --port, or 0 for any)",
                args.host, args.port
            );
            return Exit::RunFailed;
        }
    };
    // Listen for Ctrl-C before telling anyone the mock is up.
    let ctrl_c = ctrl_c_from_now().await;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let faults = if args.faults.is_empty() {
        "none".to_string()
    } else {
        args.faults.join(",")
    };
    println!(
        "syncproof mock: {} (faults: {faults}) at {scheme}://{addr}",
        args.profile
    );
    println!("token: {token}");
    if let Some((app, from_env)) = &oauth {
        let show = |value: &str, var: &str, env: bool| {
            if env {
                format!("from {var}")
            } else {
                value.to_string()
            }
        };
        println!(
            "oauth: POST {scheme}://{addr}/oauth/v1/token   client_id: {}   client_secret: {}   refresh_token: {}",
            show(&app.client_id, "SYNCPROOF_OAUTH_CLIENT_ID", from_env[0]),
            show(
                &app.client_secret,
                "SYNCPROOF_OAUTH_CLIENT_SECRET",
                from_env[1]
            ),
            show(
                &app.refresh_tokens[0],
                "SYNCPROOF_OAUTH_REFRESH_TOKEN",
                from_env[2]
            ),
        );
    }
    if let Some(path) = &args.ca_out {
        println!(
            "tls: CA certificate written to {} (trust it: `[target] ca_file`, curl --cacert)",
            path.display()
        );
    }
    if let Engine::Salesforce(_) = engine {
        println!(
            "instance_url: {scheme}://{addr}   REST API: {scheme}://{addr}/services/data/v60.0/   OAuth: POST {scheme}://{addr}/services/oauth2/token"
        );
    }
    if args.clock_speed != 1.0 {
        println!(
            "clock: {}× real time (a simulated day every {:.1} s)",
            args.clock_speed,
            86_400.0 / args.clock_speed
        );
    }
    println!(
        "health: {scheme}://{addr}/__syncproof/health   stats: {scheme}://{addr}/__syncproof/stats"
    );
    if let Some((url, secret)) = &webhook_secret {
        let from_env = std::env::var("SYNCPROOF_WEBHOOK_SECRET").is_ok();
        if from_env {
            println!("webhooks: to {url}, signed with SYNCPROOF_WEBHOOK_SECRET");
        } else {
            println!("webhooks: to {url}, signed with secret {secret}");
        }
    }
    println!("Ctrl-C stops it.");
    ctrl_c.await;
    shutdown.cancel();
    let _ = server.await;
    if let Some(emitter) = emitter {
        let _ = emitter.await;
    }
    let a = engine.accounting();
    println!(
        "stopped: {} calls served, {} records created, {} updated, {} daily resets",
        a.total_calls(),
        a.records_created,
        a.records_updated,
        a.daily_resets
    );
    Exit::Pass
}

/// `--integration PLAN`: the plan's built-in integration, served until Ctrl-C.
async fn integration(args: MockArgs, path: PathBuf) -> Exit {
    let plan = match crate::config::Source::read(&path)
        .and_then(|src| crate::replay::Plan::load(&src, &crate::replay::PlanOverrides::default()))
    {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::BadInput;
        }
    };
    if plan.topology != crate::replay::Topology::MockIntegration {
        eprintln!(
            "error: {}: --integration serves the mock integration of a kind = \"mock-integration\" plan; this plan targets real systems",
            path.display()
        );
        return Exit::BadInput;
    }
    let speed = if args.clock_speed != 1.0 {
        args.clock_speed
    } else {
        plan.load.clock_speed
    };
    let clock = syncproof_mocks::Clock::with_speed(speed);
    let token = args.token.clone().unwrap_or_else(|| random_hex(32));
    let mut cfg = crate::run::integration_config(&plan, &plan.shape.field_names(), clock);
    cfg.harness_token = token.clone();
    cfg.relay_token = random_hex(32);
    let integration = match syncproof_mocks::Integration::start(cfg).await {
        Ok(started) => started,
        Err(e) => {
            eprintln!("error: cannot serve the mock integration on loopback: {e}");
            return Exit::RunFailed;
        }
    };
    let ctrl_c = ctrl_c_from_now().await;
    let (source, target) = (integration.source_url(), integration.target_url());
    println!(
        "syncproof mock: integration of {} at {source} -> {target}",
        path.display()
    );
    println!("source: {source}");
    println!("target: {target}");
    println!("token: {token}");
    if let Some(url) = integration.relay_webhook_url() {
        println!("relay: webhook mode; the source posts its webhooks to {url}");
    }
    if speed != 1.0 {
        println!(
            "clock: {speed}× real time (a simulated day every {:.1} s)",
            86_400.0 / speed
        );
    }
    println!(
        "stats: {source}/__syncproof/stats   {target}/__syncproof/stats   id property: {}",
        plan.verify.id_property
    );
    println!("Ctrl-C stops it.");
    ctrl_c.await;
    let truth = integration.shutdown().await;
    println!(
        "stopped: source {} records, relay {} forwarded, {} lost, {} written twice ({} extra copies); target {} records",
        truth.source.records_created,
        truth.relay.forwarded,
        truth.relay.lost,
        truth.relay.duplicated,
        truth.relay.duplicate_copies,
        truth.target.records_created
    );
    Exit::Pass
}

fn random_hex(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect()
}

/// Ctrl-C, listened for from now on: polling the signal once installs the handler, so a Ctrl-C
/// before the mock is announced stops it cleanly instead of killing it. The returned future ends
/// at Ctrl-C (or at once, said on stderr, when the signal cannot be listened for).
async fn ctrl_c_from_now() -> impl Future<Output = ()> {
    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    let early = tokio::select! {
        biased;
        result = &mut ctrl_c => Some(result),
        () = std::future::ready(()) => None,
    };
    async move {
        let stopped = match early {
            Some(result) => result,
            None => ctrl_c.await,
        };
        if stopped.is_err() {
            eprintln!("error: cannot listen for Ctrl-C; stopping");
        }
    }
}
