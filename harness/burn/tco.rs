//! The projection: a run's calls per delivered record, scaled to the production volume, priced
//! by the contract into a 3-year total cost of ownership, with the red flags an integration
//! engineer must raise before signing. Plain arithmetic on a [`Usage`] and a [`Contract`], so
//! every figure has a closed form (the tests state them).

use std::fmt::Write as _;

use super::{Contract, Usage};

/// Share of a quota above which projected or measured burn is a red flag.
pub const QUOTA_ALARM: f64 = 0.8;
/// Days per month when a monthly volume becomes a daily one.
const DAYS_PER_MONTH: f64 = 365.0 / 12.0;

/// One contract year.
#[derive(Debug, Clone, PartialEq)]
pub struct Year {
    pub year: u32,
    /// Price factor of this year: `(1 + escalator)^(year - 1)`.
    pub factor: f64,
    pub seats_cost: f64,
    pub calls: u64,
    pub overage_calls: u64,
    pub overage_cost: f64,
    pub total: f64,
}

/// What to raise before signing.
#[derive(Debug, Clone, PartialEq)]
pub enum Flag {
    /// Calls cost money but the vendor publishes no API limit: the bill has no ceiling you can plan.
    PerCallWithoutLimits,
    /// Projected daily calls above 80 % of the daily quota.
    DailyQuota { projected_daily: f64, limit: u64 },
    /// Measured peak share of the burst quota above 80 %.
    BurstQuota { peak_pct: f64 },
    /// The vendor's escalator exceeds the contract's cap.
    Escalator { percent: f64, cap: f64 },
}

impl std::fmt::Display for Flag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flag::PerCallWithoutLimits => write!(
                f,
                "per-call pricing without published API limits: the call bill has no ceiling (ask the vendor to publish daily and burst limits)"
            ),
            Flag::DailyQuota {
                projected_daily,
                limit,
            } => write!(
                f,
                "projected burn {projected_daily:.0} calls/day is {:.0} % of the daily quota {limit} (over {:.0} %: negotiate a higher quota or batch more records per call)",
                projected_daily / *limit as f64 * 100.0,
                QUOTA_ALARM * 100.0
            ),
            Flag::BurstQuota { peak_pct } => write!(
                f,
                "the run peaked at {peak_pct:.1} % of the burst quota (over {:.0} %: production peaks will throttle)",
                QUOTA_ALARM * 100.0
            ),
            Flag::Escalator { percent, cap } => write!(
                f,
                "escalator {percent} %/year exceeds the {cap} % cap (negotiate it down to the cap); the table uses the vendor's {percent} %"
            ),
        }
    }
}

/// The projection of one run under one contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub monthly_records: u64,
    pub calls_per_record: f64,
    pub monthly_calls: u64,
    pub projected_daily: f64,
    pub years: Vec<Year>,
    pub flags: Vec<Flag>,
}

/// Overage cost of one month's calls above the included quota, priced band by band.
pub fn overage_cost(contract: &Contract, monthly_calls: u64) -> f64 {
    let mut left = monthly_calls.saturating_sub(contract.included_calls_per_month);
    let mut floor = 0u64;
    let mut cost = 0.0;
    for tier in &contract.tiers {
        if left == 0 {
            break;
        }
        let width = tier.up_to.map_or(left, |up| (up - floor).min(left));
        cost += width as f64 / 1000.0 * tier.per_1000;
        left -= width;
        floor = tier.up_to.unwrap_or(floor);
    }
    cost
}

