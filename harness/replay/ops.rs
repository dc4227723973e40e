//! The replay of a `[load] mix`: creates, updates and deletes on one open-loop schedule.
//!
//! The dispatcher takes the [`Planner`]'s operations at their intended send times. A create
//! joins the create batch at once. An update or a delete touches a record an earlier operation
//! created; it waits (in order, off the schedule, its latency still counted from its intended
//! time) until the previous operation on that record has left the in-flight set, observed or
//! lost, so the operations on one record reach the target in order and each can be checked on
//! its own. One whose record's create was lost is skipped: an event says so, nothing is sent.
//! Batches are per kind (HubSpot's `batch/upsert`, `batch/update`, `batch/archive`), each with
//! its own linger; workers retry them like the creates-only engine does.
//!
//! The in-flight set is keyed by operation index here; each entry carries its [`OpTag`] (kind,
//! record, version, the values an update's read-back must show).

use std::collections::{HashSet, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use super::engine::{emit, surface_panic, write_call};
use super::{
    Mix, Op, OpKind, OpTag, Pending, Planner, Ready, ReplayContext, ReplayReport, WriteItem,
};
use crate::generate::Version;
use crate::measure::{Event, EventKind, Message, Micros};

/// One operation in a batch.
#[derive(Debug, Clone)]
struct Item {
    op: Op,
    record: u64,
    scheduled_at: Micros,
    /// The target's own id (deletes).
    target_id: Option<String>,
}

impl Item {
    fn tag(&self) -> Option<(OpKind, u64, u32)> {
        Some((self.op.kind, self.op.idx, self.op.version))
    }
}

/// How often (on the run's clock) waiting updates and deletes look again whether their record
/// is free: below any read-back poll interval worth having, above a busy loop on a fast clock.
const RECHECK: Duration = Duration::from_millis(50);

/// Replays operations `ops` of `mix` on the open-loop schedule until done or cancelled.
pub async fn replay_mix(
    ctx: Arc<ReplayContext>,
    mix: Mix,
    ops: Range<u64>,
    cancel: CancellationToken,
) -> ReplayReport {
    let start = ctx.clock.now();
    let mut planner = Planner::at(mix, ctx.generator.seed(), ops.start);
    let mut schedule = super::Schedule::new(ctx.load.rate, &ctx.load.stages);
    let permits = Arc::new(Semaphore::new(ctx.load.concurrency));
    let mut workers = JoinSet::new();
    let mut batches: [Vec<Item>; 3] = Default::default();
    let mut flush_at: [Option<Micros>; 3] = [None; 3];
    let mut waiting: VecDeque<Item> = VecDeque::new();
    let mut upcoming: Option<Micros> = None;
    let mut interrupted = false;
    let mut dispatched = 0u64;
    loop {
        while let Some(done) = workers.try_join_next() {
            surface_panic(done);
        }
        let now = ctx.clock.now();
        // Waiting operations whose record is free join their batch.
        let mut blocked = HashSet::new();
        let mut still = VecDeque::with_capacity(waiting.len());
        while let Some(mut item) = waiting.pop_front() {
            if blocked.contains(&item.record) {
                still.push_back(item);
                continue;
            }
            match ctx.inflight.begin(item.record) {
                Ready::Go(target_id) => {
                    item.target_id = target_id;
                    let k = item.op.kind as usize;
                    batches[k].push(item);
                    flush_at[k].get_or_insert(now.plus(ctx.load.linger));
                }
                Ready::Wait => {
                    blocked.insert(item.record);
                    still.push_back(item);
                }
                Ready::Skip => skipped(&ctx, &item, ctx.generator.external_id(item.record)).await,
            }
        }
        waiting = still;
        for k in 0..3 {
            if batches[k].len() >= ctx.load.batch_size || flush_at[k].is_some_and(|at| at <= now) {
                flush(&ctx, &mut batches[k], &permits, &mut workers, &cancel).await;
                flush_at[k] = None;
            }
        }
        let due = (planner.position() < ops.end)
            .then(|| *upcoming.get_or_insert_with(|| start.plus(schedule.next_due())));
        if due.is_none() && waiting.is_empty() && batches.iter().all(Vec::is_empty) {
            break;
        }
        let mut wake = flush_at.iter().flatten().copied().chain(due).min();
        if !waiting.is_empty() {
            let recheck = now.plus(RECHECK);
            wake = Some(wake.map_or(recheck, |w| w.min(recheck)));
        }
        if let Some(at) = wake.filter(|at| *at > now) {
            tokio::select! {
                _ = cancel.cancelled() => { interrupted = true; break }
                _ = sleep_until(ctx.clock.instant(at)) => {}
            }
        } else if cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let Some(due) = due.filter(|d| *d <= ctx.clock.now()) else {
            continue;
        };
        upcoming = None;
        dispatched += 1;
        let op = planner.next_op();
        if op.kind == OpKind::Create {
            ctx.inflight
                .forget_below(op.record.unwrap_or(0).saturating_sub(super::MIX_WINDOW));
        }
        match op.record {
            None => {
                let item = Item {
                    op,
                    record: op.idx,
                    scheduled_at: due,
                    target_id: None,
                };
                skipped(&ctx, &item, String::new()).await;
            }
            Some(record) => {
                let item = Item {
                    op,
                    record,
                    scheduled_at: due,
                    target_id: None,
                };
                if op.kind == OpKind::Create {
                    ctx.inflight.begin_create(record);
                    let k = OpKind::Create as usize;
                    batches[k].push(item);
                    flush_at[k].get_or_insert(due.plus(ctx.load.linger));
                } else {
                    waiting.push_back(item);
                }
            }
        }
    }
    // Operations already put in a batch are sent even when interrupted.
    for batch in &mut batches {
        flush(&ctx, batch, &permits, &mut workers, &cancel).await;
    }
    while let Some(done) = workers.join_next().await {
        surface_panic(done);
    }
    ReplayReport {
        dispatched,
        interrupted,
        elapsed: ctx.clock.now().since(start),
    }
}

async fn skipped(ctx: &ReplayContext, item: &Item, external_id: String) {
    let e = Event::new(
        EventKind::Skipped,
        item.record,
        external_id,
        item.scheduled_at,
    )
    .with_op(item.tag());
    emit(ctx, Message::Event(e)).await;
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
    let items = std::mem::take(batch);
    workers.spawn(send_ops(Arc::clone(ctx), items, permit, cancel.clone()));
}

/// Sends one batch of operations of one kind until each is acknowledged, rejected, out of
/// retries or cancelled (as the creates-only engine's `send_batch` does).
async fn send_ops(
    ctx: Arc<ReplayContext>,
    batch: Vec<Item>,
    _permit: OwnedSemaphorePermit,
    cancel: CancellationToken,
) {
    let kind = batch[0].op.kind;
    let generator = &ctx.generator;
    let shape_fields = generator.shape().fields();
    let external: Vec<String> = batch
        .iter()
        .map(|it| generator.external_id(it.record))
        .collect();
    // Each operation's fields by shape name: a create's non-null values, an update's changed ones.
    let values: Vec<Vec<(String, String)>> = batch
        .iter()
        .map(|it| match kind {
            OpKind::Create => {
                let record = generator.record(it.record);
                shape_fields
                    .iter()
                    .zip(record.values)
                    .filter_map(|(f, v)| Some((f.name.clone(), v?)))
                    .collect()
            }
            OpKind::Update => {
                let mut version = Version::default();
                generator.update_into(it.record, it.op.version, &mut version);
                shape_fields
                    .iter()
                    .zip(version.values)
                    .filter_map(|(f, v)| Some((f.name.clone(), v?)))
                    .collect()
            }
            OpKind::Delete => Vec::new(),
        })
        .collect();
    let borrowed: Vec<Vec<(&str, &str)>> = values
        .iter()
        .map(|v| v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
        .collect();
    for (k, it) in batch.iter().enumerate() {
        ctx.inflight.insert(
            it.op.idx,
            Pending {
                external_id: external[k].clone(),
                scheduled_at: it.scheduled_at,
                settled_at: None,
                op: Some(OpTag {
                    kind,
                    record: it.record,
                    version: it.op.version,
                    expect: if kind == OpKind::Update {
                        values[k].clone()
                    } else {
                        Vec::new()
                    },
                }),
            },
        );
    }
    let endpoint = match kind {
        OpKind::Create => ctx.dialect.write_endpoint(),
        OpKind::Update => ctx.dialect.update_endpoint(),
        OpKind::Delete => ctx.dialect.delete_endpoint(),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.generator.seed() ^ batch[0].op.idx.rotate_left(17));
    let mut not_before: Option<Micros> = None;
    let mut open: Vec<usize> = (0..batch.len()).collect();
    for attempt in 1u32.. {
        if let Some(limiter) = &ctx.limiter {
            tokio::select! {
                _ = cancel.cancelled() => {
                    settle(&ctx, &batch, &open, ctx.clock.now());
                    return;
                }
                _ = limiter.wait() => {}
            }
        }
        let items: Vec<WriteItem<'_>> = open
            .iter()
            .map(|&k| WriteItem {
                external_id: &external[k],
                fields: &borrowed[k],
            })
            .collect();
        let request = match kind {
            OpKind::Create => Some(ctx.dialect.write(&items)),
            OpKind::Update => ctx.dialect.update(&items),
            OpKind::Delete => {
                let ids: Vec<&str> = open
                    .iter()
                    .map(|&k| batch[k].target_id.as_deref().unwrap_or(""))
                    .collect();
                ctx.dialect.delete(&ids)
            }
        };
        let Some(request) = request else {
            // The plan refuses a mix its dialect cannot send; nothing to send, nothing sent.
            settle(&ctx, &batch, &open, ctx.clock.now());
            return;
        };
        let call = write_call(
            &ctx, &request, &items, &open, endpoint, attempt, not_before, &mut rng,
        )
        .await;
        if kind == OpKind::Create {
            let ids = ctx.dialect.created_ids(&call.response, &items);
            // An id in the answer means the record is there, whatever the call's outcome.
            for (&k, id) in open.iter().zip(ids) {
                if let Some(id) = id {
                    ctx.inflight.set_target_id(batch[k].record, id);
                }
            }
        }
        drop(items);
        let (sent_at, done_at, call_id) = (call.sent_at, call.done_at, call.call_id);
        for (&k, &op_outcome) in open.iter().zip(&call.outcomes) {
            let it = &batch[k];
            let mut e = Event::new(
                EventKind::Attempt,
                it.record,
                external[k].clone(),
                it.scheduled_at,
            )
            .with_op(it.tag());
            e.call_id = Some(call_id);
            e.attempt = Some(attempt);
            e.status = Some(call.response.status);
            e.outcome = Some(op_outcome);
            e.sent_at = Some(sent_at);
            e.done_at = Some(done_at);
            emit(&ctx, Message::Event(e)).await;
        }
        settle(&ctx, &batch, &call.finished, done_at);
        open = call.retry;
        let Some(delay) = call.delay.filter(|_| !open.is_empty()) else {
            return;
        };
        not_before = call.response.retry_after.map(|wait| done_at.plus(wait));
        tokio::select! {
            _ = cancel.cancelled() => {
                settle(&ctx, &batch, &open, ctx.clock.now());
                return;
            }
            _ = ctx.clock.sleep(delay) => {}
        }
    }
}

fn settle(ctx: &ReplayContext, batch: &[Item], which: &[usize], at: Micros) {
    for &k in which {
        ctx.inflight.settle(batch[k].op.idx, at);
        if batch[k].op.kind == OpKind::Create {
            ctx.inflight.create_written(batch[k].record);
        }
    }
}
