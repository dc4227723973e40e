//! SOQL, the subset a sync check needs: `SELECT f1, f2 FROM Object [WHERE cond [AND cond]…]
//! [ORDER BY f [ASC|DESC]] [LIMIT n]`, where a condition is `field op literal` (`=`, `!=`, `<`,
//! `<=`, `>`, `>=`) or `field [NOT] IN (literal, …)`, and a literal is a quoted string, a number,
//! `true`/`false`/`null`, a date (`2026-01-01`) or a dateTime (`2026-01-01T00:00:00Z`, or with
//! `+hh:mm`/`-hh:mm`). Keywords are case-insensitive, as in Salesforce.
//!
//! A tokenizer and a recursive-descent parser, no parser crate: the grammar is a dozen rules.
//! `Display` writes a query back in canonical form, which re-parses to the same `Query` (the
//! round-trip property test).

use std::fmt;
use std::time::{Duration, SystemTime};

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Query {
    pub(crate) fields: Vec<String>,
    pub(crate) object: String,
    pub(crate) conditions: Vec<Condition>,
    /// `(field, descending)`.
    pub(crate) order: Option<(String, bool)>,
    pub(crate) limit: Option<usize>,
}

/// `field op value` or `field [NOT] IN (values)`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub(crate) field: String,
    pub(crate) op: Op,
    /// One value, or the list of an `IN`.
    pub(crate) values: Vec<Literal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "IN",
            Op::NotIn => "NOT IN",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    /// The number as written (validated), so it prints back unchanged.
    Num(String),
    Bool(bool),
    Null,
    /// A `YYYY-MM-DD` date, as written.
    Date(String),
    /// A dateTime as written, and the instant it names.
    DateTime(String, SystemTime),
}

impl Literal {
    pub(crate) fn number(&self) -> Option<f64> {
        match self {
            Literal::Num(n) => n.parse().ok(),
            _ => None,
        }
    }
}

/// Why a query does not parse: Salesforce's `MALFORMED_QUERY` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Malformed(pub(crate) String);

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    /// A run starting with a digit or '-': number, date or dateTime, classified by the parser.
    Value(String),
    Comma,
    Open,
    Close,
    Cmp(Op),
}

fn tokenize(input: &str) -> Result<Vec<Token>, Malformed> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            ',' => {
                out.push(Token::Comma);
                i += 1;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '=' => {
                out.push(Token::Cmp(Op::Eq));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::Cmp(Op::Ne));
                i += 2;
            }
            '<' | '>' => {
                let eq = chars.get(i + 1) == Some(&'=');
                let ne = c == '<' && chars.get(i + 1) == Some(&'>');
                let op = match (c, eq, ne) {
                    (_, _, true) => Op::Ne,
                    ('<', true, _) => Op::Le,
                    ('<', false, _) => Op::Lt,
                    (_, true, _) => Op::Ge,
                    _ => Op::Gt,
                };
                out.push(Token::Cmp(op));
                i += if eq || ne { 2 } else { 1 };
            }
            '\'' => {
                let mut s = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(Malformed("unterminated string literal".into())),
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            let escaped = match chars.get(i + 1) {
                                Some('n') => '\n',
                                Some('t') => '\t',
                                Some('r') => '\r',
                                Some(&e @ ('\'' | '"' | '\\')) => e,
                                other => {
                                    return Err(Malformed(format!(
                                        "invalid escape sequence in string literal: \\{}",
                                        other.map(char::to_string).unwrap_or_default()
                                    )));
                                }
                            };
                            s.push(escaped);
                            i += 2;
                        }
                        Some(&ch) => {
                            s.push(ch);
                            i += 1;
                        }
                    }
                }
                out.push(Token::Str(s));
            }
            _ if c.is_ascii_digit() || c == '-' || c == '+' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric()
                        || matches!(chars[i], '-' | ':' | '.' | '+'))
                {
                    i += 1;
                }
                out.push(Token::Value(chars[start..i].iter().collect()));
            }
            _ if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
            _ => return Err(Malformed(format!("unexpected token: '{c}'"))),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

