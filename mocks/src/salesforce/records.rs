//! Writes to an org's records, inside a transaction that can be rolled back: every write
//! records how to undo itself, so `allOrNone` collections and composite requests can take back
//! what they did when one part fails. Input bodies are checked the way Salesforce checks them
//! (unknown fields, read-only fields, value types, required fields, references, unique values).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::Value;

use super::errors::SfError;
use super::ids;
use super::schema::{Field, FieldType, SObject};
use crate::crm::store::{InputProperties, Record, Store};

/// One store per object.
#[derive(Debug)]
pub(crate) struct Stores {
    pub(crate) by_object: [Store; 3],
}

impl Stores {
    pub(crate) fn new(unique_fields: &[String], clock: crate::Clock) -> Self {
        Stores {
            by_object: SObject::ALL.map(|_| {
                let mut store = Store::new(unique_fields.to_vec(), false);
                store.clock = clock;
                store
            }),
        }
    }

    pub(crate) fn of(&self, object: SObject) -> &Store {
        &self.by_object[object.index()]
    }

    pub(crate) fn of_mut(&mut self, object: SObject) -> &mut Store {
        &mut self.by_object[object.index()]
    }
}

/// How to take back one write.
#[derive(Debug)]
enum Undo {
    Created(SObject, u64),
    Changed(SObject, Box<Record>, bool),
}

/// A unit of writes over `Stores`; [`Tx::rollback`] undoes them in reverse order.
pub(crate) struct Tx<'a> {
    pub(crate) stores: &'a mut Stores,
    undo: Vec<Undo>,
}

/// Where an upsert found its record.
pub(crate) enum Upserted {
    Created(u64),
    Updated(u64),
}

/// The record id named by `raw` for `object`, or 404 `NOT_FOUND` / 400 `MALFORMED_ID`.
pub(crate) fn record_number(object: SObject, raw: &str) -> Result<u64, SfError> {
    ids::decode(object.prefix(), raw).ok_or_else(|| {
        if raw.len() == 15 || raw.len() == 18 {
            SfError::not_found()
        } else {
            SfError::bad(
                "MALFORMED_ID",
                format!("{} ID: id value of incorrect type: {raw}", object.name()),
            )
            .with_fields(vec!["Id".into()])
        }
    })
}

impl<'a> Tx<'a> {
    pub(crate) fn new(stores: &'a mut Stores) -> Self {
        Tx {
            stores,
            undo: Vec::new(),
        }
    }

    /// Undoes every write of this transaction.
    pub(crate) fn rollback(mut self) {
        self.rollback_to(0);
    }

    /// A point [`Tx::rollback_to`] can return to: nested all-or-none parts (a collections
    /// subrequest inside a composite) share the enclosing transaction's log.
    pub(crate) fn savepoint(&self) -> usize {
        self.undo.len()
    }

    /// Undoes the writes made since `savepoint`, newest first.
    pub(crate) fn rollback_to(&mut self, savepoint: usize) {
        while self.undo.len() > savepoint {
            let Some(undo) = self.undo.pop() else { break };
            match undo {
                Undo::Created(object, id) => self.stores.of_mut(object).uncreate(id),
                Undo::Changed(object, before, was_update) => {
                    self.stores.of_mut(object).restore(*before, was_update)
                }
            }
        }
    }

    /// Checks a JSON record body and turns it into store input.
    fn input(
        &self,
        object: SObject,
        body: &Value,
        creating: bool,
    ) -> Result<InputProperties, SfError> {
        let Some(map) = body.as_object() else {
            return Err(SfError::json(format!(
                "Cannot deserialize instance of {} from {} value",
                object.name(),
                kind(body)
            )));
        };
        let mut input = BTreeMap::new();
        for (key, value) in map {
            if key == "attributes" {
                continue;
            }
            let field = object.field(key).ok_or_else(|| {
                SfError::bad(
                    "INVALID_FIELD",
                    format!(
                        "No such column '{key}' on sobject of type {}",
                        object.name()
                    ),
                )
                .with_fields(vec![key.clone()])
            })?;
            if !field.writable {
                return Err(SfError::bad(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    format!(
                        "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                        field.name
                    ),
                )
                .with_fields(vec![field.name]));
            }
            let text = self.text_value(object, &field, value)?;
            input.insert(field.name, text);
        }
        let missing: Vec<String> = object
            .required()
            .filter(|name| match input.get(*name) {
                Some(Some(v)) => v.is_empty(),
                Some(None) => true,
                None => creating,
            })
            .map(str::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(SfError::bad(
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
            )
            .with_fields(missing));
        }
        Ok(input)
    }

