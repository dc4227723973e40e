//! JSON shapes of the contacts API, named after the vendor OpenAPI schemas
//! (`SimplePublicObject`, `BatchResponseSimplePublicObject[WithErrors]`, …), and the parsing of
//! request bodies and query strings into them.
//!
//! Requests are parsed by hand from bytes rather than with axum's `Json` extractor so that every
//! malformed body gets a HubSpot `VALIDATION_ERROR`, never axum's plain-text rejection. Unknown
//! request fields are ignored, as the vendor does (`associations` and the like).

use std::borrow::Cow;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::errors::ApiError;
use super::store::{DEFAULT_PROPERTIES, Fields, Input, Name, Record, Stamp, names, timestamp};

/// `SimplePublicObject`, plus `new` when it is an item of an upsert response
/// (`SimplePublicUpsertObject`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SimplePublicObject {
    #[serde(serialize_with = "id_string")]
    pub(crate) id: u64,
    pub(crate) properties: Shown,
    #[serde(serialize_with = "stamp")]
    pub(crate) created_at: SystemTime,
    #[serde(serialize_with = "stamp")]
    pub(crate) updated_at: SystemTime,
    pub(crate) archived: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) object_write_trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) new: Option<bool>,
}

/// The properties an answer shows: a copy of the record's [`Fields`] (two allocations, not two
/// per property) and which of them to show, written as a JSON object sorted by name.
#[derive(Debug)]
pub(crate) struct Shown {
    fields: Fields,
    /// Set in `fields`, unique, sorted by name.
    names: Vec<(&'static str, Name)>,
}

impl Serialize for Shown {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.names
                .iter()
                .filter_map(|(key, name)| Some((*key, self.fields.get(*name)?))),
        )
    }
}

/// A record id as the vendor writes it: a string of digits.
fn id_string<S: serde::Serializer>(id: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(id)
}

/// A timestamp as RFC 3339 with milliseconds.
fn stamp<S: serde::Serializer>(t: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(Stamp::of(*t).as_str())
}

/// True when JSON needs no escape for `s` (no quote, backslash or control character): nearly
/// every value of a record, copied as it is. Branch-free within 16-byte chunks, so it
/// vectorises.
fn plain(s: &str) -> bool {
    let needs_escape = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let (chunks, rest) = s.as_bytes().as_chunks::<16>();
    for chunk in chunks {
        if chunk.iter().fold(false, |any, &b| any | needs_escape(b)) {
            return false;
        }
    }
    !rest.iter().any(|&b| needs_escape(b))
}

/// The first eight bytes of `s` as one number (zero-padded): ordering two names by it and then,
/// when equal, by the whole text is their text order, and most property names differ there.
fn head(s: &str) -> u64 {
    let mut buf = [0u8; 8];
    let n = s.len().min(8);
    buf[..n].copy_from_slice(&s.as_bytes()[..n]);
    u64::from_be_bytes(buf)
}

/// Text order of two names, with few calls to compare whole strings.
fn name_order(a: &str, b: &str) -> std::cmp::Ordering {
    head(a).cmp(&head(b)).then_with(|| a.cmp(b))
}

