//! The relay's warehouse sink: instead of `batch/create` on a target CRM, the relay inserts the
//! records it forwards into a PostgreSQL table, as a CRM→warehouse sync (Fivetran-, Airbyte- or
//! a home-grown ETL-style) does. One text column per copied property, named after it, and
//! `synced_at` (the server's `clock_timestamp()` at insert). No key: a duplicated record is a
//! second row, which is what a non-idempotent loader produces and what the harness must count.
//!
//! The table belongs to the mock: it is dropped and created again when the sink starts, so rows
//! from an earlier run (same seed, same external ids) can never pass for this run's.

use std::sync::Arc;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls};

/// Where the warehouse sink writes.
#[derive(Clone, Debug)]
pub struct WarehouseSink {
    /// `postgres://user@host:port/db` (a secret: never logged).
    pub url: String,
    /// The table the relay (re)creates and fills, e.g. `contacts_sync` or `staging.contacts`.
    pub table: String,
}

/// A connected sink: the client and the prepared shape of its inserts.
pub(crate) struct Connected {
    client: Arc<Client>,
    table: String,
    columns: Vec<String>,
}

/// Double-quotes an SQL identifier (`a.b` is schema `a`, table `b`).
pub fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

impl WarehouseSink {
    /// Connects, drops and creates the table with one text column per property in `columns`.
    pub(crate) async fn connect(
        &self,
        columns: Vec<String>,
    ) -> Result<Connected, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "relay: warehouse connection closed");
            }
        });
        let table = quote_ident(&self.table);
        let defs: Vec<String> = columns
            .iter()
            .map(|c| format!("{} text", quote_ident(c)))
            .collect();
        client
            .batch_execute(&format!(
                "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({}, synced_at timestamptz NOT NULL DEFAULT clock_timestamp())",
                defs.join(", ")
            ))
            .await?;
        Ok(Connected {
            client: Arc::new(client),
            table,
            columns,
        })
    }
}

impl Connected {
    /// Inserts one row per record (`properties` by column name; absent = NULL), in one
    /// statement: all rows or none.
    pub(crate) async fn insert(
        &self,
        rows: &[&std::collections::BTreeMap<String, String>],
    ) -> Result<u64, tokio_postgres::Error> {
        if rows.is_empty() {
            return Ok(0);
        }
        let n = self.columns.len();
        let mut values = Vec::with_capacity(rows.len());
        let mut params: Vec<Option<&str>> = Vec::with_capacity(rows.len() * n);
        for (r, row) in rows.iter().enumerate() {
            let slots: Vec<String> = (1..=n).map(|c| format!("${}", r * n + c)).collect();
            values.push(format!("({})", slots.join(", ")));
            params.extend(self.columns.iter().map(|c| row.get(c).map(String::as_str)));
        }
        let columns: Vec<String> = self.columns.iter().map(|c| quote_ident(c)).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            columns.join(", "),
            values.join(", ")
        );
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.client.execute(&sql, &refs).await
    }
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}
