//! The shape file's serde form (`deny_unknown_fields` throughout) and its validation into a
//! [`Shape`]. Every check that can fail names the file, the line, the object, the field and the
//! key, and says what to write instead; nothing downstream re-checks.

use std::collections::HashSet;

use serde::Deserialize;

use super::dist::{CountDist, NumberDist};
use super::spec::{
    Case, Comparator, DefectRates, FieldKind, FieldSpec, Given, LOCAL_PARTS, Layout, Locale,
    ObjectShape, Params, PhoneFormat, Shape, Spacing, UpdateSpec,
};
use crate::config::{ConfigError, Source};
use crate::units::fraction;

/// Column names the writers use for ground truth; a field may not take them.
pub const RESERVED: [&str; 4] = ["record_idx", "external_id", "defects", "dup_of"];

/// Ground-truth columns of update files; an object with updates may not name a field so.
pub const UPDATE_COLUMNS: [&str; 3] = ["version", "op", "changed"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShapeFile {
    root: String,
    locales: Vec<LocaleWeight>,
    objects: Vec<ObjectFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocaleWeight {
    locale: Locale,
    weight: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectFile {
    name: String,
    id_prefix: Option<String>,
    fields: Vec<FieldFile>,
    #[serde(default)]
    defects: DefectRates,
    updates: Option<UpdatesFile>,
}

/// `[objects.updates]`: the object's update stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdatesFile {
    rate: f64,
    #[serde(default = "one")]
    max_versions: u32,
    #[serde(default = "one")]
    max_fields: u32,
    #[serde(default)]
    delete_rate: f64,
    #[serde(default)]
    fields: Vec<UpdateField>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateField {
    name: String,
    #[serde(default = "unit_weight")]
    weight: f64,
}

fn unit_weight() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    name: String,
    kind: FieldKind,
    #[serde(default)]
    null_rate: f64,
    #[serde(default)]
    blank_rate: f64,
    #[serde(default)]
    unique: bool,
    max_length: Option<usize>,
    compare: Option<Comparator>,
    // enum
    #[serde(default)]
    values: Vec<EnumValue>,
    // date, timestamp
    from: Option<String>,
    to: Option<String>,
    // integer, decimal
    dist: Option<DistKind>,
    min: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
    sd: Option<f64>,
    quantiles: Option<Vec<(f64, f64)>>,
    scale: Option<u32>,
    // boolean
    true_rate: Option<f64>,
    // text
    min_words: Option<u32>,
    max_words: Option<u32>,
    // text, company, city: `[[words, weight], ...]`
    words: Option<Vec<(u32, f64)>>,
    // phone
    format: Option<PhoneFormat>,
    templates: Option<Vec<EnumValue>>,
    // email, domain, url
    local_parts: Option<Vec<EnumValue>>,
    free_mail_rate: Option<f64>,
    tlds: Option<Vec<EnumValue>>,
    // company
    suffixes: Option<Vec<EnumValue>>,
    // street
    house_number_rate: Option<f64>,
    // any text-like kind
    upper_rate: Option<f64>,
    lower_rate: Option<f64>,
    // any text-like kind, phone, postal code
    leading_space_rate: Option<f64>,
    trailing_space_rate: Option<f64>,
    double_space_rate: Option<f64>,
    tab_rate: Option<f64>,
    nbsp_rate: Option<f64>,
    // enum, phone: the distribution per value of another field
    given: Option<String>,
    given_values: Option<Vec<GivenValue>>,
    // reference
    target: Option<String>,
    per_target: Option<PerTarget>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnumValue {
    value: String,
    weight: f64,
}

/// One cell of a conditional distribution: when the `given` field holds `when`, this field holds
/// `value` (an enum value, a phone template) with this weight.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct GivenValue {
    when: String,
    value: String,
    weight: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum DistKind {
    Uniform,
    Normal,
    LogNormal,
}

/// How many rows of this object per row of the target: `{ min, max, mean }` (geometric),
/// `{ min, max }` (uniform) or `{ min, weights = [...] }` (weights of min, min + 1, …).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PerTarget {
    #[serde(default)]
    min: u32,
    max: Option<u32>,
    mean: Option<f64>,
    weights: Option<Vec<f64>>,
}

/// Points errors at `objects[name].fields[field].key` in the file.
struct At<'a> {
    src: &'a Source,
    object: &'a str,
    field: Option<&'a str>,
}

impl At<'_> {
    fn err(&self, key: &str, message: impl std::fmt::Display) -> ConfigError {
        let path = match self.field {
            Some(f) => format!("object \"{}\", field \"{f}\", {key}", self.object),
            None => format!("object \"{}\", {key}", self.object),
        };
        ConfigError {
            file: self.src.name.clone(),
            line: locate(&self.src.text, self.object, self.field, key),
            message: format!("{path}: {message}"),
        }
    }
}

/// The line of `key` inside the `[[objects]]` named `object` (and its `[[objects.fields]]` named
/// `field`); the object's or field's `name =` line when the key is not written there.
fn locate(text: &str, object: &str, field: Option<&str>, key: &str) -> Option<usize> {
    let mut in_object = false;
    let mut in_field = false;
    let mut table = String::new();
    let mut anchor = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if table == "objects" {
                in_object = false;
            }
            if in_object && table == "objects.updates" && key.starts_with("updates") {
                anchor = Some(i + 1);
            }
            in_field = false;
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim().trim_matches('"'));
        if k == "name" && table == "objects" {
            in_object = v == object;
            if in_object && field.is_none() {
                anchor = Some(i + 1);
            }
        } else if k == "name" && table == "objects.fields" && in_object {
            in_field = Some(v) == field;
            if in_field {
                anchor = Some(i + 1);
            }
        } else if in_object && (field.is_none() || in_field) && k == key.rsplit('.').next()? {
            return Some(i + 1);
        }
    }
    anchor
}

