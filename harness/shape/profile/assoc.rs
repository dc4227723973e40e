//! The strongest column-pair associations of an export (country ↔ phone format, country ↔
//! stage, industry ↔ plan), kept as conditional distributions so the twin keeps them. Columns
//! are compared as categories: an enum's values (rare ones as `(other)`), a boolean's
//! true/false, a phone's spelling or a postal code's format with its digits masked; only values and spellings the shape
//! already carries take part. Strength is the bias-corrected Cramér's V (Bergsma 2013) of the
//! contingency table over a uniform sample of rows ([`super::learn::ROW_SAMPLE`]), so memory is
//! bounded whatever the export's length. Each column depends on at most one other, which
//! depends on none; a combination of two values enters the shape only if at least `k` sampled
//! rows hold it.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use super::habits::{self, learn};
use super::learn::ObjectProfile;
use super::write::OTHER;
use crate::shape::FieldKind;

/// Associations kept per object at most.
pub const MAX_ASSOCIATIONS: usize = 8;
/// Bias-corrected Cramér's V at or above which a pair is kept.
pub const MIN_STRENGTH: f64 = 0.2;
/// Sampled rows holding both columns needed to judge a pair.
const MIN_ROWS: u64 = 50;
/// Categorical columns compared at most (the first ones in column order).
const MAX_COLUMNS: usize = 40;

/// `child`'s distribution per value of `parent` (columns of one object).
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    pub parent: usize,
    pub child: usize,
    /// Bias-corrected Cramér's V.
    pub strength: f64,
    /// Sampled rows holding both columns.
    pub rows: u64,
    /// Per parent value: child values with their sampled counts, most frequent first.
    pub cases: Vec<(String, Vec<(String, u64)>)>,
    /// Sampled rows whose combination occurs fewer than `k` times (left out).
    pub withheld: u64,
}

/// How a column is read as a category; `None` when it is not one the shape can condition on.
enum Reader {
    Enum,
    Boolean,
    Phone(HashSet<String>),
    /// Postal code formats: only ever the dependent column (the twin draws them from a template).
    Postal(HashSet<String>),
}

fn reader(object: &ObjectProfile, i: usize, k: u64) -> Option<Reader> {
    match object.kinds[i].kind {
        FieldKind::Enum => Some(Reader::Enum),
        FieldKind::Boolean => Some(Reader::Boolean),
        FieldKind::Phone => {
            let c = &object.columns[i];
            let kept = learn(
                c.reservoir.iter().map(String::as_str),
                k,
                habits::phone_template,
            );
            (!kept.is_empty())
                .then(|| Reader::Phone(kept.kept.into_iter().map(|(t, _)| t).collect()))
        }
        FieldKind::PostalCode => {
            let c = &object.columns[i];
            let kept = learn(
                c.reservoir.iter().map(String::as_str),
                k,
                habits::postal_template,
            );
            (!kept.is_empty())
                .then(|| Reader::Postal(kept.kept.into_iter().map(|(t, _)| t).collect()))
        }
        _ => None,
    }
}

/// The category of one cell, as the shape spells it.
fn key(object: &ObjectProfile, i: usize, r: &Reader, k: u64, v: &str) -> Option<String> {
    if v.trim().is_empty() {
        return None;
    }
    match r {
        Reader::Enum => {
            let n = object.columns[i].counts.get(v).copied().unwrap_or(0);
            Some(if n >= k { v.to_string() } else { OTHER.into() })
        }
        Reader::Boolean => crate::shape::given_key(FieldKind::Boolean, v),
        Reader::Phone(kept) => habits::phone_template(v).filter(|t| kept.contains(t)),
        Reader::Postal(kept) => habits::postal_template(v).filter(|t| kept.contains(t)),
    }
}

/// Counts of each pair of categories (as codes into the columns' dictionaries).
pub type Contingency = HashMap<(u32, u32), u64>;

/// Bias-corrected Cramér's V of a contingency table of `n` rows.
pub fn cramers_v<K: Hash + Eq + Clone>(table: &HashMap<(K, K), u64>, n: u64) -> f64 {
    let mut rows: HashMap<&K, u64> = HashMap::new();
    let mut cols: HashMap<&K, u64> = HashMap::new();
    for ((a, b), c) in table {
        *rows.entry(a).or_default() += c;
        *cols.entry(b).or_default() += c;
    }
    let (r, q, n) = (rows.len() as f64, cols.len() as f64, n as f64);
    if r < 2.0 || q < 2.0 || n < 2.0 {
        return 0.0;
    }
    let mut chi2 = 0.0;
    for (a, ra) in &rows {
        for (b, cb) in &cols {
            let expected = *ra as f64 * *cb as f64 / n;
            let observed = table
                .get(&((*a).clone(), (*b).clone()))
                .copied()
                .unwrap_or(0) as f64;
            chi2 += (observed - expected).powi(2) / expected;
        }
    }
    let phi2 = (chi2 / n - (q - 1.0) * (r - 1.0) / (n - 1.0)).max(0.0);
    let rc = r - (r - 1.0).powi(2) / (n - 1.0);
    let qc = q - (q - 1.0).powi(2) / (n - 1.0);
    let denominator = (rc - 1.0).min(qc - 1.0);
    if denominator <= 0.0 {
        0.0
    } else {
        (phi2 / denominator).sqrt().min(1.0)
    }
}

