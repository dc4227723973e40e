//! OAuth contract: the token endpoint's grants and refusals, 30-minute access tokens on the
//! CRM's (compressed) clock, HubSpot's 401 bodies, and `token-churn` revocations counted.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::{Answer, CONTACTS, Mock, assert_hubspot_error, unlimited};
use crate::crm::CrmConfig;
use crate::crm::oauth::OAuthConfig;

const REFRESH: &str = "na1-installed-refresh";

fn oauth_cfg() -> CrmConfig {
    CrmConfig {
        oauth: Some(OAuthConfig {
            client_id: "app-id".into(),
            client_secret: "app-secret".into(),
            refresh_tokens: vec![REFRESH.into()],
            ..OAuthConfig::default()
        }),
        ..unlimited()
    }
}

impl Mock {
    async fn token(&self, form: &str) -> Answer {
        self.send(Method::POST, "/oauth/v1/token", None, Some(form.as_bytes()))
            .await
    }

    async fn refresh(&self) -> String {
        let a = self
            .token(&format!(
                "grant_type=refresh_token&client_id=app-id&client_secret=app-secret&refresh_token={REFRESH}"
            ))
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.body["access_token"].as_str().unwrap().to_string()
    }

    async fn create_with(&self, token: &str, email: &str) -> Answer {
        let body = json!({ "properties": { "email": email } }).to_string();
        self.send(Method::POST, CONTACTS, Some(token), Some(body.as_bytes()))
            .await
    }
}

fn assert_refused(a: &Answer, status: &str) {
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.body);
    assert_eq!(a.body["status"], status, "{}", a.body);
    assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(a.body["correlationId"].is_string());
}

#[tokio::test]
async fn the_token_endpoint_grants_hubspot_shaped_tokens_and_refuses_bad_requests() {
    let m = Mock::new(oauth_cfg());
    let a = m
        .token(&format!(
            "grant_type=refresh_token&client_id=app-id&client_secret=app-secret&refresh_token={REFRESH}"
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["expires_in"], 1800);
    assert_eq!(a.body["token_type"], "bearer");
    // HubSpot hands the same refresh token back.
    assert_eq!(a.body["refresh_token"], REFRESH);
    let access = a.body["access_token"].as_str().unwrap();
    assert_eq!(
        m.create_with(access, "a@x.io").await.status,
        StatusCode::CREATED
    );

    // The authorization-code grant: a code is good once and yields a new refresh token.
    let code = "grant_type=authorization_code&client_id=app-id&client_secret=app-secret\
                &redirect_uri=http%3A%2F%2Flocalhost%2Fcb&code=abc";
    let first = m.token(code).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let refresh = first.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(refresh, REFRESH);
    assert_refused(&m.token(code).await, "BAD_AUTH_CODE");
    let again = m
        .token(&format!(
            "grant_type=refresh_token&client_id=app-id&client_secret=app-secret&refresh_token={refresh}"
        ))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);

    let cases = [
        (
            "grant_type=refresh_token&client_id=nope&client_secret=app-secret&refresh_token=x",
            "BAD_CLIENT_ID",
        ),
        (
            "grant_type=refresh_token&client_id=app-id&client_secret=nope&refresh_token=x",
            "BAD_CLIENT_SECRET",
        ),
        (
            "grant_type=refresh_token&client_id=app-id&client_secret=app-secret&refresh_token=x",
            "BAD_REFRESH_TOKEN",
        ),
        (
            "grant_type=password&client_id=app-id&client_secret=app-secret",
            "BAD_GRANT_TYPE",
        ),
        (
            "grant_type=authorization_code&client_id=app-id&client_secret=app-secret&code=z",
            "BAD_REDIRECT_URI",
        ),
        ("", "BAD_CLIENT_ID"),
    ];
    for (form, status) in cases {
        assert_refused(&m.token(form).await, status);
    }
    let acc = m.crm.accounting();
    assert_eq!(acc.calls["oauth_token"][&200], 3);
    assert_eq!(acc.calls["oauth_token"][&400], 7);
    assert_eq!(acc.records_created, 1);
}

