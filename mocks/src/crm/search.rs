//! The search endpoint's semantics: request validation (group/filter counts, limit, the 10,000
//! paging cap), filter matching, sorting, offsets and the search-lag visibility rule.
//!
//! Pure over a store snapshot, so it is tested without HTTP. Matching returns every matching
//! record, duplicates included: the harness counts duplicates through search. Comparisons are
//! numeric when both sides parse as numbers, otherwise string comparisons. A record with no value
//! for a property matches only `NEQ`, `NOT_IN` and `NOT_HAS_PROPERTY` on it.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::errors::ApiError;
use super::store::{Record, Store};
use super::wire::{
    CollectionWithTotal, Filter, Paging, SearchRequest, SimplePublicObject, parse_body,
    scalar_string,
};
use super::{Crm, ObjectType};

const MAX_GROUPS: usize = 5;
const MAX_FILTERS_PER_GROUP: usize = 6;
const MAX_FILTERS: usize = 18;
const MAX_LIMIT: i64 = 200;
const DEFAULT_LIMIT: i64 = 10;
/// Search never pages past this many results.
pub(crate) const MAX_RESULTS: usize = 10_000;

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(String),
    Neq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Gt(String),
    Gte(String),
    Lt(String),
    Lte(String),
    Between(String, String),
    HasProperty,
    NotHasProperty,
}

#[derive(Debug, Clone, PartialEq)]
struct Condition {
    property: String,
    op: Op,
}

#[derive(Debug, Clone, PartialEq)]
struct Sort {
    property: String,
    descending: bool,
}

/// A validated search request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    groups: Vec<Vec<Condition>>,
    sorts: Vec<Sort>,
    pub(crate) properties: Vec<String>,
    limit: usize,
    offset: usize,
}

