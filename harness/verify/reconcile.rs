//! The final reconciliation: every record sent is looked up at the target with the dialect's
//! search (HubSpot `search` or SOQL with `IN` on the external id, paged; a REST read per record),
//! so every copy the target holds is found, duplicates included where the API can list them. Searches are paced below the vendor's search limit and retried
//! like writes (honouring `Retry-After`); a search that cannot succeed fails the run rather than
//! let a partial reconciliation pass as complete.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use rand::SeedableRng;
use tokio::sync::mpsc;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use super::readback::verification_call;
use crate::measure::{Event, EventKind, Message, Micros, Outcome, RunClock};
use crate::replay::{CrmClient, Dialect, RetryPolicy, TargetCopy};

/// Why reconciliation could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(
        "the target's search kept failing (last status {status}{detail}); the quality figures would be incomplete, so the run stops here"
    )]
    SearchFailed { status: u16, detail: String },
    #[error(
        "the warehouse query kept failing ({0}); the quality figures would be incomplete, so the run stops here"
    )]
    Warehouse(String),
    #[error("interrupted during reconciliation")]
    Interrupted,
}

/// Looks up `ids` (record index, external id) at the target and calls `on_record` with each
/// record's copies, ordered by the target's id (the first written first).
#[allow(clippy::too_many_arguments)] // each argument is a distinct collaborator; a struct would only rename them
pub async fn reconcile(
    client: &CrmClient,
    dialect: &dyn Dialect,
    id_property: &str,
    properties: &[String],
    ids: impl Iterator<Item = (u64, String)>,
    search_gap: Duration,
    retry: &RetryPolicy,
    clock: RunClock,
    events: &mpsc::Sender<Message>,
    call_ids: &Arc<AtomicU64>,
    cancel: &CancellationToken,
    mut on_record: impl FnMut(u64, Vec<TargetCopy>),
) -> Result<(), ReconcileError> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5ea5c4);
    let mut next_call = clock.now();
    let per_search = dialect.max_lookup();
    let mut chunk: Vec<(u64, String)> = Vec::with_capacity(per_search);
    let mut ids = ids.peekable();
    while ids.peek().is_some() {
        chunk.clear();
        chunk.extend(ids.by_ref().take(per_search));
        let values: Vec<&str> = chunk.iter().map(|(_, id)| id.as_str()).collect();
        let mut copies: HashMap<String, Vec<TargetCopy>> = HashMap::new();
        for first in dialect.search(&values, properties) {
            let mut request = Some(first);
            while let Some(page) = request.take() {
                let mut attempt = 1;
                let response = loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return Err(ReconcileError::Interrupted),
                        _ = sleep_until(clock.instant(next_call)) => {}
                    }
                    let sent_at = clock.now();
                    let response = client.send_request(&page).await;
                    let done_at = clock.now();
                    next_call = sent_at.plus(search_gap);
                    let outcome = dialect.lookup_outcome(&response);
                    let _ = events
                        .send(Message::Call(verification_call(
                            call_ids,
                            dialect.search_endpoint(),
                            &response,
                            (sent_at, done_at),
                            chunk.len(),
                        )))
                        .await;
                    if outcome == Outcome::Ok {
                        break response;
                    }
                    match retry.next_delay(attempt, outcome, response.retry_after, &mut rng) {
                        Some(wait) => next_call = next_call.max(done_at.plus(wait)),
                        None => {
                            let detail = response
                                .error
                                .or_else(|| response.body.into_value().map(|b| b.to_string()))
                                .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                                .unwrap_or_default();
                            return Err(ReconcileError::SearchFailed {
                                status: response.status,
                                detail,
                            });
                        }
                    }
                    attempt += 1;
                };
                for copy in dialect.copies(&page, &response) {
                    if let Some(id) = copy.get(id_property) {
                        copies.entry(id.to_string()).or_default().push(copy);
                    }
                }
                request = dialect.next_page(&page, &response);
            }
        }
        for (idx, id) in &chunk {
            let mut found = copies.remove(id).unwrap_or_default();
            found.sort_by_key(|c| c.object_id);
            let mut e = Event::new(EventKind::Reconciled, *idx, id.clone(), Micros::default());
            e.copies = Some(found.len() as u32);
            let _ = events.send(Message::Event(e)).await;
            on_record(*idx, found);
        }
    }
    Ok(())
}
