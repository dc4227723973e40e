//! Property names, interned once per process: a record keeps a 4-byte [`Name`] per property
//! instead of a copy of the name, which is what keeps a stored contact near its wire size.
//!
//! The set is a schema's names (a few hundred at most, a few KB), shared by every store in the
//! process and never freed; a name is interned only when a record stores it, so lookups of
//! names nobody stored (a typo in `idProperty`, a search on an unknown property) add nothing.

use std::sync::{LazyLock, PoisonError, RwLock};

use crate::FastMap;

/// An interned property name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Name(u32);

#[derive(Default)]
struct Interner {
    ids: FastMap<&'static str, Name>,
    names: Vec<&'static str>,
}

static NAMES: LazyLock<RwLock<Interner>> = LazyLock::new(RwLock::default);

/// Several lookups under one read lock (an answer looks up a dozen names or more).
pub(crate) struct Reader<'a>(std::sync::RwLockReadGuard<'a, Interner>);

impl Reader<'_> {
    pub(crate) fn lookup(&self, name: &str) -> Option<Name> {
        self.0.ids.get(name).copied()
    }

    pub(crate) fn name(&self, name: Name) -> &'static str {
        self.0.names[name.0 as usize]
    }
}

/// Reads names under one lock until the reader is dropped (do not intern meanwhile).
pub(crate) fn reader() -> Reader<'static> {
    Reader(NAMES.read().unwrap_or_else(PoisonError::into_inner))
}

impl Name {
    /// The name's id if some record ever stored it.
    pub(crate) fn lookup(name: &str) -> Option<Name> {
        NAMES
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .ids
            .get(name)
            .copied()
    }

    /// The name's id, interning it on first sight.
    pub(crate) fn intern(name: &str) -> Name {
        if let Some(id) = Name::lookup(name) {
            return id;
        }
        let mut names = NAMES.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(id) = names.ids.get(name) {
            return *id;
        }
        // Four billion distinct names would need far more memory than any store holds.
        let id = Name(u32::try_from(names.names.len()).unwrap_or(u32::MAX));
        let leaked: &'static str = Box::leak(name.into());
        names.names.push(leaked);
        names.ids.insert(leaked, id);
        id
    }

    pub(crate) fn as_str(self) -> &'static str {
        NAMES.read().unwrap_or_else(PoisonError::into_inner).names[self.0 as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_is_idempotent_and_lookup_does_not_intern() {
        let a = Name::intern("names_test_a");
        assert_eq!(Name::intern("names_test_a"), a);
        assert_eq!(a.as_str(), "names_test_a");
        assert_eq!(Name::lookup("names_test_a"), Some(a));
        assert_eq!(Name::lookup("names_test_never_stored"), None);
        assert_eq!(Name::lookup("names_test_never_stored"), None);
        assert_ne!(Name::intern("names_test_b"), a);
    }
}
