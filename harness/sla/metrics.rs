//! The figures an SLA can name, by their `summary.json` path, each with the evidence behind it:
//! a proportion (successes of n), a percentile (with the histogram, for its interval), or an
//! exact figure (a count). One place lists the paths, so an SLA naming a figure that does not
//! exist is refused before the run, with the closest valid path.
//!
//! `api.availability` is the share of the harness's calls (writes and verification reads) that
//! got an answer below 500: no transport error (status 0), no 5xx. Throttling (429) is the
//! vendor's limit working, not an outage, so it counts as available.

use std::collections::BTreeMap;

use crate::measure::{LatencyHistogram, Ledger};
use crate::quality::Scorecard;
use crate::shape::Shape;

/// What a figure is and how sure we are of it.
#[derive(Debug, Clone)]
pub enum Evidence {
    /// `successes` of `n`; the figure is the ratio (1.0 when n is 0 for "good" ratios).
    Proportion {
        successes: u64,
        n: u64,
        empty_value: f64,
    },
    /// Quantile `q` of a latency histogram, in milliseconds.
    Quantile { q: f64, hist: Box<LatencyHistogram> },
    /// A figure without sampling error (a count, a mean of counts), over `n` samples.
    Exact { value: f64, n: u64 },
}

impl Evidence {
    pub fn value(&self) -> f64 {
        match self {
            Evidence::Proportion {
                successes,
                n,
                empty_value,
            } => {
                if *n == 0 {
                    *empty_value
                } else {
                    *successes as f64 / *n as f64
                }
            }
            Evidence::Quantile { q, hist } => hist.quantile_ms(*q),
            Evidence::Exact { value, .. } => *value,
        }
    }

    pub fn n(&self) -> u64 {
        match self {
            Evidence::Proportion { n, .. } | Evidence::Exact { n, .. } => *n,
            Evidence::Quantile { hist, .. } => hist.len(),
        }
    }
}

/// Every judgeable figure of a run.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub figures: BTreeMap<String, Evidence>,
}

