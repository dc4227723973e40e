//! The HubSpot CRM v3 dialect: request bodies for batch upsert, batch read and search, and the
//! parsing of their results into [`TargetCopy`]s. Only what the harness sends and reads; the
//! mock in `syncproof-mocks` serves the same shapes. [`Hubspot`] is the [`Dialect`] over them.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::CallResponse;
use super::dialect::{Dialect, Request, WriteItem};

pub const BATCH_UPSERT: &str = "/crm/v3/objects/contacts/batch/upsert";
pub const BATCH_READ: &str = "/crm/v3/objects/contacts/batch/read";
pub const BATCH_UPDATE: &str = "/crm/v3/objects/contacts/batch/update";
pub const BATCH_ARCHIVE: &str = "/crm/v3/objects/contacts/batch/archive";
pub const SEARCH: &str = "/crm/v3/objects/contacts/search";

/// HubSpot's contacts API: `batch/upsert` by `idProperty` (100 a call), `batch/read` by it,
/// `search` with `IN` on it, paged by `after`.
#[derive(Debug, Clone)]
pub struct Hubspot {
    pub id_property: String,
}

/// Records a `search` page holds (HubSpot's maximum).
const SEARCH_PAGE: u32 = 200;

impl Dialect for Hubspot {
    fn write_endpoint(&self) -> &'static str {
        "write:batch_upsert"
    }

    fn read_endpoint(&self) -> &'static str {
        "read:batch_read"
    }

    fn search_endpoint(&self) -> &'static str {
        "search:search"
    }

    fn max_batch(&self) -> usize {
        100
    }

    fn write(&self, records: &[WriteItem<'_>]) -> Request {
        Request::post(
            BATCH_UPSERT,
            batch_upsert_body(
                &self.id_property,
                records.iter().map(|r| (r.external_id, r.fields.to_vec())),
            ),
        )
    }

    fn read(&self, ids: &[&str]) -> Vec<Request> {
        vec![Request::post(
            BATCH_READ,
            batch_read_body(&self.id_property, ids),
        )]
    }

    fn read_fields(&self, ids: &[&str], fields: &[String]) -> Vec<Request> {
        let mut body = batch_read_body(&self.id_property, ids);
        let mut wanted = fields.to_vec();
        wanted.push(self.id_property.clone());
        body["properties"] = Value::from(wanted);
        vec![Request::post(BATCH_READ, body)]
    }

    /// `batch/update` by `idProperty`: HubSpot's update names a record by the external id too.
    fn update(&self, records: &[WriteItem<'_>]) -> Option<Request> {
        let inputs: Vec<Value> = records
            .iter()
            .map(|r| {
                let properties: Map<String, Value> = r
                    .fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::from(*v)))
                    .collect();
                json!({ "idProperty": self.id_property, "id": r.external_id, "properties": properties })
            })
            .collect();
        Some(Request::post(BATCH_UPDATE, json!({ "inputs": inputs })))
    }

    fn update_endpoint(&self) -> &'static str {
        "write:batch_update"
    }

    /// `batch/archive` by object id (HubSpot archives by its own id only); 204 on success.
    fn delete(&self, target_ids: &[&str]) -> Option<Request> {
        let inputs: Vec<Value> = target_ids.iter().map(|id| json!({ "id": id })).collect();
        Some(Request::post(BATCH_ARCHIVE, json!({ "inputs": inputs })))
    }

    fn delete_endpoint(&self) -> &'static str {
        "write:batch_archive"
    }

    fn created_ids(
        &self,
        response: &CallResponse,
        records: &[WriteItem<'_>],
    ) -> Vec<Option<String>> {
        let copies = response.body.value().map(parse_results).unwrap_or_default();
        let by_external: std::collections::HashMap<&str, u64> = copies
            .iter()
            .filter_map(|c| Some((c.get(&self.id_property)?, c.object_id)))
            .collect();
        records
            .iter()
            .map(|r| by_external.get(r.external_id).map(u64::to_string))
            .collect()
    }

    fn search(&self, ids: &[&str], fields: &[String]) -> Vec<Request> {
        let mut wanted = fields.to_vec();
        if !wanted.contains(&self.id_property) {
            wanted.push(self.id_property.clone());
        }
        vec![Request::post(
            SEARCH,
            search_in_body(&self.id_property, ids, &wanted, 0, SEARCH_PAGE),
        )]
    }

    fn lookup_outcome(&self, response: &CallResponse) -> crate::measure::Outcome {
        // `batch/read` answers 207 when some ids are not there (yet): its copies are good.
        match response.status {
            207 => crate::measure::Outcome::Ok,
            _ => super::classify_response(response),
        }
    }

    fn copies(&self, _request: &Request, response: &CallResponse) -> Vec<TargetCopy> {
        response.body.value().map(parse_results).unwrap_or_default()
    }

    fn next_page(&self, request: &Request, response: &CallResponse) -> Option<Request> {
        let next = next_after(response.body.value()?)?;
        let mut body = request.json()?;
        let current: u64 = body.get("after")?.as_str()?.parse().ok()?;
        if next <= current {
            return None;
        }
        body["after"] = Value::from(next.to_string());
        Some(Request::post(request.path.clone(), body))
    }
}

