//! The scorecard: per-record judgements folded into counts, bounded in memory (one counter set
//! per field). The definitions (DESIGN.md, "What a run leaves behind"):
//!
//! - completeness(f) = delivered records whose source `f` and target `f` are both non-empty ÷
//!   delivered records whose source `f` is non-empty (a source gap is the data's fault);
//! - accuracy(f) = of the same denominator, those whose target value equals the source value
//!   under `f`'s comparator; a value cut short is also counted as *truncated*;
//! - exact duplicates = target records carrying an external id − distinct external ids found;
//! - validity (see [`super::validity`]): of delivered records whose source `f` is valid, those
//!   whose target `f` is valid too (what the integration caused); and, separately, of delivered
//!   records, those whose source `f` is valid (what the source data already carried).

use serde::Serialize;

use super::equal;
use super::validity::{check, is_required};
use crate::generate::Record;
use crate::replay::TargetCopy;
use crate::shape::{FieldSpec, Shape};

/// Counts for one field.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FieldScore {
    pub name: String,
    /// Delivered records whose source value is non-empty.
    pub source_nonempty: u64,
    /// ... and whose target value is non-empty.
    pub present: u64,
    /// ... and equal under the comparator.
    pub accurate: u64,
    /// Target value a strict prefix of the source value.
    pub truncated: u64,
    /// Delivered records whose source value was judged for validity (non-empty, or required).
    pub source_judged: u64,
    /// ... and was invalid (the source data carried it).
    pub source_invalid: u64,
    /// Delivered records with a valid source value: the integration's validity denominator.
    pub target_judged: u64,
    /// ... whose target value is invalid: caused by the integration.
    pub target_invalid: u64,
    /// Source value invalid and the target value invalid as well (carried through).
    pub invalid_carried: u64,
}

impl FieldScore {
    pub fn completeness(&self) -> f64 {
        ratio(self.present, self.source_nonempty)
    }

    pub fn accuracy(&self) -> f64 {
        ratio(self.accurate, self.source_nonempty)
    }

    fn judge_validity(&mut self, spec: &FieldSpec, sent: Option<&str>, held: Option<&str>) {
        let source = check(spec, sent);
        let target = check(spec, held);
        if sent.is_some_and(|v| !v.trim().is_empty()) || is_required(spec) {
            self.source_judged += 1;
        } else {
            return;
        }
        match (source, target) {
            (Some(_), Some(_)) => {
                self.source_invalid += 1;
                self.invalid_carried += 1;
            }
            (Some(_), None) => self.source_invalid += 1,
            (None, invalid) => {
                self.target_judged += 1;
                if invalid.is_some() {
                    self.target_invalid += 1;
                }
            }
        }
    }
}

/// The quality of everything reconciled so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scorecard {
    pub fields: Vec<FieldScore>,
    /// Records delivered (seen within the window) and reconciled.
    pub delivered: u64,
    /// Records declared lost that the reconciliation found at the target after all.
    pub late: u64,
    /// Target records carrying one of the sent external ids.
    pub target_copies: u64,
    /// Distinct external ids found at the target.
    pub distinct_found: u64,
    /// Delivered records with more than one copy.
    pub duplicated_records: u64,
    /// The fuzzy-duplicate census, set once reconciliation is over.
    pub fuzzy: super::fuzzy::FuzzyCounts,
}

impl Scorecard {
    pub fn new(shape: &Shape) -> Scorecard {
        Scorecard {
            fields: shape
                .fields()
                .iter()
                .map(|f| FieldScore {
                    name: f.name.clone(),
                    ..FieldScore::default()
                })
                .collect(),
            ..Scorecard::default()
        }
    }

    /// Adds one sent record with the copies the target holds (first written first).
    pub fn add(&mut self, shape: &Shape, source: &Record, copies: &[TargetCopy], delivered: bool) {
        if !copies.is_empty() {
            self.target_copies += copies.len() as u64;
            self.distinct_found += 1;
        }
        if !delivered {
            if !copies.is_empty() {
                self.late += 1;
            }
            return;
        }
        let Some(first) = copies.first() else {
            // Seen during the run, gone at reconciliation: delivered, nothing to compare.
            self.delivered += 1;
            return;
        };
        self.delivered += 1;
        if copies.len() > 1 {
            self.duplicated_records += 1;
        }
        for ((spec, score), value) in shape
            .fields()
            .iter()
            .zip(&mut self.fields)
            .zip(&source.values)
        {
            score.judge_validity(spec, value.as_deref(), first.get(&spec.name));
            let Some(sent) = value.as_deref().filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            score.source_nonempty += 1;
            let Some(held) = first.get(&spec.name).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            score.present += 1;
            if equal(spec.comparator, sent, held) {
                score.accurate += 1;
            } else if held.chars().count() < sent.chars().count() && sent.starts_with(held) {
                score.truncated += 1;
            }
        }
    }

    /// Extra target records per delivered record.
    pub fn exact_duplicate_rate(&self) -> f64 {
        ratio(self.target_copies - self.distinct_found, self.delivered)
    }

    pub fn extra_copies(&self) -> u64 {
        self.target_copies - self.distinct_found
    }

    fn totals(&self) -> (u64, u64, u64) {
        self.fields.iter().fold((0, 0, 0), |(n, p, a), f| {
            (n + f.source_nonempty, p + f.present, a + f.accurate)
        })
    }