/// Sorts `(name, id)` pairs by name.
fn sort_names(names: &mut [(&'static str, Name)]) {
    names.sort_unstable_by(|a, b| name_order(a.0, b.0).then(a.1.cmp(&b.1)));
}

/// `s` as a JSON string: copied when plain, else escaped by `serde_json`.
fn write_str(out: &mut Vec<u8>, s: &str) {
    if plain(s) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing into a `Vec` cannot fail, and a string always serialises.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Calls `f` with every set property of `record`, sorted by name. Records written by one client
/// mostly set the same properties, so the sorted list of the last set seen on this thread is
/// kept and reused when the next record's set is the same.
fn with_all_names<T>(record: &Record, f: impl FnOnce(&[(&'static str, Name)]) -> T) -> T {
    /// A set of names in id order, and the same sorted by name.
    type Sorted = (Vec<Name>, Vec<(&'static str, Name)>);
    thread_local! {
        static LAST: std::cell::RefCell<Sorted> = std::cell::RefCell::default();
    }
    LAST.with_borrow_mut(|(ids, sorted)| {
        if !ids
            .iter()
            .copied()
            .eq(record.fields.iter().map(|(name, _)| name))
        {
            ids.clear();
            ids.extend(record.fields.iter().map(|(name, _)| name));
            let reader = names::reader();
            sorted.clear();
            sorted.extend(ids.iter().map(|name| (reader.name(*name), *name)));
            drop(reader);
            sort_names(sorted);
        }
        f(sorted)
    })
}

/// Every set property of `record`, sorted by name.
fn all_names(record: &Record) -> Vec<(&'static str, Name)> {
    with_all_names(record, <[_]>::to_vec)
}

/// `record` with all its set properties, as JSON: what a single create answers, written from
/// the stored record without a copy of it.
pub(crate) fn record_json(record: &Record) -> Vec<u8> {
    with_all_names(record, |names| {
        let mut out = Vec::with_capacity(256 + record.fields.text_len() + 24 * names.len());
        ObjectJson {
            id: record.id,
            fields: &record.fields,
            names,
            created_at: record.created_at,
            updated_at: record.updated_at,
            archived: record.archived,
            trace: None,
            new: None,
        }
        .write(&mut out);
        out
    })
}

/// What a `SimplePublicObject`'s JSON is written from, borrowed from a rendered object or a
/// stored record.
struct ObjectJson<'a> {
    id: u64,
    fields: &'a Fields,
    /// The properties to show, sorted by name.
    names: &'a [(&'static str, Name)],
    created_at: SystemTime,
    updated_at: SystemTime,
    archived: bool,
    trace: Option<&'a str>,
    new: Option<bool>,
}

impl ObjectJson<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":\"");
        // Digits only: a `Vec` takes them, a `u64` always serialises.
        let _ = serde_json::to_writer(&mut *out, &self.id);
        out.extend_from_slice(b"\",\"properties\":{");
        let mut first = true;
        // One scan of all the values instead of one per value.
        let values_plain = plain(self.fields.text());
        for (key, name) in self.names {
            let Some(value) = self.fields.get(*name) else {
                continue;
            };
            if !first {
                out.push(b',');
            }
            first = false;
            write_str(out, key);
            out.push(b':');
            if values_plain {
                out.push(b'"');
                out.extend_from_slice(value.as_bytes());
                out.push(b'"');
            } else {
                write_str(out, value);
            }
        }
        out.extend_from_slice(b"},\"createdAt\":\"");
        out.extend_from_slice(Stamp::of(self.created_at).as_str().as_bytes());
        out.extend_from_slice(b"\",\"updatedAt\":\"");
        out.extend_from_slice(Stamp::of(self.updated_at).as_str().as_bytes());
        out.extend_from_slice(if self.archived {
            b"\",\"archived\":true"
        } else {
            b"\",\"archived\":false"
        });
        if let Some(trace) = self.trace {
            out.extend_from_slice(b",\"objectWriteTraceId\":");
            write_str(out, trace);
        }
        if let Some(new) = self.new {
            out.extend_from_slice(if new {
                b",\"new\":true"
            } else {
                b",\"new\":false"
            });
        }
        out.push(b'}');
    }
}

impl SimplePublicObject {
    /// Renders `record` with all its set properties: what a create answers, since a create
    /// requests every property it sets and the defaults are always shown.
    pub(crate) fn render_all(record: &Record) -> Self {
        SimplePublicObject::with_names(record, all_names(record))
    }

    /// Writes the object's JSON into `out`: the bytes `serde_json` writes for it (a test holds
    /// them equal), with plain strings copied instead of scanned for escapes one byte at a time.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        ObjectJson {
            id: self.id,
            fields: &self.properties.fields,
            names: &self.properties.names,
            created_at: self.created_at,
            updated_at: self.updated_at,
            archived: self.archived,
            trace: self.object_write_trace_id.as_deref(),
            new: self.new,
        }
        .write(out);
    }

    /// Renders `record` with the requested properties that are set, plus the defaults. Unset
    /// properties are left out: the vendor's published schema types every property value as a
    /// string, never null (checked by the contract tests).
    pub(crate) fn render<'a>(
        record: &Record,
        requested: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        // A name no record ever stored is set on none.
        let reader = names::reader();
        let mut names: Vec<(&'static str, Name)> = requested
            .into_iter()
            .chain(DEFAULT_PROPERTIES)
            .filter_map(|name| reader.lookup(name))
            .filter(|name| record.fields.get(*name).is_some())
            .map(|name| (reader.name(name), name))
            .collect();
        drop(reader);
        sort_names(&mut names);
        names.dedup();
        SimplePublicObject::with_names(record, names)
    }

    fn with_names(record: &Record, names: Vec<(&'static str, Name)>) -> Self {
        SimplePublicObject {
            id: record.id,
            properties: Shown {
                fields: record.fields.clone(),
                names,
            },
            created_at: record.created_at,
            updated_at: record.updated_at,
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

/// A string of a request body, borrowed from it unless it had escapes to undo.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Text<'a>(pub(crate) Cow<'a, str>);

impl Text<'_> {
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(Visit)
    }
}

/// A write's properties as the body has them, sorted by name, one per name: `null` unsets; the
/// last of a repeated name wins. A sorted vector rather than a map: a contact has a dozen or two
/// properties, and a map costs a node allocation and a rebalance per insert.
/// Each entry keeps its name's [`head`], so sorting compares numbers and rarely whole names.
#[derive(Debug, Clone, Default)]
pub(crate) struct BodyProperties<'a>(Vec<(u64, Text<'a>, Option<Text<'a>>)>);

impl<'a> BodyProperties<'a> {
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Text<'a>> + '_ {
        self.0.iter().map(|(_, k, _)| k)
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        let key = head(name);
        self.0
            .binary_search_by(|(h, k, _)| h.cmp(&key).then_with(|| k.as_str().cmp(name)))
    }

    /// Sets `name` to `value`, replacing the value it had.
    pub(crate) fn insert(&mut self, name: Text<'a>, value: Option<Text<'a>>) {
        match self.position(name.as_str()) {
            Ok(at) => self.0[at].2 = value,
            Err(at) => self.0.insert(at, (head(name.as_str()), name, value)),
        }
    }

    /// The value given for `name` (`Some(None)`: given as `null`).
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&Option<Text<'a>>> {
        let at = self.position(name).ok()?;
        Some(&self.0[at].2)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for BodyProperties<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = BodyProperties<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of property values")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<BodyProperties<'de>, M::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(16).min(256));
                while let Some((k, v)) = map.next_entry::<Text<'de>, Option<Text<'de>>>()? {
                    pairs.push((head(k.as_str()), k, v));
                }
                // Stable: a repeated name's values stay in body order, and the later one is
                // moved into the slot that is kept.
                pairs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                pairs.dedup_by(|later, kept| {
                    let same = later.1 == kept.1;
                    if same {
                        std::mem::swap(&mut later.2, &mut kept.2);
                    }
                    same
                });
                Ok(BodyProperties(pairs))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

impl Input for BodyProperties<'_> {
    fn pairs(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0
            .iter()
            .map(|(_, k, v)| (k.as_str(), v.as_ref().map(Text::as_str)))
    }
}

/// `SimplePublicObjectInputForCreate` / `SimplePublicObjectBatchInputForCreate`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateInput<'a> {
    #[serde(borrow)]
    pub(crate) properties: BodyProperties<'a>,
    #[serde(default)]
    pub(crate) object_write_trace_id: Option<String>,
}

/// `SimplePublicObjectBatchInputUpsert`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpsertInput<'a> {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) id_property: Option<String>,
    #[serde(borrow)]
    pub(crate) properties: BodyProperties<'a>,
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

/// `value` as a JSON response, written into one buffer of `size_hint` bytes (axum's `Json`
/// starts at 128 bytes and doubles, four allocations for a contact).
pub(crate) fn json_response<T: Serialize>(
    status: axum::http::StatusCode,
    value: &T,
    size_hint: usize,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut body = Vec::with_capacity(size_hint);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => json_bytes(status, body),
        // Only a failing `Serialize` impl gets here; these shapes have none.
        Err(_) => (status, axum::Json(value)).into_response(),
    }
}

