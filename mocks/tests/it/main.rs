//! Integration tests of `syncproof-mocks` over real loopback HTTP: one binary, a module per area.
//!
//! - `contract`: every response validated against HubSpot's published OpenAPI schemas, over
//!   both transports (axum and wiremock).
//! - `layout`: every file has its `//!` header; `lib.rs` names every module.
//! - `serve`: a mock CRM on `127.0.0.1:0` answers reqwest and stops on cancellation.
//! - `relay`: source → relay → target end to end, checking the relay's stats against the
//!   target's records (ground truth against ground truth).
//! - `salesforce`: the Salesforce org's resources, limits, sessions and faults, over loopback.
//! - `webhooks`: signed, batched, retried webhook delivery to a verifying subscriber.
//! - `transports`: the engines answered by `Direct` with no runtime, and behind wiremock beside
//!   plain wiremock mocks (overrides, expected counts, recorded requests, latency as a delay).
//! - `support`: shared helpers (writing contacts, listing a CRM, bounded waiting, serving an
//!   engine over axum or wiremock).

mod contract;
mod layout;
mod relay;
mod salesforce;
mod serve;
mod support;
mod transports;
mod webhooks;
