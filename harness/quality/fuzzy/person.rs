//! A record's identifying fields, normalised once so that blocking and scoring compare like
//! with like: lower case, letters and digits only for names and companies (legal suffixes such as
//! `Inc`, `GmbH` dropped), the email's local part without dots or `+tag`, phone digits only
//! (the last nine, so a country code written or not compares equal). Address, postcode, city,
//! birth date and other identifiers, present only when an export's roles map them, sit behind
//! one pointer so that CRM records do not pay for them.

use super::Roles;

/// Normalised identifying fields of one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub first: String,
    pub last: String,
    /// Email local part: lower case, dots and `+tag` removed.
    pub email_local: String,
    /// Email domain, lower case.
    pub email_domain: String,
    /// The last nine digits of the phone number.
    pub phone: String,
    pub company: String,
    /// The non-CRM fields, when the roles map any of them.
    pub extra: Option<Box<Extra>>,
}

/// Normalised address, postcode, city, birth date and other identifier of one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extra {
    /// The address columns' words, lower case, letters and digits, one space apart.
    pub address: String,
    /// Letters and digits, lower case.
    pub postcode: String,
    /// Words as for the address.
    pub city: String,
    /// Digits only (`1956-01-24` and `19560124` compare equal).
    pub birth_date: String,
    /// Letters and digits, lower case.
    pub id_number: String,
}

const LEGAL_SUFFIXES: [&str; 14] = [
    "inc",
    "incorporated",
    "ltd",
    "limited",
    "llc",
    "gmbh",
    "ag",
    "sa",
    "sarl",
    "co",
    "corp",
    "corporation",
    "plc",
    "kg",
];

impl Person {
    /// Normalises the values of one row, given which column holds what.
    pub fn from_row<S: AsRef<str>>(row: &[Option<S>], roles: &Roles) -> Person {
        let get = |i: Option<usize>| -> &str {
            i.and_then(|i| row.get(i))
                .and_then(|v| v.as_ref().map(AsRef::as_ref))
                .unwrap_or("")
        };
        let (mut first, mut last) = (word(get(roles.first_name)), word(get(roles.last_name)));
        if first.is_empty() && last.is_empty() {
            let full = get(roles.full_name).trim();
            let (f, l) = full.rsplit_once(' ').unwrap_or(("", full));
            (first, last) = (word(f), word(l));
        }
        let email = get(roles.email).trim().to_lowercase();
        let (local, domain) = email.split_once('@').unwrap_or((email.as_str(), ""));
        let local = local.split('+').next().unwrap_or("");
        let digits: String = get(roles.phone)
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let phone = digits[digits.len().saturating_sub(9)..].to_string();
        let company = get(roles.company)
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty() && !LEGAL_SUFFIXES.contains(w))
            .collect::<Vec<_>>()
            .join(" ");
        let extra = (!roles.address.is_empty()
            || roles.postcode.is_some()
            || roles.city.is_some()
            || roles.birth_date.is_some()
            || roles.id_number.is_some())
        .then(|| {
            let mut address = String::new();
            for &i in &roles.address {
                words_into(get(Some(i)), &mut address);
            }
            let mut city = String::new();
            words_into(get(roles.city), &mut city);
            Box::new(Extra {
                address,
                postcode: word(get(roles.postcode)),
                city,
                birth_date: get(roles.birth_date)
                    .chars()
                    .filter(char::is_ascii_digit)
                    .collect(),
                id_number: word(get(roles.id_number)),
            })
        })
        .filter(|e| **e != Extra::default());
        Person {
            first,
            last,
            email_local: local.chars().filter(|c| *c != '.').collect(),
            email_domain: domain.to_string(),
            phone,
            company,
            extra,
        }
    }
}

/// Appends the words of `text` (lower case, letters and digits) to `out`, one space apart.
fn words_into(text: &str, out: &mut String) {
    for w in text.split(|c: char| !c.is_alphanumeric()) {
        if !w.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(w.chars().flat_map(char::to_lowercase));
        }
    }
}