/// Projects `usage` at `monthly_records` under `contract` over three years.
pub fn project(contract: &Contract, usage: &Usage, monthly_records: u64) -> Projection {
    let calls_per_record = usage.per_record(&contract.system);
    let monthly_calls = (monthly_records as f64 * calls_per_record).round() as u64;
    let projected_daily = monthly_calls as f64 / DAYS_PER_MONTH;
    let overage_calls = monthly_calls.saturating_sub(contract.included_calls_per_month);
    let month_overage = overage_cost(contract, monthly_calls);
    let years = (1..=3u32)
        .map(|year| {
            let factor = (1.0 + contract.escalator_percent / 100.0).powi(year as i32 - 1);
            let seats_cost = contract.seats as f64 * contract.seat_price_per_month * 12.0 * factor;
            let overage_cost = month_overage * 12.0 * factor;
            Year {
                year,
                factor,
                seats_cost,
                calls: monthly_calls * 12,
                overage_calls: overage_calls * 12,
                overage_cost,
                total: seats_cost + overage_cost,
            }
        })
        .collect();
    let mut flags = Vec::new();
    if contract.per_call_pricing() && !contract.limits_published {
        flags.push(Flag::PerCallWithoutLimits);
    }
    if let Some(limit) = contract.daily_limit
        && projected_daily > QUOTA_ALARM * limit as f64
    {
        flags.push(Flag::DailyQuota {
            projected_daily,
            limit,
        });
    }
    if usage.quota_peak_pct > QUOTA_ALARM * 100.0 {
        flags.push(Flag::BurstQuota {
            peak_pct: usage.quota_peak_pct,
        });
    }
    if contract.escalator_percent > contract.escalator_cap_percent {
        flags.push(Flag::Escalator {
            percent: contract.escalator_percent,
            cap: contract.escalator_cap_percent,
        });
    }
    Projection {
        monthly_records,
        calls_per_record,
        monthly_calls,
        projected_daily,
        years,
        flags,
    }
}

