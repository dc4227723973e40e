//! JSON shapes of the contacts API, named after the vendor OpenAPI schemas
//! (`SimplePublicObject`, `BatchResponseSimplePublicObject[WithErrors]`, …), and the parsing of
//! request bodies and query strings into them.
//!
//! Requests are parsed by hand from bytes rather than with axum's `Json` extractor so that every
//! malformed body gets a HubSpot `VALIDATION_ERROR`, never axum's plain-text rejection. Unknown
//! request fields are ignored, as the vendor does (`associations` and the like).

use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::ApiError;
use super::store::{DEFAULT_PROPERTIES, InputProperties, Name, Record, timestamp};

/// `SimplePublicObject`, plus `new` when it is an item of an upsert response
/// (`SimplePublicUpsertObject`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SimplePublicObject {
    pub(crate) id: String,
    /// Set properties by name, sorted and unique; written as a JSON object.
    #[serde(serialize_with = "as_object")]
    pub(crate) properties: Vec<(&'static str, String)>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) object_write_trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) new: Option<bool>,
}

fn as_object<S: serde::Serializer>(
    properties: &[(&'static str, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(properties.iter().map(|(k, v)| (*k, v)))
}

impl SimplePublicObject {
    /// Renders `record` with the requested properties that are set, plus the defaults. Unset
    /// properties are left out: the vendor's published schema types every property value as a
    /// string, never null (checked by the contract tests).
    pub(crate) fn render<'a>(
        record: &Record,
        requested: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        // A name no record ever stored is set on none.
        let mut names: Vec<Name> = requested
            .into_iter()
            .chain(DEFAULT_PROPERTIES)
            .filter_map(Name::lookup)
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut properties: Vec<(&'static str, String)> = names
            .into_iter()
            .filter_map(|name| Some((name.as_str(), record.fields.get(name)?.to_string())))
            .collect();
        properties.sort_unstable_by_key(|(name, _)| *name);
        SimplePublicObject {
            id: record.id.to_string(),
            properties,
            created_at: timestamp(record.created_at),
            updated_at: timestamp(record.updated_at),
            archived: record.archived,
            object_write_trace_id: None,
            new: None,
        }
    }
}

/// `NextPage` inside `ForwardPaging`.
#[derive(Debug, Serialize)]
pub(crate) struct NextPage {
    pub(crate) after: String,
}

/// `ForwardPaging`.
#[derive(Debug, Serialize)]
pub(crate) struct Paging {
    pub(crate) next: NextPage,
}

impl Paging {
    pub(crate) fn after(after: impl ToString) -> Self {
        Paging {
            next: NextPage {
                after: after.to_string(),
            },
        }
    }
}

/// `CollectionResponseSimplePublicObjectWithAssociationsForwardPaging` (list).
#[derive(Debug, Serialize)]
pub(crate) struct Collection {
    pub(crate) results: Vec<SimplePublicObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) paging: Option<Paging>,
}

/// `CollectionResponseWithTotalSimplePublicObject` (search).
#[derive(Debug, Serialize)]
pub(crate) struct CollectionWithTotal {
    pub(crate) total: usize,
    pub(crate) results: Vec<SimplePublicObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) paging: Option<Paging>,
}

/// `BatchResponseSimplePublicObject`, or `…WithErrors` when `errors` is non-empty.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchResponse {
    pub(crate) status: &'static str,
    pub(crate) results: Vec<SimplePublicObject>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) errors: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) num_errors: Option<usize>,
    pub(crate) started_at: String,
    pub(crate) completed_at: String,
}

impl BatchResponse {
    pub(crate) fn complete(
        started: SystemTime,
        completed: SystemTime,
        results: Vec<SimplePublicObject>,
        errors: &[ApiError],
    ) -> Self {
        BatchResponse {
            status: "COMPLETE",
            results,
            num_errors: (!errors.is_empty()).then_some(errors.len()),
            errors: errors.iter().map(ApiError::standard).collect(),
            started_at: timestamp(started),
            completed_at: timestamp(completed),
        }
    }
}

/// `SimplePublicObjectInputForCreate` / `SimplePublicObjectBatchInputForCreate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateInput {
    pub(crate) properties: InputProperties,
    #[serde(default)]
    pub(crate) object_write_trace_id: Option<String>,
}

/// `SimplePublicObjectBatchInputUpsert`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpsertInput {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) id_property: Option<String>,
    pub(crate) properties: InputProperties,
    #[serde(default)]
    pub(crate) object_write_trace_id: Option<String>,
}

/// `BatchInput…`: `{"inputs": [...]}`.
#[derive(Debug, Deserialize)]
pub(crate) struct BatchInput<T> {
    pub(crate) inputs: Vec<T>,
}

/// `SimplePublicObjectId`.
#[derive(Debug, Deserialize)]
pub(crate) struct ReadInput {
    pub(crate) id: String,
}

/// `BatchReadInputSimplePublicObjectId`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BatchReadRequest {
    #[serde(default)]
    pub(crate) id_property: Option<String>,
    pub(crate) inputs: Vec<ReadInput>,
    #[serde(default)]
    pub(crate) properties: Vec<String>,
}

/// `Filter`. Values may be strings or numbers on the wire.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filter {
    pub(crate) property_name: String,
    pub(crate) operator: String,
    #[serde(default)]
    pub(crate) value: Option<Value>,
    #[serde(default)]
    pub(crate) values: Option<Vec<Value>>,
    #[serde(default)]
    pub(crate) high_value: Option<Value>,
}

/// `FilterGroup`.
#[derive(Debug, Deserialize)]
pub(crate) struct FilterGroup {
    #[serde(default)]
    pub(crate) filters: Vec<Filter>,
}

/// `PublicObjectSearchRequest`. `sorts` items are either `"prop"`/`"-prop"` strings or
/// `{"propertyName", "direction"}` objects, both seen in HubSpot clients.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SearchRequest {
    #[serde(default)]
    pub(crate) filter_groups: Vec<FilterGroup>,
    #[serde(default)]
    pub(crate) properties: Vec<String>,
    #[serde(default)]
    pub(crate) limit: Option<i64>,
    #[serde(default)]
    pub(crate) after: Option<Value>,
    #[serde(default)]
    pub(crate) sorts: Vec<Value>,
    #[serde(default)]
    pub(crate) query: Option<String>,
}

/// Parses a JSON body, turning any failure into a `VALIDATION_ERROR` that says what was wrong.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|err| {
        ApiError::validation(format!(
            "Invalid input JSON on line {}, column {}: {err}",
            err.line(),
            err.column()
        ))
    })
}

/// A scalar JSON value as the string the store compares (`"5"` and `5` are the same filter).
pub(crate) fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Query parameters of the GET endpoints; repeated `properties` and comma lists both work.
#[derive(Debug, Default)]
pub(crate) struct QueryParams {
    pub(crate) properties: Vec<String>,
    pub(crate) limit: Option<String>,
    pub(crate) after: Option<String>,
    pub(crate) id_property: Option<String>,
}

impl QueryParams {
    pub(crate) fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut params = QueryParams::default();
        for (key, value) in pairs {
            match key.as_str() {
                "properties" => params.properties.extend(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(str::to_string),
                ),
                "limit" => params.limit = Some(value),
                "after" => params.after = Some(value),
                "idProperty" => params.id_property = Some(value),
                _ => {}
            }
        }
        params
    }
}
