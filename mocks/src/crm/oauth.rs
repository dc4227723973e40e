//! HubSpot OAuth 2.0 for the mock: the token endpoint (`POST /oauth/v1/token`, grants
//! `authorization_code` and `refresh_token`) and the access tokens it hands out, which live 30
//! minutes on the CRM's clock, so they expire on a compressed clock too.
//!
//! Shapes follow HubSpot (shared/research/crm-vendor-apis.md §2.2 "OAuth"): the token answer is
//! `{token_type, refresh_token, access_token, expires_in: 1800}`, and the refresh token stays
//! the same across refreshes. A refused grant is a 400 whose `status` names what was wrong
//! (`BAD_CLIENT_ID`, `BAD_CLIENT_SECRET`, `BAD_GRANT_TYPE`, `BAD_AUTH_CODE`,
//! `BAD_REFRESH_TOKEN`), not an RFC 6749 `error` code. An API call with an expired token gets
//! 401 `EXPIRED_AUTHENTICATION` "The OAuth token used to make this call expired N second(s)
//! ago." with the expiry time in `context["expire time"]`, as HubSpot answers it.
//!
//! The `token-churn` overlay revokes a valid access token early (its expiry becomes now): the
//! request carrying it gets the expired answer, as when a vendor rotates keys or an admin
//! reinstalls the app mid-run. Each revocation is counted (`token_churn`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::json;
use tokio::time::Instant;

use super::accounting::Fault;
use super::errors::ApiError;
use super::{Crm, lock};

/// HubSpot's access-token lifetime: 30 minutes (`expires_in: 1800`).
pub const HUBSPOT_ACCESS_TTL: Duration = Duration::from_secs(1800);

/// The path of HubSpot's token endpoint.
pub const TOKEN_PATH: &str = "/oauth/v1/token";

/// An OAuth app registered with the mock account.
#[derive(Clone, Debug)]
pub struct OAuthConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Refresh tokens valid from the start (an app installed before the run); the
    /// `authorization_code` grant adds one per code exchanged.
    pub refresh_tokens: Vec<String>,
    /// How long an access token lives, on the CRM's clock.
    pub access_ttl: Duration,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            client_id: String::new(),
            client_secret: String::new(),
            refresh_tokens: Vec::new(),
            access_ttl: HUBSPOT_ACCESS_TTL,
        }
    }
}

/// Tokens issued so far. Expired access tokens are kept a simulated day (so a client still
/// holding one is told it expired, not that it is unknown), then forgotten: memory follows
/// the tokens in use, not the run's length.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    refresh: HashSet<String>,
    used_codes: HashSet<String>,
    access: HashMap<String, Instant>,
}

/// What the mock makes of a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    Valid,
    Expired { at: Instant },
    Unknown,
}

const FORGET_AFTER: Duration = Duration::from_secs(86_400);

impl Tokens {
    pub(crate) fn new(cfg: &OAuthConfig) -> Tokens {
        Tokens {
            refresh: cfg.refresh_tokens.iter().cloned().collect(),
            ..Tokens::default()
        }
    }

    pub(crate) fn check(&self, token: &str, now: Instant) -> Check {
        match self.access.get(token) {
            Some(&at) if now < at => Check::Valid,
            Some(&at) => Check::Expired { at },
            None => Check::Unknown,
        }
    }

    /// Ends a valid token's life now (`token-churn`); false if it was not valid.
    pub(crate) fn revoke(&mut self, token: &str, now: Instant) -> bool {
        match self.access.get_mut(token) {
            Some(at) if now < *at => {
                *at = now;
                true
            }
            _ => false,
        }
    }

    fn issue(&mut self, ttl: Duration, now: Instant) -> String {
        self.access
            .retain(|_, at| now.saturating_duration_since(*at) < FORGET_AFTER);
        let token = random_token("CO");
        self.access.insert(token.clone(), now + ttl);
        token
    }
}

fn random_token(prefix: &str) -> String {
    let mut rng = rand::rng();
    let hex: String = (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect();
    format!("{prefix}{hex}")
}

/// "expired 12 second(s) ago", in the largest unit HubSpot would use.
pub(crate) fn expired_error(crm: &Crm, at: Instant, now: Instant) -> ApiError {
    let ago = now.saturating_duration_since(at).as_secs();
    let (n, unit) = match ago {
        0..60 => (ago, "second"),
        60..3600 => (ago / 60, "minute"),
        3600..86_400 => (ago / 3600, "hour"),
        _ => (ago / 86_400, "day"),
    };
    let expire_time = humantime::format_rfc3339_millis(crm.clock().wall(at)).to_string();
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "EXPIRED_AUTHENTICATION",
        format!("The OAuth token used to make this call expired {n} {unit}(s) ago."),
    )
    .with_context("expire time", vec![expire_time])
}

