//! [`Generator`]: (shape, seed, object, index) → [`Record`], with the defects it injected as
//! labels and, for near-duplicates, the row it duplicates.
//!
//! Each row draws from its own random stream, seeded from (seed, object, index); defects draw
//! from a second stream, so a defect never shifts the values of the fields after it. A row's
//! company and domain come from its owner's row (a contact works at its company), which is
//! regenerated, not looked up.

use std::sync::Arc;

use rand::{Rng, RngCore};

use super::defects;
use super::layout;
use super::values::{self, Person};
use crate::shape::{FieldKind, Layout, ObjectShape, Params, Shape};

/// One synthetic row: its index, its stable external id, one value per field of its object
/// (`None` = absent in the source), the labels of the defects injected into it, and for a
/// near-duplicate the external id of the row it duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub idx: u64,
    pub external_id: String,
    pub values: Vec<Option<String>>,
    pub defects: Vec<String>,
    pub dup_of: Option<String>,
}

/// Makes rows of one object from a shape and a seed. Cheap to clone; holds no per-row state.
#[derive(Debug, Clone)]
pub struct Generator {
    shape: Arc<Shape>,
    seed: u64,
    seed_tag: u32,
    object: usize,
    /// `<id_prefix>-<seed tag>-` per object: the external id's head, formatted once.
    id_heads: Arc<[String]>,
}

impl Generator {
    /// Rows of the shape's root object (contacts): what replay sends.
    pub fn new(shape: Arc<Shape>, seed: u64) -> Generator {
        let root = shape.root;
        Generator::for_object(shape, seed, root)
    }

    /// Rows of object number `object` of the shape.
    pub fn for_object(shape: Arc<Shape>, seed: u64, object: usize) -> Generator {
        assert!(object < shape.objects.len(), "object index out of range");
        let seed_tag = (splitmix64(seed) >> 32) as u32;
        let id_heads = shape
            .objects
            .iter()
            .map(|o| format!("{}-{seed_tag:08x}-", o.id_prefix))
            .collect();
        Generator {
            seed_tag,
            shape,
            seed,
            object,
            id_heads,
        }
    }

    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    pub fn shape_arc(&self) -> &Arc<Shape> {
        &self.shape
    }

    /// The object this generator makes rows of.
    pub fn object(&self) -> &ObjectShape {
        &self.shape.objects[self.object]
    }

