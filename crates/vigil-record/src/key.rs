//! The record key: a random 256-bit key that seals the record's identifying
//! fields (names, birth dates, contacts, free text, links, addresses) at rest.
//! It is kept in `DATA/desk/record-key.age`, sealed to the desk's identity, so
//! only the desk passphrase opens it; counting fields stay clear so that
//! statistics run without it.

use std::path::Path;

use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use vigil_core::DeskIdentity;
use zeroize::{Zeroize, Zeroizing};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the record key {path}: {message}")]
    Io { path: String, message: String },
    #[error(
        "the record key {path} does not open with this desk identity: it belongs to another desk, or is damaged"
    )]
    WrongIdentity { path: String },
    #[error("the system's random number generator failed")]
    Random,
    #[error(
        "a sealed field does not open with the record key: it was sealed with another key, or is damaged"
    )]
    Open,
}

/// The key that seals identifying fields. Its bytes are zeroized on drop and
/// never printed.
pub struct RecordKey {
    cipher: XChaCha20Poly1305,
    /// Random nonces drawn from the OS in bulk: one system call per 512 seals
    /// instead of one per seal (an import seals a million fields). Nonces are
    /// not secret; each is still 24 fresh random bytes used once.
    nonces: std::sync::Mutex<NoncePool>,
}

#[derive(Default)]
struct NoncePool {
    bytes: Vec<u8>,
    used: usize,
}

/// Nonces per draw from the OS.
const NONCES_PER_DRAW: usize = 512;

impl NoncePool {
    fn next(&mut self) -> Result<[u8; NONCE], KeyError> {
        if self.used + NONCE > self.bytes.len() {
            self.bytes.resize(NONCE * NONCES_PER_DRAW, 0);
            getrandom::fill(&mut self.bytes).map_err(|_| KeyError::Random)?;
            self.used = 0;
        }
        let mut nonce = [0u8; NONCE];
        nonce.copy_from_slice(&self.bytes[self.used..self.used + NONCE]);
        // Never handed out twice, even if the next draw fails.
        self.bytes[self.used..self.used + NONCE].fill(0);
        self.used += NONCE;
        Ok(nonce)
    }
}

impl std::fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordKey(..)")
    }
}

const NONCE: usize = 24;
/// Poly1305's tag, after the ciphertext.
const TAG: usize = 16;

