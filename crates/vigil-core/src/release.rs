//! The manifest of a public release: every file with its SHA-256, the hash of
//! the previous release's manifest (the chain) and the licence, signed with
//! the release key. Verifying a release means checking the signature over the
//! manifest's exact bytes, then every file against it, then the chain.

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Written by this version: adds `previous` and `licence` to v1.
pub const MANIFEST_FORMAT: &str = "vigil-release-v2";
/// Still verified (releases published before the chain existed).
pub const MANIFEST_FORMAT_V1: &str = "vigil-release-v1";
pub const MANIFEST_FILE: &str = "manifest.json";
/// The Ed25519 signature of `manifest.json`, as 128 hexadecimal digits.
pub const SIGNATURE_FILE: &str = "manifest.sig";
pub const PUBLIC_KEY_FILE: &str = "release-key.pub";
/// The same signature for the standard `minisign -V` tool.
pub const MINISIGN_SIGNATURE_FILE: &str = "manifest.json.minisig";
pub const MINISIGN_PUBLIC_KEY_FILE: &str = "minisign.pub";
/// The same key for `ssh-keygen -Y verify` (SSHSIG).
pub const SSH_SIGNATURE_FILE: &str = "manifest.json.sshsig";
pub const SSH_ALLOWED_SIGNERS_FILE: &str = "allowed_signers";
/// The SSHSIG namespace and the principal named in `allowed_signers`.
pub const SSH_NAMESPACE: &str = "vigil-release";

/// The files that sign the manifest, and so cannot be listed in it.
pub const SIGNATURE_FILES: [&str; 3] =
    [SIGNATURE_FILE, MINISIGN_SIGNATURE_FILE, SSH_SIGNATURE_FILE];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// The date of the data (passed in by whoever publishes; never a clock
    /// reading taken while writing, so the same input gives the same bytes).
    pub released: String,
    /// The public key that signs it, as 64 hexadecimal digits.
    pub public_key: String,
    /// SHA-256 (hex) of the previous release's `manifest.json` bytes; absent
    /// for the first release of a chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Under which terms the data may be reused (also the file `LICENSE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<Licence>,
    /// Relative path (with `/`) to lowercase hex SHA-256.
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    /// The manifest's bytes as written: pretty JSON, keys in a fixed order,
    /// one newline at the end.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain strings and maps cannot fail.
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Licence {
    /// SPDX identifier, e.g. `CC-BY-4.0`.
    pub id: String,
    pub name: String,
    pub url: String,
    /// What the licence lets people do, in the reader's words (Russian,
    /// English); a configured licence's own summary. None: vigil's wording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Default for Licence {
    fn default() -> Self {
        Licence {
            id: "CC-BY-4.0".into(),
            name: "Creative Commons Attribution 4.0 International".into(),
            url: "https://creativecommons.org/licenses/by/4.0/".into(),
            ru: None,
            en: None,
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature file is not 128 hexadecimal digits")]
    Malformed,
    #[error("the signature does not match the manifest and key")]
    Invalid,
}

pub fn verify_signature(
    key: &VerifyingKey,
    manifest_bytes: &[u8],
    signature_hex: &str,
) -> Result<(), SignatureError> {
    let mut sig = [0u8; 64];
    hex::decode_to_slice(signature_hex.trim(), &mut sig).map_err(|_| SignatureError::Malformed)?;
    key.verify_strict(manifest_bytes, &Signature::from_bytes(&sig))
        .map_err(|_| SignatureError::Invalid)
}
