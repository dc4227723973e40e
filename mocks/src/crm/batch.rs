//! Batch endpoints of each object type: `batch/create`, `batch/upsert`, `batch/read`,
//! `batch/update`, `batch/archive`, with HubSpot's 100-input cap and multi-status answers.
//!
//! Inputs are applied one by one in order, so a later input sees an earlier one (two creates with
//! the same unique value: the second conflicts). Outcome per batch: no errors → 201 (create) /
//! 200 (upsert, read); some errors → 207 with `errors` and `numErrors`; every write input failed →
//! the first failure's status with the `Error` body (HubSpot's 409 "Contact already exists").
//! `objectWriteTraceId` of a write input is echoed on its result and in its error's context, so a
//! client can tell which inputs failed.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::errors::ApiError;
use super::store::{Conflict, OBJECT_ID, Record};
use super::wire::{
    BatchInput, BatchReadRequest, BatchResponse, CreateInput, ReadInput, SimplePublicObject, Text,
    UpsertInput, json_response, parse_body,
};
use super::{Crm, ObjectType};

const MAX_INPUTS: usize = 100;

fn check_size(n: usize) -> Result<(), ApiError> {
    if n > MAX_INPUTS {
        return Err(ApiError::validation(format!(
            "Batch operations are limited to {MAX_INPUTS} inputs; got {n}. Split the batch."
        )));
    }
    Ok(())
}

fn conflict_error(conflict: Conflict, trace: &Option<String>) -> ApiError {
    let err = ApiError::conflict(conflict.existing_id);
    match trace {
        Some(trace) => err.with_context("objectWriteTraceId", vec![trace.clone()]),
        None => err,
    }
}

/// A write batch's results and per-input errors, in input order.
#[derive(Default)]
struct Answers {
    results: Vec<SimplePublicObject>,
    errors: Vec<ApiError>,
}

/// Books one write input's outcome (`None`: no live record has its id): the record as written,
/// with the input's trace id and, for an upsert, whether it was new; or the input's error.
fn book<'a>(
    outcome: Option<Result<(&Record, Option<bool>), Conflict>>,
    requested: impl IntoIterator<Item = &'a str>,
    input_id: &str,
    trace: Option<String>,
    answers: &mut Answers,
) {
    match outcome {
        Some(Ok((record, new))) => {
            let mut object = SimplePublicObject::render(record, requested);
            object.object_write_trace_id = trace;
            object.new = new;
            answers.results.push(object);
        }
        Some(Err(conflict)) => answers.errors.push(conflict_error(conflict, &trace)),
        None => answers.errors.push(ApiError::not_found(input_id)),
    }
}

/// The answer of a write batch, per the rules in the file header.
fn write_outcome(
    ok: StatusCode,
    clock: crate::Clock,
    started: SystemTime,
    results: Vec<SimplePublicObject>,
    errors: Vec<ApiError>,
) -> Result<Response, ApiError> {
    if results.is_empty()
        && let Some(first) = errors.first()
    {
        return Err(first.clone());
    }
    let status = if errors.is_empty() {
        ok
    } else {
        StatusCode::MULTI_STATUS
    };
    let size_hint = 256
        + results
            .iter()
            .map(SimplePublicObject::size_hint)
            .sum::<usize>();
    let answer = BatchResponse::complete(started, clock.wall_now(), results, &errors);
    Ok(json_response(status, &answer, size_hint))
}

/// `POST /crm/v3/objects/{type}/batch/create`.
pub(crate) async fn create<const O: u8>(State(crm): State<Arc<Crm>>, body: Bytes) -> Response {
    crm.respond(create_inner(&crm, ObjectType::of(O), &body))
}

fn create_inner(crm: &Crm, object: ObjectType, body: &[u8]) -> Result<Response, ApiError> {
    let started = crm.clock().wall_now();
    let batch: BatchInput<CreateInput> = parse_body(body)?;
    check_size(batch.inputs.len())?;
    let mut results = Vec::with_capacity(batch.inputs.len());
    let mut errors = Vec::new();
    let mut store = crm.store_of(object);
    for input in batch.inputs {
        match store.create(&input.properties) {
            Ok(record) => {
                let mut object = SimplePublicObject::render_all(record);
                object.object_write_trace_id = input.object_write_trace_id;
                results.push(object);
            }
            Err(conflict) => errors.push(conflict_error(conflict, &input.object_write_trace_id)),
        }
    }
    drop(store);
    write_outcome(StatusCode::CREATED, crm.clock(), started, results, errors)
}

/// `POST /crm/v3/objects/{type}/batch/upsert`: `idProperty` defaults to the object id, which
/// can only update (an unknown object id is a per-input 404).
pub(crate) async fn upsert<const O: u8>(State(crm): State<Arc<Crm>>, body: Bytes) -> Response {
    crm.respond(upsert_inner(&crm, ObjectType::of(O), &body))
}

