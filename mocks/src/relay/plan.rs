//! Each source record's fate, decided once when the relay first sees it: lost, or forwarded after
//! a lag, with some properties dropped, long values truncated, and maybe a second copy.
//!
//! Plain code over a ChaCha8 RNG seeded per record from the knobs' seed and the record's id
//! property (its source id when it has none), so a record's fate does not depend on the order
//! records reach the relay: the same seed gives the same defects on the same records. Every record draws the same number of values whatever
//! its outcome, so one record's properties never shift the next record's decisions.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

use super::RelayKnobs;
use crate::dist::LogNormal;

/// A source record as the relay reads it: unset properties are `None`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SourceRecord {
    pub(crate) id: u64,
    pub(crate) properties: BTreeMap<String, Option<String>>,
}

/// A record to forward.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Planned {
    pub(crate) source_id: u64,
    /// When to write the first copy.
    pub(crate) due: Instant,
    /// What the target gets (dropped and unset properties absent, long values truncated).
    pub(crate) properties: BTreeMap<String, String>,
    /// Properties dropped whose source value was non-empty.
    pub(crate) dropped: Vec<String>,
    /// Properties whose value truncation changed.
    pub(crate) truncated: Vec<String>,
    /// Write a second copy after the first is acknowledged.
    pub(crate) duplicate: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fate {
    Lost,
    Forward(Planned),
}

#[derive(Debug)]
pub(crate) struct Planner {
    seed: u64,
    lag: LogNormal,
    loss_rate: f64,
    duplicate_rate: f64,
    drop_rates: BTreeMap<String, f64>,
    truncate_at: Option<usize>,
    id_property: String,
    /// What the relay copies: `id_property` and the configured properties. Anything else the
    /// source returns (its `createdate`, `hs_object_id`, …) is not the relay's to copy.
    copied: Vec<String>,
}

/// FNV-1a: a stable 64-bit hash of a record's key.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `value` cut to `max` chars, or `None` when it is not longer than that.
fn truncated(value: &str, max: usize) -> Option<String> {
    let (cut, _) = value.char_indices().nth(max)?;
    Some(value[..cut].to_string())
}

impl Planner {
    pub(crate) fn new(knobs: &RelayKnobs, id_property: String, copied: Vec<String>) -> Self {
        Planner {
            seed: knobs.seed,
            lag: knobs.lag,
            loss_rate: knobs.loss_rate,
            duplicate_rate: knobs.duplicate_rate,
            drop_rates: knobs.drop_rates.clone(),
            truncate_at: knobs.truncate_at,
            id_property,
            copied,
        }
    }

