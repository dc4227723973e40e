//! `LogNormal`: the one duration distribution the mocks use, for injected latency and relay lag.
//!
//! Service latencies have a long right tail, so a lognormal with a hard cap is the smallest model
//! that looks like a vendor (research brief §6.3). It is parameterised by its median (easy to read
//! off a measurement) rather than by μ, and `median == 0` means "no delay" so the default costs
//! nothing and draws nothing from the RNG.

use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Lognormal duration distribution: median, sigma, cap. `median == 0` → always zero.
///
/// A sample is `median · exp(sigma · Z)` with `Z ~ N(0, 1)`, then capped at `max`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogNormal {
    /// The 50th percentile of the samples (before the cap).
    pub median: Duration,
    /// Standard deviation of the underlying normal; 0 gives the median every time.
    pub sigma: f64,
    /// No sample is ever longer than this.
    pub max: Duration,
}

impl LogNormal {
    /// Always zero; draws nothing from the RNG.
    pub const ZERO: LogNormal = LogNormal {
        median: Duration::ZERO,
        sigma: 0.0,
        max: Duration::ZERO,
    };

    /// Draws one duration. A negative or non-finite `sigma` is read as 0.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> Duration {
        if self.median.is_zero() {
            return Duration::ZERO;
        }
        let sigma = if self.sigma.is_finite() {
            self.sigma.abs()
        } else {
            0.0
        };
        if sigma == 0.0 {
            return self.median.min(self.max);
        }
        let z: f64 = StandardNormal.sample(rng);
        let secs = self.median.as_secs_f64() * (sigma * z).exp();
        Duration::try_from_secs_f64(secs)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

impl Default for LogNormal {
    fn default() -> Self {
        LogNormal::ZERO
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn samples(dist: LogNormal, n: usize) -> Vec<Duration> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut out: Vec<Duration> = (0..n).map(|_| dist.sample(&mut rng)).collect();
        out.sort();
        out
    }

    #[test]
    fn median_of_many_samples_is_close_to_the_median() {
        let dist = LogNormal {
            median: Duration::from_millis(100),
            sigma: 0.8,
            max: Duration::from_secs(60),
        };
        let s = samples(dist, 20_001);
        let median = s[s.len() / 2].as_secs_f64();
        // The sample median of n=20,001 draws has a standard error of about
        // 1.2533·σ/√n ≈ 0.7 % on the log scale; 5 % is > 7 standard errors.
        assert!((median - 0.1).abs() < 0.005, "sample median {median}");
        // The tail is really there: with σ = 0.8, P(X > 3·median) ≈ 8.5 %.
        let above = s.iter().filter(|d| d.as_secs_f64() > 0.3).count() as f64 / s.len() as f64;
        assert!((0.07..0.10).contains(&above), "tail fraction {above}");
    }

    #[test]
    fn never_above_max() {
        let dist = LogNormal {
            median: Duration::from_millis(100),
            sigma: 2.0,
            max: Duration::from_millis(150),
        };
        let s = samples(dist, 10_000);
        assert!(s.iter().all(|d| *d <= dist.max));
        assert_eq!(
            *s.last().unwrap(),
            dist.max,
            "a wide sigma must hit the cap"
        );
    }

    #[test]
    fn zero_gives_zero() {
        assert!(samples(LogNormal::ZERO, 1_000).iter().all(|d| d.is_zero()));
        assert_eq!(LogNormal::default(), LogNormal::ZERO);
    }

    #[test]
    fn zero_sigma_gives_the_median_and_bad_sigma_does_not_panic() {
        let mut dist = LogNormal {
            median: Duration::from_millis(20),
            sigma: 0.0,
            max: Duration::from_secs(1),
        };
        assert!(samples(dist, 10).iter().all(|d| *d == dist.median));
        dist.sigma = f64::NAN;
        assert!(samples(dist, 10).iter().all(|d| *d == dist.median));
        dist.sigma = 1e6;
        assert!(samples(dist, 100).iter().all(|d| *d <= dist.max));
    }
}
