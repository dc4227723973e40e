//! The burn's machine- and people-readable forms, beside the Markdown on stdout: `burn.json`
//! (every figure of [`Usage`] and [`Projection`], flags with a `kind` and their message) and
//! `burn.html` (the minijinja engine of the run report, HTML auto-escaping on, so a contract or
//! endpoint named `A&B <script>` stays text). Both render from the finished summary's usage
//! and the contract alone.

use minijinja::{AutoEscape, Environment};
use serde_json::{Value, json};

use super::{Contract, Flag, Projection, Usage};

const TEMPLATE: &str = include_str!("burn.html.j2");

fn flag_json(f: &Flag) -> Value {
    let (kind, extra) = match f {
        Flag::PerCallWithoutLimits => ("per_call_without_limits", json!({})),
        Flag::DailyQuota {
            projected_daily,
            limit,
        } => (
            "daily_quota",
            json!({ "projected_daily": projected_daily, "limit": limit }),
        ),
        Flag::BurstQuota { peak_pct } => ("burst_quota", json!({ "peak_pct": peak_pct })),
        Flag::Escalator { percent, cap } => {
            ("escalator", json!({ "percent": percent, "cap": cap }))
        }
    };
    let mut v = json!({ "kind": kind, "message": f.to_string() });
    if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), extra) {
        v.extend(extra);
    }
    v
}

/// `burn.json`: the run's usage, the projection, the TCO years and the flags.
pub fn to_json(contract: &Contract, usage: &Usage, p: &Projection) -> Value {
    json!({
        "contract": {
            "file": contract.file,
            "name": contract.name,
            "system": contract.system,
            "daily_limit": contract.daily_limit,
            "burst_limit": contract.burst_limit,
        },
        "run": {
            "delivered": usage.delivered,
            "duration_s": usage.duration_s,
            "quota_peak_pct": usage.quota_peak_pct,
        },
        "endpoints": usage.endpoints.iter().map(|e| json!({
            "system": e.system,
            "endpoint": e.endpoint,
            "calls": e.calls,
            "per_record": e.per_record,
            "by": if e.harness { "harness" } else { "integration" },
        })).collect::<Vec<_>>(),
        "projection": {
            "monthly_records": p.monthly_records,
            "calls_per_record": p.calls_per_record,
            "monthly_calls": p.monthly_calls,
            "projected_daily": p.projected_daily,
            "daily_quota_share": contract.daily_limit.map(|d| p.projected_daily / d as f64),
        },
        "years": p.years.iter().map(|y| json!({
            "year": y.year,
            "factor": y.factor,
            "seats_cost": y.seats_cost,
            "calls": y.calls,
            "overage_calls": y.overage_calls,
            "overage_cost": y.overage_cost,
            "total": y.total,
        })).collect::<Vec<_>>(),
        "tco_3y": p.years.iter().map(|y| y.total).sum::<f64>(),
        "flags": p.flags.iter().map(flag_json).collect::<Vec<_>>(),
    })
}

