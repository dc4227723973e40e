//! Throughput of the mock CRM engine with its full vendor logic (auth, rolling and daily limits,
//! rate headers, unique indexes, accounting), driven through its axum router in-process, so the
//! figure is the engine's own cost without the socket. Single-record creates and 100-record
//! batch upserts, as a PoC sends them. Results and commands: BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use syncproof_mocks::{Crm, CrmConfig};
use tower::ServiceExt;

fn contact(i: u64) -> serde_json::Value {
    json!({
        "email": format!("jane.doe{i}@example.com"), "firstname": "Jane", "lastname": "Doe",
        "phone": "+1 415-555-0132", "company": "Acme Inc", "jobtitle": "Head of Operations",
        "address": "1 Market St", "city": "San Francisco", "zip": "94105", "country": "United States",
        "lifecyclestage": "lead", "syncproof_id": format!("sp-{i}"),
    })
}

fn request(uri: &str, body: &serde_json::Value) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(uri)
        .header("authorization", "Bearer bench")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn engine(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let unlimited = || CrmConfig {
        burst_max: 0,
        daily_max: 0,
        ..CrmConfig::default()
    };
    let mut group = c.benchmark_group("mock_engine");

    const CREATES: u64 = 1_000;
    group.throughput(Throughput::Elements(CREATES));
    group.bench_function("single_create", |b| {
        b.iter(|| {
            let crm: Arc<Crm> = Crm::new(unlimited());
            let router = crm.router();
            runtime.block_on(async {
                for i in 0..CREATES {
                    let body = json!({ "properties": contact(i) });
                    let r = router
                        .clone()
                        .oneshot(request("/crm/v3/objects/contacts", &body))
                        .await
                        .unwrap();
                    black_box(
                        axum::body::to_bytes(r.into_body(), usize::MAX)
                            .await
                            .unwrap(),
                    );
                }
            })
        })
    });

    const BATCHES: u64 = 20;
    group.throughput(Throughput::Elements(BATCHES * 100));
    let bodies: Vec<serde_json::Value> = (0..BATCHES)
        .map(|b| {
            let inputs: Vec<_> = (0..100)
                .map(|i| {
                    let id = format!("sp-{}", b * 100 + i);
                    json!({ "idProperty": "syncproof_id", "id": id, "properties": contact(b * 100 + i) })
                })
                .collect();
            json!({ "inputs": inputs })
        })
        .collect();
    group.bench_function("batch_upsert_100", |b| {
        b.iter(|| {
            let crm: Arc<Crm> = Crm::new(unlimited());
            let router = crm.router();
            runtime.block_on(async {
                for body in &bodies {
                    let r = router
                        .clone()
                        .oneshot(request("/crm/v3/objects/contacts/batch/upsert", body))
                        .await
                        .unwrap();
                    black_box(
                        axum::body::to_bytes(r.into_body(), usize::MAX)
                            .await
                            .unwrap(),
                    );
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
