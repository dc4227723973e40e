//! The CRM object types the mock serves: contacts, companies and deals, each with its own store,
//! ids and routes under `/crm/v3/objects/{type}`. Handlers are instantiated per type with a
//! `const O: u8` parameter (`ObjectType::index`), so routing costs nothing at run time.

/// One object type of the v3 objects API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ObjectType {
    Contacts,
    Companies,
    Deals,
}

/// `ObjectType::Contacts.index()`, usable as a const generic argument.
pub(crate) const CONTACTS: u8 = 0;
/// `ObjectType::Companies.index()`.
pub(crate) const COMPANIES: u8 = 1;
/// `ObjectType::Deals.index()`.
pub(crate) const DEALS: u8 = 2;

impl ObjectType {
    pub(crate) const ALL: [ObjectType; 3] = [
        ObjectType::Contacts,
        ObjectType::Companies,
        ObjectType::Deals,
    ];

    /// The type a handler's `const O: u8` names (anything past the last is a deal).
    pub(crate) const fn of(index: u8) -> ObjectType {
        match index {
            CONTACTS => ObjectType::Contacts,
            COMPANIES => ObjectType::Companies,
            _ => ObjectType::Deals,
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// The path segment: `contacts`, `companies`, `deals`.
    pub(crate) const fn segment(self) -> &'static str {
        match self {
            ObjectType::Contacts => "contacts",
            ObjectType::Companies => "companies",
            ObjectType::Deals => "deals",
        }
    }

    /// How the vendor's error messages name the type: `CONTACT`, `COMPANY`, `DEAL`.
    pub(crate) const fn upper(self) -> &'static str {
        match self {
            ObjectType::Contacts => "CONTACT",
            ObjectType::Companies => "COMPANY",
            ObjectType::Deals => "DEAL",
        }
    }

    /// The read-only property bumped on every write: contacts keep the legacy
    /// `lastmodifieddate`, companies and deals `hs_lastmodifieddate`.
    pub(crate) const fn last_modified(self) -> &'static str {
        match self {
            ObjectType::Contacts => super::store::LAST_MODIFIED,
            _ => super::store::HS_LAST_MODIFIED,
        }
    }

    /// The type whose path segment is `segment`.
    pub(crate) fn from_segment(segment: &str) -> Option<ObjectType> {
        ObjectType::ALL.into_iter().find(|t| t.segment() == segment)
    }

    /// `/crm/v3/objects/{segment}`.
    pub(crate) fn path(self) -> String {
        format!("{}/{}", super::OBJECTS_PATH, self.segment())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn const_indexes_name_their_types() {
        for t in ObjectType::ALL {
            assert_eq!(ObjectType::of(t.index() as u8), t);
            assert_eq!(ObjectType::from_segment(t.segment()), Some(t));
        }
        assert_eq!(ObjectType::from_segment("tickets"), None);
        assert_eq!(ObjectType::Companies.path(), "/crm/v3/objects/companies");
    }
}
