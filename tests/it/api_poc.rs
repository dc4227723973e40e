//! API PoC against a HubSpot-compatible URL (the mock, served on loopback, stands in for the
//! vendor): write and read back one system, with the token from a file; the token appears in no
//! file of the run directory; a missing credential is refused naming the key.

use std::path::Path;

use syncproof_mocks::{Crm, CrmConfig, serve};
use tokio_util::sync::CancellationToken;

use crate::support::{FAST_VERIFY, datasets, get, plan_error, plan_error_at, run};

const SECRET: &str = "pat-na1-7f3c9e21-secret-token";

pub fn plan(base_url: &str, credential: &str) -> String {
    let d = datasets();
    format!(
        r#"
name = "api-poc"
seed = 3
records = 1500
shape = "{shape}"
sla = "{sla}"

[target]
kind = "hubspot"
base_url = "{base_url}"
{credential}

[load]
rate = "1500/s"
batch_size = 50
linger = "50ms"

{FAST_VERIFY}"#,
        shape = d.join("shapes/contacts.toml").display(),
        sla = d.join("sla/demo.toml").display(),
    )
}

pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            hits.push(path.display().to_string());
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_poc_writes_and_reads_back_one_system_and_keeps_its_secret() {
    let shutdown = CancellationToken::new();
    let crm = Crm::new(CrmConfig {
        tokens: vec![SECRET.into()],
        burst_max: 0,
        search_per_second: 0,
        ..CrmConfig::default()
    });
    let (addr, _server) = serve(crm.router(), shutdown.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), format!("{SECRET}\n")).unwrap();
    let (outcome, s) = run(
        dir.path(),
        &plan(&format!("http://{addr}"), "token_file = \"token.txt\""),
    )
    .await;
    shutdown.cancel();

    assert_eq!(get(&s, "records.sent"), 1500.0);
    assert_eq!(get(&s, "records.delivered"), 1500.0);
    assert_eq!(get(&s, "records.lost"), 0.0);
    assert_eq!(get(&s, "accuracy.overall"), 1.0);
    assert!(
        s["ground_truth"].is_null(),
        "no mock of ours behind a real target"
    );
    // The API saw exactly the write calls the harness counted, and holds each record once.
    let a = crm.accounting();
    assert_eq!(
        a.calls["batch_upsert"].values().sum::<u64>() as f64,
        get(&s, "api.calls")
    );
    assert_eq!(crm.record_count(), 1500);
    // The credential is nowhere in what the run left behind; its file's path is (absolute,
    // so that `run --resume` finds it from the run directory).
    assert!(files_containing(&outcome.dir, SECRET.as_bytes()).is_empty());
    let plan = std::fs::read_to_string(outcome.dir.join("plan.toml")).unwrap();
    let line = plan
        .lines()
        .find(|l| l.starts_with("token_file = "))
        .expect("the plan names its token file");
    assert!(line.ends_with("token.txt\""), "{line}");
    assert!(line.contains("= \"/"), "{line}");
}

#[test]
fn a_hubspot_target_without_a_usable_credential_is_refused_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let load =
        |credential: &str| plan_error(dir.path(), &plan("https://api.hubapi.com", credential));
    let err = load("");
    assert!(
        err.contains("token_env") && err.contains("never go in the plan"),
        "{err}"
    );
    let err = load("token_env = \"SYNCPROOF_IT_NO_SUCH_VARIABLE\"");
    assert!(
        err.contains("SYNCPROOF_IT_NO_SUCH_VARIABLE is not set"),
        "{err}"
    );
    let err = load("token_file = \"missing.txt\"");
    assert!(
        err.contains("target.token_file") && err.contains("missing.txt"),
        "{err}"
    );
    let err = load("token = \"abc\"");
    assert!(err.contains("unknown key \"token\""), "{err}");
}

#[test]
fn the_shipped_hubspot_plan_is_valid_up_to_its_credential() {
    let err = plan_error_at(&datasets().join("plans/hubspot-api-poc.toml"));
    // Everything else is checked before the credential, so this is the only complaint.
    assert!(err.contains("HUBSPOT_TOKEN is not set"), "{err}");
}
