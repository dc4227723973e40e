//! Turns a [`Profile`] into shape-file text (the format `Shape::from_source` reads, documented in
//! `datasets/shapes/b2b-saas.toml`), with a `#` comment per field saying why its kind was
//! inferred, and the list of what was withheld. The only values copied from an export are the
//! category values of non-personal columns that occur at least `min_count` times; rarer ones
//! are merged into [`OTHER`].

use std::fmt::Write as _;

use super::assoc::{Association, associations};
use super::column::ColumnStats;
use super::habits::{self, Learnt, learn};
use super::infer::is_personal;
use super::learn::{ObjectProfile, Profile, Relation};
use super::time::{format_date, format_timestamp};
use crate::shape::{FieldKind, RESERVED};

/// The value rare category values are generalised to.
pub const OTHER: &str = "(other)";

/// What the shape does not carry, per field: counts, never values.
#[derive(Debug, Clone, PartialEq)]
pub struct Withheld {
    pub object: String,
    pub field: String,
    /// Distinct values not written (`None`: more than could be counted).
    pub values: Option<u64>,
    /// Rows holding them.
    pub rows: u64,
    /// `personal` (every value) or `rare` (fewer than min_count occurrences).
    pub reason: &'static str,
}

/// The shape text, what was withheld, and notes (objects or relations left out, and why).
#[derive(Debug, Clone)]
pub struct Written {
    pub text: String,
    pub withheld: Vec<Withheld>,
    pub notes: Vec<String>,
    /// The column-pair associations kept, one line each (`contact.Stage given Country, V 0.71`).
    pub associations: Vec<String>,
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn rate(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        (n as f64 / d as f64 * 1e4).floor() / 1e4
    }
}

