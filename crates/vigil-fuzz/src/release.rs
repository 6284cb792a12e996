//! Release manifests, through `vigil verify`'s own function
//! (`vigil_public::verify`) on a real folder.
//!
//! Input: the first byte's low bit chooses how the manifest is signed.
//! - `0…`: the rest is `manifest.json`, signed here with the target's release
//!   key, so inputs get past the signature and reach the file checks (seeds
//!   name the key and the files below with their true hashes);
//! - `1…`: the rest is `manifest.json`, then a line `--sig--`, then
//!   `manifest.sig` as given.
//!
//! The release folder always holds `index.html` and `data/reports.csv`;
//! beside it (outside the release) lies `outside.txt`, whose true hash the
//! seeds also know. Beyond "no panic": a release that verifies names only
//! plain relative paths, and never anything outside its folder.

use std::fs;
use std::path::PathBuf;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use vigil_core::release::{MANIFEST_FILE, SIGNATURE_FILE};

use crate::{Outcome, SetupError, Target, Violation, ensure, excerpt};

/// The target's release key (a fixed seed, so seeds can name its public key).
pub const SEED: [u8; 32] = [7; 32];
pub const FILES: &[(&str, &str)] = &[
    ("index.html", "<!doctype html><title>vigil</title>"),
    ("data/reports.csv", "day,reports\n2024-03-01,3\n"),
];
pub const OUTSIDE: (&str, &str) = ("outside.txt", "not part of the release");

pub struct ReleaseTarget {
    key: SigningKey,
    release: PathBuf,
    _dir: tempfile::TempDir,
}

impl ReleaseTarget {
    pub fn new() -> Result<Self, SetupError> {
        let dir = crate::scratch_dir("release_manifest")?;
        let release = dir.path().join("release");
        let setup = |e: std::io::Error| SetupError::new("release_manifest", e);
        fs::create_dir_all(release.join("data")).map_err(setup)?;
        for (name, content) in FILES {
            fs::write(release.join(name), content).map_err(setup)?;
        }
        fs::write(dir.path().join(OUTSIDE.0), OUTSIDE.1).map_err(setup)?;
        Ok(ReleaseTarget {
            key: SigningKey::from_bytes(&SEED),
            release,
            _dir: dir,
        })
    }

    /// The target's public key as a manifest names it.
    pub fn public_key_hex() -> String {
        hex::encode(SigningKey::from_bytes(&SEED).verifying_key().as_bytes())
    }
}

impl Target for ReleaseTarget {
    fn run(&mut self, data: &[u8]) -> Outcome {
        let Some((&mode, rest)) = data.split_first() else {
            return Ok(());
        };
        let (manifest, signature) = if mode & 1 == 0 {
            let sig = self.key.sign(rest).to_bytes();
            (rest, hex::encode(sig).into_bytes())
        } else {
            const MARK: &[u8] = b"\n--sig--\n";
            match rest.windows(MARK.len()).position(|w| w == MARK) {
                Some(at) => (&rest[..at], rest[at + MARK.len()..].to_vec()),
                None => (rest, Vec::new()),
            }
        };
        let write = |name: &str, bytes: &[u8]| {
            fs::write(self.release.join(name), bytes)
                .map_err(|e| Violation(format!("cannot write {name}: {e}")))
        };
        write(MANIFEST_FILE, manifest)?;
        write(SIGNATURE_FILE, &signature)?;
        let expected: VerifyingKey = self.key.verifying_key();
        // Both ways `vigil verify` runs: with --key and without.
        for key in [Some(&expected), None] {
            let Ok(verified) = vigil_public::verify(&self.release, key) else {
                continue;
            };
            let parsed: vigil_core::release::Manifest =
                serde_json::from_slice(manifest).map_err(|e| {
                    Violation(format!("verified, yet the manifest does not parse: {e}"))
                })?;
            ensure(verified.files == parsed.files.len(), || {
                format!(
                    "verified a count that is not the manifest's: {}",
                    excerpt(manifest)
                )
            })?;
            for rel in parsed.files.keys() {
                let plain = !rel.is_empty()
                    && !rel.starts_with('/')
                    && rel
                        .split('/')
                        .all(|p| !p.is_empty() && p != "." && p != "..");
                ensure(plain, || {
                    format!("verified a release naming {rel:?}: {}", excerpt(manifest))
                })?;
                ensure(!rel.contains(OUTSIDE.0), || {
                    format!("verified a file outside the release: {}", excerpt(manifest))
                })?;
            }
        }
        Ok(())
    }
}
