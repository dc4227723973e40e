//! `Integration`: a whole mock integration on loopback — source CRM, reference relay, target CRM
//! — started together, observed together (`IntegrationTruth`), stopped together.
//!
//! Both CRMs accept the harness's token and the relay's token; limits are per token (per app), so
//! the harness and the relay do not share a burst window, as two HubSpot apps would not. One
//! cancellation token stops everything, and `shutdown` joins every task before the final
//! snapshot, so the truth it returns is complete.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::crm::{Crm, CrmAccounting, CrmConfig};
use crate::relay::{
    RelayConfig, RelayHandle, RelayKnobs, RelayMode, RelayStats, WarehouseSink, WebhookListener,
};
use crate::serve::serve;

/// How to build the integration.
#[derive(Clone, Debug)]
pub struct IntegrationConfig {
    pub source: CrmConfig,
    pub target: CrmConfig,
    pub relay: RelayKnobs,
    /// The property holding the harness's external id.
    pub id_property: String,
    /// Properties the relay copies besides `id_property`.
    pub properties: Vec<String>,
    pub harness_token: String,
    pub relay_token: String,
    /// The one clock of the source, the relay and the target (it replaces theirs).
    pub clock: crate::Clock,
    /// Set: the relay writes to this PostgreSQL table instead of the target CRM (a
    /// CRM→warehouse sync); the target CRM still runs, and stays empty.
    pub warehouse: Option<WarehouseSink>,
}

/// Ground truth of a whole integration at one moment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct IntegrationTruth {
    pub source: CrmAccounting,
    pub target: CrmAccounting,
    pub relay: RelayStats,
}

/// A running source → relay → target integration.
pub struct Integration {
    source: Arc<Crm>,
    target: Arc<Crm>,
    source_addr: SocketAddr,
    target_addr: SocketAddr,
    relay: RelayHandle,
    warehouse: Option<WarehouseSink>,
    servers: Vec<JoinHandle<()>>,
    shutdown: CancellationToken,
}

/// Makes `cfg` accept both tokens. An empty list already accepts any bearer, so it stays empty.
fn accepting(mut cfg: CrmConfig, tokens: [&String; 2]) -> CrmConfig {
    if !cfg.tokens.is_empty() {
        for token in tokens {
            if !cfg.tokens.contains(token) {
                cfg.tokens.push(token.clone());
            }
        }
    }
    cfg
}

impl Integration {
    /// Serves source and target on `127.0.0.1:0` and spawns the relay between them. In webhook
    /// mode the relay's endpoint is bound first and the source's webhooks (its delivery knobs
    /// from `source.webhooks`, or HubSpot's defaults) are pointed at it.
    pub async fn start(cfg: IntegrationConfig) -> std::io::Result<Integration> {
        let tokens = [&cfg.harness_token, &cfg.relay_token];
        let clock = cfg.clock;
        let on_clock = |crm: CrmConfig| CrmConfig { clock, ..crm };
        let mut source_cfg = cfg.source.clone();
        let listener = match cfg.relay.mode {
            RelayMode::Poll => None,
            RelayMode::Webhook => {
                // The app's client secret: as private as the relay's token it is made from.
                let listener = WebhookListener::bind(format!("whsec-{}", cfg.relay_token)).await?;
                source_cfg.webhooks =
                    Some(listener.subscription(source_cfg.webhooks.take().unwrap_or_default()));
                Some(listener)
            }
        };
        let source = Crm::new(accepting(on_clock(source_cfg), tokens));
        let target = Crm::new(accepting(on_clock(cfg.target), tokens));
        let shutdown = CancellationToken::new();
        let (source_addr, source_task) = serve(source.app(), shutdown.clone()).await?;
        let (target_addr, target_task) = match serve(target.app(), shutdown.clone()).await {
            Ok(served) => served,
            Err(err) => {
                shutdown.cancel();
                let _ = source_task.await;
                return Err(err);
            }
        };
        let relay_cfg = RelayConfig {
            source_url: format!("http://{source_addr}"),
            source_token: cfg.relay_token.clone(),
            target_url: format!("http://{target_addr}"),
            target_token: cfg.relay_token,
            id_property: cfg.id_property,
            properties: cfg.properties,
            knobs: RelayKnobs { clock, ..cfg.relay },
        };
        let relay = match RelayHandle::start(
            relay_cfg,
            listener,
            cfg.warehouse.as_ref(),
            shutdown.clone(),
        )
        .await
        {
            Ok(relay) => relay,
            Err(err) => {
                shutdown.cancel();
                let _ = source_task.await;
                let _ = target_task.await;
                return Err(err);
            }
        };
        let mut servers = vec![source_task, target_task];
        // A webhook-mode source tells the relay what changed; a target with webhooks configured
        // tells its subscriber what the relay wrote.
        servers.extend(source.start_webhooks(shutdown.clone()));
        servers.extend(target.start_webhooks(shutdown.clone()));
        tracing::debug!(%source_addr, %target_addr, "mock integration started");
        Ok(Integration {
            source,
            target,
            source_addr,
            target_addr,
            relay,
            warehouse: cfg.warehouse,
            servers,
            shutdown,
        })
    }

    /// Webhook mode: the relay's endpoint the source posts to.
    pub fn relay_webhook_url(&self) -> Option<&str> {
        self.relay.webhook_url()
    }

    /// The warehouse table the relay writes to, if it writes to one.
    pub fn warehouse(&self) -> Option<&WarehouseSink> {
        self.warehouse.as_ref()
    }

    /// `http://127.0.0.1:PORT` of the source CRM.
    pub fn source_url(&self) -> String {
        format!("http://{}", self.source_addr)
    }

    /// `http://127.0.0.1:PORT` of the target CRM.
    pub fn target_url(&self) -> String {
        format!("http://{}", self.target_addr)
    }

    pub fn source(&self) -> &Arc<Crm> {
        &self.source
    }

    pub fn target(&self) -> &Arc<Crm> {
        &self.target
    }

    /// Records the relay has seen and not yet settled (see [`RelayHandle::pending`]).
    pub fn relay_pending(&self) -> usize {
        self.relay.pending()
    }

    /// A snapshot of all three parts' counters.
    pub fn truth(&self) -> IntegrationTruth {
        IntegrationTruth {
            source: self.source.accounting(),
            target: self.target.accounting(),
            relay: self.relay.stats(),
        }
    }

    /// Stops the relay and both servers, waits for all of them, and returns the final truth.
    pub async fn shutdown(self) -> IntegrationTruth {
        self.shutdown.cancel();
        let relay = self.relay.join().await;
        for server in self.servers {
            if let Err(err) = server.await
                && err.is_panic()
            {
                std::panic::resume_unwind(err.into_panic());
            }
        }
        IntegrationTruth {
            source: self.source.accounting(),
            target: self.target.accounting(),
            relay,
        }
    }
}
