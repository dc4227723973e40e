//! [`Generator`]: (shape, seed, index) → [`Record`], with the defects it injected as labels.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::values::{self, Person};
use crate::shape::{FieldKind, Shape};

/// One synthetic record: its index, its stable external id, one value per shape field (`None`
/// = empty in the source) and the labels of the defects injected into it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub idx: u64,
    pub external_id: String,
    pub values: Vec<Option<String>>,
    pub defects: Vec<String>,
}

/// Makes records from a shape and a seed. Cheap to clone; holds no per-record state.
#[derive(Debug, Clone)]
pub struct Generator {
    shape: Arc<Shape>,
    seed: u64,
    seed_tag: u32,
}

impl Generator {
    pub fn new(shape: Arc<Shape>, seed: u64) -> Generator {
        Generator {
            seed_tag: (splitmix64(seed) >> 32) as u32,
            shape,
            seed,
        }
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The external id of record `idx`: unique per (seed, index), stable across runs.
    pub fn external_id(&self, idx: u64) -> String {
        format!("{}-{:08x}-{idx}", self.shape.id_prefix, self.seed_tag)
    }

    /// Record `idx`. The same (shape, seed, idx) always gives the same record.
    pub fn record(&self, idx: u64) -> Record {
        let mut rng = ChaCha8Rng::seed_from_u64(splitmix64(self.seed ^ splitmix64(idx ^ 0x5eed)));
        let shape = &*self.shape;
        let draw = rng.random::<f64>();
        let locale = shape
            .locales
            .iter()
            .find(|(_, cum)| draw < *cum)
            .unwrap_or(&shape.locales[shape.locales.len() - 1])
            .0;
        let person = Person::new(locale, &mut rng);
        let mut defects = Vec::new();
        let mut out = Vec::with_capacity(shape.fields.len());
        for field in &shape.fields {
            // Every field draws the same number of random values whatever its outcome, so one
            // field's null does not shift the values of the fields after it.
            let is_null = rng.random::<f64>() < field.null_rate;
            let labels_before = defects.len();
            let mut value = values::make(field, &person, &mut rng);
            match field.kind {
                FieldKind::Email => {
                    let (invalid, upper) = (rng.random::<f64>(), rng.random::<f64>());
                    if invalid < shape.defects.invalid_email {
                        value = value.replacen('@', "", 1);
                        defects.push("invalid_email".to_string());
                    }
                    if upper < shape.defects.email_uppercase {
                        value = value.to_uppercase();
                        defects.push("email_uppercase".to_string());
                    }
                }
                FieldKind::FirstName if rng.random::<f64>() < shape.defects.name_padded => {
                    value = format!("  {value} ");
                    defects.push("name_padded".to_string());
                }
                _ => {}
            }
            if is_null {
                // A blank value carries no value defect, only the gap.
                defects.truncate(labels_before);
                defects.push(format!("blank:{}", field.name));
                out.push(None);
            } else {
                out.push(Some(value));
            }
        }
        Record {
            idx,
            external_id: self.external_id(idx),
            values: out,
            defects,
        }
    }
}

/// SplitMix64: spreads nearby seeds and indices over the whole 64-bit space.
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn generator(seed: u64) -> Generator {
        Generator::new(Arc::new(Shape::demo()), seed)
    }

    proptest! {
        #[test]
        fn records_are_a_pure_function_of_seed_and_index(seed in any::<u64>(), idx in 0u64..1_000_000) {
            let a = generator(seed).record(idx);
            let b = generator(seed).record(idx);
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(a.values.len(), Shape::demo().fields.len());
        }
    }

    #[test]
    fn external_ids_are_unique_and_seed_specific() {
        let g = generator(42);
        let ids: std::collections::HashSet<_> = (0..10_000).map(|i| g.external_id(i)).collect();
        assert_eq!(ids.len(), 10_000);
        assert_ne!(generator(42).external_id(7), generator(43).external_id(7));
    }

    #[test]
    fn defect_and_gap_rates_follow_the_shape() {
        let g = generator(7);
        let n = 20_000;
        let mut phone_blank = 0;
        let mut upper = 0;
        let mut non_ascii = 0;
        let phone = g
            .shape()
            .fields
            .iter()
            .position(|f| f.name == "phone")
            .unwrap();
        for i in 0..n {
            let r = g.record(i);
            if r.values[phone].is_none() {
                phone_blank += 1;
                assert!(r.defects.contains(&"blank:phone".to_string()));
            }
            if r.defects.iter().any(|d| d == "email_uppercase") {
                upper += 1;
            }
            if r.values[0].as_deref().is_some_and(|v| !v.is_ascii()) {
                non_ascii += 1;
            }
        }
        // Binomial tolerance: 5 standard deviations around the shape's rate.
        let within = |count: u64, p: f64| {
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            (count as f64 - n as f64 * p).abs() <= 5.0 * sd
        };
        assert!(within(phone_blank, 0.04), "phone blank {phone_blank}");
        assert!(within(upper, 0.03 * 0.99), "uppercase {upper}");
        assert!(non_ascii > n / 20, "non-ASCII first names: {non_ascii}");
    }
}