impl Shape {
    /// Parses and validates a shape file.
    pub fn from_source(src: &Source) -> Result<Shape, ConfigError> {
        let file: ShapeFile = src.parse()?;
        let locales = cumulative(file.locales.iter().map(|l| (l.locale, l.weight)))
            .map_err(|m| src.invalid("locales", m))?;
        if file.objects.is_empty() {
            return Err(src.invalid("objects", "a shape needs at least one [[objects]] entry"));
        }
        let names: Vec<&str> = file.objects.iter().map(|o| o.name.as_str()).collect();
        let root = names.iter().position(|n| *n == file.root).ok_or_else(|| {
            src.invalid(
                "root",
                format!(
                    "no object \"{}\"{} (objects: {})",
                    file.root,
                    suggestion(&file.root, &names),
                    names.join(", ")
                ),
            )
        })?;
        let mut objects = Vec::with_capacity(file.objects.len());
        for (i, o) in file.objects.iter().enumerate() {
            if names[..i].contains(&o.name.as_str()) {
                return Err(src.invalid(
                    "objects",
                    format!("object \"{}\" is declared twice", o.name),
                ));
            }
            objects.push(object(src, o, &names)?);
        }
        let layouts = layouts(src, &objects, root)?;
        for (o, layout) in objects.iter_mut().zip(layouts) {
            o.layout = layout;
        }
        required_cycle(src, &objects)?;
        plain_references(src, &objects, root)?;
        Ok(Shape {
            objects,
            root,
            locales,
            source_text: src.text.clone(),
        })
    }
}

fn object(src: &Source, o: &ObjectFile, names: &[&str]) -> Result<ObjectShape, ConfigError> {
    let at = At {
        src,
        object: &o.name,
        field: None,
    };
    if o.fields.is_empty() {
        return Err(at.err("fields", "needs at least one [[objects.fields]] entry"));
    }
    let mut seen = HashSet::new();
    let mut fields = Vec::with_capacity(o.fields.len());
    for f in &o.fields {
        if !seen.insert(f.name.as_str()) {
            return Err(at.err("fields", format!("field \"{}\" is declared twice", f.name)));
        }
        fields.push(field(src, &o.name, f, names)?);
    }
    givens(&at, &o.fields, &mut fields)?;
    if fields
        .iter()
        .filter(|f| {
            matches!(
                f.params,
                Params::Reference {
                    per_target: Some(_),
                    ..
                }
            )
        })
        .count()
        > 1
    {
        return Err(at.err(
            "per_target",
            "only one reference per object may set per_target (the one that decides how many rows exist)",
        ));
    }
    for (key, rate) in o.defects.entries() {
        fraction(rate).map_err(|e| at.err(&format!("defects.{key}"), e))?;
        let has = |ok: &dyn Fn(&FieldSpec) -> bool| fields.iter().any(ok);
        let (applies, needs) = match key {
            "email_uppercase" | "invalid_email" => {
                (has(&|f| f.kind == FieldKind::Email), "an email field")
            }
            "name_padded" => (
                has(&|f| f.kind == FieldKind::FirstName),
                "a first_name field",
            ),
            "malformed_phone" => (has(&|f| f.kind == FieldKind::Phone), "a phone field"),
            "over_long" => (
                has(&|f| f.kind.is_text() && f.max_length.is_some()),
                "a text-like field with max_length",
            ),
            "unicode_edge" => (
                has(&|f| f.kind.is_text()),
                "a name, company, address or text field",
            ),
            "missing_required" => (
                has(&|f| f.required()),
                "a field with null_rate = 0 and blank_rate = 0",
            ),
            "orphan_reference" => (
                has(&|f| f.kind == FieldKind::Reference),
                "a reference field",
            ),
            "out_of_range_date" => (
                has(&|f| matches!(f.kind, FieldKind::Date | FieldKind::Timestamp)),
                "a date or timestamp field",
            ),
            _ => (true, ""),
        };
        if rate > 0.0 && !applies {
            return Err(at.err(
                &format!("defects.{key}"),
                format!("needs {needs} in this object; add one or set the rate to 0"),
            ));
        }
    }
    let updates = match &o.updates {
        Some(u) => Some(updates(&at, u, &fields)?),
        None => None,
    };
    Ok(ObjectShape {
        id_prefix: o.id_prefix.clone().unwrap_or_else(|| o.name.clone()),
        name: o.name.clone(),
        fields,
        defects: o.defects.clone(),
        layout: Layout::Root,
        updates,
    })
}

/// Validates `[objects.updates]` against the object's fields.
fn updates(at: &At<'_>, u: &UpdatesFile, fields: &[FieldSpec]) -> Result<UpdateSpec, ConfigError> {
    fraction(u.rate).map_err(|e| at.err("updates.rate", e))?;
    fraction(u.delete_rate).map_err(|e| at.err("updates.delete_rate", e))?;
    if !(1..=1000).contains(&u.max_versions) {
        return Err(at.err("updates.max_versions", "must be between 1 and 1000"));
    }
    if u.fields.is_empty() {
        return Err(at.err(
            "updates.fields",
            "name the fields an update may change: fields = [{ name = \"..\", weight = 1.0 }, ...]",
        ));
    }
    let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    if let Some(taken) = names.iter().find(|n| UPDATE_COLUMNS.contains(n)) {
        return Err(at.err(
            "updates",
            format!("field \"{taken}\" clashes with a column of the update files ({}); rename the field", UPDATE_COLUMNS.join(", ")),
        ));
    }
    let mut indices = Vec::with_capacity(u.fields.len());
    for uf in &u.fields {
        let i = names.iter().position(|n| *n == uf.name).ok_or_else(|| {
            at.err(
                "updates.fields",
                format!(
                    "no field \"{}\"{} in this object (fields: {})",
                    uf.name,
                    suggestion(&uf.name, &names),
                    names.join(", ")
                ),
            )
        })?;
        if matches!(
            fields[i].kind,
            FieldKind::Reference | FieldKind::ExternalId | FieldKind::Uuid
        ) {
            return Err(at.err(
                "updates.fields",
                format!(
                    "\"{}\" is a {:?} field: identities and references do not change in updates; remove it",
                    uf.name, fields[i].kind
                ),
            ));
        }
        if indices.contains(&i) {
            return Err(at.err(
                "updates.fields",
                format!("field \"{}\" is listed twice", uf.name),
            ));
        }
        indices.push(i);
    }
    if u.max_fields == 0 || u.max_fields as usize > indices.len() {
        return Err(at.err(
            "updates.max_fields",
            format!(
                "must be between 1 and the number of fields listed ({})",
                indices.len()
            ),
        ));
    }
    let fields = cumulative(indices.into_iter().zip(u.fields.iter().map(|f| f.weight)))
        .map_err(|m| at.err("updates.fields", m))?;
    Ok(UpdateSpec {
        rate: u.rate,
        max_versions: u.max_versions,
        max_fields: u.max_fields,
        delete_rate: u.delete_rate,
        fields,
    })
}