fn compare(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

fn equal(a: &str, b: &str) -> bool {
    compare(a, b) == Ordering::Equal
}

impl Condition {
    fn parse(filter: &Filter, store: &Store) -> Result<Condition, ApiError> {
        let name = &filter.property_name;
        let one = || -> Result<String, ApiError> {
            let value = filter
                .value
                .as_ref()
                .and_then(scalar_string)
                .ok_or_else(|| {
                    ApiError::validation(format!(
                        "filter on '{name}' with operator {} needs a scalar 'value'",
                        filter.operator
                    ))
                })?;
            Ok(store.normalise(name, &value))
        };
        let many = || -> Result<Vec<String>, ApiError> {
            let values = filter.values.as_ref().ok_or_else(|| {
                ApiError::validation(format!(
                    "filter on '{name}' with operator {} needs a 'values' array",
                    filter.operator
                ))
            })?;
            values
                .iter()
                .map(|v| {
                    scalar_string(v)
                        .map(|v| store.normalise(name, &v))
                        .ok_or_else(|| {
                            ApiError::validation(format!(
                                "filter on '{name}': 'values' must be scalars"
                            ))
                        })
                })
                .collect()
        };
        let op = match filter.operator.as_str() {
            "EQ" => Op::Eq(one()?),
            "NEQ" => Op::Neq(one()?),
            "IN" => Op::In(many()?),
            "NOT_IN" => Op::NotIn(many()?),
            "GT" => Op::Gt(one()?),
            "GTE" => Op::Gte(one()?),
            "LT" => Op::Lt(one()?),
            "LTE" => Op::Lte(one()?),
            "BETWEEN" => {
                let high = filter
                    .high_value
                    .as_ref()
                    .and_then(scalar_string)
                    .ok_or_else(|| {
                        ApiError::validation(format!(
                            "filter on '{name}' with BETWEEN needs 'highValue'"
                        ))
                    })?;
                Op::Between(one()?, high)
            }
            "HAS_PROPERTY" => Op::HasProperty,
            "NOT_HAS_PROPERTY" => Op::NotHasProperty,
            other => {
                return Err(ApiError::validation(format!(
                    "operator '{other}' is not supported by the mock; use one of EQ, NEQ, IN, NOT_IN, \
                     GT, GTE, LT, LTE, BETWEEN, HAS_PROPERTY, NOT_HAS_PROPERTY"
                )));
            }
        };
        Ok(Condition {
            property: name.clone(),
            op,
        })
    }

    fn matches(&self, record: &Record) -> bool {
        let value = record.value(&self.property).filter(|v| !v.is_empty());
        let Some(v) = value else {
            return matches!(self.op, Op::Neq(_) | Op::NotIn(_) | Op::NotHasProperty);
        };
        match &self.op {
            Op::Eq(x) => equal(v, x),
            Op::Neq(x) => !equal(v, x),
            Op::In(xs) => xs.iter().any(|x| equal(v, x)),
            Op::NotIn(xs) => !xs.iter().any(|x| equal(v, x)),
            Op::Gt(x) => compare(v, x) == Ordering::Greater,
            Op::Gte(x) => compare(v, x) != Ordering::Less,
            Op::Lt(x) => compare(v, x) == Ordering::Less,
            Op::Lte(x) => compare(v, x) != Ordering::Greater,
            Op::Between(lo, hi) => {
                compare(v, lo) != Ordering::Less && compare(v, hi) != Ordering::Greater
            }
            Op::HasProperty => true,
            Op::NotHasProperty => false,
        }
    }
}

fn parse_sort(value: &serde_json::Value) -> Result<Sort, ApiError> {
    let bad = || {
        ApiError::validation(format!(
            "sort {value} must be \"prop\", \"-prop\" or {{\"propertyName\", \"direction\"}}"
        ))
    };
    if let Some(s) = value.as_str() {
        return Ok(match s.strip_prefix('-') {
            Some(p) => Sort {
                property: p.to_string(),
                descending: true,
            },
            None => Sort {
                property: s.to_string(),
                descending: false,
            },
        });
    }
    let property = value
        .get("propertyName")
        .and_then(|p| p.as_str())
        .ok_or_else(bad)?;
    let descending = match value.get("direction").and_then(|d| d.as_str()) {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(_) => return Err(bad()),
    };
    Ok(Sort {
        property: property.to_string(),
        descending,
    })
}

impl Query {
    /// Validates a request against HubSpot's search limits.
    pub(crate) fn parse(req: SearchRequest, store: &Store) -> Result<Query, ApiError> {
        if req.query.as_deref().is_some_and(|q| !q.is_empty()) {
            return Err(ApiError::validation(
                "full-text 'query' is not supported by the mock; use filterGroups",
            ));
        }
        if req.filter_groups.len() > MAX_GROUPS {
            return Err(ApiError::validation(format!(
                "at most {MAX_GROUPS} filterGroups are allowed, got {}",
                req.filter_groups.len()
            )));
        }
        let total: usize = req.filter_groups.iter().map(|g| g.filters.len()).sum();
        if req
            .filter_groups
            .iter()
            .any(|g| g.filters.len() > MAX_FILTERS_PER_GROUP)
            || total > MAX_FILTERS
        {
            return Err(ApiError::validation(format!(
                "at most {MAX_FILTERS_PER_GROUP} filters per group and {MAX_FILTERS} in total are allowed"
            )));
        }
        let groups = req
            .filter_groups
            .iter()
            .map(|g| {
                g.filters
                    .iter()
                    .map(|f| Condition::parse(f, store))
                    .collect()
            })
            .collect::<Result<Vec<Vec<Condition>>, ApiError>>()?;
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::validation(format!(
                "limit must be between 1 and {MAX_LIMIT}, got {limit}"
            )));
        }
        let offset = match &req.after {
            None => 0,
            Some(after) => scalar_string(after)
                .and_then(|s| s.parse::<usize>().ok())
                .ok_or_else(|| {
                    ApiError::validation(format!(
                        "'after' must be a non-negative integer offset, got {after}"
                    ))
                })?,
        };
        let limit = limit as usize;
        if offset.saturating_add(limit) > MAX_RESULTS {
            return Err(ApiError::validation(format!(
                "search cannot page beyond {MAX_RESULTS} results (after={offset}, limit={limit})"
            )));
        }
        let sorts = req.sorts.iter().map(parse_sort).collect::<Result<_, _>>()?;
        Ok(Query {
            groups,
            sorts,
            properties: req.properties,
            limit,
            offset,
        })
    }

    fn matches(&self, record: &Record) -> bool {
        self.groups.is_empty()
            || self
                .groups
                .iter()
                .any(|g| g.iter().all(|c| c.matches(record)))
    }

    /// Ids worth checking: when every group has a non-numeric `EQ` on an indexed property, the
    /// index gives them directly; otherwise every record.
    fn candidates<'s>(&self, store: &'s mut Store) -> Vec<&'s Record> {
        let mut ids = BTreeSet::new();
        for group in &self.groups {
            let indexed = group.iter().find_map(|c| match &c.op {
                // The index matches strings exactly; a numeric value may equal other spellings
                // ("5" = "5.0"), so those groups are scanned.
                Op::Eq(v) if v.trim().parse::<f64>().is_err() => store.ids_with(&c.property, v),
                _ => None,
            });
            match indexed {
                Some(found) => ids.extend(found),
                None => return store.records().iter().collect(),
            }
        }
        if self.groups.is_empty() {
            return store.records().iter().collect();
        }
        ids.into_iter().filter_map(|id| store.get(id)).collect()
    }

    /// Runs the query: records updated less than `search_lag` before `now` are not yet visible.
    pub(crate) fn run(
        &self,
        store: &mut Store,
        now: Instant,
        search_lag: Duration,
    ) -> CollectionWithTotal {
        let mut hits: Vec<&Record> = self
            .candidates(store)
            .into_iter()
            .filter(|r| !r.archived && r.updated_mono + search_lag <= now && self.matches(r))
            .collect();
        if !self.sorts.is_empty() {
            hits.sort_by(|a, b| {
                for sort in &self.sorts {
                    // Records without the property sort last in either direction.
                    let ord = match (a.value(&sort.property), b.value(&sort.property)) {
                        (Some(x), Some(y)) if sort.descending => compare(y, x),
                        (Some(x), Some(y)) => compare(x, y),
                        (Some(_), None) => Ordering::Less,
                        (None, Some(_)) => Ordering::Greater,
                        (None, None) => Ordering::Equal,
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                a.id.cmp(&b.id)
            });
        }
        let total = hits.len();
        let end = (self.offset + self.limit).min(total);
        let requested = self.properties.iter().map(String::as_str);
        let results = hits
            .get(self.offset..end)
            .unwrap_or_default()
            .iter()
            .map(|r| SimplePublicObject::render(r, requested.clone()))
            .collect();
        let paging = (end < total).then(|| Paging::after(end));
        CollectionWithTotal {
            total,
            results,
            paging,
        }
    }
}

/// `POST /crm/v3/objects/{type}/search` (its own limiter already passed in the gate).
pub(crate) async fn handle<const O: u8>(State(crm): State<Arc<Crm>>, body: Bytes) -> Response {
    crm.respond(handle_inner(&crm, ObjectType::of(O), &body))
}

fn handle_inner(crm: &Crm, object: ObjectType, body: &[u8]) -> Result<Response, ApiError> {
    let request: SearchRequest = parse_body(body)?;
    let mut store = crm.store_of(object);
    let query = Query::parse(request, &store)?;
    let answer = query.run(&mut store, crm.now(), crm.config().search_lag);
    drop(store);
    Ok(Json(answer).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> Store {
        let mut store = Store::new(vec![], true);
        let rows = [
            ("a@x.io", Some("10")),
            ("B@x.io", Some("9")),
            ("c@x.io", None),
            ("a@x.io", Some("100")),
        ];
        for (email, n) in rows {
            let mut props = std::collections::BTreeMap::new();
            props.insert("email".to_string(), Some(email.to_string()));
            props.insert("n".to_string(), n.map(str::to_string));
            store.create(&props).unwrap();
        }
        store
    }

    fn ids(store: &mut Store, body: serde_json::Value) -> Result<Vec<String>, ApiError> {
        let req: SearchRequest = parse_body(body.to_string().as_bytes())?;
        let query = Query::parse(req, store)?;
        let out = query.run(store, Instant::now(), Duration::ZERO);
        Ok(out.results.into_iter().map(|r| r.id.to_string()).collect())
    }

    fn filter(property: &str, operator: &str, value: serde_json::Value) -> serde_json::Value {
        json!({"filterGroups": [{"filters": [{"propertyName": property, "operator": operator, "value": value}]}]})
    }

    #[tokio::test]
    async fn operators() {
        let mut s = store();
        let cases: Vec<(serde_json::Value, Vec<&str>)> = vec![
            (filter("email", "EQ", json!("A@X.IO")), vec!["1", "4"]),
            (filter("email", "NEQ", json!("a@x.io")), vec!["2", "3"]),
            (filter("n", "GT", json!(9)), vec!["1", "4"]),
            (filter("n", "EQ", json!("10.0")), vec!["1"]),
            (filter("n", "GTE", json!("9")), vec!["1", "2", "4"]),
            (filter("n", "LT", json!("10")), vec!["2"]),
            (filter("n", "LTE", json!(10)), vec!["1", "2"]),
            (filter("email", "GT", json!("b")), vec!["2", "3"]),
            (
                json!({"filterGroups": [{"filters": [{"propertyName": "n", "operator": "HAS_PROPERTY"}]}]}),
                vec!["1", "2", "4"],
            ),
            (
                json!({"filterGroups": [{"filters": [{"propertyName": "n", "operator": "NOT_HAS_PROPERTY"}]}]}),
                vec!["3"],
            ),
            (
                json!({"filterGroups": [{"filters": [{"propertyName": "n", "operator": "IN", "values": ["9", 100]}]}]}),
                vec!["2", "4"],
            ),
            (
                json!({"filterGroups": [{"filters": [{"propertyName": "n", "operator": "NOT_IN", "values": ["9"]}]}]}),
                vec!["1", "3", "4"],
            ),
            (
                json!({"filterGroups": [{"filters": [{"propertyName": "n", "operator": "BETWEEN", "value": 9, "highValue": 10}]}]}),
                vec!["1", "2"],
            ),
            // Groups are ORed, filters within a group ANDed.
            (
                json!({"filterGroups": [
                    {"filters": [{"propertyName": "email", "operator": "EQ", "value": "a@x.io"}, {"propertyName": "n", "operator": "GT", "value": "50"}]},
                    {"filters": [{"propertyName": "hs_object_id", "operator": "EQ", "value": "3"}]}
                ]}),
                vec!["3", "4"],
            ),
            (json!({}), vec!["1", "2", "3", "4"]),
            (
                json!({"sorts": [{"propertyName": "n", "direction": "DESCENDING"}]}),
                vec!["4", "1", "2", "3"],
            ),
            (json!({"sorts": ["n"]}), vec!["2", "1", "4", "3"]),
        ];
        for (body, want) in cases {
            assert_eq!(ids(&mut s, body.clone()).unwrap(), want, "{body}");
        }
    }

    #[tokio::test]
    async fn validation() {
        let mut s = store();
        let f = json!({"propertyName": "n", "operator": "HAS_PROPERTY"});
        let bad = [
            json!({"filterGroups": vec![json!({"filters": [f.clone()]}); 6]}),
            json!({"filterGroups": [{"filters": vec![f.clone(); 7]}]}),
            json!({"filterGroups": vec![json!({"filters": vec![f.clone(); 4]}); 5]}),
            json!({"limit": 201}),
            json!({"limit": 0}),
            json!({"after": "x"}),
            json!({"after": "9990", "limit": 11}),
            json!({"after": 10000}),
            filter("n", "CONTAINS_TOKEN", json!("x")),
            filter("n", "EQ", json!(null)),
            json!({"sorts": [{"propertyName": "n", "direction": "UP"}]}),
            json!({"query": "hello"}),
        ];
        for body in bad {
            let err = ids(&mut s, body.clone()).unwrap_err();
            assert_eq!(err.status.as_u16(), 400, "{body}");
            assert_eq!(err.category, "VALIDATION_ERROR");
        }
        assert!(
            ids(&mut s, json!({"after": "9990", "limit": 10}))
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn search_lag_hides_recent_writes() {
        let mut s = store();
        let query = Query::parse(parse_body(b"{}").unwrap(), &s).unwrap();
        let lag = Duration::from_secs(2);
        assert_eq!(query.run(&mut s, Instant::now(), lag).total, 0);
        tokio::time::advance(lag).await;
        assert_eq!(query.run(&mut s, Instant::now(), lag).total, 4);
    }

    #[tokio::test]
    async fn paging_offsets() {
        let mut s = store();
        let mut page = |after: usize| {
            let req = parse_body(
                json!({"limit": 3, "after": after.to_string()})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
            Query::parse(req, &s)
                .unwrap()
                .run(&mut s, Instant::now(), Duration::ZERO)
        };
        let first = page(0);
        assert_eq!((first.total, first.results.len()), (4, 3));
        assert_eq!(first.paging.unwrap().next.after, "3");
        let last = page(3);
        assert_eq!(last.results.len(), 1);
        assert!(last.paging.is_none());
    }
}
