//! The reference relay end to end over loopback HTTP: what its stats claim is checked against
//! what the target CRM actually holds, and each defect knob's rate against a binomial tolerance.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use syncproof_mocks::{
    Crm, CrmConfig, Integration, IntegrationConfig, IntegrationTruth, LogNormal, RelayConfig,
    RelayHandle, RelayKnobs, RelayMode, RelayRetry, RelayWrite, WebhookConfig, WebhookListener,
    serve, signature_v3,
};
use tokio_util::sync::CancellationToken;

use crate::support::{
    HARNESS, ID, PROPERTIES, RELAY, contact, list_all, wait_until, write_contacts,
};

const N: usize = 2_000;
const BOUND: Duration = Duration::from_secs(120);

fn config(knobs: RelayKnobs) -> IntegrationConfig {
    let crm = |name: &str| CrmConfig {
        name: name.to_string(),
        tokens: vec![HARNESS.to_string(), RELAY.to_string()],
        ..CrmConfig::default()
    };
    IntegrationConfig {
        source: crm("source"),
        target: crm("target"),
        relay: knobs,
        id_property: ID.to_string(),
        properties: PROPERTIES.iter().map(|p| p.to_string()).collect(),
        harness_token: HARNESS.to_string(),
        relay_token: RELAY.to_string(),
        clock: syncproof_mocks::Clock::real(),
        warehouse: None,
    }
}

/// Starts the integration, writes `n` contacts to the source, waits until the relay has seen
/// them all and settled every one, and returns the target's records plus the final truth.
async fn run(cfg: IntegrationConfig, n: usize) -> (Vec<Value>, IntegrationTruth, Integration) {
    let integration = Integration::start(cfg).await.unwrap();
    write_contacts(&integration.source_url(), n).await;
    assert_eq!(integration.source().record_count(), n);
    wait_until(BOUND, "the relay to see and settle every record", || {
        // `seen` first: once it is n no new record can arrive, so a later pending == 0 is final.
        integration.truth().relay.seen == n as u64 && integration.relay_pending() == 0
    })
    .await;
    let records = list_all(&integration.target_url()).await;
    let truth = integration.truth();
    (records, truth, integration)
}

/// Target records grouped by their id property.
fn by_id(records: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut out: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for r in records {
        let id = r["properties"][ID]
            .as_str()
            .expect("every target record carries the id")
            .to_string();
        out.entry(id).or_default().push(r);
    }
    out
}

fn source_index(id: &str) -> usize {
    id.trim_start_matches("sp-").parse().unwrap()
}

