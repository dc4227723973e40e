//! `profile`'s library entry: streams each export once into bounded column statistics, infers
//! every column's kind, finds relations between files (a column whose values are contained in
//! another file's id column) and decides which object is the root. The result is turned into
//! shape text by `write.rs`.

use std::path::{Path, PathBuf};

use super::column::ColumnStats;
use super::export::{ExportError, stream_export};
use super::infer::{Inferred, infer};
use crate::quality::fuzzy::{self, Roles};
use crate::shape::FieldKind;

/// Rows whose identifying fields are kept (a uniform reservoir) for the near-duplicate census.
pub const PEOPLE_SAMPLE: usize = 20_000;
/// Rows kept (a uniform reservoir) for column-pair associations.
pub const ROW_SAMPLE: usize = 5_000;

/// How `profile` generalises.
#[derive(Debug, Clone, Copy)]
pub struct ProfileOptions {
    /// A category value enters the shape only if it occurs at least this many times.
    pub min_count: u64,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions { min_count: 5 }
    }
}

/// One export file's statistics.
#[derive(Debug, Clone)]
pub struct ObjectProfile {
    pub name: String,
    pub path: PathBuf,
    pub rows: u64,
    pub columns: Vec<ColumnStats>,
    pub kinds: Vec<Inferred>,
    pub warnings: Vec<String>,
    /// The export's own near-duplicate rate, when it has identifying columns.
    pub near_duplicates: Option<NearDuplicateRate>,
    /// A uniform sample of whole rows (at most [`ROW_SAMPLE`]), for column-pair associations.
    pub rows_sample: Vec<Vec<Option<String>>>,
}

/// What the fuzzy near-duplicate engine (`syncproof dupes`'s) found in an export's identifying
/// columns (names, email, phone, company), on a uniform sample of its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct NearDuplicateRate {
    /// Rows sampled and paired.
    pub sampled: u64,
    /// Pairs scoring at or above the engine's threshold in the sample.
    pub pairs: u64,
    /// Sampled rows that are the later member of such a pair: the sample's extra records.
    pub extra: u64,
    /// Estimated share of the export's rows that are a near-duplicate of another row. With the
    /// whole export sampled it is `extra / sampled`; from a sample of `s` of `n` rows a pair
    /// survives with probability about `s / n`, so the sample's share is scaled by `n / s`.
    pub rate: f64,
    /// The identifying columns, by name.
    pub columns: Vec<String>,
}

/// Pairs a sample of people with the fuzzy engine; `rows` is the export's row count.
pub fn near_duplicate_rate(
    people: &[fuzzy::Person],
    rows: u64,
    columns: Vec<String>,
) -> NearDuplicateRate {
    let pairs = fuzzy::find_pairs(people, fuzzy::DEFAULT_THRESHOLD);
    let extra: std::collections::BTreeSet<u32> = pairs.iter().map(|p| p.right).collect();
    let sampled = people.len() as u64;
    let share = extra.len() as f64 / sampled.max(1) as f64;
    let scale = rows.max(sampled) as f64 / sampled.max(1) as f64;
    NearDuplicateRate {
        sampled,
        pairs: pairs.len() as u64,
        extra: extra.len() as u64,
        rate: (share * scale).min(1.0),
        columns,
    }
}

/// The identifying roles the fuzzy engine can pair on: a name, an email or a phone (a company
/// alone never makes a duplicate).
fn identifying(roles: &Roles) -> bool {
    roles.first_name.is_some()
        || roles.last_name.is_some()
        || roles.full_name.is_some()
        || roles.email.is_some()
        || roles.phone.is_some()
}

/// A uniform reservoir of at most `cap` items, deterministic (xorshift seeded per export).
struct Reservoir<T> {
    cap: usize,
    seen: u64,
    items: Vec<T>,
    rng: u64,
}

impl<T> Reservoir<T> {
    fn new(cap: usize, seed: u64) -> Self {
        Reservoir {
            cap,
            seen: 0,
            items: Vec::new(),
            rng: seed | 1,
        }
    }

    /// Offers the next item, made only if it is kept.
    fn offer(&mut self, make: impl FnOnce() -> T) {
        self.seen += 1;
        if self.items.len() < self.cap {
            self.items.push(make());
            return;
        }
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let j = (self.rng % self.seen) as usize;
        if j < self.cap {
            self.items[j] = make();
        }
    }
}