/// Orders the objects: the root (the largest object that references another, else the largest),
/// its parent, then objects owned by either. Returns (object, owning relation) pairs.
fn layout(p: &Profile, notes: &mut Vec<String>) -> Vec<(usize, Option<usize>)> {
    let n = p.objects.len();
    let is_child = |o: usize| p.relations.iter().any(|r| r.child == o);
    let root = (0..n)
        .max_by_key(|o| (is_child(*o), p.objects[*o].rows))
        .unwrap_or(0);
    let mut order = vec![(root, None)];
    let root_parent = p.relations.iter().position(|r| r.child == root);
    if let Some(r) = root_parent {
        order.push((p.relations[r].parent, None));
        order[0].1 = Some(r);
    }
    let placed: Vec<usize> = order.iter().map(|(o, _)| *o).collect();
    for o in 0..n {
        if placed.contains(&o) {
            continue;
        }
        match p
            .relations
            .iter()
            .position(|r| r.child == o && placed.contains(&r.parent))
        {
            Some(r) => order.push((o, Some(r))),
            None => notes.push(format!(
                "{}: left out of the shape: none of its columns holds ids of {} (profile it on its own)",
                p.objects[o].path.display(),
                placed
                    .iter()
                    .map(|i| p.objects[*i].name.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )),
        }
    }
    order
}

/// The shape file text.
pub fn write_shape(p: &Profile) -> Written {
    let mut notes = Vec::new();
    let order = layout(p, &mut notes);
    let mut withheld = Vec::new();
    let mut kept = Vec::new();
    let mut t = String::new();
    let sources: Vec<String> = p
        .objects
        .iter()
        .map(|o| format!("{} ({} rows)", o.path.display(), o.rows))
        .collect();
    let _ = writeln!(
        t,
        "# Learnt by `syncproof profile` from {}.\n# Category values occurring fewer than {} times are merged into \"{OTHER}\"; names, emails,\n# phones, streets, postal codes and free text keep their kind, never their values.\n",
        sources.join(", "),
        p.options.min_count
    );
    let root = &p.objects[order[0].0];
    let _ = writeln!(t, "root = {}", quote(&root.name));
    let _ = writeln!(
        t,
        "locales = [{{ locale = \"en_US\", weight = 1.0 }}]   # not inferred: set the locales your people come from\n"
    );
    for (position, (o, owning)) in order.iter().enumerate() {
        let object = &p.objects[*o];
        let _ = writeln!(
            t,
            "[[objects]]\nname = {}\n# {} rows in {}\n",
            quote(&object.name),
            object.rows,
            object.path.display()
        );
        let references: Vec<usize> = p
            .relations
            .iter()
            .filter(|r| r.child == *o)
            .map(|r| r.column)
            .collect();
        let associations = associations(object, p.options.min_count, &references);
        for a in &associations {
            kept.push(format!(
                "{}.{} given {} (Cramér's V {:.2}, {} sampled rows, {} value(s) of {})",
                object.name,
                object.columns[a.child].name,
                object.columns[a.parent].name,
                a.strength,
                a.rows,
                a.cases.len(),
                object.columns[a.parent].name
            ));
        }
        for (i, column) in object.columns.iter().enumerate() {
            let relation = p.relations.iter().find(|r| r.child == *o && r.column == i);
            if RESERVED.contains(&column.name.as_str()) {
                notes.push(format!(
                    "{}: column \"{}\" is a name syncproof's writers use; written as \"{}_src\"",
                    object.path.display(),
                    column.name,
                    column.name
                ));
            }
            let name = field_name(&column.name);
            let _ = writeln!(t, "[[objects.fields]]\nname = {}", quote(&name));
            match relation {
                Some(r) => write_reference(
                    &mut t,
                    p,
                    r,
                    *owning == p.relations.iter().position(|x| x == r),
                    position == 0,
                    column,
                ),
                None => {
                    write_field(&mut t, p, *o, i, &mut withheld);
                    if let Some(a) = associations.iter().find(|a| a.child == i) {
                        write_given(&mut t, object, a, p.options.min_count);
                    }
                }
            }
            let _ = writeln!(t);
        }
        write_near_duplicates(&mut t, object);
    }
    Written {
        text: t,
        withheld,
        notes,
        associations: kept,
    }
}

/// The field name a column is written under (ground-truth names get `_src`).
fn field_name(column: &str) -> String {
    if RESERVED.contains(&column) {
        format!("{column}_src")
    } else {
        column.to_string()
    }
}

/// The field's distribution per value of the column it is most strongly associated with.
fn write_given(t: &mut String, object: &ObjectProfile, a: &Association, k: u64) {
    let parent = &object.columns[a.parent].name;
    let _ = writeln!(
        t,
        "# associated with \"{parent}\" (bias-corrected Cramér's V {:.2} over {} sampled rows holding both):\n# kept as this field's distribution per \"{parent}\" value; combinations held by fewer than {k}\n# sampled rows left out ({} rows)",
        a.strength, a.rows, a.withheld
    );
    let _ = writeln!(t, "given = {}", quote(&field_name(parent)));
    let mut parts = Vec::new();
    for (when, values) in &a.cases {
        let total: u64 = values.iter().map(|(_, n)| n).sum();
        for (value, n) in values {
            parts.push(format!(
                "  {{ when = {}, value = {}, weight = {} }},",
                quote(when),
                quote(value),
                rate(*n, total)
            ));
        }
    }
    let _ = writeln!(t, "given_values = [\n{}\n]", parts.join("\n"));
}

/// The export's own near-duplicate rate as the object's `near_duplicate` defect rate, so the
/// twin carries the same share of near-duplicates (labelled, so runs can tell them apart).
fn write_near_duplicates(t: &mut String, object: &ObjectProfile) {
    let Some(d) = &object.near_duplicates else {
        return;
    };
    let scope = if d.sampled < object.rows {
        format!(
            "a uniform sample of {} of its {} rows (scaled by {:.1}: a pair survives sampling about once in that many)",
            d.sampled,
            object.rows,
            object.rows as f64 / d.sampled.max(1) as f64
        )
    } else {
        format!("all {} rows", d.sampled)
    };
    let _ = writeln!(
        t,
        "[objects.defects]\n# the fuzzy near-duplicate engine (as `syncproof dupes`) paired {} on {}: {} pair(s), {} extra record(s)",
        d.columns.join(", "),
        scope,
        d.pairs,
        d.extra
    );
    let _ = writeln!(t, "near_duplicate = {}\n", rate_of(d.rate));
}

fn rate_of(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn write_rates(t: &mut String, c: &ColumnStats) {
    if c.nulls > 0 {
        let _ = writeln!(t, "null_rate = {}", rate(c.nulls, c.rows));
    }
    if c.blanks > 0 {
        let _ = writeln!(t, "blank_rate = {}", rate(c.blanks, c.rows));
    }
}

fn write_reference(
    t: &mut String,
    p: &Profile,
    r: &Relation,
    owning: bool,
    of_root: bool,
    c: &ColumnStats,
) {
    let parent = &p.objects[r.parent];
    let _ = writeln!(
        t,
        "# {:.1}% of values are ids of \"{}\" ({} column \"{}\")\nkind = \"reference\"\ntarget = {}",
        100.0 * r.contained,
        parent.name,
        parent.path.display(),
        parent
            .id_column()
            .map_or("", |i| parent.columns[i].name.as_str()),
        quote(&parent.name)
    );
    write_rates(t, c);
    if !owning {
        return;
    }
    // The root's parent must own at least one root row: parents without children are not made.
    let min = if of_root { 1 } else { 0 };
    let counts = &r.per_target[min.min(r.per_target.len())..];
    let cap = 200;
    let mut weights: Vec<u64> = counts.iter().take(cap).copied().collect();
    if counts.len() > cap {
        weights[cap - 1] += counts[cap..].iter().sum::<u64>();
    }
    let total: u64 = weights.iter().sum::<u64>().max(1);
    let text: Vec<String> = weights
        .iter()
        .map(|w| format!("{}", (*w as f64 / total as f64 * 1e4).round() / 1e4))
        .collect();
    if of_root && r.per_target.first().copied().unwrap_or(0) > 0 {
        let _ = writeln!(
            t,
            "# {} \"{}\" rows have no \"{}\" row; the generator gives every one at least one",
            r.per_target[0], parent.name, p.objects[r.child].name
        );
    }
    let _ = writeln!(
        t,
        "# rows per \"{}\": weights of {min}, {}, …",
        parent.name,
        min + 1
    );
    let _ = writeln!(
        t,
        "per_target = {{ min = {min}, weights = [{}] }}",
        text.join(", ")
    );
}

fn write_field(t: &mut String, p: &Profile, o: usize, i: usize, withheld: &mut Vec<Withheld>) {
    let object = &p.objects[o];
    let c = &object.columns[i];
    let inferred = &object.kinds[i];
    let kind = inferred.kind;
    let k = p.options.min_count;
    let kind_name = toml::Value::try_from(kind_str(kind))
        .map(|v| v.to_string())
        .unwrap_or_default();
    let _ = writeln!(t, "# {}\nkind = {kind_name}", inferred.why);
    write_rates(t, c);
    let distinct = (!c.overflowed).then_some(c.counts.len() as u64);
    if is_personal(kind) {
        withheld.push(Withheld {
            object: object.name.clone(),
            field: c.name.clone(),
            values: distinct,
            rows: c.filled(),
            reason: "personal",
        });
    }
    if kind.is_text() && c.max_chars > 0 {
        let _ = writeln!(t, "max_length = {}", c.max_chars);
    }
    let unique = distinct == Some(c.filled()) && c.filled() > 1;
    if unique
        && matches!(
            kind,
            FieldKind::Email
                | FieldKind::Domain
                | FieldKind::Url
                | FieldKind::Uuid
                | FieldKind::ExternalId
                | FieldKind::Company
        )
    {
        let _ = writeln!(t, "unique = true");
    }
    match kind {
        FieldKind::Enum => {
            let mut values: Vec<(&String, &u64)> = c.counts.iter().collect();
            values.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let (kept, rare): (Vec<_>, Vec<_>) = values
                .into_iter()
                .partition(|(_, n)| **n >= p.options.min_count);
            let rare_rows: u64 = rare.iter().map(|(_, n)| **n).sum();
            let mut parts: Vec<String> = kept
                .iter()
                .map(|(v, n)| {
                    format!(
                        "  {{ value = {}, weight = {} }},",
                        quote(v),
                        rate(**n, c.filled())
                    )
                })
                .collect();
            if rare_rows > 0 {
                let _ = writeln!(
                    t,
                    "# {} value(s) in {} row(s) occur fewer than {} times: merged into \"{OTHER}\"",
                    rare.len(),
                    rare_rows,
                    p.options.min_count
                );
                parts.push(format!(
                    "  {{ value = {}, weight = {} }},",
                    quote(OTHER),
                    rate(rare_rows, c.filled())
                ));
                withheld.push(Withheld {
                    object: object.name.clone(),
                    field: c.name.clone(),
                    values: Some(rare.len() as u64),
                    rows: rare_rows,
                    reason: "rare",
                });
            }
            let _ = writeln!(t, "values = [\n{}\n]", parts.join("\n"));
        }
        FieldKind::Integer | FieldKind::Decimal => {
            let mut xs: Vec<f64> = c
                .reservoir
                .iter()
                .filter_map(|v| v.trim().parse().ok())
                .collect();
            xs.sort_by(f64::total_cmp);
            if xs.is_empty() {
                return;
            }
            let points = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1.0];
            let mut table = Vec::new();
            let mut last = c.min_number;
            for q in points {
                let v = if q == 0.0 {
                    c.min_number
                } else if q == 1.0 {
                    c.max_number
                } else {
                    xs[((q * (xs.len() - 1) as f64).round() as usize).min(xs.len() - 1)]
                };
                last = v.max(last);
                table.push(format!("[{q:?}, {last:?}]"));
            }
            let _ = writeln!(
                t,
                "# quantiles from a sample of {} values; 0 and 1 are the exact min and max",
                xs.len()
            );
            let _ = writeln!(t, "quantiles = [{}]", table.join(", "));
            if kind == FieldKind::Decimal {
                let _ = writeln!(t, "scale = {}", c.max_scale.min(6));
            }
        }
        FieldKind::Boolean => {
            let _ = writeln!(t, "true_rate = {}", rate(c.trues, c.filled()));
        }
        FieldKind::Date => {
            let _ = writeln!(
                t,
                "from = {}\nto = {}",
                quote(&format_date(c.min_instant)),
                quote(&format_date(c.max_instant))
            );
        }
        FieldKind::Timestamp => {
            let _ = writeln!(
                t,
                "from = {}\nto = {}",
                quote(&format_timestamp(c.min_instant)),
                quote(&format_timestamp(c.max_instant))
            );
        }
        FieldKind::Text => {
            let words: Vec<u32> = c
                .reservoir
                .iter()
                .map(|v| v.split_whitespace().count() as u32)
                .collect();
            let (min, max) = (
                words.iter().min().copied().unwrap_or(1).max(1),
                words.iter().max().copied().unwrap_or(1).max(1),
            );
            let _ = writeln!(t, "min_words = {min}\nmax_words = {max}");
            let counts = learn(sample(c), k, habits::words);
            write_counts(t, "words", "word counts", &counts, k);
        }
        FieldKind::Phone => {
            let plus = c.share(c.patterns.leading_plus);
            let format = if plus >= 0.9 {
                "e164"
            } else if plus <= 0.1 {
                "national"
            } else {
                "mixed"
            };
            let _ = writeln!(t, "# {:.0}% written with a country code", 100.0 * plus);
            let templates = learn(sample(c), k, habits::phone_template);
            if templates.is_empty() {
                let _ = writeln!(t, "format = \"{format}\"");
            } else {
                write_values(t, "templates", "spellings (`#`: a digit)", &templates, k);
            }
        }
        FieldKind::PostalCode => {
            let formats = learn(sample(c), k, habits::postal_template);
            write_values(
                t,
                "templates",
                "formats (`#`: a digit, `@`: a letter)",
                &formats,
                k,
            );
        }
        FieldKind::Email => {
            let styles = learn(sample(c), k, |v| {
                habits::local_part_style(v).map(str::to_string)
            });
            write_values(t, "local_parts", "local-part styles", &styles, k);
            let free = sample(c).filter(|v| habits::is_free_mail(v)).count();
            let _ = writeln!(
                t,
                "free_mail_rate = {}",
                rate(free as u64, c.reservoir.len() as u64)
            );
            let tlds = learn(
                sample(c).filter(|v| !habits::is_free_mail(v)),
                k,
                habits::tld,
            );
            write_values(t, "tlds", "company top-level domains", &tlds, k);
        }
        FieldKind::Domain | FieldKind::Url => {
            let tlds = learn(sample(c), k, habits::tld);
            write_values(t, "tlds", "top-level domains", &tlds, k);
        }
        FieldKind::Company => {
            let counts = learn(sample(c), k, habits::words);
            write_counts(t, "words", "word counts", &counts, k);
            let suffixes = learn(sample(c), k, habits::last_word);
            if !suffixes.is_empty() {
                let total = c.reservoir.len() as u64;
                let _ = writeln!(
                    t,
                    "# last words shared by at least {k} of {total} sampled names; \"\": none or a rarer one"
                );
                let kept = suffixes.kept.iter().map(|(v, n)| (v.as_str(), *n));
                let rest = std::iter::once(("", suffixes.withheld));
                write_weighted(t, "suffixes", kept.chain(rest), total);
            }
        }
        FieldKind::City => {
            let counts = learn(sample(c), k, habits::words);
            write_counts(t, "words", "word counts", &counts, k);
        }
        FieldKind::Street if !c.reservoir.is_empty() => {
            let numbered = sample(c).filter(|v| habits::has_house_number(v)).count() as u64;
            let total = c.reservoir.len() as u64;
            let _ = writeln!(
                t,
                "# {numbered} of {total} sampled street lines carry a house number"
            );
            let _ = writeln!(t, "house_number_rate = {}", rate(numbered, total));
        }
        _ => {}
    }
    write_case(t, kind, c, k);
    write_spacing(t, kind, c, k);
}

/// Shares of values with stray, doubled, tab or non-breaking spaces, each when at least `k`
/// sampled values show it (a habit of the people typing, never a value).
fn write_spacing(t: &mut String, kind: FieldKind, c: &ColumnStats, k: u64) {
    if !kind.has_spacing() || c.reservoir.is_empty() {
        return;
    }
    let total = c.reservoir.len() as u64;
    let mut counts = [0u64; 5];
    for v in sample(c) {
        for (n, flag) in counts.iter_mut().zip(habits::spacing_of(v)) {
            *n += u64::from(flag);
        }
    }
    for ((key, what), n) in habits::SPACING_KEYS.iter().zip(counts) {
        if n >= k.max(1) {
            let _ = writeln!(t, "# {n} of {total} sampled values {what}");
            let _ = writeln!(t, "{key} = {}", rate(n, total));
        }
    }
}

/// The column's non-blank sampled values.
fn sample(c: &ColumnStats) -> impl Iterator<Item = &str> {
    c.reservoir.iter().map(String::as_str)
}

fn write_values(t: &mut String, key: &str, what: &str, l: &Learnt<String>, k: u64) {
    if l.is_empty() {
        return;
    }
    let total = l.kept.iter().map(|(_, n)| n).sum::<u64>() + l.withheld;
    let _ = writeln!(
        t,
        "# {what} shared by at least {k} of {total} sampled values; {} values in rarer ones generalised away",
        l.withheld
    );
    write_weighted(t, key, l.kept.iter().map(|(v, n)| (v.as_str(), *n)), total);
}

/// `key = [{ value, weight }, ...]`, one value a line, each weight its count's share of `total`.
fn write_weighted<'a>(
    t: &mut String,
    key: &str,
    items: impl Iterator<Item = (&'a str, u64)>,
    total: u64,
) {
    let parts: Vec<String> = items
        .map(|(v, n)| format!("  {{ value = {}, weight = {} }},", quote(v), rate(n, total)))
        .collect();
    let _ = writeln!(t, "{key} = [\n{}\n]", parts.join("\n"));
}

fn write_counts(t: &mut String, key: &str, what: &str, l: &Learnt<u32>, k: u64) {
    if l.is_empty() {
        return;
    }
    let total = l.kept.iter().map(|(_, n)| n).sum::<u64>() + l.withheld;
    let mut kept = l.kept.clone();
    kept.sort_unstable();
    let _ = writeln!(
        t,
        "# {what} shared by at least {k} of {total} sampled values; {} values generalised away",
        l.withheld
    );
    let parts: Vec<String> = kept
        .iter()
        .map(|(v, n)| format!("[{v}, {}]", rate(*n, total)))
        .collect();
    let _ = writeln!(t, "{key} = [{}]", parts.join(", "));
}

/// Shares of values in capitals and in lower case, when at least `k` sampled values show them
/// (lower case is an email's, domain's and URL's normal spelling, not a habit).
fn write_case(t: &mut String, kind: FieldKind, c: &ColumnStats, k: u64) {
    let addresses = matches!(kind, FieldKind::Email | FieldKind::Domain | FieldKind::Url);
    if !(kind.is_text() || addresses) || kind == FieldKind::Text || c.reservoir.is_empty() {
        return;
    }
    let total = c.reservoir.len() as u64;
    let upper = sample(c)
        .filter(|v| habits::case_of(v) == Some(true))
        .count() as u64;
    let lower = sample(c)
        .filter(|v| habits::case_of(v) == Some(false))
        .count() as u64;
    if upper >= k.max(1) {
        let _ = writeln!(
            t,
            "# {upper} of {total} sampled values are written in capitals"
        );
        let _ = writeln!(t, "upper_rate = {}", rate(upper, total));
    }
    if lower >= k.max(1) && !addresses {
        let _ = writeln!(
            t,
            "# {lower} of {total} sampled values are written in lower case"
        );
        let _ = writeln!(t, "lower_rate = {}", rate(lower, total));
    }
}

fn kind_str(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::FirstName => "first_name",
        FieldKind::LastName => "last_name",
        FieldKind::FullName => "full_name",
        FieldKind::Email => "email",
        FieldKind::Phone => "phone",
        FieldKind::Company => "company",
        FieldKind::Domain => "domain",
        FieldKind::Url => "url",
        FieldKind::JobTitle => "job_title",
        FieldKind::Street => "street",
        FieldKind::City => "city",
        FieldKind::Region => "region",
        FieldKind::PostalCode => "postal_code",
        FieldKind::Country => "country",
        FieldKind::Enum => "enum",
        FieldKind::Integer => "integer",
        FieldKind::Decimal => "decimal",
        FieldKind::Boolean => "boolean",
        FieldKind::Date => "date",
        FieldKind::Timestamp => "timestamp",
        FieldKind::Text => "text",
        FieldKind::Uuid => "uuid",
        FieldKind::ExternalId => "external_id",
        FieldKind::Reference => "reference",
    }
}
