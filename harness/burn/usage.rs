//! What a finished run says about API-call burn, read from its `summary.json` alone: calls per
//! delivered record by system and endpoint, and the peak share of the burst quota. With the
//! built-in mock, `ground_truth.{source,target}.calls` count every call each mock CRM saw by
//! endpoint and status; the harness's own endpoints (its writes to the source, its read-backs
//! and searches of the target) are set apart so the integration's burn stands alone. Without
//! ground truth (the harness is the client of a real API), the harness's writes are the burn.

use serde_json::Value;

use crate::report::lookup;

/// Endpoints the harness itself calls, by system: never the integration's burn.
const HARNESS_ENDPOINTS: &[(&str, &str)] = &[
    ("source", "batch_upsert"),
    ("target", "batch_read"),
    ("target", "search"),
];

/// Calls one endpoint of one system received during the run.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointBurn {
    pub system: String,
    pub endpoint: String,
    pub calls: u64,
    /// Calls per delivered record.
    pub per_record: f64,
    /// True for the harness's own calls (writes into the source, verification reads).
    pub harness: bool,
}

/// The burn of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    pub delivered: u64,
    pub duration_s: f64,
    pub endpoints: Vec<EndpointBurn>,
    /// Peak share (percent) of the rolling (burst) quota used, from the vendor's headers.
    pub quota_peak_pct: f64,
}

/// Why a summary cannot be read for burn; names the path and what to do.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum UsageError {
    #[error(
        "{file}: {path} missing or not a number (is this a syncproof run's summary.json? re-run or restore it)"
    )]
    Missing { file: String, path: &'static str },
    #[error(
        "{file}: records.delivered is 0: no delivered record to divide the calls by (fix the run, then re-run)"
    )]
    NothingDelivered { file: String },
    #[error(
        "{file}: no call of the integration to the {system} system in this run (the contract prices \"{system}\": set system to the system the integration calls, \"source\" or \"target\")"
    )]
    NoCalls { file: String, system: String },
}

impl Usage {
    pub fn from_summary(file: &str, summary: &Value) -> Result<Usage, UsageError> {
        let number = |path: &'static str| {
            lookup(summary, path)
                .and_then(Value::as_f64)
                .ok_or(UsageError::Missing {
                    file: file.to_string(),
                    path,
                })
        };
        let delivered = number("records.delivered")? as u64;
        if delivered == 0 {
            return Err(UsageError::NothingDelivered {
                file: file.to_string(),
            });
        }
        let per = |calls: u64| calls as f64 / delivered as f64;
        let mut endpoints = Vec::new();
        for system in ["source", "target"] {
            let Some(calls) =
                lookup(summary, &format!("ground_truth.{system}.calls")).and_then(Value::as_object)
            else {
                continue;
            };
            for (endpoint, by_status) in calls {
                let n: u64 = by_status
                    .as_object()
                    .map(|m| m.values().filter_map(Value::as_u64).sum())
                    .unwrap_or(0);
                endpoints.push(EndpointBurn {
                    system: system.to_string(),
                    endpoint: endpoint.clone(),
                    calls: n,
                    per_record: per(n),
                    harness: HARNESS_ENDPOINTS.contains(&(system, endpoint.as_str())),
                });
            }
        }
        if endpoints.is_empty() {
            let n = number("api.calls")? as u64;
            endpoints.push(EndpointBurn {
                system: "target".into(),
                endpoint: "write".into(),
                calls: n,
                per_record: per(n),
                harness: false,
            });
        }
        Ok(Usage {
            delivered,
            duration_s: number("run.duration_s")?,
            endpoints,
            quota_peak_pct: number("api.quota_peak_pct")?,
        })
    }

    /// Refuses a system the integration made no call to: its projection would be silently zero.
    pub fn check_system(&self, file: &str, system: &str) -> Result<(), UsageError> {
        if self
            .endpoints
            .iter()
            .any(|e| e.system == system && !e.harness && e.calls > 0)
        {
            Ok(())
        } else {
            Err(UsageError::NoCalls {
                file: file.to_string(),
                system: system.to_string(),
            })
        }
    }

    /// Calls the integration (not the harness) made to `system`, per delivered record.
    pub fn per_record(&self, system: &str) -> f64 {
        self.endpoints
            .iter()
            .filter(|e| e.system == system && !e.harness)
            .map(|e| e.per_record)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ground_truth_calls_split_into_harness_and_integration() {
        let summary = json!({
            "run": {"duration_s": 10.0},
            "records": {"delivered": 400},
            "api": {"calls": 20, "quota_peak_pct": 12.5},
            "ground_truth": {
                "source": {"calls": {"batch_upsert": {"200": 20}, "list": {"200": 140, "429": 2}}},
                "target": {"calls": {"batch_create": {"201": 30}, "batch_read": {"207": 88}, "search": {"200": 4}}}
            }
        });
        let u = Usage::from_summary("summary.json", &summary).unwrap();
        assert_eq!(u.per_record("target"), 30.0 / 400.0);
        assert_eq!(u.per_record("source"), 142.0 / 400.0);
        assert_eq!(u.quota_peak_pct, 12.5);
        let harness: u64 = u
            .endpoints
            .iter()
            .filter(|e| e.harness)
            .map(|e| e.calls)
            .sum();
        assert_eq!(harness, 20 + 88 + 4);
        assert!(u.check_system("s", "target").is_ok());
        let only_harness = json!({
            "run": {"duration_s": 1.0}, "records": {"delivered": 4},
            "api": {"calls": 2, "quota_peak_pct": 1.0},
            "ground_truth": {"target": {"calls": {"batch_read": {"207": 3}}}}
        });
        let u = Usage::from_summary("s", &only_harness).unwrap();
        let err = u.check_system("s", "target").unwrap_err().to_string();
        assert!(
            err.contains("no call of the integration to the target system"),
            "{err}"
        );
    }

    #[test]
    fn without_ground_truth_the_harness_writes_are_the_burn_and_gaps_are_named() {
        let summary = json!({
            "run": {"duration_s": 10.0}, "records": {"delivered": 50},
            "api": {"calls": 100, "quota_peak_pct": 1.0}, "ground_truth": null
        });
        assert_eq!(
            Usage::from_summary("s", &summary)
                .unwrap()
                .per_record("target"),
            2.0
        );
        let err = Usage::from_summary("s", &json!({"records": {"delivered": 5}})).unwrap_err();
        assert!(err.to_string().contains("api.calls missing"), "{err}");
        let err = Usage::from_summary("s", &json!({"records": {"delivered": 0}})).unwrap_err();
        assert!(matches!(err, UsageError::NothingDelivered { .. }));
    }
}
