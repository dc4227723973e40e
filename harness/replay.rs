//! Replay: the plan, the open-loop schedule, batching workers with a concurrency cap, retries
//! that honour the server's back-off signals, and the HTTP client speaking the target's dialect.
//!
//! Latency is measured from each record's *intended* send time on the open-loop schedule, so a
//! slow target cannot hide its slowness by slowing the client down (no coordinated omission).

mod auth;
mod client;
mod engine;
mod hubspot;
mod inflight;
mod limiter;
mod plan;
mod probe;
mod retry;
mod stages;
pub mod tls;

pub use auth::{AuthStats, Credential, OAuthCredentials};
pub use client::{CallResponse, CrmClient, RateHeaders};
pub use engine::{Carried, RecordSet, ReplayContext, ReplayReport, Work, replay};
pub use hubspot::{
    TargetCopy, batch_read_body, batch_upsert_body, next_after as next_search_page,
    parse_results as parse_target_results, search_in_body,
};

/// The endpoint paths of the HubSpot dialect.
pub mod hubspot_paths {
    pub use super::hubspot::{BATCH_READ, BATCH_UPSERT, SEARCH};
}
pub use inflight::{InFlight, Pending};
pub use limiter::ClientLimiter;
pub use plan::{
    CrmKnobs, DEMO_PLAN, DEMO_SLA, LoadPlan, MAX_CLOCK_SPEED, Plan, PlanOverrides, RUN_DIR_SHAPE,
    RUN_DIR_SLA, RelayPlan, Secret, Topology, VerifyPlan,
};
pub use probe::{ProbeOptions, ProbeReport, probe_limits};
pub use retry::{RetryPolicy, classify};
pub use stages::{Schedule, Stage};
