//! Contract tests: every response the mock gives is validated against the schema HubSpot's own
//! OpenAPI document (mocks/contracts/hubspot/contacts.v3.json) declares for that path, method
//! and status, errors included (the `default` response, schema `Error`). OpenAPI 3.0's
//! `nullable: true` is rewritten to JSON Schema's `type: [T, "null"]` before validating.
//!
//! Each test runs twice, over real loopback HTTP: with the engine served by axum and with the
//! same engine mounted in a `wiremock::MockServer` (`support::Engine`).

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use syncproof_mocks::{Crm, CrmConfig};

use crate::support::{Served, Transport, on_both_transports, serve_on};

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
    served: Served,
    client: reqwest::Client,
}

impl Contract {
    async fn new(transport: Transport) -> Contract {
        let cfg = CrmConfig {
            unique_properties: vec!["email".into()],
            ..CrmConfig::default()
        };
        Contract::with(transport, cfg).await
    }

    async fn with(transport: Transport, cfg: CrmConfig) -> Contract {
        let crm = Crm::new(cfg);
        let served = serve_on(transport, crm.app()).await;
        Contract {
            spec: spec(),
            crm,
            served,
            client: crate::support::client(),
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
        let (status, _, body) = self
            .call_as("contract-test", method, template, uri, body)
            .await;
        (status, body)
    }

    /// [`Contract::call`] with `token` as the bearer; also returns the headers.
    async fn call_as(
        &self,
        token: &str,
        method: &str,
        template: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (u16, HeaderMap, Value) {
        let method_name = method.to_uppercase();
        let url = format!("{}{uri}", self.served.base);
        let mut request = self
            .client
            .request(method_name.parse().unwrap(), url)
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("{method} {uri}: body is not JSON"));
        if status == 429 {
            // HubSpot's 429 is not its `Error` schema (no `category`): checked against the
            // documented body instead (crm-vendor-apis.md, "429 body").
            assert_rate_limit_body(&body);
            return (status, headers, body);
        }
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
        (status, headers, body)
    }
}

on_both_transports!(
    single_object_endpoints_answer_in_the_vendors_schemas,
    batch_endpoints_answer_in_the_vendors_schemas_including_207,
    search_answers_in_the_vendors_schema,
    the_101st_request_in_the_window_is_refused_in_the_vendors_schema,
);

const BASE: &str = "/crm/v3/objects/contacts";

/// The 429 body HubSpot documents: exactly these keys, `errorType` `RATE_LIMIT`.
fn assert_rate_limit_body(body: &Value) {
    let keys: Vec<&str> = body
        .as_object()
        .unwrap_or_else(|| panic!("429 body is not an object: {body}"))
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "correlationId",
        "errorType",
        "message",
        "policyName",
        "requestId",
        "status",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected, "{body}");
    assert_eq!(body["status"], "error");
    assert_eq!(body["errorType"], "RATE_LIMIT");
}

fn contact(i: u32) -> Value {
    json!({ "email": format!("c{i}@example.com"), "firstname": format!("First{i}"), "phone": null })
}

async fn single_object_endpoints_answer_in_the_vendors_schemas(transport: Transport) {
    let c = Contract::new(transport).await;
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

async fn batch_endpoints_answer_in_the_vendors_schemas_including_207(transport: Transport) {
    let c = Contract::new(transport).await;
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

async fn search_answers_in_the_vendors_schema(transport: Transport) {
    let c = Contract::new(transport).await;
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

async fn the_101st_request_in_the_window_is_refused_in_the_vendors_schema(transport: Transport) {
    // A window wide enough that a loaded machine cannot roll it during the test (the wiremock
    // server keeps its own real-time runtime, so tokio's paused clock cannot hold it still).
    let c = Contract::with(
        transport,
        CrmConfig {
            burst_max: 100,
            burst_window: Duration::from_secs(600),
            daily_max: 1_000,
            ..CrmConfig::default()
        },
    )
    .await;
    let list = format!("{BASE}?limit=1");
    let header = |headers: &HeaderMap, name: &str| {
        let value = headers.get(name).unwrap_or_else(|| panic!("no {name}"));
        value.to_str().unwrap().to_string()
    };
    for n in 1..=100u32 {
        let (status, headers, _) = c.call_as("app-a", "get", BASE, &list, None).await;
        assert_eq!(status, 200, "request {n}");
        assert_eq!(header(&headers, "x-hubspot-ratelimit-max"), "100");
        assert_eq!(
            header(&headers, "x-hubspot-ratelimit-remaining"),
            (100 - n).to_string()
        );
        assert_eq!(
            header(&headers, "x-hubspot-ratelimit-daily-remaining"),
            (1_000 - n).to_string()
        );
    }
    let (status, headers, body) = c.call_as("app-a", "get", BASE, &list, None).await;
    assert_eq!(status, 429);
    assert_eq!(body["policyName"], "TEN_SECONDLY_ROLLING", "{body}");
    assert_eq!(header(&headers, "x-hubspot-ratelimit-remaining"), "0");
    let retry_after: u64 = header(&headers, "retry-after").parse().unwrap();
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    // A refused request spends no daily quota; another app has its own window.
    assert_eq!(
        header(&headers, "x-hubspot-ratelimit-daily-remaining"),
        "900"
    );
    let (status, headers, _) = c.call_as("app-b", "get", BASE, &list, None).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-hubspot-ratelimit-remaining"), "99");
    let accounting = c.crm.accounting();
    assert_eq!(accounting.faults["throttled_burst"], 1);
    assert_eq!(accounting.calls["list"][&200], 101);
    assert_eq!(accounting.calls["list"][&429], 1);
}
