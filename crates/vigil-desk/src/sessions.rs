//! Desk sessions, in memory only: a restart logs everyone out. A session ends
//! after a quiet half hour, after twelve hours whatever happens, and when its
//! account opens a sixth one (the oldest goes). The browser holds a random
//! token; the desk keeps only its SHA-256, so a memory dump of the map cannot
//! be replayed as cookies.
//!
//! Logging in takes two steps: the password opens a half login (its own
//! cookie, five minutes, no access to anything), and the second factor turns
//! it into a session. An account's sessions carry its role as it was at login;
//! changing an account's role, disabling it or resetting its second factor
//! closes its sessions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::authz::{Grant, Perm, Role, allows};
use crate::totp::Secret;

pub const IDLE: Duration = Duration::from_secs(30 * 60);
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
pub const MAX_PER_ACCOUNT: usize = 5;
/// How long a half login (password right, second factor not yet given) lasts.
pub const HALF_LOGIN: Duration = Duration::from_secs(5 * 60);

/// Who logs in: the account and its rights at that moment.
#[derive(Debug, Clone)]
pub struct Who {
    pub username: String,
    pub role: Role,
    pub grants: Vec<Grant>,
}

struct Session {
    who: Who,
    created_unix: u64,
    last_seen_unix: u64,
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
    pub role: Role,
    pub grants: Vec<Grant>,
    pub form_token: String,
    /// The session's public id (for the sessions page; not a credential).
    pub id: String,
}

/// A session as the sessions pages list it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: String,
    pub username: String,
    pub created_unix: u64,
    pub last_seen_unix: u64,
}

/// A session's public id: the first 8 bytes of its key (itself the SHA-256
/// of the cookie value), in hex. Knowing it gives nothing to replay.
fn public_id(key: &[u8; 32]) -> String {
    hex::encode(&key[..8])
}

impl Current {
    pub fn may(&self, perm: Perm) -> bool {
        allows(self.role, &self.grants, perm)
    }

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

    pub fn open(&self, who: &Who, now: Instant, unix: u64) -> Result<Opened, SessionError> {
        let username = who.username.as_str();
        let token = vigil_core::token::generate().map_err(|_| SessionError)?;
        let form_token = vigil_core::token::generate().map_err(|_| SessionError)?;
        let mut map = self.map.lock().map_err(|_| SessionError)?;
        map.retain(|_, s| s.alive(now));
        map.insert(
            vigil_core::token::hash(&token),
            Session {
                who: who.clone(),
                created_unix: unix,
                last_seen_unix: unix,
                form_token: form_token.as_str().to_owned(),
                created: now,
                last_seen: now,
            },
        );
        // Keep at most MAX_PER_ACCOUNT for this account; the oldest go first.
        loop {
            let mine: Vec<([u8; 32], Instant)> = map
                .iter()
                .filter(|(_, s)| s.who.username == username)
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
    pub fn current(&self, token: &str, now: Instant, unix: u64) -> Option<Current> {
        let key = vigil_core::token::hash(token);
        let mut map = self.map.lock().ok()?;
        let session = map.get_mut(&key)?;
        if !session.alive(now) {
            map.remove(&key);
            return None;
        }
        session.last_seen = now;
        session.last_seen_unix = unix;
        Some(Current {
            username: session.who.username.clone(),
            role: session.who.role,
            grants: session.who.grants.clone(),
            form_token: session.form_token.clone(),
            id: public_id(&key),
        })
    }

    /// Live sessions, newest first: one account's, or with `None` everyone's.
    pub fn list(&self, username: Option<&str>, now: Instant) -> Vec<SessionView> {
        let Ok(map) = self.map.lock() else {
            return Vec::new();
        };
        let mut v: Vec<SessionView> = map
            .iter()
            .filter(|(_, s)| s.alive(now) && username.is_none_or(|u| s.who.username == u))
            .map(|(k, s)| SessionView {
                id: public_id(k),
                username: s.who.username.clone(),
                created_unix: s.created_unix,
                last_seen_unix: s.last_seen_unix,
            })
            .collect();
        v.sort_by(|a, b| b.created_unix.cmp(&a.created_unix).then(a.id.cmp(&b.id)));
        v
    }

    /// Ends the session with this public id, if it belongs to `owner` (or to
    /// anyone, with `None`). Returns the username it belonged to.
    pub fn revoke(&self, id: &str, owner: Option<&str>) -> Option<String> {
        let mut map = self.map.lock().ok()?;
        let key = *map
            .iter()
            .find(|(k, s)| public_id(k) == id && owner.is_none_or(|o| s.who.username == o))?
            .0;
        map.remove(&key).map(|s| s.who.username)
    }

    /// Ends every session of an account (role changed, disabled, factor reset).
    pub fn close_account(&self, username: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, s| s.who.username != username);
        }
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
                .filter(|s| s.who.username == username && s.alive(now))
                .count()
        })
    }
}

