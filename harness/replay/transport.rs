//! The write and read calls' HTTP/1.1 transport: hyper connections of our own to the target's
//! one origin, kept alive in a pool, over TCP or rustls.
//!
//! A run sends to one origin for weeks, so what a general client does per request (parse the
//! URL, resolve the proxy, clone its connector, walk its middleware) is done once here: the
//! origin, its `Host` header and the TLS configuration are fixed when the client is made, and a
//! call borrows an idle connection, writes the request, reads the whole answer and gives the
//! connection back. A connection the server closed while idle is noticed before use; a request
//! a stale connection refused unsent goes once more on a fresh one. Nothing else is retried
//! here: retries are the policy's, counted as attempts.
//!
//! When the environment names a proxy for the target's scheme (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`), the client goes through `reqwest` instead, which knows proxies and `NO_PROXY`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// Idle connections kept for reuse (a run's concurrency rarely passes it; beyond it a
/// connection is closed after its call).
const MAX_IDLE: usize = 512;

/// A whole answer: status, headers, body.
pub(crate) type Answer = (StatusCode, HeaderMap, Bytes);

/// Connections to one origin.
pub(crate) struct Direct {
    /// `host` or `host:port` as the `Host` header says it.
    host_header: HeaderValue,
    /// Where to connect: host (without IPv6 brackets) and port.
    addr: (String, u16),
    /// The base URL's path, without its trailing `/` ("" for the root).
    base_path: String,
    /// The base URL, for the rare path that must be normalised by a URL parser.
    base_url: Url,
    tls: Option<(TlsConnector, ServerName<'static>)>,
    timeout: Duration,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl std::fmt::Debug for Direct {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Direct")
            .field("addr", &self.addr)
            .field("base_path", &self.base_path)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Direct {
    /// A transport to `base` (an `http://` or `https://` URL), trusting the web PKI roots and
    /// `extra_ca`; `None` when the environment routes the scheme through a proxy. An error
    /// says why the URL or the certificates cannot be used.
    pub(crate) fn new(
        base: &str,
        extra_ca: &[CertificateDer<'static>],
        timeout: Duration,
    ) -> Result<Option<Direct>, String> {
        let url = Url::parse(base).map_err(|e| format!("{base:?} is not a URL: {e}"))?;
        let https = match url.scheme() {
            "http" => false,
            "https" => true,
            other => return Err(format!("{base:?}: the scheme {other} is not http or https")),
        };
        if proxied(https) {
            return Ok(None);
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("{base:?} has no host"))?;
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        let host_header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        let host_header = HeaderValue::from_str(&host_header)
            .map_err(|e| format!("{base:?}: the host cannot be a header: {e}"))?;
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tls = if https {
            let config = super::tls::client_config(extra_ca)?;
            let name = ServerName::try_from(bare.clone())
                .map_err(|e| format!("{base:?}: {bare} is not a TLS server name: {e}"))?;
            Some((TlsConnector::from(Arc::new(config)), name))
        } else {
            None
        };
        Ok(Some(Direct {
            host_header,
            addr: (bare, port),
            base_path: url.path().trim_end_matches('/').to_string(),
            base_url: url,
            tls,
            timeout,
            idle: Mutex::new(Vec::new()),
        }))
    }

    /// Sends `method path` (relative to the base URL, query included) with `headers` and
    /// `body`, and reads the whole answer within the timeout. The error is the cause in words.
    pub(crate) async fn send(
        &self,
        method: &Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<&Bytes>,
    ) -> Result<Answer, String> {
        let request = self.request(method, path, headers, body)?;
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!(
                "no answer within {} (the plan's timeout)",
                humantime::format_duration(self.timeout)
            )),
        }
    }

    fn request(
        &self,
        method: &Method,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Option<&Bytes>,
    ) -> Result<hyper::Request<Full<Bytes>>, String> {
        let target = format!("{}{path}", self.base_path);
        let uri = match hyper::Uri::try_from(target.as_str()) {
            Ok(uri) if target.starts_with('/') => uri,
            // Spaces, non-ASCII, no leading slash: what a URL parser makes of it.
            _ => {
                let joined = format!("{}{path}", self.base_url.as_str().trim_end_matches('/'));
                let url = Url::parse(&joined).map_err(|e| format!("{joined:?}: {e}"))?;
                let mut origin_form = url.path().to_string();
                if let Some(query) = url.query() {
                    origin_form.push('?');
                    origin_form.push_str(query);
                }
                hyper::Uri::try_from(origin_form).map_err(|e| format!("{joined:?}: {e}"))?
            }
        };
        let mut request = hyper::Request::new(Full::new(body.cloned().unwrap_or_default()));
        *request.method_mut() = method.clone();
        *request.uri_mut() = uri;
        let h = request.headers_mut();
        h.insert(header::HOST, self.host_header.clone());
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        if body.is_some() {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        for (name, value) in headers {
            h.insert(name.clone(), value.clone());
        }
        Ok(request)
    }

    async fn exchange(&self, request: hyper::Request<Full<Bytes>>) -> Result<Answer, String> {
        let (mut conn, reused) = match self.take_idle() {
            Some(conn) => (conn, true),
            None => (self.connect().await?, false),
        };
        let response = match conn.try_send_request(request).await {
            Ok(response) => response,
            // A kept-alive connection the server had closed: the request was not written, so
            // it goes once more on a fresh connection.
            Err(mut e) if reused && e.message().is_some() => {
                let request = e.take_message().expect("checked above");
                conn = self.connect().await?;
                conn.try_send_request(request)
                    .await
                    .map_err(|e| cause_chain("error sending request", e.error()))?
            }
            Err(e) => return Err(cause_chain("error sending request", e.error())),
        };
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| cause_chain("error reading the answer's body", &e))?
            .to_bytes();
        self.give_back(conn);
        Ok((parts.status, parts.headers, body))
    }

    fn take_idle(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(conn) = idle.pop() {
            if conn.is_ready() {
                return Some(conn);
            }
        }
        None
    }

    fn give_back(&self, conn: SendRequest<Full<Bytes>>) {
        if conn.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// A new connection, its driver spawned: it ends when the connection closes or when its
    /// `SendRequest` is dropped.
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let (host, port) = (&self.addr.0, self.addr.1);
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        tcp.set_nodelay(true)
            .map_err(|e| format!("{host}:{port}: TCP_NODELAY: {e}"))?;
        match &self.tls {
            None => handshake(TokioIo::new(tcp)).await,
            Some((connector, name)) => {
                let tls = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|e| format!("TLS handshake with {host}:{port} failed: {e}"))?;
                handshake(TokioIo::new(tls)).await
            }
        }
    }
}

async fn handshake<T>(io: T) -> Result<SendRequest<Full<Bytes>>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (send, conn) = http1::handshake(io)
        .await
        .map_err(|e| cause_chain("HTTP/1.1 handshake failed", &e))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "target connection ended");
        }
    });
    Ok(send)
}

