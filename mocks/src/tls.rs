//! HTTPS for the mock: a certificate authority generated at start (rcgen), a server certificate
//! it signs for `localhost`, `127.0.0.1` and `::1`, and a listener that hands axum TLS streams,
//! because several official vendor clients refuse plain HTTP. Clients trust the CA's PEM
//! ([`TlsMaterial::ca_pem`], written by `syncproof mock --ca-out FILE`) and verify as usual;
//! nothing here asks anyone to switch verification off.
//!
//! TLS 1.2 and 1.3 with rustls' safe defaults (ring provider, the one reqwest already uses).
//! Handshakes run in their own tasks, so one slow or silent client never holds up the accept
//! loop; a handshake that takes longer than 10 s is dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::server::TlsStream;
use tokio_util::sync::CancellationToken;

/// The names the server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh CA and the server configuration whose certificate it signed.
#[derive(Clone)]
pub struct TlsMaterial {
    ca_pem: String,
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsMaterial { .. }")
    }
}

/// Why the certificates or the TLS configuration could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot generate the mock's certificates: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot configure TLS: {0}")]
    Config(#[from] tokio_rustls::rustls::Error),
}

impl TlsMaterial {
    /// Generates a CA (valid for this run only: its key never leaves memory) and a server
    /// certificate for [`SERVER_NAMES`] signed by it.
    pub fn generate() -> Result<TlsMaterial, TlsError> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.distinguished_name
            .push(DnType::CommonName, "syncproof mock CA");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

        let mut leaf = CertificateParams::new(SERVER_NAMES.map(String::from).to_vec())?;
        leaf.distinguished_name
            .push(DnType::CommonName, "syncproof mock");
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &ca)?;

        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(
                vec![leaf_cert.der().clone(), ca.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
            )?;
        // The routers speak HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsMaterial {
            ca_pem: ca.pem(),
            config: Arc::new(config),
        })
    }

    /// The CA certificate as PEM: what a client adds to its trusted roots.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}

/// Binds `addr` and serves `router` over HTTPS until `shutdown` (graceful, as
/// [`crate::serve_at`]).
pub async fn serve_tls_at(
    router: Router,
    addr: SocketAddr,
    tls: &TlsMaterial,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let tcp = TcpListener::bind(addr).await?;
    let local = tcp.local_addr()?;
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(Arc::clone(&tls.config));
    let accepting = tokio::spawn(accept_loop(tcp, acceptor, tx, shutdown.clone()));
    let listener = TlsListener { rx, local };
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.cancelled_owned().await });
        if let Err(err) = server.await {
            tracing::error!(addr = %local, error = %err, "mock TLS server stopped with an error");
        }
        accepting.abort();
    });
    Ok((local, task))
}

/// Accepts TCP connections and completes each TLS handshake in its own task.
async fn accept_loop(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = tcp.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(ok) => ok,
            Err(err) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, peer)).await;
                }
                Ok(Err(err)) => tracing::debug!(%peer, error = %err, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// Hands axum the connections whose handshake completed.
struct TlsListener {
    rx: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop ended (shutdown): nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_trusting_the_ca_gets_https_and_one_that_does_not_is_refused() {
        let tls = TlsMaterial::generate().unwrap();
        let router = Router::new().route("/ok", axum::routing::get(|| async { "fine" }));
        let shutdown = CancellationToken::new();
        let (addr, task) = serve_tls_at(
            router,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            &tls,
            shutdown.clone(),
        )
        .await
        .unwrap();
        let ca = reqwest::Certificate::from_pem(tls.ca_pem().as_bytes()).unwrap();
        let trusting = reqwest::Client::builder()
            .add_root_certificate(ca)
            .build()
            .unwrap();
        for host in ["127.0.0.1", "localhost"] {
            let url = format!("https://{host}:{}/ok", addr.port());
            let body = trusting
                .get(&url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body, "fine", "{url}");
        }
        let stranger = reqwest::Client::new();
        let err = stranger
            .get(format!("https://127.0.0.1:{}/ok", addr.port()))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        // Plain HTTP on the TLS port gets no answer.
        assert!(
            reqwest::get(format!("http://127.0.0.1:{}/ok", addr.port()))
                .await
                .is_err()
        );
        shutdown.cancel();
        task.await.unwrap();
    }
}