/// The object's strongest associations, at most [`MAX_ASSOCIATIONS`]. `skip` marks columns
/// that are not fields of their own (references).
pub fn associations(object: &ObjectProfile, k: u64, skip: &[usize]) -> Vec<Association> {
    let k = k.max(1);
    let readers: Vec<(usize, Reader)> = (0..object.columns.len())
        .filter(|i| !skip.contains(i))
        .filter_map(|i| reader(object, i, k).map(|r| (i, r)))
        .take(MAX_COLUMNS)
        .collect();
    // Each sampled row's categories, per candidate column, as codes into a dictionary per
    // column: pairs are counted on integers, not strings.
    let mut dicts: Vec<Vec<String>> = vec![Vec::new(); readers.len()];
    let mut lookup: Vec<HashMap<String, u32>> = vec![HashMap::new(); readers.len()];
    let codes: Vec<Vec<Option<u32>>> = object
        .rows_sample
        .iter()
        .map(|row| {
            readers
                .iter()
                .enumerate()
                .map(|(u, (i, r))| {
                    let v = row.get(*i)?.as_deref()?;
                    let key = key(object, *i, r, k, v)?;
                    let next = dicts[u].len() as u32;
                    let code = *lookup[u].entry(key.clone()).or_insert(next);
                    if code == next {
                        dicts[u].push(key);
                    }
                    Some(code)
                })
                .collect()
        })
        .collect();
    // (strength, column a, column b, rows holding both, their contingency table)
    let mut found: Vec<(f64, usize, usize, u64, Contingency)> = Vec::new();
    for a in 0..readers.len() {
        for b in a + 1..readers.len() {
            let mut table = Contingency::new();
            let mut n = 0;
            for row in &codes {
                if let (Some(x), Some(y)) = (row[a], row[b]) {
                    *table.entry((x, y)).or_default() += 1;
                    n += 1;
                }
            }
            if n < MIN_ROWS {
                continue;
            }
            let v = cramers_v(&table, n);
            if v >= MIN_STRENGTH {
                found.push((v, a, b, n, table));
            }
        }
    }
    found.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
    // 0: free, 1: a parent, 2: a child.
    let mut role = vec![0u8; readers.len()];
    let mut out = Vec::new();
    for (v, a, b, n, table) in found {
        if out.len() >= MAX_ASSOCIATIONS {
            break;
        }
        let distinct = |side: usize| {
            table
                .keys()
                .map(|(x, y)| if side == a { x } else { y })
                .collect::<HashSet<_>>()
                .len()
        };
        let can_child = |u: usize| !matches!(readers[u].1, Reader::Boolean) && role[u] == 0;
        let can_parent = |u: usize| role[u] != 2 && !matches!(readers[u].1, Reader::Postal(_));
        // The column with more categories depends on the one with fewer (phone spelling on
        // country), else the other way round when only that is possible.
        // On a tie an enum or boolean leads a phone or postal code format (country → format).
        let rank = |u: usize| {
            (
                distinct(u),
                matches!(readers[u].1, Reader::Phone(_) | Reader::Postal(_)),
            )
        };
        let (mut parent, mut child) = if rank(a) <= rank(b) { (a, b) } else { (b, a) };
        if !(can_child(child) && can_parent(parent)) {
            (parent, child) = (child, parent);
            if !(can_child(child) && can_parent(parent)) {
                continue;
            }
        }
        role[parent] = 1;
        role[child] = 2;
        let mut per: HashMap<&str, Vec<(String, u64)>> = HashMap::new();
        for ((x, y), c) in &table {
            let (p, ch) = if parent == a { (x, y) } else { (y, x) };
            per.entry(dicts[parent][*p as usize].as_str())
                .or_default()
                .push((dicts[child][*ch as usize].clone(), *c));
        }
        let mut withheld = 0;
        let mut cases: Vec<(String, Vec<(String, u64)>)> = Vec::new();
        for (p, values) in per {
            let (kept, rare): (Vec<_>, Vec<_>) = values.into_iter().partition(|(_, c)| *c >= k);
            withheld += rare.iter().map(|(_, c)| c).sum::<u64>();
            if kept.is_empty() {
                continue;
            }
            let mut kept = kept;
            kept.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            cases.push((p.to_string(), kept));
        }
        if cases.is_empty() {
            continue;
        }
        cases.sort_by(|x, y| {
            let total = |c: &[(String, u64)]| c.iter().map(|(_, n)| n).sum::<u64>();
            total(&y.1).cmp(&total(&x.1)).then(x.0.cmp(&y.0))
        });
        out.push(Association {
            parent: readers[parent].0,
            child: readers[child].0,
            strength: v,
            rows: n,
            cases,
            withheld,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(cells: &[(&str, &str, u64)]) -> (HashMap<(String, String), u64>, u64) {
        let t: HashMap<(String, String), u64> = cells
            .iter()
            .map(|(a, b, c)| ((a.to_string(), b.to_string()), *c))
            .collect();
        let n = t.values().sum();
        (t, n)
    }

    #[test]
    fn cramers_v_is_one_for_a_function_and_near_zero_for_independence() {
        let (t, n) = table(&[("US", "a", 500), ("DE", "b", 300), ("FR", "c", 200)]);
        assert!(
            (cramers_v(&t, n) - 1.0).abs() < 0.01,
            "{}",
            cramers_v(&t, n)
        );
        let (t, n) = table(&[
            ("US", "a", 250),
            ("US", "b", 250),
            ("DE", "a", 150),
            ("DE", "b", 150),
        ]);
        assert!(cramers_v(&t, n) < 0.01, "{}", cramers_v(&t, n));
        let (t, n) = table(&[("US", "a", 10)]);
        assert_eq!(cramers_v(&t, n), 0.0);
    }
}