fn describe(token: Option<&Token>) -> String {
    match token {
        None => "end of query".to_string(),
        Some(Token::Word(w) | Token::Value(w)) => format!("'{w}'"),
        Some(Token::Str(s)) => format!("''{s}''"),
        Some(Token::Comma) => "','".to_string(),
        Some(Token::Open) => "'('".to_string(),
        Some(Token::Close) => "')'".to_string(),
        Some(Token::Cmp(op)) => format!("'{}'", op.text()),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn unexpected(&self) -> Malformed {
        Malformed(format!("unexpected token: {}", describe(self.peek())))
    }

    fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Token::Word(w)) if w.eq_ignore_ascii_case(word) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), Malformed> {
        if self.keyword(word) {
            Ok(())
        } else {
            Err(Malformed(format!(
                "expecting {word}, unexpected token: {}",
                describe(self.peek())
            )))
        }
    }

    fn expect(&mut self, token: &Token) -> Result<(), Malformed> {
        if self.peek() == Some(token) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    /// A field or object name (not a reserved word).
    fn name(&mut self) -> Result<String, Malformed> {
        const RESERVED: [&str; 10] = [
            "SELECT", "FROM", "WHERE", "AND", "OR", "ORDER", "BY", "LIMIT", "IN", "NOT",
        ];
        match self.peek() {
            Some(Token::Word(w)) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w)) => {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self) -> Result<Literal, Malformed> {
        let literal = match self.peek() {
            Some(Token::Str(s)) => Literal::Str(s.clone()),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Some(Token::Value(v)) => value_literal(v)?,
            _ => return Err(self.unexpected()),
        };
        self.at += 1;
        Ok(literal)
    }

    fn condition(&mut self) -> Result<Condition, Malformed> {
        let field = self.name()?;
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            self.expect(&Token::Open)?;
            let mut values = vec![self.literal()?];
            while self.peek() == Some(&Token::Comma) {
                self.at += 1;
                values.push(self.literal()?);
            }
            self.expect(&Token::Close)?;
            let op = if negated { Op::NotIn } else { Op::In };
            return Ok(Condition { field, op, values });
        }
        if negated {
            return Err(Malformed("expecting IN after NOT".into()));
        }
        let Some(Token::Cmp(op)) = self.peek().cloned() else {
            return Err(self.unexpected());
        };
        self.at += 1;
        let values = vec![self.literal()?];
        Ok(Condition { field, op, values })
    }

    fn query(&mut self) -> Result<Query, Malformed> {
        self.expect_keyword("SELECT")?;
        let mut fields = vec![self.name()?];
        while self.peek() == Some(&Token::Comma) {
            self.at += 1;
            fields.push(self.name()?);
        }
        self.expect_keyword("FROM")?;
        let object = self.name()?;
        let mut conditions = Vec::new();
        if self.keyword("WHERE") {
            conditions.push(self.condition()?);
            while self.keyword("AND") {
                conditions.push(self.condition()?);
            }
            if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case("OR")) {
                return Err(Malformed(
                    "OR is not supported by this mock's SOQL subset (only AND)".into(),
                ));
            }
        }
        let mut order = None;
        if self.keyword("ORDER") {
            self.expect_keyword("BY")?;
            let field = self.name()?;
            let descending = if self.keyword("DESC") {
                true
            } else {
                self.keyword("ASC");
                false
            };
            order = Some((field, descending));
        }
        let mut limit = None;
        if self.keyword("LIMIT") {
            let n = match self.peek() {
                Some(Token::Value(v)) => v.parse::<usize>().ok(),
                _ => None,
            };
            limit = Some(n.ok_or_else(|| self.unexpected())?);
            self.at += 1;
        }
        if self.peek().is_some() {
            return Err(self.unexpected());
        }
        Ok(Query {
            fields,
            object,
            conditions,
            order,
            limit,
        })
    }
}

/// Parses one query.
pub(crate) fn parse(input: &str) -> Result<Query, Malformed> {
    let tokens = tokenize(input)?;
    Parser { tokens, at: 0 }.query()
}

