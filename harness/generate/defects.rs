//! Defects injected on purpose, each labelled `<defect>:<field>` on the row (near-duplicates:
//! `near_duplicate:<variant>` and `dup_of`). The values stay as a CRM would hold them; only the
//! labels say what was done. Every defect draws from the row's defect stream in a fixed order,
//! so the rate of one does not change which rows get another.

use rand::Rng;

use super::record::{Generator, Record, RowRng};
use super::values::{self, FREE_MAIL};
use crate::shape::{FieldKind, Layout, Params};

/// Near-duplicate variants, in the order a variant falls back to the next when it does not apply.
pub const DUP_VARIANTS: [&str; 7] = [
    "typo",
    "case",
    "whitespace",
    "swapped_names",
    "nickname",
    "email_domain",
    "phone_format",
];

/// Applies the object's defects to `record` (already holding its clean values).
pub fn inject(generator: &Generator, record: &mut Record, rng: &mut RowRng) {
    let object = generator.object();
    let rates = object.defects.clone();
    let fields = &object.fields;
    // One draw per defect, always, in this order.
    let draws: [f64; 10] = std::array::from_fn(|_| rng.random::<f64>());
    let pick: u64 = rng.random();
    let present =
        |values: &[Option<String>], i: usize| values[i].as_deref().is_some_and(|v| !v.is_empty());
    let first_of = |values: &[Option<String>], kinds: &[FieldKind]| {
        fields
            .iter()
            .enumerate()
            .position(|(i, f)| kinds.contains(&f.kind) && present(values, i))
    };
    let any_of = |values: &[Option<String>], ok: &dyn Fn(usize) -> bool| {
        let candidates: Vec<usize> = (0..fields.len())
            .filter(|&i| ok(i) && present(values, i))
            .collect();
        (!candidates.is_empty()).then(|| candidates[(pick % candidates.len() as u64) as usize])
    };
    let label = |record: &mut Record, defect: &str, field: usize| {
        record
            .defects
            .push(format!("{defect}:{}", fields[field].name));
    };

    if draws[3] < rates.near_duplicate
        && let Some(original) = other_row(generator, record.idx, pick)
    {
        near_duplicate(generator, record, original, pick);
    }
    if draws[2] < rates.invalid_email
        && let Some(i) = first_of(&record.values, &[FieldKind::Email])
    {
        let v = record.values[i].take().unwrap_or_default();
        let broken = match pick % 4 {
            0 => v.replacen('@', "", 1),
            1 => v.replacen('@', "@@", 1),
            2 => v.replacen('@', " @", 1),
            _ => v
                .rsplit_once('.')
                .map_or(v.clone(), |(head, _)| head.to_string()),
        };
        record.values[i] = Some(broken);
        label(record, "invalid_email", i);
    }
    if draws[0] < rates.email_uppercase
        && let Some(i) = first_of(&record.values, &[FieldKind::Email])
    {
        record.values[i] = record.values[i].as_deref().map(str::to_uppercase);
        label(record, "email_uppercase", i);
    }
    if draws[1] < rates.name_padded
        && let Some(i) = first_of(&record.values, &[FieldKind::FirstName])
    {
        record.values[i] = record.values[i].as_deref().map(|v| format!("  {v} "));
        label(record, "name_padded", i);
    }
    if draws[4] < rates.malformed_phone
        && let Some(i) = first_of(&record.values, &[FieldKind::Phone])
    {
        let v = record.values[i].take().unwrap_or_default();
        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
        let broken = match pick % 4 {
            0 => digits[..digits.len().min(5)].to_string(),
            1 => format!("{} CALL-NOW", &v[..v.len().min(6)]),
            2 => digits[2.min(digits.len())..].to_string(),
            _ => format!("+{v}"),
        };
        record.values[i] = Some(broken);
        label(record, "malformed_phone", i);
    }
    if draws[5] < rates.over_long
        && let Some(i) = any_of(&record.values, &|i| {
            fields[i].max_length.is_some() && fields[i].kind.is_text()
        })
    {
        let limit = fields[i].max_length.unwrap_or(0);
        let mut v = record.values[i].take().unwrap_or_default();
        let target = limit + 1 + (pick % 20) as usize;
        let filler = v.clone();
        while v.chars().count() < target {
            v.push(' ');
            v.push_str(&filler);
        }
        record.values[i] = Some(v.chars().take(target).collect());
        label(record, "over_long", i);
    }
    if draws[6] < rates.unicode_edge
        && let Some(i) = any_of(&record.values, &|i| fields[i].kind.is_text())
    {
        let v = record.values[i].take().unwrap_or_default();
        let edged = match pick % 3 {
            0 => format!("{v} 🚀✨"),
            1 => format!("\u{200f}{v} שלום\u{200e}"),
            _ => v
                .chars()
                .flat_map(|c| [Some(c), c.is_alphabetic().then_some('\u{0301}')])
                .flatten()
                .collect(),
        };
        record.values[i] = Some(edged);
        label(record, "unicode_edge", i);
    }
    if draws[7] < rates.missing_required
        && let Some(i) = any_of(&record.values, &|i| fields[i].required())
    {
        record.values[i] = None;
        label(record, "missing_required", i);
    }
    if draws[8] < rates.orphan_reference
        && let Some(i) = any_of(&record.values, &|i| fields[i].kind == FieldKind::Reference)
        && let Params::Reference { target, .. } = fields[i].params
    {
        // Row indices at and above 2^62 never exist.
        record.values[i] = Some(generator.id_of(target, (1 << 62) | record.idx));
        label(record, "orphan_reference", i);
    }
    if draws[9] < rates.out_of_range_date
        && let Some(i) = any_of(&record.values, &|i| {
            matches!(fields[i].kind, FieldKind::Date | FieldKind::Timestamp)
        })
        && let Params::Time { from, span } = fields[i].params
    {
        let days = std::time::Duration::from_secs(86_400 * (1 + pick % 3650));
        // Before the range when that stays after 1970 (the formats' floor), else after it.
        let at = match from.checked_sub(days) {
            Some(before) if pick.is_multiple_of(2) && before >= std::time::UNIX_EPOCH => before,
            _ => from + span + days,
        };
        record.values[i] = Some(values::format_time(fields[i].kind, at));
        label(record, "out_of_range_date", i);
    }
}

