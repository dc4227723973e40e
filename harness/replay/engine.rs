//! The replay engine: an open-loop dispatcher puts each record on its intended send time
//! (`start + i / rate`), groups due records into batches (up to `batch_size`, or whatever is due
//! when `linger` runs out), and hands each batch to a worker task under a concurrency cap. If the
//! cap is reached the dispatcher waits, but a record's latency is still measured from its
//! intended time, so queueing in the client counts against the system, as it would in production.
//!
//! Workers send `batch/upsert` keyed by the external id, so the client's own retries are
//! idempotent. Every call and every record attempt goes to the collector as an event. Nothing is
//! detached: workers live in a `JoinSet`, a panic in one surfaces in the run's result, and
//! cancellation stops scheduling, ends back-off waits, and lets calls in flight finish.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use super::hubspot::{BATCH_UPSERT, batch_upsert_body};
use super::{CrmClient, InFlight, LoadPlan, Pending, RetryPolicy, classify};
use crate::generate::{Generator, Record};
use crate::measure::{CallRecord, Event, EventKind, Message, Micros, Outcome, RunClock};

/// Everything a worker needs; shared by all of them.
#[derive(Debug)]
pub struct ReplayContext {
    pub generator: Generator,
    pub client: CrmClient,
    pub id_property: String,
    pub load: LoadPlan,
    pub retry: RetryPolicy,
    pub clock: RunClock,
    pub events: mpsc::Sender<Message>,
    pub inflight: Arc<InFlight>,
    pub call_ids: Arc<AtomicU64>,
}

/// What the dispatcher did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// The records handed to workers: exactly `range.start..range.start + dispatched`.
    pub dispatched: u64,
    pub interrupted: bool,
}

/// Replays `range` on the open-loop schedule until done or cancelled.
pub async fn replay(
    ctx: Arc<ReplayContext>,
    range: Range<u64>,
    cancel: CancellationToken,
) -> ReplayReport {
    let start = ctx.clock.now();
    let interval = ctx.load.rate.interval();
    let permits = Arc::new(Semaphore::new(ctx.load.concurrency));
    let mut workers = JoinSet::new();
    let mut batch: Vec<(u64, Micros)> = Vec::with_capacity(ctx.load.batch_size);
    let mut flush_at: Option<Micros> = None;
    let mut next = range.start;
    let mut interrupted = false;

    loop {
        while let Some(done) = workers.try_join_next() {
            surface_panic(done);
        }
        let due =
            (next < range.end).then(|| start.plus(interval.mul_f64((next - range.start) as f64)));
        // The open batch's linger runs out before the next record is due: send it now.
        if let Some(at) = flush_at
            && due.is_none_or(|d| at < d)
        {
            tokio::select! {
                _ = cancel.cancelled() => { interrupted = true; break }
                _ = sleep_until(ctx.clock.instant(at)) => {}
            }
            flush(&ctx, &mut batch, &permits, &mut workers, &cancel).await;
            flush_at = None;
            continue;
        }
        let Some(due) = due else { break };
        tokio::select! {
            _ = cancel.cancelled() => { interrupted = true; break }
            _ = sleep_until(ctx.clock.instant(due)) => {}
        }
        batch.push((next, due));
        next += 1;
        if batch.len() == 1 {
            flush_at = Some(due.plus(ctx.load.linger));
        }
        if batch.len() >= ctx.load.batch_size {
            flush(&ctx, &mut batch, &permits, &mut workers, &cancel).await;
            flush_at = None;
        }
    }
    // Records already put in a batch are sent even when interrupted, so the records sent are
    // always exactly a prefix of the range.
    flush(&ctx, &mut batch, &permits, &mut workers, &cancel).await;
    while let Some(done) = workers.join_next().await {
        surface_panic(done);
    }
    ReplayReport {
        dispatched: next - range.start,
        interrupted,
    }
}

