//! The ledger: bounded in-memory accounting of everything the event log holds, so figures are
//! ready the moment a run ends. The accounting rules, written as a spec:
//!
//! - a record is *sent* once, at its first attempt, however many attempts follow;
//! - a retried record is not a lost one: it counts once in `retried`, and each attempt once in
//!   `record_attempts`;
//! - a record is *acknowledged* when a write call carrying it returns 2xx, at most once;
//! - a record *gave up* when its retry budget ran out or it was rejected, at most once;
//! - a record is either *observed* (first seen at the target within the window) or *lost*,
//!   never both, so `sent = observed + lost` once the run has drained.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{EventKind, LatencyHistogram, Message, Outcome};

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
    /// Write calls by HTTP status (0 = no response).
    pub write_status: BTreeMap<u16, u64>,
    /// Verification calls (reads and searches) by HTTP status.
    pub verify_status: BTreeMap<u16, u64>,
}

/// Counters plus the two latency histograms.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub counts: LedgerCounts,
    /// Service time of write calls.
    pub api: LatencyHistogram,
    /// Intended send → first seen at the target.
    pub sync: LatencyHistogram,
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
                if let Some(used) = call.quota_used {
                    c.quota_peak = c.quota_peak.max(used);
                }
            }
            Message::Event(e) => match e.kind {
                EventKind::Attempt => {
                    c.record_attempts += 1;
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
                EventKind::Reconciled => {}
            },
        }
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
        }
    }
}