/// One record as the target holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetCopy {
    /// The target's own id (ascending in creation order on HubSpot).
    pub object_id: u64,
    pub properties: BTreeMap<String, Option<String>>,
}

impl TargetCopy {
    pub fn get(&self, property: &str) -> Option<&str> {
        self.properties.get(property)?.as_deref()
    }
}

/// `batch/upsert` keyed by the external id: retries of it never create duplicates.
pub fn batch_upsert_body<'a>(
    id_property: &str,
    records: impl Iterator<Item = (&'a str, Vec<(&'a str, &'a str)>)>,
) -> Value {
    let inputs: Vec<Value> = records
        .map(|(id, props)| {
            let mut properties = Map::new();
            properties.insert(id_property.to_string(), Value::from(id));
            for (k, v) in props {
                properties.insert(k.to_string(), Value::from(v));
            }
            json!({ "idProperty": id_property, "id": id, "properties": properties })
        })
        .collect();
    json!({ "inputs": inputs })
}

/// `batch/read` of records by the external id property.
pub fn batch_read_body(id_property: &str, ids: &[&str]) -> Value {
    let inputs: Vec<Value> = ids.iter().map(|id| json!({ "id": id })).collect();
    json!({ "idProperty": id_property, "inputs": inputs, "properties": [id_property], "propertiesWithHistory": [] })
}

/// `search` for every record whose `property` is one of `values` (duplicates included).
pub fn search_in_body(
    property: &str,
    values: &[&str],
    properties: &[String],
    after: u64,
    limit: u32,
) -> Value {
    json!({
        "filterGroups": [{ "filters": [{ "propertyName": property, "operator": "IN", "values": values }] }],
        "properties": properties,
        "sorts": [{ "propertyName": "hs_object_id", "direction": "ASCENDING" }],
        "limit": limit,
        "after": after.to_string(),
    })
}

/// The objects in a batch or search response's `results`.
pub fn parse_results(body: &Value) -> Vec<TargetCopy> {
    let Some(results) = body.get("results").and_then(Value::as_array) else {
        return Vec::new();
    };
    results
        .iter()
        .filter_map(|r| {
            let object_id = r.get("id")?.as_str()?.parse().ok()?;
            let properties = r
                .get("properties")?
                .as_object()?
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::Null => None,
                        Value::String(s) => Some(s.clone()),
                        other => Some(other.to_string()),
                    };
                    (k.clone(), v)
                })
                .collect();
            Some(TargetCopy {
                object_id,
                properties,
            })
        })
        .collect()
}

/// The `paging.next.after` cursor of a search response, if there is a next page.
pub fn next_after(body: &Value) -> Option<u64> {
    body.pointer("/paging/next/after")?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsert_bodies_carry_the_external_id_as_idproperty() {
        let body = batch_upsert_body(
            "syncproof_id",
            [("sp-1", vec![("email", "a@b.c")])].into_iter(),
        );
        assert_eq!(body["inputs"][0]["idProperty"], "syncproof_id");
        assert_eq!(body["inputs"][0]["id"], "sp-1");
        assert_eq!(body["inputs"][0]["properties"]["syncproof_id"], "sp-1");
        assert_eq!(body["inputs"][0]["properties"]["email"], "a@b.c");
    }

    #[test]
    fn updates_name_the_external_id_and_archives_the_object_ids_the_creates_answered_with() {
        let hubspot = Hubspot {
            id_property: "syncproof_id".into(),
        };
        let fields = [("jobtitle", "CTO")];
        let items = [WriteItem {
            external_id: "sp-1",
            fields: &fields,
        }];
        let update = hubspot.update(&items).unwrap();
        assert_eq!(update.path, BATCH_UPDATE);
        let body = update.json().unwrap();
        assert_eq!(body["inputs"][0]["idProperty"], "syncproof_id");
        assert_eq!(body["inputs"][0]["id"], "sp-1");
        assert_eq!(body["inputs"][0]["properties"]["jobtitle"], "CTO");
        let archive = hubspot.delete(&["7", "9"]).unwrap();
        assert_eq!(archive.path, BATCH_ARCHIVE);
        assert_eq!(archive.json().unwrap()["inputs"][1]["id"], "9");
        let answer = CallResponse {
            status: 200,
            body: json!({ "results": [
                { "id": "42", "properties": { "syncproof_id": "sp-1" } }
            ] })
            .into(),
            retry_after: None,
            quota_used: None,
            limits: Default::default(),
            error: None,
        };
        let two = [
            items[0],
            WriteItem {
                external_id: "sp-2",
                fields: &fields,
            },
        ];
        assert_eq!(
            hubspot.created_ids(&answer, &two),
            vec![Some("42".to_string()), None]
        );
    }

    #[test]
    fn results_parse_with_nulls_and_paging() {
        let body = json!({
            "total": 2,
            "results": [
                { "id": "7", "properties": { "email": "x@y.z", "phone": null } },
                { "id": "oops" }
            ],
            "paging": { "next": { "after": "200" } }
        });
        let copies = parse_results(&body);
        assert_eq!(copies.len(), 1);
        assert_eq!(copies[0].object_id, 7);
        assert_eq!(copies[0].get("email"), Some("x@y.z"));
        assert_eq!(copies[0].get("phone"), None);
        assert_eq!(next_after(&body), Some(200));
    }
}