impl ObjectProfile {
    /// The column holding the object's own id (kind external id or UUID, values unique).
    pub fn id_column(&self) -> Option<usize> {
        self.kinds
            .iter()
            .position(|k| matches!(k.kind, FieldKind::ExternalId | FieldKind::Uuid))
            .filter(|i| !self.columns[*i].overflowed)
    }
}

/// `child.columns[column]` holds ids of `parent`: `per_target[n]` parents have `n` children.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub child: usize,
    pub column: usize,
    pub parent: usize,
    pub contained: f64,
    pub per_target: Vec<u64>,
}

/// Everything `profile` learnt.
#[derive(Debug, Clone)]
pub struct Profile {
    pub objects: Vec<ObjectProfile>,
    pub relations: Vec<Relation>,
    pub options: ProfileOptions,
}

/// `contacts.csv` → `contact`, `Companies Export.ndjson` → `companies_export` → `companies_export`.
pub fn object_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("object")
        .to_ascii_lowercase();
    let mut name: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if let Some(base) = name.strip_suffix("ies") {
        name = format!("{base}y");
    } else if name.ends_with('s') && !name.ends_with("ss") {
        name.pop();
    }
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "object_");
    }
    name
}

/// Reads one export into column statistics.
pub fn profile_file(path: &Path, options: ProfileOptions) -> Result<ObjectProfile, ExportError> {
    let mut columns: Vec<ColumnStats> = Vec::new();
    let mut rows = 0u64;
    let mut roles = Roles::default();
    let mut people = Reservoir::new(PEOPLE_SAMPLE, 0x2545_F491_4F6C_DD1D);
    let mut sample = Reservoir::new(ROW_SAMPLE, 0x9E37_79B9_7F4A_7C15);
    let summary = stream_export(path, &mut |names: &[String], cells: &[Option<String>]| {
        if names.len() != columns.len() {
            // NDJSON may name new keys as it goes: the roles follow the columns seen so far.
            roles = Roles::guess(names);
        }
        if identifying(&roles) {
            people.offer(|| fuzzy::Person::from_row(cells, &roles));
        }
        sample.offer(|| cells.to_vec());
        while columns.len() < names.len() {
            let mut c = ColumnStats::new(&names[columns.len()]);
            for _ in 0..rows {
                c.add(None); // NDJSON: the rows before the key first appeared lacked it
            }
            columns.push(c);
        }
        for (i, c) in columns.iter_mut().enumerate() {
            c.add(cells.get(i).and_then(|v| v.as_deref()));
        }
        rows += 1;
    })?;
    let name = object_name(path);
    let kinds = columns
        .iter()
        .map(|c| infer(c, &name, options.min_count))
        .collect();
    let near_duplicates = identifying(&roles).then(|| {
        let r = &roles;
        let named: Vec<String> = [
            r.first_name,
            r.last_name,
            r.full_name,
            r.email,
            r.phone,
            r.company,
        ]
        .into_iter()
        .flatten()
        .filter_map(|i| summary.columns.get(i).cloned())
        .collect();
        near_duplicate_rate(&people.items, rows, named)
    });
    Ok(ObjectProfile {
        warnings: summary.warnings.lines(path),
        name,
        path: path.to_path_buf(),
        rows,
        columns,
        kinds,
        near_duplicates,
        rows_sample: sample.items,
    })
}

/// Profiles every export, then finds the relations between them.
pub fn profile(paths: &[PathBuf], options: ProfileOptions) -> Result<Profile, ExportError> {
    let mut objects = Vec::with_capacity(paths.len());
    for path in paths {
        let mut object = profile_file(path, options)?;
        while objects
            .iter()
            .any(|o: &ObjectProfile| o.name == object.name)
        {
            object.name.push('_');
        }
        objects.push(object);
    }
    let relations = find_relations(&objects);
    Ok(Profile {
        objects,
        relations,
        options,
    })
}

