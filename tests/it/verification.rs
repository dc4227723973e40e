//! The verification methods other than read-back, end to end against the built-in mock
//! integration over loopback: the SQL read-back of a CRM→warehouse sync against a real
//! PostgreSQL server, the signed-webhook receiver, and search polling under search lag. Each
//! measured figure is checked against what the mock knows it did.
//!
//! PostgreSQL: the server named by `SYNCPROOF_TEST_PG_URL` (`.ci/run` starts one); without it a
//! local run starts its own with `.ci/postgres` (initdb + pg_ctl), and a CI run (`CI` set)
//! fails rather than skip the test.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

use crate::support::{get, in_ci, plan_text_with, run, within_binomial};

/// A PostgreSQL server for one test; a server this test started is stopped on drop.
struct Pg {
    url: String,
    started: Option<tempfile::TempDir>,
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(dir) = &self.started {
            let _ = Command::new(script()).arg("stop").arg(dir.path()).status();
        }
    }
}

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/postgres")
}

fn postgres() -> Pg {
    if let Ok(url) = std::env::var("SYNCPROOF_TEST_PG_URL") {
        return Pg { url, started: None };
    }
    assert!(
        !in_ci(),
        "SYNCPROOF_TEST_PG_URL is not set: in CI the PostgreSQL verification must be tested \
         against the server .ci/run starts (.ci/postgres start DIR prints its URL)"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(script())
        .arg("start")
        .arg(dir.path())
        .output()
        .expect("run .ci/postgres");
    assert!(
        out.status.success(),
        "no PostgreSQL server: set SYNCPROOF_TEST_PG_URL, or install PostgreSQL so .ci/postgres \
         can start one: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Pg {
        url: String::from_utf8(out.stdout).unwrap().trim().to_string(),
        started: Some(dir),
    }
}

/// A table name no other test (or earlier run of this one) uses at the same time.
fn table(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn assert_secret_absent(dir: &Path, secret: &str) {
    let leaks = super::api_poc::files_containing(dir, secret.as_bytes());
    assert!(leaks.is_empty(), "the secret is in {leaks:?}");
}

const RECORDS: u64 = 1500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crm_to_warehouse_sync_is_measured_by_sql_against_postgresql() {
    let pg = postgres();
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("warehouse-url");
    std::fs::write(&url_file, &pg.url).unwrap();
    let table = table("wh");
    let relay = "loss_rate = 0.02\nduplicate_rate = 0.03\ndrop_rates = { phone = 0.1 }";
    // The warehouse names its columns its own way: the mapping brings them back to fields.
    let mut text = plan_text_with(RECORDS, 21, relay, "", "");
    text.push_str(&format!(
        "kind = \"postgres\"\nurl_file = \"{}\"\ntable = \"{table}\"\n\
         query = \"SELECT syncproof_id AS ext_id, email AS mail, phone, firstname, synced_at FROM {table} WHERE syncproof_id = ANY($1) ORDER BY synced_at\"\n\
         columns = {{ ext_id = \"syncproof_id\", mail = \"email\", phone = \"phone\", firstname = \"firstname\" }}\n",
        url_file.display()
    ));
    let (outcome, s) = run(dir.path(), &text).await;
    let truth = &s["ground_truth"]["relay"];
    let n = RECORDS as f64;
    assert_eq!(s["verification"]["kind"], "postgres");
    assert!(
        s["verification"]["queries"].as_f64().unwrap() > 0.0,
        "{}",
        s["verification"]
    );

    // Every record accounted for; the lost are exactly what the relay dropped.
    assert_eq!(get(&s, "records.sent"), n);
    assert_eq!(
        get(&s, "records.sent"),
        get(&s, "records.delivered") + get(&s, "records.lost")
    );
    let relay_lost = truth["lost"].as_f64().unwrap() + truth["gave_up"].as_f64().unwrap();
    assert_eq!(get(&s, "records.lost"), relay_lost, "{truth}");
    assert!(
        within_binomial(relay_lost, n, 0.02, 4.5),
        "lost {relay_lost}"
    );

    // Duplicates: a second row per record the relay wrote twice, counted in the table.
    assert_eq!(
        get(&s, "duplicates.extra_copies"),
        truth["duplicated"].as_f64().unwrap()
    );
    assert!(truth["duplicated"].as_f64().unwrap() > 0.0);
    assert_eq!(
        s["ground_truth"]["target_extra_copies"],
        truth["duplicate_copies"]
    );
    assert_eq!(truth["duplicate_copies"], truth["duplicated"]);

    // The dropped phones are missing, the renamed columns are complete and accurate.
    let phone = s["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "phone")
        .unwrap();
    let missing = phone["source_nonempty"].as_f64().unwrap() - phone["present"].as_f64().unwrap();
    assert_eq!(missing, truth["fields_dropped"]["phone"].as_f64().unwrap());
    for field in ["email", "firstname"] {
        assert_eq!(
            get(&s, &format!("completeness.fields.{field}")),
            1.0,
            "{field}"
        );
        assert_eq!(get(&s, &format!("accuracy.fields.{field}")), 1.0, "{field}");
    }
    // Latency: the relay's lag (20 ms median, at most 200 ms) is inside what was measured.
    assert!(get(&s, "latency.sync_ms.p50") >= 20.0, "{}", s["latency"]);

    // The connection URL is in no file of the run directory.
    assert_secret_absent(&outcome.dir, &pg.url);
}

/// A merge-loading sync (`write = "upsert"`: `INSERT … ON CONFLICT DO UPDATE` on the id
/// column): the relay's replayed writes update the row, so the table holds one row per record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_loading_warehouse_sync_keeps_one_row_per_record() {
    let pg = postgres();
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("warehouse-url");
    std::fs::write(&url_file, &pg.url).unwrap();
    let table = table("merge");
    let relay = "write = \"upsert\"\nloss_rate = 0.02\nduplicate_rate = 0.05";
    let mut text = plan_text_with(RECORDS, 22, relay, "", "");
    text.push_str(&format!(
        "kind = \"postgres\"\nurl_file = \"{}\"\ntable = \"{table}\"\n\
         query = \"SELECT syncproof_id, email, phone, firstname FROM {table} WHERE syncproof_id = ANY($1)\"\n",
        url_file.display()
    ));
    let (_, s) = run(dir.path(), &text).await;
    let truth = &s["ground_truth"]["relay"];
    let n = RECORDS as f64;
    assert_eq!(s["verification"]["kind"], "postgres");
    let relay_lost = truth["lost"].as_f64().unwrap() + truth["gave_up"].as_f64().unwrap();
    assert_eq!(get(&s, "records.lost"), relay_lost, "{truth}");
    assert_eq!(get(&s, "records.delivered"), n - relay_lost);
    // The replayed writes happened and landed on the existing rows.
    let duplicated = truth["duplicated"].as_f64().unwrap();
    assert!(
        within_binomial(duplicated, n - relay_lost, 0.05, 4.5),
        "{duplicated}"
    );
    assert!(duplicated > 0.0);
    assert_eq!(truth["duplicate_copies"].as_f64().unwrap(), 0.0);
    assert_eq!(get(&s, "duplicates.extra_copies"), 0.0);
    assert_eq!(
        s["ground_truth"]["target_extra_copies"].as_f64().unwrap(),
        0.0
    );
    assert_eq!(
        s["ground_truth"]["target_ids_with_copies"]
            .as_f64()
            .unwrap(),
        0.0
    );
    for field in ["email", "firstname"] {
        assert_eq!(get(&s, &format!("accuracy.fields.{field}")), 1.0, "{field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_whose_query_does_not_fit_is_refused_before_sending() {
    let pg = postgres();
    let dir = tempfile::tempdir().unwrap();
    let url_file = dir.path().join("warehouse-url");
    std::fs::write(&url_file, &pg.url).unwrap();
    let table = table("bad");
    let mut text = plan_text_with(10, 1, "", "", "");
    text.push_str(&format!(
        "kind = \"postgres\"\nurl_file = \"{}\"\ntable = \"{table}\"\n\
         query = \"SELECT * FROM {table} WHERE no_such_column = ANY($1)\"\n",
        url_file.display()
    ));
    let path = crate::support::write_plan(dir.path(), &text);
    let plan = syncproof::replay::Plan::load(
        &syncproof::config::Source::read(&path).unwrap(),
        &Default::default(),
    )
    .unwrap();
    let options = syncproof::run::RunOptions {
        out: Some(dir.path().join("run")),
        ..Default::default()
    };
    let err = syncproof::run::execute(plan, options, Default::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("verify.query") && err.contains("no_such_column"),
        "{err}"
    );
    assert!(!err.contains(&pg.url), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhooks_are_verified_deduplicated_and_timed_at_arrival() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("app-secret");
    let secret = "whsec-it-0123456789abcdef";
    std::fs::write(&secret_file, secret).unwrap();
    let relay = "loss_rate = 0.02";
    let mut text = plan_text_with(RECORDS, 5, relay, "", "webhook_duplicate_rate = 0.1");
    text.push_str(&format!(
        "kind = \"webhook\"\nsecret_file = \"{}\"\n",
        secret_file.display()
    ));
    let (outcome, s) = run(dir.path(), &text).await;
    let truth = &s["ground_truth"]["relay"];
    let v = &s["verification"];
    assert_eq!(v["kind"], "webhook");
    let n = RECORDS as f64;
    assert_eq!(
        get(&s, "records.sent"),
        get(&s, "records.delivered") + get(&s, "records.lost")
    );
    let relay_lost = truth["lost"].as_f64().unwrap() + truth["gave_up"].as_f64().unwrap();
    assert_eq!(get(&s, "records.lost"), relay_lost, "{truth} {v}");
    assert!(within_binomial(relay_lost, n, 0.02, 4.5));
    // Each delivered record was announced once; the duplicates sent were recognised.
    assert_eq!(
        v["records_announced"].as_f64().unwrap(),
        get(&s, "records.delivered"),
        "{v}"
    );
    assert!(v["duplicate_events"].as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(
        v["rejected_bad_signature"].as_f64().unwrap_or(0.0),
        0.0,
        "{v}"
    );
    assert_secret_absent(&outcome.dir, secret);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_or_stale_webhook_is_counted_and_never_trusted() {
    use syncproof::verify::{Finder, Receiver, WebhookMethod};
    let secret = syncproof::replay::Secret::new("the-app-secret");
    let m = WebhookMethod {
        listen: "127.0.0.1:0".parse().unwrap(),
        path: "/hook".into(),
        public_url: None,
        secret,
        max_age: std::time::Duration::from_secs(300),
    };
    let clock = syncproof_mocks::Clock::real();
    let receiver = Receiver::start(&m, "syncproof_id", clock).await.unwrap();
    receiver.set_run_clock(syncproof::measure::RunClock::on(clock));
    let inflight = syncproof::replay::InFlight::default();
    for (idx, id) in [(1, "sp-1"), (2, "sp-2"), (3, "sp-3")] {
        inflight.insert(
            idx,
            syncproof::replay::Pending {
                external_id: id.into(),
                scheduled_at: syncproof::measure::Micros(0),
                settled_at: None,
                op: None,
            },
        );
    }
    let event = |id: u64, ext: &str| {
        format!(
            r#"[{{"eventId":{id},"subscriptionType":"contact.propertyChange","objectId":{id},"propertyName":"syncproof_id","propertyValue":"{ext}"}}]"#
        )
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let http = reqwest::Client::new();
    let send = |body: String, key: &'static str, ts: u64| {
        let sig = syncproof_mocks::signature_v3(key, "POST", receiver.url(), &body, ts);
        http.post(receiver.url())
            .header("x-hubspot-signature-v3", sig)
            .header("x-hubspot-request-timestamp", ts.to_string())
            .body(body)
            .send()
    };
    // Signed with the wrong secret, and signed right but ten minutes old: both refused.
    let forged = send(event(1, "sp-1"), "not-the-secret", now_ms)
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let stale = send(event(2, "sp-2"), "the-app-secret", now_ms - 600_000)
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
    // A good one, delivered twice (a retry): one record, one duplicate.
    for _ in 0..2 {
        let ok = send(event(3, "sp-3"), "the-app-secret", now_ms)
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
    let found = receiver.finder().find(&inflight).await;
    assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), vec![3]);
    let c = receiver.counters();
    assert_eq!(c.get("rejected_bad_signature"), 1);
    assert_eq!(c.get("rejected_stale"), 1);
    assert_eq!(c.get("duplicate_events"), 1);
    assert_eq!(c.get("requests"), 4);
    receiver.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_polling_waits_out_the_search_lag() {
    let dir = tempfile::tempdir().unwrap();
    // Records become searchable 300 ms after the relay writes them; polls reach back 2 s.
    let mut text = plan_text_with(RECORDS, 8, "loss_rate = 0.02", "", "search_lag = \"300ms\"");
    text.push_str("kind = \"search\"\noverlap = \"2s\"\n");
    let (_, s) = run(dir.path(), &text).await;
    let truth = &s["ground_truth"]["relay"];
    let v: &Value = &s["verification"];
    assert_eq!(v["kind"], "search");
    assert!(v["searches"].as_f64().unwrap() > 0.0, "{v}");
    let relay_lost = truth["lost"].as_f64().unwrap() + truth["gave_up"].as_f64().unwrap();
    assert_eq!(get(&s, "records.lost"), relay_lost, "{truth} {v}");
    assert_eq!(
        v["records_found"].as_f64().unwrap(),
        get(&s, "records.delivered")
    );
    // Nothing can be seen by search before the lag has passed since the relay's write.
    assert!(get(&s, "latency.sync_ms.p50") >= 300.0, "{}", s["latency"]);
}
