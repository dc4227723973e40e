//! The Salesforce REST dialect: writes are sObject Collections upserts by an external-id field
//! (`PATCH /services/data/vXX.X/composite/sobjects/{Object}/{Field}`, up to 200 records,
//! `allOrNone=false`, one result per record), read-back and reconciliation are SOQL
//! (`SELECT … WHERE Field IN (…)`, read-your-write consistent, paged by `nextRecordsUrl`).
//!
//! Shape fields map to Salesforce fields by the plan's `[target.fields]` table; a field it does
//! not name is written to the custom field `{name}__c`. Copies come back under the shape's
//! names, so the quality stage compares like with like. `Sforce-Limit-Info: api-usage=N/M` is
//! the daily quota figure (read by the client); `403 REQUEST_LIMIT_EXCEEDED` is throttling.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::dialect::{Body, Dialect, Request, WriteItem};
use super::{CallResponse, TargetCopy, classify_response};
use crate::measure::Outcome;

/// sObject Collections' cap on records per call.
pub const COLLECTION_MAX: usize = 200;

/// One Salesforce object written by external id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salesforce {
    /// `v62.0`.
    pub api_version: String,
    /// `Contact`.
    pub object: String,
    /// The external-id field, e.g. `Syncproof_Id__c`.
    pub external_id_field: String,
    /// The plan's `id_property`: the key the external id is reported under.
    pub id_property: String,
    /// Shape field name → Salesforce field name, for every field of the shape.
    pub fields: BTreeMap<String, String>,
}

/// Per-record error codes worth retrying: the row was locked, or a limit refused it.
const TRANSIENT_CODES: [&str; 3] = [
    "UNABLE_TO_LOCK_ROW",
    "REQUEST_LIMIT_EXCEEDED",
    "SERVER_UNAVAILABLE",
];

impl Salesforce {
    /// The dialect for `shape_fields`, mapped by `mapping` (unmapped: `{name}__c`).
    pub fn new(
        api_version: &str,
        object: &str,
        external_id_field: &str,
        id_property: &str,
        shape_fields: &[String],
        mapping: &BTreeMap<String, String>,
    ) -> Salesforce {
        let fields = shape_fields
            .iter()
            .map(|f| {
                let to = mapping.get(f).cloned().unwrap_or_else(|| format!("{f}__c"));
                (f.clone(), to)
            })
            .collect();
        Salesforce {
            api_version: api_version.to_string(),
            object: object.to_string(),
            external_id_field: external_id_field.to_string(),
            id_property: id_property.to_string(),
            fields,
        }
    }

    fn data(&self) -> String {
        format!("/services/data/{}", self.api_version)
    }

    /// `SELECT Id, ext, fields… FROM Object WHERE ext IN (…) ORDER BY Id` as a query path.
    fn soql(&self, ids: &[&str], with_fields: bool) -> Request {
        let mut select = vec!["Id".to_string(), self.external_id_field.clone()];
        if with_fields {
            select.extend(
                self.fields
                    .values()
                    .filter(|f| **f != self.external_id_field)
                    .cloned(),
            );
        }
        let values: Vec<String> = ids.iter().map(|id| quote(id)).collect();
        let query = format!(
            "SELECT {} FROM {} WHERE {} IN ({}) ORDER BY Id",
            select.join(", "),
            self.object,
            self.external_id_field,
            values.join(", ")
        );
        Request::get(format!(
            "{}/query?{}",
            self.data(),
            encode_query("q", &query)
        ))
    }

    /// The shape name of Salesforce field `name` (case-insensitive, as Salesforce is).
    fn shape_name(&self, name: &str) -> Option<&str> {
        if name.eq_ignore_ascii_case(&self.external_id_field) {
            return Some(&self.id_property);
        }
        self.fields
            .iter()
            .find(|(_, to)| to.eq_ignore_ascii_case(name))
            .map(|(from, _)| from.as_str())
    }
}

