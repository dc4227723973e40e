//! Dates and timestamps as exports spell them (`2024-03-01`, `2024-03-01T10:00:00Z`,
//! `2024-03-01 10:00:00`, `03/01/2024`, `01.03.2024`), to seconds since the Unix epoch (UTC;
//! offsets are applied) and back to the shape file's spelling (`from`/`to`).

/// How a column writes its dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    IsoDate,
    IsoDateTime,
    UsDate,
    DottedDate,
}

impl TimeFormat {
    pub fn has_time(self) -> bool {
        self == TimeFormat::IsoDateTime
    }

    pub fn describe(self) -> &'static str {
        match self {
            TimeFormat::IsoDate => "YYYY-MM-DD",
            TimeFormat::IsoDateTime => "ISO 8601 date and time",
            TimeFormat::UsDate => "MM/DD/YYYY",
            TimeFormat::DottedDate => "DD.MM.YYYY",
        }
    }
}

fn num(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn date(y: i64, m: i64, d: i64) -> Option<i64> {
    ((1900..=2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
        .then(|| days_from_civil(y, m, d) * 86_400)
}

/// Seconds since the epoch and the format, or `None` when `v` is not a date.
pub fn parse_instant(v: &str) -> Option<(i64, TimeFormat)> {
    let v = v.trim();
    if v.len() < 8 {
        return None;
    }
    if v.as_bytes().get(4) == Some(&b'-') {
        let day = date(num(&v[0..4])?, num(v.get(5..7)?)?, num(v.get(8..10)?)?)?;
        if v.get(7..8)? != "-" {
            return None;
        }
        let rest = &v[10..];
        if rest.is_empty() {
            return Some((day, TimeFormat::IsoDate));
        }
        let rest = rest.strip_prefix(['T', ' '])?;
        let (hms, offset) = match rest.find(['Z', '+', '-']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let hms = hms.split('.').next()?;
        let mut parts = hms.split(':');
        let h = num(parts.next()?)?;
        let mi = num(parts.next()?)?;
        let s = parts.next().map_or(Some(0), num)?;
        let mut t = day + h * 3600 + mi * 60 + s;
        if let Some(off) = offset.strip_prefix(['+', '-']) {
            let (oh, om) = off
                .split_once(':')
                .unwrap_or((off.get(..2)?, off.get(2..)?));
            let secs = num(oh)? * 3600 + num(om).unwrap_or(0) * 60;
            t += if offset.starts_with('+') { -secs } else { secs };
        }
        return Some((t, TimeFormat::IsoDateTime));
    }
    for (sep, format) in [('/', TimeFormat::UsDate), ('.', TimeFormat::DottedDate)] {
        let parts: Vec<&str> = v.split(sep).collect();
        if parts.len() == 3 && parts[2].len() == 4 {
            let (a, b, y) = (num(parts[0])?, num(parts[1])?, num(parts[2])?);
            let (m, d) = if format == TimeFormat::UsDate {
                (a, b)
            } else {
                (b, a)
            };
            return date(y, m, d).map(|t| (t, format));
        }
    }
    None
}

/// `2024-03-01`.
pub fn format_date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2024-03-01T10:00:00Z`.
pub fn format_timestamp(secs: i64) -> String {
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(secs),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_parse_to_the_same_instant() {
        let day = parse_instant("2024-03-01").unwrap().0;
        assert_eq!(parse_instant("03/01/2024").unwrap().0, day);
        assert_eq!(parse_instant("01.03.2024").unwrap().0, day);
        assert_eq!(parse_instant("2024-03-01T01:00:00+01:00").unwrap().0, day);
        assert_eq!(parse_instant("2024-03-01 00:00").unwrap().0, day);
        assert_eq!(format_timestamp(day + 61), "2024-03-01T00:01:01Z");
        assert_eq!(parse_instant("2024-13-01"), None);
        assert_eq!(parse_instant("hello world"), None);
    }

    proptest::proptest! {
        /// Any text is a date or not, never a panic; a date formats back to itself.
        #[test]
        fn any_text_parses_or_not(v in "[0-9éT:+ ./Z-]{0,30}") {
            if let Some((t, format)) = parse_instant(&v) && format == TimeFormat::IsoDate {
                proptest::prop_assert_eq!(parse_instant(&format_date(t)).map(|p| p.0), Some(t));
            }
        }
    }
}
