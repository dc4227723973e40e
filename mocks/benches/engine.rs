//! Throughput of the mock CRM engine with its full vendor logic (auth, rolling and daily limits,
//! rate headers, unique indexes, accounting), driven through its axum router in-process, so the
//! figure is the engine's own cost without the socket. Single-record creates and 100-record
//! batch upserts, as a PoC sends them, beside a bare handler that only parses the contact (the
//! baseline of `benches/peers/mock_vs_bare.sh`); for the Salesforce org, single sObject creates, 200-record
//! collections upserts by external id, and a 2,000-record SOQL page. Results and commands:
//! BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use syncproof_mocks::{Crm, CrmConfig, Org, OrgConfig};
use tower::ServiceExt;

/// The contact of `benches/peers/mock_vs_bare.lua` (15 properties, about 600 bytes on the wire).
fn contact(i: u64) -> serde_json::Value {
    json!({
        "email": format!("jane.doe{i}@example.com"), "firstname": "Jane", "lastname": "Doe",
        "phone": "+1 415-555-0132", "company": "Acme Incorporated",
        "jobtitle": "Head of Revenue Operations", "address": "1 Market Street, Suite 400",
        "city": "San Francisco", "zip": "94105", "country": "United States",
        "lifecyclestage": "marketingqualifiedlead", "syncproof_id": format!("sp-0000002a-{i}"),
        "created_at": "2024-05-17T09:21:44Z", "hs_lead_status": "OPEN",
        "website": "https://acme.example.com",
    })
}

fn request(uri: &str, body: &serde_json::Value) -> Request<Body> {
    request_with("POST", uri, body)
}

