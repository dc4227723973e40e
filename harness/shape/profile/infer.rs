//! Decides a column's kind from its header and its values, with the reason written into the
//! shape as a comment. Personal kinds (names, email, phone, street, free text) are decided first
//! and can never become an enum, so their values never reach the shape.

use super::column::ColumnStats;
use crate::shape::FieldKind;

/// A column's inferred kind and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Inferred {
    pub kind: FieldKind,
    pub why: String,
}

/// Kinds whose values identify a person: written as a kind, never as values.
pub fn is_personal(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::FirstName
            | FieldKind::LastName
            | FieldKind::FullName
            | FieldKind::Email
            | FieldKind::Phone
            | FieldKind::Street
            | FieldKind::Text
            | FieldKind::PostalCode
    )
}

/// `First Name` → `firstname`.
pub fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn hint(header: &str, object: &str) -> Option<FieldKind> {
    let h = normalise(header);
    let company_object = ["compan", "account", "org"]
        .iter()
        .any(|w| object.contains(w));
    Some(match h.as_str() {
        "firstname" | "first" | "givenname" | "fname" | "forename" | "vorname" | "prenom" => {
            FieldKind::FirstName
        }
        "lastname" | "last" | "surname" | "familyname" | "lname" | "nachname" => {
            FieldKind::LastName
        }
        "name" if company_object => FieldKind::Company,
        // Owners are people too (sales reps): never an enum of their names.
        "name" | "fullname" | "contactname" | "contact" | "person" | "owner" | "contactowner"
        | "accountowner" | "dealowner" | "assignedto" | "createdby" => FieldKind::FullName,
        "company" | "companyname" | "organization" | "organisation" | "account" | "accountname"
        | "firma" | "firmenname" | "societe" | "entreprise" | "employer" => FieldKind::Company,
        "email" | "emailaddress" | "mail" | "email1" | "workemail" => FieldKind::Email,
        "phone" | "phonenumber" | "mobile" | "mobilephone" | "tel" | "telephone" | "cell"
        | "fax" | "workphone" => FieldKind::Phone,
        "website" | "url" | "homepage" | "web" => FieldKind::Url,
        "domain" | "companydomain" | "emaildomain" => FieldKind::Domain,
        "jobtitle" | "title" | "position" | "role" => FieldKind::JobTitle,
        "street" | "address" | "address1" | "addressline1" | "streetaddress" | "address2" => {
            FieldKind::Street
        }
        // FEBRL and Australian exports say suburb; gazetteers say locality.
        "city" | "town" | "suburb" | "locality" => FieldKind::City,
        "state" | "region" | "province" | "county" => FieldKind::Region,
        "zip" | "zipcode" | "postalcode" | "postcode" | "plz" => FieldKind::PostalCode,
        "country" | "countrycode" | "countryregion" => FieldKind::Country,
        "notes" | "note" | "description" | "comment" | "comments" | "bio" | "message" => {
            FieldKind::Text
        }
        "id" | "recordid" | "uuid" | "guid" => FieldKind::ExternalId,
        _ => return None,
    })
}

/// Whether a column of this kind is kept as an enum of its frequent values when it has few
/// distinct values (country, city, industry...): the frequencies are the data's character.
fn enum_candidate(kind: Option<FieldKind>) -> bool {
    match kind {
        None => true,
        Some(k) => matches!(
            k,
            FieldKind::Country | FieldKind::City | FieldKind::Region | FieldKind::JobTitle
        ),
    }
}

/// Enough repetition to describe the column by its frequent values.
pub fn looks_categorical(c: &ColumnStats, min_count: u64) -> bool {
    if c.overflowed || c.filled() == 0 {
        return false;
    }
    let kept: u64 = c.counts.values().filter(|n| **n >= min_count).sum();
    c.counts.len() <= 200 && kept as f64 >= 0.5 * c.filled() as f64
}

