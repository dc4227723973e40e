//! One column's bounded statistics, fed a value at a time: null and blank counts, lengths,
//! value patterns (email, phone, URL, …), exact counts of up to [`DISTINCT_CAP`] distinct values
//! (for enum frequencies and k-anonymity) and a reservoir of [`RESERVOIR`] values (for quantiles,
//! word counts and `compare`). Memory is bounded per column, whatever the row count. Values of
//! personal columns live here only while the file is read; nothing here is written out.

use std::collections::HashMap;

use super::time::{TimeFormat, parse_instant};

/// Distinct values counted exactly; beyond it the column is "high cardinality".
pub const DISTINCT_CAP: usize = 50_000;
/// Values kept in the uniform reservoir sample.
pub const RESERVOIR: usize = 4_096;

/// Value patterns a column is tested against, counted over non-blank values.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Patterns {
    pub email: u64,
    pub phone: u64,
    pub url: u64,
    pub domain: u64,
    pub uuid: u64,
    pub integer: u64,
    pub decimal: u64,
    pub boolean: u64,
    pub date: u64,
    pub timestamp: u64,
    pub leading_plus: u64,
}

#[derive(Debug, Clone)]
pub struct ColumnStats {
    pub name: String,
    pub rows: u64,
    pub nulls: u64,
    pub blanks: u64,
    pub max_chars: usize,
    pub counts: HashMap<String, u64>,
    pub overflowed: bool,
    pub reservoir: Vec<String>,
    pub patterns: Patterns,
    pub trues: u64,
    pub min_number: f64,
    pub max_number: f64,
    pub max_scale: u32,
    pub min_instant: i64,
    pub max_instant: i64,
    pub date_format: Option<TimeFormat>,
    rng: u64,
}

impl ColumnStats {
    pub fn new(name: &str) -> ColumnStats {
        ColumnStats {
            name: name.to_string(),
            rows: 0,
            nulls: 0,
            blanks: 0,
            max_chars: 0,
            counts: HashMap::new(),
            overflowed: false,
            reservoir: Vec::new(),
            patterns: Patterns::default(),
            trues: 0,
            min_number: f64::INFINITY,
            max_number: f64::NEG_INFINITY,
            max_scale: 0,
            min_instant: i64::MAX,
            max_instant: i64::MIN,
            date_format: None,
            // Deterministic: the same export gives the same shape.
            rng: 0x9E37_79B9_7F4A_7C15 ^ name.len() as u64,
        }
    }

    /// Non-blank values seen.
    pub fn filled(&self) -> u64 {
        self.rows - self.nulls - self.blanks
    }

    pub fn add(&mut self, value: Option<&str>) {
        self.rows += 1;
        let Some(raw) = value else {
            self.nulls += 1;
            return;
        };
        let v = raw.trim();
        if v.is_empty() {
            self.blanks += 1;
            return;
        }
        self.max_chars = self.max_chars.max(raw.chars().count());
        if let Some(n) = self.counts.get_mut(raw) {
            *n += 1;
        } else if self.counts.len() < DISTINCT_CAP {
            self.counts.insert(raw.to_string(), 1);
        } else {
            self.overflowed = true;
        }
        let seen = self.filled();
        if self.reservoir.len() < RESERVOIR {
            self.reservoir.push(raw.to_string());
        } else {
            let j = self.next_random() % seen;
            if (j as usize) < RESERVOIR {
                self.reservoir[j as usize] = raw.to_string();
            }
        }
        self.classify(v);
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn classify(&mut self, v: &str) {
        let p = &mut self.patterns;
        let lower = v.to_ascii_lowercase();
        if is_email(v) {
            p.email += 1;
        }
        if lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("www.")
        {
            p.url += 1;
        } else if is_domain(&lower) {
            p.domain += 1;
        }
        if is_uuid(v) {
            p.uuid += 1;
        }
        match lower.as_str() {
            "true" | "yes" | "y" | "t" => {
                p.boolean += 1;
                self.trues += 1;
            }
            "false" | "no" | "n" | "f" => p.boolean += 1,
            _ => {}
        }
        let integer = v.strip_prefix('-').unwrap_or(v);
        if !integer.is_empty() && integer.len() <= 15 && integer.bytes().all(|b| b.is_ascii_digit())
        {
            p.integer += 1;
        }
        if let Ok(x) = v.parse::<f64>()
            && x.is_finite()
            && !v.contains(['e', 'E', 'i', 'n', 'N'])
        {
            p.decimal += 1;
            self.min_number = self.min_number.min(x);
            self.max_number = self.max_number.max(x);
            if let Some((_, frac)) = v.split_once('.') {
                self.max_scale = self.max_scale.max(frac.len() as u32);
            }
        }
        if let Some((instant, format)) = parse_instant(v) {
            if format.has_time() {
                p.timestamp += 1;
            } else {
                p.date += 1;
            }
            self.date_format.get_or_insert(format);
            self.min_instant = self.min_instant.min(instant);
            self.max_instant = self.max_instant.max(instant);
        }
        if is_phone(v) {
            p.phone += 1;
            if v.starts_with('+') || v.starts_with("00") {
                p.leading_plus += 1;
            }
        }
    }

    /// Share of non-blank values matching a pattern count.
    pub fn share(&self, count: u64) -> f64 {
        if self.filled() == 0 {
            0.0
        } else {
            count as f64 / self.filled() as f64
        }
    }
}

pub fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && is_domain(&domain.to_ascii_lowercase())
        && !v.contains(' ')
}

