//! A `[load] mix` of creates, updates and deletes against the HubSpot mock on loopback: the
//! mock's final state is the ground truth (records created minus deleted, each holding its
//! latest version's values), per-kind `sent = observed + lost`, the mock's call accounting
//! matches the harness's, the same plan gives the same final state, and bad mixes are refused.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use syncproof::config::Source;
use syncproof::generate::{Generator, Version};
use syncproof::replay::{Mix, Plan, PlanOverrides, finals};
use syncproof_mocks::{Crm, CrmConfig, serve};
use tokio_util::sync::CancellationToken;

use crate::support::{FAST_VERIFY, datasets, get, run, write_plan};

const TOKEN: &str = "pat-mix-token";
const RECORDS: u64 = 600;
const SEED: u64 = 11;
/// Fields the test shape's updates change.
const UPDATED: [&str; 3] = ["jobtitle", "phone", "city"];

/// The contacts shape with an update stream over `UPDATED`.
fn shape(dir: &std::path::Path) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(datasets().join("shapes/contacts.toml")).unwrap();
    text.push_str(
        "\n[objects.updates]\nrate = 0.3\nmax_versions = 3\nmax_fields = 2\ndelete_rate = 0.0\n\
         fields = [\n  { name = \"jobtitle\", weight = 2.0 },\n  { name = \"phone\", weight = 1.0 },\n  \
         { name = \"city\", weight = 1.0 },\n]\n",
    );
    let path = dir.join("shape.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn plan(dir: &std::path::Path, base_url: &str, mix: &str) -> String {
    format!(
        r#"
name = "mix"
seed = {SEED}
records = {RECORDS}
shape = "{shape}"
sla = "{sla}"

[target]
kind = "hubspot"
base_url = "{base_url}"
token_file = "token.txt"

[load]
rate = "1500/s"
batch_size = 50
linger = "50ms"
{mix}

{FAST_VERIFY}"#,
        shape = shape(dir).display(),
        sla = datasets().join("sla/demo.toml").display(),
    )
}

const MIX: &str = "mix = { create = 0.8, update = 0.15, delete = 0.05 }";

/// Every live record of the mock: external id → the `UPDATED` fields (empty = absent).
async fn live_records(base: &str) -> BTreeMap<String, Vec<String>> {
    let client = reqwest::Client::new();
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!(
            "{base}/crm/v3/objects/contacts?limit=100&properties=syncproof_id,{}",
            UPDATED.join(",")
        );
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        let page: Value = client
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for r in page["results"].as_array().unwrap() {
            let p = &r["properties"];
            let values = UPDATED
                .iter()
                .map(|f| p[f].as_str().unwrap_or("").to_string())
                .collect();
            out.insert(p["syncproof_id"].as_str().unwrap().to_string(), values);
        }
        match page["paging"]["next"]["after"].as_str() {
            Some(a) => after = Some(a.to_string()),
            None => return out,
        }
    }
}

/// What the mock must hold: every record not deleted, with its latest version's values.
fn ground_truth(shape_path: &std::path::Path, mix: Mix) -> BTreeMap<String, Vec<String>> {
    let src = Source::read(shape_path).unwrap();
    let shape = Arc::new(syncproof::shape::Shape::from_source(&src).unwrap());
    let generator = Generator::new(Arc::clone(&shape), SEED);
    let names = shape.field_names();
    let at: Vec<usize> = UPDATED
        .iter()
        .map(|f| names.iter().position(|n| n == f).unwrap())
        .collect();
    let mut out = BTreeMap::new();
    for f in finals(mix, SEED, RECORDS) {
        if f.deleted {
            continue;
        }
        let record = generator.record(f.record);
        let mut values: Vec<String> = at
            .iter()
            .map(|&i| record.values[i].clone().unwrap_or_default())
            .collect();
        let mut v = Version::default();
        for n in 1..=f.version {
            assert!(generator.update_into(f.record, n, &mut v));
            for (slot, &i) in values.iter_mut().zip(&at) {
                if let Some(new) = &v.values[i] {
                    *slot = new.clone();
                }
            }
        }
        out.insert(record.external_id, values);
    }
    out
}

