//! How the target is watched (`[verify] kind`): read-back by external id (the default), search
//! polling, a webhook receiver, or an SQL query on a PostgreSQL destination. The plan's keys are
//! validated here into a [`VerifyMethod`]; secrets (the connection URL, the webhook app secret)
//! are read from the environment or a file and never enter the effective plan.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Source};
use crate::replay::Secret;
use crate::units::parse_duration;

/// The plan's `[verify]` table as written: the polling knobs every method shares, then each
/// method's own keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VerifyFile {
    pub poll_interval: String,
    pub window: String,
    pub read_rate: String,
    pub search_rate: String,
    /// `read-back` (default), `search`, `webhook`, `postgres` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// search: how far back each poll reaches before the newest modification it has seen, so a
    /// record that became searchable late (the vendor's search lag) is still found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overlap: Option<String>,
    /// postgres: the environment variable holding the connection URL...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// ...or a file holding it (relative to the plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_file: Option<String>,
    /// postgres: the query returning the synced rows of the ids bound to `$1` (a `text[]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// postgres: the table the built-in mock's warehouse sink fills (mock-integration only), and
    /// the default query's table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// webhook: where the receiver listens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// webhook: the receiver's path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// webhook: the URL the vendor calls (signed as part of v3), when a tunnel or proxy sits in
    /// front of the receiver; default `http://<listen address><path>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    /// webhook: the environment variable holding the app's client secret...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    /// ...or a file holding it (relative to the plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// webhook: requests whose timestamp is older than this are rejected (HubSpot: 5 minutes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<String>,
    /// postgres (last: a TOML table follows the plain keys): result column → shape field (the external id's column maps to the id property).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, String>,
}

impl Default for VerifyFile {
    fn default() -> Self {
        VerifyFile {
            poll_interval: "200ms".into(),
            window: "8s".into(),
            read_rate: "15/s".into(),
            search_rate: "4/s".into(),
            kind: None,
            overlap: None,
            url_env: None,
            url_file: None,
            query: None,
            columns: BTreeMap::new(),
            table: None,
            listen: None,
            path: None,
            public_url: None,
            secret_env: None,
            secret_file: None,
            max_age: None,
        }
    }
}

/// A validated verification method.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyMethod {
    /// `batch/read` by external id, the records in flight oldest first.
    ReadBack,
    /// `search` on `lastmodifieddate`, every poll from the newest modification seen minus
    /// `overlap`.
    Search {
        overlap: Duration,
    },
    Webhook(WebhookMethod),
    Postgres(PostgresMethod),
    /// Nothing is read back: a record counts as acknowledged or not, and every figure that
    /// needs the target's copy (delivery, loss, sync latency, duplicates, completeness,
    /// accuracy, validity) is not measured, so its verdict is inconclusive, never a pass. For
    /// measuring the write path alone (the client's ceiling, a bare handler with no reads).
    None,
}

impl VerifyMethod {
    /// The plan's name of the method.
    pub fn name(&self) -> &'static str {
        match self {
            VerifyMethod::ReadBack => "read-back",
            VerifyMethod::Search { .. } => "search",
            VerifyMethod::Webhook(_) => "webhook",
            VerifyMethod::Postgres(_) => "postgres",
            VerifyMethod::None => "none",
        }
    }
}

/// A webhook receiver checking HubSpot's v3 signature.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookMethod {
    pub listen: SocketAddr,
    pub path: String,
    pub public_url: Option<String>,
    pub secret: Secret,
    pub max_age: Duration,
}

/// An SQL read-back on a PostgreSQL destination.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresMethod {
    pub url: Secret,
    /// The plan's query, `$1` = the external ids (`text[]`).
    pub query: String,
    /// Result column → field; the id property's column is among them.
    pub columns: BTreeMap<String, String>,
    /// The built-in mock's warehouse table.
    pub table: String,
}

const KINDS: [&str; 5] = ["read-back", "search", "webhook", "postgres", "none"];
const DEFAULT_TABLE: &str = "syncproof_contacts";

