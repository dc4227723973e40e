//! Replay: the plan, the open-loop schedule, batching workers with a concurrency cap, retries
//! that honour the server's back-off signals, and the HTTP client speaking the target's dialect.
//!
//! Latency is measured from each record's *intended* send time on the open-loop schedule, so a
//! slow target cannot hide its slowness by slowing the client down (no coordinated omission).

mod auth;
mod client;
mod dialect;
mod engine;
mod hubspot;
mod inflight;
mod limiter;
mod mix;
mod ops;
mod plan;
mod probe;
mod rest;
mod retry;
mod salesforce;
mod stages;
mod target_plan;
pub mod tls;
mod transport;

pub use auth::{AuthStats, Credential, OAuthCredentials};
pub use client::{CallResponse, ClientError, CrmClient, RateHeaders};
pub use dialect::{Body, Dialect, Request, WriteItem};
pub use engine::{Carried, RecordSet, ReplayContext, ReplayReport, Work, replay};
pub use hubspot::{Hubspot, TargetCopy};

/// What `[verify] kind = "search"` polls: HubSpot's search endpoint and its pages.
pub mod hubspot_search {
    pub use super::hubspot::{SEARCH, next_after, parse_results};
}
pub use inflight::{InFlight, OpTag, Pending, Ready};
pub use limiter::ClientLimiter;
pub use mix::{Final, Mix, Op, OpKind, Planner, WINDOW as MIX_WINDOW, finals};
pub use ops::replay_mix;
pub use plan::{
    CrmKnobs, DEMO_PLAN, DEMO_SLA, Endpoint, LoadPlan, MAX_CLOCK_SPEED, Plan, PlanOverrides,
    RUN_DIR_SHAPE, RUN_DIR_SLA, RelayPlan, Secret, Topology, VerifyPlan,
};
pub use probe::{ProbeOptions, ProbeReport, probe_limits};
pub use rest::Rest;
pub use retry::{RetryPolicy, classify, classify_response};
pub use salesforce::Salesforce;
pub use stages::{Schedule, Stage};
pub use target_plan::{DialectPlan, RestPlan};
