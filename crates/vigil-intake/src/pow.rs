//! Proof-of-work, hashcash-like: the intake hands out a challenge; the client
//! finds a counter such that SHA-256(`challenge:counter`) starts with `bits`
//! zero bits and sends both with its report.
//!
//! Challenges carry their own expiry and a MAC under a key that lives only in
//! this process, so issuing one keeps no state. Spent challenges are
//! remembered (in memory, until they expire) so that one solution buys one
//! report. A restart forgets the key: outstanding challenges are refused and
//! clients fetch a new one.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// How long a challenge may be used.
pub const CHALLENGE_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// The most spent challenges remembered; past it, a new solution is refused
/// until older ones expire (a flood this large already paid its work).
const MAX_SPENT: usize = 1_000_000;
/// The hardest difficulty the config may ask: about 2^24 hashes, a few
/// seconds on a phone's browser. More would shut reporters out.
pub const MAX_BITS: u8 = 24;

const VERSION: &str = "v1";

pub struct Pow {
    bits: u8,
    /// `None` only if the OS generator failed at start: then no challenge is
    /// issued and every proof is refused.
    key: Option<Zeroizing<[u8; 32]>>,
    /// Spent challenge nonces, with their expiry (seconds since the epoch).
    spent: Mutex<HashMap<[u8; 16], u64>>,
}

/// Why a proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    Missing,
    /// Not ours, altered, or of another difficulty.
    Forged,
    Expired,
    /// The counter does not give enough zero bits.
    Unsolved,
    /// This challenge already bought a report.
    Spent,
}

impl ProofError {
    pub fn code(self) -> &'static str {
        match self {
            ProofError::Missing => "proof_required",
            ProofError::Forged => "proof_invalid",
            ProofError::Expired => "proof_expired",
            ProofError::Unsolved => "proof_unsolved",
            ProofError::Spent => "proof_spent",
        }
    }

    pub fn message(self, lang: vigil_core::Lang) -> &'static str {
        match self {
            ProofError::Missing => lang.pick(
                "Нужно доказательство работы: получите задачу GET /api/v1/challenge, решите её и пришлите в заголовке Vigil-Proof: ЗАДАЧА:СЧЁТЧИК.",
                "A proof of work is required: get a challenge with GET /api/v1/challenge, solve it and send it in the header Vigil-Proof: CHALLENGE:COUNTER.",
            ),
            ProofError::Forged => lang.pick(
                "Задача доказательства работы не выдана этим сервером или изменена. Получите новую: GET /api/v1/challenge.",
                "The proof-of-work challenge was not issued by this server or was altered. Get a new one: GET /api/v1/challenge.",
            ),
            ProofError::Expired => lang.pick(
                "Срок задачи доказательства работы истёк. Получите новую (GET /api/v1/challenge) и отправьте снова.",
                "The proof-of-work challenge has expired. Get a new one (GET /api/v1/challenge) and send again.",
            ),
            ProofError::Unsolved => lang.pick(
                "Задача доказательства работы не решена: у SHA-256(ЗАДАЧА:СЧЁТЧИК) недостаточно нулевых битов в начале.",
                "The proof-of-work challenge is not solved: SHA-256(CHALLENGE:COUNTER) does not start with enough zero bits.",
            ),
            ProofError::Spent => lang.pick(
                "Эта задача уже использована. Получите новую (GET /api/v1/challenge) для каждого сообщения.",
                "This challenge was already used. Get a new one (GET /api/v1/challenge) for each report.",
            ),
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Pow {
    pub fn new(bits: u8) -> Self {
        Pow {
            bits: bits.min(MAX_BITS),
            key: vigil_core::random::bytes().ok().map(Zeroizing::new),
            spent: Mutex::new(HashMap::new()),
        }
    }

    pub fn bits(&self) -> u8 {
        self.bits
    }

    fn mac(&self, body: &str) -> Option<String> {
        let key = self.key.as_ref()?;
        // HMAC takes a key of any length, so this never fails.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_slice()).ok()?;
        mac.update(body.as_bytes());
        Some(hex::encode(&mac.finalize().into_bytes()[..16]))
    }

    /// A fresh challenge: `v1.BITS.EXPIRY.NONCE.MAC`.
    pub fn challenge(&self) -> Result<String, vigil_core::random::RandomError> {
        self.challenge_at(unix_now())
    }

    fn challenge_at(&self, now: u64) -> Result<String, vigil_core::random::RandomError> {
        let nonce: [u8; 16] = vigil_core::random::bytes()?;
        let expiry = now + CHALLENGE_LIFETIME.as_secs();
        let body = format!("{VERSION}.{}.{expiry}.{}", self.bits, hex::encode(nonce));
        let mac = self.mac(&body).ok_or(vigil_core::random::RandomError)?;
        Ok(format!("{body}.{mac}"))
    }

    /// Checks a `CHALLENGE:COUNTER` proof and spends its challenge.
    pub fn verify(&self, proof: Option<&str>) -> Result<(), ProofError> {
        self.verify_at(proof, unix_now())
    }

    fn verify_at(&self, proof: Option<&str>, now: u64) -> Result<(), ProofError> {
        let proof = proof.map(str::trim).filter(|p| !p.is_empty());
        let (challenge, counter) = proof
            .ok_or(ProofError::Missing)?
            .rsplit_once(':')
            .ok_or(ProofError::Forged)?;
        let (body, mac) = challenge.rsplit_once('.').ok_or(ProofError::Forged)?;
        let expected = self.mac(body).ok_or(ProofError::Forged)?;
        if !bool::from(subtle_eq(expected.as_bytes(), mac.as_bytes())) {
            return Err(ProofError::Forged);
        }
        let mut parts = body.split('.');
        let (Some(VERSION), Some(bits), Some(expiry), Some(nonce), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(ProofError::Forged);
        };
        // A challenge issued under another difficulty (the config changed,
        // with the same key only within one process) is not accepted.
        if bits.parse::<u8>().ok() != Some(self.bits) {
            return Err(ProofError::Forged);
        }
        let expiry: u64 = expiry.parse().map_err(|_| ProofError::Forged)?;
        if now > expiry {
            return Err(ProofError::Expired);
        }
        if counter.len() > 20 || !counter.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ProofError::Unsolved);
        }
        if leading_zero_bits(&Sha256::digest(format!("{challenge}:{counter}")))
            < u32::from(self.bits)
        {
            return Err(ProofError::Unsolved);
        }
        let mut id = [0u8; 16];
        hex::decode_to_slice(nonce, &mut id).map_err(|_| ProofError::Forged)?;
        let mut spent = self.spent.lock().unwrap_or_else(PoisonError::into_inner);
        if spent.len() >= MAX_SPENT {
            spent.retain(|_, until| *until >= now);
        }
        if spent.len() >= MAX_SPENT {
            return Err(ProofError::Spent);
        }
        match spent.insert(id, expiry) {
            Some(_) => Err(ProofError::Spent),
            None => Ok(()),
        }
    }
}

