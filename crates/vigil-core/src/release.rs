//! The manifest of a public release: every file with its SHA-256, signed with
//! the release key. Verifying a release means checking the signature over the
//! manifest's exact bytes, then every file against it.

use std::collections::BTreeMap;

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const MANIFEST_FORMAT: &str = "vigil-release-v1";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const SIGNATURE_FILE: &str = "manifest.sig";
pub const PUBLIC_KEY_FILE: &str = "release-key.pub";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// The day the release was built.
    pub released: String,
    /// The public key that signs it, as 64 hexadecimal digits.
    pub public_key: String,
    /// Relative path (with `/`) to lowercase hex SHA-256.
    pub files: BTreeMap<String, String>,
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
