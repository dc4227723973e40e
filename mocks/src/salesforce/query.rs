//! SOQL execution (`GET /query?q=`, `/queryAll?q=`) and its paging: results beyond one page are
//! kept as a cursor (the matching record ids, in order) named by a query locator, and fetched
//! with `GET /query/{locator}-{offset}` from `nextRecordsUrl`. Records are read at page time, as
//! the id list is a snapshot and the values are live. At most [`MAX_CURSORS`] cursors are kept;
//! the oldest is dropped first, and its locator then answers `INVALID_QUERY_LOCATOR`.

use std::cmp::Ordering;
use std::collections::VecDeque;

use serde_json::{Value, json};

use super::errors::SfError;
use super::records::Stores;
use super::schema::{Field, FieldType, Key, SObject};
use super::soql::{self, Literal, Op};

pub(crate) const MAX_CURSORS: usize = 64;

/// A query's remaining results.
#[derive(Debug)]
struct Cursor {
    locator: String,
    object: SObject,
    fields: Vec<Field>,
    ids: Vec<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct Cursors {
    open: VecDeque<Cursor>,
    next: u64,
}

/// A compiled condition: the field, the operator, the values as comparison keys.
struct Filter {
    field: Field,
    op: Op,
    values: Vec<Key>,
}

fn malformed(message: impl Into<String>) -> SfError {
    SfError::bad("MALFORMED_QUERY", message)
}

fn literal_key(field: &Field, literal: &Literal) -> Result<Key, SfError> {
    let mismatch = |want: &str, quoted: bool| {
        malformed(format!(
            "value of filter criterion for field '{}' must be of type {want} and should {}be enclosed in quotes",
            field.name,
            if quoted { "" } else { "not " }
        ))
    };
    Ok(match (field.ty, literal) {
        (_, Literal::Null) => Key::Null,
        (FieldType::DateTime, Literal::DateTime(_, t)) => Key::Time(*t),
        (FieldType::DateTime, _) => return Err(mismatch("dateTime", false)),
        (FieldType::Date, Literal::Date(d)) => Key::Text(d.clone()),
        (FieldType::Date, _) => return Err(mismatch("date", false)),
        (FieldType::Number, Literal::Num(_)) => Key::Num(literal.number().unwrap_or(f64::NAN)),
        (FieldType::Number, _) => return Err(mismatch("double", false)),
        (FieldType::Bool, Literal::Bool(b)) => Key::Bool(*b),
        (FieldType::Bool, _) => return Err(mismatch("boolean", false)),
        (_, Literal::Str(s)) => Key::Text(s.to_lowercase()),
        (_, _) => return Err(mismatch("string", true)),
    })
}

fn holds(filter: &Filter, key: &Key) -> bool {
    let cmp = |v: &Key| key.partial_cmp(v);
    let non_null = !matches!(key, Key::Null);
    match filter.op {
        Op::Eq => filter.values.first() == Some(key),
        Op::Ne => filter.values.first() != Some(key),
        Op::In => filter.values.contains(key),
        Op::NotIn => !filter.values.contains(key),
        Op::Lt => non_null && cmp(&filter.values[0]) == Some(Ordering::Less),
        Op::Le => {
            non_null
                && matches!(
                    cmp(&filter.values[0]),
                    Some(Ordering::Less | Ordering::Equal)
                )
        }
        Op::Gt => non_null && cmp(&filter.values[0]) == Some(Ordering::Greater),
        Op::Ge => {
            non_null
                && matches!(
                    cmp(&filter.values[0]),
                    Some(Ordering::Greater | Ordering::Equal)
                )
        }
    }
}

fn resolve(object: SObject, name: &str) -> Result<Field, SfError> {
    object.field(name).ok_or_else(|| {
        SfError::bad(
            "INVALID_FIELD",
            format!(
                "No such column '{name}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.",
                object.name()
            ),
        )
    })
}

impl Cursors {
    /// Runs `q`; `all` includes deleted records (`queryAll`). Returns the first page.
    pub(crate) fn run(
        &mut self,
        stores: &Stores,
        version: &str,
        q: &str,
        all: bool,
        page: usize,
    ) -> Result<Value, SfError> {
        let query = soql::parse(q).map_err(|e| malformed(e.0))?;
        let object = SObject::parse(&query.object).ok_or_else(|| {
            SfError::bad(
                "INVALID_TYPE",
                format!("sObject type '{}' is not supported.", query.object),
            )
        })?;
        let fields = query
            .fields
            .iter()
            .map(|f| resolve(object, f))
            .collect::<Result<Vec<_>, _>>()?;
        let filters = query
            .conditions
            .iter()
            .map(|c| {
                let field = resolve(object, &c.field)?;
                let values = c
                    .values
                    .iter()
                    .map(|l| literal_key(&field, l))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Filter {
                    field,
                    op: c.op,
                    values,
                })
            })
            .collect::<Result<Vec<_>, SfError>>()?;
        let order = query
            .order
            .as_ref()
            .map(|(name, desc)| resolve(object, name).map(|f| (f, *desc)))
            .transpose()?;
        let store = stores.of(object);
        let mut hits: Vec<(Key, u64)> = store
            .records()
            .iter()
            .filter(|r| all || !r.archived)
            .filter(|r| filters.iter().all(|f| holds(f, &object.key(r, &f.field))))
            .map(|r| {
                let key = order.as_ref().map_or(Key::Null, |(f, _)| object.key(r, f));
                (key, r.id)
            })
            .collect();
        if let Some((_, descending)) = order {
            // Nulls first ascending, last descending, as SOQL's defaults; ties by id.
            hits.sort_by(|a, b| {
                let by_key = a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
                let by_key = if descending { by_key.reverse() } else { by_key };
                by_key.then(a.1.cmp(&b.1))
            });
        }
        if let Some(limit) = query.limit {
            hits.truncate(limit);
        }
        let ids: Vec<u64> = hits.into_iter().map(|(_, id)| id).collect();
        let total = ids.len();
        self.next += 1;
        let cursor = Cursor {
            locator: format!("01g5g{:013}", self.next),
            object,
            fields,
            ids,
        };
        let body = page_body(stores, version, &cursor, 0, page, total, all);
        if total > page {
            if self.open.len() >= MAX_CURSORS {
                self.open.pop_front();
            }
            self.open.push_back(cursor);
        }
        Ok(body)
    }