fn value_literal(v: &str) -> Result<Literal, Malformed> {
    if v.contains('T') {
        return parse_datetime(v)
            .map(|t| Literal::DateTime(v.to_string(), t))
            .ok_or_else(|| Malformed(format!("invalid dateTime literal: {v}")));
    }
    if v.len() == 10 && v.as_bytes()[4] == b'-' {
        return civil_days(v)
            .map(|_| Literal::Date(v.to_string()))
            .ok_or_else(|| Malformed(format!("invalid date literal: {v}")));
    }
    let numeric = v.strip_prefix(['-', '+']).unwrap_or(v);
    let valid = !numeric.is_empty()
        && numeric.chars().all(|c| c.is_ascii_digit() || c == '.')
        && numeric.matches('.').count() <= 1
        && !numeric.starts_with('.')
        && !numeric.ends_with('.');
    if valid {
        Ok(Literal::Num(v.to_string()))
    } else {
        Err(Malformed(format!("unexpected token: '{v}'")))
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
fn civil_days(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if date.len() != 10 || !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)` as an instant.
pub(crate) fn parse_datetime(v: &str) -> Option<SystemTime> {
    let (date, time) = v.split_once('T')?;
    let days = civil_days(date)?;
    let (clock, offset_secs) = if let Some(clock) = time.strip_suffix('Z') {
        (clock, 0i64)
    } else {
        let at = time.rfind(['+', '-'])?;
        let (clock, offset) = time.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        (clock, sign * (h * 3600 + m * 60))
    };
    let (hms, fraction) = match clock.split_once('.') {
        Some((hms, f))
            if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (hms, f)
        }
        Some(_) => return None,
        None => (clock, ""),
    };
    let mut parts = hms.split(':');
    let mut next = |max: i64| -> Option<i64> {
        let p = parts.next()?;
        let n: i64 = p.parse().ok()?;
        (p.len() == 2 && (0..=max).contains(&n)).then_some(n)
    };
    let (h, m, s) = (next(23)?, next(59)?, next(59)?);
    let secs = days * 86_400 + h * 3600 + m * 60 + s - offset_secs;
    let nanos: u32 = format!("{fraction:0<9}").parse().ok()?;
    let secs = u64::try_from(secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::new(secs, nanos))
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => f.write_str(&quote(s)),
            Literal::Num(n) | Literal::Date(n) | Literal::DateTime(n, _) => f.write_str(n),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SELECT {} FROM {}", self.fields.join(", "), self.object)?;
        for (i, c) in self.conditions.iter().enumerate() {
            f.write_str(if i == 0 { " WHERE " } else { " AND " })?;
            let values: Vec<String> = c.values.iter().map(Literal::to_string).collect();
            match c.op {
                Op::In | Op::NotIn => {
                    write!(f, "{} {} ({})", c.field, c.op.text(), values.join(", "))?
                }
                _ => write!(f, "{} {} {}", c.field, c.op.text(), values.join(""))?,
            }
        }
        if let Some((field, descending)) = &self.order {
            write!(
                f,
                " ORDER BY {field} {}",
                if *descending { "DESC" } else { "ASC" }
            )?;
        }
        if let Some(n) = self.limit {
            write!(f, " LIMIT {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_sync_check_subset() {
        let q = parse(
            "select Id, Email, Ext__c from Contact where Email = 'a@x.io' and Ext__c IN ('a', 'b') \
             AND LastModifiedDate > 2026-01-01T00:00:00Z order by LastModifiedDate desc limit 10",
        )
        .unwrap();
        assert_eq!(q.fields, ["Id", "Email", "Ext__c"]);
        assert_eq!(q.object, "Contact");
        assert_eq!(q.conditions.len(), 3);
        assert_eq!(q.conditions[1].op, Op::In);
        assert_eq!(q.conditions[1].values.len(), 2);
        let Literal::DateTime(_, t) = &q.conditions[2].values[0] else {
            panic!("not a dateTime: {:?}", q.conditions[2]);
        };
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            1_767_225_600
        );
        assert_eq!(q.order, Some(("LastModifiedDate".into(), true)));
        assert_eq!(q.limit, Some(10));
    }

    #[test]
    fn datetimes_with_offsets_and_fractions() {
        let utc = parse_datetime("2026-03-01T12:00:00Z").unwrap();
        assert_eq!(parse_datetime("2026-03-01T13:30:00+01:30"), Some(utc));
        assert_eq!(parse_datetime("2026-03-01T07:00:00.000-05:00"), Some(utc));
        assert_eq!(
            parse_datetime("2026-03-01T12:00:00.5Z"),
            Some(utc + Duration::from_millis(500))
        );
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00Z",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn malformed_queries_say_where() {
        for (query, want) in [
            ("SELEC Id FROM Contact", "expecting SELECT"),
            ("SELECT Id Contact", "expecting FROM"),
            ("SELECT Id FROM Contact WHERE", "end of query"),
            ("SELECT Id FROM Contact WHERE Email = 'x", "unterminated"),
            (
                "SELECT Id FROM Contact WHERE Email = 'x' OR Id = 'y'",
                "OR is not",
            ),
            ("SELECT Id FROM Contact LIMIT x", "unexpected token: 'x'"),
            (
                "SELECT Id FROM Contact LIMIT 5 extra",
                "unexpected token: 'extra'",
            ),
            (
                "SELECT Id FROM Contact WHERE Email IN ()",
                "unexpected token: ')'",
            ),
            (
                "SELECT Id FROM Contact WHERE Email NOT = 'a'",
                "expecting IN",
            ),
            ("SELECT FROM Contact", "unexpected token: 'FROM'"),
            (
                "SELECT Id FROM Contact WHERE D > 2026-13-01T00:00:00Z",
                "invalid dateTime",
            ),
            (
                "SELECT Id FROM Contact WHERE n = 1.2.3",
                "unexpected token: '1.2.3'",
            ),
            ("SELECT Id; FROM Contact", "unexpected token: ';'"),
        ] {
            let err = parse(query).unwrap_err().0;
            assert!(err.contains(want), "{query}: {err}");
        }
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z][A-Za-z0-9_]{0,8}(__c)?".prop_filter("not a keyword", |n| {
            ![
                "select", "from", "where", "and", "or", "order", "by", "limit", "in", "not",
                "true", "false", "null", "asc", "desc",
            ]
            .contains(&n.to_ascii_lowercase().as_str())
        })
    }

    fn literal() -> impl Strategy<Value = Literal> {
        prop_oneof![
            any::<String>().prop_map(Literal::Str),
            (any::<i32>(), proptest::option::of(0u16..1000)).prop_map(|(i, f)| Literal::Num(
                match f {
                    Some(f) => format!("{i}.{f}"),
                    None => i.to_string(),
                }
            )),
            any::<bool>().prop_map(Literal::Bool),
            Just(Literal::Null),
            (1970u32..2100, 1u32..13, 1u32..29)
                .prop_map(|(y, m, d)| Literal::Date(format!("{y:04}-{m:02}-{d:02}"))),
            (
                0u64..4_000_000_000,
                0u32..24,
                prop_oneof![Just("Z"), Just("+02:00"), Just("-05:30")]
            )
                .prop_map(|(secs, _, zone)| {
                    let day = secs / 86_400;
                    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(day * 86_400);
                    let date = humantime::format_rfc3339(t).to_string();
                    let text = format!("{}T10:20:30{zone}", &date[..10]);
                    let at = parse_datetime(&text).expect("generated dateTime parses");
                    Literal::DateTime(text, at)
                }),
        ]
    }

    fn condition() -> impl Strategy<Value = Condition> {
        let single = (
            name(),
            prop_oneof![
                Just(Op::Eq),
                Just(Op::Ne),
                Just(Op::Lt),
                Just(Op::Le),
                Just(Op::Gt),
                Just(Op::Ge)
            ],
            literal(),
        )
            .prop_map(|(field, op, value)| Condition {
                field,
                op,
                values: vec![value],
            });
        let list = (
            name(),
            prop_oneof![Just(Op::In), Just(Op::NotIn)],
            proptest::collection::vec(literal(), 1..5),
        )
            .prop_map(|(field, op, values)| Condition { field, op, values });
        prop_oneof![single, list]
    }

    fn query() -> impl Strategy<Value = Query> {
        (
            proptest::collection::vec(name(), 1..5),
            name(),
            proptest::collection::vec(condition(), 0..4),
            proptest::option::of((name(), any::<bool>())),
            proptest::option::of(0usize..100_000),
        )
            .prop_map(|(fields, object, conditions, order, limit)| Query {
                fields,
                object,
                conditions,
                order,
                limit,
            })
    }

    proptest! {
        #[test]
        fn generated_queries_round_trip(q in query()) {
            let text = q.to_string();
            let parsed = parse(&text);
            prop_assert_eq!(parsed.as_ref(), Ok(&q), "{}", text);
        }
    }
}
