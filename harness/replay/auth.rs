//! Credentials for an API target: a fixed private-app token, or an OAuth app whose access
//! token is refreshed before it expires and once for each 401 the API answers, so a run keeps
//! going across many token lifetimes (HubSpot's last 30 minutes; under `--clock-speed` against
//! the mock, a few real milliseconds).
//!
//! The refresh is timed on the run's clock, from the `expires_in` the token endpoint returns,
//! not on 401s alone: HubSpot warns that a 401 "is not a valid indicator that a new token must
//! be retrieved". One refresh at a time: concurrent callers wait for it and share its token. A
//! secret is never logged, and an error names the endpoint and HubSpot's `status`, never a value.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use syncproof_mocks::Clock;
use tokio::time::Instant;

use super::plan::Secret;

/// An OAuth app's credentials, read from the environment or files named in the plan.
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthCredentials {
    /// The token endpoint (`https://api.hubapi.com/oauth/v1/token`).
    pub token_url: String,
    pub client_id: Secret,
    pub client_secret: Secret,
    pub refresh_token: Secret,
}

/// How an API target is authenticated.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// A private-app (static) bearer token.
    Token(Secret),
    /// An OAuth app: access tokens from the refresh-token grant.
    OAuth(OAuthCredentials),
}

/// What the OAuth session did over a run: for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AuthStats {
    /// Access tokens obtained (each a refresh-token grant that succeeded).
    pub refreshes: u64,
    /// Of those, obtained because the API answered 401 to a token the client thought valid
    /// (revoked early, or a clock disagreement).
    pub refreshed_after_401: u64,
    /// Grants the token endpoint refused or that did not arrive.
    pub refresh_failures: u64,
}

#[derive(Debug, Clone)]
struct Access {
    token: Secret,
    /// On the run's clock.
    expires_at: Instant,
    ttl: Duration,
}

/// The bearer token source of one client.
#[derive(Debug)]
pub(crate) enum Bearer {
    Static(Secret),
    OAuth(Box<OAuthSession>),
}

#[derive(Debug)]
pub(crate) struct OAuthSession {
    creds: OAuthCredentials,
    clock: Clock,
    current: tokio::sync::Mutex<Option<Access>>,
    refreshes: AtomicU64,
    after_401: AtomicU64,
    failures: AtomicU64,
}

/// Refresh this long before expiry: a sixth of the token's life, at most 5 minutes (HubSpot's
/// 30 minutes: refresh at 25), so a request sent just before the refresh still lands in time.
fn margin(ttl: Duration) -> Duration {
    (ttl / 6).min(Duration::from_secs(300))
}

impl Bearer {
    pub(crate) fn new(credential: &Credential, clock: Clock) -> Bearer {
        match credential {
            Credential::Token(secret) => Bearer::Static(secret.clone()),
            Credential::OAuth(creds) => Bearer::OAuth(Box::new(OAuthSession {
                creds: creds.clone(),
                clock,
                current: tokio::sync::Mutex::new(None),
                refreshes: AtomicU64::new(0),
                after_401: AtomicU64::new(0),
                failures: AtomicU64::new(0),
            })),
        }
    }

    /// The token to send now, refreshing first when it is about to expire.
    pub(crate) async fn token(&self, http: &reqwest::Client) -> Result<String, String> {
        match self {
            Bearer::Static(secret) => Ok(secret.expose().to_string()),
            Bearer::OAuth(session) => session.token(http, None).await,
        }
    }

    /// After a 401 to `used`: a fresh token to retry with once, or `None` for a static token
    /// (nothing to refresh: the 401 stands).
    pub(crate) async fn after_401(
        &self,
        http: &reqwest::Client,
        used: &str,
    ) -> Option<Result<String, String>> {
        match self {
            Bearer::Static(_) => None,
            Bearer::OAuth(session) => Some(session.token(http, Some(used)).await),
        }
    }

    pub(crate) fn stats(&self) -> Option<AuthStats> {
        match self {
            Bearer::Static(_) => None,
            Bearer::OAuth(s) => Some(AuthStats {
                refreshes: s.refreshes.load(Ordering::Relaxed),
                refreshed_after_401: s.after_401.load(Ordering::Relaxed),
                refresh_failures: s.failures.load(Ordering::Relaxed),
            }),
        }
    }
}

impl OAuthSession {
    /// The current token if it is good for a while yet (and is not `rejected`), else a new
    /// one. The lock makes concurrent callers share one refresh.
    async fn token(
        &self,
        http: &reqwest::Client,
        rejected: Option<&str>,
    ) -> Result<String, String> {
        let mut current = self.current.lock().await;
        if let Some(access) = current.as_ref() {
            let fresh = self.clock.now() + margin(access.ttl) < access.expires_at;
            let was_rejected = rejected.is_some_and(|r| r == access.token.expose());
            if fresh && !was_rejected {
                return Ok(access.token.expose().to_string());
            }
        }
        let asked_at = self.clock.now();
        match self.grant(http).await {
            Ok((token, ttl)) => {
                self.refreshes.fetch_add(1, Ordering::Relaxed);
                if rejected.is_some() {
                    self.after_401.fetch_add(1, Ordering::Relaxed);
                }
                // Timed from when it was asked for: the endpoint's clock started no earlier.
                *current = Some(Access {
                    token: Secret::new(token.clone()),
                    expires_at: asked_at + ttl,
                    ttl,
                });
                Ok(token)
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                *current = None;
                Err(e)
            }
        }
    }

    /// One refresh-token grant: the access token and its lifetime.
    async fn grant(&self, http: &reqwest::Client) -> Result<(String, Duration), String> {
        let c = &self.creds;
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", c.client_id.expose()),
            ("client_secret", c.client_secret.expose()),
            ("refresh_token", c.refresh_token.expose()),
        ];
        let fail = |what: String| format!("OAuth refresh at {}: {what}", c.token_url);
        let response = http
            .post(&c.token_url)
            .form(&form)
            .send()
            .await
            .map_err(|e| fail(format!("no answer ({e})")))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| fail(format!("{status} with a body that is not JSON ({e})")))?;
        if !status.is_success() {
            // HubSpot: {"status": "BAD_REFRESH_TOKEN", "message": ...}; RFC 6749: "error".
            let reason = body["status"]
                .as_str()
                .or_else(|| body["error"].as_str())
                .unwrap_or("no reason given");
            let message = body["message"]
                .as_str()
                .or_else(|| body["error_description"].as_str())
                .unwrap_or("");
            return Err(fail(format!("refused with {status}: {reason} {message}")));
        }
        let token = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail("the answer has no access_token".into()))?;
        // Without `expires_in`, assume HubSpot's 30 minutes.
        let ttl = body["expires_in"].as_u64().unwrap_or(1800);
        Ok((token.to_string(), Duration::from_secs(ttl.max(1))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refresh_margin_is_a_sixth_of_the_life_at_most_five_minutes() {
        assert_eq!(margin(Duration::from_secs(1800)), Duration::from_secs(300));
        assert_eq!(margin(Duration::from_secs(60)), Duration::from_secs(10));
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let creds = OAuthCredentials {
            token_url: "https://example.test/oauth/v1/token".into(),
            client_id: Secret::new("id-123"),
            client_secret: Secret::new("very-secret"),
            refresh_token: Secret::new("refresh-456"),
        };
        let bearer = Bearer::new(&Credential::OAuth(creds), Clock::real());
        let text = format!("{bearer:?}");
        for secret in ["id-123", "very-secret", "refresh-456"] {
            assert!(!text.contains(secret), "{text}");
        }
    }
}
