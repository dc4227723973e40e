//! `syncproof compare REAL SYNTH`: how close a synthetic twin is to the real export, with the
//! metrics SDMetrics defines. Column shapes: 1 − KS statistic for numbers and dates (KSComplement),
//! 1 − total variation distance for categories (TVComplement) and, for personal or high-cardinality
//! text, for their format masks (`Jane` → `Aa`; free text: its word count). Pair trends: 1 − |ρ_real − ρ_synth| / 2 for two
//! numeric columns (CorrelationSimilarity), 1 − TVD of the joint distribution otherwise
//! (ContingencySimilarity, numbers binned at the real deciles). Keys (`id`, `*_id`) are left out,
//! as SDMetrics leaves out primary and foreign keys. Both files are streamed into bounded
//! statistics and a reservoir of rows, so either may be larger than memory.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use super::column::{ColumnStats, mask};
use super::export::{ExportError, stream_export};
use super::infer::{infer, normalise};
use super::learn::object_name;
use super::time::parse_instant;
use crate::shape::FieldKind;

/// Rows kept (uniformly) from each file for pair trends.
const ROW_RESERVOIR: usize = 5_000;
/// Pairs scored at most (the first ones in column order).
const MAX_PAIRS: usize = 45;

/// How a column is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// 1 − KS statistic (numbers, dates).
    #[serde(rename = "ks_complement")]
    Ks,
    /// 1 − TVD of the values.
    #[serde(rename = "tv_complement")]
    Tv,
    /// 1 − TVD of the format masks.
    #[serde(rename = "format_tv_complement")]
    FormatTv,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnScore {
    pub column: String,
    pub kind: String,
    pub metric: Metric,
    /// `None` when the synthetic file lacks the column.
    pub score: Option<f64>,
    /// Categories only: the best score a generaliser at k can reach (1 − share of rows whose value
    /// occurs fewer than k times in the real file).
    pub k_anonymity_ceiling: Option<f64>,
    pub null_rate_real: f64,
    pub null_rate_synth: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PairScore {
    pub columns: [String; 2],
    pub metric: &'static str,
    pub score: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub real: String,
    pub synth: String,
    pub real_rows: u64,
    pub synth_rows: u64,
    pub k: u64,
    /// Mean of the column scores (a missing column scores 0).
    pub column_shapes: f64,
    /// Mean of the pair scores (`None` with fewer than two comparable columns).
    pub pair_trends: Option<f64>,
    pub columns: Vec<ColumnScore>,
    pub pairs: Vec<PairScore>,
    pub skipped: Vec<String>,
}

struct Side {
    columns: Vec<ColumnStats>,
    names: Vec<String>,
    rows: Vec<Vec<Option<String>>>,
    n_rows: u64,
}

fn read(path: &Path) -> Result<Side, ExportError> {
    let mut columns: Vec<ColumnStats> = Vec::new();
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    let mut n_rows = 0u64;
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let summary = stream_export(path, &mut |names: &[String], cells: &[Option<String>]| {
        while columns.len() < names.len() {
            let mut c = ColumnStats::new(&names[columns.len()]);
            for _ in 0..n_rows {
                c.add(None);
            }
            columns.push(c);
        }
        for (i, c) in columns.iter_mut().enumerate() {
            c.add(cells.get(i).and_then(|v| v.as_deref()));
        }
        n_rows += 1;
        if rows.len() < ROW_RESERVOIR {
            rows.push(cells.to_vec());
        } else {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let j = (rng % n_rows) as usize;
            if j < ROW_RESERVOIR {
                rows[j] = cells.to_vec();
            }
        }
    })?;
    Ok(Side {
        columns,
        names: summary.columns,
        rows,
        n_rows,
    })
}

/// The two-sample Kolmogorov–Smirnov statistic.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    if a.is_empty() || b.is_empty() {
        return 1.0;
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// Total variation distance between two count tables.
pub fn tvd<K: std::hash::Hash + Eq>(a: &HashMap<K, u64>, b: &HashMap<K, u64>) -> f64 {
    let (na, nb) = (
        a.values().sum::<u64>() as f64,
        b.values().sum::<u64>() as f64,
    );
    if na == 0.0 || nb == 0.0 {
        return 1.0;
    }
    let mut d = 0.0;
    for (k, x) in a {
        d += (*x as f64 / na - b.get(k).map_or(0.0, |y| *y as f64 / nb)).abs();
    }
    for (k, y) in b {
        if !a.contains_key(k) {
            d += *y as f64 / nb;
        }
    }
    d / 2.0
}

fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    let n = pairs.len() as f64;
    if n < 3.0 {
        return None;
    }
    let (mx, my) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Number,
    Instant,
    Category,
    Format,
}

fn number(class: Class, v: &str) -> Option<f64> {
    match class {
        Class::Number => v.trim().parse().ok(),
        Class::Instant => parse_instant(v).map(|(t, _)| t as f64),
        _ => None,
    }
}

