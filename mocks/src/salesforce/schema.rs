//! The objects the Salesforce mock serves (Account, Contact, Opportunity) and their fields:
//! standard fields with their types, the read-only system fields every record has, and custom
//! fields: any well-formed `Name__c` is accepted as a text field (an org's custom fields are
//! the integration's to define). Standard field names are case-insensitive, as in Salesforce;
//! custom field names are kept as the client writes them.

use std::time::SystemTime;

use serde_json::{Value, json};

use super::ids;
use crate::crm::store::Record;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum SObject {
    Account,
    Contact,
    Opportunity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldType {
    Id,
    Text,
    Number,
    Bool,
    Date,
    DateTime,
    /// An id of the given object.
    Reference(SObject),
}

/// A resolved field: its canonical name, type, and whether a client may write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) ty: FieldType,
    pub(crate) writable: bool,
    pub(crate) required: bool,
}

type Def = (&'static str, FieldType, bool);

const SYSTEM: [(&str, FieldType); 5] = [
    ("Id", FieldType::Id),
    ("IsDeleted", FieldType::Bool),
    ("CreatedDate", FieldType::DateTime),
    ("LastModifiedDate", FieldType::DateTime),
    ("SystemModstamp", FieldType::DateTime),
];

const ACCOUNT: &[Def] = &[
    ("Name", FieldType::Text, true),
    ("AccountNumber", FieldType::Text, false),
    ("Phone", FieldType::Text, false),
    ("Website", FieldType::Text, false),
    ("Industry", FieldType::Text, false),
    ("Type", FieldType::Text, false),
    ("BillingStreet", FieldType::Text, false),
    ("BillingCity", FieldType::Text, false),
    ("BillingPostalCode", FieldType::Text, false),
    ("BillingCountry", FieldType::Text, false),
    ("NumberOfEmployees", FieldType::Number, false),
    ("AnnualRevenue", FieldType::Number, false),
    ("Description", FieldType::Text, false),
];

const CONTACT: &[Def] = &[
    ("FirstName", FieldType::Text, false),
    ("LastName", FieldType::Text, true),
    ("Email", FieldType::Text, false),
    ("Phone", FieldType::Text, false),
    ("MobilePhone", FieldType::Text, false),
    ("Title", FieldType::Text, false),
    ("Department", FieldType::Text, false),
    ("AccountId", FieldType::Reference(SObject::Account), false),
    ("MailingStreet", FieldType::Text, false),
    ("MailingCity", FieldType::Text, false),
    ("MailingPostalCode", FieldType::Text, false),
    ("MailingCountry", FieldType::Text, false),
    ("Birthdate", FieldType::Date, false),
    ("LeadSource", FieldType::Text, false),
    ("HasOptedOutOfEmail", FieldType::Bool, false),
    ("Description", FieldType::Text, false),
];

const OPPORTUNITY: &[Def] = &[
    ("Name", FieldType::Text, true),
    ("StageName", FieldType::Text, true),
    ("CloseDate", FieldType::Date, true),
    ("Amount", FieldType::Number, false),
    ("Probability", FieldType::Number, false),
    ("AccountId", FieldType::Reference(SObject::Account), false),
    ("Description", FieldType::Text, false),
];

impl SObject {
    pub(crate) const ALL: [SObject; 3] = [SObject::Account, SObject::Contact, SObject::Opportunity];

    pub(crate) fn name(self) -> &'static str {
        match self {
            SObject::Account => "Account",
            SObject::Contact => "Contact",
            SObject::Opportunity => "Opportunity",
        }
    }

    /// The key prefix of its record ids.
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            SObject::Account => "001",
            SObject::Contact => "003",
            SObject::Opportunity => "006",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<SObject> {
        SObject::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(name))
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    fn defs(self) -> &'static [Def] {
        match self {
            SObject::Account => ACCOUNT,
            SObject::Contact => CONTACT,
            SObject::Opportunity => OPPORTUNITY,
        }
    }

    /// The standard fields a create must set.
    pub(crate) fn required(self) -> impl Iterator<Item = &'static str> {
        self.defs().iter().filter(|d| d.2).map(|d| d.0)
    }

    /// Every standard and system field, in describe order (system fields first).
    pub(crate) fn standard_fields(self) -> Vec<&'static str> {
        let mut out: Vec<&str> = SYSTEM.iter().map(|s| s.0).collect();
        if self == SObject::Contact {
            out.push("Name");
        }
        out.extend(self.defs().iter().map(|d| d.0));
        out
    }

    /// Resolves a field name; `None` when the object has no such field.
    pub(crate) fn field(self, name: &str) -> Option<Field> {
        let read_only = |name: &str, ty| Field {
            name: name.to_string(),
            ty,
            writable: false,
            required: false,
        };
        if let Some((n, ty)) = SYSTEM.iter().find(|s| s.0.eq_ignore_ascii_case(name)) {
            return Some(read_only(n, *ty));
        }
        if self == SObject::Contact && name.eq_ignore_ascii_case("Name") {
            return Some(read_only("Name", FieldType::Text));
        }
        if let Some((n, ty, required)) = self.defs().iter().find(|d| d.0.eq_ignore_ascii_case(name))
        {
            return Some(Field {
                name: n.to_string(),
                ty: *ty,
                writable: true,
                required: *required,
            });
        }
        let custom = name.strip_suffix("__c").is_some_and(|stem| {
            stem.starts_with(|c: char| c.is_ascii_alphabetic())
                && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !stem.contains("__")
        });
        custom.then(|| Field {
            name: name.to_string(),
            ty: FieldType::Text,
            writable: true,
            required: false,
        })
    }

    /// `/services/data/{version}/sobjects/{Object}/{id}`.
    pub(crate) fn url(self, version: &str, id: u64) -> String {
        format!(
            "/services/data/{version}/sobjects/{}/{}",
            self.name(),
            ids::encode(self.prefix(), id)
        )
    }
}