fn field(
    src: &Source,
    object: &str,
    f: &FieldFile,
    names: &[&str],
) -> Result<FieldSpec, ConfigError> {
    let at = At {
        src,
        object,
        field: Some(&f.name),
    };
    if RESERVED.contains(&f.name.as_str()) {
        return Err(at.err(
            "name",
            "this name is reserved for ground truth; rename the field",
        ));
    }
    fraction(f.null_rate).map_err(|e| at.err("null_rate", e))?;
    fraction(f.blank_rate).map_err(|e| at.err("blank_rate", e))?;
    if f.null_rate + f.blank_rate > 1.0 {
        return Err(at.err("blank_rate", "null_rate + blank_rate exceeds 1"));
    }
    if f.unique && !f.kind.can_be_unique() {
        return Err(at.err(
            "unique",
            "unique is supported for email, domain, url, company, integer, uuid and external_id",
        ));
    }
    if f.unique && f.blank_rate > 0.0 {
        return Err(at.err(
            "unique",
            "a unique field cannot have blank_rate (blanks would repeat)",
        ));
    }
    if f.max_length == Some(0) {
        return Err(at.err("max_length", "must be at least 1"));
    }
    let params = match f.kind {
        FieldKind::Enum => {
            if f.values.is_empty() {
                return Err(at.err(
                    "values",
                    "an enum needs values = [{ value = \"..\", weight = 1.0 }, ...]",
                ));
            }
            Params::Enum(
                cumulative(f.values.iter().map(|v| (v.value.clone(), v.weight)))
                    .map_err(|m| at.err("values", m))?,
            )
        }
        FieldKind::Integer | FieldKind::Decimal => number(&at, f)?,
        FieldKind::Boolean => {
            let true_rate = f.true_rate.unwrap_or(0.5);
            fraction(true_rate).map_err(|e| at.err("true_rate", e))?;
            Params::Boolean { true_rate }
        }
        FieldKind::Date | FieldKind::Timestamp => time_range(&at, f)?,
        FieldKind::Text => {
            let (min_words, max_words) = (f.min_words.unwrap_or(3), f.max_words.unwrap_or(12));
            if min_words == 0 || max_words < min_words {
                return Err(at.err("max_words", "needs 1 <= min_words <= max_words"));
            }
            Params::Text {
                min_words,
                max_words,
                words: word_counts(&at, f)?,
            }
        }
        FieldKind::Phone => match &f.templates {
            Some(t) => {
                if let Some(bad) = t.iter().find(|v| !v.value.contains('#')) {
                    return Err(at.err(
                        "templates",
                        format!(
                            "template {:?} has no digit: write `#` for each digit (\"+## ### ####\")",
                            bad.value
                        ),
                    ));
                }
                Params::PhoneTemplates(weighted(&at, "templates", t)?)
            }
            None => Params::Phone(f.format.unwrap_or_default()),
        },
        FieldKind::PostalCode if f.templates.is_some() => {
            let t = f.templates.as_deref().unwrap_or_default();
            if let Some(bad) = t.iter().find(|v| !postal_format(&v.value)) {
                return Err(at.err(
                    "templates",
                    format!(
                        "template {:?} is not a postal code format: write `#` for a digit, `@` for a letter, spaces and dashes as they are (\"#####\", \"@#@ #@#\")",
                        bad.value
                    ),
                ));
            }
            Params::PostalTemplates(weighted(&at, "templates", t)?)
        }
        FieldKind::Email | FieldKind::Domain | FieldKind::Url
            if f.local_parts.is_some() || f.free_mail_rate.is_some() || f.tlds.is_some() =>
        {
            address(&at, f)?
        }
        FieldKind::Company if f.words.is_some() || f.suffixes.is_some() => Params::Company {
            words: word_counts(&at, f)?,
            suffixes: match &f.suffixes {
                Some(s) => weighted(&at, "suffixes", s)?,
                None => vec![(String::new(), 1.0)],
            },
        },
        FieldKind::City if f.words.is_some() => Params::City {
            words: word_counts(&at, f)?,
        },
        FieldKind::Street if f.house_number_rate.is_some() => {
            let house_number_rate = f.house_number_rate.unwrap_or(1.0);
            fraction(house_number_rate).map_err(|e| at.err("house_number_rate", e))?;
            Params::Street { house_number_rate }
        }
        FieldKind::Reference => reference(&at, f, names)?,
        _ => Params::None,
    };
    let misplaced = [
        (
            "words",
            f.words.is_some(),
            matches!(
                params,
                Params::Text { .. } | Params::Company { .. } | Params::City { .. }
            ),
        ),
        (
            "templates",
            f.templates.is_some(),
            matches!(f.kind, FieldKind::Phone | FieldKind::PostalCode),
        ),
        (
            "local_parts",
            f.local_parts.is_some(),
            f.kind == FieldKind::Email,
        ),
        (
            "free_mail_rate",
            f.free_mail_rate.is_some(),
            f.kind == FieldKind::Email,
        ),
        (
            "tlds",
            f.tlds.is_some(),
            matches!(params, Params::Address { .. }),
        ),
        (
            "suffixes",
            f.suffixes.is_some(),
            f.kind == FieldKind::Company,
        ),
        (
            "house_number_rate",
            f.house_number_rate.is_some(),
            f.kind == FieldKind::Street,
        ),
        (
            "upper_rate",
            f.upper_rate.is_some() || f.lower_rate.is_some(),
            f.kind.is_text()
                || matches!(
                    f.kind,
                    FieldKind::Email | FieldKind::Domain | FieldKind::Url
                ),
        ),
    ];
    if let Some((key, ..)) = misplaced.iter().find(|(_, set, fits)| *set && !fits) {
        return Err(at.err(
            key,
            format!("is not a setting of a {:?} field; remove it", f.kind),
        ));
    }
    let case = Case {
        upper_rate: f.upper_rate.unwrap_or(0.0),
        lower_rate: f.lower_rate.unwrap_or(0.0),
    };
    fraction(case.upper_rate).map_err(|e| at.err("upper_rate", e))?;
    fraction(case.lower_rate).map_err(|e| at.err("lower_rate", e))?;
    if case.upper_rate + case.lower_rate > 1.0 {
        return Err(at.err("lower_rate", "upper_rate + lower_rate exceeds 1"));
    }
    let spacing = spacing(&at, f)?;
    Ok(FieldSpec {
        name: f.name.clone(),
        kind: f.kind,
        null_rate: f.null_rate,
        blank_rate: f.blank_rate,
        unique: f.unique,
        max_length: f.max_length,
        comparator: f.compare.unwrap_or(f.kind.default_comparator()),
        params,
        case,
        spacing,
        given: None,
    })
}