/// One object as a JSON response (what a single create or read answers).
pub(crate) fn object_response(
    status: axum::http::StatusCode,
    object: &SimplePublicObject,
) -> axum::response::Response {
    let mut body = Vec::with_capacity(object.size_hint());
    object.write_json(&mut body);
    json_bytes(status, body)
}

/// A JSON body as a response.
pub(crate) fn json_bytes(
    status: axum::http::StatusCode,
    body: Vec<u8>,
) -> axum::response::Response {
    let mut response = axum::response::Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    // Room for the content type and the five rate headers the gate adds: one allocation.
    headers.reserve(8);
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}

impl SimplePublicObject {
    /// About the bytes this object takes as JSON (its values, names and the fixed fields).
    pub(crate) fn size_hint(&self) -> usize {
        256 + self.properties.fields.text_len() + 24 * self.properties.names.len()
    }
}

/// Parses a JSON body, turning any failure into a `VALIDATION_ERROR` that says what was wrong.
pub(crate) fn parse_body<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_strings_borrow_unless_escaped_and_the_last_repeat_wins() {
        let body = br#"{"properties":{"a":"x\"y","b":null,"c":"plain","c":"again","d\u00e9":"1"}}"#;
        let input: CreateInput = parse_body(body).unwrap();
        let pairs: Vec<_> = input.properties.pairs().collect();
        assert_eq!(
            pairs,
            vec![
                ("a", Some("x\"y")),
                ("b", None),
                ("c", Some("again")),
                ("dé", Some("1")),
            ]
        );
        let c = input.properties.get("c").unwrap();
        assert!(matches!(c, Some(Text(Cow::Borrowed(_)))));
        assert!(matches!(
            input.properties.get("a").unwrap(),
            Some(Text(Cow::Owned(_)))
        ));
        let err = parse_body::<CreateInput>(br#"{"properties":{"a":5}}"#).unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::BAD_REQUEST);
    }

    #[tokio::test]
    async fn write_json_writes_the_bytes_serde_json_writes() {
        let mut store = super::super::store::Store::new(vec![], true);
        let body = br#"{"properties":{"email":"Jane@X.io","note":"a \"quoted\" line\nnext \\ tab\t","name":"Zo\u00eb \u2713 plain","empty":"","ctl":"\u0001\u001f","a\"b":"key with a quote"}}"#;
        let input: CreateInput = parse_body(body).unwrap();
        let record = store.create(&input.properties).unwrap().clone();
        let mut traced = SimplePublicObject::render(&record, ["name", "never_stored", "note"]);
        traced.object_write_trace_id = Some("trace \"7\"\n".into());
        traced.new = Some(true);
        let mut old = SimplePublicObject::render(&record, ["email"]);
        old.new = Some(false);
        old.archived = true;
        let mut plain = SimplePublicObject::render_all(&record);
        plain.object_write_trace_id = Some("t-1".into());
        // Records with other property sets, in turns (the sorted names of the last set are
        // reused only for the same set).
        let other: CreateInput = parse_body(br#"{"properties":{"zip":"1","city":"x"}}"#).unwrap();
        let other = store.create(&other.properties).unwrap().clone();
        for r in [&record, &record, &other, &record, &other, &other] {
            let requested: Vec<&str> = r.properties().map(|(name, _)| name).collect();
            assert_eq!(
                String::from_utf8(record_json(r)).unwrap(),
                serde_json::to_string(&SimplePublicObject::render(r, requested)).unwrap()
            );
        }
        for object in [SimplePublicObject::render_all(&record), traced, old, plain] {
            let mut out = Vec::new();
            object.write_json(&mut out);
            let want = serde_json::to_string(&object).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
        // And what it wrote reads back as the values stored.
        let mut out = Vec::new();
        SimplePublicObject::render_all(&record).write_json(&mut out);
        let back: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            back["properties"]["note"],
            "a \"quoted\" line\nnext \\ tab\t"
        );
        assert_eq!(back["properties"]["name"], "Zo\u{eb} \u{2713} plain");
        assert_eq!(back["properties"]["email"], "jane@x.io");
        assert_eq!(back["properties"]["a\"b"], "key with a quote");
        assert_eq!(back["id"], "1");
        assert!(plain_of_all_kinds());
    }

    fn plain_of_all_kinds() -> bool {
        plain("") && plain("Zoë ✓ ~\u{7f}") && !plain("a\"") && !plain("\\") && !plain("\u{1f}")
    }

    #[test]
    fn repeated_names_keep_the_last_value_and_insert_replaces() {
        let body = br#"{"properties":{"b":"1","a":"x","b":"2","c":null,"b":"3"}}"#;
        let mut input: CreateInput = parse_body(body).unwrap();
        let pairs: Vec<_> = input.properties.pairs().collect();
        assert_eq!(pairs, vec![("a", Some("x")), ("b", Some("3")), ("c", None)]);
        input
            .properties
            .insert(Text("c".into()), Some(Text("now".into())));
        input.properties.insert(Text("0".into()), None);
        let pairs: Vec<_> = input.properties.pairs().collect();
        assert_eq!(
            pairs,
            vec![
                ("0", None),
                ("a", Some("x")),
                ("b", Some("3")),
                ("c", Some("now"))
            ]
        );
    }
}