fn surface_panic(result: Result<(), tokio::task::JoinError>) {
    if let Err(e) = result
        && e.is_panic()
    {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn flush(
    ctx: &Arc<ReplayContext>,
    batch: &mut Vec<(u64, Micros)>,
    permits: &Arc<Semaphore>,
    workers: &mut JoinSet<()>,
    cancel: &CancellationToken,
) {
    if batch.is_empty() {
        return;
    }
    let permit = Arc::clone(permits)
        .acquire_owned()
        .await
        .expect("the semaphore is never closed");
    let records = std::mem::take(batch);
    workers.spawn(send_batch(Arc::clone(ctx), records, permit, cancel.clone()));
}

/// Sends one batch until it is acknowledged, rejected, out of retries or cancelled.
async fn send_batch(
    ctx: Arc<ReplayContext>,
    batch: Vec<(u64, Micros)>,
    _permit: OwnedSemaphorePermit,
    cancel: CancellationToken,
) {
    let records: Vec<Record> = batch
        .iter()
        .map(|(i, _)| ctx.generator.record(*i))
        .collect();
    let fields = ctx.generator.shape().fields();
    let body = batch_upsert_body(
        &ctx.id_property,
        records.iter().map(|r| {
            let props = fields
                .iter()
                .zip(&r.values)
                .filter_map(|(f, v)| v.as_deref().map(|v| (f.name.as_str(), v)))
                .collect();
            (r.external_id.as_str(), props)
        }),
    );
    for (record, (idx, scheduled_at)) in records.iter().zip(&batch) {
        ctx.inflight.insert(
            *idx,
            Pending {
                external_id: record.external_id.clone(),
                scheduled_at: *scheduled_at,
                settled_at: None,
            },
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.generator.seed() ^ batch[0].0.rotate_left(17));
    let mut not_before: Option<Micros> = None;
    for attempt in 1.. {
        let call_id = ctx.call_ids.fetch_add(1, Ordering::Relaxed);
        let sent_at = ctx.clock.now();
        let response = ctx.client.post(BATCH_UPSERT, &body).await;
        let done_at = ctx.clock.now();
        let outcome = classify(response.status);
        if let Some(error) = &response.error {
            tracing::debug!(call_id, attempt, error, "write call failed");
        }
        let delay = match outcome {
            Outcome::Ok => None,
            _ => ctx
                .retry
                .next_delay(attempt, outcome, response.retry_after, &mut rng),
        };
        let record_outcome = match (outcome, delay) {
            (Outcome::Ok, _) => Outcome::Ok,
            (_, None) => Outcome::GaveUp,
            (o, Some(_)) => o,
        };
        emit(
            &ctx,
            Message::Call(CallRecord {
                call_id,
                endpoint: "write:batch_upsert",
                is_write: true,
                status: response.status,
                outcome,
                sent_at,
                done_at,
                n_records: records.len() as u32,
                attempt: Some(attempt),
                retry_after: response.retry_after,
                early_retry: not_before.is_some_and(|nb| sent_at < nb),
                quota_used: response.quota_used,
                daily_used: response.limits.daily_used(),
                burst_per_s: response.limits.burst_per_s(),
            }),
        )
        .await;
        for (record, (idx, scheduled_at)) in records.iter().zip(&batch) {
            let mut e = Event::new(
                EventKind::Attempt,
                *idx,
                record.external_id.clone(),
                *scheduled_at,
            );
            e.call_id = Some(call_id);
            e.attempt = Some(attempt);
            e.status = Some(response.status);
            e.outcome = Some(record_outcome);
            e.sent_at = Some(sent_at);
            e.done_at = Some(done_at);
            emit(&ctx, Message::Event(e)).await;
        }
        let Some(delay) = delay else {
            settle(&ctx, &batch, done_at);
            return;
        };
        not_before = response.retry_after.map(|wait| done_at.plus(wait));
        tokio::select! {
            _ = cancel.cancelled() => {
                settle(&ctx, &batch, ctx.clock.now());
                return;
            }
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

fn settle(ctx: &ReplayContext, batch: &[(u64, Micros)], at: Micros) {
    for (idx, _) in batch {
        ctx.inflight.settle(*idx, at);
    }
}

async fn emit(ctx: &ReplayContext, message: Message) {
    // The collector only goes away when the run is failing already; nothing more to record.
    let _ = ctx.events.send(message).await;
}
