//! A generic REST target, described by the plan instead of coded: one record per call, sent with
//! the plan's method to a path template with a JSON body template; read back with a GET of a
//! second path template; the created id and (optionally) the stored field values found by JSON
//! pointers in the answers. For APIs the harness has no dialect for.
//!
//! Templates: in paths, `{external_id}` (and, in the read path, `{id}`: the id the create
//! answered with) are replaced percent-encoded. In the body, every JSON string is a template:
//! `{{external_id}}`, `{{field}}` for a shape field (a string that is only a placeholder of a
//! null field becomes JSON `null`), and `{{fields}}` alone for an object of every non-null field
//! under its API name (`[target.fields]`, else the shape name) plus the external id under the
//! plan's `id_property`.
//!
//! A read path with `{id}` needs the created ids: they are kept in memory (one short string per
//! acknowledged record), so such a run grows with its length and cannot be resumed. A read path
//! by `{external_id}` keeps nothing. Without a search, reconciliation reads each record once and
//! cannot see duplicates; the report's duplicate figures then cover nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use serde_json::Value;

use super::dialect::{Body, Dialect, Request, WriteItem};
use super::{CallResponse, TargetCopy, classify_response};
use crate::measure::Outcome;

/// A REST API as the plan describes it.
#[derive(Debug)]
pub struct Rest {
    pub method: reqwest::Method,
    pub path: String,
    pub body: Value,
    /// `body`, compiled once: JSON text with holes for the record's values.
    template: Template,
    pub read_path: String,
    /// JSON pointer to the record's id in the write's and the read's answer.
    pub id_pointer: String,
    /// JSON pointer to an object of the stored field values in a read's answer.
    pub fields_pointer: Option<String>,
    pub id_property: String,
    /// Shape field name → API name, for every field of the shape.
    pub fields: BTreeMap<String, String>,
    /// External id → created id, kept only when the read path needs `{id}`. A
    /// `std::sync::Mutex`: an insert or a lookup, never held across an await.
    created: Option<Mutex<HashMap<String, String>>>,
}

/// The placeholders a path may use.
pub const PATH_PLACEHOLDERS: [&str; 2] = ["external_id", "id"];

impl Rest {
    #[allow(clippy::too_many_arguments)] // each is one key of the plan's [target.rest]
    pub fn new(
        method: reqwest::Method,
        path: &str,
        body: Value,
        read_path: &str,
        id_pointer: &str,
        fields_pointer: Option<&str>,
        id_property: &str,
        shape_fields: &[String],
        mapping: &BTreeMap<String, String>,
    ) -> Rest {
        let fields = shape_fields
            .iter()
            .map(|f| (f.clone(), mapping.get(f).unwrap_or(f).clone()))
            .collect();
        Rest {
            method,
            path: path.to_string(),
            template: Template::compile(&body, &fields, id_property),
            body,
            read_path: read_path.to_string(),
            id_pointer: id_pointer.to_string(),
            fields_pointer: fields_pointer.map(str::to_string),
            id_property: id_property.to_string(),
            fields,
            created: read_path
                .contains("{id}")
                .then(|| Mutex::new(HashMap::new())),
        }
    }

    /// True when read-back needs the ids the creates answered with (kept in memory).
    pub fn reads_by_created_id(&self) -> bool {
        self.created.is_some()
    }

    fn created(&self) -> Option<std::sync::MutexGuard<'_, HashMap<String, String>>> {
        self.created
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn read_request(&self, external_id: &str) -> Option<Request> {
        let mut path = self
            .read_path
            .replace("{external_id}", &encode_segment(external_id));
        if path.contains("{id}") {
            let id = self.created()?.get(external_id).cloned()?;
            path = path.replace("{id}", &encode_segment(&id));
        }
        Some(Request {
            record: Some(external_id.to_string()),
            ..Request::get(path)
        })
    }
}

