//! HubSpot-style error answers: the spec's `Error` body (`status`, `message`, `category`,
//! `correlationId`, optional `context`) and the 429 `RATE_LIMIT` body with its `policyName`.
//!
//! Every way a request can fail in the mock ends here, so a client under test sees one consistent
//! shape and the mock never panics on bad input.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A request the mock refuses, with the HTTP status and the HubSpot `category` it reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) category: &'static str,
    pub(crate) message: String,
    pub(crate) context: BTreeMap<String, Vec<String>>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        category: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            category,
            message: message.into(),
            context: BTreeMap::new(),
        }
    }

    pub(crate) fn validation(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_ERROR", message)
    }

    pub(crate) fn not_found(id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "Object not found.  objectId are usually numeric.",
        )
        .with_context("id", vec![id.to_string()])
    }

    /// 423: a record in the request was written less than `lock_for` ago (HubSpot locks records
    /// during high-volume upserts; the lock lasts 2 s).
    pub(crate) fn locked(lock_for: std::time::Duration) -> Self {
        ApiError::new(
            StatusCode::LOCKED,
            "LOCKED",
            format!(
                "A record in this request is locked by a concurrent write; wait at least {} ms and retry.",
                lock_for.as_millis()
            ),
        )
    }

    pub(crate) fn conflict(existing_id: u64) -> Self {
        ApiError::new(
            StatusCode::CONFLICT,
            "CONFLICT",
            format!("Contact already exists. Existing ID: {existing_id}"),
        )
        .with_context("existingId", vec![existing_id.to_string()])
    }

    pub(crate) fn with_context(mut self, key: &str, values: Vec<String>) -> Self {
        self.context.insert(key.to_string(), values);
        self
    }

    /// The spec's `Error` schema.
    pub(crate) fn into_response(self, correlation_id: String) -> Response {
        let mut body = json!({
            "status": "error",
            "message": self.message,
            "correlationId": correlation_id,
            "category": self.category,
        });
        if !self.context.is_empty() {
            body["context"] = json!(self.context);
        }
        (self.status, Json(body)).into_response()
    }

    /// The spec's `StandardError` schema, as an item of a batch response's `errors`.
    pub(crate) fn standard(&self) -> Value {
        json!({
            "status": "error",
            "category": self.category,
            "message": self.message,
            "context": self.context,
            "errors": [],
            "links": {},
        })
    }
}

/// Which limit a 429 reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Policy {
    TenSecondlyRolling,
    Daily,
    Secondly,
}

impl Policy {
    fn name(self) -> &'static str {
        match self {
            Policy::TenSecondlyRolling => "TEN_SECONDLY_ROLLING",
            Policy::Daily => "DAILY",
            Policy::Secondly => "SECONDLY",
        }
    }
}

/// The 429 body HubSpot sends when a limit is reached.
pub(crate) fn rate_limited(policy: Policy, correlation_id: String) -> Response {
    let message = format!(
        "You have reached your {} limit.",
        policy.name().to_ascii_lowercase()
    );
    let body = json!({
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": correlation_id,
        "policyName": policy.name(),
        "requestId": correlation_id,
    });
    (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response()
}

/// Hands out uuid-shaped correlation ids: unique per mock, deterministic per request order.
#[derive(Debug)]
pub(crate) struct CorrelationIds {
    prefix: u32,
    next: AtomicU64,
}

impl CorrelationIds {
    pub(crate) fn new(seed: u64) -> Self {
        CorrelationIds {
            // Truncation intended: the seed only flavours the id.
            prefix: (seed ^ (seed >> 32)) as u32,
            next: AtomicU64::new(1),
        }
    }

    pub(crate) fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-0000-4000-8000-{:012x}", self.prefix, n)
    }
}
