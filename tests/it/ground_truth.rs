//! The loop measured against what the mock knows it did. Each figure in summary.json must equal
//! the mock's own count exactly, and the mock's count must match its knob within a stated
//! binomial tolerance (4.5 standard deviations: a false alarm about once in 150,000 runs).

use crate::support::{get, read_summary, run, within_binomial};

const RECORDS: u64 = 3000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measured_loss_duplicates_and_drops_equal_the_mocks_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let relay = "loss_rate = 0.01\nduplicate_rate = 0.02\ndrop_rates = { phone = 0.05 }";
    let (_, s) = run(
        dir.path(),
        &crate::support::plan_text(RECORDS, 7, relay, 0.0),
    )
    .await;
    let truth = &s["ground_truth"]["relay"];
    let n = RECORDS as f64;

    // Every record sent is accounted for, exactly once.
    assert_eq!(get(&s, "records.sent"), n);
    assert_eq!(
        get(&s, "records.sent"),
        get(&s, "records.delivered") + get(&s, "records.lost")
    );

    // Loss: exactly what the relay dropped (nothing is late with this window), near the knob.
    let relay_lost = truth["lost"].as_f64().unwrap() + truth["gave_up"].as_f64().unwrap();
    assert_eq!(get(&s, "records.lost"), relay_lost, "{truth}");
    assert_eq!(get(&s, "records.late"), 0.0);
    assert!(
        within_binomial(relay_lost, n, 0.01, 4.5),
        "lost {relay_lost}"
    );
    assert!((get(&s, "records.loss_rate") - relay_lost / n).abs() < 1e-6);

    // Duplicates: one extra target record per record the relay wrote twice.
    let duplicated = truth["duplicated"].as_f64().unwrap();
    assert_eq!(get(&s, "duplicates.extra_copies"), duplicated);
    assert_eq!(
        s["ground_truth"]["target_extra_copies"].as_f64().unwrap(),
        duplicated
    );
    let delivered = get(&s, "records.delivered");
    assert!(
        within_binomial(duplicated, delivered, 0.02, 4.5),
        "duplicated {duplicated}"
    );
    assert!((get(&s, "duplicates.exact_rate") - duplicated / delivered).abs() < 1e-6);

    // Phone completeness: exactly the relay's drops are missing; source gaps are not counted.
    let phone = s["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "phone")
        .unwrap();
    let denominator = phone["source_nonempty"].as_f64().unwrap();
    let missing = denominator - phone["present"].as_f64().unwrap();
    assert_eq!(missing, truth["fields_dropped"]["phone"].as_f64().unwrap());
    assert!(
        within_binomial(missing, denominator, 0.05, 4.5),
        "phone missing {missing}"
    );
    let completeness = get(&s, "completeness.fields.phone");
    assert!((completeness - (1.0 - missing / denominator)).abs() < 1e-6);
    assert!(
        denominator < delivered,
        "records whose source phone is blank are not in the denominator"
    );

    // Nothing else was touched.
    for field in ["email", "firstname", "company", "created_at"] {
        assert_eq!(
            get(&s, &format!("completeness.fields.{field}")),
            1.0,
            "{field}"
        );
        assert_eq!(get(&s, &format!("accuracy.fields.{field}")), 1.0, "{field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_knob_at_zero_the_figures_are_perfect_despite_transient_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (outcome, s) = run(
        dir.path(),
        &crate::support::plan_text(RECORDS, 11, "", 0.05),
    )
    .await;
    assert_eq!(get(&s, "records.sent"), RECORDS as f64);
    assert_eq!(get(&s, "records.delivered"), RECORDS as f64);
    assert_eq!(get(&s, "records.lost"), 0.0);
    assert_eq!(get(&s, "duplicates.exact_rate"), 0.0);
    assert_eq!(get(&s, "completeness.overall"), 1.0);
    assert_eq!(get(&s, "accuracy.overall"), 1.0);
    // The 20 % transient errors at the source (about 24 of 120 write calls) were retried, and retries made no duplicates.
    let source_5xx = s["ground_truth"]["source"]["faults"]["transient_5xx"]
        .as_f64()
        .unwrap_or(0.0);
    let harness_5xx: f64 = ["500", "502", "503", "504"]
        .iter()
        .filter_map(|c| s["api"]["status"][c].as_f64())
        .sum();
    assert!(
        harness_5xx > 0.0 && harness_5xx <= source_5xx,
        "{harness_5xx} vs {source_5xx}"
    );
    assert!(get(&s, "retries.retried_rate") > 0.0);
    assert!(get(&s, "retries.attempts_per_record") > 1.0);
    assert_eq!(get(&s, "retries.gave_up"), 0.0);
    assert_eq!(get(&s, "retries.retry_after_violations"), 0.0);
    // The source saw each write call the harness made, and created each record once.
    let source = &s["ground_truth"]["source"];
    assert_eq!(source["records_created"].as_f64().unwrap(), RECORDS as f64);
    let source_upserts: f64 = source["calls"]["batch_upsert"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert_eq!(source_upserts, get(&s, "api.calls"));
    assert!(outcome.summary.verdicts.iter().all(|v| v.n > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_identical_records_and_quality_figures() {
    let relay =
        "loss_rate = 0.02\nduplicate_rate = 0.02\ndrop_rates = { email = 0.1 }\ntruncate_at = 12";
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let text = crate::support::plan_text(1500, 99, relay, 0.02);
    let (oa, sa) = run(a.path(), &text).await;
    let (ob, sb) = run(b.path(), &text).await;
    let records = |dir: &std::path::Path| std::fs::read(dir.join("data/contact.parquet")).unwrap();
    assert_eq!(
        records(&oa.dir),
        records(&ob.dir),
        "records are byte-identical"
    );
    for key in [
        "records",
        "duplicates",
        "completeness",
        "accuracy",
        "fields",
    ] {
        assert_eq!(
            sa[key], sb[key],
            "{key} differs between two runs with the same seed"
        );
    }
    // Truncation at 12 characters is seen as such.
    assert!(sa["accuracy"]["truncated"]["company"].as_f64().unwrap() > 0.0);
    assert!(get(&sa, "accuracy.fields.company") < 1.0);
}

/// Commit-then-drop on both sides: the harness's writes are `batch/upsert` keyed by the external
/// id, so its retries make no duplicate at the source; the relay's are plain creates, so its
/// retries do, and the relay cannot know. The harness still counts every extra copy exactly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_then_drop_duplicates_only_non_idempotent_writers_and_is_measured() {
    let dir = tempfile::tempdir().unwrap();
    let text = crate::support::plan_text_with(
        RECORDS,
        21,
        "",
        "commit_then_drop_rate = 0.1",
        "commit_then_drop_rate = 0.1",
    );
    let (_, s) = run(dir.path(), &text).await;
    let truth = &s["ground_truth"];
    // The harness saw dropped connections and retried them...
    assert!(get(&s, "retries.retried_rate") > 0.0);
    assert!(
        s["api"]["status"]["0"].as_f64().unwrap() > 0.0,
        "transport errors recorded as status 0"
    );
    // ...and the source still holds each record once.
    assert_eq!(
        truth["source"]["records_created"].as_f64().unwrap(),
        RECORDS as f64
    );
    assert!(
        truth["source"]["faults"]["commit_then_drop"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    // The relay's retries duplicated records it never knew about; the harness counted them all.
    assert_eq!(truth["relay"]["duplicated"].as_f64().unwrap(), 0.0);
    let extra = truth["target_extra_copies"].as_f64().unwrap();
    assert!(extra > 0.0);
    assert_eq!(get(&s, "duplicates.extra_copies"), extra);
    assert_eq!(get(&s, "records.lost"), 0.0);
}

/// The same faults against a relay that upserts by the id property: its retries after a
/// dropped acknowledgement and its replayed writes (`duplicate_rate`) update the copy the first
/// write made. The target holds each record once, and the relay's books say why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upserting_relay_makes_no_extra_copy_from_retries_or_replays() {
    let dir = tempfile::tempdir().unwrap();
    let text = crate::support::plan_text_with(
        RECORDS,
        21,
        "write = \"upsert\"\nduplicate_rate = 0.05",
        "",
        "commit_then_drop_rate = 0.1",
    );
    let (_, s) = run(dir.path(), &text).await;
    let truth = &s["ground_truth"];
    let n = RECORDS as f64;
    let dropped = truth["target"]["faults"]["commit_then_drop"]
        .as_f64()
        .unwrap();
    assert!(dropped > 0.0, "the target dropped acknowledgements");
    assert!(truth["relay"]["target_retries"].as_f64().unwrap() >= dropped);
    let duplicated = truth["relay"]["duplicated"].as_f64().unwrap();
    assert!(
        within_binomial(duplicated, n, 0.05, 4.5),
        "duplicated {duplicated}"
    );
    assert_eq!(truth["relay"]["duplicate_copies"].as_f64().unwrap(), 0.0);
    // Every record on the target once: nothing lost, no extra copy, measured and true.
    assert_eq!(get(&s, "records.delivered"), n);
    assert_eq!(get(&s, "records.lost"), 0.0);
    assert_eq!(truth["target_extra_copies"].as_f64().unwrap(), 0.0);
    assert_eq!(get(&s, "duplicates.extra_copies"), 0.0);
    assert_eq!(get(&s, "retries.duplicates_created"), 0.0);
    assert_eq!(truth["target"]["records_created"].as_f64().unwrap(), n);
    // Each replayed write and each retried drop was an update of an existing record.
    assert!(truth["target"]["records_updated"].as_f64().unwrap() >= duplicated + dropped);
    assert!(truth["target"]["calls"]["batch_create"].is_null());
}

/// A webhook-driven relay: the source posts signed v3 webhooks (some events twice), the relay
/// takes each object once and reads it back with `batch/read`. Losses and copies measured by
/// the harness equal the relay's books.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_driven_relay_is_measured_against_its_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let text = crate::support::plan_text_with(
        RECORDS,
        9,
        "mode = \"webhook\"\nloss_rate = 0.01\nduplicate_rate = 0.02",
        "webhook_duplicate_rate = 0.1\nerror_rate = 0.02",
        "",
    );
    let (_, s) = run(dir.path(), &text).await;
    let truth = &s["ground_truth"];
    let relay = &truth["relay"];
    let n = RECORDS as f64;
    let count = |key: &str| relay[key].as_f64().unwrap();
    assert_eq!(count("seen"), n, "{relay}");
    assert_eq!(count("webhook_rejected"), 0.0);
    assert_eq!(count("fetch_missing"), 0.0);
    assert!(count("webhook_events") > n, "some events came twice");
    assert_eq!(count("webhook_redundant"), count("webhook_events") - n);
    assert!(truth["source"]["calls"]["batch_read"].is_object());
    assert!(
        truth["source"]["calls"]["list"].is_null(),
        "webhook mode never polls"
    );

    let lost = count("lost") + count("gave_up");
    assert_eq!(get(&s, "records.lost"), lost);
    assert!(within_binomial(lost, n, 0.01, 4.5), "lost {lost}");
    let copies = count("duplicate_copies");
    assert_eq!(copies, count("duplicated"));
    assert!(
        within_binomial(copies, n - lost, 0.02, 4.5),
        "copies {copies}"
    );
    assert_eq!(truth["target_extra_copies"].as_f64().unwrap(), copies);
    assert_eq!(get(&s, "duplicates.extra_copies"), copies);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_send_disjoint_slices_that_cover_the_whole_run() {
    use arrow_array::cast::AsArray;
    use arrow_array::types::UInt64Type;
    let text = crate::support::plan_text(1001, 8, "", 0.0);
    let mut slices = Vec::new();
    for k in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let overrides = syncproof::replay::PlanOverrides {
            shard: Some((k, 2)),
            ..Default::default()
        };
        let (outcome, s) = crate::support::run_with(dir.path(), &text, &overrides).await;
        assert_eq!(s["run"]["shard"], format!("{k}/2"));
        assert_eq!(get(&s, "records.sent"), get(&s, "records.delivered"));
        let file = std::fs::File::open(outcome.dir.join("data/contact.parquet")).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut idx: Vec<u64> = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            idx.extend(
                batch
                    .column_by_name("record_idx")
                    .unwrap()
                    .as_primitive::<UInt64Type>()
                    .values()
                    .iter(),
            );
        }
        assert_eq!(idx.len() as f64, get(&s, "records.sent"));
        slices.push(idx);
    }
    // Shard 0 owns 0..500, shard 1 owns 500..1001: disjoint, and together every record.
    assert_eq!(slices[0].first(), Some(&0));
    assert_eq!(slices[0].last().map(|l| l + 1), slices[1].first().copied());
    assert_eq!(slices[1].last(), Some(&1000));
    assert_eq!(slices[0].len() + slices[1].len(), 1001);
}

/// Four real shard runs, merged, equal one unsharded run on every per-record figure: the relay
/// decides each record's fate from (seed, external id), and record `i` is the same in every
/// shard layout, so loss, duplicates and field counts must agree exactly (latency is timing and
/// is not compared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_merged_equal_the_unsharded_run() {
    let relay = "loss_rate = 0.02\nduplicate_rate = 0.02\ndrop_rates = { phone = 0.05 }";
    let text = crate::support::plan_text(1200, 31, relay, 0.0);
    let whole_dir = tempfile::tempdir().unwrap();
    let (_, whole) = run(whole_dir.path(), &text).await;
    let shard_dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut runs = Vec::new();
    for (k, dir) in shard_dirs.iter().enumerate() {
        let overrides = syncproof::replay::PlanOverrides {
            shard: Some((k as u64, 4)),
            ..Default::default()
        };
        let (outcome, _) = crate::support::run_with(dir.path(), &text, &overrides).await;
        runs.push(outcome.dir);
    }
    let out = tempfile::tempdir().unwrap();
    let merged_dir = out.path().join("merged");
    syncproof::report::merge_runs(&runs, &merged_dir).unwrap();
    let merged: serde_json::Value = read_summary(&merged_dir);
    for path in [
        "records.sent",
        "records.delivered",
        "records.lost",
        "records.loss_rate",
        "duplicates.extra_copies",
        "duplicates.exact_rate",
        "completeness.overall",
        "accuracy.overall",
        "completeness.fields.phone",
    ] {
        assert_eq!(get(&merged, path), get(&whole, path), "{path}");
    }
    assert_eq!(merged["fields"], whole["fields"]);
    assert!(
        get(&merged, "latency.sync_ms.p50") > 0.0,
        "histograms merged from the shards' events"
    );
}

/// An integration that never retries (`[target.relay] retry = "none"`) gives up every batch the
/// target refuses once: the harness measures exactly the records the relay gave up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integration_that_never_retries_loses_what_the_target_refused_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = crate::support::plan_text_with(
        1000,
        11,
        "retry = \"none\"\nbatch_size = 10",
        "error_rate = 0.0",
        "error_rate = 0.05",
    );
    let (_, s) = run(dir.path(), &text).await;
    let truth = &s["ground_truth"]["relay"];
    let gave_up = truth["gave_up"].as_f64().unwrap();
    assert!(gave_up > 0.0, "{truth}");
    assert_eq!(truth["target_retries"].as_f64().unwrap(), 0.0, "{truth}");
    assert_eq!(
        get(&s, "records.lost"),
        gave_up + truth["lost"].as_f64().unwrap()
    );
    assert_eq!(
        get(&s, "records.sent"),
        get(&s, "records.delivered") + get(&s, "records.lost")
    );

    // A policy the relay does not have is refused, naming the key.
    let bad = text.replace("retry = \"none\"", "retry = \"sometimes\"");
    let err = crate::support::plan_error(dir.path(), &bad);
    assert!(
        err.contains("target.relay.retry") && err.contains("exponential"),
        "{err}"
    );
}
