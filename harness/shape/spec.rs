//! The validated [`Shape`]: objects, their fields and relations, locales and labelled defects.
//! Everything here has been checked by `file.rs`, so the generator trusts every rate, weight and
//! reference it is given.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::dist::{CountDist, NumberDist};

/// What a field holds; decides how it is generated and how it is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    FirstName,
    LastName,
    FullName,
    Email,
    Phone,
    Company,
    Domain,
    Url,
    JobTitle,
    Street,
    City,
    Region,
    PostalCode,
    Country,
    Enum,
    Integer,
    Decimal,
    Boolean,
    Date,
    Timestamp,
    Text,
    Uuid,
    ExternalId,
    Reference,
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
            FieldKind::Email | FieldKind::Domain | FieldKind::Url => Comparator::CaseInsensitive,
            FieldKind::Phone => Comparator::E164,
            FieldKind::Timestamp => Comparator::Time,
            FieldKind::FirstName
            | FieldKind::LastName
            | FieldKind::FullName
            | FieldKind::Company => Comparator::Trimmed,
            _ => Comparator::Exact,
        }
    }

    /// Kinds whose values the generator can make unique by construction.
    pub fn can_be_unique(self) -> bool {
        matches!(
            self,
            FieldKind::Email
                | FieldKind::Domain
                | FieldKind::Url
                | FieldKind::Company
                | FieldKind::Integer
                | FieldKind::Uuid
                | FieldKind::ExternalId
        )
    }

    /// Kinds that hold human text, where unicode edge cases and over-long values are injected.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldKind::FirstName
                | FieldKind::LastName
                | FieldKind::FullName
                | FieldKind::Company
                | FieldKind::JobTitle
                | FieldKind::Street
                | FieldKind::City
                | FieldKind::Text
        )
    }

    /// Kinds whose values carry whitespace habits (`leading_space_rate` … `nbsp_rate`): text,
    /// and the typed kinds people write by hand.
    pub fn has_spacing(self) -> bool {
        self.is_text()
            || matches!(
                self,
                FieldKind::Email
                    | FieldKind::Domain
                    | FieldKind::Url
                    | FieldKind::Phone
                    | FieldKind::PostalCode
            )
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

/// How phone numbers are spelt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneFormat {
    /// The spellings people type: `+1 (415) 555-0100`, `+1 415-555-0100`, `+14155550100`.
    #[default]
    Mixed,
    /// Always `+<country><number>`, no separators.
    E164,
    /// The national spelling with its country code and separators.
    National,
}

/// What the generator needs for one field kind beyond the kind itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Params {
    None,
    /// Enum values with cumulative weights (last is 1.0).
    Enum(Vec<(String, f64)>),
    /// Integer or decimal: the distribution and the digits after the point.
    Number {
        dist: NumberDist,
        scale: u32,
    },
    /// Share of `true`.
    Boolean {
        true_rate: f64,
    },
    /// Date or timestamp range.
    Time {
        from: SystemTime,
        span: Duration,
    },
    /// Free text: words per value, uniform in `min_words..=max_words` unless `words` (word counts
    /// with cumulative weights, learnt by `profile`) is set.
    Text {
        min_words: u32,
        max_words: u32,
        words: Vec<(u32, f64)>,
    },
    Phone(PhoneFormat),
    /// Phone spellings learnt from an export: templates where `#` is a digit, cumulative weights.
    PhoneTemplates(Vec<(String, f64)>),
    /// Postal code formats learnt from an export: templates where `#` is a digit and `@` a
    /// capital letter (`@#@ #@#`), cumulative weights.
    PostalTemplates(Vec<(String, f64)>),
    /// Email, domain or URL habits learnt from an export, each with cumulative weights: the
    /// local-part styles (`first.last`, `flast9`, …, see [`LOCAL_PARTS`]), the share of free-mail
    /// addresses and the top-level domains (`com`, `co.uk`); an empty list keeps the default.
    Address {
        local_parts: Vec<(String, f64)>,
        free_mail_rate: Option<f64>,
        tlds: Vec<(String, f64)>,
    },
    /// Company names learnt from an export: words per name and legal-form suffixes (`""`: none),
    /// cumulative weights.
    Company {
        words: Vec<(u32, f64)>,
        suffixes: Vec<(String, f64)>,
    },
    /// City names learnt from an export: words per name, cumulative weights.
    City {
        words: Vec<(u32, f64)>,
    },
    /// Street lines learnt from an export: the share written with a house number (a street
    /// field without it always has one).
    Street {
        house_number_rate: f64,
    },
    /// A reference to another object, by its index in [`Shape::objects`]. `per_target`, when
    /// set, makes this the *owning* reference: this object's rows are laid out under the target's
    /// rows, so many of this object exist per target row.
    Reference {
        target: usize,
        per_target: Option<CountDist>,
    },
}

