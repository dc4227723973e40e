//! `Clock`: the one time source of every window, quota, lag, TTL and retry schedule, which can
//! run `speed` times faster than real time so that a 14-day plan runs in minutes.
//!
//! A reading is a `tokio::time::Instant` on the clock's own timeline: `origin + speed × (real
//! time since origin)`. Readings of one clock compare and subtract like instants, and every
//! duration measured between them is simulated time, so the code that keeps windows and quotas
//! is the same at any speed. Waiting goes through [`Clock::sleep`] and [`Clock::sleep_until`],
//! which turn a simulated wait into the real one. At speed 1 a reading *is* `Instant::now()`,
//! and tests move time with `tokio::time::pause`/`advance` at any speed.
//!
//! Wall-clock timestamps (`createdAt`, webhook `occurredAt`, event times on disk) come from
//! [`Clock::wall`]: the wall time when the clock started plus the simulated time since, so
//! "modified since" queries and daily boundaries agree with the simulated day.

use std::time::{Duration, SystemTime};

use tokio::time::{Instant, Sleep};

/// A clock shared by a mock CRM, its relay and the harness, `speed`× faster than real time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    wall_origin: SystemTime,
    speed: f64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::real()
    }
}

impl Clock {
    /// A clock that runs at real speed, starting now.
    pub fn real() -> Clock {
        Clock::with_speed(1.0)
    }

    /// A clock that runs `speed`× faster than real time, starting now. Speeds that are not
    /// finite or below 1 are taken as 1 (callers validate the user's number first).
    pub fn with_speed(speed: f64) -> Clock {
        let speed = if speed.is_finite() && speed >= 1.0 {
            speed
        } else {
            1.0
        };
        Clock {
            origin: Instant::now(),
            wall_origin: SystemTime::now(),
            speed,
        }
    }

    /// How many simulated seconds pass per real second.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// True when the clock runs faster than real time.
    pub fn is_compressed(&self) -> bool {
        self.speed != 1.0
    }

    /// Simulated time since the clock started.
    pub fn elapsed(&self) -> Duration {
        self.scale_up(Instant::now().saturating_duration_since(self.origin))
    }

    /// The simulated now, on this clock's timeline: compare it only with readings of the same
    /// clock, and never hand it to `tokio::time::sleep_until` (use [`Clock::sleep_until`]).
    pub fn now(&self) -> Instant {
        self.origin + self.elapsed()
    }

    /// Wall-clock time of a reading of this clock.
    pub fn wall(&self, at: Instant) -> SystemTime {
        self.wall_origin + at.saturating_duration_since(self.origin)
    }

    /// Wall-clock time now, as the simulated world sees it.
    pub fn wall_now(&self) -> SystemTime {
        self.wall(self.now())
    }

    /// The real duration of a simulated one.
    pub fn to_real(&self, simulated: Duration) -> Duration {
        if self.is_compressed() {
            simulated.div_f64(self.speed)
        } else {
            simulated
        }
    }

    /// The simulated duration of a real one.
    pub fn scale_up(&self, real: Duration) -> Duration {
        if self.is_compressed() {
            real.mul_f64(self.speed)
        } else {
            real
        }
    }

    /// The real instant at which the simulated reading `at` arrives.
    pub fn real_instant(&self, at: Instant) -> Instant {
        self.origin + self.to_real(at.saturating_duration_since(self.origin))
    }

    /// Waits `simulated` time.
    pub fn sleep(&self, simulated: Duration) -> Sleep {
        tokio::time::sleep(self.to_real(simulated))
    }

    /// Waits until the simulated reading `at`.
    pub fn sleep_until(&self, at: Instant) -> Sleep {
        tokio::time::sleep_until(self.real_instant(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_fast_clock_moves_speed_times_real_time() {
        let clock = Clock::with_speed(2000.0);
        let t0 = clock.now();
        tokio::time::advance(Duration::from_millis(500)).await;
        assert_eq!(clock.now() - t0, Duration::from_secs(1000));
        assert_eq!(clock.elapsed(), Duration::from_secs(1000));
        let wall = clock.wall_now().duration_since(clock.wall(t0)).unwrap();
        assert_eq!(wall, Duration::from_secs(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn sleeping_a_simulated_day_takes_a_speedth_of_it() {
        let clock = Clock::with_speed(2000.0);
        let real_start = Instant::now();
        clock.sleep(Duration::from_secs(86_400)).await;
        assert_eq!(real_start.elapsed(), Duration::from_millis(43_200));
        let target = clock.now() + Duration::from_secs(3600);
        clock.sleep_until(target).await;
        assert!(clock.now() >= target);
        assert_eq!(real_start.elapsed(), Duration::from_millis(45_000));
    }

    #[tokio::test(start_paused = true)]
    async fn at_real_speed_a_reading_is_the_tokio_instant() {
        let clock = Clock::real();
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(clock.now(), Instant::now());
        assert!(!clock.is_compressed());
        assert_eq!(Clock::with_speed(f64::NAN).speed(), 1.0);
        assert_eq!(Clock::with_speed(0.5).speed(), 1.0);
    }
}
