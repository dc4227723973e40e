//! The record store of one object type: records with ascending numeric ids, value indexes and
//! unique properties.
//!
//! Ids are dense (record `n` sits at index `n - 1`) and nothing is ever removed (an archived
//! record keeps its slot, hidden from reads), which is what makes the list cursor "the next id
//! to return" tail-safe. A record keeps its properties in
//! compact [`Fields`] (interned names, values back to back), so memory grows with the records
//! stored and stays near their wire size. A property gets a value index the first time it is
//! looked up by value (`idProperty`, unique checks, equality search); writes keep it current.
//! The write counters live here, beside the records they count, so they cannot drift from them.

mod fields;
mod index;
pub(crate) mod names;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

pub(crate) use fields::Fields;
use index::ValueIndex;
pub(crate) use names::Name;

/// `hs_object_id`: the record id as a property.
pub(crate) const OBJECT_ID: &str = "hs_object_id";
/// Set on create, read-only.
pub(crate) const CREATE_DATE: &str = "createdate";
/// Bumped on every update of a contact, read-only.
pub(crate) const LAST_MODIFIED: &str = "lastmodifieddate";
/// Bumped on every update of a company or a deal, read-only.
pub(crate) const HS_LAST_MODIFIED: &str = "hs_lastmodifieddate";
/// The properties every answer carries (those of them a record has set): the creation date,
/// its type's last-modified date and the id.
pub(crate) const DEFAULT_PROPERTIES: [&str; 4] =
    [CREATE_DATE, LAST_MODIFIED, HS_LAST_MODIFIED, OBJECT_ID];

/// One record (a contact, a company or a deal).
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) id: u64,
    /// Set properties only (an unset property is absent), including the three defaults.
    pub(crate) fields: Fields,
    pub(crate) created_at: SystemTime,
    pub(crate) updated_at: SystemTime,
    /// When the last write happened, on the tokio clock (search lag is measured on it).
    pub(crate) updated_mono: Instant,
    pub(crate) archived: bool,
}

impl Record {
    pub(crate) fn value(&self, property: &str) -> Option<&str> {
        self.fields.get(Name::lookup(property)?)
    }

    /// `(name, value)` of every set property, in no particular order.
    pub(crate) fn properties(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.fields
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }
}

/// A write refused because a unique property's value is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("contact already exists (existing id {existing_id})")]
pub(crate) struct Conflict {
    pub(crate) existing_id: u64,
}

/// Property values as they come in: `None` unsets.
pub(crate) type InputProperties = BTreeMap<String, Option<String>>;

/// A write's input as `(name, value)` pairs, one per name (`None` unsets): owned maps from the
/// Salesforce parser, maps borrowing the request body from the HubSpot one.
pub(crate) trait Input {
    fn pairs(&self) -> impl Iterator<Item = (&str, Option<&str>)>;
}

impl Input for InputProperties {
    fn pairs(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }
}

#[derive(Debug)]
pub(crate) struct Store {
    records: Vec<Record>,
    /// Value indexes of the properties looked up by value so far (never the timestamps).
    index: crate::FastMap<Name, ValueIndex>,
    unique_properties: Vec<String>,
    lowercase_email: bool,
    /// The last-modified property this object type writes, interned.
    last_modified_name: Name,
    pub(crate) records_created: u64,
    pub(crate) records_updated: u64,
    pub(crate) records_archived: u64,
    /// Changes not yet handed to the webhook emitter; `None` when webhooks are off, so a store
    /// without subscribers keeps nothing.
    pub(crate) journal: Option<Vec<Change>>,
    /// Properties whose value at creation is journalled as a change too (see
    /// `WebhookConfig::creation_properties`).
    pub(crate) journal_on_create: Vec<String>,
    /// Timestamps and search-lag readings come from the CRM's clock.
    pub(crate) clock: crate::Clock,
}

/// One change to a record, as a webhook subscription sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub(crate) object_id: u64,
    pub(crate) occurred_at: SystemTime,
    /// `None` for a creation; the property and its new value for a property change.
    pub(crate) property: Option<(String, Option<String>)>,
}

fn indexed(property: &str) -> bool {
    property != CREATE_DATE && property != LAST_MODIFIED && property != HS_LAST_MODIFIED
}

