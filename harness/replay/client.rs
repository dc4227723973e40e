//! The HTTP client: one per target (its own hyper connections, or `reqwest` behind a proxy:
//! see `transport`), bearer auth (a fixed token, or OAuth refreshed before expiry and once per
//! 401: see `auth`), a timeout, certificate verification against the web PKI roots plus any CA
//! the plan names, and a response reduced to what the harness needs: status, JSON body (parsed
//! when asked for), `Retry-After`, and how much of the vendor's rolling quota is used (from its
//! rate-limit headers). Transport errors, and a token that cannot be had, become status 0 with
//! the error's message; nothing panics on a strange response.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use syncproof_mocks::Clock;

use super::auth::{AuthStats, Bearer, Credential};
use super::plan::Secret;
use super::transport::{Answer, Direct, cause_chain};

/// What came back from one call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallResponse {
    /// HTTP status; 0 when no response arrived.
    pub status: u16,
    pub body: JsonBody,
    pub retry_after: Option<Duration>,
    /// Share of the rolling-window quota used after this call (0..=1), when the vendor says.
    pub quota_used: Option<f64>,
    /// The vendor's rate-limit headers, as sent.
    pub limits: RateHeaders,
    pub error: Option<String>,
}

/// An answer's body, parsed as JSON the first time it is asked for: most writes are settled
/// by their status alone, so their bodies are never parsed.
#[derive(Debug, Clone, Default)]
pub struct JsonBody {
    raw: Bytes,
    parsed: std::sync::OnceLock<Option<Value>>,
}

impl JsonBody {
    pub fn new(raw: Bytes) -> JsonBody {
        JsonBody {
            raw,
            parsed: std::sync::OnceLock::new(),
        }
    }

    /// The body as JSON; `None` when it is empty or not JSON.
    pub fn value(&self) -> Option<&Value> {
        self.parsed
            .get_or_init(|| serde_json::from_slice(&self.raw).ok())
            .as_ref()
    }

    pub fn into_value(self) -> Option<Value> {
        match self.parsed.into_inner() {
            Some(parsed) => parsed,
            None => serde_json::from_slice(&self.raw).ok(),
        }
    }
}

/// Equal when they hold the same JSON (whether parsed yet or not), or, when either is not
/// JSON, the same bytes.
impl PartialEq for JsonBody {
    fn eq(&self, other: &JsonBody) -> bool {
        match (self.value(), other.value()) {
            (Some(a), Some(b)) => a == b,
            _ => self.raw == other.raw,
        }
    }
}

/// The body a server would send for `value` (parsed again when asked for, as any answer is).
impl From<Value> for JsonBody {
    fn from(value: Value) -> JsonBody {
        JsonBody::new(json_bytes(&value))
    }
}

/// HubSpot's `X-HubSpot-RateLimit-*` headers of one response (each absent when not sent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RateHeaders {
    pub burst_max: Option<u64>,
    pub burst_remaining: Option<u64>,
    pub interval_ms: Option<u64>,
    pub daily: Option<u64>,
    pub daily_remaining: Option<u64>,
}

impl RateHeaders {
    /// Salesforce's `Sforce-Limit-Info: api-usage=used/max` (its rolling 24-hour allocation) as
    /// the daily quota, when no HubSpot daily headers were sent.
    fn or_salesforce(mut self, headers: &HeaderMap) -> RateHeaders {
        if self.daily.is_none()
            && let Some((used, max)) = headers
                .get("sforce-limit-info")
                .and_then(|v| v.to_str().ok())
                .and_then(super::salesforce::limit_info)
        {
            self.daily = Some(max);
            self.daily_remaining = Some(max.saturating_sub(used));
        }
        self
    }

    /// Share of the daily quota used (0..=1), when the daily headers were sent.
    pub fn daily_used(&self) -> Option<f64> {
        let (daily, remaining) = (self.daily?, self.daily_remaining?);
        (daily > 0).then(|| daily.saturating_sub(remaining) as f64 / daily as f64)
    }

    /// The burst quota as calls per second: its max over its interval.
    pub fn burst_per_s(&self) -> Option<f64> {
        let (max, ms) = (self.burst_max?, self.interval_ms?);
        (ms > 0).then(|| max as f64 * 1000.0 / ms as f64)
    }
}

/// How often one call is sent again after a 401 with a freshly refreshed OAuth token.
pub const AUTH_RESENDS: usize = 3;

/// A client for one system's API.
#[derive(Debug, Clone)]
pub struct CrmClient {
    /// OAuth token requests, and every call when the environment names a proxy.
    http: reqwest::Client,
    /// The calls' own connections to the target (see `transport`); `None` behind a proxy.
    direct: Option<Arc<Direct>>,
    base: String,
    bearer: Arc<Bearer>,
    /// The credential's header when it is fixed, built once: `Authorization: Bearer` of a
    /// fixed token, or a generic REST target's `auth_header`. `None`: OAuth, whose header is
    /// built from each call's current token.
    auth_header: Option<(HeaderName, HeaderValue)>,
}