/// An earlier row of the same object, which exists whenever `idx` does (whatever `--records`
/// cuts, a row's predecessors are generated): a near-duplicate contact copies its original's
/// company. For the root: up to 50 rows back within its parent's run (the row before, for the
/// run's first row); for others: the previous sibling. `None` when there is no such row.
fn other_row(generator: &Generator, idx: u64, pick: u64) -> Option<u64> {
    let shape = generator.shape();
    let back = pick >> 8;
    match generator.object().layout {
        Layout::Root => {
            let first = match shape.root().owning_reference() {
                Some(_) => {
                    let parent = super::layout::parent_of_root(shape, generator.seed(), idx);
                    super::layout::root_rows_of_parent(shape, generator.seed(), parent).0
                }
                None => 0,
            };
            if idx > first {
                Some(idx - 1 - back % (idx - first).min(50))
            } else {
                // The run's first row copies the row before it (the previous parent's last one,
                // whose values, company included, it takes): never a later row, which a shorter
                // `--records` would cut. Row 0 has nothing before it.
                idx.checked_sub(1)
            }
        }
        Layout::ParentOfRoot => (!idx.is_multiple_of(super::layout::BLOCK)).then(|| idx - 1),
        Layout::ChildOf { .. } => (!idx
            .is_multiple_of(super::layout::stride(shape, generator.object_index())))
        .then(|| idx - 1),
    }
}

/// Turns `record` into a near-duplicate of row `original`: its values, slightly changed. Unique
/// fields and identities keep the row's own values (a CRM would refuse a repeat).
fn near_duplicate(generator: &Generator, record: &mut Record, original: u64, pick: u64) {
    let fields = &generator.object().fields;
    let (values, _) = generator.clean(original);
    let mut copied = record.values.clone();
    // References stay the row's own (the layout decides them); so do its owner's company and
    // domain when the original sits under another owner (a run's first contact copying the
    // previous company's last one): the same person, entered again at another company.
    let (shape, seed, object) = (
        generator.shape(),
        generator.seed(),
        generator.object_index(),
    );
    let same_owner = super::layout::owner_of(shape, seed, object, original)
        == super::layout::owner_of(shape, seed, object, record.idx);
    for (i, f) in fields.iter().enumerate() {
        let own = f.unique
            || matches!(
                f.kind,
                FieldKind::ExternalId | FieldKind::Uuid | FieldKind::Reference
            )
            || (!same_owner
                && matches!(
                    f.kind,
                    FieldKind::Company | FieldKind::Domain | FieldKind::Url
                ));
        if !own {
            copied[i] = values[i].clone();
        }
    }
    let start = (pick % DUP_VARIANTS.len() as u64) as usize;
    for k in 0..DUP_VARIANTS.len() {
        let variant = DUP_VARIANTS[(start + k) % DUP_VARIANTS.len()];
        if perturb(variant, fields, &mut copied, pick) {
            record.values = copied;
            // Gap labels now describe the copied values.
            record.defects = fields
                .iter()
                .zip(&record.values)
                .filter_map(|(f, v)| match v.as_deref() {
                    None => Some(format!("blank:{}", f.name)),
                    Some("") => Some(format!("empty:{}", f.name)),
                    _ => None,
                })
                .collect();
            record.defects.push(format!("near_duplicate:{variant}"));
            record.dup_of = Some(generator.external_id(original));
            return;
        }
    }
}

