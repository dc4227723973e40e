//! The relay's books: `RelayStats` plus the count of records still in flight.
//!
//! Each outcome is one method, so the accounting rules live in one place: a record leaves
//! `pending` exactly once, when it is lost, given up, or forwarded with no second copy planned
//! (or that second copy has settled either way). In webhook mode a notified id is `awaiting`
//! from the moment its event is accepted until the source read answers for it.

use super::RelayStats;
use super::plan::Planned;

/// Which copy of a record a write carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyKind {
    First,
    /// The duplicate, sent after the first was acknowledged.
    Second,
}

#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) stats: RelayStats,
    pub(crate) pending: usize,
    /// Webhook mode: ids taken from events and not yet read from the source.
    pub(crate) awaiting: usize,
}

impl Ledger {
    pub(crate) fn source_call(&mut self) {
        self.stats.source_calls += 1;
    }

    pub(crate) fn target_call(&mut self, is_retry: bool) {
        self.stats.target_calls += 1;
        if is_retry {
            self.stats.target_retries += 1;
        }
    }

    /// Seen but unsettled records plus notified ids not yet read.
    pub(crate) fn in_flight(&self) -> usize {
        self.pending + self.awaiting
    }

    /// An accepted webhook request with `events` events, `new` of them about objects not
    /// taken before.
    pub(crate) fn webhook_accepted(&mut self, events: u64, new: u64) {
        self.stats.webhook_requests += 1;
        self.stats.webhook_events += events;
        self.stats.webhook_redundant += events - new;
        self.awaiting += new as usize;
    }

    pub(crate) fn webhook_rejected(&mut self) {
        self.stats.webhook_rejected += 1;
    }

    /// The source read answered for a notified id: found (then `seen` follows) or missing.
    pub(crate) fn fetched(&mut self, found: bool) {
        self.awaiting = self.awaiting.saturating_sub(1);
        if !found {
            self.stats.fetch_missing += 1;
        }
    }

    /// A new source record; `lost` when the loss knob took it.
    pub(crate) fn seen(&mut self, lost: bool) {
        self.stats.seen += 1;
        if lost {
            self.stats.lost += 1;
        } else {
            self.pending += 1;
        }
    }

    /// The target acknowledged `copy` of `planned`; `created` when that write made a new copy
    /// (always for a create; for an upsert, when the target said so).
    pub(crate) fn acknowledged(&mut self, planned: &Planned, copy: CopyKind, created: bool) {
        match copy {
            CopyKind::First => {
                self.stats.forwarded += 1;
                for field in &planned.dropped {
                    *self.stats.fields_dropped.entry(field.clone()).or_default() += 1;
                }
                for field in &planned.truncated {
                    *self
                        .stats
                        .fields_truncated
                        .entry(field.clone())
                        .or_default() += 1;
                }
                if !planned.duplicate {
                    self.settle();
                }
            }
            CopyKind::Second => {
                self.stats.duplicated += 1;
                if created {
                    self.stats.duplicate_copies += 1;
                }
                self.settle();
            }
        }
    }

    /// The relay stopped trying to write `copy`.
    pub(crate) fn abandoned(&mut self, copy: CopyKind) {
        if copy == CopyKind::First {
            self.stats.gave_up += 1;
        }
        self.settle();
    }

    fn settle(&mut self) {
        self.pending = self.pending.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(duplicate: bool) -> Planned {
        Planned {
            source_id: 1,
            due: tokio::time::Instant::now(),
            properties: Default::default(),
            dropped: vec!["phone".into()],
            truncated: vec![],
            duplicate,
        }
    }

    #[tokio::test]
    async fn each_record_leaves_pending_once() {
        let mut l = Ledger::default();
        for lost in [true, false, false, false] {
            l.seen(lost);
        }
        assert_eq!((l.stats.seen, l.stats.lost, l.pending), (4, 1, 3));
        l.acknowledged(&planned(false), CopyKind::First, true);
        assert_eq!(l.pending, 2);
        let dup = planned(true);
        l.acknowledged(&dup, CopyKind::First, true);
        assert_eq!(
            l.pending, 2,
            "a planned second copy keeps the record pending"
        );
        l.abandoned(CopyKind::Second);
        assert_eq!((l.pending, l.stats.gave_up, l.stats.duplicated), (1, 0, 0));
        l.abandoned(CopyKind::First);
        assert_eq!((l.pending, l.stats.gave_up, l.stats.forwarded), (0, 1, 2));
        assert_eq!(l.stats.fields_dropped.get("phone"), Some(&2));
    }

    #[tokio::test]
    async fn a_second_write_is_a_copy_only_when_it_created_one() {
        let mut l = Ledger::default();
        l.seen(false);
        l.seen(false);
        let dup = planned(true);
        for created in [true, false] {
            l.acknowledged(&dup, CopyKind::First, true);
            l.acknowledged(&dup, CopyKind::Second, created);
        }
        assert_eq!(l.pending, 0);
        assert_eq!((l.stats.duplicated, l.stats.duplicate_copies), (2, 1));
    }

    #[test]
    fn notified_ids_are_in_flight_until_read() {
        let mut l = Ledger::default();
        l.webhook_accepted(5, 3);
        assert_eq!(l.in_flight(), 3);
        assert_eq!((l.stats.webhook_events, l.stats.webhook_redundant), (5, 2));
        l.fetched(true);
        l.seen(false);
        l.fetched(false);
        assert_eq!((l.in_flight(), l.stats.fetch_missing), (2, 1));
    }
}
