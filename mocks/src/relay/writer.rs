//! The relay's writing side: a delay queue of planned records, released when due and written to
//! the target in batches of at most `batch_size`: `batch/create`, or with `write = upsert`
//! `batch/upsert` by the id property (`idProperty`), so a write repeated after a lost
//! acknowledgement lands on the copy the first one made. An upsert's `new` flag says whether
//! the write created the copy; a create always does.
//!
//! Acknowledgement is per input: each input carries `objectWriteTraceId` = its source id, and
//! only results echoing it count as written. So a 207 retries just the failed inputs, and a
//! per-input `CONFLICT` (the target already has that unique value) is final, not retried. Whole
//! batches are retried on 429 (waiting as told), 5xx and transport errors (backoff), up to
//! `max_retries` retries; other 4xx answers are final. The `retry` policy changes that as real
//! integrations do: `none` gives up at the first failure, `immediate` retries at once whatever a
//! 429 says. The second copy of a duplicated record
//! joins the queue only after its first copy was acknowledged, so it always goes in a later batch.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::sync::mpsc::error::TryRecvError;
use tokio_util::sync::CancellationToken;

use super::ledger::{CopyKind, Ledger};
use super::plan::Planned;
use super::retry::{backoff, throttle_wait};
use crate::crm::lock;

/// A planned record waiting in the delay queue; the heap pops the earliest `due` first (ties in
/// arrival order).
#[derive(Debug)]
struct Scheduled {
    seq: u64,
    planned: Planned,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (other.planned.due, other.seq).cmp(&(self.planned.due, self.seq))
    }
}

/// One copy of one record, ready to be written.
#[derive(Debug)]
struct Write {
    planned: Planned,
    copy: CopyKind,
}

impl Write {
    fn trace_id(&self) -> String {
        self.planned.source_id.to_string()
    }
}

/// What one write call came to.
#[derive(Debug)]
enum Answer {
    /// 2xx: trace ids acknowledged (each with whether the write created the copy), and trace
    /// ids refused for good (per-input `CONFLICT`).
    Written {
        acked: BTreeMap<String, bool>,
        refused: BTreeSet<String>,
    },
    Throttled(std::time::Duration),
    Transient(String),
    Final(StatusCode),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchAnswer {
    #[serde(default)]
    results: Vec<ResultItem>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResultItem {
    #[serde(default)]
    object_write_trace_id: Option<String>,
    /// Upsert: whether the input created the record (absent on a create: it always did).
    #[serde(default)]
    new: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    #[serde(default)]
    category: String,
    #[serde(default)]
    context: std::collections::BTreeMap<String, Vec<String>>,
}

pub(crate) struct Writer {
    pub(crate) client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) token: String,
    /// The property `write = upsert` matches records by.
    pub(crate) id_property: String,
    pub(crate) write: super::RelayWrite,
    pub(crate) batch_size: usize,
    pub(crate) write_interval: std::time::Duration,
    pub(crate) max_retries: u32,
    pub(crate) retry: super::RelayRetry,
    // std Mutex shared with the handle; bookings never cross an await.
    pub(crate) ledger: Arc<Mutex<Ledger>>,
    pub(crate) jitter_seed: u64,
    pub(crate) clock: crate::Clock,
    /// Set: the records go to this warehouse table instead of the target CRM.
    pub(crate) warehouse: Option<super::warehouse::Connected>,
}

impl Writer {
    async fn post(&self, batch: &[Write]) -> Answer {
        if let Some(warehouse) = &self.warehouse {
            let rows: Vec<_> = batch.iter().map(|w| &w.planned.properties).collect();
            return match warehouse.write(&rows).await {
                Ok(created) => Answer::Written {
                    acked: batch.iter().map(Write::trace_id).zip(created).collect(),
                    refused: BTreeSet::new(),
                },
                Err(err) => Answer::Transient(format!("warehouse write failed: {err}")),
            };
        }
        let upsert = self.write == super::RelayWrite::Upsert;
        let inputs: Vec<Value> = batch
            .iter()
            .map(|w| {
                let mut input =
                    json!({"properties": w.planned.properties, "objectWriteTraceId": w.trace_id()});
                if upsert {
                    input["idProperty"] = json!(self.id_property);
                    input["id"] = json!(w.planned.properties.get(&self.id_property));
                }
                input
            })
            .collect();
        let endpoint = if upsert { "upsert" } else { "create" };
        let sent = self
            .client
            .post(format!(
                "{}/crm/v3/objects/contacts/batch/{endpoint}",
                self.url
            ))
            .bearer_auth(&self.token)
            .json(&json!({ "inputs": inputs }))
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => return Answer::Transient(err.to_string()),
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::LOCKED {
            return Answer::Throttled(throttle_wait(response.headers()));
        }
        if status.is_server_error() {
            return Answer::Transient(format!("target answered {status}"));
        }
        if !status.is_success() {
            return Answer::Final(status);
        }
        match response.json::<BatchAnswer>().await {
            Ok(answer) => Answer::Written {
                acked: answer
                    .results
                    .into_iter()
                    .filter_map(|r| Some((r.object_write_trace_id?, r.new.unwrap_or(true))))
                    .collect(),
                refused: answer
                    .errors
                    .into_iter()
                    .filter(|e| e.category == "CONFLICT")
                    .flat_map(|mut e| e.context.remove("objectWriteTraceId").unwrap_or_default())
                    .collect(),
            },
            Err(err) => Answer::Transient(format!("unreadable {status} answer: {err}")),
        }
    }

