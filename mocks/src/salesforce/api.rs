//! The REST resources under `/services/data/vNN.N/`, as one synchronous dispatcher over the
//! org's records: the HTTP handler and the composite resource both call [`Org::dispatch`], so a
//! composite subrequest behaves exactly like the same request sent alone.
//!
//! Resources: `limits`, `sobjects` (describe list), `sobjects/{Object}` (create),
//! `sobjects/{Object}/{id}` (read, update, delete), `sobjects/{Object}/{ExtField}/{value}`
//! (read, upsert, delete by external id), `composite/sobjects[/{Object}[/{ExtField}]]`
//! (collections), `composite`, `query`, `queryAll`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::errors::{SfError, rolled_back};
use super::records::{Tx, Upserted, external_id, record_number};
use super::schema::{Field, SObject};
use super::{Org, ids};

/// Records per sObject Collections request.
pub(crate) const COLLECTION_MAX: usize = 200;
/// Subrequests per composite request.
pub(crate) const COMPOSITE_MAX: usize = 25;

/// One request to a resource, already authenticated and admitted.
pub(crate) struct Call<'a> {
    pub(crate) method: &'a Method,
    /// `v60.0`.
    pub(crate) version: &'a str,
    /// The path after `/services/data/{version}/`.
    pub(crate) path: &'a str,
    pub(crate) params: &'a [(String, String)],
    pub(crate) body: &'a [u8],
}

/// A resource's successful answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Option<Value>,
    pub(crate) location: Option<String>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Reply {
            status: StatusCode::OK,
            body: Some(body),
            location: None,
        }
    }

    fn no_content() -> Self {
        Reply {
            status: StatusCode::NO_CONTENT,
            body: None,
            location: None,
        }
    }
}

fn param<'a>(call: &'a Call<'_>, name: &str) -> Option<&'a str> {
    call.params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn json_body(body: &[u8]) -> Result<Value, SfError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(SfError::json("No content to map due to end-of-input"));
    }
    serde_json::from_slice(body)
        .map_err(|e| SfError::json(format!("Unexpected character in JSON body: {e}")))
}

fn object(name: &str) -> Result<SObject, SfError> {
    SObject::parse(name).ok_or_else(|| {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!(
                "The requested resource does not exist: sObject type '{name}' is not supported."
            ),
        )
    })
}