/// Columns whose non-blank values are at least 95% contained in another object's id column.
pub fn find_relations(objects: &[ObjectProfile]) -> Vec<Relation> {
    let mut out = Vec::new();
    for (p, parent) in objects.iter().enumerate() {
        let Some(id) = parent.id_column() else {
            continue;
        };
        let ids = &parent.columns[id].counts;
        for (c, child) in objects.iter().enumerate() {
            if c == p {
                continue;
            }
            for (k, column) in child.columns.iter().enumerate() {
                if Some(k) == child.id_column() || column.overflowed || column.filled() == 0 {
                    continue;
                }
                let inside: u64 = column
                    .counts
                    .iter()
                    .filter(|(v, _)| ids.contains_key(*v))
                    .map(|(_, n)| n)
                    .sum();
                let contained = inside as f64 / column.filled() as f64;
                if contained < 0.95 {
                    continue;
                }
                let mut per_target = Vec::new();
                for parent_id in ids.keys() {
                    let n = column.counts.get(parent_id).copied().unwrap_or(0) as usize;
                    if per_target.len() <= n {
                        per_target.resize(n + 1, 0);
                    }
                    per_target[n] += 1;
                }
                out.push(Relation {
                    child: c,
                    column: k,
                    parent: p,
                    contained,
                    per_target,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_relations() {
        assert_eq!(object_name(Path::new("x/contacts.csv")), "contact");
        assert_eq!(object_name(Path::new("Companies.CSV")), "company");
        assert_eq!(
            object_name(Path::new("2024 deals.ndjson")),
            "object_2024_deal"
        );
        let dir = tempfile::tempdir().unwrap();
        let companies = dir.path().join("companies.csv");
        let contacts = dir.path().join("contacts.csv");
        std::fs::write(&companies, "id,name\nC1,Acme\nC2,Initech\nC3,Hooli\n").unwrap();
        std::fs::write(&contacts, "id,company_id\n1,C1\n2,C1\n3,C2\n").unwrap();
        let p = profile(&[companies, contacts], ProfileOptions::default()).unwrap();
        assert_eq!(p.relations.len(), 1, "{:?}", p.relations);
        let r = &p.relations[0];
        assert_eq!((r.child, r.column, r.parent), (1, 1, 0));
        assert_eq!(r.per_target, vec![1, 1, 1]); // C3 has none, C2 one, C1 two
    }

    /// The row reservoirs keep at most their capacity, spread over the whole stream.
    #[test]
    fn reservoirs_are_bounded_and_uniform() {
        let mut r = Reservoir::new(1_000, 7);
        for i in 0..200_000u64 {
            r.offer(|| i);
        }
        assert_eq!((r.items.len(), r.seen), (1_000, 200_000));
        let mean = r.items.iter().sum::<u64>() as f64 / 1_000.0;
        // Uniform over 0..200,000: mean 100,000, standard error about 1,800.
        assert!((mean - 100_000.0).abs() < 9_000.0, "{mean}");
        assert!(r.items.iter().filter(|i| **i >= 100_000).count() > 400);
    }

    /// From a uniform half of an export the near-duplicate rate is scaled back to the whole:
    /// 3,000 distinct people and 300 near-duplicates (9.1%) are estimated within 3 points.
    #[test]
    fn a_sampled_near_duplicate_rate_is_scaled_to_the_export() {
        let roles = Roles::guess(&["first_name", "last_name", "email", "phone"]);
        let syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "ze", "bi", "do"];
        let mut people = Vec::new();
        for i in 0..3_000usize {
            let last: String = (0..4)
                .map(|k| syllables[(i / 10usize.pow(k)) % 10])
                .collect();
            let row = [
                Some("Ann".to_string()),
                Some(last.clone()),
                Some(format!("ann.{last}@x.com")),
                Some(format!("+1 212 {:07}", i * 31 + 7)),
            ];
            people.push(fuzzy::Person::from_row(&row, &roles));
            if i % 10 == 0 {
                let row = [
                    row[0].clone(),
                    Some(format!("{last}e")),
                    row[2].clone(),
                    row[3].clone(),
                ];
                people.push(fuzzy::Person::from_row(&row, &roles));
            }
        }
        let all = near_duplicate_rate(&people, people.len() as u64, Vec::new());
        assert_eq!((all.extra, all.sampled), (300, 3_300));
        let mut sample = Reservoir::new(people.len() / 2, 42);
        for p in &people {
            sample.offer(|| p.clone());
        }
        let half = near_duplicate_rate(&sample.items, people.len() as u64, Vec::new());
        assert!(half.extra < 120, "{half:?}");
        assert!((half.rate - all.rate).abs() < 0.03, "{half:?} vs {all:?}");
    }

    #[test]
    fn ndjson_keys_that_appear_late_count_earlier_rows_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deals.ndjson");
        std::fs::write(&path, "{\"id\":\"1\"}\n{\"id\":\"2\",\"amount\":10.5}\n").unwrap();
        let o = profile_file(&path, ProfileOptions::default()).unwrap();
        assert_eq!((o.name.as_str(), o.rows), ("deal", 2));
        let amount = &o.columns[1];
        assert_eq!((amount.rows, amount.nulls, amount.filled()), (2, 1, 1));
    }
}
