//! Slows password guessing at the desk login, per username. Five failures
//! within fifteen minutes lock the name for one minute; each further lock
//! doubles, up to an hour. While a name is locked no password is hashed at
//! all, the right one included. Unknown usernames are counted exactly like
//! known ones, so the lockout does not tell which names exist.
//!
//! The price: someone who knows a username can keep it locked. That is
//! preferred to unlimited guessing; an admin can still work from the command
//! line, which does not go through this login.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
pub const FIRST_LOCK: Duration = Duration::from_secs(60);
pub const MAX_LOCK: Duration = Duration::from_secs(60 * 60);
/// A name with no failure for this long starts again from a one-minute lock.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 60 * 60);
/// Bounds the memory a flood of made-up usernames can take.
const MAX_TRACKED: usize = 10_000;
/// Longer inputs are not usernames; they are counted under their first characters.
const MAX_KEY_CHARS: usize = 64;

#[derive(Default)]
struct Entry {
    /// Failures within the window since the last lock.
    failures: Vec<Instant>,
    locked_until: Option<Instant>,
    locks: u32,
    last_failure: Option<Instant>,
}

#[derive(Default)]
pub struct Lockout {
    map: Mutex<HashMap<String, Entry>>,
}

fn key(username: &str) -> String {
    username.trim().chars().take(MAX_KEY_CHARS).collect()
}

fn lock_length(locks: u32) -> Duration {
    FIRST_LOCK
        .checked_mul(1u32 << locks.min(16))
        .map_or(MAX_LOCK, |d| d.min(MAX_LOCK))
}

impl Lockout {
    pub fn new() -> Self {
        Self::default()
    }

    /// How long the name stays locked, if it is locked now.
    pub fn locked_for(&self, username: &str, now: Instant) -> Option<Duration> {
        let map = self.map.lock().ok()?;
        let until = map.get(&key(username))?.locked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts a wrong password; returns the lock it caused, if any.
    pub fn failed(&self, username: &str, now: Instant) -> Option<Duration> {
        let Ok(mut map) = self.map.lock() else {
            return None;
        };
        let k = key(username);
        if !map.contains_key(&k) && map.len() >= MAX_TRACKED {
            Self::make_room(&mut map, now);
        }
        let entry = map.entry(k).or_default();
        if entry
            .last_failure
            .is_some_and(|t| now.saturating_duration_since(t) >= FORGET_AFTER)
        {
            *entry = Entry::default();
        }
        entry.last_failure = Some(now);
        entry
            .failures
            .retain(|t| now.saturating_duration_since(*t) < WINDOW);
        entry.failures.push(now);
        if entry.failures.len() < MAX_FAILURES {
            return None;
        }
        let length = lock_length(entry.locks);
        entry.locks = entry.locks.saturating_add(1);
        entry.failures.clear();
        entry.locked_until = Some(now + length);
        Some(length)
    }

    /// A successful login forgets the name's failures.
    pub fn succeeded(&self, username: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&key(username));
        }
    }

    /// Drops forgotten names, then the unlocked name whose last failure is
    /// oldest. Locked names are never dropped, so a flood cannot unlock one.
    fn make_room(map: &mut HashMap<String, Entry>, now: Instant) {
        map.retain(|_, e| {
            e.last_failure
                .is_some_and(|t| now.saturating_duration_since(t) < FORGET_AFTER)
        });
        if map.len() < MAX_TRACKED {
            return;
        }
        let oldest = map
            .iter()
            .filter(|(_, e)| e.locked_until.is_none_or(|u| u <= now))
            .min_by_key(|(_, e)| e.last_failure)
            .map(|(k, _)| k.clone());
        if let Some(k) = oldest {
            map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn five_failures_lock_and_locks_double_up_to_an_hour() {
        let l = Lockout::new();
        let mut now = Instant::now();
        for _ in 0..4 {
            assert_eq!(l.failed("ann", now), None);
        }
        assert_eq!(l.locked_for("ann", now), None);
        assert_eq!(l.failed("ann", now), Some(MIN));
        assert_eq!(l.locked_for("ann", now), Some(MIN));
        assert_eq!(l.locked_for("bob", now), None);
        let mut expected = MIN;
        for _ in 0..8 {
            now += expected;
            assert_eq!(l.locked_for("ann", now), None);
            for _ in 0..4 {
                assert_eq!(l.failed("ann", now), None);
            }
            expected = (expected * 2).min(MAX_LOCK);
            assert_eq!(l.failed("ann", now), Some(expected));
        }
        assert_eq!(expected, MAX_LOCK);
        l.succeeded("ann");
        assert_eq!(l.locked_for("ann", now), None);
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let l = Lockout::new();
        let mut now = Instant::now();
        for _ in 0..20 {
            assert_eq!(l.failed(" ann ", now), None);
            now += WINDOW / 4;
        }
    }

    #[test]
    fn a_flood_of_names_neither_grows_without_bound_nor_unlocks_a_name() {
        let l = Lockout::new();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES {
            l.failed("ann", now);
        }
        for i in 0..MAX_TRACKED + 10 {
            l.failed(&format!("made-up-{i}"), now + Duration::from_millis(1));
        }
        assert!(l.map.lock().map(|m| m.len()).unwrap_or(0) <= MAX_TRACKED);
        assert_eq!(l.locked_for("ann", now), Some(MIN));
    }
}