/// True when the environment sends `https` (or `http`) traffic through a proxy.
fn proxied(https: bool) -> bool {
    let names: &[&str] = if https {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    };
    names
        .iter()
        .any(|n| std::env::var_os(n).is_some_and(|v| !v.is_empty()))
}

/// `what: error: its source: ...`, the whole chain in one line.
pub(crate) fn cause_chain(what: &str, e: &(dyn std::error::Error + 'static)) -> String {
    let mut message = format!("{what}: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_read_once_from_the_base_url() {
        let d = Direct::new("http://127.0.0.1:8080/api/", &[], Duration::from_secs(1))
            .unwrap()
            .unwrap();
        assert_eq!(d.host_header, "127.0.0.1:8080");
        assert_eq!(d.addr, ("127.0.0.1".to_string(), 8080));
        assert_eq!(d.base_path, "/api");
        let r = d
            .request(&Method::GET, "/x?q=a b", &[], None)
            .expect("a path with a space is normalised");
        assert_eq!(r.uri().to_string(), "/api/x?q=a%20b");
        assert!(r.headers().get(header::CONTENT_TYPE).is_none());

        let v6 = Direct::new("https://[::1]/", &[], Duration::from_secs(1))
            .unwrap()
            .unwrap();
        assert_eq!(
            (v6.host_header.to_str().unwrap(), v6.addr.1),
            ("[::1]", 443)
        );
        assert_eq!((v6.addr.0.as_str(), v6.base_path.as_str()), ("::1", ""));
        assert!(Direct::new("ftp://x/", &[], Duration::from_secs(1)).is_err());
    }
}