/// A postal code template: `#` and `@` placeholders (at least one), spaces and dashes.
fn postal_format(t: &str) -> bool {
    t.contains(['#', '@']) && t.chars().all(|c| matches!(c, '#' | '@' | ' ' | '-'))
}

/// `leading_space_rate`, `trailing_space_rate`, `double_space_rate`, `tab_rate`, `nbsp_rate`.
fn spacing(at: &At<'_>, f: &FieldFile) -> Result<Spacing, ConfigError> {
    let keys = [
        ("leading_space_rate", f.leading_space_rate),
        ("trailing_space_rate", f.trailing_space_rate),
        ("double_space_rate", f.double_space_rate),
        ("tab_rate", f.tab_rate),
        ("nbsp_rate", f.nbsp_rate),
    ];
    for (key, rate) in keys {
        let Some(rate) = rate else { continue };
        if !f.kind.has_spacing() {
            return Err(at.err(
                key,
                format!(
                    "is not a setting of a {:?} field (whitespace habits apply to names, companies, addresses, text, email, domain, url, phone and postal code); remove it",
                    f.kind
                ),
            ));
        }
        fraction(rate).map_err(|e| at.err(key, e))?;
    }
    let rate = |r: Option<f64>| r.unwrap_or(0.0);
    Ok(Spacing {
        leading: rate(f.leading_space_rate),
        trailing: rate(f.trailing_space_rate),
        double: rate(f.double_space_rate),
        tab: rate(f.tab_rate),
        nbsp: rate(f.nbsp_rate),
    })
}

/// Resolves every field's `given` against the object's other fields: the field conditioned on
/// exists, is an enum, boolean or phone that is not itself conditioned, and every `when` is one
/// of its values (templates); an enum's `value`s are its own values, a phone's are templates.
fn givens(at: &At<'_>, files: &[FieldFile], fields: &mut [FieldSpec]) -> Result<(), ConfigError> {
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    for (i, f) in files.iter().enumerate() {
        let at = At {
            field: Some(&f.name),
            ..*at
        };
        let (given, values) = match (&f.given, &f.given_values) {
            (None, None) => continue,
            (Some(g), Some(v)) => (g, v),
            (Some(_), None) => {
                return Err(at.err(
                    "given",
                    "needs given_values = [{ when = \"..\", value = \"..\", weight = .. }, ...]",
                ));
            }
            (None, Some(_)) => {
                return Err(at.err(
                    "given_values",
                    "needs given = \"<the field it depends on>\"",
                ));
            }
        };
        if !matches!(
            f.kind,
            FieldKind::Enum | FieldKind::Phone | FieldKind::PostalCode
        ) {
            return Err(at.err(
                "given",
                format!(
                    "is not a setting of a {:?} field (only enum, phone and postal code fields can depend on another field); remove it",
                    f.kind
                ),
            ));
        }
        let p = names.iter().position(|n| n == given).ok_or_else(|| {
            at.err(
                "given",
                format!(
                    "no field \"{given}\"{} in this object (fields: {})",
                    suggestion(given, &names),
                    names.join(", ")
                ),
            )
        })?;
        if p == i {
            return Err(at.err("given", "a field cannot depend on itself"));
        }
        if files[p].given.is_some() {
            return Err(at.err(
                "given",
                format!(
                    "\"{given}\" depends on another field itself; a field may only depend on one that does not"
                ),
            ));
        }
        let parent = &fields[p];
        let keys: Option<Vec<&str>> = match &parent.params {
            Params::Enum(v) => Some(v.iter().map(|(v, _)| v.as_str()).collect()),
            Params::PhoneTemplates(t) => Some(t.iter().map(|(v, _)| v.as_str()).collect()),
            Params::Boolean { .. } => Some(vec!["true", "false"]),
            _ => None,
        };
        let Some(keys) = keys else {
            return Err(at.err(
                "given",
                format!(
                    "\"{given}\" is a {:?} field; a field may depend on an enum, a boolean or a phone with templates",
                    parent.kind
                ),
            ));
        };
        let own: Option<Vec<&str>> = match &fields[i].params {
            Params::Enum(v) => Some(v.iter().map(|(v, _)| v.as_str()).collect()),
            _ => None,
        };
        let mut cases: Vec<(String, Vec<(String, f64)>)> = Vec::new();
        for v in values {
            if !keys.contains(&v.when.as_str()) {
                return Err(at.err(
                    "given_values",
                    format!(
                        "when = {:?} is not a value of \"{given}\" ({}); use one of them",
                        v.when,
                        keys.join(", ")
                    ),
                ));
            }
            match &own {
                Some(own) if !own.contains(&v.value.as_str()) => {
                    return Err(at.err(
                        "given_values",
                        format!(
                            "value = {:?} is not one of this enum's values; list it in values first",
                            v.value
                        ),
                    ));
                }
                None if f.kind == FieldKind::PostalCode && !postal_format(&v.value) => {
                    return Err(at.err(
                        "given_values",
                        format!(
                            "template {:?} is not a postal code format: write `#` for a digit, `@` for a letter",
                            v.value
                        ),
                    ));
                }
                None if f.kind == FieldKind::Phone && !v.value.contains('#') => {
                    return Err(at.err(
                        "given_values",
                        format!(
                            "template {:?} has no digit: write `#` for each digit",
                            v.value
                        ),
                    ));
                }
                _ => {}
            }
            match cases.iter_mut().find(|(k, _)| *k == v.when) {
                Some((_, t)) => t.push((v.value.clone(), v.weight)),
                None => cases.push((v.when.clone(), vec![(v.value.clone(), v.weight)])),
            }
        }
        let mut resolved = Vec::with_capacity(cases.len());
        for (when, table) in cases {
            let table = cumulative(table.into_iter())
                .map_err(|m| at.err("given_values", format!("when = {when:?}: {m}")))?;
            resolved.push((when, table));
        }
        fields[i].given = Some(Given {
            field: p,
            cases: resolved,
        });
    }
    Ok(())
}

