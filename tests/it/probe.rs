//! `probe-limits` against servers whose limits are known: the built-in mock (honest) and a
//! server whose `Retry-After` lies.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::routing::get;
use syncproof::replay::{CrmClient, ProbeOptions, probe_limits};
use syncproof_mocks::{Crm, CrmConfig, serve};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

fn options() -> ProbeOptions {
    ProbeOptions {
        max_calls: 500,
        max_duration: Duration::from_secs(20),
        concurrency: 4,
        poll: Duration::from_millis(20),
        ..ProbeOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_s_burst_and_honest_retry_after_are_found() {
    let shutdown = CancellationToken::new();
    let crm = Crm::new(CrmConfig {
        burst_max: 25,
        burst_window: Duration::from_secs(2),
        ..CrmConfig::default()
    });
    let (addr, _server) = serve(crm.router(), shutdown.clone()).await.unwrap();
    let client =
        CrmClient::new(&format!("http://{addr}"), "probe", Duration::from_secs(5)).unwrap();
    let report = probe_limits(&client, &options()).await;
    shutdown.cancel();
    assert_eq!(report.admitted_before_throttle, Some(25), "{report:?}");
    assert_eq!(report.throttle_status, Some(429));
    assert_eq!(
        report.throttle_policy.as_deref(),
        Some("TEN_SECONDLY_ROLLING")
    );
    assert_eq!(report.headers.burst_max, Some(25));
    assert_eq!(report.headers.interval_ms, Some(2000));
    assert_eq!(report.retry_after_honest, Some(true));
    let recovery = report.recovery_ms.unwrap();
    assert!(
        (900.0..=3500.0).contains(&recovery),
        "recovery {recovery} ms for a 2 s window"
    );
    assert!(report.flags.is_empty(), "{:?}", report.flags);
    // The mock's own count: every probe call reached it.
    assert_eq!(crm.accounting().total_calls(), report.calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_that_lies_is_flagged() {
    // Admits 10 calls; then refuses for 1.5 s while saying "Retry-After: 1".
    let served = Arc::new(AtomicU64::new(0));
    let throttled_since = Arc::new(std::sync::Mutex::new(None::<Instant>));
    let app = Router::new().route(
        "/crm/v3/objects/contacts",
        get(move || {
            let (served, since) = (Arc::clone(&served), Arc::clone(&throttled_since));
            async move {
                let n = served.fetch_add(1, Ordering::SeqCst);
                let mut headers = HeaderMap::new();
                headers.insert("x-hubspot-ratelimit-max", HeaderValue::from(10));
                if n < 10 {
                    return (StatusCode::OK, headers, r#"{"results":[]}"#);
                }
                let mut since = since.lock().unwrap();
                let start = *since.get_or_insert_with(Instant::now);
                if start.elapsed() < Duration::from_millis(1500) {
                    headers.insert("retry-after", HeaderValue::from(1));
                    return (
                        StatusCode::TOO_MANY_REQUESTS,
                        headers,
                        r#"{"policyName":"TEN_SECONDLY_ROLLING"}"#,
                    );
                }
                (StatusCode::OK, headers, r#"{"results":[]}"#)
            }
        }),
    );
    let shutdown = CancellationToken::new();
    let (addr, _server) = serve(app, shutdown.clone()).await.unwrap();
    let client =
        CrmClient::new(&format!("http://{addr}"), "probe", Duration::from_secs(5)).unwrap();
    let report = probe_limits(&client, &options()).await;
    shutdown.cancel();
    assert_eq!(report.admitted_before_throttle, Some(10));
    assert_eq!(report.retry_after_s, Some(1.0));
    assert_eq!(report.retry_after_honest, Some(false));
    assert!(report.recovery_ms.unwrap() >= 1400.0, "{report:?}");
    assert!(
        report
            .flags
            .iter()
            .any(|f| f.contains("Retry-After is dishonest")),
        "{:?}",
        report.flags
    );
}

#[test]
fn probing_a_url_without_a_token_is_bad_input() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syncproof"))
        .args([
            "probe-limits",
            "--url",
            "http://127.0.0.1:9",
            "--token-env",
            "SYNCPROOF_TEST_NO_SUCH_VAR",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SYNCPROOF_TEST_NO_SUCH_VAR"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_limits_with_a_hubspot_plan_probes_its_url_with_its_credential() {
    let shutdown = CancellationToken::new();
    let crm = Crm::new(CrmConfig {
        tokens: vec!["plan-token".into()],
        burst_max: 30,
        burst_window: Duration::from_secs(1),
        ..CrmConfig::default()
    });
    let (addr, _server) = serve(crm.router(), shutdown.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), "plan-token").unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        crate::api_poc::plan(&format!("http://{addr}"), "token_file = \"token.txt\""),
    )
    .unwrap();
    let json = dir.path().join("probe.json");
    let args = [
        "probe-limits".to_string(),
        plan.display().to_string(),
        "--json".into(),
        json.display().to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_syncproof"))
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    shutdown.cancel();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(report["admitted_before_throttle"], 30);
    assert_eq!(report["retry_after_honest"], true);
    assert_eq!(
        crm.accounting().faults.get("unauthorized"),
        None,
        "the plan's credential was used"
    );
}