/// Why a client cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Target(String),
}

impl CrmClient {
    /// A client with a fixed bearer token.
    pub fn new(base: &str, token: &str, timeout: Duration) -> Result<CrmClient, ClientError> {
        CrmClient::with_credential(
            base,
            &Credential::Token(Secret::new(token)),
            timeout,
            None,
            Clock::real(),
        )
    }

    /// A client authenticated by `credential`, trusting the web PKI roots and, when given, the
    /// extra CA certificates in `ca_pem` (PEM). OAuth expiry is timed on `clock`.
    pub fn with_credential(
        base: &str,
        credential: &Credential,
        timeout: Duration,
        ca_pem: Option<&[u8]>,
        clock: Clock,
    ) -> Result<CrmClient, ClientError> {
        // Redirects are answers to report, not to follow: a write that is redirected did not
        // land where the plan said.
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .pool_max_idle_per_host(64)
            .redirect(reqwest::redirect::Policy::none());
        let mut extra_ca = Vec::new();
        if let Some(pem) = ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem)? {
                builder = builder.add_root_certificate(cert);
            }
            extra_ca = super::tls::parse_ca_pem(pem).map_err(ClientError::Target)?;
        }
        let base = base.trim_end_matches('/').to_string();
        let direct = Direct::new(&base, &extra_ca, timeout).map_err(ClientError::Target)?;
        Ok(CrmClient {
            http: builder.build()?,
            direct: direct.map(Arc::new),
            base,
            bearer: Arc::new(Bearer::new(credential, clock)),
            // A fixed token that cannot be a header fails each call, as an OAuth one would.
            auth_header: match credential {
                Credential::Token(token) => bearer_header(token.expose()).ok(),
                Credential::OAuth(_) => None,
            },
        })
    }

    /// Sends the credential as `header: value` (the value already holding it) instead of a
    /// bearer token. A name or value that cannot be a header is refused.
    pub fn with_auth_header(mut self, header: &str, value: String) -> Result<CrmClient, String> {
        let name = HeaderName::from_bytes(header.as_bytes())
            .map_err(|e| format!("{header:?} cannot be a header name: {e}"))?;
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| format!("the value of {header} cannot be sent as a header"))?;
        value.set_sensitive(true);
        self.auth_header = Some((name, value));
        Ok(self)
    }

    /// What the OAuth session did (refreshes, refreshes after a 401, failures); `None` for a
    /// fixed token.
    pub fn auth_stats(&self) -> Option<AuthStats> {
        self.bearer.stats()
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// POSTs a JSON body to `path` (relative to the base URL).
    pub async fn post(&self, path: &str, body: &Value) -> CallResponse {
        self.send(&Method::POST, path, Some(json_bytes(body))).await
    }

    /// GETs `path` (relative to the base URL, query included).
    pub async fn get(&self, path: &str) -> CallResponse {
        self.send(&Method::GET, path, None).await
    }

    /// Sends a request a target's dialect built.
    pub async fn send_request(&self, request: &super::Request) -> CallResponse {
        let body = request.body.as_ref().map(super::dialect::Body::to_bytes);
        self.send(&request.method, &request.path, body).await
    }

    /// Sends with the current token. With an OAuth credential each 401 is answered by one
    /// refresh and the call is sent again with the new token, at most
    /// [`AUTH_RESENDS`] times (a token revoked right after it was issued is rare, but a run
    /// that lasts weeks meets it); the caller sees the last answer.
    async fn send(&self, method: &Method, path: &str, body: Option<Bytes>) -> CallResponse {
        if let Some(auth) = &self.auth_header {
            // A fixed credential: nothing to refresh, a 401 stands.
            return self
                .send_once(method, path, body.as_ref(), auth.clone())
                .await;
        }
        let mut token = match self.bearer.token(&self.http).await {
            Ok(token) => token,
            Err(e) => return no_answer(e),
        };
        let mut response = self.send_with(method, path, body.as_ref(), &token).await;
        for _ in 0..AUTH_RESENDS {
            if response.status != 401 {
                break;
            }
            token = match self.bearer.after_401(&self.http, &token).await {
                None => break,
                Some(Ok(fresh)) => fresh,
                Some(Err(e)) => return no_answer(e),
            };
            response = self.send_with(method, path, body.as_ref(), &token).await;
        }
        response
    }

    /// Sends with `token` as the bearer.
    async fn send_with(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Bytes>,
        token: &str,
    ) -> CallResponse {
        match bearer_header(token) {
            Ok(auth) => self.send_once(method, path, body, auth).await,
            Err(()) => no_answer("the token cannot be sent as a header".into()),
        }
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Bytes>,
        auth: (HeaderName, HeaderValue),
    ) -> CallResponse {
        let answer = match &self.direct {
            Some(direct) => direct.send(method, path, &[auth], body).await,
            None => self.send_reqwest(method, path, auth, body).await,
        };
        match answer {
            Ok((status, headers, bytes)) => response(status, &headers, bytes),
            Err(message) => no_answer(message),
        }
    }

    /// The same call through `reqwest` (a proxied environment).
    async fn send_reqwest(
        &self,
        method: &Method,
        path: &str,
        (name, value): (HeaderName, HeaderValue),
        body: Option<&Bytes>,
    ) -> Result<Answer, String> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url).header(name, value);
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let response = request
            .send()
            .await
            .map_err(|e| cause_chain("error sending request", &e))?;
        let (status, headers) = (response.status(), response.headers().clone());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| cause_chain("error reading the answer's body", &e))?;
        Ok((status, headers, bytes))
    }
}