impl Dialect for Salesforce {
    fn write_endpoint(&self) -> &'static str {
        "write:collections_upsert"
    }

    fn read_endpoint(&self) -> &'static str {
        "read:soql"
    }

    fn search_endpoint(&self) -> &'static str {
        "search:soql"
    }

    fn max_batch(&self) -> usize {
        COLLECTION_MAX
    }

    fn max_lookup(&self) -> usize {
        // 200 quoted ids keep the query URL far below Salesforce's 16,384-character limit.
        COLLECTION_MAX
    }

    fn write(&self, records: &[WriteItem<'_>]) -> Request {
        let records: Vec<Value> = records
            .iter()
            .map(|r| {
                let mut record = serde_json::Map::new();
                record.insert("attributes".into(), json!({ "type": self.object }));
                for (name, value) in r.fields {
                    if let Some(to) = self.fields.get(*name) {
                        record.insert(to.clone(), Value::from(*value));
                    }
                }
                record.insert(self.external_id_field.clone(), Value::from(r.external_id));
                Value::Object(record)
            })
            .collect();
        Request {
            method: reqwest::Method::PATCH,
            path: format!(
                "{}/composite/sobjects/{}/{}",
                self.data(),
                self.object,
                self.external_id_field
            ),
            body: Some(Body::Json(
                json!({ "allOrNone": false, "records": records }),
            )),
            record: None,
        }
    }

    fn write_outcomes(&self, response: &CallResponse, records: &[WriteItem<'_>]) -> Vec<Outcome> {
        let call = classify_response(response);
        if call != Outcome::Ok {
            return vec![call; records.len()];
        }
        match response.body.value().and_then(Value::as_array) {
            Some(results) if results.len() == records.len() => {
                results.iter().map(record_outcome).collect()
            }
            // A 2xx without its per-record results: the upsert is idempotent, so send again.
            _ => vec![Outcome::Transient; records.len()],
        }
    }

    fn read(&self, ids: &[&str]) -> Vec<Request> {
        vec![self.soql(ids, false)]
    }

    fn read_fields(&self, ids: &[&str], _fields: &[String]) -> Vec<Request> {
        vec![self.soql(ids, true)]
    }

    /// The same collection upsert by external id: on an existing record it is an update.
    fn update(&self, records: &[WriteItem<'_>]) -> Option<Request> {
        Some(self.write(records))
    }

    fn update_endpoint(&self) -> &'static str {
        "write:collections_update"
    }

    /// `DELETE /composite/sobjects?ids=…&allOrNone=false` by the record ids the upserts
    /// answered with; per-record results like the writes'.
    fn delete(&self, target_ids: &[&str]) -> Option<Request> {
        Some(Request {
            method: reqwest::Method::DELETE,
            path: format!(
                "{}/composite/sobjects?{}&allOrNone=false",
                self.data(),
                encode_query("ids", &target_ids.join(","))
            ),
            body: None,
            record: None,
        })
    }

    fn delete_endpoint(&self) -> &'static str {
        "write:collections_delete"
    }

    fn created_ids(
        &self,
        response: &CallResponse,
        records: &[WriteItem<'_>],
    ) -> Vec<Option<String>> {
        match response.body.value().and_then(Value::as_array) {
            Some(results) if results.len() == records.len() => results
                .iter()
                .map(|r| Some(r.get("id")?.as_str()?.to_string()))
                .collect(),
            _ => vec![None; records.len()],
        }
    }

    fn search(&self, ids: &[&str], _fields: &[String]) -> Vec<Request> {
        vec![self.soql(ids, true)]
    }

    fn copies(&self, _request: &Request, response: &CallResponse) -> Vec<TargetCopy> {
        let Some(records) = response
            .body
            .value()
            .and_then(|b| b.get("records"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        records
            .iter()
            .filter_map(|r| {
                let object = r.as_object()?;
                let object_id = record_number(object.get("Id")?.as_str()?)?;
                let properties = object
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = self.shape_name(k)?;
                        let value = match v {
                            Value::Null => None,
                            Value::String(s) => Some(s.clone()),
                            other => Some(other.to_string()),
                        };
                        Some((name.to_string(), value))
                    })
                    .collect();
                Some(TargetCopy {
                    object_id,
                    properties,
                })
            })
            .collect()
    }

    fn next_page(&self, _request: &Request, response: &CallResponse) -> Option<Request> {
        let body = response.body.value()?;
        if body.get("done").and_then(Value::as_bool) != Some(false) {
            return None;
        }
        let next = body.get("nextRecordsUrl")?.as_str()?;
        Some(Request::get(next))
    }
}

fn record_outcome(result: &Value) -> Outcome {
    if result.get("success").and_then(Value::as_bool) == Some(true) {
        return Outcome::Ok;
    }
    let transient = result
        .get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errors| {
            errors.iter().any(|e| {
                e.get("statusCode")
                    .and_then(Value::as_str)
                    .is_some_and(|code| TRANSIENT_CODES.contains(&code))
            })
        });
    if transient {
        Outcome::Transient
    } else {
        Outcome::Rejected
    }
}

/// A SOQL string literal: quotes and backslashes escaped.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `key=value`, form-encoded.
fn encode_query(key: &str, value: &str) -> String {
    let mut url = reqwest::Url::parse("http://x/").expect("a constant URL");
    url.query_pairs_mut().append_pair(key, value);
    url.query().unwrap_or_default().to_string()
}

