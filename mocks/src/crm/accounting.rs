//! What a mock CRM saw and did: calls per endpoint and status, injected faults, records written.
//!
//! This is the ground truth a harness measurement is checked against, so the names are a closed
//! set (`Endpoint`, `Fault`) turned into strings in one place, and the snapshot type is plain
//! serde data that a report can embed as is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A snapshot of one mock CRM's counters.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CrmAccounting {
    /// Endpoint name → HTTP status → count. Names: `create`, `read`, `list`, `archive`,
    /// `batch_create`, `batch_upsert`, `batch_update`, `batch_archive`, `batch_read`, `search`,
    /// and `other` for anything unrouted.
    pub calls: BTreeMap<String, BTreeMap<u16, u64>>,
    /// `transient_5xx`, `throttled_burst`, `throttled_daily`, `throttled_search`, `unauthorized`
    /// → count.
    pub faults: BTreeMap<String, u64>,
    /// Records the store created (single create, batch create, upsert of a new id).
    pub records_created: u64,
    /// Existing records an upsert or an update changed.
    pub records_updated: u64,
    /// Records archived (deleted) by `DELETE /{id}` or `batch/archive`.
    #[serde(default)]
    pub records_archived: u64,
    /// Day boundaries passed on the CRM's clock: how often the daily quota was reset.
    #[serde(default)]
    pub daily_resets: u64,
}

impl CrmAccounting {
    /// Every request answered, whatever its endpoint and status.
    pub fn total_calls(&self) -> u64 {
        self.calls
            .values()
            .flat_map(|by_status| by_status.values())
            .sum()
    }

    /// Requests answered with `status`, over all endpoints.
    pub fn calls_with_status(&self, status: u16) -> u64 {
        self.calls
            .values()
            .filter_map(|by_status| by_status.get(&status))
            .sum()
    }
}

/// The endpoints the mock tells apart in its accounting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Create,
    Read,
    List,
    BatchCreate,
    BatchUpsert,
    BatchUpdate,
    BatchArchive,
    BatchRead,
    Archive,
    Search,
    Other,
}

impl Endpoint {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Endpoint::Create => "create",
            Endpoint::Read => "read",
            Endpoint::List => "list",
            Endpoint::BatchCreate => "batch_create",
            Endpoint::BatchUpsert => "batch_upsert",
            Endpoint::BatchUpdate => "batch_update",
            Endpoint::BatchArchive => "batch_archive",
            Endpoint::Archive => "archive",
            Endpoint::BatchRead => "batch_read",
            Endpoint::Search => "search",
            Endpoint::Other => "other",
        }
    }

    /// Classifies a request by method and path alone, so the gate can account for requests
    /// that never reach a handler (405, 404, rejected before routing).
    pub(crate) fn classify(method: &axum::http::Method, path: &str) -> Endpoint {
        use axum::http::Method;
        let Some(rest) = path.strip_prefix(super::CONTACTS_PATH) else {
            return Endpoint::Other;
        };
        let post = method == Method::POST;
        let get = method == Method::GET;
        match rest {
            "" if post => Endpoint::Create,
            "" if get => Endpoint::List,
            "/batch/create" if post => Endpoint::BatchCreate,
            "/batch/upsert" if post => Endpoint::BatchUpsert,
            "/batch/update" if post => Endpoint::BatchUpdate,
            "/batch/archive" if post => Endpoint::BatchArchive,
            "/batch/read" if post => Endpoint::BatchRead,
            "/search" if post => Endpoint::Search,
            _ if get || method == Method::DELETE => match rest.strip_prefix('/') {
                // `/search` is a POST-only route, so a GET there is not a read of id "search".
                Some(id) if !id.is_empty() && !id.contains('/') && id != "search" => {
                    if get {
                        Endpoint::Read
                    } else {
                        Endpoint::Archive
                    }
                }
                _ => Endpoint::Other,
            },
            _ => Endpoint::Other,
        }
    }
}

/// The faults the mock injects or enforces, as counted in `CrmAccounting::faults`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    Transient5xx,
    ThrottledBurst,
    ThrottledDaily,
    ThrottledSearch,
    Unauthorized,
    CommitThenDrop,
    Maintenance,
    Blackhole,
    /// Salesforce: the rolling-24-hour request allocation is used up.
    ThrottledAllocation,
    /// Salesforce: too many long-running requests at once.
    ThrottledConcurrency,
    /// A session token past its time to live.
    SessionExpired,
    /// The connection reset before the request was handled (`connection-reset`).
    ConnectionReset,
    /// The answer's body trickled out slowly (`slow-body`).
    SlowBody,
    /// An OAuth access token used past its expiry.
    TokenExpired,
    /// A valid OAuth access token revoked early (`token-churn`).
    TokenChurn,
}