impl Dialect for Rest {
    fn write_endpoint(&self) -> &'static str {
        "write:rest"
    }

    fn read_endpoint(&self) -> &'static str {
        "read:rest"
    }

    fn search_endpoint(&self) -> &'static str {
        "search:rest_read"
    }

    fn max_batch(&self) -> usize {
        1
    }

    fn max_lookup(&self) -> usize {
        1
    }

    fn write(&self, records: &[WriteItem<'_>]) -> Request {
        let record = records.first().copied().unwrap_or(WriteItem {
            external_id: "",
            fields: &[],
        });
        let path = if self.path.contains("{external_id}") {
            self.path
                .replace("{external_id}", &encode_segment(record.external_id))
        } else {
            self.path.clone()
        };
        Request {
            method: self.method.clone(),
            path,
            body: Some(Body::Rendered(self.template.render(&record))),
            record: Some(record.external_id.to_string()),
        }
    }

    fn write_outcomes(&self, response: &CallResponse, records: &[WriteItem<'_>]) -> Vec<Outcome> {
        let outcome = classify_response(response);
        if outcome == Outcome::Ok
            && let Some(mut created) = self.created()
        {
            let id = response
                .body
                .value()
                .and_then(|b| b.pointer(&self.id_pointer))
                .and_then(scalar);
            match (id, records.first()) {
                (Some(id), Some(record)) => {
                    created.insert(record.external_id.to_string(), id);
                }
                _ => tracing::warn!(
                    pointer = self.id_pointer,
                    "a create was acknowledged without an id there; it cannot be read back"
                ),
            }
        }
        vec![outcome; records.len()]
    }

    fn read(&self, ids: &[&str]) -> Vec<Request> {
        ids.iter().filter_map(|id| self.read_request(id)).collect()
    }

    fn search(&self, ids: &[&str], _fields: &[String]) -> Vec<Request> {
        self.read(ids)
    }

    fn lookup_outcome(&self, response: &CallResponse) -> Outcome {
        match response.status {
            404 | 410 => Outcome::Ok,
            _ => classify_response(response),
        }
    }

    fn copies(&self, request: &Request, response: &CallResponse) -> Vec<TargetCopy> {
        let (Some(body), Some(external_id)) = (response.body.value(), &request.record) else {
            return Vec::new();
        };
        if !(200..300).contains(&response.status) {
            return Vec::new();
        }
        let object_id = body
            .pointer(&self.id_pointer)
            .and_then(scalar)
            .and_then(|id| id.parse().ok())
            .unwrap_or(0);
        let mut properties = BTreeMap::new();
        if let Some(stored) = self
            .fields_pointer
            .as_deref()
            .and_then(|p| body.pointer(p))
            .and_then(Value::as_object)
        {
            for (shape, api) in &self.fields {
                if let Some(v) = stored.get(api) {
                    properties.insert(shape.clone(), scalar(v));
                }
            }
        }
        properties.insert(self.id_property.clone(), Some(external_id.clone()));
        vec![TargetCopy {
            object_id,
            properties,
        }]
    }

    fn next_page(&self, _request: &Request, _response: &CallResponse) -> Option<Request> {
        None
    }
}

/// A JSON scalar as text; `None` for null, arrays and objects.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A body template compiled once: its JSON text (keys in the order `serde_json` writes them)
/// with holes for the record's values, so a call renders its body straight to bytes.
///
/// Every JSON string of the template is a template: a string that is only `{{name}}` becomes
/// the value as a JSON string, or `null` when the field is null; `{{fields}}` alone becomes an
/// object of every non-null field under its API name plus the external id under
/// `id_property`; placeholders inside a longer string are replaced by the value's text (an
/// unknown or null one by nothing).
#[derive(Debug)]
struct Template {
    pieces: Vec<Piece>,
    /// `{{fields}}`'s members, sorted by API name: the key as JSON text with its colon, and
    /// the shape fields that may give its value (the last non-null one wins; none: the
    /// external id).
    members: Vec<(String, Vec<String>)>,
    /// A body's usual size: the fixed text plus room for each value, so rendering seldom grows
    /// its buffer.
    capacity: usize,
}

/// Room the rendering buffer starts with for one value.
const VALUE_ROOM: usize = 32;

#[derive(Debug)]
enum Piece {
    /// JSON text, as is.
    Text(String),
    /// A string that is only a placeholder: the value as a JSON string, or `null`.
    Whole(String),
    /// A placeholder inside a string: the value's escaped text.
    Inner(String),
    /// `{{fields}}` alone.
    Fields,
}

impl Template {
    fn compile(body: &Value, names: &BTreeMap<String, String>, id_property: &str) -> Template {
        let mut by_api: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (shape, api) in names {
            by_api.entry(api).or_default().push(shape.clone());
        }
        by_api.insert(id_property, Vec::new());
        let members = by_api
            .into_iter()
            .map(|(api, shapes)| (format!("{}:", Value::from(api)), shapes))
            .collect();
        let mut t = Template {
            pieces: Vec::new(),
            members,
            capacity: 0,
        };
        t.walk(body);
        t.capacity = t
            .pieces
            .iter()
            .map(|p| match p {
                Piece::Text(text) => text.len(),
                Piece::Whole(_) | Piece::Inner(_) => VALUE_ROOM,
                Piece::Fields => {
                    2 + t
                        .members
                        .iter()
                        .map(|(key, _)| key.len() + 1 + VALUE_ROOM)
                        .sum::<usize>()
                }
            })
            .sum();
        t
    }

    fn text(&mut self, text: &str) {
        match self.pieces.last_mut() {
            Some(Piece::Text(last)) => last.push_str(text),
            _ => self.pieces.push(Piece::Text(text.to_string())),
        }
    }

    fn walk(&mut self, v: &Value) {
        match v {
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.text("[");
                for (k, item) in items.iter().enumerate() {
                    if k > 0 {
                        self.text(",");
                    }
                    self.walk(item);
                }
                self.text("]");
            }
            Value::Object(map) => {
                self.text("{");
                for (k, (key, item)) in map.iter().enumerate() {
                    if k > 0 {
                        self.text(",");
                    }
                    self.text(&format!("{}:", Value::from(key.as_str())));
                    self.walk(item);
                }
                self.text("}");
            }
            other => self.text(&other.to_string()),
        }
    }

    fn string(&mut self, s: &str) {
        if let Some(name) = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
            && !name.contains("{{")
        {
            self.pieces.push(if name == "fields" {
                Piece::Fields
            } else {
                Piece::Whole(name.to_string())
            });
            return;
        }
        self.text("\"");
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start + 2..].find("}}") else {
                break;
            };
            self.text(&escaped(&rest[..start]));
            self.pieces
                .push(Piece::Inner(rest[start + 2..start + 2 + len].to_string()));
            rest = &rest[start + 2 + len + 2..];
        }
        self.text(&escaped(rest));
        self.text("\"");
    }

    /// The body of `record`.
    fn render(&self, record: &WriteItem<'_>) -> bytes::Bytes {
        let value = |name: &str| -> Option<&str> {
            if name == "external_id" {
                return Some(record.external_id);
            }
            record
                .fields
                .iter()
                .find(|(f, _)| *f == name)
                .map(|(_, v)| *v)
        };
        let mut out = Vec::with_capacity(self.capacity);
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.extend_from_slice(text.as_bytes()),
                Piece::Whole(name) => match value(name) {
                    Some(v) => json_string(&mut out, v),
                    None => out.extend_from_slice(b"null"),
                },
                Piece::Inner(name) => {
                    let start = out.len();
                    json_string(&mut out, value(name).unwrap_or_default());
                    out.pop();
                    out.remove(start);
                }
                Piece::Fields => {
                    out.push(b'{');
                    let mut first = true;
                    for (key, shapes) in &self.members {
                        let v = if shapes.is_empty() {
                            Some(record.external_id)
                        } else {
                            shapes.iter().rev().find_map(|f| value(f))
                        };
                        let Some(v) = v else { continue };
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        out.extend_from_slice(key.as_bytes());
                        json_string(&mut out, v);
                    }
                    out.push(b'}');
                }
            }
        }
        out.into()
    }
}