/// `[{ value, weight }, ...]` → values with cumulative weights.
fn weighted(
    at: &At<'_>,
    key: &str,
    items: &[EnumValue],
) -> Result<Vec<(String, f64)>, ConfigError> {
    cumulative(items.iter().map(|v| (v.value.clone(), v.weight))).map_err(|m| at.err(key, m))
}

/// `words = [[2, 0.5], [6, 0.5]]` → word counts with cumulative weights (empty when unset).
fn word_counts(at: &At<'_>, f: &FieldFile) -> Result<Vec<(u32, f64)>, ConfigError> {
    let Some(words) = &f.words else {
        return Ok(Vec::new());
    };
    if words.iter().any(|(n, _)| *n == 0) {
        return Err(at.err("words", "word counts start at 1"));
    }
    cumulative(words.iter().copied()).map_err(|m| at.err("words", m))
}

fn address(at: &At<'_>, f: &FieldFile) -> Result<Params, ConfigError> {
    let local_parts = match &f.local_parts {
        Some(l) => {
            if let Some(bad) = l.iter().find(|v| !LOCAL_PARTS.contains(&v.value.as_str())) {
                return Err(at.err(
                    "local_parts",
                    format!(
                        "unknown style {:?}; use one of {}",
                        bad.value,
                        LOCAL_PARTS.join(", ")
                    ),
                ));
            }
            weighted(at, "local_parts", l)?
        }
        None => Vec::new(),
    };
    if let Some(rate) = f.free_mail_rate {
        fraction(rate).map_err(|e| at.err("free_mail_rate", e))?;
    }
    let tlds = match &f.tlds {
        Some(t) => {
            if let Some(bad) = t.iter().find(|v| {
                v.value.is_empty()
                    || v.value.starts_with('.')
                    || !v
                        .value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'.' || b.is_ascii_digit())
            }) {
                return Err(at.err(
                    "tlds",
                    format!(
                        "{:?} is not a top-level domain; write it without the dot, lower case (\"com\", \"co.uk\")",
                        bad.value
                    ),
                ));
            }
            weighted(at, "tlds", t)?
        }
        None => Vec::new(),
    };
    Ok(Params::Address {
        local_parts,
        free_mail_rate: f.free_mail_rate,
        tlds,
    })
}

fn number(at: &At<'_>, f: &FieldFile) -> Result<Params, ConfigError> {
    let scale = match f.kind {
        FieldKind::Decimal => f.scale.unwrap_or(2),
        _ => 0,
    };
    if scale > 9 {
        return Err(at.err("scale", "at most 9 digits after the point"));
    }
    let (min, max) = (f.min.unwrap_or(0.0), f.max.unwrap_or(1_000_000.0));
    if max < min {
        return Err(at.err("max", format!("max ({max}) is below min ({min})")));
    }
    let dist = match (&f.quantiles, f.dist) {
        (Some(_), Some(_)) => {
            return Err(at.err("quantiles", "give either dist or quantiles, not both"));
        }
        (Some(q), None) => NumberDist::quantiles(q.clone()).map_err(|m| at.err("quantiles", m))?,
        (None, None | Some(DistKind::Uniform)) => NumberDist::Uniform { min, max },
        (None, Some(kind)) => {
            let mean = f
                .mean
                .ok_or_else(|| at.err("mean", "a normal or log_normal dist needs mean = .."))?;
            let sd =
                f.sd.ok_or_else(|| at.err("sd", "a normal or log_normal dist needs sd = .."))?;
            if !(sd.is_finite() && sd > 0.0) {
                return Err(at.err("sd", "must be a positive number"));
            }
            match kind {
                DistKind::Normal => NumberDist::Normal { mean, sd, min, max },
                _ => {
                    if mean <= 0.0 {
                        return Err(at.err("mean", "a log_normal mean must be positive"));
                    }
                    // Parameters of the underlying normal for the requested mean and sd.
                    let sigma2 = (1.0 + (sd / mean).powi(2)).ln();
                    NumberDist::LogNormal {
                        mu: mean.ln() - sigma2 / 2.0,
                        sigma: sigma2.sqrt(),
                        min,
                        max,
                    }
                }
            }
        }
    };
    Ok(Params::Number { dist, scale })
}

