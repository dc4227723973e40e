//! The target's dialect: how records are written to, read back from and reconciled at one
//! vendor's API. The engine, the read-back and the reconciliation speak only this trait, so a
//! new vendor is one new file (`hubspot.rs`, `salesforce.rs`, `rest.rs`), never a change to the
//! open-loop schedule, the retries or the accounting.
//!
//! A dialect builds [`Request`]s and reads [`CallResponse`]s; it never sends anything itself,
//! so the client (auth, TLS, timeouts, rate-limit headers) stays one thing for every vendor.
//! Copies come back keyed by the shape's field names and the plan's `id_property`, whatever the
//! vendor calls them, so quality scoring needs no vendor knowledge either.

use serde_json::Value;

use super::{CallResponse, TargetCopy, classify_response};
use crate::measure::Outcome;

/// One HTTP request a dialect wants sent (the path is relative to the target's base URL).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: reqwest::Method,
    pub path: String,
    pub body: Option<Body>,
    /// The external id a single-record request is about (a REST read), for the dialect to
    /// recognise the answer by.
    pub record: Option<String>,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: reqwest::Method::GET,
            path: path.into(),
            body: None,
            record: None,
        }
    }

    pub fn post(path: impl Into<String>, body: Value) -> Request {
        Request {
            method: reqwest::Method::POST,
            path: path.into(),
            body: Some(Body::Json(body)),
            record: None,
        }
    }

    /// The body as JSON (a rendered body parsed back): for tests and pagination.
    pub fn json(&self) -> Option<Value> {
        match self.body.as_ref()? {
            Body::Json(v) => Some(v.clone()),
            Body::Rendered(bytes) => serde_json::from_slice(bytes).ok(),
        }
    }
}

/// A request's JSON body: a tree the dialect built, or bytes a template rendered directly.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Json(Value),
    Rendered(bytes::Bytes),
}

impl Body {
    /// The bytes sent.
    pub fn to_bytes(&self) -> bytes::Bytes {
        match self {
            Body::Json(v) => super::client::json_bytes(v),
            Body::Rendered(bytes) => bytes.clone(),
        }
    }
}

/// One record to write: its external id and its non-null fields, by the shape's field names.
#[derive(Debug, Clone, Copy)]
pub struct WriteItem<'a> {
    pub external_id: &'a str,
    pub fields: &'a [(&'a str, &'a str)],
}

/// What the client needs to know about a target's API, as one vendor speaks it.
pub trait Dialect: std::fmt::Debug + Send + Sync {
    /// The event log's name of write calls, e.g. `write:batch_upsert`.
    fn write_endpoint(&self) -> &'static str;
    /// The event log's name of read-back calls, e.g. `read:batch_read`.
    fn read_endpoint(&self) -> &'static str;
    /// The event log's name of reconciliation calls (must start with `search`).
    fn search_endpoint(&self) -> &'static str;
    /// Most records one write call may carry.
    fn max_batch(&self) -> usize;
    /// Most external ids one read-back or reconciliation request may name.
    fn max_lookup(&self) -> usize {
        100
    }

    /// The write of `records`, idempotent by external id where the API allows it.
    fn write(&self, records: &[WriteItem<'_>]) -> Request;

    /// The outcome of each record of a write call, in order. Batch APIs that answer per record
    /// (HTTP 200 with failures in the body) are read record by record; the default applies the
    /// call's own classification to every record.
    fn write_outcomes(&self, response: &CallResponse, records: &[WriteItem<'_>]) -> Vec<Outcome> {
        vec![classify_response(response); records.len()]
    }

    /// The read-back of `ids` by external id: one request for a batch API, one per record
    /// otherwise.
    fn read(&self, ids: &[&str]) -> Vec<Request>;

    /// The read-back of `ids` asking for `fields` too (shape names), so a copy can be compared
    /// with the version last written (a `[load] mix`'s updates). Defaults to [`Dialect::read`].
    fn read_fields(&self, ids: &[&str], fields: &[String]) -> Vec<Request> {
        let _ = fields;
        self.read(ids)
    }

    /// The update of existing records by external id (only the fields given change); `None`
    /// when the dialect cannot update (the plan refuses a mix with updates for it).
    fn update(&self, records: &[WriteItem<'_>]) -> Option<Request> {
        let _ = records;
        None
    }

    /// The event log's name of update calls.
    fn update_endpoint(&self) -> &'static str {
        "write:update"
    }

    /// The delete of records by the target's own ids (as their creates' answers gave them);
    /// `None` when the dialect cannot delete.
    fn delete(&self, target_ids: &[&str]) -> Option<Request> {
        let _ = target_ids;
        None
    }

    /// The event log's name of delete calls.
    fn delete_endpoint(&self) -> &'static str {
        "write:delete"
    }

    /// The target's own id of each record of a successful write, in order, where the answer
    /// says it (`None` otherwise).
    fn created_ids(
        &self,
        response: &CallResponse,
        records: &[WriteItem<'_>],
    ) -> Vec<Option<String>> {
        let _ = response;
        vec![None; records.len()]
    }

    /// The first request(s) of the final reconciliation of `ids`, asking for `fields` (shape
    /// names): every copy the target holds, duplicates included, where the API can tell.
    fn search(&self, ids: &[&str], fields: &[String]) -> Vec<Request>;

    /// How a read or search call went: `Ok` when its copies can be trusted (a 404 of a
    /// single-record read is "not there", not a failure).
    fn lookup_outcome(&self, response: &CallResponse) -> Outcome {
        classify_response(response)
    }

    /// The copies in a read or search response, properties keyed by shape field names and the
    /// plan's `id_property`.
    fn copies(&self, request: &Request, response: &CallResponse) -> Vec<TargetCopy>;

    /// The request for the next page of a search, if the response says there is one.
    fn next_page(&self, request: &Request, response: &CallResponse) -> Option<Request>;
}