pub fn infer(c: &ColumnStats, object: &str, min_count: u64) -> Inferred {
    let hinted = hint(&c.name, object);
    let p = &c.patterns;
    let share = |n: u64| c.share(n);
    let pct = |n: u64| format!("{:.0}%", 100.0 * share(n));
    let by = |kind, why: String| Inferred { kind, why };
    if c.filled() == 0 {
        return by(FieldKind::Text, "every value is empty".into());
    }
    // Header names that mean a person's data win over any value pattern.
    if let Some(kind) = hinted
        && is_personal(kind)
    {
        return by(
            kind,
            format!(
                "header \"{}\" names a {kind:?} column (personal: values withheld)",
                c.name
            ),
        );
    }
    if hinted == Some(FieldKind::ExternalId)
        || (normalise(&c.name).ends_with("id")
            && share(c.counts.len() as u64) > 0.99
            && !c.overflowed)
    {
        if share(p.uuid) >= 0.9 {
            return by(
                FieldKind::Uuid,
                format!(
                    "header \"{}\" and {} of values are UUIDs",
                    c.name,
                    pct(p.uuid)
                ),
            );
        }
        return by(
            FieldKind::ExternalId,
            format!(
                "header \"{}\" names an id and its values are unique",
                c.name
            ),
        );
    }
    if share(p.email) >= 0.8 {
        return by(
            FieldKind::Email,
            format!(
                "{} of values are email addresses (personal: values withheld)",
                pct(p.email)
            ),
        );
    }
    if share(p.uuid) >= 0.9 {
        return by(
            FieldKind::Uuid,
            format!("{} of values are UUIDs", pct(p.uuid)),
        );
    }
    if share(p.url) >= 0.8 {
        return by(FieldKind::Url, format!("{} of values are URLs", pct(p.url)));
    }
    if share(p.boolean) >= 0.95 {
        return by(
            FieldKind::Boolean,
            format!("{} of values are true/false or yes/no", pct(p.boolean)),
        );
    }
    if share(p.timestamp + p.date) >= 0.9 {
        let format = c.date_format.map_or("", |f| f.describe());
        let kind = if p.timestamp >= p.date {
            FieldKind::Timestamp
        } else {
            FieldKind::Date
        };
        return by(
            kind,
            format!(
                "{} of values are dates ({format})",
                pct(p.timestamp + p.date)
            ),
        );
    }
    if share(p.integer) >= 0.95 && hinted.is_none() {
        return by(
            FieldKind::Integer,
            format!("{} of values are integers", pct(p.integer)),
        );
    }
    if share(p.decimal) >= 0.95 && hinted.is_none() {
        return by(
            FieldKind::Decimal,
            format!("{} of values are numbers", pct(p.decimal)),
        );
    }
    if share(p.phone) >= 0.8 {
        return by(
            FieldKind::Phone,
            format!(
                "{} of values are phone numbers (personal: values withheld)",
                pct(p.phone)
            ),
        );
    }
    if enum_candidate(hinted) && looks_categorical(c, min_count) {
        let why = match hinted {
            Some(k) => format!(
                "header \"{}\" names a {k:?} column with {} distinct values: kept as frequencies",
                c.name,
                c.counts.len()
            ),
            None => format!(
                "{} distinct values over {} rows: a category",
                c.counts.len(),
                c.filled()
            ),
        };
        return by(FieldKind::Enum, why);
    }
    if let Some(kind) = hinted {
        return by(
            kind,
            format!("header \"{}\" names a {kind:?} column", c.name),
        );
    }
    if share(p.domain) >= 0.8 {
        return by(
            FieldKind::Domain,
            format!("{} of values are domain names", pct(p.domain)),
        );
    }
    by(
        FieldKind::Text,
        format!(
            "{} distinct values, no known pattern: free text (personal: values withheld)",
            if c.overflowed {
                format!("over {}", c.counts.len())
            } else {
                c.counts.len().to_string()
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(header: &str, values: &[&str], object: &str) -> FieldKind {
        let mut c = ColumnStats::new(header);
        for _ in 0..10 {
            for v in values {
                c.add(Some(v));
            }
        }
        infer(&c, object, 5).kind
    }

    #[test]
    fn kinds_come_from_headers_and_values() {
        let cases: &[(&str, &[&str], &str, FieldKind)] = &[
            (
                "First Name",
                &["Ann", "Bo"],
                "contact",
                FieldKind::FirstName,
            ),
            ("name", &["Acme", "Initech"], "company", FieldKind::Company),
            (
                "name",
                &["Ann Lee", "Bo Chu"],
                "contact",
                FieldKind::FullName,
            ),
            ("x", &["a@b.com", "c@d.org"], "contact", FieldKind::Email),
            ("tel", &["Acme"], "contact", FieldKind::Phone),
            (
                "x",
                &["+1 415 555 0100", "(030) 1234567"],
                "contact",
                FieldKind::Phone,
            ),
            ("stage", &["lead", "customer"], "contact", FieldKind::Enum),
            (
                "Contact Owner",
                &["Rep One", "Rep Two"],
                "contact",
                FieldKind::FullName,
            ),
            ("Country", &["US", "DE"], "contact", FieldKind::Enum),
            ("seats", &["1", "20"], "contact", FieldKind::Integer),
            ("amount", &["1.5", "20"], "contact", FieldKind::Decimal),
            (
                "created",
                &["2024-01-01T00:00:00Z"],
                "contact",
                FieldKind::Timestamp,
            ),
            ("closed", &["2024-01-01"], "contact", FieldKind::Date),
            ("opt_out", &["yes", "no"], "contact", FieldKind::Boolean),
            ("site", &["https://a.com"], "contact", FieldKind::Url),
        ];
        for (header, values, object, kind) in cases {
            assert_eq!(check(header, values, object), *kind, "{header} {values:?}");
        }
    }

    #[test]
    fn suburb_town_and_locality_headers_are_city_columns() {
        let column = |header: &str| {
            let mut c = ColumnStats::new(header);
            for i in 0..300 {
                c.add(Some(&format!("Place {i}")));
            }
            infer(&c, "contact", 5)
        };
        for header in ["suburb", "Suburb", "town", "locality", "City"] {
            let inferred = column(header);
            assert_eq!(inferred.kind, FieldKind::City, "{header}: {}", inferred.why);
        }
        // The same values under a header that names nothing are free text.
        assert_eq!(column("area").kind, FieldKind::Text);
        // A suburb column with few, repeated values keeps their frequencies, as a city does.
        assert_eq!(
            check("suburb", &["Kingsford", "Mentone"], "contact"),
            FieldKind::Enum
        );
    }
}
