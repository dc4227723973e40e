//! Read-back of in-flight records at the target by external id (the dialect's read: HubSpot's
//! `batch/read` with `idProperty`, a SOQL `IN`, a REST GET per record), oldest first, paced below the target's per-app limit. The time a record is
//! "first seen" is the completion time of the read that found it: an upper bound, never an
//! under-report; its resolution is the poll interval, stated in the summary.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use crate::measure::Outcome;
use crate::measure::{CallRecord, Event, EventKind, Message, Micros, RunClock};
use crate::replay::{
    CallResponse, CrmClient, Dialect, InFlight, OpKind, Pending, TargetCopy, VerifyPlan,
    classify_response,
};

/// What the observer needs.
#[derive(Debug)]
pub struct VerifyContext {
    pub client: CrmClient,
    /// How the target is read (the same dialect the writes speak).
    pub dialect: Arc<dyn Dialect>,
    pub plan: VerifyPlan,
    pub clock: RunClock,
    pub events: mpsc::Sender<Message>,
    pub inflight: Arc<InFlight>,
    pub call_ids: Arc<AtomicU64>,
}

impl VerifyContext {
    /// Record `idx` was seen at the target at `done_at`: it leaves the in-flight set and an
    /// `Observed` event is logged (nothing if it had already left, e.g. found twice).
    pub(super) async fn observed(&self, idx: u64, done_at: Micros) {
        if let Some(pending) = self.inflight.remove(idx) {
            let mut e = pending_event(EventKind::Observed, idx, pending);
            e.done_at = Some(done_at);
            let _ = self.events.send(Message::Event(e)).await;
        }
    }

    /// Records whose window ran out by `now` leave the in-flight set as `Lost` events and join
    /// `lost`.
    pub(super) async fn expire(&self, now: Micros, lost: &mut BTreeSet<u64>) {
        for (idx, pending) in self.inflight.take_expired(now, self.plan.window) {
            // A mixed run's lost set holds the records whose create was lost.
            match &pending.op {
                None => {
                    lost.insert(idx);
                }
                Some(tag) if tag.kind == OpKind::Create => {
                    lost.insert(tag.record);
                }
                Some(_) => {}
            }
            let e = pending_event(EventKind::Lost, idx, pending);
            let _ = self.events.send(Message::Event(e)).await;
        }
    }
}

/// The event of an in-flight entry: a record (`key` its index), or a mixed run's operation
/// (`key` its index; the event names the record it touches).
fn pending_event(kind: EventKind, key: u64, pending: Pending) -> Event {
    match pending.op {
        None => Event::new(kind, key, pending.external_id, pending.scheduled_at),
        Some(tag) => Event::new(kind, tag.record, pending.external_id, pending.scheduled_at)
            .with_op(Some((tag.kind, key, tag.version))),
    }
}

/// Whether `copy` (`None`: not found by a read that succeeded) shows what `pending` wrote: a
/// create's or a creates-only run's record is there, an update's values are all there, a
/// deleted record is gone. Values compare trimmed and case-blind (a CRM may lower-case an
/// email); an empty value and an absent one are the same.
fn shows(pending: &Pending, copy: Option<&TargetCopy>) -> bool {
    let Some(tag) = &pending.op else {
        return copy.is_some();
    };
    match (tag.kind, copy) {
        (OpKind::Delete, copy) => copy.is_none(),
        (OpKind::Create, copy) => copy.is_some(),
        (OpKind::Update, None) => false,
        (OpKind::Update, Some(copy)) => tag.expect.iter().all(|(field, want)| {
            let got = copy.get(field).unwrap_or("").trim();
            got.eq_ignore_ascii_case(want.trim())
                || got.to_lowercase() == want.trim().to_lowercase()
        }),
    }
}