impl RecordKey {
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        RecordKey {
            cipher: XChaCha20Poly1305::new(bytes.into()),
            nonces: std::sync::Mutex::new(NoncePool::default()),
        }
    }

    pub fn generate() -> Result<Self, KeyError> {
        let bytes =
            Zeroizing::new(vigil_core::random::bytes::<32>().map_err(|_| KeyError::Random)?);
        Ok(Self::from_bytes(&bytes))
    }

    /// Opens the record key at `path` with the desk identity, or, if there is
    /// none yet, makes one and writes it sealed to that identity.
    pub fn open_or_create(path: &Path, identity: &DeskIdentity) -> Result<Self, KeyError> {
        let shown = || path.display().to_string();
        let io = |e: std::io::Error| KeyError::Io {
            path: shown(),
            message: e.to_string(),
        };
        if path.exists() {
            let sealed = std::fs::read(path).map_err(io)?;
            let bytes = identity
                .open(&sealed)
                .map_err(|_| KeyError::WrongIdentity { path: shown() })?;
            let bytes: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| KeyError::WrongIdentity { path: shown() })?;
            let bytes = Zeroizing::new(bytes);
            return Ok(Self::from_bytes(&bytes));
        }
        let bytes =
            Zeroizing::new(vigil_core::random::bytes::<32>().map_err(|_| KeyError::Random)?);
        let sealed = identity
            .recipients()
            .seal(bytes.as_slice())
            .map_err(|e| KeyError::Io {
                path: shown(),
                message: e.to_string(),
            })?;
        // Write aside and rename, so a crash never leaves half a key behind.
        let tmp = path.with_extension("age.new");
        std::fs::write(&tmp, &sealed).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Seals `plaintext`, bound to `context` (the record's id), so a sealed
    /// field cannot be moved to another record unnoticed. Layout: nonce, then
    /// ciphertext with its tag.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let nonce = self.nonces.lock().map_err(|_| KeyError::Random)?.next()?;
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Random)?;
        let mut out = Vec::with_capacity(NONCE + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// import4: seals what `write` puts into one buffer, in place: the same
    /// layout, cipher, fresh nonce per field and binding to `context` as
    /// [`RecordKey::seal`], without a plaintext buffer of its own, a second for
    /// the ciphertext and a copy into a third. The plaintext is overwritten by
    /// its ciphertext (or zeroed, if `write` or sealing fails). `Ok(None)` when
    /// `write` says it failed.
    pub fn seal_written(
        &self,
        context: &str,
        write: impl FnOnce(&mut Vec<u8>) -> bool,
    ) -> Result<Option<Vec<u8>>, KeyError> {
        let nonce = self.nonces.lock().map_err(|_| KeyError::Random)?.next()?;
        // Room for a usual identity, so that writing it seldom moves (and
        // leaves behind) a copy of the plaintext.
        let mut out = Vec::with_capacity(NONCE + 240 + TAG);
        out.extend_from_slice(&nonce);
        if !write(&mut out) {
            out.zeroize();
            return Ok(None);
        }
        let tag = match self.cipher.encrypt_in_place_detached(
            XNonce::from_slice(&nonce),
            context.as_bytes(),
            &mut out[NONCE..],
        ) {
            Ok(tag) => tag,
            Err(_) => {
                out.zeroize();
                return Err(KeyError::Random);
            }
        };
        out.extend_from_slice(&tag);
        Ok(Some(out))
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if sealed.len() < NONCE {
            return Err(KeyError::Open);
        }
        let (nonce, body) = sealed.split_at(NONCE);
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyError::Open)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn seals_open_only_with_the_key_and_the_same_record() {
        let key = RecordKey::generate().unwrap();
        let sealed = key.seal("p-1", "Иван Петров".as_bytes()).unwrap();
        assert!(!sealed.windows(4).any(|w| w == &"Иван".as_bytes()[..4]));
        assert_eq!(
            key.open("p-1", &sealed).unwrap().as_slice(),
            "Иван Петров".as_bytes()
        );
        assert!(key.open("p-2", &sealed).is_err());
        assert!(RecordKey::generate().unwrap().open("p-1", &sealed).is_err());
    }

    #[test]
    fn every_seal_has_its_own_nonce_across_draws() {
        let key = RecordKey::generate().unwrap();
        let mut seen = std::collections::HashSet::new();
        for i in 0..(3 * NONCES_PER_DRAW + 7) {
            let sealed = key.seal("e-1", b"notes").unwrap();
            assert_ne!(&sealed[..NONCE], &[0u8; NONCE], "seal {i}");
            assert!(
                seen.insert(sealed[..NONCE].to_vec()),
                "nonce repeated at seal {i}"
            );
            assert_eq!(key.open("e-1", &sealed).unwrap().as_slice(), b"notes");
        }
    }

    /// import4: sealing in place gives what `seal` gives: each field its own
    /// nonce, bound to its record, opened by `open` alone.
    #[test]
    fn sealing_in_place_is_sealing() {
        let key = RecordKey::generate().unwrap();
        let write = |b: &mut Vec<u8>| {
            b.extend_from_slice("Иван Петров".as_bytes());
            true
        };
        let one = key.seal_written("p-1", write).unwrap().unwrap();
        let two = key.seal_written("p-1", write).unwrap().unwrap();
        assert_ne!(&one[..NONCE], &two[..NONCE]);
        assert_eq!(
            one.len(),
            key.seal("p-1", "Иван Петров".as_bytes()).unwrap().len()
        );
        assert!(!one.windows(4).any(|w| w == &"Иван".as_bytes()[..4]));
        for sealed in [&one, &two] {
            assert_eq!(
                key.open("p-1", sealed).unwrap().as_slice(),
                "Иван Петров".as_bytes()
            );
            assert!(key.open("p-2", sealed).is_err());
        }
        assert!(key.seal_written("p-1", |_| false).unwrap().is_none());
    }

    #[test]
    fn the_key_file_opens_with_its_identity_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record-key.age");
        let id = DeskIdentity::generate();
        let a = RecordKey::open_or_create(&path, &id).unwrap();
        let sealed = a.seal("x", b"secret").unwrap();
        let b = RecordKey::open_or_create(&path, &id).unwrap();
        assert_eq!(b.open("x", &sealed).unwrap().as_slice(), b"secret");
        let other = DeskIdentity::generate();
        assert!(matches!(
            RecordKey::open_or_create(&path, &other),
            Err(KeyError::WrongIdentity { .. })
        ));
    }
}
