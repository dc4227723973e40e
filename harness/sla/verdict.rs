//! Verdicts: each threshold judged on its figure's confidence interval. A verdict carries its
//! evidence (actual, n, interval) and, when inconclusive, the sample size that would decide.

use serde::Serialize;

use super::{Evidence, Metrics, Op, SlaSpec, Threshold, quantile_ranks, wilson, z_for};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictKind {
    Pass,
    Fail,
    Inconclusive,
}

impl VerdictKind {
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Pass => "pass",
            VerdictKind::Fail => "fail",
            VerdictKind::Inconclusive => "inconclusive",
        }
    }
}

/// One SLA judged, as `summary.json` holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub name: String,
    pub metric: String,
    pub op: &'static str,
    pub threshold: f64,
    pub actual: f64,
    pub n: u64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub confidence: f64,
    pub verdict: VerdictKind,
    /// For an inconclusive verdict: about how many samples would decide it, at the same rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples_needed: Option<u64>,
    /// Why a figure could not be judged as measured (e.g. API latency on a compressed clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// On a clock `speed`× faster than real time, a real millisecond of loopback round trip counts
/// as `speed` simulated ones, so a call's latency says nothing about the vendor: verdicts on
/// API latency become inconclusive, with the reason. Sync latency stays judged (its delays —
/// poll intervals, relay lag, verification polling — are simulated durations), and the report
/// states the clock so a reader can weigh it.
pub fn on_compressed_clock(verdicts: &mut [Verdict], speed: f64) {
    if speed == 1.0 {
        return;
    }
    for v in verdicts
        .iter_mut()
        .filter(|v| v.metric.starts_with("latency.api_ms."))
    {
        v.verdict = VerdictKind::Inconclusive;
        v.samples_needed = None;
        v.note = Some(format!(
            "not judged: the run's clock ran {speed}× real time, so each real millisecond of a \
             call counts as {speed} ms; judge API latency in a real-time run"
        ));
    }
}

/// The figures only a look at the target can give: with `[verify] kind = "none"` they were not
/// measured, whatever the counters say.
pub const NEEDS_VERIFICATION: [&str; 8] = [
    "records.delivered",
    "records.lost",
    "records.loss_rate",
    "latency.sync_ms.",
    "duplicates.",
    "completeness.",
    "accuracy.",
    "validity.",
];

/// Marks every verdict on a figure that needs the target's copy as inconclusive (not measured)
/// for a run that read nothing back.
pub fn not_verified(verdicts: &mut [Verdict]) {
    for v in verdicts
        .iter_mut()
        .filter(|v| NEEDS_VERIFICATION.iter().any(|p| v.metric.starts_with(p)))
    {
        v.verdict = VerdictKind::Inconclusive;
        v.actual = f64::NAN;
        v.ci_low = f64::NAN;
        v.ci_high = f64::NAN;
        v.n = 0;
        v.samples_needed = None;
        v.note = Some(
            "not measured: the plan's [verify] kind = \"none\" reads nothing back; choose a \
             verification kind to judge it"
                .into(),
        );
    }
}

/// Judges every threshold of `spec` on `metrics`.
pub fn judge(spec: &SlaSpec, metrics: &Metrics) -> Vec<Verdict> {
    spec.thresholds
        .iter()
        .map(|t| match metrics.get(&t.metric) {
            Some(e) => judge_one(t, e),
            None => Verdict {
                name: t.name.clone(),
                metric: t.metric.clone(),
                op: t.op.as_str(),
                threshold: t.threshold,
                actual: f64::NAN,
                n: 0,
                ci_low: f64::NAN,
                ci_high: f64::NAN,
                confidence: t.confidence,
                verdict: VerdictKind::Inconclusive,
                samples_needed: None,
                note: None,
            },
        })
        .collect()
}

/// The run's overall verdict: any fail fails; otherwise any inconclusive is inconclusive.
pub fn overall(verdicts: &[Verdict]) -> VerdictKind {
    if verdicts.iter().any(|v| v.verdict == VerdictKind::Fail) {
        VerdictKind::Fail
    } else if verdicts
        .iter()
        .any(|v| v.verdict == VerdictKind::Inconclusive)
    {
        VerdictKind::Inconclusive
    } else {
        VerdictKind::Pass
    }
}

fn interval(e: &Evidence, z: f64) -> (f64, f64) {
    match e {
        Evidence::Proportion {
            successes,
            n,
            empty_value,
        } => {
            if *n == 0 {
                (*empty_value, *empty_value)
            } else {
                wilson(*successes, *n, z)
            }
        }
        Evidence::Quantile { q, hist } => {
            let (lo, hi) = quantile_ranks(*q, hist.len(), z);
            (hist.rank_ms(lo), hist.rank_ms(hi))
        }
        Evidence::Exact { value, .. } => (*value, *value),
    }
}

fn decide(op: Op, low: f64, high: f64, threshold: f64) -> VerdictKind {
    let (all_meet, none_meet) = match op {
        Op::Le | Op::Lt => (op.holds(high, threshold), !op.holds(low, threshold)),
        Op::Ge | Op::Gt => (op.holds(low, threshold), !op.holds(high, threshold)),
    };
    if all_meet {
        VerdictKind::Pass
    } else if none_meet {
        VerdictKind::Fail
    } else {
        VerdictKind::Inconclusive
    }
}