/// An RFC 3339 timestamp with milliseconds, as HubSpot formats `createdAt`/`updatedAt`
/// (`2026-11-24T03:18:00.123Z`), kept on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp([u8; 24]);

/// Where [`Stamp::of`] saturates: the last millisecond `humantime` can format.
const LAST_STAMP: Stamp = Stamp(*b"9999-12-31T23:59:59.999Z");

impl Stamp {
    /// `t` formatted; the text is made once per millisecond per thread (a busy mock writes tens
    /// of records per millisecond) and copied after. Times before 1970 or after 9999 (which no
    /// clock reading gives) saturate to the range's ends.
    pub(crate) fn of(t: SystemTime) -> Stamp {
        thread_local! {
            static LAST: std::cell::Cell<(u64, u32, Stamp)> =
                const { std::cell::Cell::new((u64::MAX, 0, LAST_STAMP)) };
        }
        let since = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let key = (since.as_secs(), since.subsec_millis());
        LAST.with(|last| {
            let (secs, millis, stamp) = last.get();
            if (secs, millis) == key {
                return stamp;
            }
            let at = std::time::UNIX_EPOCH + Duration::new(key.0, key.1 * 1_000_000);
            let mut text = [0u8; 24];
            let mut cursor = std::io::Cursor::new(&mut text[..]);
            let written = std::io::Write::write_fmt(
                &mut cursor,
                format_args!("{}", humantime::format_rfc3339_millis(at)),
            );
            let stamp = match written {
                Ok(()) if cursor.position() == 24 => Stamp(text),
                _ => LAST_STAMP,
            };
            last.set((key.0, key.1, stamp));
            stamp
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        // ASCII digits and separators, written above.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl AsRef<str> for Stamp {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// `n` in decimal, written into `buf` (no allocation).
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits only.
    std::str::from_utf8(&buf[at..]).unwrap_or_default()
}

/// The names of the three default properties, interned once.
fn default_names() -> (Name, Name, Name) {
    static NAMES: std::sync::LazyLock<(Name, Name, Name)> = std::sync::LazyLock::new(|| {
        (
            Name::intern(CREATE_DATE),
            Name::intern(LAST_MODIFIED),
            Name::intern(OBJECT_ID),
        )
    });
    *NAMES
}

/// The input's writable properties (the read-only defaults dropped), values normalised.
type Changes<'a> = Vec<(&'a str, Option<Cow<'a, str>>)>;

impl Store {
    pub(crate) fn new(unique_properties: Vec<String>, lowercase_email: bool) -> Self {
        Store {
            records: Vec::new(),
            index: crate::FastMap::default(),
            unique_properties,
            lowercase_email,
            last_modified_name: default_names().1,
            records_created: 0,
            records_updated: 0,
            records_archived: 0,
            journal: None,
            journal_on_create: Vec::new(),
            clock: crate::Clock::real(),
        }
    }

    /// A store for companies or deals: their last-modified property is `hs_lastmodifieddate`.
    pub(crate) fn for_type(mut self, object: super::ObjectType) -> Self {
        self.last_modified_name = Name::intern(object.last_modified());
        self
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    pub(crate) fn records(&self) -> &[Record] {
        &self.records
    }

    pub(crate) fn get(&self, id: u64) -> Option<&Record> {
        let idx = usize::try_from(id.checked_sub(1)?).ok()?;
        self.records.get(idx).filter(|r| !r.archived)
    }

    /// Normalises a value the way the store keeps it (HubSpot lower-cases `email`).
    pub(crate) fn normalise(&self, property: &str, value: &str) -> String {
        self.normalised(property, value).into_owned()
    }

    fn normalised<'v>(&self, property: &str, value: &'v str) -> Cow<'v, str> {
        if self.lowercase_email && property == "email" && value.chars().any(char::is_uppercase) {
            Cow::Owned(value.to_lowercase())
        } else {
            Cow::Borrowed(value)
        }
    }

    /// Builds `name`'s index the first time it is looked up; afterwards writes keep it
    /// current. Properties nobody looks up (most of a contact's) are never indexed, so a record
    /// costs its values and not an index entry per value.
    fn ensure_index(&mut self, name: Name) -> &ValueIndex {
        let records = &self.records;
        self.index.entry(name).or_insert_with(|| {
            let mut index = ValueIndex::default();
            for record in records {
                if let Some(value) = record.fields.get(name) {
                    index.insert(value, record.id);
                }
            }
            index
        })
    }

    /// Ids, ascending, of all records (archived too) whose `name` is exactly `value`.
    fn indexed_ids(&mut self, name: Name, value: &str) -> Vec<u64> {
        self.ensure_index(name);
        let Some(index) = self.index.get(&name) else {
            return Vec::new();
        };
        index
            .candidates(value)
            .iter()
            .copied()
            .filter(|id| {
                let record = usize::try_from(id - 1)
                    .ok()
                    .and_then(|i| self.records.get(i));
                record.and_then(|r| r.fields.get(name)) == Some(value)
            })
            .collect()
    }

    /// The lowest-id live record whose `property` equals `value` (after normalisation).
    pub(crate) fn find(&mut self, property: &str, value: &str) -> Option<&Record> {
        if property == OBJECT_ID {
            return self.get(value.parse().ok()?);
        }
        let value = self.normalised(property, value);
        // A name no record ever stored has no record to find.
        let name = Name::lookup(property)?;
        if indexed(property) {
            let ids = self.indexed_ids(name, &value);
            ids.into_iter().find_map(|id| self.get(id))
        } else {
            self.records
                .iter()
                .find(|r| !r.archived && r.fields.get(name) == Some(&*value))
        }
    }

    /// Ids of records (archived too) whose `property` equals `value` exactly (for indexed
    /// properties).
    pub(crate) fn ids_with(&mut self, property: &str, value: &str) -> Option<Vec<u64>> {
        if !indexed(property) {
            return None;
        }
        let Some(name) = Name::lookup(property) else {
            return Some(Vec::new());
        };
        Some(self.indexed_ids(name, value))
    }

    /// Live records with `id >= from`, ascending, at most `limit`, plus the id to continue from
    /// when more records exist.
    pub(crate) fn page(&self, from: u64, limit: usize) -> (Vec<&Record>, Option<u64>) {
        let start = usize::try_from(from.saturating_sub(1)).unwrap_or(usize::MAX);
        let mut live = self
            .records
            .get(start..)
            .unwrap_or_default()
            .iter()
            .filter(|r| !r.archived);
        let page: Vec<&Record> = live.by_ref().take(limit).collect();
        let next = match (page.last(), live.next()) {
            (Some(last), Some(_)) => Some(last.id + 1),
            _ => None,
        };
        (page, next)
    }

    /// Live records per distinct non-empty value of `property`.
    pub(crate) fn copies_by_property(&self, property: &str) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        let Some(name) = Name::lookup(property) else {
            return out;
        };
        for record in self.records.iter().filter(|r| !r.archived) {
            if let Some(value) = record.fields.get(name).filter(|v| !v.is_empty()) {
                *out.entry(value.to_string()).or_insert(0) += 1;
            }
        }
        out
    }

    fn changes<'a, I: Input + ?Sized>(&self, input: &'a I) -> Changes<'a> {
        input
            .pairs()
            .filter(|(k, _)| !DEFAULT_PROPERTIES.contains(k))
            .map(|(k, v)| (k, v.map(|v| self.normalised(k, v))))
            .collect()
    }

    /// The first unique property whose new value is held by a record other than `own_id`.
    fn conflict(&mut self, changes: &Changes<'_>, own_id: Option<u64>) -> Result<(), Conflict> {
        for i in 0..self.unique_properties.len() {
            let property = self.unique_properties[i].as_str();
            let Some((_, Some(value))) = changes.iter().find(|(k, _)| *k == property) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let Some(name) = Name::lookup(property) else {
                continue;
            };
            let taken = self
                .indexed_ids(name, value)
                .into_iter()
                .find(|id| Some(*id) != own_id && self.get(*id).is_some());
            if let Some(existing_id) = taken {
                return Err(Conflict { existing_id });
            }
        }
        Ok(())
    }

    fn index_insert(&mut self, name: Name, value: &str, id: u64) {
        // Only properties already looked up have an index to keep current.
        if let Some(index) = self.index.get_mut(&name) {
            index.insert(value, id);
        }
    }

    fn index_remove(&mut self, name: Name, value: &str, id: u64) {
        if let Some(index) = self.index.get_mut(&name) {
            index.remove(value, id);
        }
    }

    /// Creates a record from `input` (null values are skipped; read-only defaults ignored).
    pub(crate) fn create<I: Input + ?Sized>(&mut self, input: &I) -> Result<&Record, Conflict> {
        let changes = self.changes(input);
        self.conflict(&changes, None)?;
        let id = self.records.len() as u64 + 1;
        let mono = self.clock.now();
        let now = self.clock.wall(mono);
        let stamp = Stamp::of(now);
        let mut digits = [0u8; 20];
        let id_text = decimal(id, &mut digits);
        let (create_date, _, object_id) = default_names();
        let mut pairs: Vec<(Name, Cow<'_, str>)> = Vec::with_capacity(changes.len() + 3);
        // Known names under one read lock; names seen for the first time are interned after.
        let mut first_seen = Vec::new();
        let reader = names::reader();
        for (k, v) in changes {
            let Some(v) = v else { continue };
            match reader.lookup(k) {
                Some(name) => pairs.push((name, v)),
                None => first_seen.push((k, v)),
            }
        }
        drop(reader);
        pairs.extend(first_seen.into_iter().map(|(k, v)| (Name::intern(k), v)));
        pairs.push((create_date, Cow::Borrowed(stamp.as_str())));
        pairs.push((self.last_modified_name, Cow::Borrowed(stamp.as_str())));
        pairs.push((object_id, Cow::Borrowed(id_text)));
        let fields = Fields::build(pairs);
        if !self.index.is_empty() {
            for (name, value) in fields.iter() {
                if let Some(index) = self.index.get_mut(&name) {
                    index.insert(value, id);
                }
            }
        }
        self.records.push(Record {
            id,
            fields,
            created_at: now,
            updated_at: now,
            updated_mono: mono,
            archived: false,
        });
        self.records_created += 1;
        if let Some(journal) = &mut self.journal {
            journal.push(Change {
                object_id: id,
                occurred_at: now,
                property: None,
            });
            let created = &self.records[self.records.len() - 1];
            for name in &self.journal_on_create {
                if let Some(value) = created.value(name) {
                    journal.push(Change {
                        object_id: id,
                        occurred_at: now,
                        property: Some((name.clone(), Some(value.to_string()))),
                    });
                }
            }
        }
        Ok(&self.records[self.records.len() - 1])
    }

    /// Overwrites the given properties of record `id` (null unsets) and bumps its timestamps.
    /// `None` when there is no such live record.
    pub(crate) fn update<I: Input + ?Sized>(
        &mut self,
        id: u64,
        input: &I,
    ) -> Option<Result<&Record, Conflict>> {
        self.get(id)?;
        let changes = self.changes(input);
        if let Err(conflict) = self.conflict(&changes, Some(id)) {
            return Some(Err(conflict));
        }
        let idx = (id - 1) as usize;
        let mono = self.clock.now();
        let now = self.clock.wall(mono);
        let old = std::mem::take(&mut self.records[idx].fields);
        let mut values: BTreeMap<Name, Cow<'_, str>> =
            old.iter().map(|(n, v)| (n, Cow::Borrowed(v))).collect();
        for (property, value) in changes {
            let before = Name::lookup(property).and_then(|name| old.get(name));
            if let Some(journal) = &mut self.journal
                && before != value.as_deref()
            {
                journal.push(Change {
                    object_id: id,
                    occurred_at: now,
                    property: Some((property.to_string(), value.as_ref().map(|v| v.to_string()))),
                });
            }
            match value {
                Some(v) => {
                    values.insert(Name::intern(property), v);
                }
                None => {
                    if let Some(name) = Name::lookup(property) {
                        values.remove(&name);
                    }
                }
            }
        }
        let stamp = Stamp::of(now);
        values.insert(self.last_modified_name, Cow::Borrowed(stamp.as_str()));
        let fields = Fields::build(values.into_iter().collect());
        for (name, value) in old.iter() {
            if fields.get(name) != Some(value) {
                self.index_remove(name, value, id);
            }
        }
        for (name, value) in fields.iter() {
            if old.get(name) != Some(value) {
                self.index_insert(name, value, id);
            }
        }
        let record = &mut self.records[idx];
        record.fields = fields;
        record.updated_at = now;
        record.updated_mono = mono;
        self.records_updated += 1;
        Some(Ok(&self.records[idx]))
    }

    /// Marks record `id` deleted (Salesforce's recycle bin: `queryAll` still sees it). `false`
    /// when there is no such live record.
    pub(crate) fn archive(&mut self, id: u64) -> bool {
        let Some(idx) = self.get(id).map(|r| (r.id - 1) as usize) else {
            return false;
        };
        let mono = self.clock.now();
        let record = &mut self.records[idx];
        record.archived = true;
        record.updated_at = self.clock.wall(mono);
        record.updated_mono = mono;
        self.records_archived += 1;
        true
    }

    /// Puts record `before.id` back as it was (undoing an update or an archive inside an
    /// all-or-none transaction); `was_update` takes the update back out of the counters.
    pub(crate) fn restore(&mut self, before: Record, was_update: bool) {
        let Some(idx) = usize::try_from(before.id.wrapping_sub(1))
            .ok()
            .filter(|idx| *idx < self.records.len())
        else {
            return;
        };
        let current = std::mem::replace(&mut self.records[idx], before);
        if current.archived && !self.records[idx].archived {
            self.records_archived = self.records_archived.saturating_sub(1);
        }
        for (name, value) in current.fields.iter() {
            self.index_remove(name, value, current.id);
        }
        let restored = std::mem::take(&mut self.records[idx].fields);
        for (name, value) in restored.iter() {
            self.index_insert(name, value, current.id);
        }
        self.records[idx].fields = restored;
        if was_update {
            self.records_updated = self.records_updated.saturating_sub(1);
        }
    }

    /// Takes back the create of record `id` if it is still the newest one (undoing a create
    /// inside an all-or-none transaction, which undoes in reverse order).
    pub(crate) fn uncreate(&mut self, id: u64) {
        if self.records.last().map(|r| r.id) != Some(id) {
            return;
        }
        if let Some(record) = self.records.pop() {
            for (name, value) in record.fields.iter() {
                self.index_remove(name, value, id);
            }
            self.records_created = self.records_created.saturating_sub(1);
        }
    }
}

