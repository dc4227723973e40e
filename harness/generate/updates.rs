//! The update stream: later versions of existing rows, so a PoC exercises updates and deletes,
//! not only creates. Version `v` of row `i` is a pure function of (shape, seed, object, i, v),
//! like the row itself, so shards, thread counts and resumes all see the same versions.
//!
//! A row's history is drawn from its own stream: with the shape's `rate` it gets
//! `1..=max_versions` updates (versions `1, 2, …`; the create is version 0), and with
//! `delete_rate` one more version deletes it. Each update changes `1..=max_fields` distinct
//! fields picked by weight; the new values come from the same makers as the creates (a renamed
//! person when a name changes, so the email follows), and a field's `null_rate + blank_rate`
//! share of changes clears it (an empty string: null always means "unchanged").

use rand::{Rng, RngCore};

use super::record::{Generator, unique, unit};
use super::values::{self, Person};
use crate::shape::{FieldKind, UpdateSpec};

/// Random streams of a row's history and of each version, apart from the create's.
const PLAN_STREAM: u64 = 0x7570_6461_7465;
const VERSION_STREAM: u64 = 0x7665_7273 << 40;

/// What a version does to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Update,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

/// How many later versions a row has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// Updates: versions `1..=updates`.
    pub updates: u32,
    /// Whether version `updates + 1` deletes the row.
    pub deleted: bool,
}

impl History {
    /// Later versions in all (updates and the delete).
    pub fn versions(self) -> u32 {
        self.updates + u32::from(self.deleted)
    }
}

/// One later version of a row: the changed fields' new values (`None` = unchanged; all `None`
/// for a delete) and, as ground truth, the indices of the fields it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub idx: u64,
    pub external_id: String,
    /// 1 for the first update (the create is version 0).
    pub version: u32,
    pub op: Op,
    pub values: Vec<Option<String>>,
    pub changed: Vec<usize>,
}

impl Default for Version {
    fn default() -> Version {
        Version {
            idx: 0,
            external_id: String::new(),
            version: 0,
            op: Op::Update,
            values: Vec::new(),
            changed: Vec::new(),
        }
    }
}

impl Generator {
    /// The object's update stream, if the shape declares one.
    pub fn updates(&self) -> Option<&UpdateSpec> {
        self.object().updates.as_ref()
    }

    /// How many later versions row `idx` has (none without an update stream).
    pub fn history(&self, idx: u64) -> History {
        let Some(spec) = self.updates() else {
            return History {
                updates: 0,
                deleted: false,
            };
        };
        let mut rng = self.rng(idx, PLAN_STREAM);
        let (updated, count, deleted) =
            (unit(rng.next_u64()), rng.next_u64(), unit(rng.next_u64()));
        History {
            updates: if updated < spec.rate {
                1 + (count % u64::from(spec.max_versions)) as u32
            } else {
                0
            },
            deleted: deleted < spec.delete_rate,
        }
    }

    /// Version `version` (from 1) of row `idx`, written over `out`; false when the row has no
    /// such version.
    pub fn version_into(&self, idx: u64, version: u32, out: &mut Version) -> bool {
        let history = self.history(idx);
        if version == 0 || version > history.versions() {
            return false;
        }
        if version > history.updates {
            self.reset_version(idx, version, out);
            out.op = Op::Delete;
            return true;
        }
        self.update_into(idx, version, out)
    }

    fn reset_version(&self, idx: u64, version: u32, out: &mut Version) {
        out.idx = idx;
        out.external_id = self.external_id(idx);
        out.version = version;
        out.values.clear();
        out.values.resize(self.object().fields.len(), None);
        out.changed.clear();
    }

