//! Watching a long run from outside: `--metrics ADDR` serves the run's live figures in the
//! Prometheus text format at `/metrics` (for a two-week run watched in Grafana), and the
//! collector refreshes `interim-summary.json` in the run directory at every checkpoint.
//!
//! Both read a snapshot of the collector's ledger taken about once a second, never the ledger
//! itself, and neither feeds the final report, which renders from the finished summary only.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::measure::Ledger;

/// The latest snapshot of a run's figures.
#[derive(Debug, Default)]
pub struct LiveFigures {
    inner: Mutex<Snapshot>,
}

#[derive(Debug, Default, Clone)]
struct Snapshot {
    ledger: Ledger,
    planned: u64,
    in_flight: u64,
    run_clock_s: f64,
}

impl LiveFigures {
    pub fn new(planned: u64) -> Arc<LiveFigures> {
        Arc::new(LiveFigures {
            inner: Mutex::new(Snapshot {
                planned,
                ..Snapshot::default()
            }),
        })
    }

    /// Replaces the snapshot.
    pub fn publish(&self, ledger: &Ledger, in_flight: u64, run_clock_s: f64) {
        let mut s = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        s.ledger = ledger.clone();
        s.in_flight = in_flight;
        s.run_clock_s = run_clock_s;
    }

    fn snapshot(&self) -> Snapshot {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The figures in the Prometheus text exposition format (version 0.0.4).
    pub fn prometheus(&self) -> String {
        let s = self.snapshot();
        let c = &s.ledger.counts;
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
            let _ = writeln!(out, "# HELP syncproof_{name} {help}");
            let _ = writeln!(out, "# TYPE syncproof_{name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "syncproof_{name}{labels} {value}");
            }
        };
        let one = |v: f64| vec![(String::new(), v)];
        metric(
            "records_planned",
            "gauge",
            "Records this run is to send.",
            &one(s.planned as f64),
        );
        for (name, help, value) in [
            (
                "records_sent_total",
                "Records sent (first attempt).",
                c.sent,
            ),
            (
                "records_acknowledged_total",
                "Records a write call acknowledged.",
                c.acknowledged,
            ),
            (
                "records_delivered_total",
                "Records seen at the target.",
                c.observed,
            ),
            (
                "records_lost_total",
                "Records not seen within the window.",
                c.lost,
            ),
            (
                "records_gave_up_total",
                "Records abandoned after retries.",
                c.gave_up,
            ),
            (
                "record_attempts_total",
                "Record attempts, retries included.",
                c.record_attempts,
            ),
            (
                "throttled_calls_total",
                "Calls answered with a throttle.",
                c.throttled_calls,
            ),
            (
                "early_retries_total",
                "Retries sent before Retry-After passed.",
                c.early_retries,
            ),
        ] {
            metric(name, "counter", help, &one(value as f64));
        }
        let by_status = |kind: &str, map: &std::collections::BTreeMap<u16, u64>| {
            map.iter()
                .map(|(status, n)| {
                    (
                        format!("{{kind=\"{kind}\",status=\"{status}\"}}"),
                        *n as f64,
                    )
                })
                .collect::<Vec<_>>()
        };
        let mut calls = by_status("write", &c.write_status);
        calls.extend(by_status("verify", &c.verify_status));
        metric(
            "calls_total",
            "counter",
            "API calls by kind and HTTP status (0: no response).",
            &calls,
        );
        metric(
            "in_flight",
            "gauge",
            "Records sent and not yet seen or declared lost.",
            &one(s.in_flight as f64),
        );
        metric(
            "quota_peak_ratio",
            "gauge",
            "Highest share of the vendor's rolling quota seen used.",
            &one(c.quota_peak),
        );
        metric(
            "run_clock_seconds",
            "gauge",
            "Time on the run's clock (simulated under --clock-speed).",
            &one(s.run_clock_s),
        );
        for (name, hist, help) in [
            (
                "sync_latency_ms",
                &s.ledger.sync,
                "Intended send to first seen at the target, quantiles.",
            ),
            (
                "api_latency_ms",
                &s.ledger.api,
                "Service time of write calls, quantiles.",
            ),
        ] {
            let samples: Vec<(String, f64)> = if hist.is_empty() {
                Vec::new()
            } else {
                [0.5, 0.9, 0.95, 0.99]
                    .iter()
                    .map(|q| (format!("{{quantile=\"{q}\"}}"), hist.quantile_ms(*q)))
                    .collect()
            };
            metric(name, "gauge", help, &samples);
        }
        out
    }

