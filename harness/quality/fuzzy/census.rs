//! The run's fuzzy-duplicate census, what fills `duplicates.fuzzy_rate`: every delivered record's
//! identifying fields, as sent and as the target holds them, are kept (normalised, a few short
//! strings per record) and paired by the same engine as `syncproof dupes`. A target pair counts
//! only when its two records carry different external ids (same-id copies are exact duplicates)
//! and the two source records were not already near-duplicates (that is the data's, not the
//! integration's). *Known exception to bounded memory*, like the lost-index set: the census
//! grows with the number of delivered records until the run ends.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{DEFAULT_THRESHOLD, Person, Roles, find_pairs};
use crate::generate::Record;
use crate::replay::TargetCopy;
use crate::shape::{FieldKind, Shape};

/// What the census found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FuzzyCounts {
    /// Near-duplicate pairs among the delivered records as the source sent them.
    pub source_pairs: u64,
    /// Near-duplicate pairs among the target's records with different external ids, excluding
    /// those the source already had.
    pub target_pairs: u64,
    /// Target records that are the later member of such a pair: the extra records.
    pub extra_records: u64,
}

/// Identifying fields of the delivered records, source and target side.
#[derive(Debug, Clone)]
pub struct NearDuplicates {
    roles: Roles,
    names: Vec<String>,
    source: Vec<(u64, Person)>,
    target: Vec<(u64, Person)>,
}

impl NearDuplicates {
    pub fn new(shape: &Shape) -> NearDuplicates {
        let mut roles = Roles::default();
        for (i, f) in shape.fields().iter().enumerate() {
            let slot = match f.kind {
                FieldKind::FirstName => &mut roles.first_name,
                FieldKind::LastName => &mut roles.last_name,
                FieldKind::Email => &mut roles.email,
                FieldKind::Phone => &mut roles.phone,
                FieldKind::Company => &mut roles.company,
                _ => continue,
            };
            slot.get_or_insert(i);
        }
        NearDuplicates {
            roles,
            names: shape.field_names(),
            source: Vec::new(),
            target: Vec::new(),
        }
    }

    /// Adds one delivered record and every copy the target holds of it.
    pub fn add(&mut self, source: &Record, copies: &[TargetCopy]) {
        if self.roles.is_empty() || copies.is_empty() {
            return;
        }
        self.source
            .push((source.idx, Person::from_row(&source.values, &self.roles)));
        for copy in copies {
            let row: Vec<Option<&str>> = self.names.iter().map(|n| copy.get(n)).collect();
            self.target
                .push((source.idx, Person::from_row(&row, &self.roles)));
        }
    }

    /// Pairs everything added, at the default threshold.
    pub fn count(&self) -> FuzzyCounts {
        let people =
            |side: &[(u64, Person)]| side.iter().map(|(_, p)| p.clone()).collect::<Vec<_>>();
        let key = |a: u64, b: u64| (a.min(b), a.max(b));
        let source_pairs: BTreeSet<(u64, u64)> =
            find_pairs(&people(&self.source), DEFAULT_THRESHOLD)
                .iter()
                .map(|p| {
                    key(
                        self.source[p.left as usize].0,
                        self.source[p.right as usize].0,
                    )
                })
                .collect();
        let mut target_pairs = 0;
        let mut extra = BTreeSet::new();
        for p in find_pairs(&people(&self.target), DEFAULT_THRESHOLD) {
            let (a, b) = (
                self.target[p.left as usize].0,
                self.target[p.right as usize].0,
            );
            if a == b || source_pairs.contains(&key(a, b)) {
                continue;
            }
            target_pairs += 1;
            extra.insert(p.right);
        }
        FuzzyCounts {
            source_pairs: source_pairs.len() as u64,
            target_pairs,
            extra_records: extra.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn record(shape: &Shape, idx: u64, values: &[(&str, &str)]) -> Record {
        Record {
            idx,
            external_id: format!("x{idx}"),
            values: shape
                .fields()
                .iter()
                .map(|f| {
                    values
                        .iter()
                        .find(|(n, _)| *n == f.name)
                        .map(|(_, v)| v.to_string())
                })
                .collect(),
            defects: Vec::new(),
            ..Record::default()
        }
    }

    fn copy(r: &Record, shape: &Shape, edit: &[(&str, &str)]) -> TargetCopy {
        let mut properties: BTreeMap<String, Option<String>> = shape
            .fields()
            .iter()
            .zip(&r.values)
            .map(|(f, v)| (f.name.clone(), v.clone()))
            .collect();
        for (n, v) in edit {
            properties.insert(n.to_string(), Some(v.to_string()));
        }
        TargetCopy {
            object_id: r.idx,
            properties,
        }
    }

    #[test]
    fn integration_made_near_duplicates_count_and_source_ones_do_not() {
        let shape = Shape::demo();
        let jane = [
            ("firstname", "Jane"),
            ("lastname", "Doe"),
            ("email", "jane.doe@acme.com"),
            ("phone", "+1 415 555 0132"),
            ("company", "Acme"),
        ];
        let mut jane_again = jane;
        jane_again[1] = ("lastname", "Deo");
        let omar = [
            ("firstname", "Omar"),
            ("lastname", "Haddad"),
            ("email", "omar@globex.com"),
            ("phone", "+44 20 7946 0000"),
            ("company", "Globex"),
        ];
        let yuki = [
            ("firstname", "Yuki"),
            ("lastname", "Tanaka"),
            ("email", "yuki@initech.jp"),
            ("phone", "+81 3 1234 5678"),
            ("company", "Initech"),
        ];
        let records = [
            record(&shape, 0, &jane),
            record(&shape, 1, &jane_again), // already a near-duplicate in the source
            record(&shape, 2, &omar),
            record(&shape, 3, &yuki),
        ];
        let mut census = NearDuplicates::new(&shape);
        for r in &records[..3] {
            // Record 2 written twice under its own id: an exact duplicate, not a fuzzy one.
            let copies = if r.idx == 2 {
                vec![copy(r, &shape, &[]), copy(r, &shape, &[])]
            } else {
                vec![copy(r, &shape, &[])]
            };
            census.add(r, &copies);
        }
        // The integration overwrote Yuki's record with Omar's details.
        census.add(&records[3], &[copy(&records[3], &shape, &omar)]);
        let counts = census.count();
        assert_eq!(
            counts,
            FuzzyCounts {
                source_pairs: 1,
                target_pairs: 2,
                extra_records: 1
            }
        );
    }
}