/// The record number in a Salesforce id: its 9 base-62 digits after the key prefix and the
/// pod characters, ascending in creation order within an org.
fn record_number(id: &str) -> Option<u64> {
    let digits = id.get(6..15)?;
    digits.bytes().try_fold(0u64, |n, c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            b'a'..=b'z' => c - b'a' + 36,
            _ => return None,
        };
        Some(n * 62 + u64::from(d))
    })
}

/// `Sforce-Limit-Info: api-usage=used/max` as `(used, max)`.
pub fn limit_info(value: &str) -> Option<(u64, u64)> {
    let usage = value
        .split(',')
        .find_map(|part| part.trim().strip_prefix("api-usage="))?;
    let (used, max) = usage.split_once('/')?;
    Some((used.trim().parse().ok()?, max.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect() -> Salesforce {
        let mapping = BTreeMap::from([
            ("email".to_string(), "Email".to_string()),
            ("lastname".to_string(), "LastName".to_string()),
        ]);
        let fields = ["email", "lastname", "company"].map(String::from);
        Salesforce::new(
            "v62.0",
            "Contact",
            "Syncproof_Id__c",
            "syncproof_id",
            &fields,
            &mapping,
        )
    }

    #[test]
    fn writes_are_collection_upserts_by_the_external_id_field() {
        let fields = [("email", "a@b.c"), ("company", "Acme")];
        let request = dialect().write(&[WriteItem {
            external_id: "sp-1",
            fields: &fields,
        }]);
        assert_eq!(request.method, reqwest::Method::PATCH);
        assert_eq!(
            request.path,
            "/services/data/v62.0/composite/sobjects/Contact/Syncproof_Id__c"
        );
        let body = request.json().unwrap();
        assert_eq!(body["allOrNone"], false);
        let record = &body["records"][0];
        assert_eq!(record["attributes"]["type"], "Contact");
        assert_eq!(record["Email"], "a@b.c");
        assert_eq!(record["company__c"], "Acme");
        assert_eq!(record["Syncproof_Id__c"], "sp-1");
    }

    #[test]
    fn per_record_results_separate_rejections_from_retries() {
        let response = CallResponse {
            status: 200,
            body: json!([
                { "id": "003000000000001AAA", "success": true, "errors": [] },
                { "success": false, "errors": [{ "statusCode": "REQUIRED_FIELD_MISSING", "message": "LastName" }] },
                { "success": false, "errors": [{ "statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked" }] },
            ]).into(),
            retry_after: None,
            quota_used: None,
            limits: Default::default(),
            error: None,
        };
        let item = WriteItem {
            external_id: "x",
            fields: &[],
        };
        assert_eq!(
            dialect().write_outcomes(&response, &[item; 3]),
            [Outcome::Ok, Outcome::Rejected, Outcome::Transient]
        );
    }

    #[test]
    fn soql_quotes_ids_and_copies_come_back_under_shape_names() {
        let d = dialect();
        let request = d.search(&["sp-1", "o'brien"], &[]).remove(0);
        let url = reqwest::Url::parse(&format!("http://x{}", request.path)).unwrap();
        let q = url.query_pairs().find(|(k, _)| k == "q").unwrap().1;
        assert!(
            q.starts_with("SELECT Id, Syncproof_Id__c, ")
                && q.ends_with(
                    "FROM Contact WHERE Syncproof_Id__c IN ('sp-1', 'o\\'brien') ORDER BY Id"
                ),
            "{q}"
        );
        let response = CallResponse {
            status: 200,
            body: json!({
                "totalSize": 1, "done": false, "nextRecordsUrl": "/services/data/v62.0/query/01gX-200",
                "records": [{ "attributes": {}, "Id": "0035g0000000010AAA", "Syncproof_Id__c": "sp-1", "Email": "a@b.c", "LastName": null }]
            }).into(),
            retry_after: None,
            quota_used: None,
            limits: Default::default(),
            error: None,
        };
        let copies = d.copies(&request, &response);
        assert_eq!(copies[0].object_id, 62);
        assert_eq!(copies[0].get("syncproof_id"), Some("sp-1"));
        assert_eq!(copies[0].get("email"), Some("a@b.c"));
        assert_eq!(copies[0].get("lastname"), None);
        assert_eq!(
            d.next_page(&request, &response).unwrap().path,
            "/services/data/v62.0/query/01gX-200"
        );
        assert_eq!(limit_info("api-usage=25/15000"), Some((25, 15000)));
        assert_eq!(
            limit_info("per-app-api-usage=1/5, api-usage=7/100"),
            Some((7, 100))
        );
        assert_eq!(limit_info("nonsense"), None);
    }
}