fn category(kind: FieldKind, v: &str) -> String {
    if kind == FieldKind::Boolean {
        match v.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "t" | "1" => "true".into(),
            _ => "false".into(),
        }
    } else {
        v.to_string()
    }
}

/// Compares a real export with a synthetic one; `k` is the generaliser's min count.
pub fn compare(real: &Path, synth: &Path, k: u64) -> Result<Comparison, ExportError> {
    let r = read(real)?;
    let s = read(synth)?;
    let object = object_name(real);
    let mut columns = Vec::new();
    let mut skipped = Vec::new();
    // (real index, synth index, class, kind, real decile edges)
    let mut usable: Vec<(usize, usize, Class, FieldKind)> = Vec::new();
    for (i, c) in r.columns.iter().enumerate() {
        let inferred = infer(c, &object, k);
        let key = normalise(&c.name);
        if matches!(inferred.kind, FieldKind::ExternalId | FieldKind::Uuid)
            || key == "id"
            || key.ends_with("id")
        {
            skipped.push(format!("{} (a key)", c.name));
            continue;
        }
        let class = match inferred.kind {
            FieldKind::Integer | FieldKind::Decimal => Class::Number,
            FieldKind::Date | FieldKind::Timestamp => Class::Instant,
            FieldKind::Enum | FieldKind::Boolean => Class::Category,
            _ => Class::Format,
        };
        let metric = match class {
            Class::Number | Class::Instant => Metric::Ks,
            Class::Category => Metric::Tv,
            Class::Format => Metric::FormatTv,
        };
        let null_rate = |c: &ColumnStats| (c.nulls + c.blanks) as f64 / c.rows.max(1) as f64;
        let ceiling = (class == Class::Category && c.filled() > 0).then(|| {
            let rare: u64 = c.counts.values().filter(|n| **n < k).sum();
            1.0 - rare as f64 / c.filled() as f64
        });
        let Some(j) = s.names.iter().position(|n| *n == c.name) else {
            columns.push(ColumnScore {
                column: c.name.clone(),
                kind: format!("{:?}", inferred.kind),
                metric,
                score: None,
                k_anonymity_ceiling: ceiling,
                null_rate_real: null_rate(c),
                null_rate_synth: None,
            });
            continue;
        };
        let sc = &s.columns[j];
        let score = match class {
            Class::Number | Class::Instant => {
                let xs = |c: &ColumnStats| {
                    c.reservoir
                        .iter()
                        .filter_map(|v| number(class, v))
                        .collect::<Vec<_>>()
                };
                1.0 - ks_statistic(&xs(c), &xs(sc))
            }
            Class::Category => {
                let table = |c: &ColumnStats| {
                    let mut t = HashMap::new();
                    for (v, n) in &c.counts {
                        *t.entry(category(inferred.kind, v)).or_insert(0) += n;
                    }
                    t
                };
                1.0 - tvd(&table(c), &table(sc))
            }
            Class::Format => {
                let table = |c: &ColumnStats| {
                    let mut t = HashMap::new();
                    for v in &c.reservoir {
                        // Free text has no format but its length: words, capped at 20.
                        let key = if inferred.kind == FieldKind::Text {
                            format!("{} words", v.split_whitespace().count().min(20))
                        } else {
                            mask(v.trim())
                        };
                        *t.entry(key).or_insert(0u64) += 1;
                    }
                    t
                };
                1.0 - tvd(&table(c), &table(sc))
            }
        };
        columns.push(ColumnScore {
            column: c.name.clone(),
            kind: format!("{:?}", inferred.kind),
            metric,
            score: Some(score),
            k_anonymity_ceiling: ceiling,
            null_rate_real: null_rate(c),
            null_rate_synth: Some(null_rate(sc)),
        });
        if class != Class::Format {
            usable.push((i, j, class, inferred.kind));
        }
    }
    let pairs = pair_trends(&r, &s, &usable);
    let column_shapes = if columns.is_empty() {
        0.0
    } else {
        columns.iter().map(|c| c.score.unwrap_or(0.0)).sum::<f64>() / columns.len() as f64
    };
    let pair_trends = (!pairs.is_empty())
        .then(|| pairs.iter().map(|p| p.score).sum::<f64>() / pairs.len() as f64);
    Ok(Comparison {
        real: real.display().to_string(),
        synth: synth.display().to_string(),
        real_rows: r.n_rows,
        synth_rows: s.n_rows,
        k,
        column_shapes,
        pair_trends,
        columns,
        pairs,
        skipped,
    })
}

