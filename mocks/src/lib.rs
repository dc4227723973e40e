//! Mock integration for syncproof: HubSpot- and Salesforce-style mock CRMs, a reference relay with defect knobs,
//! and a launcher wiring source → relay → target on loopback.
//!
//! Everything here counts what it saw and did (ground truth), so the harness's measurements can
//! be checked against it. This crate never depends on the harness.
//!
//! # Layout
//!
//! - [`clock`]: `Clock`, the time source of every window, quota and lag, scalable N× for
//!   time-compressed runs.
//! - [`dist`]: `LogNormal`, the duration distribution for injected latency and relay lag.
//! - [`crm`]: the mock CRM engine (`Crm`), its axum router, limits, faults and `CrmAccounting`.
//! - [`relay`]: the reference relay (the integration under test) that tails a source CRM and
//!   writes to a target CRM, with loss/duplicate/drop/truncate/lag knobs and `RelayStats`.
//! - [`integration`]: starts source + relay + target on loopback and snapshots their truth.
//! - [`profiles`]: named vendor tiers (`hubspot-pro`, ...) and stackable fault overlays.
//! - [`webhooks`]: HubSpot-style v3 webhooks from a mock CRM to a subscriber (signed, batched,
//!   retried, at least once).
//! - [`salesforce`]: the Salesforce-style org (`Org`): sObject CRUD, upsert by external id,
//!   collections, composite, SOQL, limits and sessions, on the same store, faults and accounting.
//! - [`serve`]: serves a router on `127.0.0.1:0` until cancelled.
//! - [`direct`]: `Direct`, an engine's router answering a whole request in the caller's thread
//!   (waits returned, not done), for socketless transports such as a `wiremock` `Respond`.
//! - [`tls`]: HTTPS for the mock: a CA generated at start, a certificate for loopback names,
//!   and the TLS listener.

pub mod clock;
pub mod crm;
pub mod direct;
pub mod dist;
pub mod integration;
pub mod profiles;
pub mod relay;
pub mod salesforce;
pub mod serve;
pub mod tls;
pub mod webhooks;

/// The engine's internal hash maps. foldhash instead of std's SipHash: the keys are property
/// names, value hashes and bearer tokens of a mock serving loopback test traffic, so HashDoS
/// resistance is irrelevant, and SipHash was a tenth of the instructions of a create.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

pub use clock::Clock;
pub use crm::oauth::{HUBSPOT_ACCESS_TTL, OAuthConfig};
pub use crm::{Crm, CrmAccounting, CrmConfig};
pub use direct::Direct;
pub use dist::LogNormal;
pub use integration::{Integration, IntegrationConfig, IntegrationTruth};
pub use profiles::{
    OVERLAYS, PROFILES, ProfileError, SALESFORCE_OVERLAYS, SALESFORCE_PROFILES, apply_overlay,
    profile, salesforce_profile,
};
pub use relay::{
    RelayConfig, RelayHandle, RelayKnobs, RelayMode, RelayRetry, RelayStats, RelayWrite,
    WarehouseCopies, WarehouseSink, WebhookListener, quote_ident,
};
pub use salesforce::{Org, OrgConfig};
pub use serve::{serve, serve_at};
pub use tls::{TlsMaterial, serve_tls_at};
pub use webhooks::{WebhookConfig, WebhookStats, signature_v3, verify_v3};
