//! A property's value index: the hash of a value → the ids of the records holding a value with
//! that hash. Keeping the hash instead of the value keeps an index entry at a few dozen bytes
//! whatever the value's length; the record itself is the value's only copy, so callers check
//! the candidates' values (two values sharing a 64-bit hash are told apart there).

use std::hash::BuildHasher;

use crate::FastMap;

/// Ids of the records under one hash, ascending; one id (the unique-property case) needs no
/// allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ids {
    One(u64),
    Many(Vec<u64>),
}

impl Ids {
    fn as_slice(&self) -> &[u64] {
        match self {
            Ids::One(id) => std::slice::from_ref(id),
            Ids::Many(ids) => ids,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct ValueIndex {
    by_hash: FastMap<u64, Ids>,
}

fn hash(value: &str) -> u64 {
    // Fixed keys: the hash only spreads values, it guards nothing.
    foldhash::fast::FixedState::default().hash_one(value)
}

impl ValueIndex {
    pub(crate) fn insert(&mut self, value: &str, id: u64) {
        let ids = self
            .by_hash
            .entry(hash(value))
            .or_insert(Ids::Many(Vec::new()));
        match ids {
            Ids::One(one) if *one == id => {}
            Ids::One(one) => {
                *ids = Ids::Many(if *one < id {
                    vec![*one, id]
                } else {
                    vec![id, *one]
                })
            }
            Ids::Many(all) if all.is_empty() => *ids = Ids::One(id),
            Ids::Many(all) => {
                if let Err(at) = all.binary_search(&id) {
                    all.insert(at, id);
                }
            }
        }
    }

    pub(crate) fn remove(&mut self, value: &str, id: u64) {
        let key = hash(value);
        let Some(ids) = self.by_hash.get_mut(&key) else {
            return;
        };
        match ids {
            Ids::One(one) if *one == id => {
                self.by_hash.remove(&key);
            }
            Ids::One(_) => {}
            Ids::Many(all) => {
                if let Ok(at) = all.binary_search(&id) {
                    all.remove(at);
                }
                match all.as_slice() {
                    [] => {
                        self.by_hash.remove(&key);
                    }
                    [only] => *ids = Ids::One(*only),
                    _ => {}
                }
            }
        }
    }

    /// Ids, ascending, of records that may hold `value` (every one that does, maybe others).
    pub(crate) fn candidates(&self, value: &str) -> &[u64] {
        self.by_hash
            .get(&hash(value))
            .map(Ids::as_slice)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_and_remove_keep_ids_sorted_and_drop_empty_entries() {
        let mut index = ValueIndex::default();
        index.insert("a", 5);
        index.insert("a", 2);
        index.insert("a", 9);
        index.insert("a", 2);
        index.insert("b", 1);
        assert_eq!(index.candidates("a"), &[2, 5, 9]);
        assert_eq!(index.candidates("b"), &[1]);
        assert!(index.candidates("c").is_empty());
        index.remove("a", 5);
        index.remove("a", 9);
        assert_eq!(index.candidates("a"), &[2]);
        assert!(matches!(index.by_hash[&hash("a")], Ids::One(2)));
        index.remove("a", 7);
        index.remove("a", 2);
        index.remove("b", 1);
        assert!(index.by_hash.is_empty());
    }
}
