//! API PoCs against the other target kinds, over real loopback HTTP: Salesforce (the mock org:
//! sObject Collections upserts by external id, SOQL read-back and reconciliation,
//! `Sforce-Limit-Info`, per-record rejections) and a generic REST API described by templates
//! (the HubSpot mock's single-record endpoints standing in). Every record is accounted for
//! against what the mock holds.

use std::collections::BTreeMap;

use syncproof::replay::Topology;
use syncproof_mocks::{Crm, CrmConfig, Org, OrgConfig, serve};
use tokio_util::sync::CancellationToken;

use crate::support::{
    FAST_VERIFY, datasets, get, load_plan, plan_error, plan_error_at, run, write_plan,
};

pub(crate) const SECRET: &str = "00Dxx0000001gPL!AQ4AQFake.Session.Token";

pub(crate) fn salesforce_plan(base_url: &str, records: u64) -> String {
    let d = datasets();
    format!(
        r#"
name = "sf-api-poc"
seed = 11
records = {records}
shape = "{shape}"
sla = "{sla}"

[target]
kind = "salesforce"
base_url = "{base_url}"
token_file = "token.txt"
api_version = "v62.0"
object = "Contact"
external_id_field = "Syncproof_Id__c"

[target.fields]
firstname = "FirstName"
lastname = "LastName"
email = "Email"
phone = "Phone"
jobtitle = "Title"
address = "MailingStreet"
city = "MailingCity"
zip = "MailingPostalCode"
country = "MailingCountry"

[load]
rate = "1500/s"
batch_size = 200
linger = "50ms"

[retry]
base_delay = "20ms"
max_delay = "200ms"

{FAST_VERIFY}"#,
        shape = d.join("shapes/contacts.toml").display(),
        sla = d.join("sla/demo.toml").display(),
    )
}

pub(crate) async fn serve_org(cfg: OrgConfig) -> (std::sync::Arc<Org>, String, CancellationToken) {
    let shutdown = CancellationToken::new();
    let org = Org::new(cfg);
    let (addr, _server) = serve(org.app(), shutdown.clone()).await.unwrap();
    (org, format!("http://{addr}"), shutdown)
}

