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
use crate::relay::{RelayConfig, RelayHandle, RelayKnobs, RelayStats, WarehouseSink};
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
    /// Serves source and target on `127.0.0.1:0` and spawns the relay between them.
    pub async fn start(cfg: IntegrationConfig) -> std::io::Result<Integration> {
        let tokens = [&cfg.harness_token, &cfg.relay_token];
        let clock = cfg.clock;
        let on_clock = |crm: CrmConfig| CrmConfig { clock, ..crm };
        let source = Crm::new(accepting(on_clock(cfg.source), tokens));
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
        let relay = match &cfg.warehouse {
            None => RelayHandle::spawn(relay_cfg, shutdown.clone()),
            Some(warehouse) => {
                match RelayHandle::spawn_to_warehouse(relay_cfg, warehouse, shutdown.clone()).await
                {
                    Ok(relay) => relay,
                    Err(err) => {
                        shutdown.cancel();
                        let _ = source_task.await;
                        let _ = target_task.await;
                        return Err(std::io::Error::other(format!(
                            "the warehouse sink cannot use table {:?}: {err}",
                            warehouse.table
                        )));
                    }
                }
            }
        };
        // A target with webhooks configured tells its subscriber what the relay wrote.
        let mut servers = vec![source_task, target_task];
        servers.extend(target.start_webhooks(shutdown.clone()));
        tracing::debug!(%source_addr, %target_addr, "mock integration started");
        Ok(Integration {
            source,
            target,
            source_addr,
            target_addr,
            relay,
            servers,
            shutdown,
        })
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
