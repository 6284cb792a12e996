//! The time the desk's login rules run on. Lockouts and session expiry take
//! the clock as a parameter, so tests move time forward instead of sleeping.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;

    /// Wall-clock seconds since 1970 (UTC), for what the desk stores with a
    /// time (the urgent line: when a report was seen, acknowledged, alerted).
    fn unix_seconds(&self) -> i64 {
        wall_seconds()
    }
}

fn wall_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The machine's monotonic clock (not moved by changes to the wall clock).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until told to move; for tests.
pub struct ManualClock {
    start: Instant,
    wall_start: i64,
    offset: Mutex<Duration>,
}

impl ManualClock {
    pub fn new() -> Self {
        ManualClock {
            start: Instant::now(),
            wall_start: wall_seconds(),
            offset: Mutex::new(Duration::ZERO),
        }
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut offset) = self.offset.lock() {
            *offset += by;
        }
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        let offset = self.offset.lock().map(|o| *o).unwrap_or_default();
        self.start + offset
    }

    fn unix_seconds(&self) -> i64 {
        let offset = self.offset.lock().map(|o| o.as_secs()).unwrap_or_default();
        self.wall_start
            .saturating_add(i64::try_from(offset).unwrap_or(i64::MAX))
    }
}