pub(crate) fn org_config(unique_fields: Vec<String>) -> OrgConfig {
    OrgConfig {
        base: CrmConfig {
            tokens: vec![SECRET.into()],
            daily_max: 1_000_000,
            ..OrgConfig::default().base
        },
        unique_fields,
        ..OrgConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_salesforce_api_poc_upserts_by_external_id_and_reads_back_with_soql() {
    let (org, base, shutdown) = serve_org(org_config(Vec::new())).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), SECRET).unwrap();
    // A long linger: every collection fills to Salesforce's 200.
    let text = salesforce_plan(&base, 1000).replace("linger = \"50ms\"", "linger = \"2s\"");
    let (outcome, s) = run(dir.path(), &text).await;
    shutdown.cancel();

    assert!(
        crate::api_poc::files_containing(&outcome.dir, SECRET.as_bytes()).is_empty(),
        "the session token is in no file of the run directory"
    );
    assert_eq!(get(&s, "records.sent"), 1000.0);
    assert_eq!(get(&s, "records.delivered"), 1000.0);
    assert_eq!(get(&s, "records.lost"), 0.0);
    // Mapped fields and the `{name}__c` custom fields all came back as written.
    assert_eq!(get(&s, "accuracy.overall"), 1.0);
    assert_eq!(get(&s, "duplicates.extra_copies"), 0.0);
    // Ground truth: the org holds each external id once, written by 200-record collections.
    let held = org.copies_by_field("Contact", "Syncproof_Id__c");
    assert_eq!(held.len(), 1000);
    assert!(held.values().all(|n| *n == 1));
    let a = org.accounting();
    let upserts: u64 = a.calls["collections_upsert"].values().sum();
    assert_eq!(upserts as f64, get(&s, "api.calls"));
    assert_eq!(upserts, 5, "1000 records in 200-record collections");
    assert!(a.calls["query"].values().sum::<u64>() > 0);
    // Sforce-Limit-Info became the daily quota figure: the org's own count of requests.
    let (used, max) = org.api_usage();
    let peak = get(&s, "api.daily_quota_peak_pct");
    assert!(
        peak > 0.0 && peak <= 100.0 * used as f64 / max as f64,
        "{peak} vs {used}/{max}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_record_rejections_in_a_collection_are_given_up_alone_and_counted_lost() {
    // `company__c` must be unique: a record repeating a company is refused with DUPLICATE_VALUE
    // inside a 200 answer, while the rest of its collection is written.
    let (org, base, shutdown) = serve_org(org_config(vec!["company__c".into()])).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), SECRET).unwrap();
    let (_, s) = run(dir.path(), &salesforce_plan(&base, 600)).await;
    shutdown.cancel();

    let held = org.copies_by_field("Contact", "Syncproof_Id__c").len() as f64;
    let (sent, delivered, lost) = (
        get(&s, "records.sent"),
        get(&s, "records.delivered"),
        get(&s, "records.lost"),
    );
    assert_eq!(sent, 600.0);
    assert_eq!(sent, delivered + lost);
    assert_eq!(delivered, held, "delivered = what the org holds");
    assert!(lost > 0.0, "the generator repeats some company names");
    assert_eq!(get(&s, "retries.gave_up"), lost, "rejected, never retried");
    // Rejected records were not sent again, nor their accepted neighbours: one attempt each.
    assert_eq!(get(&s, "retries.record_attempts"), 600.0);
    assert_eq!(get(&s, "retries.retried"), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_request_limits_are_throttling_retried_until_delivered() {
    // One request at a time may run past 1 ms; each takes about 3 ms: concurrent writes and
    // reads are refused with 403 REQUEST_LIMIT_EXCEEDED, and retried.
    let mut cfg = org_config(Vec::new());
    cfg.long_running_after = std::time::Duration::from_millis(1);
    cfg.long_running_max = 1;
    cfg.base.latency = syncproof_mocks::LogNormal {
        median: std::time::Duration::from_millis(3),
        sigma: 0.1,
        max: std::time::Duration::from_millis(10),
    };
    let (org, base, shutdown) = serve_org(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), SECRET).unwrap();
    let text = salesforce_plan(&base, 800)
        .replace("batch_size = 200", "batch_size = 50\nconcurrency = 4")
        .replace("[retry]", "[retry]\nmax_attempts = 30");
    let (_, s) = run(dir.path(), &text).await;
    shutdown.cancel();

    let throttled = get(&s, "api.throttled_calls");
    let refused = org
        .accounting()
        .faults
        .get("throttled_concurrency")
        .copied();
    assert!(throttled > 0.0, "the limit was hit");
    assert_eq!(Some(throttled as u64), refused, "each refusal counted once");
    assert_eq!(get(&s, "records.delivered"), 800.0);
    assert_eq!(get(&s, "records.lost"), 0.0);
    assert_eq!(org.copies_by_field("Contact", "Syncproof_Id__c").len(), 800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probing_a_salesforce_org_finds_its_allocation_and_its_403() {
    let mut cfg = org_config(Vec::new());
    cfg.base.daily_max = 40;
    let (org, base, shutdown) = serve_org(cfg).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), SECRET).unwrap();
    let plan = load_plan(&write_plan(dir.path(), &salesforce_plan(&base, 10))).unwrap();
    let client =
        syncproof::replay::CrmClient::new(&base, SECRET, std::time::Duration::from_secs(5))
            .unwrap();
    let options = syncproof::replay::ProbeOptions {
        max_calls: 120,
        max_duration: std::time::Duration::from_secs(3),
        concurrency: 2,
        poll: std::time::Duration::from_millis(20),
        path: plan.dialect.probe_path().unwrap(),
    };
    let report = syncproof::replay::probe_limits(&client, &options).await;
    shutdown.cancel();

    assert_eq!(report.throttle_status, Some(403));
    assert_eq!(
        report.throttle_policy.as_deref(),
        Some("REQUEST_LIMIT_EXCEEDED")
    );
    // The allocation admits 40 requests; the probe saw it through Sforce-Limit-Info.
    assert_eq!(report.admitted_before_throttle, Some(40));
    assert_eq!(report.headers.daily, Some(40));
    assert_eq!(org.accounting().calls["query"].get(&200), Some(&40));
    assert_eq!(
        report.recovery_ms, None,
        "a rolling 24-hour allocation does not recover"
    );
}

