//! The ledger: bounded in-memory accounting of everything the event log holds, so figures are
//! ready the moment a run ends. The accounting rules, written as a spec:
//!
//! - a record is *sent* once, at its first attempt, however many attempts follow;
//! - a retried record is not a lost one: it counts once in `retried`, and each attempt once in
//!   `record_attempts`;
//! - a record is *acknowledged* when a write call carrying it returns 2xx, at most once;
//! - a record *gave up* when its retry budget ran out or it was rejected, at most once;
//! - a record is either *observed* (first seen at the target within the window) or *lost*,
//!   never both, so `sent = observed + lost` once the run has drained;
//! - `reached_attempt[k]` counts the records that made a k-th attempt, so the records that took
//!   exactly k attempts are `reached_attempt[k] - reached_attempt[k + 1]`;
//! - a *retry storm* is a [`STORM_WINDOW`] of send time in which at least [`STORM_MIN_RETRIES`]
//!   write calls were retries and retries outnumbered fresh sends (ratio above 1): the client
//!   spends more of its quota repeating itself than moving new data;
//! - in a run with a `[load] mix`, the same rules hold per operation kind (`by_op`): an
//!   operation is sent once, observed or lost once, so `sent = observed + lost` per kind; an
//!   operation not sent (its record's create was lost) is *skipped*, never sent.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{EventKind, LatencyHistogram, Message, Outcome};
use crate::replay::OpKind;

/// The counters of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerCounts {
    pub sent: u64,
    pub acknowledged: u64,
    pub gave_up: u64,
    pub retried: u64,
    pub record_attempts: u64,
    pub observed: u64,
    pub lost: u64,
    pub write_calls: u64,
    pub read_calls: u64,
    pub search_calls: u64,
    pub throttled_calls: u64,
    pub early_retries: u64,
    /// Highest share of the vendor's rolling quota seen used (0..=1).
    pub quota_peak: f64,
    /// Highest share of the vendor's daily quota seen used (0..=1).
    pub daily_quota_peak: f64,
    /// The vendor's burst quota in calls per second, as its headers last said (0 = unknown).
    pub burst_per_s: f64,
    /// Records that made an attempt numbered k, by k.
    pub reached_attempt: BTreeMap<u32, u64>,
    /// Write calls by which attempt of their batch they were (1 = a fresh send).
    pub write_calls_by_attempt: BTreeMap<u32, u64>,
    /// Retry storms, by window of send time.
    pub storms: Storms,
    /// Write calls by HTTP status (0 = no response).
    pub write_status: BTreeMap<u16, u64>,
    /// Verification calls (reads and searches) by HTTP status.
    pub verify_status: BTreeMap<u16, u64>,
    /// A mixed run's counters per operation kind (empty in a creates-only run).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_op: BTreeMap<OpKind, OpCounts>,
}

/// One operation kind's counters in a mixed run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpCounts {
    pub sent: u64,
    pub acknowledged: u64,
    pub gave_up: u64,
    pub attempts: u64,
    /// Seen as written at the target (a create present, an update's values, a delete gone).
    pub observed: u64,
    pub lost: u64,
    /// Not sent: the record's create was lost, or no live record was in the window.
    pub skipped: u64,
}

/// Counters plus the two latency histograms.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub counts: LedgerCounts,
    /// Service time of write calls.
    pub api: LatencyHistogram,
    /// Intended send → first seen at the target.
    pub sync: LatencyHistogram,
    /// The same, per operation kind of a mixed run.
    pub sync_by_op: BTreeMap<OpKind, LatencyHistogram>,
}

