//! Named vendor tiers and fault overlays, so a user says `hubspot-pro` and `brownout` instead of
//! ten numbers. Tiers carry the limits of the vendor's published usage guidelines
//! (shared/research/crm-vendor-apis.md §2.1 Salesforce, §2.2 HubSpot); overlays stack on any
//! tier, each named by what it does. Unknown names are refused with the closest valid one.

use std::time::Duration;

use crate::crm::CrmConfig;
use crate::dist::LogNormal;
use crate::salesforce::OrgConfig;

/// The tiers `profile` knows.
pub const PROFILES: &[&str] = &[
    "hubspot-starter",
    "hubspot-pro",
    "hubspot-enterprise",
    "hubspot-public-oauth",
];

/// The tiers `salesforce_profile` knows.
pub const SALESFORCE_PROFILES: &[&str] = &["salesforce-developer", "salesforce-enterprise"];

/// The overlays that mean something to a Salesforce org (the others shape HubSpot-only
/// behaviour: search lag, upsert locks).
pub const SALESFORCE_OVERLAYS: &[&str] = &[
    "brownout",
    "latency-realistic",
    "commit-then-drop",
    "quota-edge",
    "maintenance-window",
    "blackhole",
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
    "connection-reset",
    "slow-body",
    "token-churn",
];

/// A profile or overlay name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile \"{name}\"{hint} (profiles: {}, {})", PROFILES.join(", "), SALESFORCE_PROFILES.join(", "))]
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
            return Err(unknown_profile(name));
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

fn unknown_profile(name: &str) -> ProfileError {
    let all: Vec<&str> = PROFILES
        .iter()
        .chain(SALESFORCE_PROFILES)
        .copied()
        .collect();
    ProfileError::UnknownProfile {
        name: name.to_string(),
        hint: hint(name, &all),
    }
}

/// A Salesforce tier: its rolling-24-hour request allocation and long-running concurrency
/// (§2.1): Developer Edition 15,000 a day and 5 long-running requests; Enterprise Edition
/// 100,000 + 1,000 per licence (50 licences: 150,000) and 25. Sessions last 2 h idle.
pub fn salesforce_profile(name: &str) -> Result<OrgConfig, ProfileError> {
    let (allocation, long_running_max) = match name {
        "salesforce-developer" => (15_000, 5),
        "salesforce-enterprise" => (100_000 + 1_000 * 50, 25),
        _ => return Err(unknown_profile(name)),
    };
    let defaults = OrgConfig::default();
    Ok(OrgConfig {
        base: CrmConfig {
            name: name.to_string(),
            daily_max: allocation,
            ..defaults.base.clone()
        },
        long_running_max,
        ..defaults
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
        // 1 % of connections reset before the request is handled: nothing written, the client
        // sees a transport error.
        "connection-reset" => cfg.reset_rate = cfg.reset_rate.max(0.01),
        // 2 % of answers trickle their body out over 5 s: done, but slow to say so.
        "slow-body" => cfg.slow_body_rate = cfg.slow_body_rate.max(0.02),
        // Upserting a record again within 2 s of its last write: 423 Locked.
        "locked" => cfg.lock_for = Some(Duration::from_secs(2)),
        // 1 % of requests with a valid OAuth access token revoke it early: 401
        // EXPIRED_AUTHENTICATION before its 30 minutes are up (OAuth tokens only; a private-app
        // token cannot be refreshed, so it is never churned).
        "token-churn" => cfg.token_churn_rate = cfg.token_churn_rate.max(0.01),
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

    #[test]
    fn salesforce_tiers_carry_the_published_allocations_and_take_overlays() {
        let dev = salesforce_profile("salesforce-developer").unwrap();
        assert_eq!((dev.base.daily_max, dev.long_running_max), (15_000, 5));
        let ee = salesforce_profile("salesforce-enterprise").unwrap();
        assert_eq!((ee.base.daily_max, ee.long_running_max), (150_000, 25));
        assert_eq!(ee.session_ttl, Duration::from_secs(7200));
        let mut cfg = dev;
        for overlay in SALESFORCE_OVERLAYS {
            apply_overlay(&mut cfg.base, overlay).unwrap();
        }
        assert_eq!(cfg.base.daily_used_at_start, 0.95);
        let err = salesforce_profile("salesforce-dev")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("did you mean \"salesforce-developer\""),
            "{err}"
        );
        assert!(profile("salesforce-enterprise").is_err());
    }
}
