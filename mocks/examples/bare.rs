//! The baseline the mock is measured against: a bare axum handler that parses a contact and
//! answers 201 (and one that parses a 100-input batch and answers 200), with none of the vendor
//! logic (no auth, limits, headers, store or accounting).
//! `cargo run --release -p syncproof-mocks --example bare -- 127.0.0.1:8081`

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;

async fn create(body: Bytes) -> (StatusCode, &'static str) {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) if v.get("properties").is_some() => (
            StatusCode::CREATED,
            r#"{"id":"1","properties":{},"createdAt":"2026-01-01T00:00:00.000Z","updatedAt":"2026-01-01T00:00:00.000Z","archived":false}"#,
        ),
        _ => (StatusCode::BAD_REQUEST, r#"{"status":"error"}"#),
    }
}

/// A batch: parse it and answer 200 with the inputs as results, so the answer is about the size
/// of the vendor's (which returns every record it wrote).
async fn batch(body: Bytes) -> (StatusCode, String) {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(mut v) if v.get("inputs").is_some_and(serde_json::Value::is_array) => {
            let results = v["inputs"].take();
            let answer = serde_json::json!({
                "status": "COMPLETE", "results": results,
                "startedAt": "2026-01-01T00:00:00.000Z", "completedAt": "2026-01-01T00:00:00.000Z",
            });
            (StatusCode::OK, answer.to_string())
        }
        _ => (StatusCode::BAD_REQUEST, r#"{"status":"error"}"#.to_string()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8081".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("bare handler at http://{}", listener.local_addr()?);
    axum::serve(
        listener,
        Router::new()
            .route("/crm/v3/objects/contacts", post(create))
            .route("/crm/v3/objects/contacts/batch/upsert", post(batch)),
    )
    .await
}