    /// The interim summary: the ledger's figures so far, under the paths `summary.json` uses.
    pub fn interim(&self) -> Value {
        let s = self.snapshot();
        let c = &s.ledger.counts;
        json!({
            "interim": true,
            "run": { "complete": false, "records_planned": s.planned, "run_clock_s": s.run_clock_s },
            "records": {
                "sent": c.sent,
                "acknowledged": c.acknowledged,
                "delivered": c.observed,
                "lost": c.lost,
                "in_flight": s.in_flight,
            },
            "latency": {
                "sync_ms": s.ledger.sync.summary(),
                "api_ms": s.ledger.api.summary(),
            },
            "retries": {
                "record_attempts": c.record_attempts,
                "retried": c.retried,
                "gave_up": c.gave_up,
                "retry_after_violations": c.early_retries,
            },
            "api": {
                "write_calls": c.write_calls,
                "read_calls": c.read_calls,
                "search_calls": c.search_calls,
                "throttled_calls": c.throttled_calls,
                "quota_peak": c.quota_peak,
            },
        })
    }
}

/// Serves `/metrics` on `addr` until `stop`; returns the bound address.
pub async fn serve_metrics(
    addr: SocketAddr,
    live: Arc<LiveFigures>,
    stop: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let live = Arc::clone(&live);
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    live.prometheus(),
                )
            }
        }),
    );
    let (bound, _task) = syncproof_mocks::serve_at(router, addr, stop).await?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{CallRecord, Event, EventKind, Message, Micros, Outcome};

    #[test]
    fn the_exposition_carries_counters_statuses_and_quantiles() {
        let mut ledger = Ledger::default();
        let mut attempt = Event::new(EventKind::Attempt, 1, "x".into(), Micros(0));
        attempt.attempt = Some(1);
        attempt.outcome = Some(Outcome::Ok);
        ledger.apply(&Message::Event(attempt));
        let mut seen = Event::new(EventKind::Observed, 1, "x".into(), Micros(0));
        seen.done_at = Some(Micros(250_000));
        ledger.apply(&Message::Event(seen));
        ledger.apply(&Message::Call(CallRecord {
            call_id: 1,
            endpoint: "write:batch_upsert",
            is_write: true,
            status: 429,
            outcome: Outcome::Throttled,
            sent_at: Micros(0),
            done_at: Micros(10_000),
            n_records: 1,
            retry_after: None,
            early_retry: false,
            quota_used: Some(0.5),
            attempt: Some(1),
            daily_used: None,
            burst_per_s: None,
        }));
        let live = LiveFigures::new(10);
        live.publish(&ledger, 3, 12.5);
        let text = live.prometheus();
        for line in [
            "syncproof_records_planned 10",
            "syncproof_records_sent_total 1",
            "syncproof_records_delivered_total 1",
            "syncproof_calls_total{kind=\"write\",status=\"429\"} 1",
            "syncproof_throttled_calls_total 1",
            "syncproof_in_flight 3",
            "syncproof_quota_peak_ratio 0.5",
            "syncproof_run_clock_seconds 12.5",
            "# TYPE syncproof_records_sent_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        let p50 = text
            .lines()
            .find(|l| l.starts_with("syncproof_sync_latency_ms{quantile=\"0.5\"}"))
            .unwrap();
        let v: f64 = p50.rsplit(' ').next().unwrap().parse().unwrap();
        assert!((v - 250.0).abs() < 1.0, "{p50}");
        let interim = live.interim();
        assert_eq!(interim["records"]["in_flight"], 3);
        assert_eq!(interim["run"]["complete"], false);
    }
}