/// Watches the target until sending is done and nothing is in flight, or until cancelled.
/// Returns the indices of the records declared lost.
pub async fn observe(
    ctx: Arc<VerifyContext>,
    sending_done: CancellationToken,
    cancel: CancellationToken,
) -> BTreeSet<u64> {
    let mut lost = BTreeSet::new();
    let read_gap = ctx.plan.read_rate.interval();
    let calls_per_tick = ((ctx.plan.read_rate.as_per_second()
        * ctx.plan.poll_interval.as_secs_f64())
    .floor() as usize)
        .max(1);
    let mut next_call = ctx.clock.now();
    loop {
        let tick = ctx.clock.now();
        ctx.expire(tick, &mut lost).await;
        if sending_done.is_cancelled() && ctx.inflight.is_empty() {
            break;
        }
        let per_read = ctx.dialect.max_lookup();
        let candidates = ctx.inflight.oldest(calls_per_tick * per_read);
        for chunk in candidates.chunks(per_read) {
            let ids: Vec<&str> = chunk.iter().map(|(_, p)| p.external_id.as_str()).collect();
            // A mixed run's updates are checked against their values: ask for those fields.
            let mut fields: Vec<String> = chunk
                .iter()
                .filter_map(|(_, p)| p.op.as_ref())
                .flat_map(|t| t.expect.iter().map(|(f, _)| f.clone()))
                .collect();
            fields.sort_unstable();
            fields.dedup();
            let mixed = chunk.iter().any(|(_, p)| p.op.is_some());
            let requests = if mixed {
                ctx.dialect.read_fields(&ids, &fields)
            } else {
                ctx.dialect.read(&ids)
            };
            let by_id: HashMap<&str, u64> = chunk
                .iter()
                .map(|(idx, p)| (p.external_id.as_str(), *idx))
                .collect();
            for request in requests {
                tokio::select! {
                    _ = cancel.cancelled() => return lost,
                    _ = sleep_until(ctx.clock.instant(next_call)) => {}
                }
                let sent_at = ctx.clock.now();
                next_call = sent_at.plus(read_gap);
                let response = ctx.client.send_request(&request).await;
                let done_at = ctx.clock.now();
                let call = verification_call(
                    &ctx.call_ids,
                    ctx.dialect.read_endpoint(),
                    &response,
                    (sent_at, done_at),
                    ids.len(),
                );
                let _ = ctx.events.send(Message::Call(call)).await;
                if let Some(wait) = response.retry_after {
                    next_call = next_call.max(done_at.plus(wait));
                }
                if ctx.dialect.lookup_outcome(&response) != Outcome::Ok {
                    continue;
                }
                if mixed {
                    let copies = ctx.dialect.copies(&request, &response);
                    let found: HashMap<&str, &TargetCopy> = copies
                        .iter()
                        .filter_map(|c| Some((c.get(&ctx.plan.id_property)?, c)))
                        .collect();
                    // A request answers for the ids it names (one, for a per-record API).
                    let asked: Vec<&(u64, Pending)> = chunk
                        .iter()
                        .filter(|(_, p)| {
                            request.record.as_deref().is_none_or(|r| r == p.external_id)
                        })
                        .collect();
                    for (key, pending) in asked {
                        let copy = found.get(pending.external_id.as_str()).copied();
                        if shows(pending, copy) {
                            ctx.observed(*key, done_at).await;
                        }
                    }
                    continue;
                }
                for copy in ctx.dialect.copies(&request, &response) {
                    let Some(idx) = found_idx(&copy, &ctx.plan.id_property, &by_id) else {
                        continue;
                    };
                    ctx.observed(idx, done_at).await;
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return lost,
            _ = sleep_until(ctx.clock.instant(tick.plus(ctx.plan.poll_interval))) => {}
        }
    }
    lost
}

/// The event of one verification call (a read-back or a reconciliation search): never a write,
/// never an early retry, no quota share (searches carry no rate headers).
pub(super) fn verification_call(
    call_ids: &AtomicU64,
    endpoint: &'static str,
    response: &CallResponse,
    (sent_at, done_at): (Micros, Micros),
    n_records: usize,
) -> CallRecord {
    CallRecord {
        call_id: call_ids.fetch_add(1, Ordering::Relaxed),
        endpoint,
        is_write: false,
        status: response.status,
        outcome: classify_response(response),
        sent_at,
        done_at,
        n_records: n_records as u32,
        attempt: None,
        retry_after: response.retry_after,
        early_retry: false,
        quota_used: None,
        daily_used: None,
        burst_per_s: None,
    }
}

fn found_idx(copy: &TargetCopy, id_property: &str, by_id: &HashMap<&str, u64>) -> Option<u64> {
    by_id.get(copy.get(id_property)?).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::OpTag;

    fn pending(kind: OpKind, expect: &[(&str, &str)]) -> Pending {
        Pending {
            external_id: "sp-1".into(),
            scheduled_at: Micros(0),
            settled_at: None,
            op: Some(OpTag {
                kind,
                record: 1,
                version: 1,
                expect: expect
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }),
        }
    }

    fn copy(props: &[(&str, Option<&str>)]) -> TargetCopy {
        TargetCopy {
            object_id: 1,
            properties: props
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
        }
    }

    #[test]
    fn each_kind_is_observed_when_the_target_shows_what_it_wrote() {
        let fresh = copy(&[("email", Some("a@b.co")), ("phone", None)]);
        let stale = copy(&[("email", Some("old@b.co"))]);
        let update = pending(OpKind::Update, &[("email", "A@B.co"), ("phone", "")]);
        assert!(shows(&update, Some(&fresh)), "case-blind, empty = absent");
        assert!(
            !shows(&update, Some(&stale)),
            "a stale copy is not yet synced"
        );
        assert!(!shows(&update, None));
        assert!(shows(&pending(OpKind::Create, &[]), Some(&stale)));
        assert!(!shows(&pending(OpKind::Create, &[]), None));
        assert!(shows(&pending(OpKind::Delete, &[]), None));
        assert!(!shows(&pending(OpKind::Delete, &[]), Some(&fresh)));
    }
}
