//! The time the desk's login rules run on. Lockouts and session expiry take
//! the clock as a parameter, so tests move time forward instead of sleeping.
//! The wall clock (`unix`) drives TOTP codes and audit entries.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;

    /// Seconds since 1970 (UTC).
    fn unix(&self) -> u64 {
        system_unix()
    }

    /// The same, signed, for what the desk stores with a time (the urgent
    /// line: when a report was seen, acknowledged, alerted).
    fn unix_seconds(&self) -> i64 {
        i64::try_from(self.unix()).unwrap_or(i64::MAX)
    }
}

fn system_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
    start_unix: u64,
    offset: Mutex<Duration>,
    /// Moves the wall clock alone (a new TOTP step without idle time).
    wall_offset: Mutex<Duration>,
}

impl ManualClock {
    pub fn new() -> Self {
        ManualClock {
            start: Instant::now(),
            start_unix: system_unix(),
            offset: Mutex::new(Duration::ZERO),
            wall_offset: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves the wall clock only (sessions and lockouts do not see it).
    pub fn advance_wall(&self, by: Duration) {
        if let Ok(mut offset) = self.wall_offset.lock() {
            *offset += by;
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

    fn unix(&self) -> u64 {
        let offset = self.offset.lock().map(|o| *o).unwrap_or_default();
        let wall = self.wall_offset.lock().map(|o| *o).unwrap_or_default();
        self.start_unix + offset.as_secs() + wall.as_secs()
    }
}