/// One field of an object, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub name: String,
    pub kind: FieldKind,
    /// Share of rows whose value is absent (null in the files, "not set" in a CRM).
    pub null_rate: f64,
    /// Share of rows whose value is an empty string (present but blank).
    pub blank_rate: f64,
    /// Values never repeat within the object (nulls aside).
    pub unique: bool,
    /// The vendor's field limit, in characters; `over_long` defects exceed it.
    pub max_length: Option<usize>,
    pub comparator: Comparator,
    pub params: Params,
    /// Writing habits: shares of values written in capitals or in lower case.
    pub case: Case,
    /// Whitespace habits: shares of values with stray, doubled or odd spaces.
    pub spacing: Spacing,
    /// The field's distribution given another field's value, when `profile` found them
    /// strongly associated (country ↔ phone format, country ↔ stage).
    pub given: Option<Given>,
}

/// Shares of a field's values with whitespace habits (learnt by `profile`; all 0 by default):
/// a leading or a trailing space, a doubled inner space, a tab or a non-breaking space.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Spacing {
    pub leading: f64,
    pub trailing: f64,
    pub double: f64,
    pub tab: f64,
    pub nbsp: f64,
}

impl Spacing {
    pub fn any(&self) -> bool {
        self.leading + self.trailing + self.double + self.tab + self.nbsp > 0.0
    }
}

/// A field drawn from a distribution that depends on another field of the same row: for each
/// value of the `field` (an enum's value, a boolean's `true`/`false`, a phone's template), the
/// values (enum) or templates (phone, postal code) with cumulative weights. A row whose other field is
/// absent or holds a value not listed keeps the field's own distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    /// The index of the field conditioned on, in the object's fields.
    pub field: usize,
    pub cases: Vec<(String, Vec<(String, f64)>)>,
}

impl Given {
    /// The distribution for the other field's value `key`.
    pub fn case(&self, key: &str) -> Option<&[(String, f64)]> {
        self.cases
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, t)| t.as_slice())
    }
}

/// The key a field's value is conditioned on: an enum's value, `true`/`false`, a phone's
/// spelling with every digit written `#`.
pub fn given_key(kind: FieldKind, value: &str) -> Option<String> {
    match kind {
        FieldKind::Enum => Some(value.to_string()),
        FieldKind::Boolean => Some(
            match value.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "t" | "1" => "true",
                _ => "false",
            }
            .to_string(),
        ),
        FieldKind::Phone => {
            let v = value.trim();
            (!v.is_empty()).then(|| {
                v.chars()
                    .map(|c| if c.is_ascii_digit() { '#' } else { c })
                    .collect()
            })
        }
        _ => None,
    }
}

/// Shares of a field's values written ALL IN CAPITALS and all in lower case (learnt by
/// `profile`; both 0 by default: values keep the generator's spelling).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Case {
    pub upper_rate: f64,
    pub lower_rate: f64,
}

/// Email local-part styles a shape may name: the person's names joined so, `9` for a number
/// appended (`jane.doe42`).
pub const LOCAL_PARTS: [&str; 10] = [
    "first.last",
    "first_last",
    "first-last",
    "firstlast",
    "flast",
    "first.last9",
    "first_last9",
    "first-last9",
    "firstlast9",
    "flast9",
];

impl FieldSpec {
    /// A field that may never be absent: `missing_required` defects blank it on purpose.
    pub fn required(&self) -> bool {
        self.null_rate == 0.0 && self.blank_rate == 0.0
    }
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
    /// Email that no CRM can validate (`@` missing, doubled, spaces).
    #[serde(default)]
    pub invalid_email: f64,
    /// A near-duplicate of an earlier row (`dup_of` names it): typo, case, whitespace, swapped
    /// names, nickname, other email domain or reformatted phone.
    #[serde(default)]
    pub near_duplicate: f64,
    /// Phone with letters, too few digits or no country code.
    #[serde(default)]
    pub malformed_phone: f64,
    /// A text value longer than its field's `max_length`.
    #[serde(default)]
    pub over_long: f64,
    /// Emoji, right-to-left text or combining marks in a text value.
    #[serde(default)]
    pub unicode_edge: f64,
    /// A required field left empty.
    #[serde(default)]
    pub missing_required: f64,
    /// A reference to a row that does not exist.
    #[serde(default)]
    pub orphan_reference: f64,
    /// A date or timestamp outside its declared range.
    #[serde(default)]
    pub out_of_range_date: f64,
}

