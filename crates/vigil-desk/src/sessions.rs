//! Desk sessions, in memory only: a restart logs everyone out. A session ends
//! after a quiet half hour, after twelve hours whatever happens, and when its
//! account opens a sixth one (the oldest goes). The browser holds a random
//! token; the desk keeps only its SHA-256, so a memory dump of the map cannot
//! be replayed as cookies.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const IDLE: Duration = Duration::from_secs(30 * 60);
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
pub const MAX_PER_ACCOUNT: usize = 5;

struct Session {
    username: String,
    /// Sent back in every state-changing form (logout), so another site
    /// cannot make the browser act for the user.
    form_token: String,
    created: Instant,
    last_seen: Instant,
}

impl Session {
    fn alive(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.last_seen) < IDLE
            && now.saturating_duration_since(self.created) < ABSOLUTE
    }
}

/// A new session: the cookie value and the form token.
pub struct Opened {
    pub token: Zeroizing<String>,
    pub form_token: String,
}

/// The session a request belongs to.
#[derive(Debug, Clone)]
pub struct Current {
    pub username: String,
    pub form_token: String,
}

impl Current {
    /// Whether a submitted form carries this session's token (constant time).
    pub fn form_token_matches(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|s| bool::from(s.as_bytes().ct_eq(self.form_token.as_bytes())))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct SessionError;

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn open(&self, username: &str, now: Instant) -> Result<Opened, SessionError> {
        let token = vigil_core::token::generate().map_err(|_| SessionError)?;
        let form_token = vigil_core::token::generate().map_err(|_| SessionError)?;
        let mut map = self.map.lock().map_err(|_| SessionError)?;
        map.retain(|_, s| s.alive(now));
        map.insert(
            vigil_core::token::hash(&token),
            Session {
                username: username.to_owned(),
                form_token: form_token.as_str().to_owned(),
                created: now,
                last_seen: now,
            },
        );
        // Keep at most MAX_PER_ACCOUNT for this account; the oldest go first.
        loop {
            let mine: Vec<([u8; 32], Instant)> = map
                .iter()
                .filter(|(_, s)| s.username == username)
                .map(|(k, s)| (*k, s.created))
                .collect();
            if mine.len() <= MAX_PER_ACCOUNT {
                break;
            }
            if let Some((oldest, _)) = mine.iter().min_by_key(|(_, created)| *created) {
                map.remove(oldest);
            }
        }
        Ok(Opened {
            token,
            form_token: form_token.as_str().to_owned(),
        })
    }

    /// The live session for a cookie value, marking it used now.
    pub fn current(&self, token: &str, now: Instant) -> Option<Current> {
        let key = vigil_core::token::hash(token);
        let mut map = self.map.lock().ok()?;
        let session = map.get_mut(&key)?;
        if !session.alive(now) {
            map.remove(&key);
            return None;
        }
        session.last_seen = now;
        Some(Current {
            username: session.username.clone(),
            form_token: session.form_token.clone(),
        })
    }

    pub fn close(&self, token: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&vigil_core::token::hash(token));
        }
    }

    /// Live sessions of one account (for tests and an admin view).
    pub fn count_for(&self, username: &str, now: Instant) -> usize {
        self.map.lock().map_or(0, |map| {
            map.values()
                .filter(|s| s.username == username && s.alive(now))
                .count()
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn idle_absolute_and_cap() {
        let t0 = Instant::now();
        let s = Sessions::new();
        let a = s.open("ann", t0).unwrap();
        // Used every 29 minutes, it lives until the twelfth hour, not beyond.
        let mut t = t0;
        while t + Duration::from_secs(29 * 60) < t0 + ABSOLUTE {
            t += Duration::from_secs(29 * 60);
            assert!(s.current(&a.token, t).is_some(), "alive at {:?}", t - t0);
        }
        assert!(s.current(&a.token, t0 + ABSOLUTE).is_none());
        // A quiet half hour ends a session.
        let b = s.open("ann", t0).unwrap();
        assert!(s.current(&b.token, t0 + IDLE).is_none());
        // The sixth session drops the oldest.
        let opened: Vec<Opened> = (0..6)
            .map(|i| s.open("bob", t0 + Duration::from_secs(i)).unwrap())
            .collect();
        let now = t0 + Duration::from_secs(10);
        assert!(s.current(&opened[0].token, now).is_none());
        for o in &opened[1..] {
            assert!(s.current(&o.token, now).is_some());
        }
        assert_eq!(s.count_for("bob", now), MAX_PER_ACCOUNT);
    }
}