/// `text` as a JSON string, quotes included.
fn json_string(out: &mut Vec<u8>, text: &str) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

/// `text`'s characters as they stand inside a JSON string (no quotes).
fn escaped(text: &str) -> String {
    let quoted = Value::from(text).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// The `{{name}}` placeholders of a body template, for the plan to check against the shape.
pub fn body_placeholders(template: &Value, out: &mut Vec<String>) {
    match template {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(start) = rest.find("{{") {
                let Some(len) = rest[start + 2..].find("}}") else {
                    break;
                };
                out.push(rest[start + 2..start + 2 + len].to_string());
                rest = &rest[start + 2 + len + 2..];
            }
        }
        Value::Array(items) => items.iter().for_each(|v| body_placeholders(v, out)),
        Value::Object(map) => map.values().for_each(|v| body_placeholders(v, out)),
        _ => {}
    }
}

/// A path segment, percent-encoded (an external id may hold `/`, `?` or spaces).
fn encode_segment(value: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("a constant URL");
    url.path_segments_mut()
        .expect("an http URL has path segments")
        .push(value);
    url.path().trim_start_matches('/').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rest(read_path: &str) -> Rest {
        Rest::new(
            reqwest::Method::POST,
            "/v1/people",
            json!({ "ref": "{{external_id}}", "props": "{{fields}}", "greeting": "Hi {{firstname}}!", "phone": "{{phone}}" }),
            read_path,
            "/id",
            Some("/props"),
            "syncproof_id",
            &["firstname".to_string(), "phone".to_string()],
            &BTreeMap::from([("firstname".to_string(), "first_name".to_string())]),
        )
    }

    #[test]
    fn bodies_fill_placeholders_and_null_fields_become_null() {
        let fields = [("firstname", "Ada")];
        let request = rest("/v1/people/{external_id}").write(&[WriteItem {
            external_id: "sp 1/2",
            fields: &fields,
        }]);
        assert_eq!(
            request.json().unwrap(),
            json!({ "ref": "sp 1/2", "props": { "first_name": "Ada", "syncproof_id": "sp 1/2" }, "greeting": "Hi Ada!", "phone": null })
        );
        let reads = rest("/v1/people/{external_id}").read(&["sp 1/2"]);
        assert_eq!(reads[0].path, "/v1/people/sp%201%2F2");
        let mut names = Vec::new();
        body_placeholders(&rest("/").body, &mut names);
        names.sort();
        assert_eq!(names, ["external_id", "fields", "firstname", "phone"]);
    }

    #[test]
    fn rendered_bodies_are_the_json_the_template_describes_whatever_the_values_hold() {
        let d = Rest::new(
            reqwest::Method::PUT,
            "/v1/people/{external_id}",
            json!({ "z": [1, true, null, "{{external_id}}", "a \"{{city}}\" b {{nope}} {{unclosed"],
                    "a": { "tab\t": "{{phone}}", "all": "{{fields}}" } }),
            "/v1/people/{external_id}",
            "/id",
            None,
            "ext",
            &["city".to_string(), "phone".to_string(), "email".to_string()],
            &BTreeMap::from([
                ("city".to_string(), "zz_city".to_string()),
                ("email".to_string(), "ext".to_string()),
            ]),
        );
        let fields = [("city", "Köln \"\\ 東京\n\u{1}"), ("email", "a@b")];
        let request = d.write(&[WriteItem {
            external_id: "id/\"1",
            fields: &fields,
        }]);
        assert_eq!(request.path, "/v1/people/id%2F%221");
        let Some(Body::Rendered(bytes)) = &request.body else {
            panic!("a REST body is rendered")
        };
        let city = fields[0].1;
        // The external id wins over a field mapped to the same API name; a null field is
        // left out of `{{fields}}` and is `null` on its own.
        assert_eq!(
            serde_json::from_slice::<Value>(bytes).unwrap(),
            json!({ "z": [1, true, null, "id/\"1", format!("a \"{city}\" b  {{{{unclosed")],
                    "a": { "tab\t": null, "all": { "zz_city": city, "ext": "id/\"1" } } })
        );
        // Keys in the order serde_json writes a tree: the bytes are what `Body::Json` sends.
        assert_eq!(bytes, &Body::Json(request.json().unwrap()).to_bytes());
    }

    #[test]
    fn reads_by_created_id_use_the_id_the_create_answered_with() {
        let d = rest("/v1/people/{id}");
        assert!(
            d.read(&["sp-1"]).is_empty(),
            "no id known before the create"
        );
        let created = CallResponse {
            status: 201,
            body: json!({ "id": 42 }).into(),
            retry_after: None,
            quota_used: None,
            limits: Default::default(),
            error: None,
        };
        let item = WriteItem {
            external_id: "sp-1",
            fields: &[],
        };
        assert_eq!(d.write_outcomes(&created, &[item]), [Outcome::Ok]);
        let read = d.read(&["sp-1"]).remove(0);
        assert_eq!(read.path, "/v1/people/42");
        let answer = CallResponse {
            body: json!({ "id": "42", "props": { "first_name": "Ada", "phone": null } }).into(),
            status: 200,
            ..created
        };
        let copies = d.copies(&read, &answer);
        assert_eq!(copies[0].object_id, 42);
        assert_eq!(copies[0].get("firstname"), Some("Ada"));
        assert_eq!(copies[0].get("phone"), None);
        assert_eq!(copies[0].get("syncproof_id"), Some("sp-1"));
        let gone = CallResponse {
            status: 404,
            body: json!({ "message": "not found" }).into(),
            ..answer
        };
        assert_eq!(d.lookup_outcome(&gone), Outcome::Ok);
        assert!(d.copies(&read, &gone).is_empty());
    }
}