    /// `GET /query/{locator}-{offset}`.
    pub(crate) fn more(
        &self,
        stores: &Stores,
        version: &str,
        locator: &str,
        all: bool,
        page: usize,
    ) -> Result<Value, SfError> {
        let invalid = || SfError::bad("INVALID_QUERY_LOCATOR", "invalid query locator");
        let (name, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
        let offset: usize = offset.parse().map_err(|_| invalid())?;
        let cursor = self
            .open
            .iter()
            .find(|c| c.locator == name)
            .ok_or_else(invalid)?;
        if offset >= cursor.ids.len() {
            return Err(invalid());
        }
        Ok(page_body(
            stores,
            version,
            cursor,
            offset,
            page,
            cursor.ids.len(),
            all,
        ))
    }
}

fn page_body(
    stores: &Stores,
    version: &str,
    cursor: &Cursor,
    offset: usize,
    page: usize,
    total: usize,
    all: bool,
) -> Value {
    let store = stores.of(cursor.object);
    let end = (offset + page).min(cursor.ids.len());
    let records: Vec<Value> = cursor.ids[offset..end]
        .iter()
        .filter_map(|id| {
            let index = usize::try_from(id.checked_sub(1)?).ok()?;
            store.records().get(index)
        })
        .map(|r| cursor.object.render(version, r, Some(&cursor.fields)))
        .collect();
    let mut body = json!({ "totalSize": total, "done": end >= total, "records": records });
    if end < total {
        let resource = if all { "queryAll" } else { "query" };
        body["nextRecordsUrl"] = json!(format!(
            "/services/data/{version}/{resource}/{}-{end}",
            cursor.locator
        ));
    }
    body
}
