//! TLS facts about a target: the extra CA a plan trusts (`[target] ca_file`), and the TLS
//! version the target negotiates, recorded in the summary so a report shows what the PoC
//! actually ran over (below TLS 1.2 is flagged).
//!
//! reqwest does not expose the negotiated version (its `TlsInfo` carries only the peer
//! certificate), so the run opens one short handshake of its own at start, with rustls, the
//! same trusted roots (the bundled web PKI roots plus `ca_file`) and full verification. The
//! probe never sends a request: it connects, shakes hands, reads the version and hangs up.

use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, ProtocolVersion, RootCertStore};

/// What `tls_version` reports for an `http://` target.
pub const PLAIN_HTTP: &str = "none (plain HTTP)";

/// The certificates of a PEM file (one or more `CERTIFICATE` blocks); an error says why the
/// file is unusable.
pub fn parse_ca_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file ({e})"))?;
    if certs.is_empty() {
        return Err("holds no PEM CERTIFICATE block".into());
    }
    Ok(certs)
}

/// The TLS version `base_url` negotiates ("TLSv1.3", "TLSv1.2"), [`PLAIN_HTTP`] for http://,
/// or "unknown (...)" with the reason when the handshake fails.
pub async fn tls_version(base_url: &str, extra_ca: &[CertificateDer<'static>]) -> String {
    match probe(base_url, extra_ca).await {
        Ok(version) => version,
        Err(reason) => format!("unknown ({reason})"),
    }
}

/// True when `version` (as [`tls_version`] reports it) is an encrypted connection older than
/// TLS 1.2, or one whose version could not be established.
pub fn below_tls12(version: &str) -> bool {
    version != PLAIN_HTTP && !matches!(version, "TLSv1.2" | "TLSv1.3")
}

/// The rustls configuration every connection to a target uses: TLS 1.2 or 1.3, the bundled web
/// PKI roots plus `extra_ca`, full verification, HTTP/1.1 offered by ALPN.
pub(crate) fn client_config(extra_ca: &[CertificateDer<'static>]) -> Result<ClientConfig, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in extra_ca {
        roots
            .add(cert.clone())
            .map_err(|e| format!("ca_file: {e}"))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

async fn probe(base_url: &str, extra_ca: &[CertificateDer<'static>]) -> Result<String, String> {
    let url = reqwest::Url::parse(base_url).map_err(|e| format!("bad URL: {e}"))?;
    match url.scheme() {
        "http" => return Ok(PLAIN_HTTP.into()),
        "https" => {}
        other => return Err(format!("scheme {other} is not http(s)")),
    }
    let host = url.host_str().ok_or("the URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    let name = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let server_name = ServerName::try_from(name.clone()).map_err(|e| format!("{e}"))?;

    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config(extra_ca)?));
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((name.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let tls = connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| handshake_failure(&e))?;
        Ok::<_, String>(tls.get_ref().1.protocol_version())
    };
    let version = tokio::time::timeout(Duration::from_secs(15), handshake)
        .await
        .map_err(|_| "no handshake within 15 s".to_string())??;
    Ok(match version {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".into(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".into(),
        Some(other) => format!("{other:?}"),
        None => return Err("no version after the handshake".into()),
    })
}

/// A handshake error in words; a server that offers only versions older than 1.2 says so.
fn handshake_failure(e: &std::io::Error) -> String {
    let text = e.to_string();
    if text.contains("ProtocolVersion") || text.contains("PeerIncompatible") {
        format!("the server offers no TLS 1.2 or 1.3: {text}")
    } else {
        format!("handshake failed: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn plain_http_is_reported_as_such_and_only_old_or_unknown_versions_are_flagged() {
        assert_eq!(tls_version("http://127.0.0.1:1", &[]).await, PLAIN_HTTP);
        assert!(!below_tls12(PLAIN_HTTP));
        assert!(!below_tls12("TLSv1.2") && !below_tls12("TLSv1.3"));
        assert!(below_tls12("TLSv1_1"));
        assert!(below_tls12("unknown (handshake failed: x)"));
        // Nothing listens on port 1: the reason is kept.
        let v = tls_version("https://127.0.0.1:1", &[]).await;
        assert!(v.starts_with("unknown (cannot connect"), "{v}");
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        assert!(parse_ca_pem(b"hello").is_err());
        let pem = syncproof_mocks::TlsMaterial::generate().unwrap();
        assert_eq!(parse_ca_pem(pem.ca_pem().as_bytes()).unwrap().len(), 1);
    }
}
