//! The replay engine: an open-loop dispatcher puts each record on its intended send time
//! (`start + i / rate`), groups due records into batches (up to `batch_size`, or whatever is due
//! when `linger` runs out), and hands each batch to a worker task under a concurrency cap. If the
//! cap is reached the dispatcher waits, but a record's latency is still measured from its
//! intended time, so queueing in the client counts against the system, as it would in production.
//!
//! Workers send what the target's [`Dialect`] builds: an upsert keyed by the external id where
//! the API has one, so the client's own retries are idempotent; records a batch API answers for
//! one by one are retried or settled one by one. Every call and every record attempt goes to the collector as an event. Nothing is
//! detached: workers live in a `JoinSet`, a panic in one surfaces in the run's result, and
//! cancellation stops scheduling, ends back-off waits, and lets calls in flight finish.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use super::{
    CrmClient, Dialect, InFlight, LoadPlan, Pending, RetryPolicy, WriteItem, classify_response,
};
use crate::generate::{Generator, Record};
use crate::measure::{CallRecord, Event, EventKind, Message, Micros, Outcome, RunClock};

/// Everything a worker needs; shared by all of them.
#[derive(Debug)]
pub struct ReplayContext {
    pub generator: Generator,
    pub client: CrmClient,
    /// How the target's API is spoken (HubSpot, Salesforce, a plan-described REST API).
    pub dialect: Arc<dyn Dialect>,
    pub load: LoadPlan,
    pub retry: RetryPolicy,
    pub clock: RunClock,
    pub events: mpsc::Sender<Message>,
    pub inflight: Arc<InFlight>,
    pub call_ids: Arc<AtomicU64>,
    /// `[load] limit`: write calls wait here first.
    pub limiter: Option<super::ClientLimiter>,
    /// Finished batches' records, whose buffers the next batches generate into.
    pub spare: RecordPool,
}

/// Records kept for their buffers: a batch generates its records over finished ones, so a
/// record costs no allocation per value once the run is warm. Holds at most [`MAX_SPARE`].
#[derive(Debug, Default)]
pub struct RecordPool(std::sync::Mutex<Vec<Record>>);

/// The most records a [`RecordPool`] keeps.
const MAX_SPARE: usize = 4096;

impl RecordPool {
    /// Records `indices` of `generator`, generated over spare ones where there are.
    fn generate(
        &self,
        generator: &Generator,
        indices: impl ExactSizeIterator<Item = u64>,
    ) -> Vec<Record> {
        let n = indices.len();
        let mut records = {
            let mut spare = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let keep = spare.len().saturating_sub(n);
            spare.split_off(keep)
        };
        records.resize_with(n, Record::default);
        for (record, idx) in records.iter_mut().zip(indices) {
            generator.record_into(idx, record);
        }
        records
    }

    /// Gives finished records back for their buffers.
    fn give(&self, mut records: Vec<Record>) {
        let mut spare = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let room = MAX_SPARE.saturating_sub(spare.len());
        records.truncate(room);
        spare.append(&mut records);
    }
}

/// A set of record indices of a range, one bit each (a resumed run's finished records).
#[derive(Debug, Clone, Default)]
pub struct RecordSet {
    start: u64,
    words: Vec<u64>,
    len: u64,
}

impl RecordSet {
    pub fn new(range: &Range<u64>) -> RecordSet {
        RecordSet {
            start: range.start,
            words: vec![0; (range.end - range.start).div_ceil(64) as usize],
            len: 0,
        }
    }

    /// Adds `idx` (ignored when outside the range).
    pub fn insert(&mut self, idx: u64) {
        let Some(bit) = idx.checked_sub(self.start) else {
            return;
        };
        if let Some(word) = self.words.get_mut((bit / 64) as usize) {
            let mask = 1u64 << (bit % 64);
            self.len += u64::from(*word & mask == 0);
            *word |= mask;
        }
    }