fn time_range(at: &At<'_>, f: &FieldFile) -> Result<Params, ConfigError> {
    let parse = |key: &str, v: &Option<String>| {
        let v = v.as_deref().ok_or_else(|| {
            at.err(
                key,
                format!(
                    "a {:?} field needs {key} = \"2024-01-01T00:00:00Z\"",
                    f.kind
                ),
            )
        })?;
        let full = if v.len() == 10 {
            format!("{v}T00:00:00Z")
        } else {
            v.to_string()
        };
        humantime::parse_rfc3339_weak(&full).map_err(|_| {
            at.err(
                key,
                format!("{v:?} is not an RFC 3339 time (e.g. \"2024-01-01T00:00:00Z\")"),
            )
        })
    };
    let from = parse("from", &f.from)?;
    let to = parse("to", &f.to)?;
    let span = to
        .duration_since(from)
        .map_err(|_| at.err("to", "`to` is before `from`"))?;
    Ok(Params::Time { from, span })
}

fn reference(at: &At<'_>, f: &FieldFile, names: &[&str]) -> Result<Params, ConfigError> {
    let target = f
        .target
        .as_deref()
        .ok_or_else(|| at.err("target", "a reference needs target = \"<object name>\""))?;
    let index = names.iter().position(|n| *n == target).ok_or_else(|| {
        at.err(
            "target",
            format!(
                "no object \"{target}\"{} (objects: {})",
                suggestion(target, names),
                names.join(", ")
            ),
        )
    })?;
    if target == at.object {
        return Err(at.err("target", "an object cannot reference itself"));
    }
    let per_target = match &f.per_target {
        None => None,
        Some(p) => Some(
            match (&p.weights, p.max, p.mean) {
                (Some(w), None, None) => CountDist::from_weights(p.min, w),
                (Some(_), _, _) => Err("give either weights or max/mean, not both".into()),
                (None, Some(max), None) => CountDist::uniform(p.min, max),
                (None, Some(max), Some(mean)) => CountDist::geometric(p.min, max, mean),
                (None, None, _) => Err("needs max = .. (and optionally mean = ..)".into()),
            }
            .map_err(|m| at.err("per_target", m))?,
        ),
    };
    if let Some(d) = &per_target
        && d.max() > 100_000
    {
        return Err(at.err("per_target", "at most 100000 rows per target row"));
    }
    Ok(Params::Reference {
        target: index,
        per_target,
    })
}