impl Ledger {
    pub fn apply(&mut self, message: &Message) {
        let c = &mut self.counts;
        match message {
            Message::Call(call) => {
                if call.is_write {
                    c.write_calls += 1;
                    *c.write_status.entry(call.status).or_default() += 1;
                    self.api.record(call.done_at.since(call.sent_at));
                } else {
                    if call.endpoint.starts_with("search") {
                        c.search_calls += 1;
                    } else {
                        c.read_calls += 1;
                    }
                    *c.verify_status.entry(call.status).or_default() += 1;
                }
                if call.outcome == Outcome::Throttled {
                    c.throttled_calls += 1;
                }
                if call.early_retry {
                    c.early_retries += 1;
                }
                if call.is_write
                    && let Some(attempt) = call.attempt
                {
                    *c.write_calls_by_attempt.entry(attempt).or_default() += 1;
                    c.storms.add(call.sent_at, attempt > 1);
                }
                if let Some(used) = call.daily_used {
                    c.daily_quota_peak = c.daily_quota_peak.max(used);
                }
                if let Some(rate) = call.burst_per_s {
                    c.burst_per_s = rate;
                }
                if let Some(used) = call.quota_used {
                    c.quota_peak = c.quota_peak.max(used);
                }
            }
            Message::Event(e) => {
                if let Some((kind, _, _)) = e.op {
                    self.apply_op(kind, e);
                }
                self.apply_event(e)
            }
        }
    }

    fn apply_op(&mut self, kind: OpKind, e: &super::Event) {
        let c = self.counts.by_op.entry(kind).or_default();
        match e.kind {
            EventKind::Attempt => {
                c.attempts += 1;
                if e.attempt == Some(1) {
                    c.sent += 1;
                }
                match e.outcome {
                    Some(Outcome::Ok) => c.acknowledged += 1,
                    Some(Outcome::GaveUp) => c.gave_up += 1,
                    _ => {}
                }
            }
            EventKind::Observed => {
                c.observed += 1;
                if let Some(seen) = e.done_at {
                    self.sync_by_op
                        .entry(kind)
                        .or_default()
                        .record(seen.since(e.scheduled_at));
                }
            }
            EventKind::Lost => c.lost += 1,
            EventKind::Skipped => c.skipped += 1,
            EventKind::Reconciled => {}
        }
    }

    fn apply_event(&mut self, e: &super::Event) {
        let c = &mut self.counts;
        {
            match e.kind {
                EventKind::Attempt => {
                    c.record_attempts += 1;
                    if let Some(k) = e.attempt {
                        *c.reached_attempt.entry(k).or_default() += 1;
                    }
                    match e.attempt {
                        Some(1) => c.sent += 1,
                        Some(2) => c.retried += 1,
                        _ => {}
                    }
                    match e.outcome {
                        Some(Outcome::Ok) => c.acknowledged += 1,
                        Some(Outcome::GaveUp) => c.gave_up += 1,
                        _ => {}
                    }
                }
                EventKind::Observed => {
                    c.observed += 1;
                    if let Some(seen) = e.done_at {
                        self.sync.record(seen.since(e.scheduled_at));
                    }
                }
                EventKind::Lost => c.lost += 1,
                EventKind::Reconciled | EventKind::Skipped => {}
            }
        }
    }

    /// Records by the number of attempts they took: `(k, records)` for every k reached.
    pub fn records_by_attempts(&self) -> Vec<(u32, u64)> {
        let reached = &self.counts.reached_attempt;
        reached
            .iter()
            .map(|(&k, &n)| {
                let next = reached.get(&(k + 1)).copied().unwrap_or(0);
                (k, n.saturating_sub(next))
            })
            .collect()
    }

    /// Mean attempts per sent record.
    pub fn attempts_per_record(&self) -> f64 {
        ratio(self.counts.record_attempts, self.counts.sent)
    }

    pub fn api_time(&self) -> Duration {
        Duration::from_secs_f64(self.api.quantile_ms(0.5) / 1000.0)
    }
}

impl Ledger {
    /// `num / den`, 0 when `den` is 0.
    pub fn ratio(num: u64, den: u64) -> f64 {
        ratio(num, den)
    }
}