fn pair_trends(r: &Side, s: &Side, usable: &[(usize, usize, Class, FieldKind)]) -> Vec<PairScore> {
    // Bin edges for numbers and dates: the real sample's deciles.
    let edges: Vec<Vec<f64>> = usable
        .iter()
        .map(|(i, _, class, _)| {
            let mut xs: Vec<f64> = r
                .rows
                .iter()
                .filter_map(|row| row.get(*i)?.as_deref().and_then(|v| number(*class, v)))
                .collect();
            xs.sort_by(f64::total_cmp);
            (1..10)
                .filter_map(|d| xs.get(d * xs.len() / 10).copied())
                .collect()
        })
        .collect();
    let bin = |u: usize, v: &str| -> String {
        let (_, _, class, kind) = usable[u];
        match number(class, v) {
            Some(x) => edges[u].iter().filter(|e| x > **e).count().to_string(),
            None => category(kind, v),
        }
    };
    let mut out = Vec::new();
    for a in 0..usable.len() {
        for b in a + 1..usable.len() {
            if out.len() >= MAX_PAIRS {
                return out;
            }
            let numeric = |u: usize| usable[u].2 != Class::Category;
            let cells = |side: &Side, u: usize, row: &[Option<String>]| {
                let idx = if std::ptr::eq(side, r) {
                    usable[u].0
                } else {
                    usable[u].1
                };
                row.get(idx)
                    .and_then(|v| v.as_deref())
                    .filter(|v| !v.trim().is_empty())
                    .map(str::to_string)
            };
            let (metric, score) = if numeric(a) && numeric(b) {
                let corr = |side: &Side| {
                    let pairs: Vec<(f64, f64)> = side
                        .rows
                        .iter()
                        .filter_map(|row| {
                            Some((
                                number(usable[a].2, &cells(side, a, row)?)?,
                                number(usable[b].2, &cells(side, b, row)?)?,
                            ))
                        })
                        .collect();
                    pearson(&pairs)
                };
                match (corr(r), corr(s)) {
                    (Some(x), Some(y)) => ("correlation_similarity", 1.0 - (x - y).abs() / 2.0),
                    _ => continue,
                }
            } else {
                let joint = |side: &Side| {
                    let mut t: HashMap<(String, String), u64> = HashMap::new();
                    for row in &side.rows {
                        if let (Some(x), Some(y)) = (cells(side, a, row), cells(side, b, row)) {
                            *t.entry((bin(a, &x), bin(b, &y))).or_insert(0) += 1;
                        }
                    }
                    t
                };
                ("contingency_similarity", 1.0 - tvd(&joint(r), &joint(s)))
            };
            out.push(PairScore {
                columns: [
                    r.columns[usable[a].0].name.clone(),
                    r.columns[usable[b].0].name.clone(),
                ],
                metric,
                score,
            });
        }
    }
    out
}

impl Comparison {
    /// The terminal table: one line per column, then the pairs and the overall scores.
    pub fn render_table(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "{} ({} rows) vs {} ({} rows), k = {}",
            self.real, self.real_rows, self.synth, self.synth_rows, self.k
        );
        let _ = writeln!(
            t,
            "{:<24} {:<10} {:<22} {:>7} {:>9}",
            "column", "kind", "metric", "score", "k-ceiling"
        );
        for c in &self.columns {
            let metric = match c.metric {
                Metric::Ks => "1-KS",
                Metric::Tv => "1-TVD",
                Metric::FormatTv => "1-TVD (format masks)",
            };
            let score = c.score.map_or("missing".to_string(), |s| format!("{s:.3}"));
            let ceiling = c
                .k_anonymity_ceiling
                .map_or(String::new(), |s| format!("{s:.3}"));
            let _ = writeln!(
                t,
                "{:<24} {:<10} {:<22} {:>7} {:>9}",
                c.column, c.kind, metric, score, ceiling
            );
        }
        for p in &self.pairs {
            let _ = writeln!(
                t,
                "pair {} × {}: {} {:.3}",
                p.columns[0], p.columns[1], p.metric, p.score
            );
        }
        if !self.skipped.is_empty() {
            let _ = writeln!(t, "not compared: {}", self.skipped.join(", "));
        }
        let _ = writeln!(t, "column shapes: {:.3}", self.column_shapes);
        let _ = writeln!(
            t,
            "pair trends:   {}",
            self.pair_trends.map_or("n/a".into(), |p| format!("{p:.3}"))
        );
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_and_tvd_match_their_definitions() {
        assert_eq!(ks_statistic(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(ks_statistic(&[1.0, 2.0], &[3.0, 4.0]), 1.0);
        assert!((ks_statistic(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0]) - 0.5).abs() < 1e-12);
        let a = HashMap::from([("x", 3u64), ("y", 1)]);
        let b = HashMap::from([("x", 1u64), ("z", 1)]);
        assert!((tvd(&a, &b) - 0.5).abs() < 1e-12);
        assert_eq!(tvd(&a, &a), 0.0);
        assert!((pearson(&[(1.0, 2.0), (2.0, 4.0), (3.0, 6.5)]).unwrap() - 1.0).abs() < 0.01);
    }
}