    fn text_value(
        &self,
        object: SObject,
        field: &Field,
        value: &Value,
    ) -> Result<Option<String>, SfError> {
        let wrong = || {
            SfError::json(format!(
                "Cannot deserialize instance of {} from {} value {value} for field {} on {}",
                type_name(field.ty),
                kind(value),
                field.name,
                object.name()
            ))
        };
        let text = match (field.ty, value) {
            (_, Value::Null) => return Ok(None),
            (_, Value::Array(_) | Value::Object(_)) => return Err(wrong()),
            (FieldType::Number, Value::Number(n)) => n.to_string(),
            (FieldType::Number, Value::String(s)) if s.trim().parse::<f64>().is_ok() => {
                s.trim().to_string()
            }
            (FieldType::Number, _) => return Err(wrong()),
            (FieldType::Bool, Value::Bool(b)) => b.to_string(),
            (FieldType::Bool, _) => return Err(wrong()),
            (_, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        };
        if let FieldType::Reference(target) = field.ty {
            let id = ids::decode(target.prefix(), &text).ok_or_else(|| {
                SfError::bad(
                    "MALFORMED_ID",
                    format!("{} ID: id value of incorrect type: {text}", target.name()),
                )
                .with_fields(vec![field.name.clone()])
            })?;
            if self.stores.of(target).get(id).is_none() {
                return Err(SfError::bad(
                    "INVALID_CROSS_REFERENCE_KEY",
                    format!("invalid cross reference id: {text}"),
                )
                .with_fields(vec![field.name.clone()]));
            }
            // Stored in the 18-character form whatever the client sent.
            return Ok(Some(ids::encode(target.prefix(), id)));
        }
        if field.ty == FieldType::Date
            && super::soql::parse_datetime(&format!("{text}T00:00:00Z")).is_none()
        {
            return Err(wrong());
        }
        Ok(Some(text))
    }

    fn duplicate(&mut self, object: SObject, input: &InputProperties, existing: u64) -> SfError {
        let store = self.stores.of_mut(object);
        let field = input
            .iter()
            .find(|(k, v)| {
                v.as_deref()
                    .is_some_and(|v| store.find(k, v).map(|r| r.id) == Some(existing))
            })
            .map(|(k, _)| k.clone())
            .unwrap_or_default();
        SfError::bad(
            "DUPLICATE_VALUE",
            format!(
                "duplicate value found: {field} duplicates value on record with id: {}",
                ids::encode(object.prefix(), existing)
            ),
        )
    }

    /// Creates a record; its id.
    pub(crate) fn create(&mut self, object: SObject, body: &Value) -> Result<u64, SfError> {
        let input = self.input(object, body, true)?;
        let created = self.stores.of_mut(object).create(&input).map(|r| r.id);
        match created {
            Ok(id) => {
                self.undo.push(Undo::Created(object, id));
                Ok(id)
            }
            Err(conflict) => Err(self.duplicate(object, &input, conflict.existing_id)),
        }
    }

    /// Updates record `id` with the fields of `body`.
    pub(crate) fn update(&mut self, object: SObject, id: u64, body: &Value) -> Result<(), SfError> {
        let before = self
            .stores
            .of(object)
            .get(id)
            .cloned()
            .ok_or_else(SfError::not_found)?;
        let input = self.input(object, body, false)?;
        let updated = self
            .stores
            .of_mut(object)
            .update(id, &input)
            .map(|r| r.map(|_| ()));
        match updated {
            Some(Ok(())) => {
                self.undo
                    .push(Undo::Changed(object, Box::new(before), true));
                Ok(())
            }
            Some(Err(conflict)) => Err(self.duplicate(object, &input, conflict.existing_id)),
            None => Err(SfError::not_found()),
        }
    }

    /// Deletes record `id` (to the recycle bin: `queryAll` still sees it).
    pub(crate) fn delete(&mut self, object: SObject, id: u64) -> Result<(), SfError> {
        let before = self.stores.of(object).get(id).cloned().ok_or_else(|| {
            SfError::new(
                StatusCode::NOT_FOUND,
                "ENTITY_IS_DELETED",
                "entity is deleted",
            )
        })?;
        self.stores.of_mut(object).archive(id);
        self.undo
            .push(Undo::Changed(object, Box::new(before), false));
        Ok(())
    }

    /// Live records whose `field` equals `value` (`Id`: the record with that id).
    pub(crate) fn matches(&mut self, object: SObject, field: &str, value: &str) -> Vec<u64> {
        let store = self.stores.of_mut(object);
        if field == "Id" {
            return ids::decode(object.prefix(), value)
                .filter(|id| store.get(*id).is_some())
                .into_iter()
                .collect();
        }
        let ids = store.ids_with(field, value).unwrap_or_default();
        ids.into_iter()
            .filter(|id| store.get(*id).is_some())
            .collect()
    }

    /// Upserts by external id `field` = `value`: create when nothing matches, update when one
    /// record does, 300 with the matches' URLs when several do (nothing written).
    pub(crate) fn upsert(
        &mut self,
        object: SObject,
        version: &str,
        field: &str,
        value: &str,
        body: &Value,
    ) -> Result<Upserted, SfError> {
        let field = external_id(object, field)?;
        if let Some(given) = body.get(&field.name).and_then(Value::as_str)
            && given != value
        {
            return Err(SfError::bad(
                "INVALID_FIELD",
                format!(
                    "The value of the external id field {} in the body ({given}) does not match the one in the URL ({value})",
                    field.name
                ),
            ));
        }
        let found = self.matches(object, &field.name, value);
        match found.as_slice() {
            // An upsert by `Id` only updates.
            [] if field.name == "Id" => Err(SfError::not_found()),
            [] => {
                let mut body = body.clone();
                if let Some(map) = body.as_object_mut() {
                    map.insert(field.name.clone(), Value::String(value.to_string()));
                }
                self.create(object, &body).map(Upserted::Created)
            }
            [id] => self
                .update(object, *id, body)
                .map(|()| Upserted::Updated(*id)),
            many => Err(SfError::multiple(
                many.iter().map(|id| object.url(version, *id)).collect(),
            )),
        }
    }
}

/// The field an upsert or external-id read names: a custom field, or `Id`.
pub(crate) fn external_id(object: SObject, name: &str) -> Result<Field, SfError> {
    object
        .field(name)
        .filter(|f| f.name.ends_with("__c") || f.name == "Id")
        .ok_or_else(|| {
            SfError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("Provided external ID field does not exist or is not accessible: {name}"),
            )
        })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Number => "double",
        FieldType::Bool => "boolean",
        FieldType::Date => "date",
        FieldType::DateTime => "datetime",
        _ => "string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn rollback_takes_back_creates_updates_and_deletes() {
        let mut stores = Stores::new(&["Ext__c".to_string()], crate::Clock::real());
        let mut tx = Tx::new(&mut stores);
        let a = tx
            .create(SObject::Contact, &json!({"LastName": "A", "Ext__c": "1"}))
            .unwrap();
        drop(tx);
        let mut tx = Tx::new(&mut stores);
        tx.update(SObject::Contact, a, &json!({"LastName": "B"}))
            .unwrap();
        tx.create(SObject::Contact, &json!({"LastName": "C"}))
            .unwrap();
        tx.delete(SObject::Contact, a).unwrap();
        let err = tx.create(SObject::Contact, &json!({"LastName": "D", "Ext__c": "1"}));
        // The deleted record no longer holds the unique value.
        assert!(err.is_ok());
        tx.rollback();
        let store = stores.of(SObject::Contact);
        assert_eq!(store.len(), 1);
        assert_eq!(store.get(a).unwrap().value("LastName"), Some("A"));
        assert_eq!((store.records_created, store.records_updated), (1, 0));
    }

    #[tokio::test]
    async fn bodies_are_checked_like_salesforce() {
        let mut stores = Stores::new(&["Ext__c".to_string()], crate::Clock::real());
        let mut tx = Tx::new(&mut stores);
        let code = |r: Result<u64, SfError>| r.unwrap_err().code;
        assert_eq!(
            code(tx.create(SObject::Contact, &json!({"FirstName": "x"}))),
            "REQUIRED_FIELD_MISSING"
        );
        assert_eq!(
            code(tx.create(SObject::Contact, &json!({"LastName": "x", "Nope": 1}))),
            "INVALID_FIELD"
        );
        assert_eq!(
            code(tx.create(SObject::Contact, &json!({"LastName": "x", "Name": "y"}))),
            "INVALID_FIELD_FOR_INSERT_UPDATE"
        );
        assert_eq!(
            code(tx.create(
                SObject::Account,
                &json!({"Name": "x", "NumberOfEmployees": "many"})
            )),
            "JSON_PARSER_ERROR"
        );
        assert_eq!(
            code(tx.create(SObject::Contact, &json!([1]))),
            "JSON_PARSER_ERROR"
        );
        assert_eq!(
            code(tx.create(
                SObject::Contact,
                &json!({"LastName": "x", "AccountId": "bad"})
            )),
            "MALFORMED_ID"
        );
        let missing = ids::encode("001", 99);
        assert_eq!(
            code(tx.create(
                SObject::Contact,
                &json!({"LastName": "x", "AccountId": missing})
            )),
            "INVALID_CROSS_REFERENCE_KEY"
        );
        tx.create(SObject::Contact, &json!({"LastName": "x", "Ext__c": "u"}))
            .unwrap();
        let dup = tx
            .create(SObject::Contact, &json!({"LastName": "y", "Ext__c": "u"}))
            .unwrap_err();
        assert_eq!(dup.code, "DUPLICATE_VALUE");
        assert!(
            dup.message
                .contains("Ext__c duplicates value on record with id: 0035g0"),
            "{}",
            dup.message
        );
    }
}
