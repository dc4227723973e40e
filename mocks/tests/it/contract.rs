//! Contract tests: every response the mock gives is validated against the schema HubSpot's own
//! OpenAPI document (mocks/contracts/hubspot/contacts.v3.json) declares for that path, method
//! and status, errors included (the `default` response, schema `Error`). OpenAPI 3.0's
//! `nullable: true` is rewritten to JSON Schema's `type: [T, "null"]` before validating.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use syncproof_mocks::{Crm, CrmConfig};
use tower::ServiceExt;

const SPEC: &str = include_str!("../../contracts/hubspot/contacts.v3.json");

/// The spec with `nullable` rewritten, parsed once per test.
fn spec() -> Value {
    let mut spec: Value = serde_json::from_str(SPEC).expect("the vendor spec is JSON");
    rewrite_nullable(&mut spec);
    spec
}

fn rewrite_nullable(node: &mut Value) {
    match node {
        Value::Object(map) => {
            if map.remove("nullable") == Some(Value::Bool(true))
                && let Some(Value::String(t)) = map.get("type").cloned()
            {
                map.insert("type".into(), json!([t, "null"]));
            }
            map.values_mut().for_each(rewrite_nullable);
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_nullable),
        _ => {}
    }
}

/// The response schema for (path template, method, status), falling back to `default`.
fn response_schema(spec: &Value, path: &str, method: &str, status: u16) -> Value {
    let responses = &spec["paths"][path][method]["responses"];
    assert!(responses.is_object(), "the spec has no {method} {path}");
    let response = match responses.get(status.to_string()) {
        Some(r) => r.clone(),
        None => {
            let reference = responses["default"]["$ref"]
                .as_str()
                .expect("a default response");
            let name = reference.rsplit('/').next().unwrap();
            spec["components"]["responses"][name].clone()
        }
    };
    // Success bodies are declared as `application/json`, the shared `Error` response as `*/*`.
    let content = &response["content"];
    let schema = content["application/json"]["schema"].clone();
    let schema = if schema.is_object() {
        schema
    } else {
        content["*/*"]["schema"].clone()
    };
    assert!(
        schema.is_object(),
        "{method} {path} {status} declares no JSON body"
    );
    // Resolve `#/components/...` references inside the same document.
    json!({ "$ref": schema["$ref"], "components": spec["components"] })
}

struct Contract {
    spec: Value,
    crm: Arc<Crm>,
}

impl Contract {
    fn new() -> Contract {
        let cfg = CrmConfig {
            unique_properties: vec!["email".into()],
            ..CrmConfig::default()
        };
        Contract {
            spec: spec(),
            crm: Crm::new(cfg),
        }
    }

    /// Sends a request and validates the answer against the spec; returns status and body.
    async fn call(
        &self,
        method: &str,
        template: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let request = Request::builder()
            .method(method.to_uppercase().as_str())
            .uri(uri)
            .header("authorization", "Bearer contract-test")
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        let response = self.crm.router().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{method} {uri}: body is not JSON"));
        let schema = response_schema(&self.spec, template, method, status);
        let validator = jsonschema::validator_for(&schema).expect("the vendor schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(&body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {uri} {status} breaks the vendor schema:\n{}\nbody: {body}",
            errors.join("\n")
        );
        (status, body)
    }
}

const BASE: &str = "/crm/v3/objects/contacts";

fn contact(i: u32) -> Value {
    json!({ "email": format!("c{i}@example.com"), "firstname": format!("First{i}"), "phone": null })
}