fn is_domain(v: &str) -> bool {
    let Some((head, tld)) = v.rsplit_once('.') else {
        return false;
    };
    !head.is_empty()
        && (2..=6).contains(&tld.len())
        && tld.bytes().all(|b| b.is_ascii_lowercase())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

fn is_uuid(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn is_phone(v: &str) -> bool {
    let digits = v.bytes().filter(u8::is_ascii_digit).count();
    (7..=16).contains(&digits)
        && v.bytes().any(|b| !b.is_ascii_digit())
        && v.bytes()
            .all(|b| b.is_ascii_digit() || b" +-().x/".contains(&b) || b == b'e' || b == b't')
}

/// A value's format mask: letters become `a`/`A`, digits `9`, runs collapse (`Jane Doe` → `Aa Aa`).
pub fn mask(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        let m = if c.is_ascii_digit() {
            '9'
        } else if c.is_uppercase() {
            'A'
        } else if c.is_alphabetic() {
            'a'
        } else {
            c
        };
        if out.ends_with(m) && matches!(m, '9' | 'a' | 'A') {
            continue;
        }
        out.push(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_recognised() {
        let cases = [
            ("jane.doe@acme.com", "email"),
            ("+1 (415) 555-0100", "phone"),
            ("https://acme.com", "url"),
            ("acme.io", "domain"),
            ("123e4567-e89b-12d3-a456-426614174000", "uuid"),
            ("42", "integer"),
            ("2024-03-01", "date"),
            ("2024-03-01T10:00:00Z", "timestamp"),
            ("Yes", "boolean"),
        ];
        for (value, pattern) in cases {
            let mut c = ColumnStats::new("x");
            c.add(Some(value));
            let p = c.patterns;
            let got = match pattern {
                "email" => p.email,
                "phone" => p.phone,
                "url" => p.url,
                "domain" => p.domain,
                "uuid" => p.uuid,
                "integer" => p.integer,
                "date" => p.date,
                "timestamp" => p.timestamp,
                _ => p.boolean,
            };
            assert_eq!(got, 1, "{value} as {pattern}");
        }
        assert_eq!(mask("Jane O'Neil 42"), "Aa A'Aa 9");
    }

    #[test]
    fn memory_is_bounded() {
        let mut c = ColumnStats::new("x");
        for i in 0..(DISTINCT_CAP + RESERVOIR * 3) {
            c.add(Some(&format!("v{i}")));
        }
        c.add(None);
        c.add(Some("  "));
        assert!(c.overflowed && c.counts.len() == DISTINCT_CAP && c.reservoir.len() == RESERVOIR);
        assert_eq!((c.nulls, c.blanks), (1, 1));
    }
}
