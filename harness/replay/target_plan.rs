//! The dialect part of a plan's `[target]`: which API is spoken and how (HubSpot; Salesforce's
//! instance, API version, object, external-id field; a generic REST API's templates), the
//! mapping of shape fields to the API's names, and how the credential is sent. The serde shape
//! is checked here against the shape, so a misspelt field or placeholder is refused before
//! anything is sent, naming its key.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Dialect, Hubspot, Rest, Salesforce};
use crate::config::{ConfigError, Source, suggest_closest};
use crate::shape::Shape;

/// `[target.rest]`: a REST API described by templates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RestFile {
    #[serde(default = "default_method")]
    method: String,
    /// Path of the write, e.g. `/v1/contacts` or `/v1/contacts/{external_id}`.
    path: String,
    /// JSON text of the write's body, with `{{external_id}}`, `{{field}}`, `{{fields}}`.
    body: String,
    /// Path of the read-back, with `{external_id}` or `{id}` (the created id).
    read_path: String,
    /// JSON pointer to the id in the write's and the read's answer, e.g. `/id`.
    id_pointer: String,
    /// JSON pointer to an object of the stored values in the read's answer, e.g. `/properties`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fields_pointer: Option<String>,
    /// The header carrying the credential (default `Authorization`)...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_header: Option<String>,
    /// ...and the scheme before it (default `Bearer` for `Authorization`, none otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_scheme: Option<String>,
}

fn default_method() -> String {
    "POST".into()
}

/// The dialect keys of `[target]`, as the plan file holds them.
#[derive(Debug, Clone)]
pub(super) struct DialectKeys<'a> {
    pub api_version: Option<&'a str>,
    pub object: Option<&'a str>,
    pub external_id_field: Option<&'a str>,
    pub fields: &'a BTreeMap<String, String>,
    pub rest: Option<&'a RestFile>,
}

/// The API a plan's target speaks, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum DialectPlan {
    Hubspot,
    Salesforce {
        api_version: String,
        object: String,
        external_id_field: String,
        fields: BTreeMap<String, String>,
    },
    Rest(RestPlan),
}

/// A validated `[target.rest]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RestPlan {
    pub method: reqwest::Method,
    pub path: String,
    pub body: serde_json::Value,
    pub read_path: String,
    pub id_pointer: String,
    pub fields_pointer: Option<String>,
    pub fields: BTreeMap<String, String>,
    /// The header the credential goes in, and the scheme before it.
    pub auth_header: Option<(String, Option<String>)>,
}

impl DialectPlan {
    /// The dialect, ready for the engine and the verifiers.
    pub fn build(&self, id_property: &str, shape_fields: &[String]) -> Arc<dyn Dialect> {
        match self {
            DialectPlan::Hubspot => Arc::new(Hubspot {
                id_property: id_property.to_string(),
            }),
            DialectPlan::Salesforce {
                api_version,
                object,
                external_id_field,
                fields,
            } => Arc::new(Salesforce::new(
                api_version,
                object,
                external_id_field,
                id_property,
                shape_fields,
                fields,
            )),
            DialectPlan::Rest(r) => Arc::new(Rest::new(
                r.method.clone(),
                &r.path,
                r.body.clone(),
                &r.read_path,
                &r.id_pointer,
                r.fields_pointer.as_deref(),
                id_property,
                shape_fields,
                &r.fields,
            )),
        }
    }

