//! Single-object endpoints: create (`POST /contacts`), read (`GET /contacts/{id}`, optionally by
//! `idProperty`) and list (`GET /contacts`, cursor paging).
//!
//! The list cursor is the next id to return, as a decimal string. Because ids only grow and
//! nothing is deleted, a client that keeps the last `after` it got (or, on the last page, the id
//! after the last result) sees every later record exactly once: the relay tails the store so.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::Crm;
use super::errors::ApiError;
use super::store::OBJECT_ID;
use super::wire::{
    Collection, CreateInput, Paging, QueryParams, SimplePublicObject, json_bytes, object_response,
    parse_body, record_json,
};

const LIST_DEFAULT_LIMIT: usize = 10;
const LIST_MAX_LIMIT: usize = 100;

type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub(crate) fn query_params(query: RawQuery) -> Result<QueryParams, ApiError> {
    let Query(pairs) =
        query.map_err(|err| ApiError::validation(format!("invalid query string: {err}")))?;
    Ok(QueryParams::from_pairs(pairs))
}

/// `POST /crm/v3/objects/contacts`.
pub(crate) async fn create(State(crm): State<Arc<Crm>>, body: Bytes) -> Response {
    crm.respond(create_inner(&crm, &body))
}

fn create_inner(crm: &Crm, body: &[u8]) -> Result<Response, ApiError> {
    let input: CreateInput = parse_body(body)?;
    let mut store = crm.store();
    let record = store
        .create(&input.properties)
        .map_err(|conflict| ApiError::conflict(conflict.existing_id))?;
    let body = record_json(record);
    drop(store);
    Ok(json_bytes(StatusCode::CREATED, body))
}

/// `GET /crm/v3/objects/contacts/{id}?properties=…&idProperty=…`.
pub(crate) async fn read(
    State(crm): State<Arc<Crm>>,
    id: Result<Path<String>, PathRejection>,
    query: RawQuery,
) -> Response {
    crm.respond(read_inner(&crm, id, query))
}

fn read_inner(
    crm: &Crm,
    id: Result<Path<String>, PathRejection>,
    query: RawQuery,
) -> Result<Response, ApiError> {
    let Path(id) = id.map_err(|err| ApiError::validation(format!("invalid object id: {err}")))?;
    let params = query_params(query)?;
    let property = params.id_property.as_deref().unwrap_or(OBJECT_ID);
    let mut store = crm.store();
    let record = store
        .find(property, &id)
        .ok_or_else(|| ApiError::not_found(&id))?;
    let object = SimplePublicObject::render(record, params.properties.iter().map(String::as_str));
    drop(store);
    Ok(object_response(StatusCode::OK, &object))
}

/// `GET /crm/v3/objects/contacts?limit=…&after=…&properties=…`.
pub(crate) async fn list(State(crm): State<Arc<Crm>>, query: RawQuery) -> Response {
    crm.respond(list_inner(&crm, query))
}

fn list_inner(crm: &Crm, query: RawQuery) -> Result<Response, ApiError> {
    let params = query_params(query)?;
    let limit = match params.limit.as_deref() {
        None => LIST_DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=LIST_MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "limit must be an integer from 1 to {LIST_MAX_LIMIT}, got '{raw}'"
                ))
            })?,
    };
    let from = match params.after.as_deref() {
        None | Some("") => 1,
        Some(raw) => raw.parse::<u64>().map_err(|_| {
            ApiError::validation(format!(
                "'after' must be the cursor from paging.next.after, got '{raw}'"
            ))
        })?,
    };
    let store = crm.store();
    let (page, next) = store.page(from, limit);
    let results = page
        .into_iter()
        .map(|r| SimplePublicObject::render(r, params.properties.iter().map(String::as_str)))
        .collect();
    let body = Collection {
        results,
        paging: next.map(Paging::after),
    };
    Ok(Json(body).into_response())
}