/// Salesforce's dateTime format: `2026-01-01T00:00:00.000+0000`.
pub(crate) fn datetime(t: SystemTime) -> String {
    let rfc = humantime::format_rfc3339_millis(t).to_string();
    format!("{}+0000", rfc.trim_end_matches('Z'))
}

/// What a comparison sees of a field's value.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub(crate) enum Key {
    Null,
    Bool(bool),
    Num(f64),
    Time(SystemTime),
    /// Lower-cased: SOQL compares text case-insensitively.
    Text(String),
}

impl SObject {
    /// `field`'s value on `record` for a comparison or a sort.
    pub(crate) fn key(self, record: &Record, field: &Field) -> Key {
        match (field.name.as_str(), field.ty) {
            ("IsDeleted", _) => Key::Bool(record.archived),
            ("CreatedDate", _) => Key::Time(record.created_at),
            ("LastModifiedDate" | "SystemModstamp", _) => Key::Time(record.updated_at),
            ("Id", _) => Key::Text(ids::encode(self.prefix(), record.id).to_lowercase()),
            _ => match (self.raw(record, &field.name), field.ty) {
                (None, _) => Key::Null,
                (Some(v), FieldType::Number) => v.parse().map_or(Key::Null, Key::Num),
                (Some(v), FieldType::Bool) => Key::Bool(v == "true"),
                (Some(v), _) => Key::Text(v.to_lowercase()),
            },
        }
    }

    fn raw(self, record: &Record, name: &str) -> Option<String> {
        if self == SObject::Contact && name == "Name" {
            let parts: Vec<&str> = ["FirstName", "LastName"]
                .iter()
                .filter_map(|f| record.value(f))
                .filter(|v| !v.is_empty())
                .collect();
            return (!parts.is_empty()).then(|| parts.join(" "));
        }
        record.value(name).map(str::to_string)
    }

    /// `field`'s value on `record` as JSON.
    pub(crate) fn value(self, record: &Record, field: &Field) -> Value {
        match field.name.as_str() {
            "Id" => json!(ids::encode(self.prefix(), record.id)),
            "IsDeleted" => json!(record.archived),
            "CreatedDate" => json!(datetime(record.created_at)),
            "LastModifiedDate" | "SystemModstamp" => json!(datetime(record.updated_at)),
            name => match (self.raw(record, name), field.ty) {
                (None, _) => Value::Null,
                (Some(v), FieldType::Number) => v
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number),
                (Some(v), FieldType::Bool) => json!(v == "true"),
                (Some(v), _) => json!(v),
            },
        }
    }

    /// `record` as Salesforce renders it: `attributes`, then the requested fields (all standard
    /// fields and the custom fields it has when `fields` is `None`).
    pub(crate) fn render(self, version: &str, record: &Record, fields: Option<&[Field]>) -> Value {
        let mut out = serde_json::Map::new();
        out.insert(
            "attributes".into(),
            json!({ "type": self.name(), "url": self.url(version, record.id) }),
        );
        let all;
        let fields = match fields {
            Some(fields) => fields,
            None => {
                all = self.all_fields(record);
                &all
            }
        };
        for field in fields {
            out.insert(field.name.clone(), self.value(record, field));
        }
        Value::Object(out)
    }

    fn all_fields(self, record: &Record) -> Vec<Field> {
        let mut custom: Vec<&str> = record
            .properties()
            .map(|(name, _)| name)
            .filter(|name| name.ends_with("__c"))
            .collect();
        custom.sort_unstable();
        self.standard_fields()
            .into_iter()
            .chain(custom)
            .filter_map(|name| self.field(name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_resolve_case_insensitively_and_custom_fields_are_text() {
        let c = SObject::Contact;
        assert_eq!(c.field("lastname").unwrap().name, "LastName");
        assert!(c.field("LastName").unwrap().required);
        assert!(!c.field("lastmodifieddate").unwrap().writable);
        assert_eq!(c.field("Ext_Id__c").unwrap().ty, FieldType::Text);
        assert!(c.field("Nope").is_none());
        assert!(c.field("__c").is_none() && c.field("a__b__c").is_none());
        assert!(SObject::Account.field("Name").unwrap().writable);
        assert!(!c.field("Name").unwrap().writable);
        assert_eq!(SObject::parse("contact"), Some(SObject::Contact));
        assert_eq!(SObject::parse("Lead"), None);
        assert_eq!(
            SObject::Opportunity.required().collect::<Vec<_>>(),
            ["Name", "StageName", "CloseDate"]
        );
    }

    #[test]
    fn datetimes_use_the_salesforce_offset_form() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_767_225_600_123);
        assert_eq!(datetime(t), "2026-01-01T00:00:00.123+0000");
    }
}
