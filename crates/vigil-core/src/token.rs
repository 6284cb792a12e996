//! The token with which the desk authenticates to the intake's pull API.
//! The intake keeps only its SHA-256: a seized intake config cannot be used to
//! pull reports (which are sealed anyway) or to acknowledge them away.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::random::{self, RandomError};

/// A new random token (256 bits, hex).
pub fn generate() -> Result<Zeroizing<String>, RandomError> {
    Ok(Zeroizing::new(hex::encode(random::bytes::<32>()?)))
}

pub fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

pub fn hash_hex(token: &str) -> String {
    hex::encode(hash(token))
}

/// Parses a stored hash (64 hex digits).
pub fn parse_hash(hex_hash: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_hash.trim(), &mut out).ok()?;
    Some(out)
}

/// Compares in constant time.
pub fn matches(token: &str, expected_hash: &[u8; 32]) -> bool {
    hash(token).ct_eq(expected_hash).into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_right_token_matches() {
        let t = super::generate().unwrap();
        let h = super::parse_hash(&super::hash_hex(&t)).unwrap();
        assert!(super::matches(&t, &h));
        assert!(!super::matches("guess", &h));
    }
}