/// `|observed - n·p| ≤ 5·√(n·p·(1-p))`.
fn within_binomial(observed: u64, n: u64, p: f64) -> bool {
    let mean = n as f64 * p;
    let sd = (n as f64 * p * (1.0 - p)).sqrt();
    (observed as f64 - mean).abs() <= 5.0 * sd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_all_knobs_zero_the_target_is_an_exact_copy() {
    let (records, truth, integration) = run(config(RelayKnobs::default()), N).await;
    assert_eq!(integration.target().record_count(), N);
    let copies = integration.target().copies_by_property(ID);
    assert_eq!(copies.len(), N);
    assert!(copies.values().all(|c| *c == 1));
    for (id, copies) in by_id(&records) {
        let source = contact(source_index(&id));
        for property in std::iter::once(ID).chain(PROPERTIES) {
            let want = source[property]
                .as_deref()
                .map(|v| v.to_lowercase_if(property == "email"));
            let got = copies[0]["properties"][property]
                .as_str()
                .map(str::to_string);
            assert_eq!(got, want, "{id} {property}");
        }
    }
    let relay = &truth.relay;
    assert_eq!((relay.seen, relay.forwarded), (N as u64, N as u64));
    assert_eq!((relay.lost, relay.gave_up, relay.duplicated), (0, 0, 0));
    assert!(relay.fields_dropped.is_empty() && relay.fields_truncated.is_empty());
    assert_eq!(truth.target.records_created, N as u64);
    let done = integration.shutdown().await;
    assert_eq!(
        done.relay.target_calls,
        done.target.calls["batch_create"].values().sum::<u64>()
    );
}

trait LowercaseIf {
    fn to_lowercase_if(&self, cond: bool) -> String;
}

impl LowercaseIf for str {
    fn to_lowercase_if(&self, cond: bool) -> String {
        if cond {
            self.to_lowercase()
        } else {
            self.to_string()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defect_knobs_show_up_exactly_in_the_target() {
    let knobs = RelayKnobs {
        loss_rate: 0.05,
        duplicate_rate: 0.05,
        drop_rates: [("phone".to_string(), 0.1)].into(),
        truncate_at: Some(10),
        seed: 7,
        ..RelayKnobs::default()
    };
    let (records, truth, integration) = run(config(knobs), N).await;
    let relay = &truth.relay;
    let groups = by_id(&records);

    // Loss and give-ups: every record not lost or abandoned is on the target.
    assert_eq!(relay.seen, N as u64);
    assert_eq!(relay.gave_up, 0);
    assert_eq!(groups.len() as u64, N as u64 - relay.lost - relay.gave_up);
    assert_eq!(relay.forwarded, groups.len() as u64);

    // Duplicates: exactly `duplicated` ids have two copies, none more.
    let copies = integration.target().copies_by_property(ID);
    assert_eq!(
        copies.values().filter(|c| **c == 2).count() as u64,
        relay.duplicated
    );
    assert!(copies.values().all(|c| *c <= 2));
    assert_eq!(
        integration.target().record_count() as u64,
        relay.forwarded + relay.duplicated
    );
    assert_eq!(
        relay.duplicate_copies, relay.duplicated,
        "a created second write is always a copy"
    );

    // Dropped phone: forwarded records whose source phone was non-empty but the target lacks it.
    let mut phone_candidates = 0u64;
    let mut phone_missing = 0u64;
    let mut truncated: BTreeMap<&str, u64> = BTreeMap::new();
    for (id, copies) in &groups {
        let source = contact(source_index(id));
        let target = &copies[0]["properties"];
        for property in PROPERTIES {
            assert!(
                copies
                    .iter()
                    .all(|c| c["properties"][property] == target[property]),
                "{id}: both copies carry the same {property}"
            );
        }
        if source["phone"].as_deref().is_some_and(|p| !p.is_empty()) {
            phone_candidates += 1;
            if target["phone"].is_null() {
                phone_missing += 1;
            }
        }
        for property in PROPERTIES {
            let (Some(want), Some(got)) = (source[property].as_deref(), target[property].as_str())
            else {
                continue;
            };
            let want = want.to_lowercase_if(property == "email");
            if want.chars().count() > 10 {
                assert_eq!(
                    got,
                    want.chars().take(10).collect::<String>(),
                    "{id} {property}"
                );
                *truncated.entry(property).or_default() += 1;
            } else {
                assert_eq!(got, want, "{id} {property}");
            }
        }
        assert_eq!(
            target[ID].as_str(),
            Some(id.as_str()),
            "the id property is never truncated"
        );
    }
    assert_eq!(
        relay.fields_dropped.get("phone").copied().unwrap_or(0),
        phone_missing
    );
    assert_eq!(relay.fields_dropped.len(), 1, "only phone has a drop rate");
    let claimed: BTreeMap<&str, u64> = relay
        .fields_truncated
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(claimed, truncated);
    assert!(truncated["firstname"] > 0 && truncated["email"] > 0);

    // Each rate within 5 binomial standard deviations of its knob.
    assert!(
        within_binomial(relay.lost, relay.seen, 0.05),
        "lost {}",
        relay.lost
    );
    assert!(
        within_binomial(relay.duplicated, relay.forwarded, 0.05),
        "duplicated {}",
        relay.duplicated
    );
    assert!(
        within_binomial(phone_missing, phone_candidates, 0.1),
        "dropped {phone_missing}/{phone_candidates}"
    );
    assert!(relay.lost > 0 && relay.duplicated > 0 && phone_missing > 0);

    integration.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_errors_on_both_sides_delay_but_lose_nothing() {
    let mut cfg = config(RelayKnobs {
        seed: 3,
        ..RelayKnobs::default()
    });
    cfg.source.error_rate = 0.1;
    cfg.source.seed = 1;
    cfg.target.error_rate = 0.1;
    cfg.target.seed = 2;
    let (records, truth, integration) = run(cfg, N).await;
    let relay = &truth.relay;
    assert_eq!(
        (relay.forwarded, relay.lost, relay.gave_up),
        (N as u64, 0, 0)
    );
    assert_eq!(by_id(&records).len(), N);
    assert_eq!(
        integration.target().record_count(),
        N,
        "a 5xx never hides a committed write"
    );
    assert!(relay.target_retries > 0);
    let done = integration.shutdown().await;
    let target_5xx: u64 = [500, 502, 503, 504]
        .iter()
        .map(|s| done.target.calls_with_status(*s))
        .sum();
    assert_eq!(done.target.faults["transient_5xx"], target_5xx);
    assert!(done.source.faults["transient_5xx"] > 0);
    assert_eq!(
        done.relay.target_calls,
        done.target.calls["batch_create"].values().sum::<u64>()
    );
    let relay_5xx: u64 = [500, 502, 503, 504]
        .iter()
        .filter_map(|s| done.target.calls["batch_create"].get(s))
        .sum();
    assert_eq!(
        done.relay.target_retries, relay_5xx,
        "every 5xx the relay got was retried once"
    );
}

/// Commit-then-drop at the target: the write commits, the connection drops, and the relay's
/// retry of a plain `batch/create` makes a second copy. With one record per call, the extra
/// copies equal the fault count exactly; the relay's own stats cannot see them (it never got an
/// acknowledgement), which is why the harness counts copies at the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_then_drop_turns_a_plain_retry_into_a_duplicate() {
    let mut cfg = config(RelayKnobs {
        seed: 5,
        batch_size: 1,
        write_interval: Duration::ZERO,
        ..RelayKnobs::default()
    });
    cfg.target.commit_then_drop_rate = 0.05;
    cfg.target.seed = 9;
    // One record per call would hit the 190/10 s limit; no throttling, so every retry is a drop's.
    cfg.target.burst_max = 0;
    let n = 600;
    let (records, truth, integration) = run(cfg, n).await;
    assert_eq!((truth.relay.lost, truth.relay.gave_up), (0, 0));
    let dropped = truth
        .target
        .faults
        .get("commit_then_drop")
        .copied()
        .unwrap_or(0);
    assert!(
        within_binomial(dropped, n as u64, 0.05),
        "dropped {dropped}"
    );
    let copies = by_id(&records);
    assert_eq!(copies.len(), n, "every record arrived");
    let extra: usize = copies.values().map(|c| c.len() - 1).sum();
    assert_eq!(extra as u64, dropped, "one extra copy per dropped write");
    assert_eq!(truth.relay.duplicated, 0, "the relay never knew");
    assert_eq!(
        truth.relay.target_retries, dropped,
        "each drop was retried once"
    );
    integration.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_target_is_waited_out_not_lost() {
    let mut cfg = config(RelayKnobs {
        batch_size: 50,
        ..RelayKnobs::default()
    });
    cfg.target.burst_max = 3;
    cfg.target.burst_window = Duration::from_secs(1);
    let n = 400;
    let (records, truth, integration) = run(cfg, n).await;
    assert_eq!(by_id(&records).len(), n);
    assert_eq!((truth.relay.forwarded, truth.relay.gave_up), (n as u64, 0));
    assert!(truth.target.faults["throttled_burst"] > 0);
    assert_eq!(
        truth.relay.target_retries,
        truth.target.calls["batch_create"][&429]
    );
    integration.shutdown().await;
}

/// `retry = none`: the first failure gives the records up. One record per call, so the records
/// given up are exactly the target's 5xx answers, and nothing is retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_never_retries_gives_up_exactly_the_failed_writes() {
    let mut cfg = config(RelayKnobs {
        seed: 4,
        batch_size: 1,
        write_interval: Duration::ZERO,
        retry: RelayRetry::None,
        ..RelayKnobs::default()
    });
    cfg.target.error_rate = 0.1;
    cfg.target.seed = 6;
    cfg.target.burst_max = 0;
    let n = 600;
    let (records, _, integration) = run(cfg, n).await;
    let done = integration.shutdown().await;
    let failed: u64 = [500, 502, 503, 504]
        .iter()
        .filter_map(|s| done.target.calls["batch_create"].get(s))
        .sum();
    assert!(within_binomial(failed, n as u64, 0.1), "failed {failed}");
    assert_eq!(done.relay.target_retries, 0);
    assert_eq!(done.relay.gave_up, failed);
    assert_eq!(done.relay.forwarded + done.relay.gave_up, n as u64);
    assert_eq!(by_id(&records).len() as u64, done.relay.forwarded);
}

/// `retry = immediate`: a throttled target is hammered inside the very window that refused it,
/// so records are given up that the patient relay (waiting as each 429 says) delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_immediate_retry_ignores_retry_after_and_loses_what_patience_delivers() {
    let throttled = |retry| {
        let mut cfg = config(RelayKnobs {
            batch_size: 50,
            retry,
            ..RelayKnobs::default()
        });
        cfg.target.burst_max = 3;
        cfg.target.burst_window = Duration::from_secs(1);
        cfg
    };
    let n = 400;
    let (_, _, patient) = run(throttled(RelayRetry::Exponential), n).await;
    let patient = patient.shutdown().await;
    assert_eq!(
        (patient.relay.forwarded, patient.relay.gave_up),
        (n as u64, 0)
    );
    let (records, _, hasty) = run(throttled(RelayRetry::Immediate), n).await;
    let hasty = hasty.shutdown().await;
    assert!(hasty.relay.gave_up > 0, "{:?}", hasty.relay);
    assert_eq!(hasty.relay.forwarded + hasty.relay.gave_up, n as u64);
    assert_eq!(by_id(&records).len() as u64, hasty.relay.forwarded);
    // Every refused attempt but each batch's last was retried at once.
    let refused = hasty.target.calls["batch_create"][&429];
    assert!(hasty.relay.target_retries > 0 && hasty.relay.target_retries <= refused);
}

/// A relay pointed at a target it cannot write to, served outside `Integration`.
async fn doomed_relay(
    target: CrmConfig,
    target_token: &str,
    max_retries: u32,
    n: usize,
) -> (RelayHandle, CancellationToken) {
    let shutdown = CancellationToken::new();
    let source = Crm::new(CrmConfig::default());
    let target = Crm::new(target);
    let (source_addr, _) = serve(source.router(), shutdown.clone()).await.unwrap();
    let (target_addr, _) = serve(target.router(), shutdown.clone()).await.unwrap();
    write_contacts(&format!("http://{source_addr}"), n).await;
    let relay = RelayHandle::spawn(
        RelayConfig {
            source_url: format!("http://{source_addr}"),
            source_token: RELAY.to_string(),
            target_url: format!("http://{target_addr}"),
            target_token: target_token.to_string(),
            id_property: ID.to_string(),
            properties: vec!["email".to_string()],
            knobs: RelayKnobs {
                max_retries,
                ..RelayKnobs::default()
            },
        },
        shutdown.clone(),
    );
    (relay, shutdown)
}

#[tokio::test]
async fn gives_up_after_max_retries_and_counts_every_attempt() {
    let always_failing = CrmConfig {
        error_rate: 1.0,
        ..CrmConfig::default()
    };
    let (relay, shutdown) = doomed_relay(always_failing, RELAY, 2, 150).await;
    wait_until(BOUND, "the relay to give up", || {
        relay.stats().seen == 150 && relay.pending() == 0
    })
    .await;
    shutdown.cancel();
    let stats = relay.join().await;
    assert_eq!((stats.forwarded, stats.gave_up), (0, 150));
    // Two batches (100 + 50), each tried once and retried twice.
    assert_eq!((stats.target_calls, stats.target_retries), (6, 4));
}

#[tokio::test]
async fn a_refused_token_is_final_not_retried() {
    let locked = CrmConfig {
        tokens: vec!["someone-else".to_string()],
        ..CrmConfig::default()
    };
    let (relay, shutdown) = doomed_relay(locked, RELAY, 8, 30).await;
    wait_until(BOUND, "the relay to give up", || {
        relay.stats().seen == 30 && relay.pending() == 0
    })
    .await;
    shutdown.cancel();
    let stats = relay.join().await;
    assert_eq!((stats.gave_up, stats.target_retries), (30, 0));
}

#[tokio::test]
async fn shutdown_is_prompt_even_while_retrying() {
    let mut cfg = config(RelayKnobs {
        max_retries: 1_000,
        ..RelayKnobs::default()
    });
    cfg.target.error_rate = 1.0;
    let integration = Integration::start(cfg).await.unwrap();
    write_contacts(&integration.source_url(), 10).await;
    wait_until(BOUND, "a retry", || {
        integration.truth().relay.target_retries >= 1
    })
    .await;
    let truth = tokio::time::timeout(Duration::from_secs(5), integration.shutdown())
        .await
        .expect("shutdown joins everything promptly");
    assert_eq!(truth.relay.forwarded, 0);
    assert_eq!(truth.target.records_created, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lag_holds_every_write_back_by_at_least_its_value() {
    const LAG: Duration = Duration::from_secs(2);
    let integration = Integration::start(config(RelayKnobs {
        lag: LogNormal {
            median: LAG,
            sigma: 0.0,
            max: LAG,
        },
        ..RelayKnobs::default()
    }))
    .await
    .unwrap();
    let n = 200;
    let started = tokio::time::Instant::now();
    write_contacts(&integration.source_url(), n).await;
    wait_until(BOUND, "the relay to forward everything", || {
        integration.truth().relay.forwarded == n as u64
    })
    .await;
    // Every record was seen after `started`, and none may be written before seen + LAG.
    assert!(
        started.elapsed() >= LAG,
        "forwarded after {:?}",
        started.elapsed()
    );
    assert_eq!(integration.target().record_count(), n);
    integration.shutdown().await;
}

/// Upsert by the id property: a retry after commit-then-drop and the duplicate knob's second
/// write both land on the copy the first write made. The target's own counts agree: one record
/// per id, and one update per dropped write (its retry) and per second write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upsert_relay_turns_dropped_acknowledgements_and_replays_into_updates() {
    let mut cfg = config(RelayKnobs {
        seed: 5,
        batch_size: 1,
        write_interval: Duration::ZERO,
        duplicate_rate: 0.1,
        write: RelayWrite::Upsert,
        ..RelayKnobs::default()
    });
    cfg.target.commit_then_drop_rate = 0.05;
    cfg.target.seed = 9;
    cfg.target.burst_max = 0;
    let n = 600;
    let (records, truth, integration) = run(cfg, n).await;
    let relay = &truth.relay;
    assert_eq!((relay.lost, relay.gave_up), (0, 0));
    let dropped = truth
        .target
        .faults
        .get("commit_then_drop")
        .copied()
        .unwrap_or(0);
    assert!(
        within_binomial(dropped, n as u64 + relay.duplicated, 0.05) && dropped > 0,
        "dropped {dropped}"
    );
    assert!(within_binomial(relay.duplicated, n as u64, 0.1) && relay.duplicated > 0);
    let copies = by_id(&records);
    assert_eq!(copies.len(), n, "every record arrived");
    assert!(
        copies.values().all(|c| c.len() == 1),
        "no id has two copies"
    );
    assert_eq!(
        relay.duplicate_copies, 0,
        "every second write was an update"
    );
    assert_eq!(relay.target_retries, dropped, "each drop was retried once");
    assert_eq!(truth.target.records_created, n as u64);
    assert_eq!(truth.target.records_updated, dropped + relay.duplicated);
    let done = integration.shutdown().await;
    assert_eq!(
        done.relay.target_calls,
        done.target.calls["batch_upsert"].values().sum::<u64>()
    );
    assert!(!done.target.calls.contains_key("batch_create"));
}

/// Webhook mode: the source posts signed v3 webhooks (some events twice, concurrent requests
/// out of order), the relay takes each object once and reads it with `batch/read`; what it
/// claims is what the target holds and what the source sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_reads_each_notified_record_once_and_copies_it() {
    let mut cfg = config(RelayKnobs {
        mode: RelayMode::Webhook,
        loss_rate: 0.05,
        duplicate_rate: 0.05,
        seed: 11,
        ..RelayKnobs::default()
    });
    cfg.source.webhooks = Some(WebhookConfig {
        duplicate_rate: 0.2,
        flush_interval: Duration::from_millis(20),
        seed: 4,
        ..WebhookConfig::default()
    });
    cfg.source.error_rate = 0.3;
    cfg.source.seed = 6;
    let n = 1_000;
    let (records, truth, integration) = run(cfg, n).await;
    let relay = &truth.relay;
    let groups = by_id(&records);
    assert_eq!(relay.seen, n as u64);
    assert_eq!(
        (relay.gave_up, relay.fetch_missing, relay.webhook_rejected),
        (0, 0, 0)
    );
    assert!(within_binomial(relay.lost, n as u64, 0.05));
    assert_eq!(relay.forwarded, n as u64 - relay.lost);
    assert_eq!(groups.len() as u64, relay.forwarded);
    assert_eq!(
        integration.target().record_count() as u64,
        relay.forwarded + relay.duplicate_copies
    );
    for (id, copies) in &groups {
        let source = contact(source_index(id));
        assert_eq!(
            copies[0]["properties"]["company"].as_str(),
            source["company"].as_deref(),
            "{id}"
        );
    }
    let sent = integration.source().webhook_stats();
    assert_eq!(sent.events, n as u64, "one creation event per record");
    assert!(sent.duplicates_sent > 0);
    assert_eq!(sent.events_failed, 0);
    assert!(relay.webhook_events >= sent.events + sent.duplicates_sent);
    assert_eq!(
        relay.webhook_redundant,
        relay.webhook_events - n as u64,
        "every object taken exactly once"
    );
    let done = integration.shutdown().await;
    let read_calls = &done.source.calls["batch_read"];
    let reads = read_calls.values().sum::<u64>();
    assert_eq!(done.relay.source_calls, reads, "the relay only reads");
    let failed: u64 = [500, 502, 503, 504]
        .iter()
        .filter_map(|s| read_calls.get(s))
        .sum();
    assert!(failed > 0, "failed reads were retried: {read_calls:?}");
    assert!(
        reads - failed <= n as u64 / 5,
        "reads are batched: {read_calls:?}"
    );
}

/// A webhook-mode relay served outside `Integration`, with a secret the test knows.
struct WebhookRelay {
    source: std::sync::Arc<Crm>,
    target: std::sync::Arc<Crm>,
    source_url: String,
    hook_url: String,
    relay: RelayHandle,
    shutdown: CancellationToken,
}

async fn webhook_relay(secret: &str) -> WebhookRelay {
    let shutdown = CancellationToken::new();
    let listener = WebhookListener::bind(secret).await.unwrap();
    let url = listener.url().to_string();
    let source = Crm::new(CrmConfig {
        webhooks: Some(listener.subscription(WebhookConfig {
            flush_interval: Duration::from_millis(20),
            ..WebhookConfig::default()
        })),
        ..CrmConfig::default()
    });
    let target = Crm::new(CrmConfig::default());
    let (source_addr, _) = serve(source.router(), shutdown.clone()).await.unwrap();
    let (target_addr, _) = serve(target.router(), shutdown.clone()).await.unwrap();
    let relay = RelayHandle::start(
        RelayConfig {
            source_url: format!("http://{source_addr}"),
            source_token: RELAY.to_string(),
            target_url: format!("http://{target_addr}"),
            target_token: RELAY.to_string(),
            id_property: ID.to_string(),
            properties: vec!["email".to_string()],
            knobs: RelayKnobs {
                mode: RelayMode::Webhook,
                ..RelayKnobs::default()
            },
        },
        Some(listener),
        None,
        shutdown.clone(),
    )
    .await
    .unwrap();
    let emitter = source.start_webhooks(shutdown.clone());
    assert!(emitter.is_some());
    WebhookRelay {
        source,
        target,
        source_url: format!("http://{source_addr}"),
        hook_url: url,
        relay,
        shutdown,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_stale_and_unreadable_webhooks_are_refused_and_counted() {
    let secret = "client-secret";
    let WebhookRelay {
        source,
        target,
        source_url,
        hook_url: url,
        relay,
        shutdown,
    } = webhook_relay(secret).await;
    let http = crate::support::client();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let post = |body: &'static str, signature: Option<String>, timestamp: u64| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hubspot-request-timestamp", timestamp.to_string())
            .body(body);
        if let Some(signature) = signature {
            request = request.header("x-hubspot-signature-v3", signature);
        }
        request.send()
    };
    let body = r#"[{"eventId":1,"objectId":1,"subscriptionType":"contact.creation"}]"#;
    let forged = signature_v3("not-the-secret", "POST", &url, body, now_ms);
    assert_eq!(
        post(body, Some(forged), now_ms).await.unwrap().status(),
        401
    );
    assert_eq!(post(body, None, now_ms).await.unwrap().status(), 401);
    let stale = now_ms - 10 * 60 * 1000;
    let old = signature_v3(secret, "POST", &url, body, stale);
    assert_eq!(post(body, Some(old), stale).await.unwrap().status(), 401);
    let junk = "{not json";
    let signed = signature_v3(secret, "POST", &url, junk, now_ms);
    assert_eq!(
        post(junk, Some(signed), now_ms).await.unwrap().status(),
        400
    );
    assert_eq!(relay.stats().webhook_rejected, 4);
    assert_eq!(relay.stats().seen, 0, "nothing refused was acted on");

    // A genuine notification of an object the source does not have: read, not found, booked.
    let ghost = r#"[{"eventId":9,"objectId":424242,"subscriptionType":"contact.creation"}]"#;
    let signed = signature_v3(secret, "POST", &url, ghost, now_ms);
    assert_eq!(
        post(ghost, Some(signed), now_ms).await.unwrap().status(),
        200
    );
    wait_until(BOUND, "the ghost id to be read", || {
        relay.stats().fetch_missing == 1 && relay.pending() == 0
    })
    .await;

    // The source's own (signed) webhooks still get through, object 1 included.
    write_contacts(&source_url, 30).await;
    wait_until(BOUND, "the relay to copy every record", || {
        relay.stats().seen == 30 && relay.pending() == 0
    })
    .await;
    assert_eq!(target.record_count(), 30);
    let stats = relay.stats();
    assert_eq!((stats.forwarded, stats.webhook_rejected), (30, 4));
    assert_eq!(stats.webhook_requests, source.webhook_stats().requests + 1);
    shutdown.cancel();
    relay.join().await;
}