    pub fn object_index(&self) -> usize {
        self.object
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The external id of row `idx`: unique per (object, seed, index), stable across runs.
    pub fn external_id(&self, idx: u64) -> String {
        self.id_of(self.object, idx)
    }

    /// The external id of row `idx` of object number `object`.
    pub fn id_of(&self, object: usize, idx: u64) -> String {
        format!(
            "{}-{:08x}-{idx}",
            self.shape.objects[object].id_prefix, self.seed_tag
        )
    }

    /// Row `idx`. The same (shape, seed, object, idx) always gives the same row.
    pub fn record(&self, idx: u64) -> Record {
        let mut record = Record::default();
        self.record_into(idx, &mut record);
        record
    }

    /// Row `idx`, written over `record` and reusing its buffers: the same row as
    /// [`record`](Self::record), without an allocation per value.
    pub fn record_into(&self, idx: u64, record: &mut Record) {
        record.idx = idx;
        record.external_id.clear();
        self.id_into(self.object, idx, &mut record.external_id);
        record.defects.clear();
        record.dup_of = None;
        self.clean_into(idx, &mut record.values, &mut record.defects);
        let mut rng = self.rng(idx, 0x00de_fec7);
        defects::inject(self, record, &mut rng);
    }

    fn id_into(&self, object: usize, idx: u64, out: &mut String) {
        out.push_str(&self.id_heads[object]);
        push_decimal(out, idx);
    }

    /// Row `idx` before defects: values with their nulls and blanks, and the gap labels.
    pub(crate) fn clean(&self, idx: u64) -> (Vec<Option<String>>, Vec<String>) {
        let (mut values, mut labels) = (Vec::new(), Vec::new());
        self.clean_into(idx, &mut values, &mut labels);
        (values, labels)
    }

    fn clean_into(&self, idx: u64, out: &mut Vec<Option<String>>, labels: &mut Vec<String>) {
        let object = self.object();
        let (mut rng, person) = self.start_row(idx);
        out.resize(object.fields.len(), None);
        for (field, slot) in object.fields.iter().zip(out.iter_mut()) {
            // Every field draws the same number of values whatever its outcome, so one field's
            // gap does not shift the values of the fields after it.
            let gap = rng.random::<f64>();
            // A slot emptied by a gap gets a buffer that fits most values at once, rather
            // than growing it byte by byte through several reallocations.
            let value = slot.get_or_insert_with(|| String::with_capacity(32));
            value.clear();
            values::make_into(field, &person, &mut rng, value);
            match (&field.params, field.kind) {
                (Params::Reference { target, .. }, _) => {
                    let row = self.resolve(*target, idx, &mut rng);
                    self.id_into(*target, row, value);
                }
                (_, FieldKind::ExternalId) => self.id_into(self.object, idx, value),
                (_, FieldKind::Uuid) => value.push_str(&uuid(self.seed, self.object, idx)),
                _ => {}
            }
            if field.unique {
                *value = unique(field.kind, &field.params, std::mem::take(value), idx);
            }
            if gap < field.null_rate {
                labels.push(format!("blank:{}", field.name));
                *slot = None;
            } else if gap < field.null_rate + field.blank_rate {
                labels.push(format!("empty:{}", field.name));
                value.clear();
            }
        }
        // Fields that depend on another field's value are drawn again once every field is
        // made (the one they depend on may come later), from the rest of the row's stream.
        for (i, field) in object.fields.iter().enumerate() {
            let Some(given) = &field.given else { continue };
            let filled = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
            if !filled(&out[i]) || !filled(&out[given.field]) {
                continue;
            }
            let parent = &object.fields[given.field];
            let Some(table) = out[given.field]
                .as_deref()
                .and_then(|v| crate::shape::given_key(parent.kind, v))
                .and_then(|key| given.case(&key))
            else {
                continue;
            };
            if let Some(value) = out[i].as_mut() {
                value.clear();
                values::given_into(field, table, &mut rng, value);
            }
        }
    }

    /// The random stream of row `idx` and its person, who works at the owner's company (a
    /// contact at its company; a deal is with its company).
    fn start_row(&self, idx: u64) -> (RowRng, Person) {
        let (rng, mut person) = self.start(self.object, idx);
        if let Some((o, i)) = layout::owner_of(&self.shape, self.seed, self.object, idx) {
            let (_, owner_person) = self.start(o, i);
            person.company = owner_person.company;
            person.domain = owner_person.domain;
        }
        (rng, person)
    }

    /// The person row `idx` starts from (names, locale, company).
    pub(crate) fn person(&self, idx: u64) -> Person {
        self.start_row(idx).1
    }

    /// The row of `target` that row `idx` of this object refers to: its owner, an owner further
    /// up, or (from under the root's parent) one of the parent's root rows.
    fn resolve(&self, target: usize, idx: u64, rng: &mut RowRng) -> u64 {
        let draw = rng.random::<u64>();
        let (mut object, mut row) = (self.object, idx);
        while let Some((o, r)) = layout::owner_of(&self.shape, self.seed, object, row) {
            (object, row) = (o, r);
            if object == target {
                return row;
            }
        }
        // `object` is now the root's parent (validated): pick one of the rows it owns.
        debug_assert_eq!(self.shape.objects[object].layout, Layout::ParentOfRoot);
        let (first, count) = layout::root_rows_of_parent(&self.shape, self.seed, row);
        first + draw % count
    }

    /// The random stream of row `idx` of `object` and the person it starts with.
    fn start(&self, object: usize, idx: u64) -> (RowRng, Person) {
        let mut rng = self.rng_of(object, idx, 0);
        let shape = &*self.shape;
        let draw = rng.random::<f64>();
        let locale = shape
            .locales
            .iter()
            .find(|(_, cum)| draw < *cum)
            .unwrap_or(&shape.locales[shape.locales.len() - 1])
            .0;
        let person = Person::new(locale, &mut rng);
        (rng, person)
    }

    pub(crate) fn rng(&self, idx: u64, stream: u64) -> RowRng {
        self.rng_of(self.object, idx, stream)
    }

    fn rng_of(&self, object: usize, idx: u64, stream: u64) -> RowRng {
        let object_salt = splitmix64((object as u64) << 32 ^ stream);
        RowRng(splitmix64(
            self.seed ^ splitmix64(idx ^ 0x5eed) ^ object_salt,
        ))
    }
}

/// Appends `n` in decimal, as `Display` spells it, without the formatting machinery (a row
/// spells several numbers; `write!` costs more than the digits).
pub(crate) fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits pushed as chars: no UTF-8 validation of a buffer known to be ASCII.
    out.extend(digits[at..].iter().map(|&b| char::from(b)));
}

