//! The run's clock: monotonic microseconds since the run started, mapped to wall-clock time
//! only when written out. Latency is always a difference of two readings of this clock.

use std::time::{Duration, SystemTime};

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

/// Reads monotonic time relative to the run's start.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    started: Instant,
    started_wall: SystemTime,
}

impl RunClock {
    pub fn start() -> RunClock {
        RunClock {
            started: Instant::now(),
            started_wall: SystemTime::now(),
        }
    }

    pub fn now(&self) -> Micros {
        self.at(Instant::now())
    }

    pub fn at(&self, instant: Instant) -> Micros {
        Micros(instant.saturating_duration_since(self.started).as_micros() as u64)
    }

    pub fn instant(&self, at: Micros) -> Instant {
        self.started + Duration::from_micros(at.0)
    }

    pub fn started_wall(&self) -> SystemTime {
        self.started_wall
    }

    /// Microseconds since the Unix epoch of a run-clock reading (for timestamps on disk).
    pub fn epoch_micros(&self, at: Micros) -> i64 {
        let wall = self.started_wall + Duration::from_micros(at.0);
        wall.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0)
    }
}