fn rest_plan(base_url: &str, read_path: &str) -> String {
    let d = datasets();
    let props = "firstname,lastname,email,phone,company,jobtitle,address,city,zip,country,lifecyclestage,created_at,syncproof_id";
    format!(
        r#"
name = "rest-api-poc"
seed = 5
records = 300
shape = "{shape}"
sla = "{sla}"

[target]
kind = "rest"
base_url = "{base_url}"
token_file = "token.txt"

[target.rest]
method = "POST"
path = "/crm/v3/objects/contacts"
body = '''{{"properties": "{{{{fields}}}}"}}'''
read_path = "{read_path}?properties={props}"
id_pointer = "/id"
fields_pointer = "/properties"
auth_header = "Authorization"

[load]
rate = "600/s"
batch_size = 1
concurrency = 16

[retry]
base_delay = "20ms"
max_delay = "200ms"

[verify]
poll_interval = "100ms"
window = "5s"
read_rate = "2000/s"
search_rate = "2000/s"
"#,
        shape = d.join("shapes/contacts.toml").display(),
        sla = d.join("sla/demo.toml").display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rest_target_described_by_templates_is_written_and_read_back_both_ways() {
    for (read_path, query) in [
        ("/crm/v3/objects/contacts/{id}", "?properties="),
        (
            "/crm/v3/objects/contacts/{external_id}",
            "?idProperty=syncproof_id&properties=",
        ),
    ] {
        let shutdown = CancellationToken::new();
        let crm = Crm::new(CrmConfig {
            tokens: vec![SECRET.into()],
            burst_max: 0,
            search_per_second: 0,
            ..CrmConfig::default()
        });
        let (addr, _server) = serve(crm.router(), shutdown.clone()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token.txt"), SECRET).unwrap();
        let text = rest_plan(&format!("http://{addr}"), read_path).replace("?properties=", query);
        let (_, s) = run(dir.path(), &text).await;
        shutdown.cancel();

        assert_eq!(get(&s, "records.sent"), 300.0, "{read_path}");
        assert_eq!(get(&s, "records.delivered"), 300.0, "{read_path}");
        assert_eq!(get(&s, "records.lost"), 0.0, "{read_path}");
        assert_eq!(get(&s, "accuracy.overall"), 1.0, "{read_path}");
        // One create per record, each holding its external id.
        let a = crm.accounting();
        assert_eq!(
            a.calls["create"].values().sum::<u64>() as f64,
            get(&s, "api.calls")
        );
        let held: BTreeMap<String, u64> = crm.copies_by_property("syncproof_id");
        assert_eq!(held.len(), 300, "{read_path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_loop_with_nothing_read_back_writes_every_record_once_and_judges_no_delivery() {
    let shutdown = CancellationToken::new();
    let crm = Crm::new(CrmConfig {
        tokens: vec![SECRET.into()],
        burst_max: 0,
        search_per_second: 0,
        ..CrmConfig::default()
    });
    let (addr, _server) = serve(crm.router(), shutdown.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), SECRET).unwrap();
    let text = rest_plan(
        &format!("http://{addr}"),
        "/crm/v3/objects/contacts/{external_id}",
    )
    .replace("rate = \"600/s\"", "rate = \"max\"")
    .replace("concurrency = 16", "concurrency = 4")
    .replace("[verify]\n", "[verify]\nkind = \"none\"\n");
    let (_, s) = run(dir.path(), &text).await;
    shutdown.cancel();

    // Every record written exactly once (the mock's own count), nothing read.
    let a = crm.accounting();
    assert_eq!(a.calls["create"].values().sum::<u64>(), 300);
    assert_eq!(a.calls.keys().collect::<Vec<_>>(), vec!["create"]);
    assert_eq!(crm.copies_by_property("syncproof_id").len(), 300);
    assert_eq!(get(&s, "records.sent"), 300.0);
    assert_eq!(get(&s, "records.acknowledged"), 300.0);
    assert_eq!(get(&s, "api.calls"), 300.0);
    assert_eq!(get(&s, "latency.api_ms.n"), 300.0);
    assert_eq!(s["verification"]["kind"], "none");
    assert_eq!(s["run"]["closed_loop"], true);
    assert!(get(&s, "run.rate_per_s") > 0.0);
    assert!(get(&s, "run.cpu_s") > 0.0);
    assert!(get(&s, "run.cpu_pct_of_wall") > 0.0);
    // What only a look at the target can tell is not measured, so never a pass.
    let verdicts = s["sla"].as_array().expect("verdicts");
    let unmeasured: Vec<_> = verdicts
        .iter()
        .filter(|v| {
            syncproof::sla::NEEDS_VERIFICATION
                .iter()
                .any(|p| v["metric"].as_str().unwrap().starts_with(p))
        })
        .collect();
    assert!(!unmeasured.is_empty(), "the demo SLA judges delivery");
    for v in unmeasured {
        assert_eq!(v["verdict"], "inconclusive", "{v}");
        assert!(v["note"].as_str().unwrap().contains("not measured"), "{v}");
    }
    assert_ne!(s["verdict"], "pass");
}

#[test]
fn bad_target_keys_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), SECRET).unwrap();
    let load = |text: &str| plan_error(dir.path(), text);
    let sf = salesforce_plan("http://127.0.0.1:9", 10);
    let err = load(&sf.replace("Syncproof_Id__c", "SyncproofId"));
    assert!(
        err.contains("target.external_id_field") && err.contains("__c"),
        "{err}"
    );
    let err = load(&sf.replace("phone = \"Phone\"", "phnoe = \"Phone\""));
    assert!(
        err.contains("target.fields") && err.contains("did you mean \"phone\""),
        "{err}"
    );
    let err = load(&sf.replace("batch_size = 200", "batch_size = 201"));
    assert!(
        err.contains("load.batch_size") && err.contains("1..=200"),
        "{err}"
    );
    let err = load(&sf.replace("v62.0", "62"));
    assert!(err.contains("target.api_version"), "{err}");

    let rest = rest_plan("http://127.0.0.1:9", "/c/{id}");
    let err = load(&rest.replace("{{fields}}", "{{emial}}"));
    assert!(
        err.contains("target.rest.body") && err.contains("did you mean \"email\""),
        "{err}"
    );
    let err = load(&rest.replace("/c/{id}", "/c/{uuid}"));
    assert!(
        err.contains("target.rest.read_path") && err.contains("{uuid}"),
        "{err}"
    );
    let err = load(&rest.replace("rate = \"600/s\"", "rate = \"fast\""));
    assert!(
        err.contains("load.rate") && err.contains("\"max\""),
        "{err}"
    );
    let staged = rest.replace(
        "rate = \"600/s\"",
        "rate = \"max\"\nstages = [{ shape = \"constant\", rate = \"5/s\", duration = \"1s\" }]",
    );
    let err = load(&staged);
    assert!(err.contains("load.stages") && err.contains("max"), "{err}");
    let err = load(&rest.replace("[verify]\n", "[verify]\nkind = \"nothing\"\n"));
    assert!(err.contains("verify.kind") && err.contains("none"), "{err}");
    let err = load(&rest.replace("batch_size = 1", "batch_size = 10"));
    assert!(
        err.contains("load.batch_size") && err.contains("1..=1"),
        "{err}"
    );
    let err = load(&rest.replace("id_pointer = \"/id\"", "id_pointer = \"id\""));
    assert!(err.contains("target.rest.id_pointer"), "{err}");
    let err = load(&rest.replace("[target.rest]", "object = \"Contact\"\n[target.rest]"));
    assert!(
        err.contains("target.object") && err.contains("kind = \"rest\""),
        "{err}"
    );
}

#[test]
fn the_shipped_salesforce_and_rest_plans_are_valid_up_to_their_credential() {
    for (file, variable) in [
        (
            "plans/salesforce-api-poc.toml",
            "SALESFORCE_TOKEN is not set",
        ),
        ("plans/rest-api-poc.toml", "API_TOKEN is not set"),
        (
            "plans/integration-poc.toml",
            "target.from.token_env: the environment variable SOURCE_TOKEN is not set",
        ),
    ] {
        let err = plan_error_at(&datasets().join(file));
        assert!(err.contains(variable), "{file}: {err}");
    }
}

#[test]
fn an_integration_plan_names_the_system_a_mistake_belongs_to() {
    let d = datasets();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("token"), "t").unwrap();
    let base = format!(
        r#"name = "i"
seed = 1
records = 10
shape = "{shape}"
sla = "{sla}"

[target]
kind = "integration"

[target.from]
kind = "hubspot"
base_url = "http://127.0.0.1:9"
token_file = "token"

[target.to]
kind = "salesforce"
base_url = "http://127.0.0.1:10"
token_file = "token"
object = "Contact"
external_id_field = "Syncproof_Id__c"

[load]
rate = "10/s"
batch_size = 100
"#,
        shape = d.join("shapes/contacts.toml").display(),
        sla = d.join("sla/demo.toml").display(),
    );
    let load = |text: &str| load_plan(&write_plan(tmp.path(), text));
    // Valid: HubSpot in, Salesforce out; writes are capped by the source's batch size.
    let plan = load(&base).unwrap();
    assert!(matches!(plan.topology, Topology::Integration { .. }));
    assert_eq!(plan.write_dialect.max_batch(), 100);
    assert_eq!(plan.dialect.max_batch(), 200);
    // A key of the wrong kind is named with its table, on its line.
    let err = load(&base.replace(
        "base_url = \"http://127.0.0.1:9\"",
        "base_url = \"http://127.0.0.1:9\"\nobject = \"Contact\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("target.from.object") && err.contains(":13:"),
        "{err}"
    );
    let err = load(&base.replace("kind = \"hubspot\"", "kind = \"mock-integration\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("target.from.kind"), "{err}");
    // Credentials belong to each system, never to [target] itself.
    let err = load(&base.replace(
        "kind = \"integration\"",
        "kind = \"integration\"\nbase_url = \"http://127.0.0.1:1\"",
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("target.base_url") && err.contains("[target.from]"),
        "{err}"
    );
    // Without both systems the plan says what it needs.
    let (head, tail) = base.split_once("[target.to]").unwrap();
    let without_to = format!("{head}{}", &tail[tail.find("[load]").unwrap()..]);
    let err = load(&without_to).unwrap_err().to_string();
    assert!(err.contains("[target.to]"), "{err}");
    // from/to are refused on an API PoC.
    let err = load(&base.replace("kind = \"integration\"", "kind = \"hubspot\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("integration"), "{err}");
}
