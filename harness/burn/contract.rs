//! The contract file: how a vendor prices seats and API calls, its annual escalator and the API
//! limits it publishes. Serde shape (`deny_unknown_fields`) first, then every semantic check,
//! each naming the file, the line, the key and the fix, so a wrong contract is refused (exit 2)
//! before any figure is projected.

use serde::Deserialize;

use crate::config::{ConfigError, Source};

/// Enterprise CRM contracts negotiate annual escalator caps of 3–5 %; a cap outside is refused.
pub const ESCALATOR_CAP_RANGE: (f64, f64) = (3.0, 5.0);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractFile {
    name: String,
    monthly_records: Option<u64>,
    #[serde(default = "default_system")]
    system: String,
    seats: Option<SeatsFile>,
    calls: Option<CallsFile>,
    escalator: Option<EscalatorFile>,
    limits: LimitsFile,
}

fn default_system() -> String {
    "target".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeatsFile {
    count: u64,
    price_per_month: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallsFile {
    #[serde(default)]
    included_per_month: u64,
    overage_per_1000: Option<f64>,
    #[serde(default)]
    tiers: Vec<TierFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TierFile {
    up_to: Option<u64>,
    per_1000: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalatorFile {
    percent_per_year: f64,
    #[serde(default = "default_cap")]
    cap_percent: f64,
}

fn default_cap() -> f64 {
    ESCALATOR_CAP_RANGE.1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    published: bool,
    daily: Option<u64>,
    burst: Option<u64>,
}

/// A band of monthly overage calls (calls above the included quota) and its price per 1,000.
/// Bands are graduated: each prices only the calls that fall inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tier {
    /// Upper bound of the band in overage calls per month; `None` for the last, open band.
    pub up_to: Option<u64>,
    pub per_1000: f64,
}

/// A validated contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    pub file: String,
    pub name: String,
    /// Production volume (records synced per month), unless `--monthly-records` says otherwise.
    pub monthly_records: Option<u64>,
    /// Which system's API the contract prices: `target` (default) or `source`.
    pub system: String,
    pub seats: u64,
    pub seat_price_per_month: f64,
    pub included_calls_per_month: u64,
    /// Overage bands; one open band for a flat overage price; empty when calls are not priced.
    pub tiers: Vec<Tier>,
    /// The vendor's quoted escalator and the contract's cap, percent per year.
    pub escalator_percent: f64,
    pub escalator_cap_percent: f64,
    pub limits_published: bool,
    pub daily_limit: Option<u64>,
    pub burst_limit: Option<u64>,
}

impl Contract {
    /// True when API calls cost money beyond the included quota.
    pub fn per_call_pricing(&self) -> bool {
        self.tiers.iter().any(|t| t.per_1000 > 0.0)
    }

    pub fn from_source(src: &Source) -> Result<Contract, ConfigError> {
        let file: ContractFile = src.parse()?;
        let money = |key: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(v)
            } else {
                Err(src.invalid(key, format!("{v} is not a price (write 0 or more)")))
            }
        };
        if !["target", "source"].contains(&file.system.as_str()) {
            return Err(src.invalid(
                "system",
                format!(
                    "\"{}\" is not a system of the run (write \"target\" or \"source\")",
                    file.system
                ),
            ));
        }
        if file.monthly_records == Some(0) {
            return Err(src.invalid(
                "monthly_records",
                "must be at least 1 (records synced per month in production)",
            ));
        }
        let (seats, seat_price) = match &file.seats {
            Some(s) => (s.count, money("price_per_month", s.price_per_month)?),
            None => (0, 0.0),
        };
        let mut included = 0;
        let mut tiers = Vec::new();
        if let Some(calls) = &file.calls {
            included = calls.included_per_month;
            match (calls.overage_per_1000, calls.tiers.is_empty()) {
                (Some(_), false) => {
                    return Err(src.invalid(
                        "overage_per_1000",
                        "give either overage_per_1000 or [[calls.tiers]], not both",
                    ));
                }
                (Some(price), true) => tiers.push(Tier {
                    up_to: None,
                    per_1000: money("overage_per_1000", price)?,
                }),
                (None, _) => {
                    let mut last = 0;
                    for (i, t) in calls.tiers.iter().enumerate() {
                        let is_last = i + 1 == calls.tiers.len();
                        match t.up_to {
                            None if !is_last => {
                                return Err(src.invalid(
                                    "up_to",
                                    format!("tier {} has no up_to: only the last tier may be open (add up_to)", i + 1),
                                ));
                            }
                            Some(up) if up <= last => {
                                return Err(src.invalid(
                                    "up_to",
                                    format!("tier {} ends at {up}, not above the previous tier's {last} (order the tiers by up_to)", i + 1),
                                ));
                            }
                            _ => {}
                        }
                        last = t.up_to.unwrap_or(last);
                        tiers.push(Tier {
                            up_to: t.up_to,
                            per_1000: money("per_1000", t.per_1000)?,
                        });
                    }
                }
            }
        }
        let (escalator, cap) = match &file.escalator {
            Some(e) => (e.percent_per_year, e.cap_percent),
            None => (0.0, ESCALATOR_CAP_RANGE.1),
        };
        if !escalator.is_finite() || escalator < 0.0 {
            return Err(src.invalid(
                "percent_per_year",
                format!("{escalator} is not a yearly increase (write a percent, e.g. 4)"),
            ));
        }
        let (lo, hi) = ESCALATOR_CAP_RANGE;
        if !(lo..=hi).contains(&cap) {
            return Err(src.invalid(
                "cap_percent",
                format!(
                    "{cap} % is outside the {lo}–{hi} % escalator cap that enterprise CRM contracts negotiate (write a cap between {lo} and {hi})"
                ),
            ));
        }
        let l = &file.limits;
        if l.published && l.daily.is_none() && l.burst.is_none() {
            return Err(src.invalid(
                "published",
                "limits are published but neither daily nor burst is given (add them, or write published = false)",
            ));
        }
        for (key, v) in [("daily", l.daily), ("burst", l.burst)] {
            if v == Some(0) {
                return Err(src.invalid(
                    key,
                    "a limit of 0 calls admits nothing (write the published limit)",
                ));
            }
        }
        Ok(Contract {
            file: src.name.clone(),
            name: file.name,
            monthly_records: file.monthly_records,
            system: file.system,
            seats,
            seat_price_per_month: seat_price,
            included_calls_per_month: included,
            tiers,
            escalator_percent: escalator,
            escalator_cap_percent: cap,
            limits_published: l.published,
            daily_limit: if l.published { l.daily } else { None },
            burst_limit: if l.published { l.burst } else { None },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Contract, ConfigError> {
        Contract::from_source(&Source::embedded("contract.toml", text))
    }

    #[test]
    fn the_example_contract_is_valid() {
        let c = parse(include_str!("../../datasets/contracts/example.toml")).unwrap();
        assert!(c.per_call_pricing());
        assert!(c.seats > 0);
    }

    #[test]
    fn bad_contracts_are_refused_with_file_line_key_and_fix() {
        let cases: &[(&str, &str)] = &[
            (
                "name = \"x\"\n[limits]\npublished = true\ndialy = 5\n",
                "contract.toml:4: unknown key \"dialy\" in [limits] (did you mean \"daily\"?)",
            ),
            (
                "name = \"x\"\n[escalator]\npercent_per_year = 4\ncap_percent = 7\n[limits]\npublished = false\n",
                "contract.toml:4: cap_percent: 7 % is outside the 3–5 %",
            ),
            (
                "name = \"x\"\n[calls]\nincluded_per_month = 10\noverage_per_1000 = 1.0\n[[calls.tiers]]\nper_1000 = 1.0\n[limits]\npublished = false\n",
                "contract.toml:4: overage_per_1000: give either",
            ),
            (
                "name = \"x\"\n[calls]\n[[calls.tiers]]\nup_to = 100\nper_1000 = 1.0\n[[calls.tiers]]\nup_to = 50\nper_1000 = 0.5\n[limits]\npublished = false\n",
                "tier 2 ends at 50, not above the previous tier's 100",
            ),
            (
                "name = \"x\"\n[limits]\npublished = true\n",
                "contract.toml:3: published: limits are published but neither",
            ),
            (
                "name = \"x\"\n[seats]\ncount = 3\nprice_per_month = -1.0\n[limits]\npublished = false\n",
                "contract.toml:4: price_per_month: -1 is not a price",
            ),
            ("name = \"x\"\n", "missing key \"limits\""),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}\n  expected: {expected}");
        }
    }
}