/// Makes a value unique by construction, from the row index.
pub(crate) fn unique(kind: FieldKind, params: &Params, value: String, idx: u64) -> String {
    match kind {
        FieldKind::Email => match value.split_once('@') {
            Some((local, domain)) => format!("{local}.{idx}@{domain}"),
            None => format!("{value}.{idx}"),
        },
        FieldKind::Domain => match value.split_once('.') {
            Some((name, tld)) => format!("{name}{idx}.{tld}"),
            None => format!("{value}{idx}"),
        },
        FieldKind::Url => match value.split_once("www.") {
            Some((scheme, rest)) => match rest.split_once('.') {
                Some((name, tld)) => format!("{scheme}www.{name}{idx}.{tld}"),
                None => format!("{value}{idx}"),
            },
            None => format!("{value}/{idx}"),
        },
        FieldKind::Company => format!("{value} {idx}"),
        FieldKind::Integer => {
            let min = match params {
                Params::Number {
                    dist: crate::shape::NumberDist::Uniform { min, .. },
                    ..
                } => *min as i64,
                _ => 0,
            };
            (min + idx as i64).to_string()
        }
        // uuid and external ids are unique already.
        _ => value,
    }
}

/// A version-4-style UUID whose low 62 bits are a bijection of the row index: unique per object
/// and seed without any bookkeeping.
fn uuid(seed: u64, object: usize, idx: u64) -> String {
    const M62: u64 = (1 << 62) - 1;
    let mut x = (idx ^ splitmix64(seed ^ object as u64)) & M62;
    x = x.wrapping_mul(0x9e37_79b9_7f4a_7c15) & M62;
    x ^= x >> 31;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9) & M62;
    x ^= x >> 29;
    let lo = x | (0b10 << 62);
    let hi = (splitmix64(seed ^ idx ^ 0x0bad) & !0xf000) | 0x4000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// A row's random stream: SplitMix64 over a per-row state. Tiny and fast (a row draws a few dozen
/// numbers, so seeding cost matters more than period), passes BigCrush, and is defined here so
/// the data cannot change under a dependency upgrade.
#[derive(Debug, Clone)]
pub(crate) struct RowRng(u64);

impl RngCore for RowRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
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

/// A uniform draw in `[0, 1)` from 64 random bits.
pub(crate) fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
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
            prop_assert_eq!(a.values.len(), Shape::demo().fields().len());
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
    fn external_ids_are_spelt_prefix_tag_index() {
        let g = generator(9);
        let mut out = String::new();
        for idx in [0, 7, 10, 999, 1_000_000, u64::MAX] {
            out.clear();
            g.id_into(g.object_index(), idx, &mut out);
            assert_eq!(out, g.external_id(idx));
            assert_eq!(out, format!("sp-{:08x}-{idx}", g.seed_tag));
        }
    }

    #[test]
    fn uuids_are_unique_and_well_formed() {
        let ids: std::collections::HashSet<_> = (0..20_000).map(|i| uuid(3, 1, i)).collect();
        assert_eq!(ids.len(), 20_000);
        let u = uuid(3, 1, 5);
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
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
            .fields()
            .iter()
            .position(|f| f.name == "phone")
            .unwrap();
        for i in 0..n {
            let r = g.record(i);
            if r.values[phone].is_none() {
                phone_blank += 1;
                assert!(r.defects.contains(&"blank:phone".to_string()));
            }
            if r.defects.iter().any(|d| d.starts_with("email_uppercase:")) {
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