impl DefectRates {
    /// Every rate with its key, for validation.
    pub fn entries(&self) -> [(&'static str, f64); 10] {
        [
            ("email_uppercase", self.email_uppercase),
            ("name_padded", self.name_padded),
            ("invalid_email", self.invalid_email),
            ("near_duplicate", self.near_duplicate),
            ("malformed_phone", self.malformed_phone),
            ("over_long", self.over_long),
            ("unicode_edge", self.unicode_edge),
            ("missing_required", self.missing_required),
            ("orphan_reference", self.orphan_reference),
            ("out_of_range_date", self.out_of_range_date),
        ]
    }
}

/// The update stream of one object: which rows get later versions, how many, which fields each
/// version changes, and which rows end deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateSpec {
    /// Share of rows that get at least one update.
    pub rate: f64,
    /// An updated row gets `1..=max_versions` updates (uniform).
    pub max_versions: u32,
    /// Each update changes `1..=max_fields` distinct fields (uniform).
    pub max_fields: u32,
    /// Share of rows deleted after their updates (their last version's op is `delete`).
    pub delete_rate: f64,
    /// Fields that may change, by index in the object's fields, with cumulative weights (last is
    /// 1.0).
    pub fields: Vec<(usize, f64)>,
}

/// How many rows of an object exist, given the root's row count.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// The root object: `--records` rows, indices `0..records`.
    Root,
    /// The object the root's owning reference points at (companies for contacts): laid out in
    /// blocks of root rows, one row per run of root rows.
    ParentOfRoot,
    /// Rows laid out under another object's rows via this object's owning reference field.
    ChildOf { owner: usize, field: usize },
}

/// One CRM object (company, contact, deal), validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectShape {
    pub name: String,
    pub id_prefix: String,
    pub fields: Vec<FieldSpec>,
    pub defects: DefectRates,
    pub layout: Layout,
    /// Later versions of this object's rows, when the shape declares `[objects.updates]`.
    pub updates: Option<UpdateSpec>,
}

impl ObjectShape {
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The owning reference field (with `per_target`), if any.
    pub fn owning_reference(&self) -> Option<(usize, usize, &CountDist)> {
        self.fields
            .iter()
            .enumerate()
            .find_map(|(i, f)| match &f.params {
                Params::Reference {
                    target,
                    per_target: Some(dist),
                } => Some((i, *target, dist)),
                _ => None,
            })
    }
}

/// A validated shape: everything the generator needs, nothing personal.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    /// Every object, in the file's order.
    pub objects: Vec<ObjectShape>,
    /// The index of the root object (the one `--records` counts, and the one replay sends).
    pub root: usize,
    /// Locales with cumulative weights (last is 1.0).
    pub locales: Vec<(Locale, f64)>,
    /// The shape file's text, kept so generated files can carry it in their metadata.
    pub source_text: String,
}

impl Shape {
    /// The root object: what `demo` and `run` replay.
    pub fn root(&self) -> &ObjectShape {
        &self.objects[self.root]
    }

    /// The root object's name (`contact`).
    pub fn object(&self) -> &str {
        &self.root().name
    }

    /// The root object's fields.
    pub fn fields(&self) -> &[FieldSpec] {
        &self.root().fields
    }

    /// A field of the root object.
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.root().field(name)
    }

    /// The root object's field names, in column order.
    pub fn field_names(&self) -> Vec<String> {
        self.root().fields.iter().map(|f| f.name.clone()).collect()
    }

    /// The object called `name`, with its index.
    pub fn object_named(&self, name: &str) -> Option<(usize, &ObjectShape)> {
        self.objects
            .iter()
            .enumerate()
            .find(|(_, o)| o.name == name)
    }

    /// The embedded demo shape (contacts only).
    pub fn demo() -> Shape {
        Shape::from_source(&crate::config::Source::embedded(
            "datasets/shapes/contacts.toml",
            super::DEMO_SHAPE,
        ))
        .expect("the embedded demo shape is valid (checked by a test)")
    }
}