/// Length of a retry-storm window.
pub const STORM_WINDOW: Duration = Duration::from_secs(10);
/// Retries a window needs before it can be a storm (a few retries are ordinary).
pub const STORM_MIN_RETRIES: u64 = 5;
/// Open windows kept; older ones are closed (calls arrive within seconds of their send).
const OPEN_WINDOWS: usize = 32;

/// Write calls per [`STORM_WINDOW`] of send time, fresh and retried, folded into a count of
/// storm windows and the worst window. Bounded: at most [`OPEN_WINDOWS`] are kept open.
/// In a checkpoint only the closed windows travel: a resumed run starts its open windows afresh.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Storms {
    /// Closed windows that were storms.
    closed_storms: u64,
    /// Worst closed window: (retries, fresh).
    closed_worst: (u64, u64),
    /// Open windows: index → (retries, fresh).
    #[serde(skip)]
    open: BTreeMap<u64, (u64, u64)>,
}

fn is_storm((retries, fresh): (u64, u64)) -> bool {
    retries >= STORM_MIN_RETRIES && retries > fresh
}

/// Orders windows by their retry ratio (retries over fresh sends, fresh 0 counting as 1).
fn worse(a: (u64, u64), b: (u64, u64)) -> (u64, u64) {
    // a.0 / max(a.1, 1) > b.0 / max(b.1, 1), exactly, in integers.
    if u128::from(a.0) * u128::from(b.1.max(1)) > u128::from(b.0) * u128::from(a.1.max(1)) {
        a
    } else {
        b
    }
}

impl Storms {
    pub fn add(&mut self, sent_at: super::Micros, retry: bool) {
        let window = sent_at.0 / STORM_WINDOW.as_micros() as u64;
        let slot = self.open.entry(window).or_default();
        if retry {
            slot.0 += 1;
        } else {
            slot.1 += 1;
        }
        while self.open.len() > OPEN_WINDOWS {
            if let Some((_, w)) = self.open.pop_first() {
                self.closed_storms += u64::from(is_storm(w));
                self.closed_worst = worse(w, self.closed_worst);
            }
        }
    }

    /// Windows that were storms.
    pub fn count(&self) -> u64 {
        self.closed_storms + self.open.values().filter(|w| is_storm(**w)).count() as u64
    }

    /// The window with the highest ratio of retries to fresh sends: (retries, fresh).
    pub fn worst(&self) -> (u64, u64) {
        self.open
            .values()
            .fold(self.closed_worst, |acc, w| worse(*w, acc))
    }

    /// Retries over fresh sends in the worst window (fresh 0 counts as 1).
    pub fn peak_ratio(&self) -> f64 {
        let (retries, fresh) = self.worst();
        retries as f64 / fresh.max(1) as f64
    }

    /// Folds counts from another run (a merged shard) in.
    pub fn absorb(&mut self, storms: u64, worst: (u64, u64)) {
        self.closed_storms += storms;
        self.closed_worst = worse(worst, self.closed_worst);
    }
}