fn judge_one(t: &Threshold, e: &Evidence) -> Verdict {
    let z = z_for(t.confidence);
    let actual = e.value();
    let n = e.n();
    let (ci_low, ci_high) = interval(e, z);
    let empty_sample = n == 0 && !matches!(e, Evidence::Exact { .. });
    let verdict = if empty_sample {
        VerdictKind::Inconclusive
    } else {
        decide(t.op, ci_low, ci_high, t.threshold)
    };
    let samples_needed = (verdict == VerdictKind::Inconclusive)
        .then(|| needed(t, e, z))
        .flatten();
    let round = |v: f64| (v * 1e6).round() / 1e6;
    Verdict {
        name: t.name.clone(),
        metric: t.metric.clone(),
        op: t.op.as_str(),
        threshold: t.threshold,
        actual: round(actual),
        n,
        ci_low: round(ci_low),
        ci_high: round(ci_high),
        confidence: t.confidence,
        verdict,
        samples_needed,
        note: None,
    }
}

/// The smallest sample, at the same observed rate, whose interval would decide the threshold.
fn needed(t: &Threshold, e: &Evidence, z: f64) -> Option<u64> {
    match e {
        Evidence::Proportion { successes, n, .. } if *n > 0 => {
            let p = *successes as f64 / *n as f64;
            if p == t.threshold {
                return None;
            }
            let decides = |m: u64| {
                let (lo, hi) = wilson((p * m as f64).round() as u64, m, z);
                decide(t.op, lo, hi, t.threshold) != VerdictKind::Inconclusive
            };
            let (mut lo, mut hi) = (*n, n.saturating_mul(2).max(2));
            while !decides(hi) {
                if hi > 1_000_000_000_000 {
                    return None;
                }
                lo = hi;
                hi = hi.saturating_mul(2);
            }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if decides(mid) { hi = mid } else { lo = mid }
            }
            Some(hi)
        }
        Evidence::Quantile { hist, .. } if !hist.is_empty() => {
            // Interval width shrinks as 1/sqrt(n).
            let (lo, hi) = interval(e, z);
            let half = (hi - lo) / 2.0;
            let gap = (e.value() - t.threshold).abs();
            (gap > 0.0).then(|| ((hist.len() as f64) * (half / gap).powi(2)).ceil() as u64)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Duration;

    use crate::measure::LatencyHistogram;

    fn spec(metric: &str, op: Op, threshold: f64) -> SlaSpec {
        SlaSpec {
            file: "t".into(),
            thresholds: vec![Threshold {
                name: "t".into(),
                metric: metric.into(),
                op,
                threshold,
                confidence: 0.95,
            }],
        }
    }

    fn metrics(path: &str, e: Evidence) -> Metrics {
        Metrics {
            figures: BTreeMap::from([(path.to_string(), e)]),
        }
    }

    fn rate(successes: u64, n: u64) -> Evidence {
        Evidence::Proportion {
            successes,
            n,
            empty_value: 0.0,
        }
    }

    #[test]
    fn rates_pass_fail_or_say_what_sample_would_decide() {
        let check =
            |s, n, thr| judge(&spec("r", Op::Le, thr), &metrics("r", rate(s, n)))[0].clone();
        assert_eq!(check(0, 3000, 0.01).verdict, VerdictKind::Pass);
        assert_eq!(check(100, 3000, 0.01).verdict, VerdictKind::Fail);
        let v = check(9, 1000, 0.01);
        assert_eq!(v.verdict, VerdictKind::Inconclusive);
        let needed = v.samples_needed.unwrap();
        assert!(needed > 1000);
        // At the sample size it names, the same rate does decide.
        let again = check((0.009 * needed as f64).round() as u64, needed, 0.01);
        assert_ne!(again.verdict, VerdictKind::Inconclusive, "{needed}");
    }

    #[test]
    fn percentiles_are_judged_on_order_statistic_intervals() {
        let mut hist = LatencyHistogram::default();
        for ms in 1..=1000u64 {
            hist.record(Duration::from_millis(ms));
        }
        let e = || Evidence::Quantile {
            q: 0.95,
            hist: Box::new(hist.clone()),
        };
        let check = |thr| judge(&spec("p", Op::Le, thr), &metrics("p", e()))[0].clone();
        assert_eq!(check(1000.0).verdict, VerdictKind::Pass);
        assert_eq!(check(900.0).verdict, VerdictKind::Fail);
        let v = check(950.0);
        assert_eq!(v.verdict, VerdictKind::Inconclusive);
        assert!(v.ci_low < 950.0 && v.ci_high > 950.0, "{v:?}");
    }

    #[test]
    fn an_empty_sample_is_inconclusive_and_overall_is_the_worst() {
        let v = judge(&spec("r", Op::Le, 0.01), &metrics("r", rate(0, 0)));
        assert_eq!(v[0].verdict, VerdictKind::Inconclusive);
        let pass = judge(&spec("r", Op::Ge, 0.5), &metrics("r", rate(900, 1000)));
        assert_eq!(overall(&pass), VerdictKind::Pass);
        let mut both = pass.clone();
        both.extend(v);
        assert_eq!(overall(&both), VerdictKind::Inconclusive);
    }
}
