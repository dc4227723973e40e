//! The shape file's serde form and the validated [`Shape`] built from it. Validation happens once
//! here, so the generator can trust every rate and every enum weight it is given.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use crate::config::{ConfigError, Source};
use crate::units::fraction;

/// What a field holds; decides how it is generated and how it is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    FirstName,
    LastName,
    Email,
    Phone,
    Company,
    JobTitle,
    Street,
    City,
    PostalCode,
    Country,
    Enum,
    Timestamp,
}

/// How a target value is judged equal to the source value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparator {
    /// Byte for byte.
    Exact,
    /// Equal after trimming surrounding whitespace.
    Trimmed,
    /// Equal after trimming and case folding (emails: CRMs lower-case them).
    CaseInsensitive,
    /// Equal as E.164 phone numbers (digits with the country code).
    E164,
    /// Equal as instants, whatever the timestamp spelling.
    Time,
}

impl FieldKind {
    /// The comparator a field of this kind gets unless the shape says otherwise.
    pub fn default_comparator(self) -> Comparator {
        match self {
            FieldKind::Email => Comparator::CaseInsensitive,
            FieldKind::Phone => Comparator::E164,
            FieldKind::Timestamp => Comparator::Time,
            FieldKind::FirstName | FieldKind::LastName | FieldKind::Company => Comparator::Trimmed,
            _ => Comparator::Exact,
        }
    }
}

/// A locale names and addresses are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Locale {
    #[serde(rename = "en_US")]
    EnUs,
    #[serde(rename = "de_DE")]
    DeDe,
    #[serde(rename = "fr_FR")]
    FrFr,
    #[serde(rename = "ja_JP")]
    JaJp,
    #[serde(rename = "pt_BR")]
    PtBr,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShapeFile {
    object: String,
    #[serde(default = "default_prefix")]
    id_prefix: String,
    locales: Vec<LocaleWeight>,
    fields: Vec<FieldFile>,
    #[serde(default)]
    defects: DefectRates,
}

fn default_prefix() -> String {
    "sp".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LocaleWeight {
    locale: Locale,
    weight: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    name: String,
    kind: FieldKind,
    #[serde(default)]
    null_rate: f64,
    compare: Option<Comparator>,
    #[serde(default)]
    values: Vec<EnumValue>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnumValue {
    value: String,
    weight: f64,
}

/// Rates of the defects the generator injects on purpose; each is labelled on the record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DefectRates {
    /// Email written in upper case (a CRM lower-cases it; accuracy must not count that).
    #[serde(default)]
    pub email_uppercase: f64,
    /// First name with surrounding whitespace.
    #[serde(default)]
    pub name_padded: f64,
    /// Email with its `@` missing.
    #[serde(default)]
    pub invalid_email: f64,
}

/// One field of the shape, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub name: String,
    pub kind: FieldKind,
    pub null_rate: f64,
    pub comparator: Comparator,
    /// Enum values with cumulative weights (last is 1.0); empty for other kinds.
    pub values: Vec<(String, f64)>,
    /// Timestamp range.
    pub range: Option<(SystemTime, Duration)>,
}

/// A validated shape: everything the generator needs, nothing personal.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub object: String,
    pub id_prefix: String,
    /// Locales with cumulative weights (last is 1.0).
    pub locales: Vec<(Locale, f64)>,
    pub fields: Vec<FieldSpec>,
    pub defects: DefectRates,
    /// The shape file's text, kept so generated files can carry it in their metadata.
    pub source_text: String,
}

