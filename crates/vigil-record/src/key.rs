//! The record key: a random 256-bit key that seals the record's identifying
//! fields (names, birth dates, contacts, free text, links, addresses) at rest.
//! It is kept in `DATA/desk/record-key.age`, sealed to the desk's identity, so
//! only the desk passphrase opens it; counting fields stay clear so that
//! statistics run without it.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
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
    /// Opens sealed fields.
    cipher: XChaCha20Poly1305,
    /// importread: seals them, as the same XChaCha20-Poly1305 (see
    /// [`RecordKey::seal_in_place`]).
    key: Zeroizing<[u8; 32]>,
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
            key: Zeroizing::new(*bytes),
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
        let sealed = self.seal_written(context, |buf| {
            buf.extend_from_slice(plaintext);
            true
        })?;
        sealed.ok_or(KeyError::Random)
    }

    /// XChaCha20-Poly1305 of `in_out` under `nonce`, bound to `aad`, in
    /// place; returns the tag. importread: the construction spelled out
    /// (draft-irtf-cfrg-xchacha): HChaCha20 of the key and the nonce's first
    /// 16 bytes gives the field's own ChaCha20 key; ring's ChaCha20-Poly1305
    /// (IETF) seals with it and a nonce of four zero bytes and the last 8. The
    /// same bytes as `chacha20poly1305::XChaCha20Poly1305` gives (which still
    /// opens them: tests), in about a third of the time: that crate's AVX2
    /// code left its intrinsics as calls here (a third of the import's reader).
    fn seal_in_place(
        &self,
        nonce: &[u8; NONCE],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Result<[u8; TAG], KeyError> {
        use chacha20::cipher::consts::{U10, U16};
        use chacha20::cipher::generic_array::GenericArray;
        use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
        let (head, tail) = nonce.split_at(16);
        let mut subkey = chacha20::hchacha::<U10>(
            chacha20::Key::from_slice(self.key.as_slice()),
            GenericArray::<u8, U16>::from_slice(head),
        );
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, subkey.as_slice());
        subkey.as_mut_slice().zeroize();
        let sealer = LessSafeKey::new(unbound.map_err(|_| KeyError::Random)?);
        let mut short = [0u8; 12];
        short[4..].copy_from_slice(tail);
        let tag = sealer
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(short), Aad::from(aad), in_out)
            .map_err(|_| KeyError::Random)?;
        let mut out = [0u8; TAG];
        out.copy_from_slice(tag.as_ref());
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
        let tag = match self.seal_in_place(&nonce, context.as_bytes(), &mut out[NONCE..]) {
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

    /// importread: sealing through HChaCha20 and ring gives, byte for byte,
    /// what the RustCrypto XChaCha20-Poly1305 gives for the same nonce, at
    /// every length around ChaCha's 64-byte blocks.
    #[test]
    fn sealing_is_xchacha20_poly1305_byte_for_byte() {
        use chacha20poly1305::aead::AeadInPlace;
        let key = RecordKey::generate().unwrap();
        for len in [0usize, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 300, 1000] {
            let nonce: [u8; NONCE] = std::array::from_fn(|i| (i * 7 + len) as u8);
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 + 5) as u8).collect();
            let aad = format!("e-{len}");
            let mut ours = plain.clone();
            let tag = key
                .seal_in_place(&nonce, aad.as_bytes(), &mut ours)
                .unwrap();
            let mut theirs = plain.clone();
            let their_tag = key
                .cipher
                .encrypt_in_place_detached(XNonce::from_slice(&nonce), aad.as_bytes(), &mut theirs)
                .unwrap();
            assert_eq!(ours, theirs, "ciphertext, {len} bytes");
            assert_eq!(tag.as_slice(), their_tag.as_slice(), "tag, {len} bytes");
            if len > 0 {
                assert_ne!(ours, plain);
            }
        }
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
