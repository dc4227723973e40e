//! The relay's warehouse sink: instead of `batch/create` on a target CRM, the relay inserts the
//! records it forwards into a PostgreSQL table, as a CRM→warehouse sync (Fivetran-, Airbyte- or
//! a home-grown ETL-style) does. One text column per copied property, named after it, and
//! `synced_at` (the server's `clock_timestamp()` at the last write). With `write = create` there
//! is no key: a duplicated record is a second row, which is what a non-idempotent loader
//! produces and what the harness must count. With `write = upsert` the id property's column is
//! a unique key and each write is `INSERT … ON CONFLICT DO UPDATE`, a merge loader: a second
//! write updates the row (`synced_at` included) and the answer says which rows were new.
//!
//! The table belongs to the mock: it is dropped and created again when the sink starts, so rows
//! from an earlier run (same seed, same external ids) can never pass for this run's.

use std::collections::BTreeMap;
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

/// A connected sink: the client and the prepared shape of its writes.
pub(crate) struct Connected {
    client: Arc<Client>,
    table: String,
    /// The id property first (the key of an upsert).
    columns: Vec<String>,
    write: super::RelayWrite,
}

/// How many rows the warehouse table holds per id: the copies a warehouse sync made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WarehouseCopies {
    pub rows: u64,
    /// Distinct non-null ids.
    pub ids: u64,
    /// Ids held by more than one row.
    pub ids_with_copies: u64,
    /// Rows beyond the first of each id.
    pub extra_copies: u64,
}

/// Double-quotes an SQL identifier (`a.b` is schema `a`, table `b`).
pub fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

impl WarehouseSink {
    async fn client(&self) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::connect(&self.url, NoTls).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "relay: warehouse connection closed");
            }
        });
        Ok(client)
    }

    /// Counts the table's rows per value of `id_column`.
    pub async fn copies(&self, id_column: &str) -> Result<WarehouseCopies, tokio_postgres::Error> {
        let client = self.client().await?;
        let (table, id) = (quote_ident(&self.table), quote_ident(id_column));
        let row = client
            .query_one(
                &format!(
                    "SELECT count(*)::int8, count(DISTINCT {id})::int8, \
                     (SELECT count(*) FROM (SELECT 1 FROM {table} WHERE {id} IS NOT NULL GROUP BY {id} HAVING count(*) > 1) AS d)::int8, \
                     count({id})::int8 FROM {table}"
                ),
                &[],
            )
            .await?;
        let n = |i: usize| row.get::<_, i64>(i).max(0) as u64;
        Ok(WarehouseCopies {
            rows: n(0),
            ids: n(1),
            ids_with_copies: n(2),
            extra_copies: n(3) - n(1),
        })
    }

    /// Connects, drops and creates the table with one text column per property in `columns`
    /// (the id property first: with `upsert`, a unique key).
    pub(crate) async fn connect(
        &self,
        columns: Vec<String>,
        write: super::RelayWrite,
    ) -> Result<Connected, tokio_postgres::Error> {
        let client = self.client().await?;
        let table = quote_ident(&self.table);
        let mut defs: Vec<String> = columns
            .iter()
            .map(|c| format!("{} text", quote_ident(c)))
            .collect();
        if write == super::RelayWrite::Upsert
            && let Some(id) = columns.first()
        {
            defs.push(format!("UNIQUE ({})", quote_ident(id)));
        }
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
            write,
        })
    }
}

impl Connected {
    /// Writes one row per record (`properties` by column name; absent = NULL) and says, per
    /// record, whether its row is new. `create`: one `INSERT`, all rows or none, every row new.
    /// `upsert`: `INSERT … ON CONFLICT (id) DO UPDATE`, in rounds with each id once (a
    /// statement may not touch a row twice); repeating a round is harmless, so a failure
    /// part-way is retried whole.
    pub(crate) async fn write(
        &self,
        rows: &[&BTreeMap<String, String>],
    ) -> Result<Vec<bool>, tokio_postgres::Error> {
        if self.write == super::RelayWrite::Create {
            self.insert(rows, false).await?;
            return Ok(vec![true; rows.len()]);
        }
        let id = &self.columns[0];
        let mut created = vec![false; rows.len()];
        let mut left: Vec<usize> = (0..rows.len()).collect();
        while !left.is_empty() {
            let mut ids = std::collections::BTreeSet::new();
            let (round, later): (Vec<usize>, Vec<usize>) = left
                .into_iter()
                .partition(|&i| rows[i].get(id).is_none_or(|v| ids.insert(v.as_str())));
            let batch: Vec<_> = round.iter().map(|&i| rows[i]).collect();
            let new = self.insert(&batch, true).await?;
            for (&i, row) in round.iter().zip(&batch) {
                // Rows without an id never conflict: each is a new row.
                created[i] = row.get(id).is_none_or(|v| new.contains(v.as_str()));
            }
            left = later;
        }
        Ok(created)
    }

    /// One statement; with `upsert`, the ids of the rows it inserted (not updated).
    async fn insert(
        &self,
        rows: &[&BTreeMap<String, String>],
        upsert: bool,
    ) -> Result<std::collections::BTreeSet<String>, tokio_postgres::Error> {
        let mut inserted = std::collections::BTreeSet::new();
        if rows.is_empty() {
            return Ok(inserted);
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
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            columns.join(", "),
            values.join(", ")
        );
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        if !upsert {
            self.client.execute(&sql, &refs).await?;
            return Ok(inserted);
        }
        let id = &columns[0];
        let updates: Vec<String> = columns
            .iter()
            .skip(1)
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .chain(std::iter::once("synced_at = clock_timestamp()".to_string()))
            .collect();
        // `xmax = 0` holds for a row this statement inserted, not for one it updated.
        sql.push_str(&format!(
            " ON CONFLICT ({id}) DO UPDATE SET {} RETURNING {id}, (xmax = 0)",
            updates.join(", ")
        ));
        for row in self.client.query(&sql, &refs).await? {
            let (id, new): (Option<String>, bool) = (row.get(0), row.get(1));
            if let (Some(id), true) = (id, new) {
                inserted.insert(id);
            }
        }
        Ok(inserted)
    }
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}