    /// Update number `version` (from 1) of row `idx`, whatever the row's own history says: what
    /// a run's `[load] mix` writes when it updates a row for the `version`-th time. False when
    /// the shape has no update stream (nothing says which fields change).
    pub fn update_into(&self, idx: u64, version: u32, out: &mut Version) -> bool {
        let Some(spec) = self.updates() else {
            return false;
        };
        if version == 0 {
            return false;
        }
        let fields = &self.object().fields;
        out.idx = idx;
        out.external_id = self.external_id(idx);
        out.version = version;
        out.values.clear();
        out.values.resize(fields.len(), None);
        out.changed.clear();
        out.op = Op::Update;
        let mut rng = self.rng(idx, VERSION_STREAM ^ u64::from(version));
        // Fields changed: 1..=max_fields distinct ones, by weight (a repeat draw takes the next
        // field not yet taken, so the loop is bounded by the list's length).
        let n = 1 + rng.random_range(0..spec.max_fields) as usize;
        let mut taken = vec![false; spec.fields.len()];
        for _ in 0..n {
            let draw = rng.random::<f64>();
            let mut k = spec
                .fields
                .iter()
                .position(|(_, cum)| draw < *cum)
                .unwrap_or(spec.fields.len() - 1);
            while taken[k] {
                k = (k + 1) % taken.len();
            }
            taken[k] = true;
            out.changed.push(spec.fields[k].0);
        }
        out.changed.sort_unstable();
        let person = self.person(idx);
        let renamed = person.renamed(&Person::new(person.locale, &mut rng));
        let name_changes = out.changed.iter().any(|&i| {
            matches!(
                fields[i].kind,
                FieldKind::FirstName | FieldKind::LastName | FieldKind::FullName
            )
        });
        let person = if name_changes { renamed } else { person };
        for &i in &out.changed {
            let field = &fields[i];
            let gap = rng.random::<f64>();
            let mut value = String::new();
            values::make_into(field, &person, &mut rng, &mut value);
            if field.unique {
                value = unique(field.kind, &field.params, value, idx);
            }
            if gap < field.null_rate + field.blank_rate {
                value.clear();
            }
            out.values[i] = Some(value);
        }
        true
    }

    /// Every later version of row `idx`, in order, appended to `out`.
    pub fn versions_into(&self, idx: u64, out: &mut Vec<Version>) {
        for v in 1..=self.history(idx).versions() {
            let mut version = Version::default();
            self.version_into(idx, v, &mut version);
            out.push(version);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use crate::config::Source;
    use crate::shape::Shape;

    fn b2b() -> Arc<Shape> {
        Arc::new(
            Shape::from_source(&Source::embedded(
                "b2b-saas.toml",
                include_str!("../../datasets/shapes/b2b-saas.toml"),
            ))
            .unwrap(),
        )
    }

    proptest::proptest! {
        /// Version `v` of row `i` is a pure function of (shape, seed, i, v): made fresh, made
        /// over another version's buffers, or as part of the whole history, it is the same.
        #[test]
        fn versions_are_a_pure_function_of_seed_row_and_version(
            seed in proptest::prelude::any::<u64>(),
            idx in 0u64..10_000_000,
            other in 0u64..10_000_000,
        ) {
            let shape = b2b();
            let a = Generator::new(Arc::clone(&shape), seed);
            let b = Generator::new(shape, seed);
            let mut history = Vec::new();
            a.versions_into(idx, &mut history);
            proptest::prop_assert_eq!(history.len() as u32, b.history(idx).versions());
            let mut reused = Version::default();
            b.versions_into(other, &mut Vec::new());
            for (k, v) in history.iter().enumerate() {
                b.version_into(other, 1, &mut reused);
                proptest::prop_assert!(b.version_into(idx, k as u32 + 1, &mut reused));
                proptest::prop_assert_eq!(&reused, v);
            }
        }
    }

    #[test]
    fn versions_follow_the_history_and_change_only_listed_fields() {
        let shape = b2b();
        let g = Generator::new(Arc::clone(&shape), 5);
        let spec = g.updates().expect("the b2b contacts have an update stream");
        let listed: Vec<usize> = spec.fields.iter().map(|(i, _)| *i).collect();
        let mut v = Version::default();
        for idx in 0..2_000 {
            let h = g.history(idx);
            assert!(h.updates <= spec.max_versions);
            assert!(!g.version_into(idx, 0, &mut v));
            assert!(!g.version_into(idx, h.versions() + 1, &mut v));
            for k in 1..=h.versions() {
                assert!(g.version_into(idx, k, &mut v));
                assert_eq!(v.version, k);
                if k <= h.updates {
                    assert_eq!(v.op, Op::Update);
                    assert!(!v.changed.is_empty() && v.changed.len() <= spec.max_fields as usize);
                    for (i, value) in v.values.iter().enumerate() {
                        assert_eq!(value.is_some(), v.changed.contains(&i), "field {i}");
                    }
                    assert!(v.changed.iter().all(|i| listed.contains(i)));
                } else {
                    assert_eq!(v.op, Op::Delete);
                    assert!(v.values.iter().all(Option::is_none) && v.changed.is_empty());
                }
            }
        }
    }
}
