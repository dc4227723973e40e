//! The run's clock: microseconds since the run started on the shared [`Clock`] (real time, or
//! N× faster against the built-in mock), mapped to wall-clock time only when written out.
//! Latency is always a difference of two readings of this clock.

use std::time::{Duration, SystemTime};

use syncproof_mocks::Clock;
use tokio::time::Instant;

/// Microseconds since the run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Micros(pub u64);

impl Micros {
    pub fn since(self, earlier: Micros) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    pub fn plus(self, d: Duration) -> Micros {
        Micros(self.0 + d.as_micros() as u64)
    }
}

/// Reads the run's time relative to its start, on the shared (possibly time-compressed)
/// [`Clock`]: every reading and every duration between readings is simulated time, and
/// [`RunClock::instant`] turns a reading into the real instant to sleep until.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    clock: Clock,
    /// The clock's reading when this process started (or resumed) the run...
    started: tokio::time::Instant,
    /// ...and the run's time at that moment (zero unless resumed).
    offset: Duration,
    started_wall: SystemTime,
}

impl RunClock {
    /// A run clock at real speed, starting now.
    pub fn start() -> RunClock {
        RunClock::on(Clock::real())
    }

    /// A run clock starting now on `clock` (shared with the built-in mocks).
    pub fn on(clock: Clock) -> RunClock {
        let started = clock.now();
        RunClock {
            started,
            offset: Duration::ZERO,
            started_wall: clock.wall(started),
            clock,
        }
    }

    /// A resumed run's clock: it reads `at` now and keeps the run's original start, so event
    /// times stay on one axis across the interruption (the time the run was down is not on it).
    pub fn resumed(clock: Clock, at: Micros, started_wall: SystemTime) -> RunClock {
        RunClock {
            started: clock.now(),
            offset: Duration::from_micros(at.0),
            started_wall,
            clock,
        }
    }

    /// The clock this run reads (and shares with the built-in mocks).
    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub fn now(&self) -> Micros {
        let since = self.clock.now().saturating_duration_since(self.started);
        Micros((self.offset + since).as_micros() as u64)
    }

    /// The real instant at which the reading `at` arrives (to hand to `sleep_until`); a
    /// reading from before this process started the run arrives at once.
    pub fn instant(&self, at: Micros) -> Instant {
        let ahead = Duration::from_micros(at.0).saturating_sub(self.offset);
        self.clock.real_instant(self.started + ahead)
    }

    /// Waits `d` of the run's (simulated) time.
    pub fn sleep(&self, d: Duration) -> tokio::time::Sleep {
        self.clock.sleep(d)
    }

    pub fn started_wall(&self) -> SystemTime {
        self.started_wall
    }

    /// Microseconds since the Unix epoch when the run started.
    pub fn started_wall_us(&self) -> i64 {
        self.epoch_micros(Micros(0))
    }

    /// The run-clock reading of a timestamp written by [`RunClock::epoch_micros`].
    pub fn from_epoch_micros(&self, epoch_us: i64) -> Micros {
        Micros(epoch_us.saturating_sub(self.started_wall_us()).max(0) as u64)
    }

    /// Microseconds since the Unix epoch of a run-clock reading (for timestamps on disk).
    pub fn epoch_micros(&self, at: Micros) -> i64 {
        let wall = self.started_wall() + Duration::from_micros(at.0);
        wall.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_compressed_run_clock_reads_simulated_time_and_sleeps_real_time() {
        let clock = RunClock::on(Clock::with_speed(1000.0));
        let real_start = Instant::now();
        tokio::time::sleep_until(clock.instant(Micros(5_000_000))).await;
        assert_eq!(real_start.elapsed(), Duration::from_millis(5));
        assert_eq!(clock.now(), Micros(5_000_000));
        clock.sleep(Duration::from_secs(60)).await;
        assert_eq!(clock.now(), Micros(65_000_000));
        assert_eq!(
            clock.epoch_micros(Micros(1)) - clock.epoch_micros(Micros(0)),
            1
        );
        assert_eq!(
            clock.from_epoch_micros(clock.epoch_micros(Micros(77))),
            Micros(77)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_resumed_clock_continues_the_run_axis() {
        let first = RunClock::start();
        tokio::time::advance(Duration::from_secs(10)).await;
        let at = first.now();
        // Down for an hour; the resumed clock picks up at `at`, on the same wall axis.
        tokio::time::advance(Duration::from_secs(3600)).await;
        let again = RunClock::resumed(Clock::real(), at, first.started_wall());
        assert_eq!(again.now(), Micros(10_000_000));
        assert_eq!(again.epoch_micros(at), first.epoch_micros(at));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(again.now(), Micros(11_000_000));
        assert_eq!(
            again.instant(Micros(0)),
            Instant::now() - Duration::from_secs(1)
        );
    }
}
