//! Units a user writes in TOML and on the command line: durations (`"500ms"`, `"5m"`, `"14d"`),
//! rates (`"200/s"`, `"50000/day"`) and fractions (`0.02`, never `2`). Parsed here once so every
//! file and flag accepts the same spellings and reports the same errors.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Why a unit did not parse; the message says what is accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    #[error("{0:?} is not a duration (write e.g. \"500ms\", \"2s\", \"5m\", \"14d\")")]
    Duration(String),
    #[error("{0:?} is not a rate (write e.g. \"200/s\", \"600/m\", \"50000/day\")")]
    Rate(String),
    #[error("{0} is not a fraction between 0 and 1 (rates are fractions: 0.02, not 2)")]
    Fraction(f64),
    #[error(
        "{0:?}: write K/N with 0 <= K < N, e.g. 3/8 (K is 0-based, like a Kubernetes job index)"
    )]
    Shard(String),
}

/// Parses `"500ms"`, `"2s"`, `"1m30s"`, `"14d"`.
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    humantime::parse_duration(text.trim()).map_err(|_| UnitError::Duration(text.to_string()))
}

/// Formats a duration the way a user would write it (`"250ms"`, `"10s"`).
pub fn format_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A rate of events per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    per_second: f64,
}

impl Rate {
    pub fn per_second(per_second: f64) -> Result<Rate, UnitError> {
        if per_second.is_finite() && per_second > 0.0 {
            Ok(Rate { per_second })
        } else {
            Err(UnitError::Rate(per_second.to_string()))
        }
    }

    pub fn as_per_second(self) -> f64 {
        self.per_second
    }

    /// The gap between two events at this rate.
    pub fn interval(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second)
    }
}

impl FromStr for Rate {
    type Err = UnitError;

    fn from_str(text: &str) -> Result<Rate, UnitError> {
        let err = || UnitError::Rate(text.to_string());
        let (count, unit) = text.trim().split_once('/').ok_or_else(err)?;
        let count: f64 = count.trim().replace('_', "").parse().map_err(|_| err())?;
        let seconds = match unit.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            "d" | "day" => 86_400.0,
            _ => return Err(err()),
        };
        Rate::per_second(count / seconds).map_err(|_| err())
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.per_second)
    }
}

/// Checks that `value` is a fraction in `0..=1`.
pub fn fraction(value: f64) -> Result<f64, UnitError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(UnitError::Fraction(value))
    }
}

/// Parses a shard `K/N` (0-based `K`, `0 <= K < N`).
pub fn parse_shard(text: &str) -> Result<(u64, u64), UnitError> {
    let bad = || UnitError::Shard(text.to_string());
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let k: u64 = k.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

/// The indices shard `k` of `n` owns out of `0..total`: `⌊k·total/n⌋ .. ⌊(k+1)·total/n⌋`, so
/// the shards are disjoint and together cover every index.
pub fn shard_range(total: u64, (k, n): (u64, u64)) -> std::ops::Range<u64> {
    let at = |i: u64| (u128::from(total) * u128::from(i) / u128::from(n)) as u64;
    at(k)..at(k + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_the_spellings_users_write() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86_400)));
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn rates_per_unit() {
        assert_eq!("200/s".parse::<Rate>().unwrap().as_per_second(), 200.0);
        assert_eq!("86400/day".parse::<Rate>().unwrap().as_per_second(), 1.0);
        assert_eq!("120/m".parse::<Rate>().unwrap().as_per_second(), 2.0);
        assert!("200".parse::<Rate>().is_err());
        assert!("0/s".parse::<Rate>().is_err());
        assert!("10/fortnight".parse::<Rate>().is_err());
    }

    #[test]
    fn shards_are_disjoint_and_cover_everything() {
        assert_eq!(parse_shard("3/8"), Ok((3, 8)));
        assert!(
            parse_shard("8/8").is_err() && parse_shard("1/0").is_err() && parse_shard("x").is_err()
        );
        for (total, n) in [(10, 3), (7, 7), (1000, 8), (2, 5)] {
            let mut next = 0;
            for k in 0..n {
                let r = shard_range(total, (k, n));
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, total);
        }
    }

    #[test]
    fn fractions_are_not_percentages() {
        assert_eq!(fraction(0.02), Ok(0.02));
        assert!(fraction(2.0).is_err());
        assert!(fraction(-0.1).is_err());
        assert!(fraction(f64::NAN).is_err());
    }
}
