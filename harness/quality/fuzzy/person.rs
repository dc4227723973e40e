//! A record's identifying fields, normalised once so that blocking and scoring compare like
//! with like: lower case, letters and digits only for names and companies (legal suffixes such as
//! `Inc`, `GmbH` dropped), the email's local part without dots or `+tag`, phone digits only
//! (the last nine, so a country code written or not compares equal).

/// Which column (by index) holds each identifying role; any may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    pub first_name: Option<usize>,
    pub last_name: Option<usize>,
    /// A single `name` column, split on its last space when first/last are absent.
    pub full_name: Option<usize>,
    pub email: Option<usize>,
    pub phone: Option<usize>,
    pub company: Option<usize>,
}

impl Roles {
    /// Guesses the roles from column names (`firstname`, `first_name`, `given_name`, `email`,
    /// `mobile`, `organization`, …), case- and punctuation-insensitively.
    pub fn guess<S: AsRef<str>>(columns: &[S]) -> Roles {
        let mut roles = Roles::default();
        for (i, c) in columns.iter().enumerate() {
            let key: String = c
                .as_ref()
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase();
            let slot = match key.as_str() {
                "firstname" | "givenname" | "forename" | "first" => &mut roles.first_name,
                "lastname" | "surname" | "familyname" | "last" => &mut roles.last_name,
                "name" | "fullname" | "contactname" => &mut roles.full_name,
                "email" | "emailaddress" | "mail" => &mut roles.email,
                "phone" | "phonenumber" | "mobile" | "mobilephone" | "telephone" | "tel" => {
                    &mut roles.phone
                }
                "company" | "companyname" | "organization" | "organisation" | "account"
                | "accountname" | "employer" => &mut roles.company,
                _ => continue,
            };
            slot.get_or_insert(i);
        }
        roles
    }

    /// True when no identifying column was found.
    pub fn is_empty(&self) -> bool {
        *self == Roles::default()
    }
}

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
        Person {
            first,
            last,
            email_local: local.chars().filter(|c| *c != '.').collect(),
            email_domain: domain.to_string(),
            phone,
            company,
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
    }
}