    pub fn completeness_overall(&self) -> (u64, u64) {
        let (n, p, _) = self.totals();
        (p, n)
    }

    pub fn accuracy_overall(&self) -> (u64, u64) {
        let (n, _, a) = self.totals();
        (a, n)
    }

    /// (valid target values, judged) over every field: the integration's validity.
    pub fn validity_overall(&self) -> (u64, u64) {
        let n: u64 = self.fields.iter().map(|f| f.target_judged).sum();
        let bad: u64 = self.fields.iter().map(|f| f.target_invalid).sum();
        (n - bad, n)
    }

    /// (valid source values, judged) over every field: what the source data carried.
    pub fn source_validity_overall(&self) -> (u64, u64) {
        let n: u64 = self.fields.iter().map(|f| f.source_judged).sum();
        let bad: u64 = self.fields.iter().map(|f| f.source_invalid).sum();
        (n - bad, n)
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        1.0
    } else {
        num as f64 / den as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use crate::generate::Generator;

    fn copy_of(
        shape: &Shape,
        r: &Record,
        id: u64,
        edit: impl Fn(&str, &str) -> Option<String>,
    ) -> TargetCopy {
        let properties: BTreeMap<String, Option<String>> = shape
            .fields()
            .iter()
            .zip(&r.values)
            .map(|(f, v)| (f.name.clone(), v.as_deref().and_then(|v| edit(&f.name, v))))
            .collect();
        TargetCopy {
            object_id: id,
            properties,
        }
    }

    #[test]
    fn perfect_copies_score_one_and_defects_are_counted_where_they_are() {
        let shape = Shape::demo();
        let g = Generator::new(Arc::new(shape.clone()), 9);
        let mut card = Scorecard::new(&shape);
        for i in 0..100 {
            let r = g.record(i);
            let mut copies = vec![copy_of(&shape, &r, i * 10, |name, v| {
                match (name, i % 10) {
                    ("phone", 0) => None,                                // dropped
                    ("company", 1) => Some(v.chars().take(3).collect()), // truncated
                    ("email", _) => Some(v.to_lowercase()),              // CRM lower-cases
                    _ => Some(v.to_string()),
                }
            })];
            if i % 25 == 0 {
                copies.push(copy_of(&shape, &r, i * 10 + 1, |_, v| Some(v.to_string())));
            }
            card.add(&shape, &r, &copies, i != 99);
        }
        assert_eq!(card.delivered, 99);
        assert_eq!(card.late, 1);
        let phone = card.fields.iter().find(|f| f.name == "phone").unwrap();
        let expected_missing = (0..99)
            .filter(|i| i % 10 == 0 && g.record(*i).values[3].is_some())
            .count() as u64;
        assert_eq!(phone.source_nonempty - phone.present, expected_missing);
        let email = card.fields.iter().find(|f| f.name == "email").unwrap();
        assert_eq!(
            email.accurate, email.source_nonempty,
            "lower-casing is not an error"
        );
        let company = card.fields.iter().find(|f| f.name == "company").unwrap();
        assert!(company.truncated >= 8, "{company:?}");
        assert_eq!(card.extra_copies(), 4);
        assert_eq!(
            card.duplicated_records, 4,
            "records 0, 25, 50 and 75 were written twice"
        );
    }

    #[test]
    fn validity_splits_what_the_source_carried_from_what_the_integration_caused() {
        let mut shape = Shape::demo();
        let root = shape.root;
        shape.objects[root].defects.invalid_email = 0.2;
        let g = Generator::new(Arc::new(shape.clone()), 3);
        let mut card = Scorecard::new(&shape);
        let (mut carried, mut caused) = (0, 0);
        for i in 0..200 {
            let r = g.record(i);
            let source_bad = r.defects.iter().any(|d| d.starts_with("invalid_email"));
            // The integration breaks every 7th phone (drops its country code's `+`) and
            // passes emails through unchanged.
            let copy = copy_of(&shape, &r, i, |name, v| match name {
                "phone" if i % 7 == 0 => Some(v.replace('+', "")),
                _ => Some(v.to_string()),
            });
            let phone = shape
                .fields()
                .iter()
                .position(|f| f.name == "phone")
                .unwrap();
            let is_phone = super::super::validity::is_phone;
            let broken = r.values[phone]
                .as_deref()
                .is_some_and(|v| is_phone(v) && !is_phone(&v.replace('+', "")));
            if i % 7 == 0 && broken {
                caused += 1;
            }
            if source_bad {
                carried += 1;
            }
            card.add(&shape, &r, &[copy], true);
        }
        let email = card.fields.iter().find(|f| f.name == "email").unwrap();
        assert_eq!(email.source_invalid, carried, "{email:?}");
        assert_eq!(email.invalid_carried, carried);
        assert_eq!(email.target_invalid, 0, "the integration broke no email");
        assert!(
            carried > 20,
            "the defect rate makes invalid emails: {carried}"
        );
        let phone = card.fields.iter().find(|f| f.name == "phone").unwrap();
        assert_eq!(phone.target_invalid, caused, "{phone:?}");
        assert_eq!(phone.source_invalid, 0, "the generator writes valid phones");
        let (valid, n) = card.validity_overall();
        assert_eq!(n - valid, caused);
        let (valid, n) = card.source_validity_overall();
        assert_eq!(n - valid, carried);
    }
}