/// Applies one near-duplicate variant; false when the row has nothing it applies to.
fn perturb(
    variant: &str,
    fields: &[crate::shape::FieldSpec],
    values: &mut [Option<String>],
    pick: u64,
) -> bool {
    let find = |values: &[Option<String>], kinds: &[FieldKind], min_chars: usize| {
        fields.iter().enumerate().position(|(i, f)| {
            kinds.contains(&f.kind)
                && values[i]
                    .as_deref()
                    .is_some_and(|v| v.chars().count() >= min_chars)
        })
    };
    const NAMES: [FieldKind; 4] = [
        FieldKind::LastName,
        FieldKind::FirstName,
        FieldKind::FullName,
        FieldKind::Company,
    ];
    match variant {
        "typo" => {
            let Some(i) = find(values, &NAMES, 3) else {
                return false;
            };
            let mut chars: Vec<char> = values[i].as_deref().unwrap_or_default().chars().collect();
            let at = 1 + (pick as usize >> 4) % (chars.len() - 2);
            chars.swap(at, at + 1);
            if chars[at] == chars[at + 1] {
                chars[at] = if chars[at] == 'e' { 'a' } else { 'e' };
            }
            values[i] = Some(chars.into_iter().collect());
        }
        "case" => {
            let Some(i) = find(values, &NAMES, 2) else {
                return false;
            };
            let v = values[i].as_deref().unwrap_or_default();
            let changed = if v.to_uppercase() != v {
                v.to_uppercase()
            } else {
                v.to_lowercase()
            };
            if changed == v {
                return false;
            }
            values[i] = Some(changed);
        }
        "whitespace" => {
            let Some(i) = find(values, &NAMES, 1) else {
                return false;
            };
            let v = values[i].as_deref().unwrap_or_default();
            values[i] = Some(if v.contains(' ') {
                v.replacen(' ', "  ", 1)
            } else {
                format!("{v} ")
            });
        }
        "swapped_names" => {
            let (Some(f), Some(l)) = (
                find(values, &[FieldKind::FirstName], 1),
                find(values, &[FieldKind::LastName], 1),
            ) else {
                return false;
            };
            if values[f] == values[l] {
                return false;
            }
            values.swap(f, l);
        }
        "nickname" => {
            let Some(i) = find(values, &[FieldKind::FirstName], 1) else {
                return false;
            };
            let Some(nick) = nickname(values[i].as_deref().unwrap_or_default()) else {
                return false;
            };
            values[i] = Some(nick.to_string());
        }
        "email_domain" => {
            let Some(i) = find(values, &[FieldKind::Email], 3) else {
                return false;
            };
            let v = values[i].as_deref().unwrap_or_default();
            let Some((local, domain)) = v.split_once('@') else {
                return false;
            };
            let other = FREE_MAIL
                .iter()
                .cycle()
                .skip((pick % FREE_MAIL.len() as u64) as usize)
                .take(FREE_MAIL.len())
                .find(|d| **d != domain)
                .expect("several free-mail domains");
            values[i] = Some(format!("{local}@{other}"));
        }
        "phone_format" => {
            let Some(i) = find(values, &[FieldKind::Phone], 5) else {
                return false;
            };
            let v = values[i].as_deref().unwrap_or_default();
            let e164 = values::e164(v);
            let changed = if e164 != v {
                e164
            } else {
                // `+14155550100` → `+1 415 555 0100`-like groups.
                let digits = &e164[1..];
                let (cc, rest) = digits.split_at(if digits.starts_with('1') { 1 } else { 2 });
                let groups: Vec<&str> = rest
                    .as_bytes()
                    .chunks(3)
                    .map(|c| std::str::from_utf8(c).unwrap_or_default())
                    .collect();
                format!("+{cc} {}", groups.join(" "))
            };
            values[i] = Some(changed);
        }
        _ => return false,
    }
    true
}

/// A common nickname of a first name, when there is one.
pub fn nickname(first: &str) -> Option<&'static str> {
    const TABLE: [(&str, &str); 24] = [
        ("William", "Bill"),
        ("Robert", "Bob"),
        ("Elizabeth", "Liz"),
        ("Katherine", "Kate"),
        ("Michael", "Mike"),
        ("James", "Jim"),
        ("Jennifer", "Jen"),
        ("Thomas", "Tom"),
        ("Richard", "Rick"),
        ("Margaret", "Peggy"),
        ("Christopher", "Chris"),
        ("Daniel", "Dan"),
        ("Matthew", "Matt"),
        ("Joseph", "Joe"),
        ("Alexander", "Alex"),
        ("Benjamin", "Ben"),
        ("Samuel", "Sam"),
        ("Nicholas", "Nick"),
        ("Andrew", "Andy"),
        ("Anthony", "Tony"),
        ("Patricia", "Pat"),
        ("Rebecca", "Becky"),
        ("Johannes", "Hannes"),
        ("Friedrich", "Fritz"),
    ];
    TABLE
        .iter()
        .find(|(full, _)| *full == first)
        .map(|(_, n)| *n)
}
