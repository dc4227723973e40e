//! Named vendor tiers and fault overlays, so a user says `hubspot-pro` and `brownout` instead of
//! ten numbers. Tiers carry the limits of the vendor's published usage guidelines
//! (shared/research/crm-vendor-apis.md §2.2); overlays stack on any tier, each named by what it
//! does. Unknown names are refused with the closest valid one.

use std::time::Duration;

use crate::crm::CrmConfig;
use crate::dist::LogNormal;

/// The tiers `profile` knows.
pub const PROFILES: &[&str] = &[
    "hubspot-starter",
    "hubspot-pro",
    "hubspot-enterprise",
    "hubspot-public-oauth",
];

/// The overlays `apply_overlay` knows.
pub const OVERLAYS: &[&str] = &[
    "brownout",
    "latency-realistic",
    "eventual-search",
    "commit-then-drop",
    "quota-edge",
    "maintenance-window",
    "blackhole",
    "locked",
];

/// A profile or overlay name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile \"{name}\"{hint} (profiles: {})", PROFILES.join(", "))]
    UnknownProfile { name: String, hint: String },
    #[error("unknown fault overlay \"{name}\"{hint} (overlays: {})", OVERLAYS.join(", "))]
    UnknownOverlay { name: String, hint: String },
}

fn hint(name: &str, valid: &[&str]) -> String {
    valid
        .iter()
        .map(|v| (strsim::jaro_winkler(name, v), *v))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| format!(" (did you mean \"{v}\"?)"))
        .unwrap_or_default()
}

/// A tier's configuration: its rolling-window and daily limits; everything else at defaults.
pub fn profile(name: &str) -> Result<CrmConfig, ProfileError> {
    let (burst_max, daily_max) = match name {
        // Free & Starter: 100 per 10 s per app, 250,000 a day per account.
        "hubspot-starter" => (100, 250_000),
        // Professional: 190 per 10 s, 625,000 a day (the 2023 changelog said 650,000).
        "hubspot-pro" => (190, 625_000),
        // Enterprise: 190 per 10 s, 1,000,000 a day.
        "hubspot-enterprise" => (190, 1_000_000),
        // Marketplace OAuth apps: 110 per 10 s per installing account, no daily limit.
        "hubspot-public-oauth" => (110, 0),
        _ => {
            return Err(ProfileError::UnknownProfile {
                name: name.to_string(),
                hint: hint(name, PROFILES),
            });
        }
    };
    Ok(CrmConfig {
        name: name.to_string(),
        burst_max,
        burst_window: Duration::from_secs(10),
        daily_max,
        search_per_second: 5,
        ..CrmConfig::default()
    })
}

/// Stacks a fault overlay on `cfg`.
pub fn apply_overlay(cfg: &mut CrmConfig, name: &str) -> Result<(), ProfileError> {
    match name {
        // 3 % transient 5xx and three times the latency.
        "brownout" => {
            cfg.error_rate = cfg.error_rate.max(0.03);
            let base = if cfg.latency.median.is_zero() {
                realistic()
            } else {
                cfg.latency
            };
            cfg.latency = LogNormal {
                median: base.median * 3,
                max: base.max * 3,
                ..base
            };
        }
        // Single-record calls: lognormal, median 150 ms, σ 0.45, capped at 5 s (an assumption
        // to calibrate against real runs: no vendor publishes latencies).
        "latency-realistic" => cfg.latency = realistic(),
        // 2 % of successful writes commit, then the connection drops before the body: a
        // client that retries a plain create makes a duplicate.
        "commit-then-drop" => cfg.commit_then_drop_rate = cfg.commit_then_drop_rate.max(0.02),
        // The day starts with 95 % of the daily quota used: exhaustion mid-run.
        "quota-edge" => cfg.daily_used_at_start = 0.95,
        // A scheduled maintenance: 60 s after start, every request answers 503 with
        // Retry-After for 30 s.
        "maintenance-window" => {
            cfg.maintenance = Some((Duration::from_secs(60), Duration::from_secs(30)));
        }
        // 1 % of requests hang for 30 s, then answer 504: past most clients' timeouts.
        "blackhole" => cfg.blackhole_rate = cfg.blackhole_rate.max(0.01),
        // Upserting a record again within 2 s of its last write: 423 Locked.
        "locked" => cfg.lock_for = Some(Duration::from_secs(2)),
        // Search sees writes only after a few moments ("it may take a few moments").
        "eventual-search" => cfg.search_lag = Duration::from_secs(2),
        _ => {
            return Err(ProfileError::UnknownOverlay {
                name: name.to_string(),
                hint: hint(name, OVERLAYS),
            });
        }
    }
    Ok(())
}

fn realistic() -> LogNormal {
    LogNormal {
        median: Duration::from_millis(150),
        sigma: 0.45,
        max: Duration::from_secs(5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_carry_the_published_limits() {
        let pro = profile("hubspot-pro").unwrap();
        assert_eq!((pro.burst_max, pro.daily_max), (190, 625_000));
        assert_eq!(profile("hubspot-starter").unwrap().burst_max, 100);
        assert_eq!(profile("hubspot-public-oauth").unwrap().daily_max, 0);
        for name in PROFILES {
            assert!(profile(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn overlays_stack_and_unknown_names_get_a_suggestion() {
        let mut cfg = profile("hubspot-pro").unwrap();
        apply_overlay(&mut cfg, "latency-realistic").unwrap();
        apply_overlay(&mut cfg, "brownout").unwrap();
        assert_eq!(cfg.latency.median, Duration::from_millis(450));
        assert!(cfg.error_rate >= 0.03);
        let err = apply_overlay(&mut cfg, "brownuot").unwrap_err().to_string();
        assert!(err.contains("did you mean \"brownout\""), "{err}");
        let err = profile("hubspot-professional").unwrap_err().to_string();
        assert!(err.contains("did you mean \"hubspot-pro"), "{err}");
    }
}
