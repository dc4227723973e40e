//! Load stages: how the open-loop arrival rate changes over a run. A plan without stages sends
//! at `[load] rate` throughout; with `[[load.stages]]` the rate follows them in order (constant,
//! ramp, step, diurnal curve, bursts), and after the last one holds the rate it ended on, until
//! every record is sent. The k+1-th record is due `1 / rate(t_k)` after the k-th, so each record
//! keeps its place on the schedule whatever the client or the target does (no coordinated
//! omission), as with a constant rate.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, Source};
use crate::units::{Rate, parse_duration};

/// One stage as the plan file writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StageFile {
    /// `constant`, `ramp`, `step`, `diurnal` or `burst`.
    shape: String,
    duration: String,
    /// `constant`, `burst` (between bursts), `diurnal` (the mean): the rate; `ramp`, `step`:
    /// where they start.
    rate: String,
    /// `ramp`, `step`: where they end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    /// `step`: how many levels from `rate` to `to` (at least 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    steps: Option<u32>,
    /// `diurnal`: swing around the mean, as a fraction below 1 (0.6: from 40 % to 160 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amplitude: Option<f64>,
    /// `diurnal`: the curve's period (default `"1d"`) and where in it the peak falls
    /// (default `"14h"`, 2 pm when the run starts at midnight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    period: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peak_at: Option<String>,
    /// `burst`: the rate inside a burst, how often one starts, how long it lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    burst_rate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    every: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    burst_for: Option<String>,
}

/// A validated stage; rates are per second.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    Constant {
        rate: f64,
        duration: Duration,
    },
    Ramp {
        from: f64,
        to: f64,
        duration: Duration,
    },
    Step {
        from: f64,
        to: f64,
        steps: u32,
        duration: Duration,
    },
    Diurnal {
        mean: f64,
        amplitude: f64,
        period: Duration,
        peak_at: Duration,
        duration: Duration,
    },
    Burst {
        rate: f64,
        burst_rate: f64,
        every: Duration,
        burst_for: Duration,
        duration: Duration,
    },
}

impl Stage {
    pub fn duration(&self) -> Duration {
        match self {
            Stage::Constant { duration, .. }
            | Stage::Ramp { duration, .. }
            | Stage::Step { duration, .. }
            | Stage::Diurnal { duration, .. }
            | Stage::Burst { duration, .. } => *duration,
        }
    }

    /// The rate (per second) `t` into the stage.
    pub fn rate_at(&self, t: Duration) -> f64 {
        let share = |d: Duration| (t.as_secs_f64() / d.as_secs_f64().max(1e-9)).clamp(0.0, 1.0);
        match *self {
            Stage::Constant { rate, .. } => rate,
            Stage::Ramp { from, to, duration } => from + (to - from) * share(duration),
            Stage::Step {
                from,
                to,
                steps,
                duration,
            } => {
                let level =
                    ((share(duration) * f64::from(steps)).floor()).min(f64::from(steps - 1));
                from + (to - from) * level / f64::from(steps - 1)
            }
            Stage::Diurnal {
                mean,
                amplitude,
                period,
                peak_at,
                ..
            } => {
                let phase = (t.as_secs_f64() - peak_at.as_secs_f64()) / period.as_secs_f64();
                mean * (1.0 + amplitude * (std::f64::consts::TAU * phase).cos())
            }
            Stage::Burst {
                rate,
                burst_rate,
                every,
                burst_for,
                ..
            } => {
                let into = t.as_secs_f64() % every.as_secs_f64();
                if into < burst_for.as_secs_f64() {
                    burst_rate
                } else {
                    rate
                }
            }
        }
    }

    pub(super) fn from_file(src: &Source, i: usize, f: &StageFile) -> Result<Stage, ConfigError> {
        let key = |k: &str| format!("load.stages[{i}].{k}");
        let dur = |k: &str, v: &str| parse_duration(v).map_err(|e| src.invalid(&key(k), e));
        let rate = |k: &str, v: &str| {
            v.parse::<Rate>()
                .map(Rate::as_per_second)
                .map_err(|e| src.invalid(&key(k), e))
        };
        let need = |k: &str, v: &Option<String>| {
            v.clone()
                .ok_or_else(|| src.invalid(&key(k), format!("a {} stage needs {k} = ...", f.shape)))
        };
        let duration = dur("duration", &f.duration)?;
        if duration.is_zero() {
            return Err(src.invalid(&key("duration"), "must be longer than 0"));
        }
        let base = rate("rate", &f.rate)?;
        Ok(match f.shape.as_str() {
            "constant" => Stage::Constant {
                rate: base,
                duration,
            },
            "ramp" => Stage::Ramp {
                from: base,
                to: rate("to", &need("to", &f.to)?)?,
                duration,
            },
            "step" => {
                let steps = f.steps.unwrap_or(4);
                if steps < 2 {
                    return Err(src.invalid(&key("steps"), "a step stage needs at least 2 levels"));
                }
                Stage::Step {
                    from: base,
                    to: rate("to", &need("to", &f.to)?)?,
                    steps,
                    duration,
                }
            }
            "diurnal" => {
                let amplitude = f.amplitude.unwrap_or(0.5);
                if !(0.0..1.0).contains(&amplitude) {
                    return Err(src.invalid(
                        &key("amplitude"),
                        format!(
                            "{amplitude} is not in 0..1 (0.6 swings from 40 % to 160 % of the mean)"
                        ),
                    ));
                }
                let period = dur("period", f.period.as_deref().unwrap_or("1d"))?;
                if period.is_zero() {
                    return Err(src.invalid(&key("period"), "must be longer than 0"));
                }
                Stage::Diurnal {
                    mean: base,
                    amplitude,
                    period,
                    peak_at: dur("peak_at", f.peak_at.as_deref().unwrap_or("14h"))?,
                    duration,
                }
            }
            "burst" => {
                let every = dur("every", &need("every", &f.every)?)?;
                let burst_for = dur("burst_for", &need("burst_for", &f.burst_for)?)?;
                if every.is_zero() || burst_for > every {
                    return Err(src.invalid(
                        &key("burst_for"),
                        "a burst lasts at most `every`, which must be longer than 0",
                    ));
                }
                Stage::Burst {
                    rate: base,
                    burst_rate: rate("burst_rate", &need("burst_rate", &f.burst_rate)?)?,
                    every,
                    burst_for,
                    duration,
                }
            }
            other => {
                let shapes = ["constant", "ramp", "step", "diurnal", "burst"];
                let hint = crate::config::suggest_closest(other, &shapes)
                    .map(|s| format!("did you mean \"{s}\"? "))
                    .unwrap_or_default();
                return Err(src.invalid(
                    &key("shape"),
                    format!(
                        "unknown stage shape \"{other}\" ({hint}shapes: {})",
                        shapes.join(", ")
                    ),
                ));
            }
        })
    }
}