fn upsert_inner(crm: &Crm, object: ObjectType, body: &[u8]) -> Result<Response, ApiError> {
    let started = crm.clock().wall_now();
    let batch: BatchInput<UpsertInput> = parse_body(body)?;
    check_size(batch.inputs.len())?;
    let mut answers = Answers {
        results: Vec::with_capacity(batch.inputs.len()),
        errors: Vec::new(),
    };
    let mut store = crm.store_of(object);
    // Lock contention: upserting a record written less than `lock_for` ago locks the request.
    if let Some(lock_for) = crm.config().lock_for {
        let now = crm.now();
        let locked = batch.inputs.iter().any(|input| {
            let id_property = input.id_property.as_deref().unwrap_or(OBJECT_ID);
            store
                .find(id_property, &input.id)
                .is_some_and(|r| now.saturating_duration_since(r.updated_mono) < lock_for)
        });
        if locked {
            return Err(ApiError::locked(lock_for));
        }
    }
    for input in batch.inputs {
        let id_property = input.id_property.as_deref().unwrap_or(OBJECT_ID);
        let requested: Vec<&str> = input
            .properties
            .keys()
            .map(Text::as_str)
            .chain([id_property])
            .collect();
        let existing = store.find(id_property, &input.id).map(|r| r.id);
        let outcome = match existing {
            Some(id) => store
                .update(id, &input.properties)
                .map(|r| r.map(|record| (record, false))),
            None if id_property == OBJECT_ID => None,
            None => {
                let mut properties = input.properties.clone();
                properties.insert(
                    Text(id_property.into()),
                    Some(Text(input.id.as_str().into())),
                );
                Some(store.create(&properties).map(|record| (record, true)))
            }
        };
        let outcome = outcome.map(|r| r.map(|(record, new)| (record, Some(new))));
        book(
            outcome,
            requested,
            &input.id,
            input.object_write_trace_id,
            &mut answers,
        );
    }
    drop(store);
    let Answers { results, errors } = answers;
    write_outcome(StatusCode::OK, crm.clock(), started, results, errors)
}

/// `POST /crm/v3/objects/{type}/batch/read`: found records in input order (each once); missing
/// ids make it a 207 with one `OBJECT_NOT_FOUND` error listing them.
pub(crate) async fn read<const O: u8>(State(crm): State<Arc<Crm>>, body: Bytes) -> Response {
    crm.respond(read_inner(&crm, ObjectType::of(O), &body))
}

fn read_inner(crm: &Crm, object: ObjectType, body: &[u8]) -> Result<Response, ApiError> {
    let started = crm.clock().wall_now();
    let request: BatchReadRequest = parse_body(body)?;
    check_size(request.inputs.len())?;
    let id_property = request.id_property.as_deref().unwrap_or(OBJECT_ID);
    let mut seen = BTreeSet::new();
    let mut results = Vec::new();
    let mut missing = Vec::new();
    let mut store = crm.store_of(object);
    for input in &request.inputs {
        if !seen.insert(input.id.as_str()) {
            continue;
        }
        match store.find(id_property, &input.id) {
            Some(record) => results.push(SimplePublicObject::render(
                record,
                request.properties.iter().map(String::as_str),
            )),
            None => missing.push(input.id.clone()),
        }
    }
    drop(store);
    let errors = if missing.is_empty() {
        Vec::new()
    } else {
        vec![
            ApiError::new(
                StatusCode::NOT_FOUND,
                "OBJECT_NOT_FOUND",
                format!(
                    "Could not get some {} objects, they may be deleted or not exist. Check that ids are valid.",
                    object.upper()
                ),
            )
            .with_context("ids", missing),
        ]
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::MULTI_STATUS
    };
    Ok((
        status,
        Json(BatchResponse::complete(
            started,
            crm.clock().wall_now(),
            results,
            &errors,
        )),
    )
        .into_response())
}

/// `POST /crm/v3/objects/{type}/batch/update`: inputs `{id, idProperty?, properties}`; an id no
/// live record has is a per-input 404 (207 when others succeed).
pub(crate) async fn update<const O: u8>(State(crm): State<Arc<Crm>>, body: Bytes) -> Response {
    crm.respond(update_inner(&crm, ObjectType::of(O), &body))
}

fn update_inner(crm: &Crm, object: ObjectType, body: &[u8]) -> Result<Response, ApiError> {
    let started = crm.clock().wall_now();
    let batch: BatchInput<UpsertInput> = parse_body(body)?;
    check_size(batch.inputs.len())?;
    let mut answers = Answers {
        results: Vec::with_capacity(batch.inputs.len()),
        errors: Vec::new(),
    };
    let mut store = crm.store_of(object);
    for input in batch.inputs {
        let id_property = input.id_property.as_deref().unwrap_or(OBJECT_ID);
        let existing = store.find(id_property, &input.id).map(|r| r.id);
        let outcome = existing
            .and_then(|id| store.update(id, &input.properties))
            .map(|r| r.map(|record| (record, None)));
        let requested = input.properties.keys().map(Text::as_str);
        book(
            outcome,
            requested,
            &input.id,
            input.object_write_trace_id,
            &mut answers,
        );
    }
    drop(store);
    let Answers { results, errors } = answers;
    write_outcome(StatusCode::OK, crm.clock(), started, results, errors)
}

/// `POST /crm/v3/objects/{type}/batch/archive`: inputs `{id}`; 204, ids that name no live record
/// included, as the vendor answers.
pub(crate) async fn archive<const O: u8>(State(crm): State<Arc<Crm>>, body: Bytes) -> Response {
    crm.respond(archive_inner(&crm, ObjectType::of(O), &body))
}

fn archive_inner(crm: &Crm, object: ObjectType, body: &[u8]) -> Result<Response, ApiError> {
    let batch: BatchInput<ReadInput> = parse_body(body)?;
    check_size(batch.inputs.len())?;
    let mut store = crm.store_of(object);
    for input in &batch.inputs {
        if let Ok(id) = input.id.parse::<u64>() {
            store.archive(id);
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