async fn mixed_run() -> (
    Value,
    syncproof_mocks::CrmAccounting,
    BTreeMap<String, Vec<String>>,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    mixed_run_on(Vec::new()).await
}

/// A mixed run against a HubSpot mock whose `unique` properties refuse repeated values.
async fn mixed_run_on(
    unique: Vec<String>,
) -> (
    Value,
    syncproof_mocks::CrmAccounting,
    BTreeMap<String, Vec<String>>,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    let shutdown = CancellationToken::new();
    let crm = Crm::new(CrmConfig {
        tokens: vec![TOKEN.into()],
        burst_max: 0,
        search_per_second: 0,
        unique_properties: unique,
        ..CrmConfig::default()
    });
    let (addr, _server) = serve(crm.router(), shutdown.clone()).await.unwrap();
    let base = format!("http://{addr}");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), TOKEN).unwrap();
    let (_outcome, s) = run(dir.path(), &plan(dir.path(), &base, MIX)).await;
    let live = live_records(&base).await;
    shutdown.cancel();
    (
        s,
        crm.accounting(),
        live,
        dir.path().join("shape.toml"),
        dir,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_run_leaves_the_target_as_the_ground_truth_says_and_accounts_per_kind() {
    let (s, acc, live, shape_path, _dir) = mixed_run().await;
    let mix = Mix::new(0.8, 0.15, 0.05).unwrap();
    let kind = |k: &str, what: &str| get(&s, &format!("mix.by_kind.{k}.{what}"));

    let validator = jsonschema::draft202012::new(&crate::schema::schema()).unwrap();
    let broken: Vec<String> = validator.iter_errors(&s).map(|e| e.to_string()).collect();
    assert!(broken.is_empty(), "{broken:?}");
    // Every kind: sent once, then observed or lost; the clean mock loses nothing.
    for k in ["create", "update", "delete"] {
        assert_eq!(
            kind(k, "sent"),
            kind(k, "observed") + kind(k, "lost"),
            "{k}: {}",
            s["mix"]
        );
        assert_eq!(kind(k, "lost"), 0.0, "{k}: {}", s["mix"]);
        assert_eq!(kind(k, "sent"), kind(k, "acknowledged"), "{k}");
    }
    assert_eq!(kind("create", "sent"), RECORDS as f64);
    let ops = mix.ops_for(RECORDS) as f64;
    let (updates, deletes) = (kind("update", "sent"), kind("delete", "sent"));
    let skipped = kind("update", "skipped") + kind("delete", "skipped");
    assert_eq!(
        RECORDS as f64 + updates + deletes + skipped,
        ops,
        "{}",
        s["mix"]
    );
    assert!(updates > 80.0 && deletes > 20.0, "{}", s["mix"]);

    // The mock did exactly what the harness says it sent.
    let calls = |name: &str| acc.calls.get(name).map_or(0, |m| m.values().sum::<u64>()) as f64;
    assert_eq!(
        calls("batch_upsert") + calls("batch_update") + calls("batch_archive"),
        get(&s, "api.calls")
    );
    assert_eq!(acc.records_created, RECORDS);
    assert_eq!(acc.records_updated as f64, updates);
    assert_eq!(acc.records_archived as f64, deletes);

    // The target holds the ground truth: created minus deleted, each at its latest version.
    let truth = ground_truth(&shape_path, mix);
    assert_eq!(live.len() as u64, RECORDS - deletes as u64);
    assert_eq!(get(&s, "mix.final.deleted"), deletes);
    assert_eq!(get(&s, "mix.final.deleted_still_visible"), 0.0);
    assert_eq!(live.len(), truth.len());
    let wrong: Vec<_> = truth
        .iter()
        .filter(|(id, want)| live.get(*id) != Some(want))
        .take(3)
        .map(|(id, want)| (id, want, live.get(id)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_on_a_record_whose_create_was_lost_are_skipped_and_counted() {
    // `company` must be unique: a create repeating a company is refused, so never seen, so
    // lost; the updates and deletes drawn for it later are skipped, never sent.
    let (s, acc, live, _, _dir) = mixed_run_on(vec!["company".into()]).await;
    let kind = |k: &str, what: &str| get(&s, &format!("mix.by_kind.{k}.{what}"));
    for k in ["create", "update", "delete"] {
        assert_eq!(
            kind(k, "sent"),
            kind(k, "observed") + kind(k, "lost"),
            "{k}"
        );
    }
    let lost_creates = kind("create", "lost");
    assert!(
        lost_creates > 0.0,
        "the generator repeats some companies: {}",
        s["mix"]
    );
    let skipped = kind("update", "skipped") + kind("delete", "skipped");
    assert!(skipped > 0.0, "{}", s["mix"]);
    // Nothing skipped reached the mock: it archived exactly the deletes acknowledged, each by
    // the id its create's answer gave (a multi-status answer included). (Its update count also
    // holds the creates' upserts, retried whole on a multi-status answer.)
    assert_eq!(
        acc.records_archived as f64,
        kind("delete", "acknowledged"),
        "{}",
        s["mix"]
    );
    assert_eq!(
        get(&s, "mix.final.deleted_still_visible"),
        0.0,
        "{}",
        s["mix"]
    );
    assert_eq!(
        live.len() as f64,
        kind("create", "observed") - kind("delete", "observed")
    );
    let ops = Mix::new(0.8, 0.15, 0.05).unwrap().ops_for(RECORDS) as f64;
    let all: f64 = ["create", "update", "delete"]
        .iter()
        .map(|k| kind(k, "sent") + kind(k, "skipped"))
        .sum();
    assert_eq!(all, ops, "every operation sent or skipped, none dropped");
}

/// The operations a run sent, from its events: (op_idx, op, record_idx, version) of every
/// first attempt, in operation order.
fn sent_operations(run: &std::path::Path) -> Vec<(u64, String, u64, Option<u32>)> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{UInt32Type, UInt64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut ops = Vec::new();
    for entry in std::fs::read_dir(run.join("events")).unwrap() {
        let file = std::fs::File::open(entry.unwrap().path()).unwrap();
        for batch in ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
        {
            let batch = batch.unwrap();
            let col = |name: &str| batch.column_by_name(name).unwrap().clone();
            let (kind, op) = (col("kind"), col("op"));
            let (kind, op) = (kind.as_string::<i32>(), op.as_string::<i32>());
            let (op_idx, record, attempt, version) = (
                col("op_idx"),
                col("record_idx"),
                col("attempt"),
                col("version"),
            );
            let op_idx = op_idx.as_primitive::<UInt64Type>();
            let record = record.as_primitive::<UInt64Type>();
            let attempt = attempt.as_primitive::<UInt32Type>();
            let version = version.as_primitive::<UInt32Type>();
            for row in 0..batch.num_rows() {
                if kind.value(row) == "attempt" && attempt.value(row) == 1 {
                    assert!(!op.is_null(row), "a mixed run's events carry their op");
                    ops.push((
                        op_idx.value(row),
                        op.value(row).to_string(),
                        record.value(row),
                        (!version.is_null(row)).then(|| version.value(row)),
                    ));
                }
            }
        }
    }
    ops.sort();
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_mixed_plan_twice_gives_the_same_operations_and_final_state() {
    let (first, _, live1, _, d1) = mixed_run().await;
    let (second, _, live2, _, d2) = mixed_run().await;
    let ops = sent_operations(&d1.path().join("run"));
    assert_eq!(ops, sent_operations(&d2.path().join("run")));
    let sent: f64 = ["create", "update", "delete"]
        .iter()
        .map(|k| get(&first, &format!("mix.by_kind.{k}.sent")))
        .sum();
    assert_eq!(ops.len() as f64, sent);
    assert!(ops.iter().any(|o| o.1 == "update" && o.3.is_some()));
    assert_eq!(live1, live2);
    for k in ["create", "update", "delete"] {
        for what in ["sent", "skipped"] {
            let path = format!("mix.by_kind.{k}.{what}");
            assert_eq!(get(&first, &path), get(&second, &path), "{path}");
        }
    }
}

#[test]
fn bad_mixes_are_refused_naming_the_key_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), TOKEN).unwrap();
    let refused = |mix: &str| {
        let path = write_plan(dir.path(), &plan(dir.path(), "http://127.0.0.1:9", mix));
        Plan::load(&Source::read(&path).unwrap(), &PlanOverrides::default())
            .unwrap_err()
            .to_string()
    };
    let err = refused("mix = { create = 0.8, update = 0.15, delete = 0.1 }");
    assert!(err.contains("load.mix") && err.contains("sum to"), "{err}");
    let err = refused("mix = { create = 1.5, update = -0.25, delete = -0.25 }");
    assert!(
        err.contains("load.mix") && err.contains("fraction from 0 to 1"),
        "{err}"
    );
    let err = refused("mix = { create = 0.8, updates = 0.2 }");
    assert!(err.contains("unknown key \"updates\""), "{err}");
    // A shape without an update stream cannot be updated.
    let text = plan(dir.path(), "http://127.0.0.1:9", MIX).replace(
        &dir.path().join("shape.toml").display().to_string(),
        &datasets()
            .join("shapes/contacts.toml")
            .display()
            .to_string(),
    );
    let path = write_plan(dir.path(), &text);
    let err = Plan::load(&Source::read(&path).unwrap(), &PlanOverrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("load.mix") && err.contains("[objects.updates]"),
        "{err}"
    );
    // A closed loop has no schedule to interleave the operations on.
    let text =
        plan(dir.path(), "http://127.0.0.1:9", MIX).replace("rate = \"1500/s\"", "rate = \"max\"");
    let path = write_plan(dir.path(), &text);
    let err = Plan::load(&Source::read(&path).unwrap(), &PlanOverrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("load.mix") && err.contains("open-loop schedule"),
        "{err}"
    );
    // Creates only is today's plan.
    let path = write_plan(
        dir.path(),
        &plan(dir.path(), "http://127.0.0.1:9", "mix = { create = 1.0 }"),
    );
    assert!(Plan::load(&Source::read(&path).unwrap(), &PlanOverrides::default()).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_run_against_a_salesforce_org_updates_by_external_id_and_deletes_by_id() {
    use crate::targets::{SECRET, org_config, salesforce_plan, serve_org};
    let (org, base, shutdown) = serve_org(org_config(Vec::new())).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token.txt"), SECRET).unwrap();
    let text = salesforce_plan(&base, RECORDS)
        .replace(
            &datasets()
                .join("shapes/contacts.toml")
                .display()
                .to_string(),
            &shape(dir.path()).display().to_string(),
        )
        .replace("linger = \"50ms\"", &format!("linger = \"50ms\"\n{MIX}"));
    let (_, s) = run(dir.path(), &text).await;
    shutdown.cancel();

    let kind = |k: &str, what: &str| get(&s, &format!("mix.by_kind.{k}.{what}"));
    for k in ["create", "update", "delete"] {
        assert_eq!(
            kind(k, "sent"),
            kind(k, "observed") + kind(k, "lost"),
            "{k}"
        );
        assert_eq!(kind(k, "lost"), 0.0, "{k}: {}", s["mix"]);
    }
    let deletes = kind("delete", "sent");
    assert!(
        kind("update", "sent") > 80.0 && deletes > 20.0,
        "{}",
        s["mix"]
    );
    // The org holds the records created minus the deleted ones, once each.
    let held = org.copies_by_field("Contact", "Syncproof_Id__c");
    let truth = ground_truth(
        &dir.path().join("shape.toml"),
        Mix::new(0.8, 0.15, 0.05).unwrap(),
    );
    assert_eq!(held.len(), truth.len());
    assert!(held.keys().all(|id| truth.contains_key(id)));
    assert!(held.values().all(|n| *n == 1));
    let a = org.accounting();
    let calls = |name: &str| a.calls.get(name).map_or(0, |m| m.values().sum::<u64>()) as f64;
    assert!(calls("collections_delete") > 0.0, "{:?}", a.calls);
    assert_eq!(get(&s, "mix.final.deleted_still_visible"), 0.0);
    assert_eq!(
        get(&s, "accuracy.overall"),
        1.0,
        "every record at its latest version"
    );
}
