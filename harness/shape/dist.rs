//! Distributions a shape declares, compiled once into tables the generator samples from with one
//! uniform draw: counts (how many contacts per company) and numbers (deal amounts). A uniform
//! draw in, a value out, so the generator stays a pure function of (shape, seed, index).

/// A distribution over counts `min..=max`, stored as cumulative weights.
#[derive(Debug, Clone, PartialEq)]
pub struct CountDist {
    pub min: u32,
    /// Cumulative probabilities of `min`, `min + 1`, …; the last is 1.0.
    cumulative: Vec<f64>,
    pub mean: f64,
}

impl CountDist {
    /// From explicit weights of `min`, `min + 1`, …
    pub fn from_weights(min: u32, weights: &[f64]) -> Result<CountDist, String> {
        if weights.is_empty() {
            return Err("needs at least one weight".into());
        }
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err("weights must be non-negative numbers".into());
        }
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return Err("weights must not all be zero".into());
        }
        let mut acc = 0.0;
        let mut mean = 0.0;
        let n = weights.len();
        let cumulative = weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                acc += w / total;
                mean += (min as f64 + i as f64) * w / total;
                if i + 1 == n { 1.0 } else { acc }
            })
            .collect();
        Ok(CountDist {
            min,
            cumulative,
            mean,
        })
    }

    /// Uniform over `min..=max`.
    pub fn uniform(min: u32, max: u32) -> Result<CountDist, String> {
        if max < min {
            return Err(format!("max ({max}) is below min ({min})"));
        }
        CountDist::from_weights(min, &vec![1.0; (max - min + 1) as usize])
    }

    /// A geometric distribution shifted to start at `min`, truncated at `max`, with about the
    /// given mean: most parents have few children, a few have many (as in real CRMs).
    pub fn geometric(min: u32, max: u32, mean: f64) -> Result<CountDist, String> {
        if max < min {
            return Err(format!("max ({max}) is below min ({min})"));
        }
        if !(mean.is_finite() && mean >= min as f64 && mean <= max as f64) {
            return Err(format!(
                "mean {mean} must lie between min ({min}) and max ({max})"
            ));
        }
        let excess = mean - min as f64;
        let p = 1.0 / (1.0 + excess);
        let weights: Vec<f64> = (0..=(max - min))
            .map(|k| p * (1.0 - p).powi(k as i32))
            .collect();
        CountDist::from_weights(min, &weights)
    }

    pub fn max(&self) -> u32 {
        self.min + self.cumulative.len() as u32 - 1
    }

    /// The count for a uniform draw `u` in `[0, 1)`.
    pub fn sample(&self, u: f64) -> u32 {
        let k = self.cumulative.partition_point(|c| *c <= u);
        self.min + k.min(self.cumulative.len() - 1) as u32
    }
}

/// A distribution over numbers, sampled by inverse transform from one uniform draw.
#[derive(Debug, Clone, PartialEq)]
pub enum NumberDist {
    Uniform {
        min: f64,
        max: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
        min: f64,
        max: f64,
    },
    LogNormal {
        mu: f64,
        sigma: f64,
        min: f64,
        max: f64,
    },
    /// Piecewise-linear inverse CDF through `(quantile, value)` points, quantiles 0 … 1.
    Quantiles(Vec<(f64, f64)>),
}

impl NumberDist {
    pub fn sample(&self, u: f64) -> f64 {
        match self {
            NumberDist::Uniform { min, max } => min + (max - min) * u,
            NumberDist::Normal { mean, sd, min, max } => (mean + sd * probit(u)).clamp(*min, *max),
            NumberDist::LogNormal {
                mu,
                sigma,
                min,
                max,
            } => (mu + sigma * probit(u)).exp().clamp(*min, *max),
            NumberDist::Quantiles(points) => {
                let i = points
                    .partition_point(|(q, _)| *q <= u)
                    .clamp(1, points.len() - 1);
                let (q0, v0) = points[i - 1];
                let (q1, v1) = points[i];
                if q1 <= q0 {
                    v1
                } else {
                    v0 + (v1 - v0) * (u - q0) / (q1 - q0)
                }
            }
        }
    }

    /// Checks a quantile table: quantiles from 0 to 1, both non-decreasing.
    pub fn quantiles(points: Vec<(f64, f64)>) -> Result<NumberDist, String> {
        if points.len() < 2 {
            return Err("a quantile table needs at least two [quantile, value] points".into());
        }
        if points[0].0 != 0.0 || points[points.len() - 1].0 != 1.0 {
            return Err("quantiles must start at 0.0 and end at 1.0".into());
        }
        if points
            .windows(2)
            .any(|w| w[1].0 < w[0].0 || w[1].1 < w[0].1 || !w[1].1.is_finite())
        {
            return Err("quantiles and values must both be non-decreasing".into());
        }
        Ok(NumberDist::Quantiles(points))
    }
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
#[allow(clippy::excessive_precision)] // the published coefficients, kept verbatim
/// The standard normal quantile (inverse CDF) of `p` in (0, 1): Acklam's rational
/// approximation, |error| < 1.2e-9. Shared with the SLA stage's confidence levels.
pub fn probit(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -probit(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_their_weights_and_bounds() {
        let d = CountDist::geometric(1, 20, 4.0).unwrap();
        assert_eq!(d.sample(0.0), 1);
        assert_eq!(d.sample(0.999_999_999), 20.min(d.sample(0.999_999_999)));
        assert!((d.mean - 4.0).abs() < 0.3, "mean {}", d.mean);
        let u = CountDist::uniform(2, 4).unwrap();
        assert_eq!([u.sample(0.1), u.sample(0.5), u.sample(0.9)], [2, 3, 4]);
        assert!(CountDist::uniform(5, 1).is_err());
        assert!(CountDist::geometric(1, 3, 9.0).is_err());
    }

    #[test]
    fn quantile_tables_interpolate() {
        let d = NumberDist::quantiles(vec![(0.0, 0.0), (0.5, 100.0), (1.0, 1000.0)]).unwrap();
        assert_eq!(d.sample(0.25), 50.0);
        assert_eq!(d.sample(0.75), 550.0);
        assert!(NumberDist::quantiles(vec![(0.0, 5.0), (1.0, 1.0)]).is_err());
        assert!((probit(0.975) - 1.959964).abs() < 1e-5);
    }
}
