//! intake4: age's standard "X25519" recipient stanza, made with `ring`'s
//! X25519 instead of the age crate's (curve25519-dalek's portable field
//! arithmetic). On x86-64 with ADX and BMI2, ring uses BoringSSL's assembly,
//! and the two curve operations of each stanza (the ephemeral share and the
//! shared secret) are most of the cost of sealing a report.
//!
//! Only the stanza is ours; the age crate still picks the file key and writes
//! the header, its MAC and the payload, and the desk opens every file with the
//! age crate's own `x25519::Identity` (or the `age`/`rage` tools). The stanza
//! follows the age specification (age-encryption.org/v1, "X25519 recipient
//! stanza") exactly:
//!
//! - an ephemeral x25519 key `e`, its share `E = X25519(e, basepoint)`;
//! - `shared = X25519(e, R)`, refused when all zero (`R` of small order);
//! - `key = HKDF-SHA-256(ikm = shared, salt = E || R,
//!   info = "age-encryption.org/v1/X25519")`;
//! - the stanza `-> X25519 base64(E)` with body
//!   `ChaCha20-Poly1305(key, nonce = 0, file key)`.
//!
//! The HKDF and the AEAD are the age-core crate's own functions.

use std::collections::HashSet;

use age::secrecy::ExposeSecret;
use age_core::format::{FileKey, Stanza};
use age_core::primitives::{aead_encrypt, hkdf};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use ring::agreement;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

const TAG: &str = "X25519";
const LABEL: &[u8] = b"age-encryption.org/v1/X25519";

/// An age X25519 recipient whose stanzas are made with ring.
#[derive(Clone)]
pub(crate) struct RingRecipient {
    public: [u8; 32],
}

impl RingRecipient {
    /// The same recipient as the age crate's, by its 32 public bytes.
    pub(crate) fn of(recipient: &age::x25519::Recipient) -> Option<Self> {
        let (hrp, bytes) = bech32::decode(&recipient.to_string()).ok()?;
        if hrp.as_str() != "age" {
            return None;
        }
        Some(RingRecipient {
            public: bytes.try_into().ok()?,
        })
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(public: [u8; 32]) -> Self {
        RingRecipient { public }
    }
}

fn failed() -> age::EncryptError {
    // No key material in the error: it says only that the curve step failed.
    age::EncryptError::Io(std::io::Error::other(
        "x25519: the recipient's key is of small order, or the random generator failed",
    ))
}

impl age::Recipient for RingRecipient {
    fn wrap_file_key(
        &self,
        file_key: &FileKey,
    ) -> Result<(Vec<Stanza>, HashSet<String>), age::EncryptError> {
        let rng = ring::rand::SystemRandom::new();
        let secret = agreement::EphemeralPrivateKey::generate(&agreement::X25519, &rng)
            .map_err(|_| failed())?;
        let share = secret.compute_public_key().map_err(|_| failed())?;
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(share.as_ref());
        salt[32..].copy_from_slice(&self.public);
        let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, &self.public);
        // ring already refuses an all-zero shared secret; checked here too,
        // in constant time, so that this never depends on ring's version.
        let key = agreement::agree_ephemeral(secret, &peer, |shared| {
            let zero = shared.iter().fold(0u8, |acc, b| acc | b).ct_eq(&0);
            (!bool::from(zero)).then(|| Zeroizing::new(hkdf(&salt, LABEL, shared)))
        })
        .map_err(|_| failed())?
        .ok_or_else(failed)?;
        let body = aead_encrypt(&key, file_key.expose_secret());
        Ok((
            vec![Stanza {
                tag: TAG.to_owned(),
                args: vec![STANDARD_NO_PAD.encode(share.as_ref())],
                body,
            }],
            HashSet::new(),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::str::FromStr;

    use age::Identity as _;
    use age::Recipient as _;

    use super::*;

    #[test]
    fn the_age_crates_identity_unwraps_our_stanza_to_the_same_file_key() {
        // Known answer: a file key we chose, wrapped by us, unwrapped by the
        // age crate's own X25519 identity.
        let identity = age::x25519::Identity::generate();
        let ours = RingRecipient::of(&identity.to_public()).unwrap();
        let known: [u8; 16] = *b"vigil file key 1";
        let file_key = FileKey::new(Box::new(known));
        let (stanzas, labels) = ours.wrap_file_key(&file_key).unwrap();
        assert!(labels.is_empty());
        assert_eq!(stanzas.len(), 1);
        assert_eq!(stanzas[0].tag, "X25519");
        assert_eq!(stanzas[0].args.len(), 1);
        assert_eq!(stanzas[0].body.len(), 32);
        let back = identity.unwrap_stanzas(&stanzas).unwrap().unwrap();
        assert_eq!(back.expose_secret(), &known);
        // Another identity does not unwrap it.
        let other = age::x25519::Identity::generate();
        assert!(other.unwrap_stanzas(&stanzas).is_none());
        // A fresh ephemeral share every time.
        let (again, _) = ours.wrap_file_key(&file_key).unwrap();
        assert_ne!(again[0].args, stanzas[0].args);
    }

    #[test]
    fn our_public_bytes_are_the_age_recipients() {
        let identity = age::x25519::Identity::generate();
        let ours = RingRecipient::of(&identity.to_public()).unwrap();
        let hrp = bech32::Hrp::parse("age").unwrap();
        let text = bech32::encode::<bech32::Bech32>(hrp, &ours.public).unwrap();
        assert_eq!(text, identity.to_public().to_string());
        assert!(age::x25519::Recipient::from_str(&text).is_ok());
    }

    #[test]
    fn a_recipient_of_small_order_is_refused_not_sealed_to() {
        // The all-zero point and the point of order 2 (u = 1) give an
        // all-zero shared secret with any key.
        let mut one = [0u8; 32];
        one[0] = 1;
        for public in [[0u8; 32], one] {
            let file_key = FileKey::new(Box::new([7u8; 16]));
            assert!(
                RingRecipient::from_bytes(public)
                    .wrap_file_key(&file_key)
                    .is_err()
            );
        }
    }
}