#[tokio::test(start_paused = true)]
async fn access_tokens_expire_after_30_minutes_on_a_compressed_clock() {
    let cfg = CrmConfig {
        clock: crate::Clock::with_speed(1000.0),
        ..oauth_cfg()
    };
    let m = Mock::new(cfg);
    let token = m.refresh().await;
    // 1,799 simulated seconds: still good.
    tokio::time::advance(Duration::from_millis(1799)).await;
    assert_eq!(
        m.create_with(&token, "a@x.io").await.status,
        StatusCode::CREATED
    );
    // 1,802 simulated seconds (1.802 s of real time): expired two seconds ago.
    tokio::time::advance(Duration::from_millis(3)).await;
    let expired = m.create_with(&token, "b@x.io").await;
    assert_hubspot_error(&expired, 401, "EXPIRED_AUTHENTICATION");
    assert_eq!(
        expired.body["message"],
        "The OAuth token used to make this call expired 2 second(s) ago."
    );
    let expire_time = expired.body["context"]["expire time"][0].as_str().unwrap();
    assert!(
        humantime::parse_rfc3339(expire_time).is_ok(),
        "{expire_time}"
    );
    // An hour later, HubSpot counts in hours.
    tokio::time::advance(Duration::from_millis(3600)).await;
    let later = m.create_with(&token, "b@x.io").await;
    assert_eq!(
        later.body["message"],
        "The OAuth token used to make this call expired 1 hour(s) ago."
    );
    // A token the mock never issued is unknown, not expired; a fresh one works.
    let unknown = m.create_with("CO-made-up", "c@x.io").await;
    assert_hubspot_error(&unknown, 401, "INVALID_AUTHENTICATION");
    let fresh = m.refresh().await;
    assert_eq!(
        m.create_with(&fresh, "b@x.io").await.status,
        StatusCode::CREATED
    );
    let acc = m.crm.accounting();
    assert_eq!(acc.faults.get("token_expired"), Some(&2));
    assert_eq!(acc.faults.get("unauthorized"), Some(&1));
    assert_eq!(acc.records_created, 2);
    assert_eq!(acc.calls["create"][&401], 3);
}

#[tokio::test]
async fn refreshed_tokens_share_the_apps_rolling_window() {
    let cfg = CrmConfig {
        burst_max: 3,
        ..oauth_cfg()
    };
    let m = Mock::new(cfg);
    let first = m.refresh().await;
    for i in 0..3 {
        let a = m.create_with(&first, &format!("{i}@x.io")).await;
        assert_eq!(a.status, StatusCode::CREATED);
    }
    let second = m.refresh().await;
    let a = m.create_with(&second, "4@x.io").await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS, "{}", a.body);
    // The old token is still good until it expires: OAuth tokens are not single-use.
    assert_eq!(
        m.create_with(&first, "5@x.io").await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn token_churn_revokes_tokens_early_at_its_rate_and_counts_each() {
    let mut cfg = oauth_cfg();
    crate::profiles::apply_overlay(&mut cfg, "token-churn").unwrap();
    assert_eq!(cfg.token_churn_rate, 0.01);
    cfg.token_churn_rate = 0.1;
    cfg.seed = 7;
    let m = Mock::new(cfg);
    let mut token = m.refresh().await;
    let (mut created, mut revoked) = (0u64, 0u64);
    for i in 0..600 {
        let a = m.create_with(&token, &format!("{i}@x.io")).await;
        match a.status {
            StatusCode::CREATED => created += 1,
            StatusCode::UNAUTHORIZED => {
                assert_hubspot_error(&a, 401, "EXPIRED_AUTHENTICATION");
                // Revoked for good: the same token keeps failing, without a second count.
                let again = m.create_with(&token, "again@x.io").await;
                assert_eq!(again.status, StatusCode::UNAUTHORIZED);
                revoked += 1;
                token = m.refresh().await;
            }
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    let acc = m.crm.accounting();
    assert_eq!(acc.faults.get("token_churn"), Some(&revoked));
    assert_eq!(acc.faults.get("token_expired"), Some(&revoked));
    assert_eq!(acc.records_created, created);
    assert_eq!(created + revoked, 600);
    // 600 draws at 10 %, plus the re-tries (which draw too, but hit a dead token): about 60.
    assert!((35..=95).contains(&revoked), "{revoked} revocations");
}

#[tokio::test]
async fn private_app_tokens_still_work_beside_oauth_and_are_never_churned() {
    let cfg = CrmConfig {
        tokens: vec!["pat-fixed".into()],
        token_churn_rate: 1.0,
        ..oauth_cfg()
    };
    let m = Mock::new(cfg);
    for i in 0..20 {
        let a = m.create_with("pat-fixed", &format!("{i}@x.io")).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    }
    let oauth = m.refresh().await;
    assert_eq!(
        m.create_with(&oauth, "z@x.io").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(m.crm.accounting().faults.get("token_churn"), Some(&1));
}