/// `Authorization: Bearer <token>`, marked sensitive; `Err` when the token cannot be a header.
fn bearer_header(token: &str) -> Result<(HeaderName, HeaderValue), ()> {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| ())?;
    value.set_sensitive(true);
    Ok((header::AUTHORIZATION, value))
}

/// A JSON body's bytes (a `Value` always serialises).
pub(crate) fn json_bytes(body: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(body).unwrap_or_default())
}

/// What the harness keeps of an answer: status, JSON body, back-off and quota headers (read in
/// place: no copy of the map per call).
fn response(status: StatusCode, headers: &HeaderMap, bytes: Bytes) -> CallResponse {
    let limits = RateHeaders {
        burst_max: header_u64(headers, "x-hubspot-ratelimit-max"),
        burst_remaining: header_u64(headers, "x-hubspot-ratelimit-remaining"),
        interval_ms: header_u64(headers, "x-hubspot-ratelimit-interval-milliseconds"),
        daily: header_u64(headers, "x-hubspot-ratelimit-daily"),
        daily_remaining: header_u64(headers, "x-hubspot-ratelimit-daily-remaining"),
    }
    .or_salesforce(headers);
    CallResponse {
        status: status.as_u16(),
        body: JsonBody::new(bytes),
        retry_after: retry_after(headers),
        quota_used: quota_used(headers),
        limits,
        error: None,
    }
}

/// No answer (a transport error, or no token to send because the OAuth refresh failed): status
/// 0 with the cause, retried by policy.
fn no_answer(message: String) -> CallResponse {
    CallResponse {
        status: 0,
        body: JsonBody::default(),
        retry_after: None,
        quota_used: None,
        limits: RateHeaders::default(),
        error: Some(message),
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `Retry-After` in seconds (the HTTP-date form is not used by CRM APIs).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: f64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// HubSpot's `X-HubSpot-RateLimit-Max` / `-Remaining`.
fn quota_used(headers: &HeaderMap) -> Option<f64> {
    let max = header_u64(headers, "x-hubspot-ratelimit-max")?;
    let remaining = header_u64(headers, "x-hubspot-ratelimit-remaining")?;
    (max > 0).then(|| (max.saturating_sub(remaining)) as f64 / max as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_json_when_it_parses_and_none_otherwise() {
        let body = JsonBody::new(Bytes::from_static(br#"{"id": "42"}"#));
        assert_eq!(body.value().and_then(|v| v["id"].as_str()), Some("42"));
        assert_eq!(body.into_value(), Some(serde_json::json!({ "id": "42" })));
        for raw in [&b""[..], b"<html>busy</html>", b"{\"id\":"] {
            let body = JsonBody::new(Bytes::copy_from_slice(raw));
            assert_eq!(body.value(), None, "{raw:?}");
            assert_eq!(body.into_value(), None);
        }
        let parsed = JsonBody::new(Bytes::from_static(br#"{"a": 1}"#));
        parsed.value();
        assert_eq!(parsed, JsonBody::new(Bytes::from_static(br#"{ "a":1 }"#)));
        assert_ne!(parsed, JsonBody::new(Bytes::from_static(br#"{"a": 2}"#)));
        assert_ne!(
            JsonBody::new(Bytes::from_static(b"busy")),
            JsonBody::new(Bytes::from_static(b"down"))
        );
    }

    #[test]
    fn daily_share_and_burst_rate_follow_the_headers() {
        let h = RateHeaders {
            burst_max: Some(190),
            burst_remaining: Some(10),
            interval_ms: Some(10_000),
            daily: Some(1000),
            daily_remaining: Some(250),
        };
        assert_eq!(h.daily_used(), Some(0.75));
        assert_eq!(h.burst_per_s(), Some(19.0));
        assert_eq!(RateHeaders::default().daily_used(), None);
        let zero = RateHeaders {
            daily: Some(0),
            daily_remaining: Some(0),
            interval_ms: Some(0),
            burst_max: Some(5),
            ..RateHeaders::default()
        };
        assert_eq!((zero.daily_used(), zero.burst_per_s()), (None, None));
    }
}
