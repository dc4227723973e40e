//! The relay's reading side: tails the source with `GET /contacts?limit=100&after=<cursor>` and
//! hands every new record, with its planned fate, to the writer.
//!
//! The cursor is the next source id to read: `paging.next.after` while pages continue (fetched
//! at once), else the id after the last result, then a `poll_interval` wait. A failed call never
//! moves the cursor, so source faults delay records but never skip them; 429s wait as told,
//! 5xx and transport errors back off.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::ledger::Ledger;
use super::plan::{Fate, Planned, Planner, SourceRecord};
use super::retry::{backoff, throttle_wait};
use crate::crm::lock;

const PAGE_SIZE: &str = "100";

#[derive(Debug, Deserialize)]
struct Page {
    results: Vec<Object>,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Object {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) properties: BTreeMap<String, Option<String>>,
}

#[derive(Debug, Deserialize)]
struct Paging {
    next: Option<Next>,
}

#[derive(Debug, Deserialize)]
struct Next {
    after: String,
}

/// Why a poll did not yield a page.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PollError {
    #[error("source throttled the relay")]
    Throttled(Duration),
    #[error("source answered {0}")]
    Status(reqwest::StatusCode),
    #[error("source call failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("source page has a non-numeric id {0:?}")]
    BadId(String),
}

pub(crate) struct Tail {
    pub(crate) client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) token: String,
    /// `id_property` and the properties to copy, comma-separated.
    pub(crate) properties: String,
    pub(crate) poll_interval: Duration,
    pub(crate) planner: Planner,
    // std Mutex shared with the handle; bookings never cross an await.
    pub(crate) ledger: Arc<Mutex<Ledger>>,
    pub(crate) jitter_seed: u64,
    pub(crate) clock: crate::Clock,
}

impl Tail {
    async fn poll(&self, cursor: u64) -> Result<(Vec<SourceRecord>, Option<u64>), PollError> {
        lock(&self.ledger).source_call();
        let response = self
            .client
            .get(format!("{}/crm/v3/objects/contacts", self.url))
            .bearer_auth(&self.token)
            .query(&[
                ("limit", PAGE_SIZE),
                ("after", &cursor.to_string()),
                ("properties", &self.properties),
            ])
            .send()
            .await?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(PollError::Throttled(throttle_wait(response.headers())));
        }
        if !status.is_success() {
            return Err(PollError::Status(status));
        }
        let page: Page = response.json().await?;
        let records = page
            .results
            .into_iter()
            .map(|o| match o.id.parse() {
                Ok(id) => Ok(SourceRecord {
                    id,
                    properties: o.properties,
                }),
                Err(_) => Err(PollError::BadId(o.id)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = page
            .paging
            .and_then(|p| p.next)
            .map(|n| n.after.parse().map_err(|_| PollError::BadId(n.after)))
            .transpose()?;
        Ok((records, next))
    }

    /// Plans and hands over each record; returns the cursor to read from next.
    fn take(
        &mut self,
        records: Vec<SourceRecord>,
        cursor: u64,
        tx: &UnboundedSender<Planned>,
    ) -> u64 {
        let mut cursor = cursor;
        for record in records {
            // Belt and braces: never plan a record twice, even if a page overlaps.
            if record.id < cursor {
                continue;
            }
            cursor = record.id + 1;
            let fate = self.planner.plan(record, self.clock.now());
            lock(&self.ledger).seen(fate == Fate::Lost);
            if let Fate::Forward(planned) = fate {
                // A send fails only once the writer has stopped, i.e. during shutdown.
                let _ = tx.send(planned);
            }
        }
        cursor
    }

    pub(crate) async fn run(mut self, tx: UnboundedSender<Planned>, shutdown: CancellationToken) {
        let mut jitter = ChaCha8Rng::seed_from_u64(self.jitter_seed);
        let mut cursor: u64 = 1;
        let mut failures: u32 = 0;
        loop {
            let polled = tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                polled = self.poll(cursor) => polled,
            };
            let wait = match polled {
                Ok((records, next)) => {
                    failures = 0;
                    cursor = self.take(records, cursor, &tx);
                    match next {
                        Some(after) => {
                            cursor = cursor.max(after);
                            continue;
                        }
                        None => self.poll_interval,
                    }
                }
                Err(PollError::Throttled(wait)) => wait,
                Err(err) => {
                    tracing::debug!(error = %err, cursor, "relay: source poll failed; backing off");
                    failures = failures.saturating_add(1);
                    backoff(failures - 1, &mut jitter).max(self.poll_interval)
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