    pub fn contains(&self, idx: u64) -> bool {
        idx.checked_sub(self.start).is_some_and(|bit| {
            self.words
                .get((bit / 64) as usize)
                .is_some_and(|w| w & (1 << (bit % 64)) != 0)
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A record a resumed run takes over in the middle of its retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carried {
    /// Attempts already made (and logged) before the interruption.
    pub attempts: u32,
    /// Its place on the original open-loop schedule.
    pub scheduled_at: Micros,
}

/// What the dispatcher sends: every record of `range` except those in `skip`; the `carried`
/// ones first (a resumed run's records caught mid-retry, attempt numbers continuing), then the
/// rest in index order on the open-loop schedule.
#[derive(Debug, Clone, Default)]
pub struct Work {
    pub range: Range<u64>,
    pub skip: RecordSet,
    pub carried: BTreeMap<u64, Carried>,
}

impl Work {
    /// A fresh run: every record of `range`.
    pub fn all(range: Range<u64>) -> Work {
        Work {
            skip: RecordSet::new(&range),
            range,
            carried: BTreeMap::new(),
        }
    }

    /// Records still to send or resend.
    pub fn len(&self) -> u64 {
        (self.range.end - self.range.start).saturating_sub(self.skip.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One record in a batch: its index, its place on the schedule, attempts made before.
type Item = (u64, Micros, u32);

/// What the dispatcher did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// The records handed to workers.
    pub dispatched: u64,
    pub interrupted: bool,
    /// From the start of sending to the last answer, on the run's clock.
    pub elapsed: std::time::Duration,
}

/// Replays `work` on the open-loop schedule until done or cancelled.
pub async fn replay(
    ctx: Arc<ReplayContext>,
    work: Work,
    cancel: CancellationToken,
) -> ReplayReport {
    let start = ctx.clock.now();
    let mut schedule = super::Schedule::new(ctx.load.rate, &ctx.load.stages);
    let permits = Arc::new(Semaphore::new(ctx.load.concurrency));
    let mut workers = JoinSet::new();
    let mut batch: Vec<Item> = Vec::with_capacity(ctx.load.batch_size);
    let mut flush_at: Option<Micros> = None;
    let mut interrupted = false;
    let mut dispatched = 0u64;

    // Records caught mid-retry by an interruption go first, as soon as the run resumes.
    let carried: Vec<Item> = work
        .carried
        .iter()
        .map(|(idx, c)| (*idx, c.scheduled_at, c.attempts))
        .collect();
    for chunk in carried.chunks(ctx.load.batch_size) {
        if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        batch.extend_from_slice(chunk);
        dispatched += chunk.len() as u64;
        flush(&ctx, &mut batch, &permits, &mut workers, &cancel).await;
    }
    if ctx.load.closed_loop && !interrupted {
        dispatched += closed_loop(&ctx, &work, &mut workers, &cancel).await;
        interrupted = cancel.is_cancelled();
    }
    let mut todo = work
        .range
        .clone()
        .filter(|i| !work.skip.contains(*i) && !work.carried.contains_key(i))
        .filter(|_| !ctx.load.closed_loop)
        .peekable();
    let mut upcoming: Option<Micros> = None;
    while !interrupted {
        while let Some(done) = workers.try_join_next() {
            surface_panic(done);
        }
        let due = todo
            .peek()
            .map(|_| *upcoming.get_or_insert_with(|| start.plus(schedule.next_due())));
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
        let Some(next) = todo.next() else { break };
        batch.push((next, due, 0));
        upcoming = None;
        dispatched += 1;
        if batch.len() == 1 {
            flush_at = Some(due.plus(ctx.load.linger));
        }
        if batch.len() >= ctx.load.batch_size {
            flush(&ctx, &mut batch, &permits, &mut workers, &cancel).await;
            flush_at = None;
        }
    }
    // Records already put in a batch are sent even when interrupted.
    flush(&ctx, &mut batch, &permits, &mut workers, &cancel).await;
    while let Some(done) = workers.join_next().await {
        surface_panic(done);
    }
    ReplayReport {
        dispatched,
        interrupted,
        elapsed: ctx.clock.now().since(start),
    }
}

/// `rate = "max"`: `concurrency` connections, each taking the next `batch_size` records as soon
/// as its previous call is answered; a record's intended time is the moment it is taken.
/// Returns the records taken.
async fn closed_loop(
    ctx: &Arc<ReplayContext>,
    work: &Work,
    workers: &mut JoinSet<()>,
    cancel: &CancellationToken,
) -> u64 {
    let feed = Arc::new(Feed {
        next: std::sync::Mutex::new(work.range.start),
        work: work.clone(),
    });
    let taken = Arc::new(AtomicU64::new(0));
    for _ in 0..ctx.load.concurrency {
        let (ctx, feed, taken, cancel) = (
            Arc::clone(ctx),
            Arc::clone(&feed),
            Arc::clone(&taken),
            cancel.clone(),
        );
        workers.spawn(async move {
            while !cancel.is_cancelled() {
                let batch = feed.take(ctx.load.batch_size, ctx.clock.now());
                if batch.is_empty() {
                    break;
                }
                taken.fetch_add(batch.len() as u64, Ordering::Relaxed);
                send_batch(Arc::clone(&ctx), batch, cancel.clone()).await;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        surface_panic(done);
    }
    taken.load(Ordering::Relaxed)
}

/// The records a closed loop still has to take, in index order.
struct Feed {
    next: std::sync::Mutex<u64>,
    work: Work,
}

impl Feed {
    /// Up to `n` records, each due `now`.
    fn take(&self, n: usize, now: Micros) -> Vec<Item> {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch = Vec::with_capacity(n);
        while batch.len() < n && *next < self.work.range.end {
            let idx = *next;
            *next += 1;
            if !self.work.skip.contains(idx) && !self.work.carried.contains_key(&idx) {
                batch.push((idx, now, 0));
            }
        }
        batch
    }
}

pub(super) fn surface_panic(result: Result<(), tokio::task::JoinError>) {
    if let Err(e) = result
        && e.is_panic()
    {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn flush(
    ctx: &Arc<ReplayContext>,
    batch: &mut Vec<Item>,
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
    let (ctx, cancel) = (Arc::clone(ctx), cancel.clone());
    workers.spawn(async move {
        send_batch(ctx, records, cancel).await;
        drop(permit);
    });
}

/// Sends one batch until every record in it is acknowledged, rejected, out of retries or
/// cancelled. Records the target answered for one by one (a 200 with per-record failures) are
/// settled one by one: acknowledged and rejected ones leave the batch, the rest are sent again.
async fn send_batch(ctx: Arc<ReplayContext>, batch: Vec<Item>, cancel: CancellationToken) {
    let records = ctx
        .spare
        .generate(&ctx.generator, batch.iter().map(|(i, _, _)| *i));
    write_batch(&ctx, &batch, &records, &cancel).await;
    ctx.spare.give(records);
}

/// [`send_batch`] of the batch's generated `records`.
async fn write_batch(
    ctx: &ReplayContext,
    batch: &[Item],
    records: &[Record],
    cancel: &CancellationToken,
) {
    let fields = ctx.generator.shape().fields();
    let values: Vec<Vec<(&str, &str)>> = records
        .iter()
        .map(|r| {
            fields
                .iter()
                .zip(&r.values)
                .filter_map(|(f, v)| v.as_deref().map(|v| (f.name.as_str(), v)))
                .collect()
        })
        .collect();
    let tracked = ctx.inflight.tracks();
    for (record, (idx, scheduled_at, _)) in records.iter().zip(batch).filter(|_| tracked) {
        ctx.inflight.insert(
            *idx,
            Pending {
                external_id: record.external_id.clone(),
                scheduled_at: *scheduled_at,
                settled_at: None,
                op: None,
            },
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.generator.seed() ^ batch[0].0.rotate_left(17));
    let mut not_before: Option<Micros> = None;
    // A resumed batch continues its records' attempt count, for the events and the policy.
    let before = batch.iter().map(|(_, _, n)| *n).max().unwrap_or(0);
    // Positions in `batch` of the records still being written.
    let mut open: Vec<usize> = (0..batch.len()).collect();
    for attempt in 1.. {
        if let Some(limiter) = &ctx.limiter {
            tokio::select! {
                _ = cancel.cancelled() => {
                    settle(ctx, batch, &open, ctx.clock.now());
                    return;
                }
                _ = limiter.wait() => {}
            }
        }
        let items: Vec<WriteItem<'_>> = open
            .iter()
            .map(|&k| WriteItem {
                external_id: &records[k].external_id,
                fields: &values[k],
            })
            .collect();
        let request = ctx.dialect.write(&items);
        let call = write_call(
            ctx,
            &request,
            &items,
            &open,
            ctx.dialect.write_endpoint(),
            before + attempt,
            not_before,
            &mut rng,
        )
        .await;
        drop(items);
        let (sent_at, done_at, call_id) = (call.sent_at, call.done_at, call.call_id);
        for (&k, &record_outcome) in open.iter().zip(&call.outcomes) {
            let (idx, scheduled_at, prior) = batch[k];
            let mut e = Event::new(
                EventKind::Attempt,
                idx,
                records[k].external_id.clone(),
                scheduled_at,
            );
            e.call_id = Some(call_id);
            e.attempt = Some(prior + attempt);
            e.status = Some(call.response.status);
            e.outcome = Some(record_outcome);
            e.sent_at = Some(sent_at);
            e.done_at = Some(done_at);
            emit(ctx, Message::Event(e)).await;
        }
        settle(ctx, batch, &call.finished, done_at);
        open = call.retry;
        let Some(delay) = call.delay.filter(|_| !open.is_empty()) else {
            return;
        };
        not_before = call.response.retry_after.map(|wait| done_at.plus(wait));
        tokio::select! {
            _ = cancel.cancelled() => {
                settle(ctx, batch, &open, ctx.clock.now());
                return;
            }
            _ = ctx.clock.sleep(delay) => {}
        }
    }
}

fn settle(ctx: &ReplayContext, batch: &[Item], which: &[usize], at: Micros) {
    for &k in which {
        ctx.inflight.settle(batch[k].0, at);
    }
}

/// One write call of a batch's open items, sent and booked: the answer, when it was sent and
/// answered, each open item's outcome of this attempt (`Ok`, its retryable outcome, or
/// `GaveUp`), which positions retry and which are finished, and the back-off before the retry.
pub(super) struct WriteCall {
    pub response: super::CallResponse,
    pub call_id: u64,
    pub sent_at: Micros,
    pub done_at: Micros,
    pub outcomes: Vec<Outcome>,
    pub retry: Vec<usize>,
    pub finished: Vec<usize>,
    pub delay: Option<std::time::Duration>,
}

/// Sends `request` (the write of `items`, the batch positions `open`), books the call as a
/// `Call` message, and splits the items by their outcomes. One back-off for the call, drawn
/// for the worst of what is left to retry; `attempt` is the attempt number the policy and the
/// event log count.
#[allow(clippy::too_many_arguments)] // the call's context, its request and its retry state
pub(super) async fn write_call(
    ctx: &ReplayContext,
    request: &super::dialect::Request,
    items: &[WriteItem<'_>],
    open: &[usize],
    endpoint: &'static str,
    attempt: u32,
    not_before: Option<Micros>,
    rng: &mut ChaCha8Rng,
) -> WriteCall {
    let call_id = ctx.call_ids.fetch_add(1, Ordering::Relaxed);
    let sent_at = ctx.clock.now();
    let response = ctx.client.send_request(request).await;
    let done_at = ctx.clock.now();
    let outcome = classify_response(&response);
    let item_outcomes = ctx.dialect.write_outcomes(&response, items);
    if let Some(error) = &response.error {
        tracing::debug!(call_id, attempt, error, "write call failed");
    }
    let delay = item_outcomes
        .iter()
        .copied()
        .filter(|o| o.is_retryable())
        .max()
        .and_then(|o| ctx.retry.next_delay(attempt, o, response.retry_after, rng));
    emit(
        ctx,
        Message::Call(CallRecord {
            call_id,
            endpoint,
            is_write: true,
            status: response.status,
            outcome,
            sent_at,
            done_at,
            n_records: items.len() as u32,
            attempt: Some(attempt),
            retry_after: response.retry_after,
            early_retry: not_before.is_some_and(|nb| sent_at < nb),
            quota_used: response.quota_used,
            daily_used: response.limits.daily_used(),
            burst_per_s: response.limits.burst_per_s(),
        }),
    )
    .await;
    let mut outcomes = Vec::with_capacity(open.len());
    let mut retry = Vec::new();
    let mut finished = Vec::new();
    for (&k, &o) in open.iter().zip(&item_outcomes) {
        let this = match (o, delay) {
            (Outcome::Ok, _) => Outcome::Ok,
            (o, Some(_)) if o.is_retryable() => {
                retry.push(k);
                o
            }
            _ => Outcome::GaveUp,
        };
        if this == Outcome::Ok || this == Outcome::GaveUp {
            finished.push(k);
        }
        outcomes.push(this);
    }
    WriteCall {
        response,
        call_id,
        sent_at,
        done_at,
        outcomes,
        retry,
        finished,
        delay,
    }
}

pub(super) async fn emit(ctx: &ReplayContext, message: Message) {
    // The collector only goes away when the run is failing already; nothing more to record.
    let _ = ctx.events.send(message).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Shape;

    #[test]
    fn pooled_records_are_the_records_whatever_buffers_they_reuse() {
        let generator = Generator::new(Arc::new(Shape::demo()), 7);
        let pool = RecordPool::default();
        // Different rows, nulls and defects in other places, leave their buffers behind.
        let first = pool.generate(&generator, (0..300u32).map(u64::from));
        pool.give(first);
        let again = pool.generate(&generator, (1000..1300u32).map(u64::from));
        let fresh: Vec<Record> = (1000..1300).map(|i| generator.record(i)).collect();
        assert_eq!(again, fresh);
        pool.give(again);
        let mixed = pool.generate(&generator, [5u64, 2000, 17].into_iter());
        assert_eq!(
            mixed,
            [5u64, 2000, 17].map(|i| generator.record(i)).to_vec()
        );
    }

    #[test]
    fn the_pool_keeps_at_most_its_cap() {
        let generator = Generator::new(Arc::new(Shape::demo()), 7);
        let pool = RecordPool::default();
        let many = pool.generate(&generator, (0..MAX_SPARE as u32 + 10).map(u64::from));
        pool.give(many);
        assert_eq!(pool.0.lock().unwrap().len(), MAX_SPARE);
    }
}
