//! Checking a release: the manifest's signature, then every file against the
//! manifest, and no file that the manifest does not name.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use vigil_core::release::{
    MANIFEST_FILE, MANIFEST_FORMAT, Manifest, SIGNATURE_FILE, sha256_hex, verify_signature,
};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{path}: cannot read: {reason}")]
    Read { path: String, reason: String },
    #[error("manifest.json is not a vigil release manifest: {0}")]
    BadManifest(String),
    #[error("the release is signed by key {found}, not by the expected key {expected}")]
    WrongKey { found: String, expected: String },
    #[error("manifest.sig: {0}")]
    Signature(String),
    #[error("the release does not match its signed manifest:\n{}", .0.join("\n"))]
    Files(Vec<String>),
}

/// A release that passed every check.
#[derive(Debug)]
pub struct Verified {
    pub files: usize,
    pub public_key: String,
    pub released: String,
    /// Whether the key was given by the caller. If not, the signature only
    /// proves the files match the key that the release itself names.
    pub key_was_expected: bool,
}

fn read(path: &Path) -> Result<Vec<u8>, VerifyError> {
    fs::read(path).map_err(|e| VerifyError::Read {
        path: path.display().to_string(),
        reason: e.kind().to_string(),
    })
}

/// Verifies the release in `dir`. With `expected`, the release must be signed
/// by that key; without it, by the key named in its own manifest.
pub fn verify(dir: &Path, expected: Option<&VerifyingKey>) -> Result<Verified, VerifyError> {
    let manifest_bytes = read(&dir.join(MANIFEST_FILE))?;
    let signature = read(&dir.join(SIGNATURE_FILE))?;
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| VerifyError::BadManifest(e.to_string()))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(VerifyError::BadManifest(format!(
            "format {:?}, expected {MANIFEST_FORMAT:?}",
            manifest.format
        )));
    }
    let named = vigil_core::keys::parse_public_key(&manifest.public_key)
        .map_err(|e| VerifyError::BadManifest(format!("public_key: {e}")))?;
    if let Some(expected) = expected
        && expected != &named
    {
        return Err(VerifyError::WrongKey {
            found: manifest.public_key.clone(),
            expected: hex::encode(expected.as_bytes()),
        });
    }
    let sig_text =
        String::from_utf8(signature).map_err(|_| VerifyError::Signature("not text".into()))?;
    verify_signature(&named, &manifest_bytes, &sig_text)
        .map_err(|e| VerifyError::Signature(e.to_string()))?;

    let mut problems = Vec::new();
    for (rel, hash) in &manifest.files {
        let safe = !rel.is_empty()
            && !rel.starts_with('/')
            && rel
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        if !safe {
            problems.push(format!("  {rel}: not a plain relative path"));
            continue;
        }
        match fs::read(dir.join(rel)) {
            Ok(bytes) if sha256_hex(&bytes) == *hash => {}
            Ok(_) => problems.push(format!(
                "  {rel}: changed (SHA-256 differs from the manifest)"
            )),
            Err(_) => problems.push(format!("  {rel}: missing")),
        }
    }
    let mut present = BTreeSet::new();
    list_files(dir, dir, &mut present)?;
    for rel in present {
        if rel != MANIFEST_FILE && rel != SIGNATURE_FILE && !manifest.files.contains_key(&rel) {
            problems.push(format!(
                "  {rel}: not in the manifest (added after signing)"
            ));
        }
    }
    if !problems.is_empty() {
        return Err(VerifyError::Files(problems));
    }
    Ok(Verified {
        files: manifest.files.len(),
        public_key: manifest.public_key,
        released: manifest.released,
        key_was_expected: expected.is_some(),
    })
}

fn list_files(root: &Path, dir: &Path, out: &mut BTreeSet<String>) -> Result<(), VerifyError> {
    let entries = fs::read_dir(dir).map_err(|e| VerifyError::Read {
        path: dir.display().to_string(),
        reason: e.kind().to_string(),
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| VerifyError::Read {
            path: path.display().to_string(),
            reason: e.kind().to_string(),
        })?;
        if kind.is_dir() {
            list_files(root, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(root) {
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.insert(rel);
        }
    }
    Ok(())
}
