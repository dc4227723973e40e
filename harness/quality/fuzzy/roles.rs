//! Which column of an export plays which identifying role. CRM exports are recognised by their
//! column names (`firstname`, `email`, `mobile`, `organization`, …); any other export (a
//! register of people with addresses and birth dates, a public record-linkage set) is described
//! by an explicit mapping, `--field COLUMN=ROLE` or a TOML `[fields]` table, so that blocking
//! and scoring use whatever identifying columns it has. An explicit mapping is the whole
//! mapping: no column is guessed beside it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

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
    /// Street address, possibly over several columns (number, line 1, line 2), read in order.
    pub address: Vec<usize>,
    pub postcode: Option<usize>,
    /// City, suburb or town.
    pub city: Option<usize>,
    pub birth_date: Option<usize>,
    /// Any other personal identifier (national id, social security or customer number).
    pub id_number: Option<usize>,
}

/// One identifying role, as named on the command line and in a roles file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    FirstName,
    LastName,
    Name,
    Email,
    Phone,
    Company,
    Address,
    Postcode,
    City,
    BirthDate,
    IdNumber,
}

impl Role {
    pub const ALL: [(&'static str, Role); 11] = [
        ("first_name", Role::FirstName),
        ("last_name", Role::LastName),
        ("name", Role::Name),
        ("email", Role::Email),
        ("phone", Role::Phone),
        ("company", Role::Company),
        ("address", Role::Address),
        ("postcode", Role::Postcode),
        ("city", Role::City),
        ("birth_date", Role::BirthDate),
        ("id_number", Role::IdNumber),
    ];

    /// The role names, for error messages.
    pub fn names() -> String {
        Role::ALL.map(|(n, _)| n).join(", ")
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = Role::ALL
            .iter()
            .find(|(_, r)| r == self)
            .map_or("?", |(n, _)| n);
        f.write_str(name)
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        let key = s.trim().to_lowercase().replace('-', "_");
        Role::ALL
            .iter()
            .find(|(n, _)| *n == key)
            .map(|(_, r)| *r)
            .ok_or_else(|| format!("unknown role \"{s}\" (roles: {})", Role::names()))
    }
}

/// An explicit column → role mapping, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldMap(pub Vec<(String, Role)>);

impl FieldMap {
    /// Parses `COLUMN=ROLE` (the `--field` flag).
    pub fn parse_flag(flag: &str) -> Result<(String, Role), String> {
        let (column, role) = flag.rsplit_once('=').ok_or_else(|| {
            format!("--field {flag}: expected COLUMN=ROLE, e.g. --field given_name=first_name")
        })?;
        if column.trim().is_empty() {
            return Err(format!("--field {flag}: the column name is empty"));
        }
        let role = role.parse().map_err(|e| format!("--field {flag}: {e}"))?;
        Ok((column.trim().to_string(), role))
    }

    /// Reads a roles file: a `[fields]` table of `COLUMN = "ROLE"`.
    pub fn read(path: &Path) -> Result<FieldMap, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct File {
            fields: BTreeMap<String, String>,
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: File = toml::from_str(&text).map_err(|e| {
            format!(
                "{}: {} (expected a [fields] table of COLUMN = \"ROLE\")",
                path.display(),
                e.message()
            )
        })?;
        let mut map = FieldMap::default();
        for (column, role) in file.fields {
            let role = role
                .parse()
                .map_err(|e| format!("{}: fields.{column}: {e}", path.display()))?;
            map.0.push((column, role));
        }
        Ok(map)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The mapping's roles over these columns, or the mapped columns the export lacks. A role
    /// other than `address` given twice is refused, since only one column can hold it.
    pub fn resolve<S: AsRef<str>>(&self, columns: &[S]) -> Result<Roles, MappingError> {
        let mut roles = Roles::default();
        let mut missing = Vec::new();
        for (column, role) in &self.0 {
            let Some(i) = columns.iter().position(|c| c.as_ref() == column) else {
                missing.push(column.clone());
                continue;
            };
            let slot = match role {
                Role::Address => {
                    roles.address.push(i);
                    continue;
                }
                Role::FirstName => &mut roles.first_name,
                Role::LastName => &mut roles.last_name,
                Role::Name => &mut roles.full_name,
                Role::Email => &mut roles.email,
                Role::Phone => &mut roles.phone,
                Role::Company => &mut roles.company,
                Role::Postcode => &mut roles.postcode,
                Role::City => &mut roles.city,
                Role::BirthDate => &mut roles.birth_date,
                Role::IdNumber => &mut roles.id_number,
            };
            if slot.is_some() {
                return Err(MappingError::Twice(*role));
            }
            *slot = Some(i);
        }
        if missing.is_empty() {
            Ok(roles)
        } else {
            Err(MappingError::Missing(missing))
        }
    }
}

/// Why a mapping does not fit an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappingError {
    /// Mapped columns the export does not have.
    Missing(Vec<String>),
    /// A single-column role mapped from two columns.
    Twice(Role),
}

impl Roles {
    /// Guesses the roles from column names (`firstname`, `first_name`, `given_name`, `email`,
    /// `mobile`, `organization`, …), case- and punctuation-insensitively. Only the CRM roles are
    /// guessed (names, email, phone, company): a CRM export's address or birth-date columns are
    /// left out unless mapped, so its scores do not change with columns it happens to carry.
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

#[cfg(test)]
mod tests {
    use super::*;

