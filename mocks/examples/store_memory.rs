//! Memory of the HubSpot mock per stored record, against the records' wire size, and its
//! growth with requests that store nothing. Drives the engine's router in-process (the same
//! vendor logic as over a socket, limits enforced but never reached) with the 616-byte contact
//! of `benches/peers/mock_vs_bare.lua`, reading the process's RSS from `/proc/self/statm`.
//! `cargo run --release -p syncproof-mocks --example store_memory -- [RECORDS] [REQUESTS]`

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use syncproof_mocks::{Crm, CrmConfig};
use tower::ServiceExt;

/// The wrk script's contact, record `i`.
fn contact(i: u64) -> String {
    format!(
        r#"{{"properties":{{"email":"jane.doe{i}@example.com","firstname":"Jane","lastname":"Doe","phone":"+1 415-555-0132","company":"Acme Incorporated","jobtitle":"Head of Revenue Operations","address":"1 Market Street, Suite 400","city":"San Francisco","zip":"94105","country":"United States","lifecyclestage":"marketingqualifiedlead","syncproof_id":"sp-0000002a-{i}","created_at":"2024-05-17T09:21:44Z","hs_lead_status":"OPEN","website":"https://acme.example.com"}}}}"#
    )
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

async fn send(router: &axum::Router, method: &str, uri: &str, body: String) -> u16 {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer bench")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_default();
    match router.clone().oneshot(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
            status
        }
        Err(never) => match never {},
    }
}

fn main() {
    let records = arg(1, 1_000_000);
    let requests = arg(2, 1_000_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let crm = Crm::new(CrmConfig {
            burst_max: 100_000_000,
            burst_window: Duration::from_secs(10),
            daily_max: 1_000_000_000_000,
            unique_properties: vec!["email".into()],
            tokens: vec!["bench".into()],
            ..CrmConfig::default()
        });
        let router = crm.app();
        let start = rss_bytes();
        let (mut wire, started) = (0u64, Instant::now());
        for i in 0..records {
            let body = contact(i);
            wire += body.len() as u64;
            assert_eq!(send(&router, "POST", "/crm/v3/objects/contacts", body).await, 201);
        }
        let stored = rss_bytes();
        let per_record = (stored - start) as f64 / records as f64;
        println!(
            "{records} creates in {:.1} s: RSS {:.1} MB -> {:.1} MB, {per_record:.0} B a record, \
             wire {:.0} B a record, ratio {:.2}",
            started.elapsed().as_secs_f64(),
            start as f64 / 1e6,
            stored as f64 / 1e6,
            wire as f64 / records as f64,
            per_record / (wire as f64 / records as f64),
        );
        // Requests that store nothing: reads by id and by email, and duplicate creates (409).
        let started = Instant::now();
        for i in 0..requests {
            let n = i % records.max(1);
            let status = match i % 3 {
                0 => send(&router, "GET", &format!("/crm/v3/objects/contacts/{}", n + 1), String::new()).await,
                1 => send(
                    &router,
                    "GET",
                    &format!("/crm/v3/objects/contacts/jane.doe{n}@example.com?idProperty=email"),
                    String::new(),
                )
                .await,
                _ => send(&router, "POST", "/crm/v3/objects/contacts", contact(n)).await,
            };
            assert!(status == 200 || status == 409, "status {status}");
        }
        let served = rss_bytes();
        println!(
            "{requests} reads and refused creates in {:.1} s: RSS {:.1} MB -> {:.1} MB ({:+.1} MB), \
             {} records",
            started.elapsed().as_secs_f64(),
            stored as f64 / 1e6,
            served as f64 / 1e6,
            (served as f64 - stored as f64) / 1e6,
            crm.record_count(),
        );
    });
}
