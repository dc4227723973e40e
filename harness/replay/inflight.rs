//! The in-flight set: records sent and not yet seen at the target nor declared lost. It is the
//! only per-record state a run keeps, bounded by rate × (latency + window), not by run length.
//! A `std::sync::Mutex` guards it: every critical section is a map insert, remove or a scan of
//! at most a few hundred entries, never held across an await.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::OpKind;
use crate::measure::Micros;

/// What is known of a record in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub external_id: String,
    pub scheduled_at: Micros,
    /// When the writer stopped working on it (acknowledged or gave up); the verification window
    /// starts here, so a record still being retried is never declared lost.
    pub settled_at: Option<Micros>,
    /// The operation of a `[load] mix` run (then the set is keyed by operation index);
    /// `None` in a creates-only run (keyed by record index).
    pub op: Option<OpTag>,
}

/// What a mixed run's in-flight operation is, and what its read-back must show.
#[derive(Debug, Clone, PartialEq)]
pub struct OpTag {
    pub kind: OpKind,
    pub record: u64,
    /// The version an update writes (0 otherwise).
    pub version: u32,
    /// An update's new values by field name: a copy showing them all is up to date.
    pub expect: Vec<(String, String)>,
}

/// Where a mixed run's record stands, for the operations waiting to touch it.
#[derive(Debug, Clone, Default, PartialEq)]
struct RecordState {
    /// An operation on it is in flight (sent and neither observed nor lost yet).
    busy: bool,
    /// Its create was lost: later operations on it are skipped.
    gone: bool,
    /// The writer is done with its create (so the target's id, if answered, is known).
    written: bool,
    /// The target's own id, from the create's answer.
    target_id: Option<String>,
}

/// Whether an operation may touch its record now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// Yes; the target's own id when its create's answer gave one.
    Go(Option<String>),
    /// An earlier operation on it is still in flight.
    Wait,
    /// Its create was lost (or it is not known): skip the operation.
    Skip,
}

#[derive(Debug, Default)]
pub struct InFlight {
    records: Mutex<BTreeMap<u64, Pending>>,
    /// A mixed run's records of the recent window (empty otherwise).
    states: Mutex<BTreeMap<u64, RecordState>>,
    /// Nothing watches the target (`[verify] kind = "none"`): records are not kept at all.
    untracked: bool,
}

impl InFlight {
    /// A set that keeps nothing, for a run that reads nothing back.
    pub fn untracked() -> InFlight {
        InFlight {
            untracked: true,
            ..InFlight::default()
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Pending>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// False for a set that keeps nothing: the caller can skip building entries.
    pub fn tracks(&self) -> bool {
        !self.untracked
    }

    pub fn insert(&self, idx: u64, pending: Pending) {
        if !self.untracked {
            self.lock().insert(idx, pending);
        }
    }

    /// The writer is done with `idx` (acknowledged or gave up).
    pub fn settle(&self, idx: u64, at: Micros) {
        if self.untracked {
            return;
        }
        if let Some(p) = self.lock().get_mut(&idx) {
            p.settled_at.get_or_insert(at);
        }
    }

    pub fn remove(&self, idx: u64) -> Option<Pending> {
        let pending = self.lock().remove(&idx);
        if let Some(tag) = pending.as_ref().and_then(|p| p.op.as_ref()) {
            self.done(tag, true);
        }
        pending
    }

    fn states(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, RecordState>> {
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A mixed run's operation left the set: observed, or lost.
    fn done(&self, tag: &OpTag, observed: bool) {
        let mut states = self.states();
        match (tag.kind, observed) {
            (OpKind::Delete, _) => {
                states.remove(&tag.record);
            }
            (OpKind::Create, false) => {
                let s = states.entry(tag.record).or_default();
                s.busy = false;
                s.gone = true;
            }
            _ => {
                if let Some(s) = states.get_mut(&tag.record) {
                    s.busy = false;
                }
            }
        }
    }

    /// A mixed run creates `record`: operations on it wait until the create is observed.
    pub fn begin_create(&self, record: u64) {
        self.states().insert(
            record,
            RecordState {
                busy: true,
                ..RecordState::default()
            },
        );
    }

    /// The target's own id of `record`, from its create's answer.
    pub fn set_target_id(&self, record: u64, id: String) {
        if let Some(s) = self.states().get_mut(&record) {
            s.target_id = Some(id);
        }
    }

    /// The writer is done with `record`'s create (acknowledged, given up or cancelled): the
    /// read-back may see a record before its create's answer arrives, and a delete needs the
    /// id that answer carries.
    pub fn create_written(&self, record: u64) {
        if let Some(s) = self.states().get_mut(&record) {
            s.written = true;
        }
    }

    /// Whether an update or delete may touch `record` now; when it may, the record is marked
    /// busy until the operation leaves the set.
    pub fn begin(&self, record: u64) -> Ready {
        let mut states = self.states();
        match states.get_mut(&record) {
            None => Ready::Skip,
            Some(s) if s.gone => Ready::Skip,
            Some(s) if s.busy || !s.written => Ready::Wait,
            Some(s) => {
                s.busy = true;
                Ready::Go(s.target_id.clone())
            }
        }
    }

    /// Forgets the idle records below `horizon` (out of the planner's window).
    pub fn forget_below(&self, horizon: u64) {
        let mut states = self.states();
        let old: Vec<u64> = states
            .range(..horizon)
            .filter(|(_, s)| !s.busy)
            .map(|(r, _)| *r)
            .collect();
        for r in old {
            states.remove(&r);
        }
    }

    /// Removes and returns the records settled more than `window` ago.
    pub fn take_expired(&self, now: Micros, window: Duration) -> Vec<(u64, Pending)> {
        let mut map = self.lock();
        let expired: Vec<u64> = map
            .iter()
            .filter(|(_, p)| p.settled_at.is_some_and(|s| now.since(s) > window))
            .map(|(idx, _)| *idx)
            .collect();
        let expired: Vec<(u64, Pending)> = expired
            .into_iter()
            .filter_map(|idx| map.remove(&idx).map(|p| (idx, p)))
            .collect();
        drop(map);
        for tag in expired.iter().filter_map(|(_, p)| p.op.as_ref()) {
            self.done(tag, false);
        }
        expired
    }

    /// Up to `limit` records, oldest first.
    pub fn oldest(&self, limit: usize) -> Vec<(u64, Pending)> {
        self.lock()
            .iter()
            .take(limit)
            .map(|(idx, p)| (*idx, p.clone()))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_settled_records_expire() {
        let set = InFlight::default();
        for idx in 0..3 {
            set.insert(
                idx,
                Pending {
                    external_id: format!("x{idx}"),
                    scheduled_at: Micros(0),
                    settled_at: None,
                    op: None,
                },
            );
        }
        set.settle(0, Micros(1_000));
        set.settle(1, Micros(9_000_000));
        let expired = set.take_expired(Micros(6_000_000), Duration::from_secs(5));
        assert_eq!(expired.iter().map(|e| e.0).collect::<Vec<_>>(), vec![0]);
        assert_eq!(set.len(), 2);
        assert_eq!(set.oldest(1)[0].0, 1);
    }
}