    /// Decides `record`'s fate; `now` is when the relay saw it.
    pub(crate) fn plan(&mut self, record: SourceRecord, now: Instant) -> Fate {
        let key = match record.properties.get(&self.id_property) {
            Some(Some(id)) => fnv1a(id.as_bytes()),
            _ => record.id,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed ^ key.rotate_left(29));
        let lost = rng.random::<f64>() < self.loss_rate;
        let lag = self.lag.sample(&mut rng);
        let duplicate = rng.random::<f64>() < self.duplicate_rate;
        let drops: Vec<&str> = self
            .drop_rates
            .iter()
            .filter(|(_, rate)| rng.random::<f64>() < **rate)
            .map(|(property, _)| property.as_str())
            .filter(|property| *property != self.id_property)
            .collect();
        if lost {
            return Fate::Lost;
        }
        let mut planned = Planned {
            source_id: record.id,
            due: now + lag,
            properties: BTreeMap::new(),
            dropped: Vec::new(),
            truncated: Vec::new(),
            duplicate,
        };
        let mut source = record.properties;
        for property in &self.copied {
            let Some(value) = source.remove(property).flatten() else {
                continue;
            };
            let property = property.clone();
            if property == self.id_property {
                planned.properties.insert(property, value);
                continue;
            }
            if drops.contains(&property.as_str()) {
                if !value.is_empty() {
                    planned.dropped.push(property);
                }
                continue;
            }
            let value = match self.truncate_at.and_then(|max| truncated(&value, max)) {
                Some(cut) => {
                    planned.truncated.push(property.clone());
                    cut
                }
                None => value,
            };
            planned.properties.insert(property, value);
        }
        Fate::Forward(planned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, pairs: &[(&str, Option<&str>)]) -> SourceRecord {
        SourceRecord {
            id,
            properties: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
                .collect(),
        }
    }

    fn copied(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn forward(fate: Fate) -> Planned {
        match fate {
            Fate::Forward(p) => p,
            Fate::Lost => panic!("expected a forwarded record"),
        }
    }

    #[test]
    fn truncation_counts_chars_not_bytes() {
        assert_eq!(truncated("héllo wörld", 5).as_deref(), Some("héllo"));
        assert_eq!(truncated("héllo", 5), None);
        assert_eq!(truncated("", 0), None);
        assert_eq!(truncated("ab", 0).as_deref(), Some(""));
    }

    #[tokio::test]
    async fn id_property_is_never_dropped_or_truncated() {
        let knobs = RelayKnobs {
            drop_rates: [("id".to_string(), 1.0), ("phone".to_string(), 1.0)].into(),
            truncate_at: Some(3),
            ..RelayKnobs::default()
        };
        let mut planner = Planner::new(&knobs, "id".into(), copied(&["id", "phone", "name", "x"]));
        let p = forward(planner.plan(
            record(
                7,
                &[
                    ("id", Some("abcdef")),
                    ("phone", Some("123")),
                    ("name", Some("Zoë Smith")),
                    ("x", None),
                    ("hs_object_id", Some("7")),
                ],
            ),
            Instant::now(),
        ));
        assert_eq!(p.properties.get("id").map(String::as_str), Some("abcdef"));
        assert_eq!(p.properties.get("name").map(String::as_str), Some("Zoë"));
        assert_eq!(
            p.properties.keys().collect::<Vec<_>>(),
            ["id", "name"],
            "only copied properties"
        );
        assert_eq!(p.dropped, vec!["phone".to_string()]);
        assert_eq!(p.truncated, vec!["name".to_string()]);
    }

    #[tokio::test]
    async fn empty_values_dropped_are_not_counted() {
        let knobs = RelayKnobs {
            drop_rates: [("phone".to_string(), 1.0)].into(),
            ..RelayKnobs::default()
        };
        let mut planner = Planner::new(&knobs, "id".into(), copied(&["id", "phone", "name", "x"]));
        let p = forward(planner.plan(record(1, &[("phone", Some(""))]), Instant::now()));
        assert!(p.dropped.is_empty() && p.properties.is_empty());
    }

    #[tokio::test]
    async fn same_seed_same_fates_and_rates_hold() {
        let knobs = RelayKnobs {
            loss_rate: 0.1,
            duplicate_rate: 0.2,
            seed: 42,
            ..RelayKnobs::default()
        };
        let now = Instant::now();
        let run = || {
            let mut planner =
                Planner::new(&knobs, "id".into(), copied(&["id", "phone", "name", "x"]));
            (0..10_000)
                .map(|i| {
                    let id = format!("x{i}");
                    planner.plan(record(i, &[("id", Some(id.as_str()))]), now)
                })
                .collect::<Vec<_>>()
        };
        let fates = run();
        assert_eq!(fates, run());
        let lost = fates.iter().filter(|f| **f == Fate::Lost).count();
        let dup = fates
            .iter()
            .filter(|f| matches!(f, Fate::Forward(p) if p.duplicate))
            .count();
        // Binomial sd: √(10⁴·0.1·0.9) = 30 and √(9·10³·0.2·0.8) ≈ 38; allow 5 sd.
        assert!((850..=1150).contains(&lost), "lost {lost}");
        assert!((1610..=1990).contains(&dup), "duplicated {dup}");
    }

    #[tokio::test]
    async fn a_records_fate_follows_its_id_not_its_arrival_order() {
        let knobs = RelayKnobs {
            loss_rate: 0.3,
            duplicate_rate: 0.3,
            drop_rates: BTreeMap::from([("phone".to_string(), 0.5)]),
            seed: 7,
            ..RelayKnobs::default()
        };
        let now = Instant::now();
        let fates = |order: &mut dyn Iterator<Item = u64>| {
            let mut planner = Planner::new(&knobs, "id".into(), copied(&["id", "phone"]));
            let mut by_id = BTreeMap::new();
            for i in order {
                let id = format!("ext-{i}");
                let fate = planner.plan(
                    record(i, &[("id", Some(id.as_str())), ("phone", Some("+1 555"))]),
                    now,
                );
                let summary = match fate {
                    Fate::Lost => "lost".to_string(),
                    Fate::Forward(p) => format!("{} {:?}", p.duplicate, p.dropped),
                };
                by_id.insert(id, summary);
            }
            by_id
        };
        assert_eq!(fates(&mut (0..500)), fates(&mut (0..500).rev()));
    }
}