/// A password that was right, waiting for the second factor.
pub struct HalfLogin {
    pub who: Who,
    /// Sent back with the code, like a session's form token.
    pub form_token: String,
    /// While enrolling: the new secret, shown on the page until confirmed.
    pub enrolling: Option<Secret>,
    created: Instant,
}

impl HalfLogin {
    pub fn form_token_matches(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|s| bool::from(s.as_bytes().ct_eq(self.form_token.as_bytes())))
    }
}

#[derive(Default)]
pub struct HalfLogins {
    map: Mutex<HashMap<[u8; 32], HalfLogin>>,
}

/// Bounds the memory many right passwords without codes can take.
const MAX_HALF_LOGINS: usize = 1000;

impl HalfLogins {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a half login; returns its cookie value.
    pub fn start(
        &self,
        who: Who,
        enrolling: Option<Secret>,
        now: Instant,
    ) -> Result<Zeroizing<String>, SessionError> {
        let token = vigil_core::token::generate().map_err(|_| SessionError)?;
        let form_token = vigil_core::token::generate().map_err(|_| SessionError)?;
        let mut map = self.map.lock().map_err(|_| SessionError)?;
        map.retain(|_, h| now.saturating_duration_since(h.created) < HALF_LOGIN);
        // One half login per account: a new password step replaces the old.
        map.retain(|_, h| h.who.username != who.username);
        if map.len() >= MAX_HALF_LOGINS {
            return Err(SessionError);
        }
        map.insert(
            vigil_core::token::hash(&token),
            HalfLogin {
                who,
                form_token: form_token.as_str().to_owned(),
                enrolling,
                created: now,
            },
        );
        Ok(token)
    }

    /// Runs `f` on the live half login of a cookie value.
    pub fn with<T>(&self, token: &str, now: Instant, f: impl FnOnce(&HalfLogin) -> T) -> Option<T> {
        let key = vigil_core::token::hash(token);
        let mut map = self.map.lock().ok()?;
        let half = map.get(&key)?;
        if now.saturating_duration_since(half.created) >= HALF_LOGIN {
            map.remove(&key);
            return None;
        }
        Some(f(half))
    }

    pub fn finish(&self, token: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&vigil_core::token::hash(token));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn who(name: &str) -> Who {
        Who {
            username: name.into(),
            role: Role::Verifier,
            grants: Vec::new(),
        }
    }

    #[test]
    fn idle_absolute_and_cap() {
        let t0 = Instant::now();
        let s = Sessions::new();
        let a = s.open(&who("ann"), t0, 0).unwrap();
        // Used every 29 minutes, it lives until the twelfth hour, not beyond.
        let mut t = t0;
        while t + Duration::from_secs(29 * 60) < t0 + ABSOLUTE {
            t += Duration::from_secs(29 * 60);
            assert!(s.current(&a.token, t, 0).is_some(), "alive at {:?}", t - t0);
        }
        assert!(s.current(&a.token, t0 + ABSOLUTE, 0).is_none());
        // A quiet half hour ends a session.
        let b = s.open(&who("ann"), t0, 0).unwrap();
        assert!(s.current(&b.token, t0 + IDLE, 0).is_none());
        // The sixth session drops the oldest.
        let opened: Vec<Opened> = (0..6)
            .map(|i| s.open(&who("bob"), t0 + Duration::from_secs(i), 0).unwrap())
            .collect();
        let now = t0 + Duration::from_secs(10);
        assert!(s.current(&opened[0].token, now, 0).is_none());
        for o in &opened[1..] {
            assert!(s.current(&o.token, now, 0).is_some());
        }
        assert_eq!(s.count_for("bob", now), MAX_PER_ACCOUNT);
    }

    #[test]
    fn list_revoke_by_owner_or_anyone_and_close_an_account() {
        let t0 = Instant::now();
        let s = Sessions::new();
        let a = s.open(&who("ann"), t0, 100).unwrap();
        let b = s.open(&who("bob"), t0, 200).unwrap();
        let ann = s.current(&a.token, t0, 150).unwrap();
        let listed = s.list(Some("ann"), t0);
        assert_eq!(listed.len(), 1);
        assert_eq!(
            (listed[0].created_unix, listed[0].last_seen_unix),
            (100, 150)
        );
        assert_eq!(listed[0].id, ann.id);
        assert_eq!(s.list(None, t0).len(), 2);
        // Bob cannot end Ann's session; anyone (an admin) can.
        assert_eq!(s.revoke(&ann.id, Some("bob")), None);
        assert!(s.current(&a.token, t0, 0).is_some());
        assert_eq!(s.revoke(&ann.id, None).as_deref(), Some("ann"));
        assert!(s.current(&a.token, t0, 0).is_none());
        s.close_account("bob");
        assert!(s.current(&b.token, t0, 0).is_none());
    }
}