    const FEBRL: [&str; 12] = [
        "rec_id",
        "given_name",
        "surname",
        "street_number",
        "address_1",
        "address_2",
        "suburb",
        "postcode",
        "state",
        "date_of_birth",
        "soc_sec_id",
        "notes",
    ];

    fn febrl_map() -> FieldMap {
        let flags = [
            "given_name=first_name",
            "surname=last_name",
            "street_number=address",
            "address_1=address",
            "address_2=Address",
            "suburb=city",
            "postcode=postcode",
            "date_of_birth=birth-date",
            "soc_sec_id=id_number",
        ];
        FieldMap(
            flags
                .iter()
                .map(|f| FieldMap::parse_flag(f).unwrap())
                .collect(),
        )
    }

    #[test]
    fn flags_map_columns_to_roles_and_address_takes_several_columns() {
        let roles = febrl_map().resolve(&FEBRL).unwrap();
        assert_eq!(
            roles,
            Roles {
                first_name: Some(1),
                last_name: Some(2),
                address: vec![3, 4, 5],
                city: Some(6),
                postcode: Some(7),
                birth_date: Some(9),
                id_number: Some(10),
                ..Roles::default()
            }
        );
        // A column name may itself hold `=`: the role is after the last one.
        assert_eq!(
            FieldMap::parse_flag("a=b=phone").unwrap(),
            ("a=b".to_string(), Role::Phone)
        );
    }

    #[test]
    fn bad_flags_and_mappings_say_what_is_wrong() {
        let err = FieldMap::parse_flag("given_name").unwrap_err();
        assert!(err.contains("expected COLUMN=ROLE"), "{err}");
        let err = FieldMap::parse_flag("given_name=forename").unwrap_err();
        assert!(
            err.contains("unknown role \"forename\"") && err.contains("first_name, last_name"),
            "{err}"
        );
        assert!(FieldMap::parse_flag("=email").is_err());
        let map = FieldMap(vec![
            ("given_name".into(), Role::FirstName),
            ("gender".into(), Role::Company),
            ("dob".into(), Role::BirthDate),
        ]);
        assert_eq!(
            map.resolve(&FEBRL),
            Err(MappingError::Missing(vec!["gender".into(), "dob".into()]))
        );
        let twice = FieldMap(vec![
            ("given_name".into(), Role::FirstName),
            ("surname".into(), Role::FirstName),
        ]);
        assert_eq!(
            twice.resolve(&FEBRL),
            Err(MappingError::Twice(Role::FirstName))
        );
    }

    #[test]
    fn a_roles_file_reads_as_the_flags_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roles.toml");
        std::fs::write(
            &path,
            "[fields]\ngiven_name = \"first_name\"\nsurname = \"last_name\"\ndate_of_birth = \"birth_date\"\n",
        )
        .unwrap();
        let roles = FieldMap::read(&path).unwrap().resolve(&FEBRL).unwrap();
        assert_eq!(
            (roles.first_name, roles.last_name, roles.birth_date),
            (Some(1), Some(2), Some(9))
        );
        std::fs::write(&path, "[fields]\nsurname = \"lastname\"\n").unwrap();
        let err = FieldMap::read(&path).unwrap_err();
        assert!(
            err.contains("roles.toml: fields.surname: unknown role \"lastname\""),
            "{err}"
        );
        std::fs::write(&path, "surname = \"last_name\"\n").unwrap();
        let err = FieldMap::read(&path).unwrap_err();
        assert!(err.contains("expected a [fields] table"), "{err}");
    }

    #[test]
    fn guessing_finds_only_the_crm_roles() {
        let roles = Roles::guess(&FEBRL);
        assert_eq!(
            roles,
            Roles {
                first_name: Some(1),
                last_name: Some(2),
                ..Roles::default()
            }
        );
        for (name, role) in Role::ALL {
            assert_eq!(role.to_string(), name);
            assert_eq!(name.parse::<Role>(), Ok(role));
        }
    }
}