/// RFC 3339 with milliseconds, as HubSpot formats `createdAt`/`updatedAt`.
pub(crate) fn timestamp(t: SystemTime) -> String {
    Stamp::of(t).as_str().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, Option<&str>)]) -> InputProperties {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    #[tokio::test]
    async fn ids_ascend_and_index_follows_updates() {
        let mut store = Store::new(vec![], true);
        for i in 0..3 {
            let r = store
                .create(&props(&[("k", Some("v")), ("n", Some(&i.to_string()))]))
                .unwrap();
            assert_eq!(r.id, i + 1);
        }
        assert_eq!(store.copies_by_property("k").get("v"), Some(&3));
        store
            .update(2, &props(&[("k", Some("w"))]))
            .unwrap()
            .unwrap();
        assert_eq!(store.find("k", "v").unwrap().id, 1);
        assert_eq!(store.find("k", "w").unwrap().id, 2);
        store.update(1, &props(&[("k", None)])).unwrap().unwrap();
        assert_eq!(store.find("k", "v").unwrap().id, 3);
        assert_eq!(store.ids_with("k", "v"), Some(vec![3]));
        assert!(store.update(9, &props(&[])).is_none());
        assert_eq!((store.records_created, store.records_updated), (3, 2));
    }

    #[tokio::test]
    async fn ids_and_stamps_are_written_without_allocating() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), "0");
        assert_eq!(decimal(907, &mut buf), "907");
        assert_eq!(decimal(u64::MAX, &mut buf), u64::MAX.to_string());
        let mut store = Store::new(vec![], true);
        let record = store.create(&props(&[])).unwrap();
        assert_eq!(record.value(OBJECT_ID), Some("1"));
        let t = record.created_at;
        let want = humantime::format_rfc3339_millis(t).to_string();
        assert_eq!(record.value(CREATE_DATE), Some(want.as_str()));
        // Twice in one millisecond (the cached text), then the next millisecond.
        assert_eq!(Stamp::of(t).as_str(), want);
        let later = t + Duration::from_millis(1);
        let want = humantime::format_rfc3339_millis(later).to_string();
        assert_eq!(Stamp::of(later).as_str(), want);
        let before_1970 = std::time::UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(Stamp::of(before_1970).as_str(), "1970-01-01T00:00:00.000Z");
    }

    #[tokio::test]
    async fn unique_properties_conflict_but_not_with_self() {
        let mut store = Store::new(vec!["email".into()], true);
        store.create(&props(&[("email", Some("A@x.io"))])).unwrap();
        let err = store
            .create(&props(&[("email", Some("a@X.io"))]))
            .unwrap_err();
        assert_eq!(err.existing_id, 1);
        store
            .update(1, &props(&[("email", Some("a@x.io"))]))
            .unwrap()
            .unwrap();
        store.create(&props(&[("email", Some("b@x.io"))])).unwrap();
        let err = store
            .update(2, &props(&[("email", Some("A@X.IO"))]))
            .unwrap()
            .unwrap_err();
        assert_eq!(err.existing_id, 1);
    }

    #[tokio::test]
    async fn page_cursor_is_the_next_id() {
        let mut store = Store::new(vec![], false);
        for _ in 0..5 {
            store.create(&props(&[])).unwrap();
        }
        let (page, next) = store.page(1, 2);
        assert_eq!(page.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(next, Some(3));
        let (page, next) = store.page(5, 2);
        assert_eq!(page.len(), 1);
        assert_eq!(next, None);
        let (page, next) = store.page(u64::MAX, 2);
        assert!(page.is_empty() && next.is_none());
        let (page, _) = store.page(0, 1);
        assert_eq!(page[0].id, 1);
    }
}