/// Decides how many rows each object has. The root's owning reference makes its target the
/// root's parent; every other object needs an owning reference to an object already placed.
fn layouts(src: &Source, objects: &[ObjectShape], root: usize) -> Result<Vec<Layout>, ConfigError> {
    let mut layouts: Vec<Option<Layout>> = vec![None; objects.len()];
    layouts[root] = Some(Layout::Root);
    if let Some((field, parent, dist)) = objects[root].owning_reference() {
        if dist.min == 0 {
            let at = At {
                src,
                object: &objects[root].name,
                field: Some(&objects[root].fields[field].name),
            };
            return Err(at.err(
                "per_target",
                "the root's owning reference needs min >= 1 (every parent row owns at least one root row)",
            ));
        }
        layouts[parent] = Some(Layout::ParentOfRoot);
    }
    loop {
        let mut progressed = false;
        for (i, o) in objects.iter().enumerate() {
            if layouts[i].is_some() {
                continue;
            }
            if let Some((field, owner, _)) = o.owning_reference()
                && layouts[owner].is_some()
            {
                layouts[i] = Some(Layout::ChildOf { owner, field });
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    layouts
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            l.ok_or_else(|| {
                let at = At { src, object: &objects[i].name, field: None };
                at.err(
                    "fields",
                    format!(
                        "cannot tell how many rows of \"{}\" to make: give it a reference with per_target to the root \"{}\" or to an object laid out from it",
                        objects[i].name, objects[root].name
                    ),
                )
            })
        })
        .collect()
}

/// The object that owns rows of `object`, from the layouts.
fn owner(objects: &[ObjectShape], root: usize, object: usize) -> Option<usize> {
    match objects[object].layout {
        Layout::Root => objects[root].owning_reference().map(|(_, p, _)| p),
        Layout::ParentOfRoot => None,
        Layout::ChildOf { owner, .. } => Some(owner),
    }
}

/// A reference without `per_target` must be resolvable from the row alone: it points at an
/// owner (directly or further up), or, from under the root's parent, at one of the parent's root
/// rows (a deal's contact at its company).
fn plain_references(src: &Source, objects: &[ObjectShape], root: usize) -> Result<(), ConfigError> {
    for (x, o) in objects.iter().enumerate() {
        for f in &o.fields {
            let Params::Reference {
                target,
                per_target: None,
            } = f.params
            else {
                continue;
            };
            let mut at_object = x;
            let mut ok = false;
            while let Some(up) = owner(objects, root, at_object) {
                at_object = up;
                if up == target {
                    ok = true;
                    break;
                }
            }
            ok = ok || (objects[at_object].layout == Layout::ParentOfRoot && target == root);
            if !ok {
                let at = At {
                    src,
                    object: &o.name,
                    field: Some(&f.name),
                };
                return Err(at.err(
                    "target",
                    format!(
                        "\"{}\" does not own \"{}\": a reference without per_target must point at an owning object (or, under the root's parent, at the root); add per_target to make it the owning reference",
                        objects[target].name, o.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Refuses a cycle of required references (`a` needs a `b` that needs an `a`): no row could be
/// created first in a CRM.
fn required_cycle(src: &Source, objects: &[ObjectShape]) -> Result<(), ConfigError> {
    let edges: Vec<Vec<usize>> = objects
        .iter()
        .map(|o| {
            o.fields
                .iter()
                .filter(|f| f.required())
                .filter_map(|f| match f.params {
                    Params::Reference { target, .. } => Some(target),
                    _ => None,
                })
                .collect()
        })
        .collect();
    // 0 unvisited, 1 on the stack, 2 done.
    fn visit(i: usize, edges: &[Vec<usize>], state: &mut [u8], path: &mut Vec<usize>) -> bool {
        state[i] = 1;
        path.push(i);
        for &j in &edges[i] {
            if state[j] == 1 {
                path.push(j);
                return true;
            }
            if state[j] == 0 && visit(j, edges, state, path) {
                return true;
            }
        }
        path.pop();
        state[i] = 2;
        false
    }
    let mut state = vec![0u8; objects.len()];
    for i in 0..objects.len() {
        let mut path = Vec::new();
        if state[i] == 0 && visit(i, &edges, &mut state, &mut path) {
            let names: Vec<&str> = path.iter().map(|&k| objects[k].name.as_str()).collect();
            let at = At {
                src,
                object: &objects[path[0]].name,
                field: None,
            };
            return Err(at.err(
                "fields",
                format!(
                    "a cycle of required references ({}): give one of these references a null_rate above 0",
                    names.join(" → ")
                ),
            ));
        }
    }
    Ok(())
}

fn suggestion(wrong: &str, valid: &[&str]) -> String {
    crate::config::suggest_closest(wrong, valid)
        .map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default()
}

pub(crate) fn cumulative<T>(
    items: impl Iterator<Item = (T, f64)>,
) -> Result<Vec<(T, f64)>, String> {
    let items: Vec<(T, f64)> = items.collect();
    if items.is_empty() {
        return Err("needs at least one entry".into());
    }
    if items.iter().any(|(_, w)| !(w.is_finite() && *w >= 0.0)) {
        return Err("weights must be non-negative numbers".into());
    }
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return Err("weights must not all be zero".into());
    }
    let mut acc = 0.0;
    let n = items.len();
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, (v, w))| {
            acc += w / total;
            (v, if i + 1 == n { 1.0 } else { acc })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> ConfigError {
        Shape::from_source(&Source::embedded("s.toml", text)).unwrap_err()
    }

    const HEAD: &str = "root = \"contact\"\nlocales = [{ locale = \"en_US\", weight = 1.0 }]\n";

    #[test]
    fn the_shipped_shapes_are_valid() {
        for (name, text) in [
            ("contacts.toml", super::super::DEMO_SHAPE),
            (
                "b2b-saas.toml",
                include_str!("../../datasets/shapes/b2b-saas.toml"),
            ),
            ("b2c.toml", include_str!("../../datasets/shapes/b2c.toml")),
        ] {
            let shape =
                Shape::from_source(&Source::embedded(name, text)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(shape.locales.last().unwrap().1, 1.0);
        }
        let demo = Shape::demo();
        assert_eq!(demo.object(), "contact");
        assert!(demo.field("email").is_some());
        let b2b = Shape::from_source(&Source::embedded(
            "b2b-saas.toml",
            include_str!("../../datasets/shapes/b2b-saas.toml"),
        ))
        .unwrap();
        assert_eq!(b2b.object(), "contact");
        assert_eq!(
            b2b.object_named("company").unwrap().1.layout,
            Layout::ParentOfRoot
        );
        assert!(matches!(
            b2b.object_named("deal").unwrap().1.layout,
            Layout::ChildOf { .. }
        ));
    }

    /// Each wrong shape is refused with its line and a message that says what to do.
    #[test]
    fn wrong_shapes_are_refused_with_line_key_and_fix() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"emial\"\n",
                7,
                "did you mean \"email\"",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"phone\"\nnull_rate = 3.0\n",
                8,
                "not a fraction",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"c\"\nkind = \"reference\"\ntarget = \"compny\"\nper_target = { min = 1, max = 3 }\n[[objects]]\nname = \"company\"\n[[objects.fields]]\nname = \"n\"\nkind = \"company\"\n",
                8,
                "no object \"compny\" (did you mean \"company\"?)",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"email\"\nblank_rate = -0.1\n",
                8,
                "not a fraction",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"city\"\nunique = true\n",
                8,
                "unique is supported for",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"email\"\n[objects.defects]\nmalformed_phone = 0.1\n",
                9,
                "needs a phone field",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"email\"\n[[objects]]\nname = \"deal\"\n[[objects.fields]]\nname = \"y\"\nkind = \"integer\"\n",
                9,
                "cannot tell how many rows of \"deal\"",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"email\"\nlocal_parts = [{ value = \"lastfirst\", weight = 1.0 }]\n",
                8,
                "unknown style \"lastfirst\"; use one of first.last",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"domain\"\ntlds = [{ value = \".com\", weight = 1.0 }]\n",
                8,
                "not a top-level domain",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"phone\"\ntemplates = [{ value = \"call me\", weight = 1.0 }]\n",
                8,
                "has no digit: write `#`",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"city\"\ntemplates = [{ value = \"###\", weight = 1.0 }]\n",
                8,
                "is not a setting of a City field",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"city\"\nhouse_number_rate = 0.5\n",
                8,
                "house_number_rate: is not a setting of a City field",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"street\"\nhouse_number_rate = 1.2\n",
                8,
                "not a fraction",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"first_name\"\nupper_rate = 0.7\nlower_rate = 0.5\n",
                9,
                "upper_rate + lower_rate exceeds 1",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"integer\"\ndouble_space_rate = 0.1\n",
                8,
                "whitespace habits apply to names",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"x\"\nkind = \"company\"\nnbsp_rate = 1.5\n",
                8,
                "not a fraction",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"country\"\nkind = \"enum\"\nvalues = [{ value = \"US\", weight = 1.0 }]\n[[objects.fields]]\nname = \"stage\"\nkind = \"enum\"\nvalues = [{ value = \"lead\", weight = 1.0 }]\ngiven = \"contry\"\ngiven_values = [{ when = \"US\", value = \"lead\", weight = 1.0 }]\n",
                13,
                "no field \"contry\" (did you mean \"country\"?)",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"country\"\nkind = \"enum\"\nvalues = [{ value = \"US\", weight = 1.0 }]\n[[objects.fields]]\nname = \"stage\"\nkind = \"enum\"\nvalues = [{ value = \"lead\", weight = 1.0 }]\ngiven = \"country\"\ngiven_values = [{ when = \"DE\", value = \"lead\", weight = 1.0 }]\n",
                14,
                "when = \"DE\" is not a value of \"country\" (US)",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"country\"\nkind = \"enum\"\nvalues = [{ value = \"US\", weight = 1.0 }]\n[[objects.fields]]\nname = \"stage\"\nkind = \"enum\"\nvalues = [{ value = \"lead\", weight = 1.0 }]\ngiven = \"country\"\ngiven_values = [{ when = \"US\", value = \"won\", weight = 1.0 }]\n",
                14,
                "value = \"won\" is not one of this enum's values",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"country\"\nkind = \"enum\"\nvalues = [{ value = \"US\", weight = 1.0 }]\n[[objects.fields]]\nname = \"city\"\nkind = \"city\"\ngiven = \"country\"\ngiven_values = [{ when = \"US\", value = \"Austin\", weight = 1.0 }]\n",
                12,
                "only enum, phone and postal code fields can depend on another field",
            ),
            (
                "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"country\"\nkind = \"enum\"\nvalues = [{ value = \"US\", weight = 1.0 }]\n[[objects.fields]]\nname = \"phone\"\nkind = \"phone\"\ngiven = \"country\"\n",
                12,
                "needs given_values",
            ),
        ];
        for (body, line, needle) in cases {
            let err = error_of(&format!("{HEAD}{body}"));
            assert!(err.message.contains(needle), "{err}");
            assert_eq!(err.line, Some(*line), "{err}");
        }
    }

    /// Whitespace habits and a field's distribution given another field are read into the spec.
    #[test]
    fn spacing_and_given_are_read() {
        let text = format!(
            "{HEAD}[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"phone\"\nkind = \"phone\"\n\
             given = \"country\"\ngiven_values = [\n  {{ when = \"US\", value = \"+1 ###\", weight = 3.0 }},\n  {{ when = \"US\", value = \"###\", weight = 1.0 }},\n  {{ when = \"DE\", value = \"+49 ###\", weight = 1.0 }},\n]\n\
             trailing_space_rate = 0.25\n\
             [[objects.fields]]\nname = \"country\"\nkind = \"enum\"\nvalues = [{{ value = \"US\", weight = 1.0 }}, {{ value = \"DE\", weight = 1.0 }}]\n"
        );
        let shape = Shape::from_source(&Source::embedded("s.toml", &text)).unwrap();
        let phone = &shape.fields()[0];
        assert_eq!(phone.spacing.trailing, 0.25);
        assert_eq!(phone.spacing.leading, 0.0);
        let given = phone.given.as_ref().unwrap();
        assert_eq!(given.field, 1);
        assert_eq!(
            given.case("US").unwrap(),
            &[("+1 ###".to_string(), 0.75), ("###".to_string(), 1.0)]
        );
        assert_eq!(given.case("DE").unwrap(), &[("+49 ###".to_string(), 1.0)]);
        assert!(given.case("FR").is_none());
    }

    /// `[objects.updates]` mistakes are refused with the line of the key and what to write.
    #[test]
    fn wrong_update_streams_are_refused_with_line_key_and_fix() {
        let object = "[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"email\"\nkind = \"email\"\n\
                      [[objects.fields]]\nname = \"key\"\nkind = \"uuid\"\n[objects.updates]\n";
        let cases: &[(&str, usize, &str)] = &[
            (
                "rate = 1.5\nfields = [{ name = \"email\" }]\n",
                12,
                "not a fraction",
            ),
            (
                "rate = 0.5\nfields = [{ name = \"emial\" }]\n",
                13,
                "did you mean \"email\"",
            ),
            (
                "rate = 0.5\nfields = [{ name = \"key\" }]\n",
                13,
                "identities and references do not change",
            ),
            (
                "rate = 0.5\nmax_fields = 2\nfields = [{ name = \"email\" }]\n",
                13,
                "between 1 and the number of fields listed (1)",
            ),
            (
                "rate = 0.5\nmax_versions = 0\nfields = [{ name = \"email\" }]\n",
                13,
                "between 1 and 1000",
            ),
            ("rate = 0.5\n", 11, "name the fields an update may change"),
            (
                "rate = 0.5\nfields = [{ name = \"email\", weight = -1.0 }]\n",
                13,
                "non-negative",
            ),
        ];
        for (body, line, needle) in cases {
            let err = error_of(&format!("{HEAD}{object}{body}"));
            assert!(err.message.contains(needle), "{body}: {err}");
            assert_eq!(err.line, Some(*line), "{body}: {err}");
        }
        let ok = Shape::from_source(&Source::embedded(
            "s.toml",
            &format!("{HEAD}{object}rate = 0.25\ndelete_rate = 0.1\nfields = [{{ name = \"email\", weight = 2.0 }}]\n"),
        ))
        .unwrap();
        let spec = ok.root().updates.clone().unwrap();
        assert_eq!(
            (spec.rate, spec.delete_rate, spec.max_versions),
            (0.25, 0.1, 1)
        );
        assert_eq!(spec.fields, vec![(0, 1.0)]);
    }

    #[test]
    fn a_cycle_of_required_references_is_refused() {
        let text = format!(
            "{HEAD}[[objects]]\nname = \"contact\"\n[[objects.fields]]\nname = \"d\"\nkind = \"reference\"\ntarget = \"deal\"\n\
             [[objects]]\nname = \"deal\"\n[[objects.fields]]\nname = \"c\"\nkind = \"reference\"\ntarget = \"contact\"\nper_target = {{ min = 0, max = 3 }}\n"
        );
        let err = error_of(&text);
        assert!(
            err.message.contains("cycle of required references"),
            "{err}"
        );
        assert!(err.message.contains("contact → deal → contact"), "{err}");
        // The same with a nullable back-reference is fine… except that contact → deal is not an
        // owning relation, which is refused on its own terms.
        let text = text.replacen(
            "target = \"deal\"\n",
            "target = \"deal\"\nnull_rate = 0.5\n",
            1,
        );
        let err = error_of(&text);
        assert!(err.message.contains("does not own"), "{err}");
    }
}
