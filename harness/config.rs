//! Reading the TOML files a user writes (plan, SLA, shape) with errors a person can act on:
//! the file, the line, the key and the fix, e.g.
//! `plan.toml:12: unknown key "ratee" in [load] (did you mean "rate"?)`.
//!
//! The serde shapes of each file live beside their domain types and use `deny_unknown_fields`;
//! this module only turns `toml`'s errors into [`ConfigError`]s and locates keys for the semantic
//! checks that run after parsing.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A file the user wrote is wrong. Always names the file; names the line and key when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The text of a user's file, kept with its name so later checks can point at lines.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
    /// Directory that relative paths inside the file are resolved against; `None` for embedded
    /// defaults, whose references are resolved among the embedded files.
    pub base_dir: Option<PathBuf>,
}

impl Source {
    /// Reads a file; a missing or unreadable file is a [`ConfigError`] that says so.
    pub fn read(path: &Path) -> Result<Source, ConfigError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: name.clone(),
            line: None,
            message: format!("cannot read the file: {e} (check the path)"),
        })?;
        Ok(Source {
            name,
            text,
            base_dir: path.parent().map(Path::to_path_buf),
        })
    }

    pub fn embedded(name: &str, text: &str) -> Source {
        Source {
            name: name.to_string(),
            text: text.to_string(),
            base_dir: None,
        }
    }

    /// Parses the whole file into its serde shape.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(&self.text).map_err(|e| self.explain(&e))
    }

    /// An error about `key` (a dotted path such as `load.rate`), placed on the key's line.
    pub fn invalid(&self, key: &str, message: impl fmt::Display) -> ConfigError {
        ConfigError {
            file: self.name.clone(),
            line: find_key_line(&self.text, key),
            message: format!("{key}: {message}"),
        }
    }

    /// Resolves a path written inside this file.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        match &self.base_dir {
            Some(dir) => dir.join(relative),
            None => PathBuf::from(relative),
        }
    }

    fn explain(&self, err: &toml::de::Error) -> ConfigError {
        let line = err.span().map(|span| {
            self.text[..span.start.min(self.text.len())]
                .matches('\n')
                .count()
                + 1
        });
        let table = line.and_then(|l| enclosing_table(&self.text, l));
        let in_table = table.map(|t| format!(" in [{t}]")).unwrap_or_default();
        let raw = err.message().trim().to_string();
        let message = if let Some((key, expected)) = parse_unknown_field(&raw) {
            match suggest_closest(&key, &expected) {
                Some(best) => format!("unknown key \"{key}\"{in_table} (did you mean \"{best}\"?)"),
                None => format!(
                    "unknown key \"{key}\"{in_table} (valid keys: {})",
                    expected.join(", ")
                ),
            }
        } else if let Some(key) = between(&raw, "missing field `", "`") {
            format!(
                "missing key \"{key}\"{in_table} (add it; see the commented example under datasets/)"
            )
        } else if let Some(variant) = between(&raw, "unknown variant `", "`") {
            let expected = backticked(raw.split("expected").nth(1).unwrap_or(""));
            match suggest_closest(variant, &expected) {
                Some(best) => {
                    format!("unknown value \"{variant}\"{in_table} (did you mean \"{best}\"?)")
                }
                None => format!(
                    "unknown value \"{variant}\"{in_table} (one of: {})",
                    expected.join(", ")
                ),
            }
        } else {
            let key = line.and_then(|l| key_on_line(&self.text, l));
            match key {
                Some(key) => format!("{key}{in_table}: {raw}"),
                None => format!("{raw}{in_table}"),
            }
        };
        ConfigError {
            file: self.name.clone(),
            line,
            message,
        }
    }
}

/// The closest valid name to a misspelt one, if any is close enough to be a likely typo.
pub fn suggest_closest<S: AsRef<str>>(wrong: &str, valid: &[S]) -> Option<String> {
    valid
        .iter()
        .map(|v| (strsim::jaro_winkler(wrong, v.as_ref()), v.as_ref()))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| v.to_string())
}

fn parse_unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let key = between(message, "unknown field `", "`")?;
    let expected = message
        .split_once("expected")
        .map(|(_, rest)| backticked(rest))
        .unwrap_or_default();
    Some((key.to_string(), expected))
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

fn enclosing_table(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .filter_map(|l| {
            let l = l.trim();
            let inner = l.strip_prefix("[[").and_then(|r| r.strip_suffix("]]"));
            inner.or_else(|| l.strip_prefix('[').and_then(|r| r.strip_suffix(']')))
        })
        .last()
        .map(|t| t.trim().to_string())
}

fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = l.split_once('=')?;
    let key = key.trim();
    (!key.is_empty() && !key.starts_with('#')).then(|| key.to_string())
}

/// Finds the line of a dotted key (`load.rate` → the `rate =` line under `[load]`).
pub fn find_key_line(text: &str, dotted: &str) -> Option<usize> {
    let (table, key) = match dotted.rsplit_once('.') {
        Some((t, k)) => (Some(t), k),
        None => (None, dotted),
    };
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            current = enclosing_table(trimmed, 1);
            continue;
        }
        let Some((k, _)) = trimmed.split_once('=') else {
            continue;
        };
        let k = k.trim().trim_matches('"');
        let table_matches = match (table, current.as_deref()) {
            (None, None) => true,
            (Some(t), Some(c)) => t == c,
            (Some(t), None) => k == dotted || t.is_empty(),
            (None, Some(_)) => false,
        };
        if k == key && table_matches || k == dotted {
            return Some(i + 1);
        }
    }
    table.and_then(|t| {
        text.lines()
            .position(|l| l.trim() == format!("[{t}]"))
            .map(|i| i + 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // fields exist to be parsed
    struct Load {
        rate: String,
        batch_size: u32,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)] // fields exist to be parsed
    struct File {
        name: String,
        load: Load,
    }

    fn error_of(text: &str) -> String {
        Source::embedded("plan.toml", text)
            .parse::<File>()
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_key_names_file_line_table_and_suggestion() {
        let msg = error_of("name = \"x\"\n\n[load]\nratee = \"200/s\"\nbatch_size = 10\n");
        assert_eq!(
            msg,
            "plan.toml:4: unknown key \"ratee\" in [load] (did you mean \"rate\"?)"
        );
    }

    #[test]
    fn wrong_type_names_the_key() {
        let msg = error_of("name = \"x\"\n[load]\nrate = \"1/s\"\nbatch_size = \"ten\"\n");
        assert!(
            msg.starts_with("plan.toml:4: batch_size in [load]: "),
            "{msg}"
        );
    }

    #[test]
    fn missing_key_says_to_add_it() {
        let msg = error_of("name = \"x\"\n[load]\nrate = \"1/s\"\n");
        assert!(msg.contains("missing key \"batch_size\""), "{msg}");
    }

    #[test]
    fn key_lines_are_found_under_their_table() {
        let text = "rate = 1\n[load]\nrate = 2\n[retry]\nrate = 3\n";
        assert_eq!(find_key_line(text, "load.rate"), Some(3));
        assert_eq!(find_key_line(text, "retry.rate"), Some(5));
        assert_eq!(find_key_line(text, "rate"), Some(1));
    }

    #[test]
    fn suggestions_only_when_close() {
        assert_eq!(
            suggest_closest("ratee", &["rate", "seed"]),
            Some("rate".into())
        );
        assert_eq!(suggest_closest("zzz", &["rate", "seed"]), None);
    }
}