impl Shape {
    /// Parses and validates a shape file.
    pub fn from_source(src: &Source) -> Result<Shape, ConfigError> {
        let file: ShapeFile = src.parse()?;
        if file.fields.is_empty() {
            return Err(src.invalid("fields", "a shape needs at least one [[fields]] entry"));
        }
        let locales = cumulative(file.locales.iter().map(|l| (l.locale, l.weight)), |m| {
            src.invalid("locales", m)
        })?;
        let mut fields = Vec::with_capacity(file.fields.len());
        for f in file.fields {
            if fields.iter().any(|g: &FieldSpec| g.name == f.name) {
                return Err(
                    src.invalid("fields", format!("field \"{}\" is declared twice", f.name))
                );
            }
            if f.name == "defects" || f.name == "external_id" || f.name == "record_idx" {
                return Err(src.invalid(
                    "fields",
                    format!(
                        "\"{}\" is reserved for ground truth; rename the field",
                        f.name
                    ),
                ));
            }
            fraction(f.null_rate)
                .map_err(|e| src.invalid("null_rate", format!("field {}: {e}", f.name)))?;
            let values = match f.kind {
                FieldKind::Enum if f.values.is_empty() => {
                    return Err(src.invalid(
                        "values",
                        format!(
                            "enum field \"{}\" needs values = [{{ value = \"..\", weight = 1.0 }}]",
                            f.name
                        ),
                    ));
                }
                FieldKind::Enum => {
                    cumulative(f.values.iter().map(|v| (v.value.clone(), v.weight)), |m| {
                        src.invalid("values", format!("field {}: {m}", f.name))
                    })?
                }
                _ => Vec::new(),
            };
            let range = match f.kind {
                FieldKind::Timestamp => Some(time_range(src, &f)?),
                _ => None,
            };
            fields.push(FieldSpec {
                comparator: f.compare.unwrap_or(f.kind.default_comparator()),
                name: f.name,
                kind: f.kind,
                null_rate: f.null_rate,
                values,
                range,
            });
        }
        for (key, rate) in [
            ("defects.email_uppercase", file.defects.email_uppercase),
            ("defects.name_padded", file.defects.name_padded),
            ("defects.invalid_email", file.defects.invalid_email),
        ] {
            fraction(rate).map_err(|e| src.invalid(key, e))?;
        }
        Ok(Shape {
            object: file.object,
            id_prefix: file.id_prefix,
            locales,
            fields,
            defects: file.defects,
            source_text: src.text.clone(),
        })
    }

    /// The demo's embedded contact shape.
    pub fn demo() -> Shape {
        Shape::from_source(&Source::embedded(
            "datasets/shapes/contacts.toml",
            super::DEMO_SHAPE,
        ))
        .expect("the embedded demo shape is valid (checked by a test)")
    }

    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn field_names(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.clone()).collect()
    }
}

fn cumulative<T>(
    items: impl Iterator<Item = (T, f64)>,
    err: impl Fn(String) -> ConfigError,
) -> Result<Vec<(T, f64)>, ConfigError> {
    let items: Vec<(T, f64)> = items.collect();
    if items.is_empty() {
        return Err(err("needs at least one entry".into()));
    }
    if items.iter().any(|(_, w)| !(w.is_finite() && *w >= 0.0)) {
        return Err(err("weights must be non-negative numbers".into()));
    }
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    if total <= 0.0 {
        return Err(err("weights must not all be zero".into()));
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

fn time_range(src: &Source, f: &FieldFile) -> Result<(SystemTime, Duration), ConfigError> {
    let parse = |key: &str, v: &Option<String>| -> Result<SystemTime, ConfigError> {
        let v = v.as_deref().ok_or_else(|| {
            src.invalid(
                key,
                format!(
                    "timestamp field \"{}\" needs {key} = \"2024-01-01T00:00:00Z\"",
                    f.name
                ),
            )
        })?;
        humantime::parse_rfc3339_weak(v).map_err(|_| {
            src.invalid(
                key,
                format!("{v:?} is not an RFC 3339 time (e.g. \"2024-01-01T00:00:00Z\")"),
            )
        })
    };
    let from = parse("from", &f.from)?;
    let to = parse("to", &f.to)?;
    let span = to
        .duration_since(from)
        .map_err(|_| src.invalid("to", format!("field {}: `to` is before `from`", f.name)))?;
    Ok((from, span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_demo_shape_is_valid() {
        let shape = Shape::demo();
        assert_eq!(shape.object, "contact");
        assert!(shape.field("email").is_some());
        assert_eq!(shape.locales.last().unwrap().1, 1.0);
    }

    #[test]
    fn a_wrong_shape_is_refused_with_key_and_fix() {
        let text = "object = \"contact\"\nlocales = [{ locale = \"en_US\", weight = 1.0 }]\n\
                    [[fields]]\nname = \"x\"\nkind = \"emial\"\n";
        let err = Shape::from_source(&Source::embedded("s.toml", text)).unwrap_err();
        assert_eq!(err.line, Some(5));
        assert!(err.message.contains("did you mean \"email\""), "{err}");

        let text = "object = \"contact\"\nlocales = [{ locale = \"en_US\", weight = 1.0 }]\n\
                    [[fields]]\nname = \"x\"\nkind = \"phone\"\nnull_rate = 3.0\n";
        let err = Shape::from_source(&Source::embedded("s.toml", text)).unwrap_err();
        assert!(err.to_string().contains("not a fraction"), "{err}");
    }
}