/// The open-loop schedule: when each record is due, from the start of sending.
#[derive(Debug, Clone)]
pub struct Schedule {
    base: Rate,
    stages: Vec<Stage>,
    /// Time of the next record, from the start.
    next: Duration,
    position: u64,
}

impl Schedule {
    pub fn new(base: Rate, stages: &[Stage]) -> Schedule {
        Schedule {
            base,
            stages: stages.to_vec(),
            next: Duration::ZERO,
            position: 0,
        }
    }

    /// The rate (per second) `t` after the start.
    pub fn rate_at(&self, t: Duration) -> f64 {
        let mut start = Duration::ZERO;
        for stage in &self.stages {
            if t < start + stage.duration() {
                return stage.rate_at(t - start);
            }
            start += stage.duration();
        }
        match self.stages.last() {
            Some(last) => last.rate_at(last.duration()),
            None => self.base.as_per_second(),
        }
    }

    /// When the next record is due, from the start; advances the schedule.
    pub fn next_due(&mut self) -> Duration {
        let due = if self.stages.is_empty() {
            // Exact for a constant rate: no accumulated rounding over millions of records.
            self.base.interval().mul_f64(self.position as f64)
        } else {
            self.next
        };
        if !self.stages.is_empty() {
            let rate = self.rate_at(self.next).max(1e-9);
            self.next += Duration::from_secs_f64(1.0 / rate);
        }
        self.position += 1;
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    fn count_in(schedule: &mut Schedule, until: Duration) -> u64 {
        let mut n = 0;
        while schedule.next_due() < until {
            n += 1;
        }
        n
    }

    #[test]
    fn a_ramp_sends_the_area_under_its_rate() {
        // 0 → 100/s over 100 s, then holds 100/s: 5,000 records in the ramp, 1,000 in 10 s after.
        let stages = [Stage::Ramp {
            from: 1.0,
            to: 100.0,
            duration: secs(100.0),
        }];
        let mut s = Schedule::new("1/s".parse().unwrap(), &stages);
        let ramp = count_in(&mut s, secs(100.0));
        assert!((5000..=5100).contains(&ramp), "{ramp}");
        let s2 = Schedule::new("1/s".parse().unwrap(), &stages);
        assert_eq!(s2.rate_at(secs(150.0)), 100.0);
        assert_eq!(s2.rate_at(secs(50.0)), 50.5);
    }

    #[test]
    fn steps_bursts_and_a_diurnal_curve_follow_their_definitions() {
        let step = Stage::Step {
            from: 10.0,
            to: 40.0,
            steps: 4,
            duration: secs(40.0),
        };
        let levels: Vec<f64> = [0.0, 9.9, 10.0, 25.0, 39.9]
            .iter()
            .map(|t| step.rate_at(secs(*t)))
            .collect();
        assert_eq!(levels, [10.0, 10.0, 20.0, 30.0, 40.0]);
        let burst = Stage::Burst {
            rate: 1.0,
            burst_rate: 50.0,
            every: secs(60.0),
            burst_for: secs(5.0),
            duration: secs(600.0),
        };
        assert_eq!(burst.rate_at(secs(61.0)), 50.0);
        assert_eq!(burst.rate_at(secs(66.0)), 1.0);
        let day = Stage::Diurnal {
            mean: 10.0,
            amplitude: 0.6,
            period: secs(86_400.0),
            peak_at: secs(14.0 * 3600.0),
            duration: secs(86_400.0),
        };
        assert!((day.rate_at(secs(14.0 * 3600.0)) - 16.0).abs() < 1e-9);
        assert!((day.rate_at(secs(2.0 * 3600.0)) - 4.0).abs() < 1e-9);
        // Over a whole period, the curve sends its mean rate.
        let mut s = Schedule::new("1/s".parse().unwrap(), &[day]);
        let n = count_in(&mut s, secs(86_400.0));
        assert!((863_000..=865_000).contains(&n), "{n}");
    }

    #[test]
    fn without_stages_the_schedule_is_exactly_i_over_rate() {
        let mut s = Schedule::new("200/s".parse().unwrap(), &[]);
        let dues: Vec<Duration> = (0..4).map(|_| s.next_due()).collect();
        assert_eq!(dues, [secs(0.0), secs(0.005), secs(0.01), secs(0.015)]);
    }
}