/// Validates the method keys of `[verify]`. `fields` are the shape's fields, `id_property` the
/// external id's property.
pub fn parse_method(
    src: &Source,
    m: &VerifyFile,
    id_property: &str,
    fields: &[String],
) -> Result<VerifyMethod, ConfigError> {
    let kind = m.kind.as_deref().unwrap_or("read-back");
    let only = |key: &str, set: bool, for_kind: &str| {
        if set && kind != for_kind {
            Err(src.invalid(
                &format!("verify.{key}"),
                format!("is only for kind = \"{for_kind}\""),
            ))
        } else {
            Ok(())
        }
    };
    only("overlap", m.overlap.is_some(), "search")?;
    for (key, set) in [
        ("url_env", m.url_env.is_some()),
        ("url_file", m.url_file.is_some()),
        ("query", m.query.is_some()),
        ("columns", !m.columns.is_empty()),
        ("table", m.table.is_some()),
    ] {
        only(key, set, "postgres")?;
    }
    for (key, set) in [
        ("listen", m.listen.is_some()),
        ("path", m.path.is_some()),
        ("public_url", m.public_url.is_some()),
        ("secret_env", m.secret_env.is_some()),
        ("secret_file", m.secret_file.is_some()),
        ("max_age", m.max_age.is_some()),
    ] {
        only(key, set, "webhook")?;
    }
    let dur = |key: &str, v: &Option<String>, default: &str| {
        parse_duration(v.as_deref().unwrap_or(default))
            .map_err(|e| src.invalid(&format!("verify.{key}"), e))
    };
    match kind {
        "read-back" => Ok(VerifyMethod::ReadBack),
        "none" => Ok(VerifyMethod::None),
        "search" => Ok(VerifyMethod::Search {
            overlap: dur("overlap", &m.overlap, "10s")?,
        }),
        "webhook" => {
            let listen_text = m.listen.as_deref().unwrap_or("127.0.0.1:0");
            let listen: SocketAddr = listen_text.parse().map_err(|_| {
                src.invalid(
                    "verify.listen",
                    format!("{listen_text:?} is not an address:port (e.g. \"127.0.0.1:8787\")"),
                )
            })?;
            let path = m.path.clone().unwrap_or_else(|| "/webhooks/hubspot".into());
            if !path.starts_with('/') {
                return Err(src.invalid("verify.path", "must start with /"));
            }
            let secret = secret(
                src,
                ("verify.secret_env", &m.secret_env),
                ("verify.secret_file", &m.secret_file),
                "kind = \"webhook\" needs the app's client secret: secret_env = \"HUBSPOT_CLIENT_SECRET\" or secret_file = \"...\"",
            )?;
            Ok(VerifyMethod::Webhook(WebhookMethod {
                listen,
                path,
                public_url: m.public_url.clone(),
                secret,
                max_age: dur("max_age", &m.max_age, "5m")?,
            }))
        }
        "postgres" => {
            let url = secret(
                src,
                ("verify.url_env", &m.url_env),
                ("verify.url_file", &m.url_file),
                "kind = \"postgres\" needs the connection URL: url_env = \"WAREHOUSE_URL\" or url_file = \"...\"",
            )?;
            if !(url.expose().starts_with("postgres://")
                || url.expose().starts_with("postgresql://"))
            {
                return Err(src.invalid(
                    "verify",
                    "the connection URL must start with postgres:// (its value is not shown: it is a secret)",
                ));
            }
            let table = m.table.clone().unwrap_or_else(|| DEFAULT_TABLE.into());
            let columns: BTreeMap<String, String> = if m.columns.is_empty() {
                std::iter::once(id_property)
                    .chain(fields.iter().map(String::as_str))
                    .map(|f| (f.to_string(), f.to_string()))
                    .collect()
            } else {
                m.columns.clone()
            };
            for (column, field) in &columns {
                if field != id_property && !fields.contains(field) {
                    let hint = crate::config::suggest_closest(field, fields)
                        .map(|s| format!(" (did you mean \"{s}\"?)"))
                        .unwrap_or_default();
                    return Err(src.invalid(
                        "verify.columns",
                        format!("column {column:?} maps to {field:?}, which is neither the id property {id_property:?} nor a field of the shape{hint}"),
                    ));
                }
            }
            if !columns.values().any(|f| f == id_property) {
                return Err(src.invalid(
                    "verify.columns",
                    format!("no column maps to the id property {id_property:?}: add e.g. ext_id = \"{id_property}\""),
                ));
            }
            let query = match &m.query {
                Some(q) => q.clone(),
                None => {
                    let id_column = columns
                        .iter()
                        .find(|(_, f)| *f == id_property)
                        .map(|(c, _)| c.as_str())
                        .unwrap_or(id_property);
                    format!(
                        "SELECT * FROM {} WHERE {} = ANY($1)",
                        syncproof_mocks::quote_ident(&table),
                        syncproof_mocks::quote_ident(id_column)
                    )
                }
            };
            if !query.contains("$1") {
                return Err(src.invalid(
                    "verify.query",
                    "must take the external ids as $1 (a text[]), e.g. WHERE ext_id = ANY($1)",
                ));
            }
            Ok(VerifyMethod::Postgres(PostgresMethod {
                url,
                query,
                columns,
                table,
            }))
        }
        other => {
            let hint = crate::config::suggest_closest(other, &KINDS)
                .map(|s| format!("did you mean \"{s}\"? "))
                .unwrap_or_default();
            Err(src.invalid(
                "verify.kind",
                format!(
                    "{other:?} is not a verification kind ({hint}kinds: {})",
                    KINDS.join(", ")
                ),
            ))
        }
    }
}

