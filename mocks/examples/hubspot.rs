//! The HubSpot mock as `benches/peers/mock_vs_bare.sh` serves it: the full vendor logic with
//! limits enforced at a ceiling a one-core load never reaches, so admission, the rolling window,
//! the daily count and the rate headers run on every request while nothing is throttled; `email`
//! unique (HubSpot's own unique property), one bearer token, the harness's `/__syncproof/stats`.
//! The runtime is the bare handler's (`examples/bare.rs`: current-thread), so the comparison
//! measures the vendor logic and not the scheduler; `syncproof mock` runs the same engine on the
//! multi-threaded runtime (one worker when pinned to one core).
//! `cargo run --release -p syncproof-mocks --example hubspot -- 127.0.0.1:8080`

use std::time::Duration;

use syncproof_mocks::{Crm, CrmConfig};

fn main() -> std::io::Result<()> {
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let cfg = CrmConfig {
        name: "bench".into(),
        // 100 M requests per 10 s and 10^12 a day: enforced, never reached.
        burst_max: 100_000_000,
        burst_window: Duration::from_secs(10),
        daily_max: 1_000_000_000_000,
        unique_properties: vec!["email".into()],
        tokens: vec!["bench".into()],
        ..CrmConfig::default()
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let crm = Crm::new(cfg);
            let listener = tokio::net::TcpListener::bind(addr).await?;
            println!("hubspot mock at http://{}", listener.local_addr()?);
            axum::serve(listener, crm.app()).await
        })
}
