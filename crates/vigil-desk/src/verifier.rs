//! Checks login passwords against Argon2id hashes with bounded memory.
//!
//! Each check needs 19 MiB of working memory. Allocating it per attempt let a
//! few hundred concurrent wrong logins take the desk to gigabytes: glibc keeps
//! freed blocks of that size once its mmap threshold has risen. So the working
//! memory is allocated once per worker and reused, at most `workers` checks
//! run at a time (one fewer than the cores, at least one), and an attempt that
//! waits longer than `wait` for a worker is answered "busy, try again".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// A hash with the default parameters (m=19456, t=2, p=1) that no password
/// matches by design: unknown usernames are checked against it, so they cost
/// the same time and memory as known ones.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Ck6rZ2oGbMnmYWCLLvkYx7CW9Xqvz1P7n0NHr6w0OS0";

/// Stored hashes asking for more memory than this are refused unchecked
/// rather than allowed to grow the pool.
const MAX_BLOCKS: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("all password checkers are busy")]
pub struct Busy;

pub struct PasswordVerifier {
    permits: Arc<Semaphore>,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    wait: Duration,
    checks: Arc<AtomicU64>,
}

/// One fewer than the cores, so the desk still answers other requests.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1))
        .max(1)
}

impl PasswordVerifier {
    pub fn new(workers: usize, wait: Duration) -> Self {
        let workers = workers.max(1);
        PasswordVerifier {
            permits: Arc::new(Semaphore::new(workers)),
            memory: Arc::new(Mutex::new(Vec::with_capacity(workers))),
            wait,
            checks: Arc::default(),
        }
    }

    /// How many passwords were hashed so far (tests check that a locked
    /// name and a refused form cost no hashing).
    pub fn checks_done(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Whether `password` matches `stored` (a PHC string); with `None`, the
    /// dummy is checked and the answer is always `false`.
    pub async fn verify(
        &self,
        stored: Option<&str>,
        password: Zeroizing<String>,
    ) -> Result<bool, Busy> {
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Busy)?
            .map_err(|_| Busy)?;
        let known = stored.is_some();
        let hash_text = stored.unwrap_or(DUMMY_HASH).to_owned();
        let memory = self.memory.clone();
        let checks = self.checks.clone();
        // The permit moves into the blocking task: if the client goes away,
        // the check still finishes before another may start.
        let matched = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut blocks = memory
                .lock()
                .ok()
                .and_then(|mut pool| pool.pop())
                .unwrap_or_default();
            let matched = check(&hash_text, password.as_bytes(), &mut blocks);
            checks.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut pool) = memory.lock() {
                pool.push(blocks);
            }
            matched
        })
        .await
        .unwrap_or(false);
        Ok(matched && known)
    }
}

fn check(hash_text: &str, password: &[u8], blocks: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(hash_text) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&hash) else {
        return false;
    };
    let (Some(expected), Some(salt)) = (hash.hash, hash.salt) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let needed = params.block_count();
    if needed > MAX_BLOCKS {
        return false;
    }
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let mut out = Zeroizing::new(vec![0u8; expected.len()]);
    let argon = Argon2::new(algorithm, version, params);
    let ok = argon
        .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..needed])
        .is_ok();
    // The working memory is derived from the password: wipe it before reuse.
    blocks.fill(Block::default());
    ok && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use argon2::PasswordHasher;
    use argon2::password_hash::SaltString;

    fn hash(password: &str) -> String {
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn the_right_password_matches_and_the_pool_is_reused() {
        let v = PasswordVerifier::new(1, Duration::from_secs(10));
        let h = hash("correct horse battery staple");
        let pw = |s: &str| Zeroizing::new(s.to_owned());
        assert_eq!(
            v.verify(Some(&h), pw("correct horse battery staple")).await,
            Ok(true)
        );
        assert_eq!(v.verify(Some(&h), pw("wrong")).await, Ok(false));
        assert_eq!(
            v.verify(None, pw("correct horse battery staple")).await,
            Ok(false)
        );
        let pool = v.memory.lock().unwrap();
        assert_eq!(pool.len(), 1, "one worker, one reused buffer");
        assert_eq!(pool[0].len(), Params::DEFAULT_M_COST as usize);
    }

    #[tokio::test]
    async fn a_check_that_waits_too_long_is_busy() {
        let v = PasswordVerifier::new(1, Duration::from_millis(1));
        let _held = v.permits.clone().acquire_owned().await.unwrap();
        assert_eq!(v.verify(None, Zeroizing::new("x".into())).await, Err(Busy));
    }
}