/// A secret from an environment variable or a file (relative to the plan); exactly one.
fn secret(
    src: &Source,
    (env_key, env): (&str, &Option<String>),
    (file_key, file): (&str, &Option<String>),
    missing: &str,
) -> Result<Secret, ConfigError> {
    let value = match (env, file) {
        (Some(var), None) => std::env::var(var).map_err(|_| {
            src.invalid(
                env_key,
                format!("the environment variable {var} is not set (export it, or use {file_key})"),
            )
        })?,
        (None, Some(path)) => std::fs::read_to_string(src.resolve(path))
            .map_err(|e| {
                src.invalid(
                    file_key,
                    format!("cannot read {path}: {e} (the path is relative to the plan)"),
                )
            })?
            .trim()
            .to_string(),
        (Some(_), Some(_)) => {
            return Err(src.invalid(file_key, format!("give {env_key} or {file_key}, not both")));
        }
        (None, None) => return Err(src.invalid("verify", missing)),
    };
    if value.is_empty() {
        return Err(src.invalid(env_key, "the secret is empty"));
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use crate::config::Source;
    use crate::replay::{DEMO_PLAN, Plan, PlanOverrides};

    use super::*;

    /// The demo plan with `extra` appended to its `[verify]` table (its last), as a file in
    /// `dir` so relative secret files resolve.
    fn plan(dir: &std::path::Path, extra: &str) -> Result<Plan, ConfigError> {
        let datasets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
        let text = DEMO_PLAN
            .replace("../shapes/", &format!("{}/shapes/", datasets.display()))
            .replace("../sla/", &format!("{}/sla/", datasets.display()));
        let path = dir.join("plan.toml");
        std::fs::write(&path, format!("{text}\n{extra}\n")).unwrap();
        Plan::load(&Source::read(&path).unwrap(), &PlanOverrides::default())
    }

    #[test]
    fn postgres_reads_its_url_from_a_file_and_keeps_it_out_of_the_effective_plan() {
        let dir = tempfile::tempdir().unwrap();
        let url = "postgres://u:hunter2@127.0.0.1:5432/db";
        std::fs::write(dir.path().join("url"), url).unwrap();
        let p = plan(
            dir.path(),
            "kind = \"postgres\"\nurl_file = \"url\"\n[verify.columns]\next_id = \"syncproof_id\"\nmail = \"email\"",
        )
        .unwrap();
        let VerifyMethod::Postgres(m) = &p.verify.method else {
            panic!("{:?}", p.verify.method)
        };
        assert_eq!(m.url.expose(), url);
        assert_eq!(
            m.query,
            "SELECT * FROM \"syncproof_contacts\" WHERE \"ext_id\" = ANY($1)"
        );
        assert!(
            !p.effective_toml.contains("hunter2"),
            "{}",
            p.effective_toml
        );
        assert!(!format!("{p:?}").contains("hunter2"));
        // The effective plan is a plan again, with the same method.
        std::fs::write(dir.path().join("plan.toml"), &p.effective_toml).unwrap();
        let shape = dir.path().join(crate::replay::RUN_DIR_SHAPE);
        std::fs::write(&shape, &p.shape_text).unwrap();
        std::fs::write(dir.path().join(crate::replay::RUN_DIR_SLA), &p.sla.text).unwrap();
        let again = Plan::load(
            &Source::read(&dir.path().join("plan.toml")).unwrap(),
            &PlanOverrides::default(),
        )
        .unwrap();
        assert_eq!(again.verify.method, p.verify.method);
    }

    #[test]
    fn bad_verify_keys_name_the_key_and_the_way_out() {
        let dir = tempfile::tempdir().unwrap();
        let err = |extra: &str| plan(dir.path(), extra).unwrap_err().to_string();
        let e = err("kind = \"webhok\"");
        assert!(
            e.contains("verify.kind") && e.contains("did you mean \"webhook\""),
            "{e}"
        );
        let e = err("kind = \"search\"\nquery = \"SELECT 1\"");
        assert!(
            e.contains("verify.query") && e.contains("only for kind = \"postgres\""),
            "{e}"
        );
        let e = err("kind = \"webhook\"");
        assert!(e.contains("secret_env"), "{e}");
        let e = err("kind = \"webhook\"\nsecret_env = \"SYNCPROOF_SURELY_UNSET_VAR\"");
        assert!(
            e.contains("SYNCPROOF_SURELY_UNSET_VAR") && e.contains("not set"),
            "{e}"
        );
        std::fs::write(dir.path().join("url"), "postgres://x@127.0.0.1/db").unwrap();
        let e = err("kind = \"postgres\"\nurl_file = \"url\"\nquery = \"SELECT * FROM t\"");
        assert!(e.contains("verify.query") && e.contains("$1"), "{e}");
        let e = err("kind = \"postgres\"\nurl_file = \"url\"\n[verify.columns]\nmail = \"emial\"");
        assert!(e.contains("did you mean \"email\""), "{e}");
        let e = err("kind = \"postgres\"\nurl_file = \"url\"\n[verify.columns]\nmail = \"email\"");
        assert!(e.contains("no column maps to the id property"), "{e}");
        std::fs::write(dir.path().join("url"), "mysql://x@127.0.0.1/db").unwrap();
        let e = err("kind = \"postgres\"\nurl_file = \"url\"");
        assert!(
            e.contains("postgres://") && !e.contains("mysql://x@"),
            "{e}"
        );
    }

    #[test]
    fn search_and_webhook_take_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let p = plan(dir.path(), "kind = \"search\"").unwrap();
        assert_eq!(
            p.verify.method,
            VerifyMethod::Search {
                overlap: Duration::from_secs(10)
            }
        );
        std::fs::write(dir.path().join("secret"), "s3cret\n").unwrap();
        let p = plan(dir.path(), "kind = \"webhook\"\nsecret_file = \"secret\"").unwrap();
        let VerifyMethod::Webhook(m) = &p.verify.method else {
            panic!()
        };
        assert_eq!(m.secret.expose(), "s3cret");
        assert_eq!(m.path, "/webhooks/hubspot");
        assert_eq!(m.max_age, Duration::from_secs(300));
        assert!(m.listen.ip().is_loopback());
        assert_eq!(
            plan(dir.path(), "").unwrap().verify.method,
            VerifyMethod::ReadBack
        );
    }
}