/// Lower case, letters and digits only.
fn word(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// American Soundex of the first word (`Robert` → `R163`); empty for a value without letters.
pub fn soundex(name: &str) -> String {
    soundex_code(name)
        .map(|c| c.iter().map(|&b| b as char).collect())
        .unwrap_or_default()
}

/// [`soundex`] as four ASCII bytes, without allocating; `None` for a value without letters.
pub fn soundex_code(name: &str) -> Option<[u8; 4]> {
    let code = |c: u8| match c.to_ascii_lowercase() {
        b'b' | b'f' | b'p' | b'v' => b'1',
        b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => b'2',
        b'd' | b't' => b'3',
        b'l' => b'4',
        b'm' | b'n' => b'5',
        b'r' => b'6',
        b'h' | b'w' => b'h',
        _ => b'0',
    };
    let mut letters = name.bytes().filter(u8::is_ascii_alphabetic);
    let first = letters.next()?;
    let mut out = [b'0'; 4];
    out[0] = first.to_ascii_uppercase();
    let mut len = 1;
    let mut last = code(first);
    for c in letters {
        let d = code(c);
        if d == b'h' {
            continue; // h and w do not separate equal codes
        }
        if d != b'0' && d != last {
            out[len] = d;
            len += 1;
            if len == 4 {
                break;
            }
        }
        last = d;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soundex_matches_the_classic_examples() {
        for (name, code) in [
            ("Robert", "R163"),
            ("Rupert", "R163"),
            ("Rubin", "R150"),
            ("Ashcraft", "A261"),
            ("Tymczak", "T522"),
            ("Pfister", "P236"),
            ("Lee", "L000"),
            ("", ""),
        ] {
            assert_eq!(soundex(name), code, "{name}");
        }
    }

    #[test]
    fn rows_are_normalised_by_role() {
        let roles = Roles::guess(&[
            "ID",
            "First Name",
            "last_name",
            "E-mail",
            "Mobile",
            "Company",
        ]);
        assert_eq!(roles.first_name, Some(1));
        assert_eq!(roles.email, Some(3));
        let row = [
            Some("1"),
            Some(" Jane "),
            Some("O'Neil"),
            Some("Jane.ONeil+crm@Acme.com"),
            Some("+1 (415) 555-0132"),
            Some("ACME, Inc."),
        ];
        let p = Person::from_row(&row, &roles);
        assert_eq!(p.first, "jane");
        assert_eq!(p.last, "oneil");
        assert_eq!(
            (p.email_local.as_str(), p.email_domain.as_str()),
            ("janeoneil", "acme.com")
        );
        assert_eq!(p.phone, "155550132");
        assert_eq!(p.company, "acme");
        let full = Roles::guess(&["name"]);
        let p = Person::from_row(&[Some("Mary Ann Smith")], &full);
        assert_eq!((p.first.as_str(), p.last.as_str()), ("maryann", "smith"));
        assert_eq!(p.extra, None);
    }

    #[test]
    fn mapped_address_birth_date_and_ids_are_normalised() {
        let roles = Roles {
            first_name: Some(0),
            address: vec![1, 2, 3],
            postcode: Some(4),
            city: Some(5),
            birth_date: Some(6),
            id_number: Some(7),
            ..Roles::default()
        };
        let row = [
            Some("Ann"),
            Some("42"),
            Some("Miller  Street"),
            None,
            Some("SW1A 1AA"),
            Some("St. Kilda"),
            Some("1956-01-24"),
            Some("AB-123 456"),
        ];
        let p = Person::from_row(&row, &roles);
        assert_eq!(
            *p.extra.unwrap(),
            Extra {
                address: "42 miller street".into(),
                postcode: "sw1a1aa".into(),
                city: "st kilda".into(),
                birth_date: "19560124".into(),
                id_number: "ab123456".into(),
            }
        );
        // Mapped but blank: no extra fields at all.
        let blank = [Some("Ann"), None, None, None, None, None, None, None];
        assert_eq!(Person::from_row(&blank, &roles).extra, None);
    }
}