impl Fault {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Fault::Transient5xx => "transient_5xx",
            Fault::ThrottledBurst => "throttled_burst",
            Fault::ThrottledDaily => "throttled_daily",
            Fault::ThrottledSearch => "throttled_search",
            Fault::Unauthorized => "unauthorized",
            Fault::CommitThenDrop => "commit_then_drop",
            Fault::Maintenance => "maintenance",
            Fault::Blackhole => "blackhole",
            Fault::ConnectionReset => "connection_reset",
            Fault::SlowBody => "slow_body",
            Fault::ThrottledAllocation => "throttled_allocation",
            Fault::ThrottledConcurrency => "throttled_concurrency",
            Fault::SessionExpired => "session_expired",
            Fault::TokenExpired => "token_expired",
            Fault::TokenChurn => "token_churn",
        }
    }
}

/// The live counters behind `CrmAccounting` (records counts live in the store, next to the
/// records they count, so they can never disagree with it).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    calls: BTreeMap<&'static str, BTreeMap<u16, u64>>,
    faults: BTreeMap<&'static str, u64>,
}

impl Tally {
    pub(crate) fn call(&mut self, endpoint: Endpoint, status: u16) {
        self.call_named(endpoint.name(), status);
    }

    /// Counts a call to an endpoint named by another engine's classification.
    pub(crate) fn call_named(&mut self, endpoint: &'static str, status: u16) {
        *self
            .calls
            .entry(endpoint)
            .or_default()
            .entry(status)
            .or_default() += 1;
    }

    pub(crate) fn fault(&mut self, fault: Fault) {
        *self.faults.entry(fault.name()).or_default() += 1;
    }

    pub(crate) fn snapshot(&self, records_created: u64, records_updated: u64) -> CrmAccounting {
        CrmAccounting {
            calls: self
                .calls
                .iter()
                .map(|(name, by_status)| (name.to_string(), by_status.clone()))
                .collect(),
            faults: self
                .faults
                .iter()
                .map(|(name, n)| (name.to_string(), *n))
                .collect(),
            records_created,
            records_updated,
            records_archived: 0,
            daily_resets: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn classify_endpoints() {
        let cases = [
            (Method::POST, "/crm/v3/objects/contacts", Endpoint::Create),
            (Method::GET, "/crm/v3/objects/contacts", Endpoint::List),
            (Method::GET, "/crm/v3/objects/contacts/12", Endpoint::Read),
            (
                Method::GET,
                "/crm/v3/objects/contacts/search",
                Endpoint::Other,
            ),
            (
                Method::POST,
                "/crm/v3/objects/contacts/search",
                Endpoint::Search,
            ),
            (
                Method::POST,
                "/crm/v3/objects/contacts/batch/create",
                Endpoint::BatchCreate,
            ),
            (
                Method::POST,
                "/crm/v3/objects/contacts/batch/upsert",
                Endpoint::BatchUpsert,
            ),
            (
                Method::POST,
                "/crm/v3/objects/contacts/batch/read",
                Endpoint::BatchRead,
            ),
            (
                Method::GET,
                "/crm/v3/objects/contacts/batch/read",
                Endpoint::Other,
            ),
            (
                Method::DELETE,
                "/crm/v3/objects/contacts/1",
                Endpoint::Archive,
            ),
            (
                Method::POST,
                "/crm/v3/objects/contacts/batch/archive",
                Endpoint::BatchArchive,
            ),
            (
                Method::POST,
                "/crm/v3/objects/contacts/batch/update",
                Endpoint::BatchUpdate,
            ),
            (Method::GET, "/crm/v3/objects/contactsx", Endpoint::Other),
            (Method::GET, "/", Endpoint::Other),
        ];
        for (method, path, want) in cases {
            assert_eq!(Endpoint::classify(&method, path), want, "{method} {path}");
        }
    }

    #[test]
    fn totals() {
        let mut tally = Tally::default();
        tally.call(Endpoint::Create, 201);
        tally.call(Endpoint::Create, 429);
        tally.call(Endpoint::Search, 429);
        let acc = tally.snapshot(1, 0);
        assert_eq!(acc.total_calls(), 3);
        assert_eq!(acc.calls_with_status(429), 2);
        assert_eq!(acc.calls_with_status(500), 0);
    }
}
