//! Confidence intervals: Wilson score intervals for rates, order-statistic (distribution-free)
//! intervals for percentiles. Closed forms, checked against known values in the tests.

/// The two-sided standard-normal quantile for a confidence level (0.90, 0.95, 0.99, ...), from
/// the shape stage's inverse normal.
pub fn z_for(confidence: f64) -> f64 {
    crate::shape::probit(1.0 - (1.0 - confidence.clamp(0.5, 0.999_999)) / 2.0)
}

/// Wilson score interval for `successes` out of `n` at normal quantile `z`.
pub fn wilson(successes: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = (successes as f64 / n).min(1.0);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denom;
    let half = z / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((center - half).max(0.0), (center + half).min(1.0))
}

/// 1-based ranks (lower, upper) of the order statistics bounding quantile `q` of `n` samples,
/// by the normal approximation to the binomial.
pub fn quantile_ranks(q: f64, n: u64, z: f64) -> (u64, u64) {
    let nf = n as f64;
    let spread = z * (nf * q * (1.0 - q)).sqrt();
    let lower = (nf * q - spread).floor().max(1.0) as u64;
    let upper = ((nf * q + spread).ceil() + 1.0).min(nf).max(1.0) as u64;
    (lower.min(n.max(1)), upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normal_quantiles() {
        assert!((z_for(0.95) - 1.959964).abs() < 1e-5);
        assert!((z_for(0.99) - 2.575829).abs() < 1e-5);
        assert!((z_for(0.90) - 1.644854).abs() < 1e-5);
    }

    #[test]
    fn wilson_matches_published_values() {
        // 0 of 3000 at 95 %: upper bound 3.84/3003.84 (the "rule of three"-like closed form).
        let (lo, hi) = wilson(0, 3000, 1.959964);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.0012789).abs() < 1e-6, "{hi}");
        // 50 of 100: 0.4038 .. 0.5962.
        let (lo, hi) = wilson(50, 100, 1.959964);
        assert!((lo - 0.40383).abs() < 1e-4 && (hi - 0.59617).abs() < 1e-4);
    }

    #[test]
    fn quantile_ranks_of_the_median() {
        // n = 100, median at 95 %: ranks 40 and 61 (normal approximation).
        assert_eq!(quantile_ranks(0.5, 100, 1.959964), (40, 61));
        assert_eq!(quantile_ranks(0.99, 10, 1.96), (9, 10));
    }

    proptest! {
        #[test]
        fn wilson_contains_the_estimate_and_narrows_with_n(s in 0u64..1000, extra in 0u64..100_000) {
            let n = s + extra + 1;
            let p = s as f64 / n as f64;
            let (lo, hi) = wilson(s, n, 1.96);
            prop_assert!(lo <= p + 1e-12 && p <= hi + 1e-12);
            prop_assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
            let (lo4, hi4) = wilson(s * 4, n * 4, 1.96);
            prop_assert!(hi4 - lo4 <= hi - lo + 1e-12);
        }
    }
}