/// Equality in time independent of where the bytes differ.
fn subtle_eq(a: &[u8], b: &[u8]) -> subtle::Choice {
    use subtle::ConstantTimeEq;
    if a.len() != b.len() {
        return subtle::Choice::from(0);
    }
    a.ct_eq(b)
}

pub fn leading_zero_bits(hash: &[u8]) -> u32 {
    let mut bits = 0;
    for byte in hash {
        if *byte == 0 {
            bits += 8;
        } else {
            return bits + byte.leading_zeros();
        }
    }
    bits
}

/// Finds a counter for a challenge (tests and the load tool use it).
pub fn solve(challenge: &str) -> Option<String> {
    let bits: u32 = challenge.split('.').nth(1)?.parse().ok()?;
    (0u64..1 << 32).find_map(|counter| {
        let proof = format!("{challenge}:{counter}");
        (leading_zero_bits(&Sha256::digest(&proof)) >= bits).then_some(proof)
    })
}

/// `GET /api/v1/challenge`: a challenge to solve before sending a report
/// (when the API asks for proof-of-work; `bits` is 0 and `challenge` null when
/// it does not).
pub(crate) async fn issue(
    axum::extract::State(intake): axum::extract::State<std::sync::Arc<crate::Intake>>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(pow) = &intake.guard.pow else {
        return axum::Json(serde_json::json!({ "challenge": null, "bits": 0, "expires_in": 0 }))
            .into_response();
    };
    match pow.challenge() {
        Ok(challenge) => axum::Json(serde_json::json!({
            "challenge": challenge,
            "bits": pow.bits(),
            "expires_in": CHALLENGE_LIFETIME.as_secs(),
        }))
        .into_response(),
        Err(_) => crate::api::error(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            crate::texts::texts(crate::api::lang_of(&headers, None))
                .unavailable
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_solved_challenge_buys_one_report() {
        let pow = Pow::new(8);
        let proof = solve(&pow.challenge().unwrap()).unwrap();
        assert_eq!(pow.verify(Some(&proof)), Ok(()));
        assert_eq!(pow.verify(Some(&proof)), Err(ProofError::Spent));
    }

    #[test]
    fn forged_unsolved_expired_and_missing_proofs_are_refused() {
        let pow = Pow::new(12);
        assert_eq!(pow.verify(None), Err(ProofError::Missing));
        assert_eq!(pow.verify(Some("  ")), Err(ProofError::Missing));
        let challenge = pow.challenge().unwrap();
        // A counter that does not solve it (try until one fails).
        let bad = (0..)
            .map(|c| format!("{challenge}:{c}"))
            .find(|p| leading_zero_bits(&Sha256::digest(p)) < 12)
            .unwrap();
        assert_eq!(pow.verify(Some(&bad)), Err(ProofError::Unsolved));
        // Another server's challenge (another key), and an altered expiry.
        let other = Pow::new(12);
        let foreign = solve(&other.challenge().unwrap()).unwrap();
        assert_eq!(pow.verify(Some(&foreign)), Err(ProofError::Forged));
        let solved = solve(&challenge).unwrap();
        let mut parts: Vec<&str> = solved.split('.').collect();
        let later = "99999999999".to_owned();
        parts[2] = &later;
        assert_eq!(pow.verify(Some(&parts.join("."))), Err(ProofError::Forged));
        // Issued eleven minutes ago.
        let old = pow.challenge_at(unix_now() - 11 * 60).unwrap();
        let old = solve(&old).unwrap();
        assert_eq!(pow.verify(Some(&old)), Err(ProofError::Expired));
        // A lower difficulty's challenge from the same key is not accepted.
        let easy = Pow {
            bits: 1,
            key: pow.key.clone(),
            spent: Mutex::new(HashMap::new()),
        };
        let cheap = solve(&easy.challenge().unwrap()).unwrap();
        assert_eq!(pow.verify(Some(&cheap)), Err(ProofError::Forged));
        assert_eq!(pow.verify(Some(&solved)), Ok(()));
    }

    #[test]
    fn zero_bits_count_from_the_first_byte() {
        assert_eq!(leading_zero_bits(&[0, 0, 0x80]), 16);
        assert_eq!(leading_zero_bits(&[0, 0x0f]), 12);
        assert_eq!(leading_zero_bits(&[0xff]), 0);
    }
}