/// A refused grant: HubSpot's token endpoint answers 400 with the reason in `status`.
fn refused(crm: &Crm, status: &str, message: &str) -> Response {
    lock(&crm.tally).call_named("oauth_token", 400);
    let id = crm.correlation.next();
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({
            "status": status,
            "message": message,
            "correlationId": id,
            "requestId": id,
        })),
    )
        .into_response()
}

/// `POST /oauth/v1/token` (form body). Outside the gate: no bearer needed, no API limit spent.
pub(crate) async fn token(State(crm): State<Arc<Crm>>, body: Bytes) -> Response {
    let Some(oauth) = crm.cfg.oauth.as_ref() else {
        lock(&crm.tally).call_named("oauth_token", 404);
        return crm.respond(Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "OBJECT_NOT_FOUND",
            "OAuth is not enabled on this mock account (start it with an OAuth app).",
        )));
    };
    let params = crate::salesforce::form_pairs(&String::from_utf8_lossy(&body));
    let get = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if get("client_id") != Some(oauth.client_id.as_str()) {
        return refused(&crm, "BAD_CLIENT_ID", "missing or unknown client id");
    }
    if get("client_secret") != Some(oauth.client_secret.as_str()) {
        return refused(
            &crm,
            "BAD_CLIENT_SECRET",
            "missing or unknown client secret",
        );
    }
    let now = crm.now();
    let issued = {
        let mut tokens = lock(&crm.oauth_tokens);
        let refresh = match get("grant_type") {
            Some("refresh_token") => match get("refresh_token") {
                Some(r) if tokens.refresh.contains(r) => Ok(r.to_string()),
                _ => Err(("BAD_REFRESH_TOKEN", "missing or unknown refresh token")),
            },
            Some("authorization_code") => match (get("code"), get("redirect_uri")) {
                (_, None) => Err(("BAD_REDIRECT_URI", "missing redirect uri")),
                // A code is good for one exchange.
                (Some(code), Some(_)) if tokens.used_codes.insert(code.to_string()) => {
                    let refresh = random_token("na1-");
                    tokens.refresh.insert(refresh.clone());
                    Ok(refresh)
                }
                _ => Err(("BAD_AUTH_CODE", "missing or unknown auth code")),
            },
            _ => Err((
                "BAD_GRANT_TYPE",
                "grant_type must be authorization_code or refresh_token",
            )),
        };
        match refresh {
            Ok(refresh) => (tokens.issue(oauth.access_ttl, now), refresh),
            Err((status, message)) => {
                drop(tokens);
                return refused(&crm, status, message);
            }
        }
    };
    lock(&crm.tally).call_named("oauth_token", 200);
    axum::Json(json!({
        "token_type": "bearer",
        "refresh_token": issued.1,
        "access_token": issued.0,
        "expires_in": oauth.access_ttl.as_secs(),
    }))
    .into_response()
}

impl Crm {
    /// Authenticates a request's bearer token and names the app it acts for (the OAuth app's
    /// client id, so refreshed tokens share one rolling window; else the token itself).
    /// `churn`: revoke a valid OAuth token now (`token-churn`). Refusals are counted.
    pub(crate) fn authenticate<'a>(
        &'a self,
        bearer: Option<&'a str>,
        now: Instant,
        churn: bool,
    ) -> Result<&'a str, ApiError> {
        let unauthorized = || {
            self.count_fault(Fault::Unauthorized);
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 authentication \
                 and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            ))
        };
        let Some(token) = bearer else {
            return unauthorized();
        };
        if let Some(oauth) = &self.cfg.oauth {
            let mut tokens = lock(&self.oauth_tokens);
            match tokens.check(token, now) {
                Check::Valid if churn && tokens.revoke(token, now) => {
                    drop(tokens);
                    self.count_fault(Fault::TokenChurn);
                    return Err(expired_error(self, now, now));
                }
                Check::Valid => return Ok(&oauth.client_id),
                Check::Expired { at } => {
                    drop(tokens);
                    self.count_fault(Fault::TokenExpired);
                    return Err(expired_error(self, at, now));
                }
                Check::Unknown => {}
            }
        }
        let any = self.cfg.tokens.is_empty() && self.cfg.oauth.is_none();
        if any || self.cfg.tokens.iter().any(|t| t == token) {
            Ok(token)
        } else {
            unauthorized()
        }
    }
}