    /// The plan's name of this kind of target (`[target] kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            DialectPlan::Hubspot => "hubspot",
            DialectPlan::Salesforce { .. } => "salesforce",
            DialectPlan::Rest(_) => "rest",
        }
    }

    /// Most records one write call may carry.
    pub fn max_batch(&self) -> usize {
        match self {
            DialectPlan::Hubspot => 100,
            DialectPlan::Salesforce { .. } => super::salesforce::COLLECTION_MAX,
            DialectPlan::Rest(_) => 1,
        }
    }

    /// `(header, value)` to send instead of `Authorization: Bearer <token>`.
    pub fn auth_header(&self, token: &str) -> Option<(String, String)> {
        let DialectPlan::Rest(RestPlan {
            auth_header: Some((header, scheme)),
            ..
        }) = self
        else {
            return None;
        };
        let value = match scheme {
            Some(scheme) => format!("{scheme} {token}"),
            None => token.to_string(),
        };
        Some((header.clone(), value))
    }

    /// The cheap read `probe-limits` repeats: HubSpot's one-contact list, a one-row SOQL
    /// query; `None` for a REST target, whose API has no read known to be cheap.
    pub fn probe_path(&self) -> Option<String> {
        match self {
            DialectPlan::Hubspot => Some(super::probe::PROBE_PATH.to_string()),
            DialectPlan::Salesforce {
                api_version,
                object,
                ..
            } => Some(format!(
                "/services/data/{api_version}/query?q=SELECT+Id+FROM+{object}+LIMIT+1"
            )),
            DialectPlan::Rest(_) => None,
        }
    }

    /// A run of this dialect keeps per-record state a resume would not have.
    pub fn resumable(&self) -> bool {
        !matches!(self, DialectPlan::Rest(r) if r.read_path.contains("{id}"))
    }

    /// The dialect of target kind `kind` (`hubspot`, `salesforce`, `rest`, or the mock's).
    pub(super) fn from_keys(
        src: &Source,
        kind: &str,
        keys: &DialectKeys<'_>,
        shape: &Shape,
    ) -> Result<DialectPlan, ConfigError> {
        let present = [
            ("target.api_version", keys.api_version.is_some()),
            ("target.object", keys.object.is_some()),
            ("target.external_id_field", keys.external_id_field.is_some()),
            ("target.fields", !keys.fields.is_empty()),
            ("target.rest", keys.rest.is_some()),
        ];
        let only = |allowed: &[&str]| -> Result<(), ConfigError> {
            match present
                .iter()
                .find(|(key, set)| *set && !allowed.contains(key))
            {
                Some((key, _)) => Err(src.invalid(
                    key,
                    format!("is not a key of kind = \"{kind}\" (see datasets/plans/ for an example of each kind)"),
                )),
                None => Ok(()),
            }
        };
        check_fields(src, keys.fields, shape)?;
        match kind {
            "salesforce" => {
                only(&[
                    "target.api_version",
                    "target.object",
                    "target.external_id_field",
                    "target.fields",
                ])?;
                let api_version = keys.api_version.unwrap_or("v62.0").to_string();
                let well_formed = api_version
                    .strip_prefix('v')
                    .and_then(|v| v.split_once('.'))
                    .is_some_and(|(major, minor)| {
                        !major.is_empty()
                            && !minor.is_empty()
                            && (major.to_string() + minor)
                                .bytes()
                                .all(|b| b.is_ascii_digit())
                    });
                if !well_formed {
                    return Err(src.invalid(
                        "target.api_version",
                        format!("{api_version:?} is not an API version: write it like \"v62.0\""),
                    ));
                }
                let object = keys.object.unwrap_or("Contact");
                if object.is_empty()
                    || !object
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(src.invalid(
                        "target.object",
                        format!("{object:?} is not an sObject name (e.g. \"Contact\")"),
                    ));
                }
                let ext = keys.external_id_field.ok_or_else(|| {
                    src.invalid(
                        "target",
                        "kind = \"salesforce\" needs external_id_field = \"Syncproof_Id__c\" (a custom field marked External ID on the object)",
                    )
                })?;
                if !ext.ends_with("__c")
                    || !ext.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Err(src.invalid(
                        "target.external_id_field",
                        format!("{ext:?} is not a custom field name: external ids are custom fields ending in __c"),
                    ));
                }
                Ok(DialectPlan::Salesforce {
                    api_version,
                    object: object.to_string(),
                    external_id_field: ext.to_string(),
                    fields: keys.fields.clone(),
                })
            }
            "rest" => {
                only(&["target.fields", "target.rest"])?;
                let r = keys.rest.ok_or_else(|| {
                    src.invalid(
                        "target",
                        "kind = \"rest\" needs a [target.rest] table with path, body, read_path and id_pointer",
                    )
                })?;
                rest_plan(src, r, keys.fields, shape).map(DialectPlan::Rest)
            }
            _ => {
                only(&[])?;
                Ok(DialectPlan::Hubspot)
            }
        }
    }
}

fn check_fields(
    src: &Source,
    fields: &BTreeMap<String, String>,
    shape: &Shape,
) -> Result<(), ConfigError> {
    for field in fields.keys() {
        if shape.field(field).is_none() {
            return Err(src.invalid("target.fields", unknown_field(field, shape)));
        }
    }
    Ok(())
}

