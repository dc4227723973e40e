//! The live view of a run: a progress bar when stderr is a terminal (sent, rate, in flight,
//! delivered, lost, sync p95, write errors, peak quota use, the harness's own CPU, ETA), plain
//! periodic lines otherwise (CI logs, files). Fed from the collector's ledger; it never holds
//! state of its own that a report could read — reports render from the finished summary only.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::measure::Ledger;

/// How often the plain lines are printed.
const LINE_EVERY: Duration = Duration::from_secs(2);
/// How often the bar is redrawn at most.
const BAR_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug)]
enum View {
    Off,
    Bar(ProgressBar),
    Lines,
}

/// The run's live view.
#[derive(Debug)]
pub struct Progress {
    view: View,
    planned: u64,
    started: Instant,
    last: Instant,
    /// The process's CPU seconds when the view started.
    cpu_at_start: Option<f64>,
    /// False when nothing reads the target back: delivery figures would be meaningless.
    verified: bool,
}

impl Progress {
    /// A bar on a terminal, plain lines elsewhere, nothing when `enabled` is false.
    pub fn new(planned: u64, enabled: bool) -> Progress {
        let view = match (enabled, std::io::stderr().is_terminal()) {
            (false, _) => View::Off,
            (true, false) => View::Lines,
            (true, true) => {
                let bar =
                    ProgressBar::with_draw_target(Some(planned), ProgressDrawTarget::stderr());
                let style =
                    ProgressStyle::with_template("{bar:30} {pos}/{len} sent · {msg} · ETA {eta}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                View::Bar(bar)
            }
        };
        Progress {
            view,
            planned,
            started: Instant::now(),
            last: Instant::now() - LINE_EVERY,
            cpu_at_start: crate::measure::own_usage().map(|u| u.cpu_s),
            verified: true,
        }
    }

    /// For a run that reads nothing back: shows acknowledgements instead of delivery.
    pub fn without_verification(mut self) -> Progress {
        self.verified = false;
        self
    }

    /// Shows the ledger's state, if it is time to.
    pub fn update(&mut self, ledger: &Ledger) {
        let every = match self.view {
            View::Off => return,
            View::Bar(_) => BAR_EVERY,
            View::Lines => LINE_EVERY,
        };
        if self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let c = &ledger.counts;
        let in_flight = c.sent.saturating_sub(c.observed + c.lost);
        let errors: u64 = c
            .write_status
            .iter()
            .filter(|(status, _)| !(200..300).contains(*status))
            .map(|(_, n)| n)
            .sum();
        let p95 = ledger.sync.quantile_ms(0.95);
        let wall = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = c.sent as f64 / wall;
        // The harness's own CPU: near 100 % per core it may use, the client is the limit.
        let cpu = match (self.cpu_at_start, crate::measure::own_usage()) {
            (Some(before), Some(now)) => {
                let cpu_s = now.cpu_s - before;
                format!(
                    " · harness CPU {cpu_s:.1} s ({:.0} %)",
                    cpu_s / wall * 100.0
                )
            }
            _ => String::new(),
        };
        let status = if self.verified {
            format!(
                "{rate:.0}/s · in flight {in_flight} · delivered {} · lost {} · sync p95 {p95:.0} ms · write errors {errors} · quota peak {:.0}%{cpu}",
                c.observed,
                c.lost,
                c.quota_peak * 100.0
            )
        } else {
            format!(
                "{rate:.0}/s · acknowledged {} · not verified · write errors {errors} · quota peak {:.0}%{cpu}",
                c.acknowledged,
                c.quota_peak * 100.0
            )
        };
        match &self.view {
            View::Bar(bar) => {
                bar.set_position(c.sent);
                bar.set_message(status);
            }
            View::Lines => eprintln!("  sent {}/{} · {status}", c.sent, self.planned),
            View::Off => {}
        }
    }

    /// Clears the bar (the verdict table follows).
    pub fn finish(self) {
        if let View::Bar(bar) = self.view {
            bar.finish_and_clear();
        }
    }
}
