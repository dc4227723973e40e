//! Latency histograms: HDR, microsecond resolution, 3 significant digits, constant memory.
//! Reported in milliseconds. Two of them are kept per run: sync latency (intended send → first
//! seen at the target) and API service time (actual send → response).

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest latency recorded exactly: one hour; anything slower is clamped to it.
const MAX_MICROS: u64 = 3_600_000_000;

#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram {
            hist: Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("static bounds are valid"),
        }
    }
}

/// Percentiles in milliseconds, as `summary.json` holds them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub n: u64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl LatencyHistogram {
    pub fn record(&mut self, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_MICROS);
        self.hist.saturating_record(micros);
    }

    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// The value at quantile `q` (0..=1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_quantile(q.clamp(0.0, 1.0)) as f64 / 1000.0
    }

    /// The value of the `rank`-th smallest sample (1-based), in milliseconds, for
    /// order-statistic confidence intervals.
    pub fn rank_ms(&self, rank: u64) -> f64 {
        let n = self.hist.len();
        if n == 0 {
            return 0.0;
        }
        let rank = rank.clamp(1, n);
        self.quantile_ms(rank as f64 / n as f64)
    }

    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.hist
            .add(&other.hist)
            .expect("histograms share bounds by construction");
    }

    pub fn summary(&self) -> LatencySummary {
        if self.hist.is_empty() {
            return LatencySummary::default();
        }
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        LatencySummary {
            n: self.hist.len(),
            p50: round(self.quantile_ms(0.50)),
            p90: round(self.quantile_ms(0.90)),
            p95: round(self.quantile_ms(0.95)),
            p99: round(self.quantile_ms(0.99)),
            max: round(self.hist.max() as f64 / 1000.0),
            mean: round(self.hist.mean() / 1000.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = LatencyHistogram::default();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.summary();
        assert_eq!(s.n, 1000);
        // Three significant digits: within 0.1 % of the exact order statistic.
        assert!((s.p50 - 500.0).abs() <= 0.5, "{s:?}");
        assert!((s.p99 - 990.0).abs() <= 1.0, "{s:?}");
        assert!((s.max - 1000.0).abs() <= 1.0, "{s:?}");
        assert!((h.rank_ms(250) - 250.0).abs() <= 0.25);
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = Default::default();
        let (a, b, all): (
            &mut LatencyHistogram,
            &mut LatencyHistogram,
            &mut LatencyHistogram,
        ) = (&mut a, &mut b, &mut all);
        for ms in 1..500u64 {
            a.record(Duration::from_millis(ms));
            all.record(Duration::from_millis(ms));
        }
        for ms in 300..2000u64 {
            b.record(Duration::from_millis(ms));
            all.record(Duration::from_millis(ms));
        }
        a.merge(b);
        assert_eq!(a.summary(), all.summary());
    }
}
