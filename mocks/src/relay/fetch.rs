//! The relay's reading side in webhook mode: the ids the webhook endpoint took are read from the
//! source with `POST /crm/v3/objects/contacts/batch/read` (a webhook carries the object id only,
//! so a real integration must read the record), up to 100 ids a call, planned and handed to the
//! writer, as the tail does in poll mode.
//!
//! A call waits at most `linger` for its batch to fill. A failed call keeps its ids and is
//! repeated (429s wait as told, 5xx and transport errors back off), so source faults delay
//! records but never drop them. An id the source does not find is booked `fetch_missing`.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

use super::MAX_BATCH;
use super::ledger::Ledger;
use super::plan::{Fate, Planned, Planner, SourceRecord};
use super::retry::{backoff, throttle_wait};
use super::tail::{Object, PollError};
use crate::crm::lock;

#[derive(Debug, Deserialize)]
struct ReadAnswer {
    #[serde(default)]
    results: Vec<Object>,
}

pub(crate) struct Fetch {
    pub(crate) client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) token: String,
    /// `id_property` and the properties to copy.
    pub(crate) properties: Vec<String>,
    pub(crate) linger: Duration,
    pub(crate) planner: Planner,
    // std Mutex shared with the handle; bookings never cross an await.
    pub(crate) ledger: Arc<Mutex<Ledger>>,
    pub(crate) jitter_seed: u64,
    pub(crate) clock: crate::Clock,
}

impl Fetch {
    async fn read(&self, ids: &[u64]) -> Result<Vec<SourceRecord>, PollError> {
        lock(&self.ledger).source_call();
        let inputs: Vec<_> = ids
            .iter()
            .map(|id| json!({ "id": id.to_string() }))
            .collect();
        let response = self
            .client
            .post(format!("{}/crm/v3/objects/contacts/batch/read", self.url))
            .bearer_auth(&self.token)
            .json(&json!({ "inputs": inputs, "properties": self.properties }))
            .send()
            .await?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(PollError::Throttled(throttle_wait(response.headers())));
        }
        // 207: some ids were not found; the found ones are in `results`.
        if !status.is_success() {
            return Err(PollError::Status(status));
        }
        let answer: ReadAnswer = response.json().await?;
        answer
            .results
            .into_iter()
            .map(|o| match o.id.parse() {
                Ok(id) => Ok(SourceRecord {
                    id,
                    properties: o.properties,
                }),
                Err(_) => Err(PollError::BadId(o.id)),
            })
            .collect()
    }

    /// Plans and hands over each record read; books the ids the source did not return.
    fn take(&mut self, ids: &[u64], records: Vec<SourceRecord>, tx: &UnboundedSender<Planned>) {
        let mut asked: BTreeSet<u64> = ids.iter().copied().collect();
        for record in records {
            // Each id is asked for once; anything else in the answer is not ours.
            if !asked.remove(&record.id) {
                continue;
            }
            let fate = self.planner.plan(record, self.clock.now());
            {
                let mut ledger = lock(&self.ledger);
                ledger.fetched(true);
                ledger.seen(fate == Fate::Lost);
            }
            if let Fate::Forward(planned) = fate {
                // A send fails only once the writer has stopped, i.e. during shutdown.
                let _ = tx.send(planned);
            }
        }
        let mut ledger = lock(&self.ledger);
        for _ in asked {
            ledger.fetched(false);
        }
    }

    pub(crate) async fn run(
        mut self,
        mut ids: UnboundedReceiver<u64>,
        tx: UnboundedSender<Planned>,
        shutdown: CancellationToken,
    ) {
        let mut jitter = ChaCha8Rng::seed_from_u64(self.jitter_seed);
        let mut queue: VecDeque<u64> = VecDeque::new();
        let mut closed = false;
        loop {
            if queue.is_empty() {
                if closed {
                    return;
                }
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return,
                    id = ids.recv() => match id {
                        Some(id) => queue.push_back(id),
                        None => closed = true,
                    },
                }
                continue;
            }
            // Linger for a full batch.
            let deadline = self.clock.now() + self.linger;
            while queue.len() < MAX_BATCH && !closed {
                while queue.len() < MAX_BATCH {
                    match ids.try_recv() {
                        Ok(id) => queue.push_back(id),
                        Err(_) => break,
                    }
                }
                if queue.len() >= MAX_BATCH {
                    break;
                }
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return,
                    id = ids.recv() => match id {
                        Some(id) => queue.push_back(id),
                        None => closed = true,
                    },
                    () = self.clock.sleep_until(deadline) => break,
                }
            }
            let batch: Vec<u64> = queue.drain(..queue.len().min(MAX_BATCH)).collect();
            let mut failures: u32 = 0;
            loop {
                let read = tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return,
                    read = self.read(&batch) => read,
                };
                let wait = match read {
                    Ok(records) => {
                        self.take(&batch, records, &tx);
                        break;
                    }
                    Err(PollError::Throttled(wait)) => wait,
                    Err(err) => {
                        tracing::debug!(error = %err, n = batch.len(), "relay: source read failed; backing off");
                        failures = failures.saturating_add(1);
                        backoff(failures - 1, &mut jitter)
                    }
                };
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return,
                    () = self.clock.sleep(wait) => {}
                }
            }
        }
    }
}
