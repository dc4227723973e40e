//! `serve` puts a mock CRM on a loopback port, answers real HTTP, and stops when cancelled.

use std::time::Duration;

use serde_json::{Value, json};
use syncproof_mocks::{Crm, CrmConfig, serve};
use tokio_util::sync::CancellationToken;

use crate::support::{HARNESS, client};

#[tokio::test]
async fn serves_on_loopback_and_stops_on_cancel() {
    let crm = Crm::new(CrmConfig::default());
    let shutdown = CancellationToken::new();
    let (addr, task) = serve(crm.router(), shutdown.clone()).await.unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0);
    let http = client();
    let created = http
        .post(format!("http://{addr}/crm/v3/objects/contacts"))
        .bearer_auth(HARNESS)
        .json(&json!({"properties": {"email": "X@Y.io"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(created.headers()["x-hubspot-ratelimit-max"], "190");
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["properties"]["email"], "x@y.io");
    assert_eq!(crm.record_count(), 1);

    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("server stops promptly after cancel")
        .unwrap();
    assert!(
        http.get(format!("http://{addr}/crm/v3/objects/contacts"))
            .send()
            .await
            .is_err()
    );
}