fn fields(object: SObject, list: Option<&str>) -> Result<Option<Vec<Field>>, SfError> {
    let Some(list) = list.filter(|l| !l.trim().is_empty()) else {
        return Ok(None);
    };
    list.split(',')
        .map(str::trim)
        .map(|name| {
            object.field(name).ok_or_else(|| {
                SfError::bad(
                    "INVALID_FIELD",
                    format!("No such column '{name}' on entity '{}'.", object.name()),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `GET` of one record, with the `fields` parameter's fields or all of them.
fn read(tx: &Tx<'_>, call: &Call<'_>, object: SObject, id: u64) -> Result<Reply, SfError> {
    let record = tx
        .stores
        .of(object)
        .get(id)
        .ok_or_else(SfError::not_found)?;
    let fields = fields(object, param(call, "fields"))?;
    Ok(Reply::ok(object.render(
        call.version,
        record,
        fields.as_deref(),
    )))
}

/// More than [`COLLECTION_MAX`] records or ids in one collections request.
fn too_many() -> SfError {
    SfError::bad(
        "EXCEEDED_ID_LIMIT",
        format!(
            "record limit reached. cannot submit more than {COLLECTION_MAX} records into this call"
        ),
    )
}

fn save_ok(id: String) -> Value {
    json!({ "id": id, "success": true, "errors": [] })
}

fn save_failed(error: &SfError) -> Value {
    json!({ "success": false, "errors": [error.save_error()] })
}

fn not_allowed(call: &Call<'_>) -> SfError {
    SfError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!(
            "HTTP Method '{}' not allowed. Allowed are GET,PATCH,POST,DELETE as the resource permits",
            call.method
        ),
    )
}

/// What a collections request body carries.
struct Batch {
    all_or_none: bool,
    records: Vec<Value>,
}

fn batch(body: &[u8]) -> Result<Batch, SfError> {
    let body = json_body(body)?;
    let records = body
        .get("records")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| {
            SfError::json("The request body must be an object with a 'records' array")
        })?;
    if records.len() > COLLECTION_MAX {
        return Err(too_many());
    }
    Ok(Batch {
        all_or_none: body
            .get("allOrNone")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        records,
    })
}

/// The object named by a record's `attributes.type`.
fn record_type(record: &Value) -> Result<SObject, SfError> {
    let name = record
        .pointer("/attributes/type")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            SfError::bad(
                "INVALID_TYPE",
                "Must specify a type in the attributes of each record",
            )
        })?;
    SObject::parse(name).ok_or_else(|| {
        SfError::bad(
            "INVALID_TYPE",
            format!("sObject type '{name}' is not supported."),
        )
    })
}

impl Org {
    /// Answers one call inside `tx`.
    pub(crate) fn dispatch(&self, tx: &mut Tx<'_>, call: &Call<'_>) -> Result<Reply, SfError> {
        let segments: Vec<&str> = call.path.split('/').filter(|s| !s.is_empty()).collect();
        let m = call.method;
        match segments.as_slice() {
            ["limits"] if m == Method::GET => Ok(Reply::ok(self.limits_body())),
            ["sobjects"] if m == Method::GET => Ok(Reply::ok(describe_global(call.version))),
            ["sobjects", name] => {
                let object = object(name)?;
                match *m {
                    Method::POST => {
                        let id = tx.create(object, &json_body(call.body)?)?;
                        Ok(Reply {
                            status: StatusCode::CREATED,
                            body: Some(save_ok(ids::encode(object.prefix(), id))),
                            location: Some(object.url(call.version, id)),
                        })
                    }
                    Method::GET => Ok(Reply::ok(json!({
                        "objectDescribe": { "name": object.name(), "keyPrefix": object.prefix() },
                        "recentItems": [],
                    }))),
                    _ => Err(not_allowed(call)),
                }
            }
            ["sobjects", name, id] => {
                let object = object(name)?;
                let id = record_number(object, id)?;
                match *m {
                    Method::GET => read(tx, call, object, id),
                    Method::PATCH => {
                        tx.update(object, id, &json_body(call.body)?)?;
                        Ok(Reply::no_content())
                    }
                    Method::DELETE => {
                        tx.delete(object, id)?;
                        Ok(Reply::no_content())
                    }
                    _ => Err(not_allowed(call)),
                }
            }
            ["sobjects", name, field, value] => {
                self.by_external_id(tx, call, object(name)?, field, value)
            }
            ["composite", "sobjects"] => self.collection_write(tx, call, None),
            ["composite", "sobjects", name] if m == Method::GET || m == Method::POST => {
                self.collection_read(tx, call, object(name)?)
            }
            ["composite", "sobjects", name, field] if m == Method::PATCH => {
                self.collection_write(tx, call, Some((object(name)?, *field)))
            }
            ["composite"] if m == Method::POST => self.composite(tx, call),
            ["query" | "queryAll"] if m == Method::GET => {
                let all = segments[0] == "queryAll";
                let q = param(call, "q").ok_or_else(|| {
                    SfError::bad(
                        "MALFORMED_QUERY",
                        "A query string must be provided in the 'q' parameter",
                    )
                })?;
                let body =
                    self.cursors()
                        .run(tx.stores, call.version, q, all, self.cfg.query_page)?;
                Ok(Reply::ok(body))
            }
            ["query" | "queryAll", locator] if m == Method::GET => {
                let all = segments[0] == "queryAll";
                let body = self.cursors().more(
                    tx.stores,
                    call.version,
                    locator,
                    all,
                    self.cfg.query_page,
                )?;
                Ok(Reply::ok(body))
            }
            _ => Err(SfError::not_found()),
        }
    }

    fn by_external_id(
        &self,
        tx: &mut Tx<'_>,
        call: &Call<'_>,
        object: SObject,
        field: &str,
        value: &str,
    ) -> Result<Reply, SfError> {
        let ext = external_id(object, field)?;
        match *call.method {
            Method::PATCH | Method::POST => {
                let body = json_body(call.body)?;
                let outcome = tx.upsert(object, call.version, &ext.name, value, &body)?;
                let (body, created, id) = upserted(object, outcome);
                Ok(Reply {
                    status: if created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    },
                    body: Some(body),
                    location: created.then(|| object.url(call.version, id)),
                })
            }
            Method::GET | Method::DELETE => {
                let found = tx.matches(object, &ext.name, value);
                let id = match found.as_slice() {
                    [] => return Err(SfError::not_found()),
                    [id] => *id,
                    many => {
                        return Err(SfError::multiple(
                            many.iter()
                                .map(|id| object.url(call.version, *id))
                                .collect(),
                        ));
                    }
                };
                if call.method == Method::DELETE {
                    tx.delete(object, id)?;
                    return Ok(Reply::no_content());
                }
                read(tx, call, object, id)
            }
            _ => Err(not_allowed(call)),
        }
    }

    /// `POST` (create), `PATCH` (update), `DELETE ?ids=` on `/composite/sobjects`, and `PATCH
    /// /composite/sobjects/{Object}/{ExtField}` (upsert): per-record results; with `allOrNone`,
    /// one failure rolls every record back.
    fn collection_write(
        &self,
        tx: &mut Tx<'_>,
        call: &Call<'_>,
        upsert: Option<(SObject, &str)>,
    ) -> Result<Reply, SfError> {
        let (all_or_none, items): (bool, Vec<Value>) = if call.method == Method::DELETE {
            let ids: Vec<Value> = param(call, "ids")
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| json!(s))
                .collect();
            if ids.len() > COLLECTION_MAX {
                return Err(too_many());
            }
            (param(call, "allOrNone") == Some("true"), ids)
        } else {
            let batch = batch(call.body)?;
            (batch.all_or_none, batch.records)
        };
        let ext = upsert
            .map(|(object, field)| external_id(object, field))
            .transpose()?;
        let savepoint = tx.savepoint();
        let mut results = Vec::with_capacity(items.len());
        let mut failed = false;
        for item in &items {
            let outcome: Result<Value, SfError> = match (call.method.clone(), upsert, &ext) {
                (Method::POST, None, _) => record_type(item)
                    .and_then(|object| tx.create(object, item).map(|id| (object, id)))
                    .map(|(object, id)| save_ok(ids::encode(object.prefix(), id))),
                (Method::PATCH, None, _) => record_type(item).and_then(|object| {
                    let raw = item.get("Id").and_then(Value::as_str).ok_or_else(|| {
                        SfError::bad("MISSING_ARGUMENT", "Id not specified in an update call")
                    })?;
                    let id = record_number(object, raw)?;
                    let mut body = item.clone();
                    if let Some(map) = body.as_object_mut() {
                        map.remove("Id");
                    }
                    tx.update(object, id, &body)?;
                    Ok(save_ok(ids::encode(object.prefix(), id)))
                }),
                (Method::PATCH, Some((object, _)), Some(ext)) => {
                    let value = item
                        .get(&ext.name)
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    match value {
                        None => Err(SfError::bad(
                            "MISSING_ARGUMENT",
                            format!("{} not specified", ext.name),
                        )),
                        Some(value) => {
                            match tx.upsert(object, call.version, &ext.name, &value, item) {
                                Ok(outcome) => Ok(upserted(object, outcome).0),
                                Err(e) if e.status == StatusCode::MULTIPLE_CHOICES => {
                                    Err(SfError::bad(
                                        "DUPLICATE_EXTERNAL_ID",
                                        format!(
                                            "{}: more than one record found for external id field: {:?}",
                                            ext.name, e.choices
                                        ),
                                    ))
                                }
                                Err(e) => Err(e),
                            }
                        }
                    }
                }
                (Method::DELETE, None, _) => {
                    let raw = item.as_str().unwrap_or_default();
                    let object = SObject::ALL
                        .into_iter()
                        .find(|o| raw.starts_with(o.prefix()));
                    match object {
                        None => Err(SfError::bad("MALFORMED_ID", format!("malformed id {raw}"))),
                        Some(object) => record_number(object, raw)
                            .and_then(|id| tx.delete(object, id).map(|()| id))
                            .map(|id| save_ok(ids::encode(object.prefix(), id))),
                    }
                }
                _ => return Err(not_allowed(call)),
            };
            results.push(outcome.unwrap_or_else(|e| {
                failed = true;
                save_failed(&e)
            }));
        }
        if all_or_none && failed {
            tx.rollback_to(savepoint);
            for result in &mut results {
                if result["success"] == json!(true) {
                    *result =
                        json!({ "id": result["id"], "success": false, "errors": [rolled_back()] });
                }
            }
        }
        Ok(Reply::ok(Value::Array(results)))
    }

    /// `GET /composite/sobjects/{Object}?ids=…&fields=…` (or `POST` with `{ids, fields}`).
    fn collection_read(
        &self,
        tx: &mut Tx<'_>,
        call: &Call<'_>,
        object: SObject,
    ) -> Result<Reply, SfError> {
        let (ids_list, field_list): (Vec<String>, String) = if call.method == Method::POST {
            let body = json_body(call.body)?;
            let ids = body["ids"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let fields = body["fields"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            (ids, fields)
        } else {
            let ids = param(call, "ids")
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            (ids, param(call, "fields").unwrap_or_default().to_string())
        };
        if ids_list.len() > COLLECTION_MAX {
            return Err(too_many());
        }
        let fields = fields(object, Some(&field_list))?.ok_or_else(|| {
            SfError::bad("MISSING_ARGUMENT", "The 'fields' parameter is required")
        })?;
        let store = tx.stores.of(object);
        let records = ids_list
            .iter()
            .map(|raw| {
                ids::decode(object.prefix(), raw)
                    .and_then(|id| store.get(id))
                    .map_or(Value::Null, |r| {
                        object.render(call.version, r, Some(&fields))
                    })
            })
            .collect();
        Ok(Reply::ok(Value::Array(records)))
    }

    /// `POST /composite`: up to 25 subrequests in order, each able to use an earlier one's
    /// result through `@{referenceId.field}`; counted as one API call. With `allOrNone`, a failed
    /// subrequest rolls everything back and every other subrequest answers `PROCESSING_HALTED`.
    fn composite(&self, tx: &mut Tx<'_>, call: &Call<'_>) -> Result<Reply, SfError> {
        let body = json_body(call.body)?;
        let requests = body["compositeRequest"]
            .as_array()
            .cloned()
            .ok_or_else(|| {
                SfError::json("The request body must be an object with a 'compositeRequest' array")
            })?;
        if requests.len() > COMPOSITE_MAX {
            return Err(SfError::bad(
                "INVALID_API_INPUT",
                format!(
                    "Composite request may contain at most {COMPOSITE_MAX} subrequests, got {}",
                    requests.len()
                ),
            ));
        }
        let all_or_none = body["allOrNone"].as_bool().unwrap_or(false);
        let savepoint = tx.savepoint();
        let mut done: Vec<(String, Value)> = Vec::new();
        let mut responses = Vec::new();
        let mut failed_at = None;
        for (i, request) in requests.iter().enumerate() {
            let reference = request["referenceId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if failed_at.is_some() && all_or_none {
                responses.push(halted(&reference));
                continue;
            }
            let (status, body, headers) = match self.subrequest(tx, call.version, request, &done) {
                Ok(reply) => {
                    let headers = reply
                        .location
                        .map_or(json!({}), |l| json!({ "Location": l }));
                    (reply.status, reply.body, headers)
                }
                Err(e) => (e.status, Some(e.body()), json!({})),
            };
            if status.is_client_error()
                || status.is_server_error()
                || status == StatusCode::MULTIPLE_CHOICES
            {
                failed_at.get_or_insert(i);
            } else if let Some(body) = &body {
                done.push((reference.clone(), body.clone()));
            }
            responses.push(json!({
                "body": body.unwrap_or(Value::Null),
                "httpHeaders": headers,
                "httpStatusCode": status.as_u16(),
                "referenceId": reference,
            }));
        }
        if let (Some(failed), true) = (failed_at, all_or_none) {
            tx.rollback_to(savepoint);
            for (i, response) in responses.iter_mut().enumerate() {
                if i < failed {
                    let reference = response["referenceId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string();
                    *response = halted(&reference);
                }
            }
        }
        Ok(Reply::ok(json!({ "compositeResponse": responses })))
    }

    fn subrequest(
        &self,
        tx: &mut Tx<'_>,
        version: &str,
        request: &Value,
        done: &[(String, Value)],
    ) -> Result<Reply, SfError> {
        let method: Method = request["method"]
            .as_str()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| SfError::bad("INVALID_API_INPUT", "Each subrequest needs a 'method'"))?;
        let url = request["url"]
            .as_str()
            .ok_or_else(|| SfError::bad("INVALID_API_INPUT", "Each subrequest needs a 'url'"))?;
        let url = resolve_references(url, done)?;
        let (path, query) = url.split_once('?').unwrap_or((&url, ""));
        let prefix = format!("/services/data/{version}/");
        let rest = path.strip_prefix(&prefix).ok_or_else(|| {
            SfError::bad(
                "INVALID_API_INPUT",
                format!("Subrequest url must start with {prefix}: {path}"),
            )
        })?;
        if rest == "composite" {
            return Err(SfError::bad(
                "INVALID_API_INPUT",
                "A composite subrequest cannot be a composite request",
            ));
        }
        let body = match request.get("body") {
            None | Some(Value::Null) => Vec::new(),
            Some(body) => {
                let text = resolve_references(&body.to_string(), done)?;
                text.into_bytes()
            }
        };
        let params = super::form_pairs(query);
        self.dispatch(
            tx,
            &Call {
                method: &method,
                version,
                path: rest,
                params: &params,
                body: &body,
            },
        )
    }
}

/// An upsert's result body (`{id, success, errors, created}`), whether it created, and the id.
fn upserted(object: SObject, outcome: Upserted) -> (Value, bool, u64) {
    let (id, created) = match outcome {
        Upserted::Created(id) => (id, true),
        Upserted::Updated(id) => (id, false),
    };
    let body = json!({
        "id": ids::encode(object.prefix(), id),
        "success": true,
        "errors": [],
        "created": created,
    });
    (body, created, id)
}

fn halted(reference: &str) -> Value {
    json!({
        "body": [{
            "errorCode": "PROCESSING_HALTED",
            "message": "The transaction was rolled back since another operation in the same transaction failed.",
        }],
        "httpHeaders": {},
        "httpStatusCode": 400,
        "referenceId": reference,
    })
}

/// Replaces every `@{ref.path}` in `text` with the value at `path` (dots, and `[n]` for array
/// items) in the body of the earlier subrequest `ref`.
fn resolve_references(text: &str, done: &[(String, Value)]) -> Result<String, SfError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("@{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            SfError::bad(
                "INVALID_API_INPUT",
                format!("Unterminated reference in: {text}"),
            )
        })?;
        let expression = &after[..end];
        let invalid = || {
            SfError::bad(
                "PROCESSING_HALTED",
                format!(
                    "Invalid reference specified. No value for {expression} found in the results of earlier subrequests."
                ),
            )
        };
        let (reference, path) = expression.split_once('.').ok_or_else(invalid)?;
        let mut node = done
            .iter()
            .find(|(r, _)| r == reference)
            .map(|(_, b)| b)
            .ok_or_else(invalid)?;
        for step in path.split('.') {
            let (key, index) = match step.split_once('[') {
                Some((key, idx)) => (key, idx.trim_end_matches(']').parse::<usize>().ok()),
                None => (step, None),
            };
            node = node.get(key).ok_or_else(invalid)?;
            if let Some(i) = index {
                node = node.get(i).ok_or_else(invalid)?;
            }
        }
        match node {
            Value::String(s) => out.push_str(s),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn describe_global(version: &str) -> Value {
    let sobjects: Vec<Value> = SObject::ALL
        .iter()
        .map(|o| {
            json!({
                "name": o.name(),
                "label": o.name(),
                "keyPrefix": o.prefix(),
                "createable": true,
                "updateable": true,
                "deletable": true,
                "queryable": true,
                "urls": { "sobject": format!("/services/data/{version}/sobjects/{}", o.name()) },
            })
        })
        .collect();
    json!({ "encoding": "UTF-8", "maxBatchSize": COLLECTION_MAX, "sobjects": sobjects })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_resolve_paths_and_refuse_unknown_ones() {
        let done = vec![
            ("acct".to_string(), json!({"id": "001x", "success": true})),
            ("q".to_string(), json!({"records": [{"Id": "003y"}]})),
        ];
        assert_eq!(
            resolve_references("/sobjects/Account/@{acct.id}?x=@{q.records[0].Id}", &done).unwrap(),
            "/sobjects/Account/001x?x=003y"
        );
        assert_eq!(
            resolve_references("{\"ok\":@{acct.success}}", &done).unwrap(),
            "{\"ok\":true}"
        );
        assert_eq!(
            resolve_references("@{nope.id}", &done).unwrap_err().code,
            "PROCESSING_HALTED"
        );
        assert_eq!(
            resolve_references("@{acct.id", &done).unwrap_err().code,
            "INVALID_API_INPUT"
        );
    }
}