/// `burn.html`, from the same figures as [`to_json`].
pub fn render_html(contract: &Contract, usage: &Usage, p: &Projection) -> String {
    let money = |x: f64| format!("{x:.2}");
    let context = json!({
        "contract": contract.name,
        "system": contract.system,
        "delivered": usage.delivered,
        "duration_s": format!("{:.1}", usage.duration_s),
        "quota_peak_pct": format!("{:.1}", usage.quota_peak_pct),
        "burst_limit": contract.burst_limit,
        "daily_limit": contract.daily_limit,
        "daily_share": contract.daily_limit
            .map(|d| format!("{:.1} %", p.projected_daily / d as f64 * 100.0)),
        "endpoints": usage.endpoints.iter().map(|e| json!({
            "system": e.system,
            "endpoint": e.endpoint,
            "calls": e.calls,
            "per_record": format!("{:.4}", e.per_record),
            "by": if e.harness { "harness" } else { "integration" },
        })).collect::<Vec<_>>(),
        "monthly_records": p.monthly_records,
        "calls_per_record": format!("{:.4}", p.calls_per_record),
        "monthly_calls": p.monthly_calls,
        "projected_daily": format!("{:.0}", p.projected_daily),
        "years": p.years.iter().map(|y| json!({
            "year": y.year,
            "factor": format!("{:.4}", y.factor),
            "seats_cost": money(y.seats_cost),
            "calls": y.calls,
            "overage_calls": y.overage_calls,
            "overage_cost": money(y.overage_cost),
            "total": money(y.total),
        })).collect::<Vec<_>>(),
        "tco": money(p.years.iter().map(|y| y.total).sum()),
        "flags": p.flags.iter().map(flag_json).collect::<Vec<_>>(),
    });
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("burn.html", TEMPLATE)
        .and_then(|()| env.get_template("burn.html"))
        .and_then(|t| t.render(minijinja::value::Serde(context)))
        .expect("the burn template is valid and its context complete (checked by a test)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::burn::{EndpointBurn, Tier, project};

    fn contract(name: &str) -> Contract {
        Contract {
            file: "c.toml".into(),
            name: name.into(),
            monthly_records: None,
            system: "target".into(),
            seats: 10,
            seat_price_per_month: 100.0,
            included_calls_per_month: 1_000,
            tiers: vec![Tier {
                up_to: None,
                per_1000: 0.5,
            }],
            escalator_percent: 4.0,
            escalator_cap_percent: 5.0,
            limits_published: true,
            daily_limit: Some(1_000),
            burst_limit: Some(190),
        }
    }

    fn usage(endpoint: &str) -> Usage {
        Usage {
            delivered: 1000,
            duration_s: 10.0,
            endpoints: vec![EndpointBurn {
                system: "target".into(),
                endpoint: endpoint.into(),
                calls: 500,
                per_record: 0.5,
                harness: false,
            }],
            quota_peak_pct: 91.0,
        }
    }

    #[test]
    fn json_holds_every_figure_with_closed_forms() {
        let (c, u) = (contract("Acme CRM"), usage("batch_create"));
        // 100,000 records/month at 0.5 calls each: 50,000 calls/month.
        let p = project(&c, &u, 100_000);
        let j = to_json(&c, &u, &p);
        assert_eq!(j["projection"]["monthly_calls"], 50_000);
        let daily = 50_000.0 / (365.0 / 12.0);
        assert!((j["projection"]["projected_daily"].as_f64().unwrap() - daily).abs() < 1e-9);
        assert!(
            (j["projection"]["daily_quota_share"].as_f64().unwrap() - daily / 1000.0).abs() < 1e-9
        );
        assert_eq!(j["endpoints"][0]["by"], "integration");
        assert_eq!(j["years"].as_array().unwrap().len(), 3);
        let sum: f64 = j["years"]
            .as_array()
            .unwrap()
            .iter()
            .map(|y| y["total"].as_f64().unwrap())
            .sum();
        assert!((j["tco_3y"].as_f64().unwrap() - sum).abs() < 1e-9);
        // Year 1: 12 months of 10 seats at 100 plus 49,000 overage calls a month at 0.5 per 1000.
        let y1 = j["years"][0]["total"].as_f64().unwrap();
        assert!((y1 - (12_000.0 + 12.0 * 49.0 * 0.5)).abs() < 1e-6, "{y1}");
        let kinds: Vec<&str> = j["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(&"daily_quota"), "{kinds:?}");
        assert!(kinds.contains(&"burst_quota"), "{kinds:?}");
        assert_eq!(j["flags"][0]["message"], p.flags[0].to_string());
    }

    #[test]
    fn html_escapes_names_and_shows_the_tables() {
        let (c, u) = (contract("A&B <script>"), usage("<img src=x>"));
        let p = project(&c, &u, 100_000);
        let html = render_html(&c, &u, &p);
        assert!(html.contains("A&amp;B &lt;script&gt;"), "{html}");
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(html.contains("id=\"tco\"") && html.contains("id=\"flags\""));
        let total: f64 = p.years.iter().map(|y| y.total).sum();
        assert!(html.contains(&format!("{total:.2}")), "{html}");
    }
}