fn unknown_field(field: &str, shape: &Shape) -> String {
    let names = shape.field_names();
    let hint = suggest_closest(field, &names)
        .map(|s| format!("did you mean \"{s}\"?"))
        .unwrap_or_else(|| format!("fields: {}", names.join(", ")));
    format!("no field \"{field}\" in the shape ({hint})")
}

fn rest_plan(
    src: &Source,
    r: &RestFile,
    fields: &BTreeMap<String, String>,
    shape: &Shape,
) -> Result<RestPlan, ConfigError> {
    let method = match r.method.to_ascii_uppercase().as_str() {
        "POST" => reqwest::Method::POST,
        "PUT" => reqwest::Method::PUT,
        "PATCH" => reqwest::Method::PATCH,
        other => {
            return Err(src.invalid(
                "target.rest.method",
                format!("{other:?} does not write: use POST, PUT or PATCH"),
            ));
        }
    };
    check_path(src, "target.rest.path", &r.path, &["external_id"])?;
    check_path(
        src,
        "target.rest.read_path",
        &r.read_path,
        &super::rest::PATH_PLACEHOLDERS,
    )?;
    let body: serde_json::Value = serde_json::from_str(&r.body).map_err(|e| {
        src.invalid(
            "target.rest.body",
            format!("is not JSON ({e}); write it as a TOML literal string: body = '''{{\"name\": \"{{{{lastname}}}}\"}}'''"),
        )
    })?;
    let mut names = Vec::new();
    super::rest::body_placeholders(&body, &mut names);
    for name in names {
        if name != "external_id" && name != "fields" && shape.field(&name).is_none() {
            return Err(src.invalid(
                "target.rest.body",
                format!(
                    "placeholder {{{{{name}}}}}: {} (or {{{{external_id}}}}, {{{{fields}}}})",
                    unknown_field(&name, shape)
                ),
            ));
        }
    }
    for (key, pointer) in [
        ("target.rest.id_pointer", Some(r.id_pointer.as_str())),
        ("target.rest.fields_pointer", r.fields_pointer.as_deref()),
    ] {
        if let Some(p) = pointer
            && !(p.is_empty() || p.starts_with('/'))
        {
            return Err(src.invalid(
                key,
                format!("{p:?} is not a JSON pointer: start it with / (e.g. \"/id\")"),
            ));
        }
    }
    let auth_header = match (&r.auth_header, &r.auth_scheme) {
        (None, None) => None,
        (Some(h), scheme) => {
            if reqwest::header::HeaderName::from_bytes(h.as_bytes()).is_err() {
                return Err(src.invalid(
                    "target.rest.auth_header",
                    format!("{h:?} is not an HTTP header name"),
                ));
            }
            let scheme = scheme.clone().or_else(|| {
                h.eq_ignore_ascii_case("authorization")
                    .then(|| "Bearer".into())
            });
            Some((h.clone(), scheme))
        }
        (None, Some(scheme)) => Some(("Authorization".to_string(), Some(scheme.clone()))),
    };
    Ok(RestPlan {
        method,
        path: r.path.clone(),
        body,
        read_path: r.read_path.clone(),
        id_pointer: r.id_pointer.clone(),
        fields_pointer: r.fields_pointer.clone(),
        fields: fields.clone(),
        auth_header,
    })
}

/// A path template: starts with `/`, and only the `allowed` `{placeholders}`.
fn check_path(src: &Source, key: &str, path: &str, allowed: &[&str]) -> Result<(), ConfigError> {
    if !path.starts_with('/') {
        return Err(src.invalid(
            key,
            format!("{path:?} must start with / (it is relative to base_url)"),
        ));
    }
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Err(src.invalid(key, format!("{path:?} has a {{ without its }}")));
        };
        let name = &rest[start + 1..start + len];
        if !allowed.contains(&name) {
            let list: Vec<String> = allowed.iter().map(|a| format!("{{{a}}}")).collect();
            return Err(src.invalid(
                key,
                format!(
                    "unknown placeholder {{{name}}}: a path may use {}",
                    list.join(" or ")
                ),
            ));
        }
        rest = &rest[start + len + 1..];
    }
    Ok(())
}