impl Metrics {
    /// The figures of a finished run.
    pub fn collect(ledger: &Ledger, card: &Scorecard) -> Metrics {
        let c = &ledger.counts;
        let mut m = BTreeMap::new();
        let exact = |value: f64, n: u64| Evidence::Exact { value, n };
        let prop = |successes: u64, n: u64, empty_value: f64| Evidence::Proportion {
            successes,
            n,
            empty_value,
        };
        m.insert("records.sent".into(), exact(c.sent as f64, c.sent));
        m.insert(
            "records.acknowledged".into(),
            exact(c.acknowledged as f64, c.sent),
        );
        m.insert("records.delivered".into(), exact(c.observed as f64, c.sent));
        m.insert("records.lost".into(), exact(c.lost as f64, c.sent));
        m.insert("records.loss_rate".into(), prop(c.lost, c.sent, 0.0));
        for (name, hist, quantiles) in [
            (
                "sync_ms",
                &ledger.sync,
                &[("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)][..],
            ),
            (
                "api_ms",
                &ledger.api,
                &[("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)][..],
            ),
        ] {
            for (label, q) in quantiles {
                m.insert(
                    format!("latency.{name}.{label}"),
                    Evidence::Quantile {
                        q: *q,
                        hist: Box::new(hist.clone()),
                    },
                );
            }
            m.insert(
                format!("latency.{name}.max"),
                exact(hist.summary().max, hist.len()),
            );
        }
        m.insert(
            "retries.attempts_per_record".into(),
            exact(round6(ledger.attempts_per_record()), c.sent),
        );
        m.insert("retries.retried_rate".into(), prop(c.retried, c.sent, 0.0));
        m.insert(
            "retries.retry_after_violations".into(),
            exact(c.early_retries as f64, c.write_calls),
        );
        m.insert("retries.gave_up".into(), exact(c.gave_up as f64, c.sent));
        m.insert(
            "duplicates.exact_rate".into(),
            prop(card.extra_copies().min(card.delivered), card.delivered, 0.0),
        );
        m.insert(
            "duplicates.fuzzy_rate".into(),
            prop(
                card.fuzzy.extra_records.min(card.delivered),
                card.delivered,
                0.0,
            ),
        );
        let (present, n) = card.completeness_overall();
        m.insert("completeness.overall".into(), prop(present, n, 1.0));
        let (accurate, n) = card.accuracy_overall();
        m.insert("accuracy.overall".into(), prop(accurate, n, 1.0));
        let (valid, n) = card.validity_overall();
        m.insert("validity.overall".into(), prop(valid, n, 1.0));
        let (valid, n) = card.source_validity_overall();
        m.insert("validity.source.overall".into(), prop(valid, n, 1.0));
        for f in &card.fields {
            m.insert(
                format!("validity.fields.{}", f.name),
                prop(f.target_judged - f.target_invalid, f.target_judged, 1.0),
            );
            m.insert(
                format!("validity.source.fields.{}", f.name),
                prop(f.source_judged - f.source_invalid, f.source_judged, 1.0),
            );
            m.insert(
                format!("completeness.fields.{}", f.name),
                prop(f.present, f.source_nonempty, 1.0),
            );
            m.insert(
                format!("accuracy.fields.{}", f.name),
                prop(f.accurate, f.source_nonempty, 1.0),
            );
        }
        m.insert(
            "api.calls".into(),
            exact(c.write_calls as f64, c.write_calls),
        );
        m.insert(
            "api.calls_per_record".into(),
            exact(
                round6(crate::measure::Ledger::ratio(c.write_calls, c.sent)),
                c.sent,
            ),
        );
        m.insert(
            "api.throttled_rate".into(),
            prop(
                c.throttled_calls,
                c.write_calls + c.read_calls + c.search_calls,
                0.0,
            ),
        );
        let answered = |by_status: &BTreeMap<u16, u64>| -> (u64, u64) {
            let n: u64 = by_status.values().sum();
            let down: u64 = by_status
                .iter()
                .filter(|(status, _)| **status == 0 || **status >= 500)
                .map(|(_, count)| count)
                .sum();
            (n - down, n)
        };
        let (up_writes, n_writes) = answered(&c.write_status);
        let (up_verify, n_verify) = answered(&c.verify_status);
        m.insert(
            "api.availability".into(),
            prop(up_writes + up_verify, n_writes + n_verify, 1.0),
        );
        m.insert(
            "api.quota_peak_pct".into(),
            exact(round6(c.quota_peak * 100.0), c.write_calls),
        );
        m.insert(
            "api.daily_quota_peak_pct".into(),
            exact(round6(c.daily_quota_peak * 100.0), c.write_calls),
        );
        Metrics { figures: m }
    }

    /// The paths an SLA may name for a shape (known before any run).
    pub fn known_paths(shape: &Shape) -> Vec<String> {
        let empty = Metrics::collect(&Ledger::default(), &Scorecard::new(shape));
        empty.figures.into_keys().collect()
    }

    pub fn get(&self, path: &str) -> Option<&Evidence> {
        self.figures.get(path)
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn availability_counts_transport_errors_and_5xx_as_down() {
        let mut ledger = Ledger::default();
        ledger.counts.write_status = BTreeMap::from([(200, 90), (429, 4), (503, 3), (0, 1)]);
        ledger.counts.verify_status = BTreeMap::from([(207, 20), (500, 2)]);
        let m = Metrics::collect(&ledger, &Scorecard::new(&Shape::demo()));
        let a = m.get("api.availability").unwrap();
        assert_eq!((a.n(), a.value()), (120, 114.0 / 120.0));
        let empty = Metrics::collect(&Ledger::default(), &Scorecard::new(&Shape::demo()));
        assert_eq!(empty.get("api.availability").unwrap().value(), 1.0);
    }
}