pub(crate) fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{Event, Micros};
    use proptest::prelude::*;

    fn write_call(sent_s: u64, attempt: u32) -> Message {
        Message::Call(super::super::CallRecord {
            call_id: 0,
            endpoint: "write:batch_upsert",
            is_write: true,
            status: 200,
            outcome: Outcome::Ok,
            sent_at: Micros(sent_s * 1_000_000),
            done_at: Micros(sent_s * 1_000_000 + 1000),
            n_records: 1,
            attempt: Some(attempt),
            retry_after: None,
            early_retry: false,
            quota_used: None,
            daily_used: None,
            burst_per_s: None,
        })
    }

    #[test]
    fn storms_are_windows_where_retries_outnumber_fresh_sends() {
        let mut ledger = Ledger::default();
        // Window 0 (0-9 s): 10 fresh, 4 retries: quiet. Window 1: 3 fresh, 6 retries: a
        // storm. Window 2: 0 fresh, 4 retries: fewer than the minimum. Window 3: 5 fresh, 5
        // retries: not more than fresh. Window 50, after many windows closed: 1 fresh, 9 retries.
        let plan: [(u64, u64, u64); 5] = [(0, 10, 4), (1, 3, 6), (2, 0, 4), (3, 5, 5), (50, 1, 9)];
        for (w, fresh, retries) in plan {
            for k in 0..fresh {
                ledger.apply(&write_call(w * 10 + k % 10, 1));
            }
            for k in 0..retries {
                ledger.apply(&write_call(w * 10 + k % 10, 2 + (k % 2) as u32));
            }
        }
        // Push 40 more windows through so the early ones are closed, not just open.
        for w in 100..140 {
            ledger.apply(&write_call(w * 10, 1));
        }
        let c = &ledger.counts;
        assert_eq!(c.storms.count(), 2);
        assert_eq!(c.storms.worst(), (9, 1));
        assert_eq!(c.storms.peak_ratio(), 9.0);
        assert_eq!(c.write_calls_by_attempt[&1], 10 + 3 + 5 + 1 + 40);
        assert_eq!(
            c.write_calls_by_attempt[&2] + c.write_calls_by_attempt[&3],
            4 + 6 + 4 + 5 + 9
        );
        assert!(c.storms.open.len() <= OPEN_WINDOWS);
    }

    /// What can happen to one record: attempts until it is acknowledged or gives up, then it
    /// is observed or lost.
    #[derive(Debug, Clone)]
    struct Story {
        failures_before_ack: u32,
        gives_up: bool,
        observed: bool,
    }

    fn story() -> impl Strategy<Value = Story> {
        (0u32..5, any::<bool>(), any::<bool>()).prop_map(|(f, g, o)| Story {
            failures_before_ack: f,
            gives_up: g,
            observed: o,
        })
    }

    proptest! {
        /// Model-based: whatever the mix of retries, give-ups and losses, nothing is counted
        /// twice and `sent = observed + lost` exactly.
        #[test]
        fn every_record_is_accounted_for_once(stories in proptest::collection::vec(story(), 0..200)) {
            let mut ledger = Ledger::default();
            let (mut attempts, mut retried, mut acked, mut gave_up) = (0, 0, 0, 0);
            for (i, s) in stories.iter().enumerate() {
                let idx = i as u64;
                let n = s.failures_before_ack + 1;
                for a in 1..=n {
                    let mut e = Event::new(EventKind::Attempt, idx, format!("x{i}"), Micros(0));
                    e.attempt = Some(a);
                    e.outcome = Some(match (a == n, s.gives_up) {
                        (false, _) => Outcome::Transient,
                        (true, true) => Outcome::GaveUp,
                        (true, false) => Outcome::Ok,
                    });
                    ledger.apply(&Message::Event(e));
                }
                attempts += n as u64;
                retried += u64::from(n > 1);
                if s.gives_up { gave_up += 1 } else { acked += 1 }
                let kind = if s.observed { EventKind::Observed } else { EventKind::Lost };
                let mut e = Event::new(kind, idx, format!("x{i}"), Micros(0));
                e.done_at = Some(Micros(1000));
                ledger.apply(&Message::Event(e));
            }
            let c = &ledger.counts;
            prop_assert_eq!(c.sent, stories.len() as u64);
            prop_assert_eq!(c.sent, c.observed + c.lost);
            prop_assert_eq!(c.record_attempts, attempts);
            prop_assert_eq!(c.retried, retried);
            prop_assert_eq!(c.acknowledged, acked);
            prop_assert_eq!(c.gave_up, gave_up);
            prop_assert_eq!(ledger.sync.len(), c.observed);
            // Records by attempts, against each record's own count.
            let mut by_attempts = std::collections::BTreeMap::new();
            for s in &stories {
                *by_attempts.entry(s.failures_before_ack + 1).or_insert(0u64) += 1;
            }
            let derived: std::collections::BTreeMap<u32, u64> =
                ledger.records_by_attempts().into_iter().filter(|(_, n)| *n > 0).collect();
            prop_assert_eq!(derived, by_attempts);
        }
    }
}
