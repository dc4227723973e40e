//! OAuth and TLS against the mock over real loopback: an API PoC whose 30-minute access tokens
//! expire dozens of times on a compressed clock (and are revoked early by `token-churn`) keeps
//! every record, and leaves no credential behind; a run against `syncproof mock --tls` trusts
//! the CA the mock wrote, verifies its certificate and records TLS 1.3.

use std::time::Duration;

use syncproof::replay::CrmClient;
use syncproof::replay::tls::{parse_ca_pem, tls_version};
use syncproof_mocks::{Clock, Crm, CrmConfig, OAuthConfig, serve};
use tokio_util::sync::CancellationToken;

use crate::api_poc::{files_containing, plan};
use crate::support::{MockProcess, get, read_summary, run, syncproof_bin};

const CLIENT_ID: &str = "6f1e0c2a-client-id-4471";
const CLIENT_SECRET: &str = "cs-9d8a7b6c-oauth-client-secret";
const REFRESH_TOKEN: &str = "na1-3e5f-refresh-token-b2c1";
const SPEED: f64 = 20_000.0;

/// A plan spreading `records` over `hours` simulated hours at 20,000×, with verification
/// timings that make sense on that clock.
fn compressed(base_url: &str, credential: &str, records: u64, hours: u64) -> String {
    plan(base_url, credential)
        .replace("records = 1500", &format!("records = {records}"))
        .replace(
            "rate = \"1500/s\"\nbatch_size = 50\nlinger = \"50ms\"",
            &format!(
                "rate = \"{}/h\"\nbatch_size = 10\nlinger = \"1m\"\nclock_speed = {SPEED}",
                records / hours
            ),
        )
        .replace(
            "poll_interval = \"100ms\"\nwindow = \"5s\"",
            "poll_interval = \"1m\"\nwindow = \"24h\"",
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_api_poc_outlives_many_token_lifetimes_and_keeps_its_secrets() {
    let shutdown = CancellationToken::new();
    let crm = Crm::new(CrmConfig {
        burst_max: 0,
        daily_max: 0,
        search_per_second: 0,
        oauth: Some(OAuthConfig {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            refresh_tokens: vec![REFRESH_TOKEN.into()],
            ..OAuthConfig::default()
        }),
        token_churn_rate: 0.02,
        seed: 11,
        clock: Clock::with_speed(SPEED),
        ..CrmConfig::default()
    });
    let (addr, _server) = serve(crm.router(), shutdown.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("client_secret.txt"), CLIENT_SECRET).unwrap();
    std::fs::write(
        dir.path().join("refresh_token.txt"),
        format!("{REFRESH_TOKEN}\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("client_id.txt"), CLIENT_ID).unwrap();
    let credential = "[target.oauth]\n\
                      client_id_file = \"client_id.txt\"\n\
                      client_secret_file = \"client_secret.txt\"\n\
                      refresh_token_file = \"refresh_token.txt\"";
    // 1,200 records over 12 simulated hours: 24 token lifetimes in about 2 s of real time.
    let (outcome, s) = run(
        dir.path(),
        &compressed(&format!("http://{addr}"), credential, 1200, 12),
    )
    .await;
    shutdown.cancel();

    assert_eq!(s["run"]["complete"], true);
    assert_eq!(get(&s, "records.sent"), 1200.0);
    assert_eq!(
        (get(&s, "records.delivered"), get(&s, "records.lost")),
        (1200.0, 0.0),
        "{}",
        s["records"]
    );
    assert_eq!(get(&s, "retries.gave_up"), 0.0, "{}", s["retries"]);
    assert_eq!(crm.record_count(), 1200);
    let simulated_h = get(&s, "run.duration_s") / 3600.0;
    assert!(simulated_h >= 11.0, "{simulated_h} simulated hours");

    let auth = &s["target"]["auth"];
    assert_eq!(auth["kind"], "oauth");
    let refreshes = auth["refreshes"].as_u64().unwrap();
    let after_401 = auth["refreshed_after_401"].as_u64().unwrap();
    assert_eq!(auth["refresh_failures"], 0);
    // At least one token per lifetime that passed (refreshed ahead of expiry), plus those the
    // churn revoked.
    let a = crm.accounting();
    let churned = a.faults.get("token_churn").copied().unwrap_or(0);
    let expired = a.faults.get("token_expired").copied().unwrap_or(0);
    assert!(
        refreshes as f64 >= simulated_h * 2.0 - 1.0,
        "{refreshes} refreshes"
    );
    assert_eq!(a.calls["oauth_token"][&200], refreshes);
    assert!(churned >= 1, "the overlay revoked no token: {:?}", a.faults);
    // Each refresh after a 401 answers a revocation or an expiry the mock counted; concurrent
    // callers hit by the same one share a refresh.
    assert!(
        after_401 >= 1 && after_401 <= churned + expired,
        "{after_401} vs {churned}+{expired}"
    );
    assert_eq!(
        a.faults.get("unauthorized"),
        None,
        "no unknown token was ever sent"
    );

    // No credential anywhere in the run directory; the report says OAuth and plain HTTP.
    for secret in [CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN] {
        let hits = files_containing(&outcome.dir, secret.as_bytes());
        assert!(hits.is_empty(), "{secret} in {hits:?}");
    }
    let report = std::fs::read_to_string(outcome.dir.join("report.md")).unwrap();
    assert!(report.contains("TLS: none (plain HTTP)"), "{report}");
    assert!(report.contains("OAuth: "), "{report}");
}

#[test]
fn a_run_against_the_tls_mock_verifies_its_certificate_and_records_tls_1_3() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("mock-ca.pem");
    let token = "pat-tls-mock-token";
    let mock = MockProcess::start(
        token,
        &["--tls", "--ca-out", ca.to_str().unwrap(), "--no-limits"],
    );
    assert!(mock.base.starts_with("https://127.0.0.1:"), "{}", mock.base);
    std::fs::write(tmp.path().join("token.txt"), token).unwrap();
    let text = plan(
        &mock.base,
        "token_file = \"token.txt\"\nca_file = \"mock-ca.pem\"",
    )
    .replace("records = 1500", "records = 300");
    let path = tmp.path().join("plan.toml");
    std::fs::write(&path, text).unwrap();
    let out = tmp.path().join("run");
    let status = syncproof_bin()
        .args(["run", path.to_str().unwrap(), "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        matches!(status.status.code(), Some(0 | 1 | 4)),
        "{:?}: {}{}",
        status.status,
        String::from_utf8_lossy(&status.stderr),
        String::from_utf8_lossy(&status.stdout)
    );
    let s = read_summary(&out);
    assert_eq!(s["target"]["tls_version"], "TLSv1.3");
    assert_eq!(s["target"]["tls_below_1_2"], false);
    assert_eq!(get(&s, "records.delivered"), 300.0);
    assert_eq!(get(&s, "records.lost"), 0.0);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("TLS: TLSv1.3."), "{report}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("TLS: TLSv1.3."),
        "the HTML report states it too"
    );

    // Without the CA the certificate does not verify: the harness's client gets no answer
    // and the probe says why instead of a version; with it, TLS 1.3.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let version = tls_version(&mock.base, &[]).await;
        assert!(
            version.starts_with("unknown (handshake failed"),
            "{version}"
        );
        let pem = std::fs::read(&ca).unwrap();
        let trusted = tls_version(&mock.base, &parse_ca_pem(&pem).unwrap()).await;
        assert_eq!(trusted, "TLSv1.3");
        let client = CrmClient::new(&mock.base, token, Duration::from_secs(5)).unwrap();
        let answer = client.get("/crm/v3/objects/contacts?limit=1").await;
        assert_eq!(answer.status, 0, "{answer:?}");
        assert!(answer.error.is_some_and(|e| e.contains("certificate")));
        // The mock's own count, over HTTPS with its CA: every record, once.
        let trusting = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap();
        let stats: serde_json::Value = trusting
            .get(format!("{}/__syncproof/stats", mock.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(stats["records"], 300);
    });
}

#[tokio::test]
async fn the_mock_cli_serves_oauth_with_credentials_from_the_environment() {
    use std::io::BufRead;
    let mut child = syncproof_bin()
        .args(["mock", "--port", "0", "--token", "pat-fixed", "--oauth"])
        .args(["--faults", "token-churn"])
        .env("SYNCPROOF_OAUTH_CLIENT_ID", CLIENT_ID)
        .env("SYNCPROOF_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
        .env("SYNCPROOF_OAUTH_REFRESH_TOKEN", REFRESH_TOKEN)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first.split(" at ").nth(1).unwrap().trim().to_string();
    let printed: Vec<String> = lines
        .by_ref()
        .map(Result::unwrap)
        .take_while(|l| !l.starts_with("Ctrl-C"))
        .collect();
    std::thread::spawn(move || lines.for_each(drop));
    let oauth_line = printed.iter().find(|l| l.starts_with("oauth: ")).unwrap();
    assert!(oauth_line.contains("/oauth/v1/token"), "{oauth_line}");
    assert!(
        oauth_line.contains("from SYNCPROOF_OAUTH_CLIENT_SECRET")
            && !oauth_line.contains(CLIENT_SECRET)
            && !oauth_line.contains(REFRESH_TOKEN),
        "secrets from the environment are not echoed: {oauth_line}"
    );

    let http = reqwest::Client::new();
    let grant: serde_json::Value = http
        .post(format!("{base}/oauth/v1/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", REFRESH_TOKEN),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grant["expires_in"], 1800);
    let access = grant["access_token"].as_str().unwrap();
    let list = http
        .get(format!("{base}/crm/v3/objects/contacts"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    // token-churn may revoke it on its first use (1 %); either way HubSpot's answer.
    assert!(
        matches!(list.status().as_u16(), 200 | 401),
        "{}",
        list.status()
    );
    let _ = child.kill();
    let _ = child.wait();

    let refused = syncproof_bin()
        .args(["mock", "--port", "0", "--tls"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--ca-out"));
}

#[test]
fn bad_oauth_and_ca_keys_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), "pat-x").unwrap();
    std::fs::write(dir.path().join("id.txt"), "id").unwrap();
    std::fs::write(dir.path().join("not-a-cert.pem"), "hello").unwrap();
    let load = |credential: &str| {
        crate::support::plan_error(dir.path(), &plan("https://api.hubapi.com", credential))
    };
    let err = load("[target.oauth]\nclient_id_file = \"id.txt\"\nclient_secret_file = \"no.txt\"");
    assert!(
        err.contains("target.oauth.client_secret_file") && err.contains("no.txt"),
        "{err}"
    );
    let err = load("[target.oauth]\nclient_id_file = \"id.txt\"\nclient_secret_file = \"id.txt\"");
    assert!(
        err.contains("refresh_token_env") && err.contains("never go in the plan"),
        "{err}"
    );
    let err = load("token_file = \"token.txt\"\n[target.oauth]\nclient_id_file = \"id.txt\"");
    assert!(err.contains("not both"), "{err}");
    let err = load("[target.oauth]\nclient_id = \"inline\"");
    assert!(err.contains("client_id"), "{err}");
    let err = load("token_file = \"token.txt\"\nca_file = \"not-a-cert.pem\"");
    assert!(
        err.contains("target.ca_file") && err.contains("PEM"),
        "{err}"
    );
    let err = load("token_file = \"token.txt\"\nca_file = \"missing.pem\"");
    assert!(
        err.contains("target.ca_file") && err.contains("missing.pem"),
        "{err}"
    );
}
