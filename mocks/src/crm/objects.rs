//! Single-object endpoints of each object type (`/crm/v3/objects/{type}`): create (`POST`),
//! read (`GET /{id}`, optionally by `idProperty`), update (`PATCH /{id}`, same), archive
//! (`DELETE /{id}`: 204 whether or not the record exists, as the vendor answers) and list (`GET`,
//! cursor paging).
//!
//! The list cursor is the next id to return, as a decimal string. Because ids only grow and an
//! archived record keeps its slot, a client that keeps the last `after` it got (or, on the last
//! page, the id after the last result) sees every later record exactly once: the relay tails the
//! store so.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::store::OBJECT_ID;
use super::wire::{
    Collection, CreateInput, Paging, QueryParams, SimplePublicObject, Text, json_bytes,
    json_response, object_response, parse_body, record_json,
};
use super::{Crm, ObjectType};

const LIST_DEFAULT_LIMIT: usize = 10;
const LIST_MAX_LIMIT: usize = 100;

type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;

pub(crate) fn query_params(query: RawQuery) -> Result<QueryParams, ApiError> {
    let Query(pairs) =
        query.map_err(|err| ApiError::validation(format!("invalid query string: {err}")))?;
    Ok(QueryParams::from_pairs(pairs))
}

/// `POST /crm/v3/objects/{type}`.
pub(crate) async fn create<const O: u8>(State(crm): State<Arc<Crm>>, body: Bytes) -> Response {
    crm.respond(create_inner(&crm, ObjectType::of(O), &body))
}

fn create_inner(crm: &Crm, object: ObjectType, body: &[u8]) -> Result<Response, ApiError> {
    let input: CreateInput = parse_body(body)?;
    let mut store = crm.store_of(object);
    let record = store
        .create(&input.properties)
        .map_err(|conflict| ApiError::conflict(conflict.existing_id))?;
    let body = record_json(record);
    drop(store);
    Ok(json_bytes(StatusCode::CREATED, body))
}

type RawId = Result<Path<String>, PathRejection>;

fn object_id(id: RawId) -> Result<String, ApiError> {
    let Path(id) = id.map_err(|err| ApiError::validation(format!("invalid object id: {err}")))?;
    Ok(id)
}

/// `GET /crm/v3/objects/{type}/{id}?properties=…&idProperty=…`.
pub(crate) async fn read<const O: u8>(
    State(crm): State<Arc<Crm>>,
    id: RawId,
    query: RawQuery,
) -> Response {
    crm.respond(read_inner(&crm, ObjectType::of(O), id, query))
}

fn read_inner(
    crm: &Crm,
    object: ObjectType,
    id: RawId,
    query: RawQuery,
) -> Result<Response, ApiError> {
    let id = object_id(id)?;
    let params = query_params(query)?;
    let property = params.id_property.as_deref().unwrap_or(OBJECT_ID);
    let mut store = crm.store_of(object);
    let record = store
        .find(property, &id)
        .ok_or_else(|| ApiError::not_found(&id))?;
    let object = SimplePublicObject::render(record, params.properties.iter().map(String::as_str));
    drop(store);
    Ok(object_response(StatusCode::OK, &object))
}

/// `PATCH /crm/v3/objects/{type}/{id}?idProperty=…` with `{"properties": {…}}`: 200 with the
/// record, 404 when no live record has that id, 409 when a unique value is taken.
pub(crate) async fn update<const O: u8>(
    State(crm): State<Arc<Crm>>,
    id: RawId,
    query: RawQuery,
    body: Bytes,
) -> Response {
    crm.respond(update_inner(&crm, ObjectType::of(O), id, query, &body))
}

fn update_inner(
    crm: &Crm,
    object: ObjectType,
    id: RawId,
    query: RawQuery,
    body: &[u8],
) -> Result<Response, ApiError> {
    let id = object_id(id)?;
    let params = query_params(query)?;
    let input: CreateInput = parse_body(body)?;
    let property = params.id_property.as_deref().unwrap_or(OBJECT_ID);
    let mut store = crm.store_of(object);
    let found = store
        .find(property, &id)
        .map(|r| r.id)
        .ok_or_else(|| ApiError::not_found(&id))?;
    let record = store
        .update(found, &input.properties)
        .ok_or_else(|| ApiError::not_found(&id))?
        .map_err(|conflict| ApiError::conflict(conflict.existing_id))?;
    let object = SimplePublicObject::render(record, input.properties.keys().map(Text::as_str));
    Ok(json_response(StatusCode::OK, &object, object.size_hint()))
}

/// `DELETE /crm/v3/objects/{type}/{id}?idProperty=…`: archives the record; 204 whether or not
/// it existed.
pub(crate) async fn archive<const O: u8>(
    State(crm): State<Arc<Crm>>,
    id: RawId,
    query: RawQuery,
) -> Response {
    crm.respond(archive_inner(&crm, ObjectType::of(O), id, query))
}

fn archive_inner(
    crm: &Crm,
    object: ObjectType,
    id: RawId,
    query: RawQuery,
) -> Result<Response, ApiError> {
    let id = object_id(id)?;
    let params = query_params(query)?;
    let property = params.id_property.as_deref().unwrap_or(OBJECT_ID);
    let mut store = crm.store_of(object);
    if let Some(found) = store.find(property, &id).map(|r| r.id) {
        store.archive(found);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /crm/v3/objects/{type}?limit=…&after=…&properties=…`.
pub(crate) async fn list<const O: u8>(State(crm): State<Arc<Crm>>, query: RawQuery) -> Response {
    crm.respond(list_inner(&crm, ObjectType::of(O), query))
}

fn list_inner(crm: &Crm, object: ObjectType, query: RawQuery) -> Result<Response, ApiError> {
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
    let store = crm.store_of(object);
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
