//! The in-flight set: records sent and not yet seen at the target nor declared lost. It is the
//! only per-record state a run keeps, bounded by rate × (latency + window), not by run length.
//! A `std::sync::Mutex` guards it: every critical section is a map insert, remove or a scan of
//! at most a few hundred entries, never held across an await.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::measure::Micros;

/// What is known of a record in flight.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub external_id: String,
    pub scheduled_at: Micros,
    /// When the writer stopped working on it (acknowledged or gave up); the verification window
    /// starts here, so a record still being retried is never declared lost.
    pub settled_at: Option<Micros>,
}

#[derive(Debug, Default)]
pub struct InFlight {
    records: Mutex<BTreeMap<u64, Pending>>,
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
        self.lock().remove(&idx)
    }

    /// Removes and returns the records settled more than `window` ago.
    pub fn take_expired(&self, now: Micros, window: Duration) -> Vec<(u64, Pending)> {
        let mut map = self.lock();
        let expired: Vec<u64> = map
            .iter()
            .filter(|(_, p)| p.settled_at.is_some_and(|s| now.since(s) > window))
            .map(|(idx, _)| *idx)
            .collect();
        expired
            .into_iter()
            .filter_map(|idx| map.remove(&idx).map(|p| (idx, p)))
            .collect()
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