    /// Books a copy the target acknowledged; a first copy of a duplicated record queues its
    /// second copy.
    fn acknowledged(&self, write: Write, created: bool, ready: &mut VecDeque<Write>) {
        lock(&self.ledger).acknowledged(&write.planned, write.copy, created);
        if write.copy == CopyKind::First && write.planned.duplicate {
            ready.push_back(Write {
                planned: write.planned,
                copy: CopyKind::Second,
            });
        }
    }

    fn abandon(&self, writes: impl IntoIterator<Item = Write>) {
        let mut ledger = lock(&self.ledger);
        for write in writes {
            ledger.abandoned(write.copy);
        }
    }

    /// Writes `batch` with retries. `Break` when shutdown interrupted it.
    async fn write_batch(
        &self,
        batch: Vec<Write>,
        ready: &mut VecDeque<Write>,
        jitter: &mut ChaCha8Rng,
        shutdown: &CancellationToken,
    ) -> ControlFlow<()> {
        let mut remaining = batch;
        if self.write == super::RelayWrite::Upsert && self.warehouse.is_none() {
            // An upsert needs the id value; a record without one cannot be written this way.
            let (keyed, unkeyed): (Vec<Write>, Vec<Write>) = remaining
                .into_iter()
                .partition(|w| w.planned.properties.contains_key(&self.id_property));
            if !unkeyed.is_empty() {
                tracing::warn!(n = unkeyed.len(), id_property = %self.id_property, "relay: records without the id property cannot be upserted; giving up on them");
                self.abandon(unkeyed);
            }
            if keyed.is_empty() {
                return ControlFlow::Continue(());
            }
            remaining = keyed;
        }
        let mut attempt: u32 = 0;
        loop {
            lock(&self.ledger).target_call(attempt > 0);
            let answer = tokio::select! {
                biased;
                () = shutdown.cancelled() => return ControlFlow::Break(()),
                answer = self.post(&remaining) => answer,
            };
            let wait = match answer {
                Answer::Written { acked, refused } => {
                    let mut failed = Vec::new();
                    let mut rejected = Vec::new();
                    for write in remaining {
                        let trace = write.trace_id();
                        if let Some(&created) = acked.get(&trace) {
                            self.acknowledged(write, created, ready);
                        } else if refused.contains(&trace) {
                            rejected.push(write);
                        } else {
                            failed.push(write);
                        }
                    }
                    self.abandon(rejected);
                    remaining = failed;
                    if remaining.is_empty() {
                        return ControlFlow::Continue(());
                    }
                    backoff(attempt, jitter)
                }
                Answer::Throttled(wait) => wait,
                Answer::Transient(why) => {
                    tracing::debug!(%why, attempt, "relay: target write failed; backing off");
                    backoff(attempt, jitter)
                }
                Answer::Final(status) => {
                    tracing::warn!(%status, n = remaining.len(), "relay: target refused a batch; giving up on it");
                    self.abandon(remaining);
                    return ControlFlow::Continue(());
                }
            };
            let wait = match self.retry {
                super::RelayRetry::Exponential => wait,
                super::RelayRetry::Immediate => std::time::Duration::ZERO,
                super::RelayRetry::None => {
                    self.abandon(remaining);
                    return ControlFlow::Continue(());
                }
            };
            if attempt >= self.max_retries {
                tracing::warn!(
                    n = remaining.len(),
                    attempt,
                    "relay: giving up after max retries"
                );
                self.abandon(remaining);
                return ControlFlow::Continue(());
            }
            attempt += 1;
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return ControlFlow::Break(()),
                () = self.clock.sleep(wait) => {}
            }
        }
    }

    pub(crate) async fn run(self, mut rx: UnboundedReceiver<Planned>, shutdown: CancellationToken) {
        let mut jitter = ChaCha8Rng::seed_from_u64(self.jitter_seed);
        let mut queue: BinaryHeap<Scheduled> = BinaryHeap::new();
        let mut ready: VecDeque<Write> = VecDeque::new();
        let mut seq: u64 = 0;
        let mut closed = false;
        let mut next_write = self.clock.now();
        let mut schedule = |queue: &mut BinaryHeap<Scheduled>, planned: Planned| {
            seq += 1;
            queue.push(Scheduled { seq, planned });
        };
        loop {
            while !closed {
                match rx.try_recv() {
                    Ok(planned) => schedule(&mut queue, planned),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => closed = true,
                }
            }
            let now = self.clock.now();
            while queue.peek().is_some_and(|s| s.planned.due <= now) {
                if let Some(due) = queue.pop() {
                    ready.push_back(Write {
                        planned: due.planned,
                        copy: CopyKind::First,
                    });
                }
            }
            // A batch goes out when it is full or when the write interval has passed.
            if !ready.is_empty() && (ready.len() >= self.batch_size || now >= next_write) {
                next_write = now + self.write_interval;
                let n = ready.len().min(self.batch_size);
                let batch: Vec<Write> = ready.drain(..n).collect();
                if self
                    .write_batch(batch, &mut ready, &mut jitter, &shutdown)
                    .await
                    .is_break()
                {
                    return;
                }
                continue;
            }
            if closed && queue.is_empty() {
                return;
            }
            let next_due = match (queue.peek().map(|s| s.planned.due), ready.is_empty()) {
                (due, true) => due,
                (Some(due), false) => Some(due.min(next_write)),
                (None, false) => Some(next_write),
            };
            tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                received = rx.recv(), if !closed => match received {
                    Some(planned) => schedule(&mut queue, planned),
                    None => closed = true,
                },
                () = self.clock.sleep_until(next_due.unwrap_or(now)), if next_due.is_some() => {}
            }
        }
    }
}