#[cfg(test)]
mod undo_tests {
    use super::*;

    #[tokio::test]
    async fn archive_restore_and_uncreate_leave_the_store_as_before() {
        let mut store = Store::new(vec!["k".into()], false);
        let input = |v: &str| InputProperties::from([("k".to_string(), Some(v.to_string()))]);
        store.create(&input("a")).unwrap();
        let before = store.get(1).unwrap().clone();
        store.update(1, &input("b")).unwrap().unwrap();
        store.restore(before, true);
        assert_eq!(store.find("k", "a").map(|r| r.id), Some(1));
        assert!(store.find("k", "b").is_none());
        assert_eq!(store.records_updated, 0);
        assert!(store.archive(1) && store.get(1).is_none() && !store.archive(1));
        store.create(&input("c")).unwrap();
        store.uncreate(2);
        assert_eq!((store.len(), store.records_created), (1, 1));
        assert!(store.find("k", "c").is_none());
        // Only the newest record can be taken back.
        store.create(&input("d")).unwrap();
        store.uncreate(1);
        assert_eq!(store.len(), 2);
    }
}

#[cfg(test)]
mod adaptive_index_tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> InputProperties {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect()
    }

    #[test]
    fn an_index_built_on_first_lookup_follows_later_writes() {
        let mut store = Store::new(Vec::new(), true);
        for i in 0..5 {
            let id = format!("sp-{i}");
            store
                .create(&props(&[("syncproof_id", &id), ("city", "Berlin")]))
                .unwrap();
        }
        assert!(store.index.is_empty(), "nothing is indexed before a lookup");
        assert_eq!(store.find("syncproof_id", "sp-3").map(|r| r.id), Some(4));
        assert!(
            store.index.contains_key(&Name::intern("syncproof_id"))
                && !store.index.contains_key(&Name::intern("city"))
        );
        // Later creates and updates keep the built index current.
        store.create(&props(&[("syncproof_id", "sp-9")])).unwrap();
        assert_eq!(store.find("syncproof_id", "sp-9").map(|r| r.id), Some(6));
        store
            .update(4, &props(&[("syncproof_id", "sp-3b")]))
            .unwrap()
            .unwrap();
        assert!(store.find("syncproof_id", "sp-3").is_none());
        assert_eq!(store.find("syncproof_id", "sp-3b").map(|r| r.id), Some(4));
        // Duplicates share a value: all ids come back, lowest first for `find`.
        store.create(&props(&[("syncproof_id", "sp-0")])).unwrap();
        assert_eq!(store.ids_with("syncproof_id", "sp-0"), Some(vec![1, 7]));
        assert_eq!(store.find("syncproof_id", "sp-0").map(|r| r.id), Some(1));
    }
}
