//! A record's set properties in two allocations: every value back to back in one string, and a
//! table of (name, end of its value) sorted by name id.
//!
//! A `BTreeMap<String, String>` costs a contact about 3.7 KB (two heap strings and a tree slot
//! per property); this costs the values' bytes plus 8 bytes per property, so a stored contact
//! stays below 1.5× the JSON it came in (BENCHMARKS.md, mock section).

use super::names::Name;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fields {
    /// `(name, end)`: the value of `name` is `text[previous end..end]`. Sorted by name, unique.
    spans: Box<[(Name, u32)]>,
    text: Box<str>,
}

impl Fields {
    /// Builds from `(name, value)` pairs; a name given twice keeps its last value.
    pub(crate) fn build<S: AsRef<str>>(mut pairs: Vec<(Name, S)>) -> Fields {
        // Reversed, then a stable sort: among equal names the last given comes first; keep it.
        pairs.reverse();
        pairs.sort_by_key(|(name, _)| *name);
        pairs.dedup_by_key(|(name, _)| *name);
        let keep = pairs;
        let len = keep.iter().map(|(_, v)| v.as_ref().len()).sum();
        let mut text = String::with_capacity(len);
        let mut spans = Vec::with_capacity(keep.len());
        for (name, value) in &keep {
            text.push_str(value.as_ref());
            // A record's values are far below 4 GB (a request body is capped well below it).
            spans.push((*name, u32::try_from(text.len()).unwrap_or(u32::MAX)));
        }
        Fields {
            spans: spans.into_boxed_slice(),
            text: text.into_boxed_str(),
        }
    }

    fn at(&self, i: usize) -> &str {
        let start = match i {
            0 => 0,
            _ => self.spans[i - 1].1 as usize,
        };
        &self.text[start..self.spans[i].1 as usize]
    }

    pub(crate) fn get(&self, name: Name) -> Option<&str> {
        let i = self.spans.binary_search_by_key(&name, |s| s.0).ok()?;
        Some(self.at(i))
    }

    /// All values back to back.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Bytes of all values together.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// `(name, value)` in name-id order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Name, &str)> + '_ {
        (0..self.spans.len()).map(|i| (self.spans[i].0, self.at(i)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_by_name_and_the_last_duplicate_wins() {
        let (a, b, c) = (
            Name::intern("fields_test_a"),
            Name::intern("fields_test_b"),
            Name::intern("fields_test_c"),
        );
        let fields = Fields::build(vec![(b, "two"), (a, ""), (b, "zwei"), (c, "drei")]);
        assert_eq!(fields.get(a), Some(""));
        assert_eq!(fields.get(b), Some("zwei"));
        assert_eq!(fields.get(c), Some("drei"));
        assert_eq!(fields.get(Name::intern("fields_test_d")), None);
        let pairs: Vec<_> = fields.iter().collect();
        assert_eq!(pairs, vec![(a, ""), (b, "zwei"), (c, "drei")]);
        assert_eq!(Fields::build::<&str>(vec![]).iter().count(), 0);
    }
}