#[tokio::test]
async fn single_object_endpoints_answer_in_the_vendors_schemas() {
    let c = Contract::new();
    let (status, created) = c
        .call(
            "post",
            BASE,
            BASE,
            Some(json!({ "properties": contact(1) })),
        )
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_string();
    let template = "/crm/v3/objects/contacts/{contactId}";
    let (status, _) = c
        .call(
            "get",
            template,
            &format!("{BASE}/{id}?properties=email,phone"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = c
        .call(
            "get",
            BASE,
            &format!("{BASE}?limit=10&properties=email"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // Errors answer in the spec's `Error` schema: not found, conflict, bad input.
    let (status, _) = c
        .call("get", template, &format!("{BASE}/999999"), None)
        .await;
    assert_eq!(status, 404);
    let (status, body) = c
        .call(
            "post",
            BASE,
            BASE,
            Some(json!({ "properties": contact(1) })),
        )
        .await;
    assert_eq!(status, 409);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&format!("Existing ID: {id}")),
        "{body}"
    );
    let (status, _) = c
        .call("post", BASE, BASE, Some(json!({ "propertiez": {} })))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn batch_endpoints_answer_in_the_vendors_schemas_including_207() {
    let c = Contract::new();
    let create = "/crm/v3/objects/contacts/batch/create";
    let inputs: Vec<Value> = (0..3)
        .map(|i| json!({ "properties": contact(i) }))
        .collect();
    let (status, _) = c
        .call("post", create, create, Some(json!({ "inputs": inputs })))
        .await;
    assert_eq!(status, 201);
    // One input collides with an existing email: a multi-status answer.
    let inputs = vec![
        json!({ "properties": contact(2) }),
        json!({ "properties": contact(9) }),
    ];
    let (status, body) = c
        .call("post", create, create, Some(json!({ "inputs": inputs })))
        .await;
    assert_eq!(status, 207);
    assert_eq!(body["numErrors"], 1);

    let upsert = "/crm/v3/objects/contacts/batch/upsert";
    let inputs = vec![
        json!({ "idProperty": "email", "id": "c0@example.com", "properties": { "firstname": "Zed" } }),
        json!({ "idProperty": "email", "id": "new@example.com", "properties": { "firstname": "New" } }),
    ];
    let (status, body) = c
        .call("post", upsert, upsert, Some(json!({ "inputs": inputs })))
        .await;
    assert_eq!(status, 200);
    let new: Vec<bool> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["new"].as_bool().unwrap())
        .collect();
    assert_eq!(new.iter().filter(|n| **n).count(), 1);

    let read = "/crm/v3/objects/contacts/batch/read";
    let ids = json!({ "idProperty": "email", "inputs": [{ "id": "c1@example.com" }], "properties": ["email"], "propertiesWithHistory": [] });
    let (status, _) = c.call("post", read, read, Some(ids)).await;
    assert_eq!(status, 200);
    let ids = json!({ "idProperty": "email", "inputs": [{ "id": "c1@example.com" }, { "id": "nobody@example.com" }], "properties": ["email"], "propertiesWithHistory": [] });
    let (status, body) = c.call("post", read, read, Some(ids)).await;
    assert_eq!(status, 207);
    assert_eq!(body["errors"][0]["category"], "OBJECT_NOT_FOUND");
}

#[tokio::test]
async fn search_answers_in_the_vendors_schema() {
    let c = Contract::new();
    let create = "/crm/v3/objects/contacts/batch/create";
    let inputs: Vec<Value> = (0..5)
        .map(|i| json!({ "properties": contact(i) }))
        .collect();
    c.call("post", create, create, Some(json!({ "inputs": inputs })))
        .await;
    let search = "/crm/v3/objects/contacts/search";
    let query = json!({
        "filterGroups": [{ "filters": [{ "propertyName": "email", "operator": "IN", "values": ["c1@example.com", "c3@example.com"] }] }],
        "properties": ["email", "firstname"], "limit": 1, "after": "0", "sorts": []
    });
    let (status, body) = c.call("post", search, search, Some(query)).await;
    assert_eq!(status, 200);
    assert_eq!(body["total"], 2);
    assert!(body["paging"]["next"]["after"].is_string());
    let bad = json!({ "filterGroups": [], "limit": 201 });
    let (status, _) = c.call("post", search, search, Some(bad)).await;
    assert_eq!(status, 400);
}