/// The burn by endpoint, the projection, the TCO table and the flags, as Markdown.
pub fn render(contract: &Contract, usage: &Usage, p: &Projection) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# API-call burn: {}\n", contract.name);
    let _ = writeln!(
        s,
        "Run: {} delivered records in {:.1} s; peak {:.1} % of the burst quota{}.\n",
        usage.delivered,
        usage.duration_s,
        usage.quota_peak_pct,
        contract
            .burst_limit
            .map(|b| format!(" ({b} calls per window)"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "| system | endpoint | calls | per delivered record | by |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---|");
    for e in &usage.endpoints {
        let by = if e.harness { "harness" } else { "integration" };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.4} | {by} |",
            e.system, e.endpoint, e.calls, e.per_record
        );
    }
    let _ = writeln!(
        s,
        "\nProjection ({} API): {} records/month × {:.4} calls/record = {} calls/month, {:.0} calls/day{}.\n",
        contract.system,
        p.monthly_records,
        p.calls_per_record,
        p.monthly_calls,
        p.projected_daily,
        contract
            .daily_limit
            .map(|d| format!(
                " ({:.1} % of the daily quota {d})",
                p.projected_daily / d as f64 * 100.0
            ))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "| year | seats | calls | overage calls | overage | total |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|");
    for y in &p.years {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {} | {} | {:.2} | {:.2} |",
            y.year, y.seats_cost, y.calls, y.overage_calls, y.overage_cost, y.total
        );
    }
    let total: f64 = p.years.iter().map(|y| y.total).sum();
    let _ = writeln!(s, "| 3-year TCO | | | | | {total:.2} |");
    if p.flags.is_empty() {
        let _ = writeln!(s, "\nRed flags: none.");
    } else {
        let _ = writeln!(s, "\nRed flags:");
        for f in &p.flags {
            let _ = writeln!(s, "- {f}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::burn::{EndpointBurn, Tier};

    fn contract() -> Contract {
        Contract {
            file: "c.toml".into(),
            name: "c".into(),
            monthly_records: None,
            system: "target".into(),
            seats: 10,
            seat_price_per_month: 100.0,
            included_calls_per_month: 1_000_000,
            tiers: vec![Tier {
                up_to: None,
                per_1000: 0.5,
            }],
            escalator_percent: 4.0,
            escalator_cap_percent: 5.0,
            limits_published: true,
            daily_limit: Some(100_000),
            burst_limit: Some(190),
        }
    }

    fn usage(per_record: f64, peak: f64) -> Usage {
        Usage {
            delivered: 1000,
            duration_s: 10.0,
            endpoints: vec![EndpointBurn {
                system: "target".into(),
                endpoint: "batch_create".into(),
                calls: (per_record * 1000.0) as u64,
                per_record,
                harness: false,
            }],
            quota_peak_pct: peak,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn escalator_compounds_on_seats_and_overage() {
        // 2,000,000 records × 1.5 calls = 3,000,000 calls/month; 2,000,000 over the quota
        // at 0.5 per 1,000 = 1,000/month.
        let p = project(&contract(), &usage(1.5, 10.0), 2_000_000);
        assert_eq!(p.monthly_calls, 3_000_000);
        for (y, f) in p.years.iter().zip([1.0, 1.04, 1.04 * 1.04]) {
            assert!(close(y.factor, f));
            assert!(close(y.seats_cost, 10.0 * 100.0 * 12.0 * f), "{y:?}");
            assert!(close(y.overage_cost, 1000.0 * 12.0 * f), "{y:?}");
            assert!(close(y.total, (12_000.0 + 12_000.0) * f));
            assert_eq!(y.calls, 36_000_000);
            assert_eq!(y.overage_calls, 24_000_000);
        }
    }

    #[test]
    fn calls_within_the_included_quota_cost_nothing() {
        let p = project(&contract(), &usage(0.5, 10.0), 2_000_000);
        assert_eq!(p.monthly_calls, 1_000_000);
        assert!(p.years.iter().all(|y| y.overage_cost == 0.0));
    }

    #[test]
    fn tiers_are_graduated() {
        let mut c = contract();
        c.included_calls_per_month = 100;
        c.tiers = vec![
            Tier {
                up_to: Some(1000),
                per_1000: 2.0,
            },
            Tier {
                up_to: Some(3000),
                per_1000: 1.0,
            },
            Tier {
                up_to: None,
                per_1000: 0.5,
            },
        ];
        // 10,100 calls: 10,000 overage = 1,000 at 2 + 2,000 at 1 + 7,000 at 0.5.
        assert!(close(overage_cost(&c, 10_100), 2.0 + 2.0 + 3.5));
        assert!(close(overage_cost(&c, 600), 1.0));
        assert_eq!(overage_cost(&c, 50), 0.0);
    }

    #[test]
    fn red_flags() {
        let quiet = project(&contract(), &usage(1.0, 10.0), 1_000_000);
        assert!(quiet.flags.is_empty(), "{:?}", quiet.flags);

        let mut c = contract();
        c.limits_published = false;
        c.daily_limit = None;
        c.escalator_percent = 7.0;
        // 3,000,000 calls/month ≈ 98,630/day: over 80 % of 100,000 only with the limit published.
        let p = project(&c, &usage(1.5, 85.0), 2_000_000);
        assert_eq!(
            p.flags,
            vec![
                Flag::PerCallWithoutLimits,
                Flag::BurstQuota { peak_pct: 85.0 },
                Flag::Escalator {
                    percent: 7.0,
                    cap: 5.0
                }
            ]
        );
        let p = project(&contract(), &usage(1.5, 10.0), 2_000_000);
        assert!(matches!(
            p.flags[..],
            [Flag::DailyQuota { limit: 100_000, .. }]
        ));
        // Exactly 80 % is not over 80 %.
        let at = (QUOTA_ALARM * 100_000.0 * DAYS_PER_MONTH).round() as u64;
        let p = project(&contract(), &usage(1.0, 10.0), at);
        assert!(p.flags.is_empty(), "{:?}", p.flags);
        let text = render(
            &c,
            &usage(1.5, 85.0),
            &project(&c, &usage(1.5, 85.0), 2_000_000),
        );
        assert!(text.contains("| 3-year TCO |"), "{text}");
        assert!(
            text.contains("per-call pricing without published API limits"),
            "{text}"
        );
    }
}
