//! Validity: would a strict CRM accept this value? One rule set per field kind, applied to the
//! source value and to the value the target holds, so a report can split what the source data
//! already carried (the generator's `invalid_email` defect, a blank required field) from what the
//! integration caused (a phone mangled out of E.164, an email cut short).
//!
//! The rules, per value (an empty value is judged only when the field is required):
//!
//! - *required*: a field the shape never leaves empty (`null_rate = 0`) must be non-empty;
//! - *email*: `local@domain`, one `@`, a 1–64 character local part without spaces, a domain of
//!   dot-separated labels (letters, digits, inner hyphens) ending in an alphabetic TLD;
//! - *phone*: only digits, spaces and `+ - ( ) .`, and an E.164 number once normalised
//!   (country code, 8–15 digits);
//! - *timestamp*: RFC 3339;
//! - *length*: at most [`max_len`] characters for the kind (emails 254, as RFC 5321 allows).

use crate::shape::{FieldKind, FieldSpec};

use super::normalize_e164;

/// Why a value is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// A required field is empty.
    Missing,
    /// Not the syntax the kind needs.
    Syntax,
    /// Longer than the kind allows.
    TooLong,
}

/// The longest value, in characters, a field of `kind` may hold.
pub fn max_len(kind: FieldKind) -> usize {
    match kind {
        FieldKind::Email => 254,
        FieldKind::Phone => 32,
        FieldKind::PostalCode => 16,
        FieldKind::Country => 64,
        FieldKind::Timestamp => 40,
        _ => 255,
    }
}

/// A field the shape never leaves empty is required.
pub fn is_required(field: &FieldSpec) -> bool {
    field.null_rate == 0.0
}

/// Judges one value of `field`; `None` is valid (an absent optional value is valid).
pub fn check(field: &FieldSpec, value: Option<&str>) -> Option<Invalid> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let Some(value) = value else {
        return is_required(field).then_some(Invalid::Missing);
    };
    if value.chars().count() > max_len(field.kind) {
        return Some(Invalid::TooLong);
    }
    let ok = match field.kind {
        FieldKind::Email => is_email(value),
        FieldKind::Phone => is_phone(value),
        FieldKind::Timestamp => humantime::parse_rfc3339_weak(value).is_ok(),
        _ => true,
    };
    (!ok).then_some(Invalid::Syntax)
}

/// Email syntax as CRMs validate it (a practical subset of RFC 5322, no quoted local parts).
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic));
    local_ok && domain_ok
}

/// A phone number that normalises to E.164 and holds nothing but phone punctuation.
pub fn is_phone(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && normalize_e164(value).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Comparator;

    fn field(kind: FieldKind, null_rate: f64) -> FieldSpec {
        FieldSpec {
            name: "f".into(),
            kind,
            null_rate,
            blank_rate: 0.0,
            unique: false,
            max_length: None,
            comparator: Comparator::Exact,
            params: crate::shape::Params::None,
            case: crate::shape::Case::default(),
            spacing: crate::shape::Spacing::default(),
            given: None,
        }
    }

    #[test]
    fn rules_per_kind() {
        use FieldKind::*;
        use Invalid::*;
        let long = "x".repeat(256);
        let cases: &[(FieldKind, f64, Option<&str>, Option<Invalid>)] = &[
            (Email, 0.1, Some("jane.doe@acme.com"), None),
            (Email, 0.1, Some("JANE.DOE@ACME.CO.UK"), None),
            (Email, 0.1, Some("jane.doeacme.com"), Some(Syntax)),
            (Email, 0.1, Some("jane@acme"), Some(Syntax)),
            (Email, 0.1, Some("jane doe@acme.com"), Some(Syntax)),
            (Email, 0.1, Some("jane@-acme.com"), Some(Syntax)),
            (Email, 0.1, Some("jane..doe@acme.com"), Some(Syntax)),
            (Email, 0.1, Some("jane@acme.c"), Some(Syntax)),
            (Email, 0.1, None, None),
            (Email, 0.0, None, Some(Missing)),
            (Email, 0.0, Some("   "), Some(Missing)),
            (Phone, 0.1, Some("+1 (415) 555-0132"), None),
            (Phone, 0.1, Some("0049 30 1234567"), None),
            (Phone, 0.1, Some("(415) 555-0132"), Some(Syntax)),
            (Phone, 0.1, Some("+1 415 555 01x2"), Some(Syntax)),
            (Phone, 0.1, Some("+1 41"), Some(Syntax)),
            (Timestamp, 0.1, Some("2024-01-01T00:00:00Z"), None),
            (Timestamp, 0.1, Some("yesterday"), Some(Syntax)),
            (Company, 0.1, Some(long.as_str()), Some(TooLong)),
            (Company, 0.1, Some("A&B <Ltd>"), None),
        ];
        for (kind, null_rate, value, want) in cases {
            assert_eq!(
                check(&field(*kind, *null_rate), *value),
                *want,
                "{kind:?} {value:?}"
            );
        }
    }
}
