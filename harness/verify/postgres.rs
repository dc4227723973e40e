//! The SQL read-back of a CRM→warehouse sync: the plan's query, given the external ids as `$1`
//! (`text[]`), returns the synced rows; its columns map to the shape's fields. While the run
//! goes on, the records in flight are looked up (1,000 ids a query); a record is *delivered*
//! when its first row appears, at the completion time of the query that found it. At the end
//! every record sent is looked up the same way and every row is a copy, duplicates included,
//! for the quality stage. Any column type works: each row is read as `row_to_json`, so values
//! arrive as the warehouse renders them in JSON (numbers and booleans compared as text).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;
use tokio_postgres::{NoTls, Statement};
use tokio_util::sync::CancellationToken;

use super::watch::{Counters, Finder};
use super::{PostgresMethod, ReconcileError};
use crate::measure::{Event, EventKind, Message, Micros, RunClock};
use crate::replay::{InFlight, TargetCopy};

/// Ids a query: `= ANY($1)` on an indexed column stays an index scan well past this.
const IDS_PER_QUERY: usize = 1_000;
/// Queries per poll while records are in flight (at most 20,000 records looked at a poll).
const QUERIES_PER_POLL: usize = 20;

/// Why the warehouse cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error(
        "cannot connect to the PostgreSQL destination: {0} (check verify.url_env / url_file; the URL is not shown)"
    )]
    Connect(#[source] tokio_postgres::Error),
    #[error("verify.query is not usable: {0}")]
    Query(String),
}

/// A connected warehouse with the plan's query prepared.
pub struct Warehouse {
    client: tokio_postgres::Client,
    statement: Statement,
    columns: BTreeMap<String, String>,
    id_property: String,
    pub counters: Arc<Counters>,
}

impl std::fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warehouse").finish_non_exhaustive()
    }
}

impl Warehouse {
    /// Connects (no TLS: a warehouse reached over loopback, a tunnel or a private network) and
    /// prepares the query, so a wrong query fails before anything is sent.
    pub async fn connect(
        m: &PostgresMethod,
        id_property: &str,
    ) -> Result<Warehouse, WarehouseError> {
        let (client, connection) = tokio_postgres::connect(m.url.expose(), NoTls)
            .await
            .map_err(WarehouseError::Connect)?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "verify: the warehouse connection closed");
            }
        });
        let query = m.query.trim().trim_end_matches(';');
        let sql = format!("SELECT row_to_json(q)::text FROM ({query}) AS q");
        let statement = client
            .prepare(&sql)
            .await
            .map_err(|e| WarehouseError::Query(db_message(&e)))?;
        match statement.params() {
            [t] if *t == tokio_postgres::types::Type::TEXT_ARRAY
                || *t == tokio_postgres::types::Type::VARCHAR_ARRAY => {}
            params => {
                return Err(WarehouseError::Query(format!(
                    "it must take exactly one parameter, $1, the external ids as text[] (found {}); cast a non-text id column, e.g. WHERE ext_id::text = ANY($1)",
                    params
                        .iter()
                        .map(|t| t.name().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(Warehouse {
            client,
            statement,
            columns: m.columns.clone(),
            id_property: id_property.to_string(),
            counters: Arc::default(),
        })
    }

    /// The rows of `ids`, each as a copy keyed by field (the row's position in the answer is
    /// its `object_id`, so the query's `ORDER BY` decides which copy is "first").
    async fn rows(&self, ids: &[String]) -> Result<Vec<TargetCopy>, tokio_postgres::Error> {
        self.counters.add("queries", 1);
        let rows = match self.client.query(&self.statement, &[&ids]).await {
            Ok(rows) => rows,
            Err(e) => {
                self.counters.add("query_errors", 1);
                return Err(e);
            }
        };
        self.counters.add("rows", rows.len() as u64);
        let mut copies = Vec::with_capacity(rows.len());
        for (n, row) in rows.iter().enumerate() {
            let text: String = row.get(0);
            let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let mut properties = BTreeMap::new();
            for (column, field) in &self.columns {
                let value = match object.get(column) {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                };
                properties.insert(field.clone(), value);
            }
            copies.push(TargetCopy {
                object_id: n as u64 + 1,
                properties,
            });
        }
        Ok(copies)
    }
}

fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_string(),
        None => e.to_string(),
    }
}

/// In-flight lookups for [`super::watch::watch`].
pub struct WarehouseFinder {
    pub warehouse: Arc<Warehouse>,
    pub clock: RunClock,
}

impl Finder for WarehouseFinder {
    async fn find(&mut self, inflight: &InFlight) -> Vec<(u64, Micros)> {
        let candidates = inflight.oldest(IDS_PER_QUERY * QUERIES_PER_POLL);
        let mut found = Vec::new();
        for chunk in candidates.chunks(IDS_PER_QUERY) {
            let ids: Vec<String> = chunk.iter().map(|(_, p)| p.external_id.clone()).collect();
            let copies = match self.warehouse.rows(&ids).await {
                Ok(copies) => copies,
                Err(e) => {
                    tracing::warn!(error = %db_message(&e), "verify: a warehouse query failed; retrying at the next poll");
                    continue;
                }
            };
            let done_at = self.clock.now();
            let by_id: HashMap<&str, u64> = chunk
                .iter()
                .map(|(idx, p)| (p.external_id.as_str(), *idx))
                .collect();
            for copy in &copies {
                if let Some(idx) = copy
                    .get(&self.warehouse.id_property)
                    .and_then(|id| by_id.get(id))
                {
                    found.push((*idx, done_at));
                }
            }
        }
        found
    }
}

/// The final reconciliation against the warehouse: every record's rows, in the order of `ids`.
/// A query that keeps failing (three tries) stops the run rather than let a partial
/// reconciliation pass as complete.
pub async fn reconcile_warehouse(
    warehouse: &Warehouse,
    ids: impl Iterator<Item = (u64, String)>,
    events: &tokio::sync::mpsc::Sender<Message>,
    cancel: &CancellationToken,
    mut on_record: impl FnMut(u64, Vec<TargetCopy>),
) -> Result<(), ReconcileError> {
    let mut ids = ids.peekable();
    let mut chunk: Vec<(u64, String)> = Vec::with_capacity(IDS_PER_QUERY);
    while ids.peek().is_some() {
        if cancel.is_cancelled() {
            return Err(ReconcileError::Interrupted);
        }
        chunk.clear();
        chunk.extend(ids.by_ref().take(IDS_PER_QUERY));
        let values: Vec<String> = chunk.iter().map(|(_, id)| id.clone()).collect();
        let mut tries = 0;
        let copies = loop {
            match warehouse.rows(&values).await {
                Ok(copies) => break copies,
                Err(e) if tries < 2 => {
                    tries += 1;
                    tracing::warn!(error = %db_message(&e), "verify: a reconciliation query failed; trying again");
                }
                Err(e) => return Err(ReconcileError::Warehouse(db_message(&e))),
            }
        };
        let mut by_id: HashMap<String, Vec<TargetCopy>> = HashMap::new();
        for copy in copies {
            if let Some(id) = copy.get(&warehouse.id_property) {
                by_id.entry(id.to_string()).or_default().push(copy);
            }
        }
        for (idx, id) in &chunk {
            let found = by_id.remove(id).unwrap_or_default();
            let mut e = Event::new(EventKind::Reconciled, *idx, id.clone(), Micros::default());
            e.copies = Some(found.len() as u32);
            let _ = events.send(Message::Event(e)).await;
            on_record(*idx, found);
        }
    }
    Ok(())
}
