//! The observing loop shared by search polling, the webhook receiver and the SQL read-back:
//! every poll interval, records whose window ran out are declared lost, then the method's
//! [`Finder`] names the records it has seen at the target (and when); each becomes an
//! `Observed` event with that time. Read-back by id has its own loop (`readback`), paced by the
//! vendor's read limit.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::time::sleep_until;
use tokio_util::sync::CancellationToken;

use super::VerifyContext;
use crate::measure::Micros;
use crate::replay::InFlight;

/// What a verification method contributes to the loop.
pub trait Finder: Send {
    /// The records in flight seen at the target since the last call, each with the time it was
    /// first seen on the run clock (the completion time of the query that found it, or the
    /// arrival of the webhook that announced it).
    fn find(
        &mut self,
        inflight: &InFlight,
    ) -> impl std::future::Future<Output = Vec<(u64, Micros)>> + Send;
}

/// Named counters of a verification method, reported in `summary.json` under `verification`.
#[derive(Debug, Default)]
pub struct Counters(Mutex<BTreeMap<&'static str, u64>>);

impl Counters {
    pub fn add(&self, name: &'static str, n: u64) {
        *self
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name)
            .or_default() += n;
    }

    pub fn get(&self, name: &'static str) -> u64 {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .copied()
            .unwrap_or(0)
    }

    pub fn to_json(&self) -> Value {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Value::Object(
            map.iter()
                .map(|(k, v)| (k.to_string(), Value::from(*v)))
                .collect(),
        )
    }
}

/// The records in flight by external id, for a method that learns ids from the target.
pub fn in_flight_by_id(inflight: &InFlight) -> HashMap<String, u64> {
    inflight
        .oldest(usize::MAX)
        .into_iter()
        .map(|(idx, p)| (p.external_id, idx))
        .collect()
}

/// Watches until sending is done and nothing is in flight, or until cancelled. Returns the
/// indices of the records declared lost.
pub async fn watch(
    ctx: Arc<VerifyContext>,
    mut finder: impl Finder,
    sending_done: CancellationToken,
    cancel: CancellationToken,
) -> BTreeSet<u64> {
    let mut lost = BTreeSet::new();
    loop {
        let tick = ctx.clock.now();
        // Look first, then expire: a record found in this poll is not lost.
        for (idx, seen_at) in finder.find(&ctx.inflight).await {
            ctx.observed(idx, seen_at).await;
        }
        ctx.expire(ctx.clock.now(), &mut lost).await;
        if sending_done.is_cancelled() && ctx.inflight.is_empty() {
            break;
        }
        tokio::select! {
            _ = cancel.cancelled() => return lost,
            _ = sleep_until(ctx.clock.instant(tick.plus(ctx.plan.poll_interval))) => {}
        }
    }
    lost
}