fn request_with(method: &str, uri: &str, body: &serde_json::Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer bench")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// A handler that only parses the contact and answers 201: what the engine's cost is set against.
fn bare_router() -> axum::Router {
    axum::Router::new().route(
        "/crm/v3/objects/contacts",
        axum::routing::post(|body: axum::body::Bytes| async move {
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(v) if v.get("properties").is_some() => (
                    axum::http::StatusCode::CREATED,
                    r#"{"id":"1","properties":{},"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","archived":false}"#,
                ),
                _ => (axum::http::StatusCode::BAD_REQUEST, r#"{"status":"error"}"#),
            }
        }),
    )
}

/// Sends `requests` through `router` one after another, checks each succeeded and drains every
/// body.
fn drive(
    runtime: &tokio::runtime::Runtime,
    router: axum::Router,
    requests: impl Iterator<Item = Request<Body>>,
) {
    runtime.block_on(async {
        for request in requests {
            let r = router.clone().oneshot(request).await.unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            black_box(
                axum::body::to_bytes(r.into_body(), usize::MAX)
                    .await
                    .unwrap(),
            );
        }
    })
}

fn engine(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // The full vendor logic: limits enforced at a ceiling the bench never reaches (admission,
    // the rolling window, the daily count and the rate headers run on every request), `email`
    // unique, one accepted token.
    let unlimited = || CrmConfig {
        burst_max: 100_000_000,
        daily_max: 1_000_000_000_000,
        unique_properties: vec!["email".into()],
        tokens: vec!["bench".into()],
        ..CrmConfig::default()
    };
    let mut group = c.benchmark_group("mock_engine");

    const CREATES: u64 = 1_000;
    group.throughput(Throughput::Elements(CREATES));
    let creates = || {
        (0..CREATES).map(|i| {
            request(
                "/crm/v3/objects/contacts",
                &json!({ "properties": contact(i) }),
            )
        })
    };
    // The baseline of `benches/peers/mock_vs_bare.sh` in-process: parse the contact, answer 201.
    group.bench_function("bare_create", |b| {
        b.iter(|| drive(&runtime, bare_router(), creates()))
    });
    group.bench_function("single_create", |b| {
        b.iter(|| {
            let crm: Arc<Crm> = Crm::new(unlimited());
            drive(&runtime, crm.router(), creates());
        })
    });

    const BATCHES: u64 = 20;
    group.throughput(Throughput::Elements(BATCHES * 100));
    let bodies: Vec<serde_json::Value> = (0..BATCHES)
        .map(|b| {
            let inputs: Vec<_> = (0..100)
                .map(|i| {
                    let id = format!("sp-0000002a-{}", b * 100 + i);
                    json!({ "idProperty": "syncproof_id", "id": id, "properties": contact(b * 100 + i) })
                })
                .collect();
            json!({ "inputs": inputs })
        })
        .collect();
    group.bench_function("batch_upsert_100", |b| {
        b.iter(|| {
            let crm: Arc<Crm> = Crm::new(unlimited());
            let requests = bodies
                .iter()
                .map(|body| request("/crm/v3/objects/contacts/batch/upsert", body));
            drive(&runtime, crm.router(), requests);
        })
    });
    group.finish();
}

fn sf_contact(i: u64) -> serde_json::Value {
    json!({
        "attributes": { "type": "Contact" },
        "Email": format!("jane.doe{i}@example.com"), "FirstName": "Jane", "LastName": "Doe",
        "Phone": "+1 415-555-0132", "Title": "Head of Operations", "MailingStreet": "1 Market St",
        "MailingCity": "San Francisco", "MailingPostalCode": "94105",
        "MailingCountry": "United States", "LeadSource": "Web", "Syncproof_Id__c": format!("sp-{i}"),
    })
}

fn salesforce(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let unlimited = || {
        let mut cfg = OrgConfig::default();
        cfg.base.daily_max = 0;
        cfg
    };
    let mut group = c.benchmark_group("salesforce_engine");
    const V: &str = "/services/data/v60.0";

    const CREATES: u64 = 1_000;
    group.throughput(Throughput::Elements(CREATES));
    group.bench_function("sobject_create", |b| {
        b.iter(|| {
            let requests =
                (0..CREATES).map(|i| request(&format!("{V}/sobjects/Contact"), &sf_contact(i)));
            drive(&runtime, Org::new(unlimited()).router(), requests);
        })
    });

    const BATCHES: u64 = 10;
    group.throughput(Throughput::Elements(BATCHES * 200));
    let bodies: Vec<serde_json::Value> = (0..BATCHES)
        .map(|b| {
            let records: Vec<_> = (0..200).map(|i| sf_contact(b * 200 + i)).collect();
            json!({ "allOrNone": false, "records": records })
        })
        .collect();
    let upsert = format!("{V}/composite/sobjects/Contact/Syncproof_Id__c");
    group.bench_function("collections_upsert_200", |b| {
        b.iter(|| {
            let requests = bodies
                .iter()
                .map(|body| request_with("PATCH", &upsert, body));
            drive(&runtime, Org::new(unlimited()).router(), requests);
        })
    });

    // One 2,000-record page of a query over 4,500 contacts (filter, sort, render).
    let org = Org::new(unlimited());
    let fill = (0..23u64).map(|b| {
        let records: Vec<_> = (b * 200..(b * 200 + 200).min(4_500))
            .map(sf_contact)
            .collect();
        request(
            &format!("{V}/composite/sobjects"),
            &json!({ "records": records }),
        )
    });
    drive(&runtime, org.router(), fill);
    let soql = "SELECT+Id,Email,LastName,Syncproof_Id__c+FROM+Contact+WHERE+LastModifiedDate+%3E+2020-01-01T00:00:00Z+ORDER+BY+Syncproof_Id__c";
    let query = format!("{V}/query?q={soql}");
    group.throughput(Throughput::Elements(2_000));
    group.bench_function("soql_page_2000", |b| {
        b.iter(|| {
            let get = Request::builder()
                .uri(&query)
                .header("authorization", "Bearer bench")
                .body(Body::empty())
                .unwrap();
            drive(&runtime, org.router(), std::iter::once(get));
        })
    });
    group.finish();
}

criterion_group!(benches, engine, salesforce);
criterion_main!(benches);
