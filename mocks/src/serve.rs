//! `serve`: puts a router on a loopback port chosen by the OS and stops it on cancellation.
//!
//! Port 0 keeps parallel tests from colliding; the caller gets the address back and a join
//! handle, so nothing is detached and the server's end is observable.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Binds `127.0.0.1:0` and serves `router` until `shutdown` is cancelled (graceful: in-flight
/// requests finish, idle keep-alive connections are closed). The task ends after that.
pub async fn serve(
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_at(router, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), shutdown).await
}

/// Like [`serve`], on a given address (`syncproof mock --port`).
pub async fn serve_at(
    router: Router,
    addr: SocketAddr,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled_owned().await });
        if let Err(err) = server.await {
            tracing::error!(%addr, error = %err, "mock server stopped with an error");
        }
    });
    Ok((addr, task))
}
