//! Salesforce-shaped failures: a JSON array of `{message, errorCode, fields}` for a request
//! that fails, `{statusCode, message, fields}` items inside a per-record save result, and the
//! 300 Multiple Choices answer of an ambiguous external id (a list of record URLs).

use axum::http::StatusCode;
use serde_json::{Value, json};

/// One failed request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SfError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) fields: Vec<String>,
    /// For 300 Multiple Choices: the matching records' URLs (the body is this list).
    pub(crate) choices: Vec<String>,
}

impl SfError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        SfError {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            choices: Vec::new(),
        }
    }

    pub(crate) fn bad(code: &'static str, message: impl Into<String>) -> Self {
        SfError::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub(crate) fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }

    pub(crate) fn not_found() -> Self {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    pub(crate) fn json(message: impl Into<String>) -> Self {
        SfError::bad("JSON_PARSER_ERROR", message)
    }

    pub(crate) fn multiple(urls: Vec<String>) -> Self {
        SfError {
            choices: urls,
            ..SfError::new(
                StatusCode::MULTIPLE_CHOICES,
                "MULTIPLE_CHOICES",
                "more than one record found for external id field",
            )
        }
    }

    /// The response body: the error array, or the URL list of a 300.
    pub(crate) fn body(&self) -> Value {
        if self.status == StatusCode::MULTIPLE_CHOICES {
            return json!(self.choices);
        }
        let mut item = json!({ "message": self.message, "errorCode": self.code });
        if !self.fields.is_empty() {
            item["fields"] = json!(self.fields);
        }
        json!([item])
    }

    /// The item of a save result's `errors` array.
    pub(crate) fn save_error(&self) -> Value {
        json!({ "statusCode": self.code, "message": self.message, "fields": self.fields })
    }
}

/// The per-record error of a record rolled back because another one failed (`allOrNone`).
pub(crate) fn rolled_back() -> Value {
    json!({
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
        "fields": [],
    })
}
