//! Checking a release: the manifest's signature, then every file against the
//! manifest, and no file that the manifest does not name.
//!
//! A release holds only regular files and folders. A symbolic link would let
//! a release change after it was verified (its target is elsewhere), and a
//! pipe or device would hang or mislead the reader; any of them fails the
//! check, by name, before any file is read.

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
    #[error(
        "the release holds something other than regular files and folders, which could \
         change it after it was verified; a release is plain files only:\n{}",
        .0.join("\n")
    )]
    NotPlain(Vec<String>),
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
    // Walk first: nothing is read until the tree is known to be plain.
    let mut present = BTreeSet::new();
    let mut not_plain = Vec::new();
    list_files(dir, dir, &mut present, &mut not_plain)?;
    if !not_plain.is_empty() {
        not_plain.sort();
        return Err(VerifyError::NotPlain(not_plain));
    }
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

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every regular file under `dir` (relative, `/`-separated) into `out`, and
/// every entry that is neither a regular file nor a folder into `not_plain`.
/// Symbolic links are never followed.
fn list_files(
    root: &Path,
    dir: &Path,
    out: &mut BTreeSet<String>,
    not_plain: &mut Vec<String>,
) -> Result<(), VerifyError> {
    let entries = fs::read_dir(dir).map_err(|e| VerifyError::Read {
        path: dir.display().to_string(),
        reason: e.kind().to_string(),
    })?;
    for entry in entries {
        let entry = entry.map_err(|e| VerifyError::Read {
            path: dir.display().to_string(),
            reason: e.kind().to_string(),
        })?;
        let path = entry.path();
        // `DirEntry::file_type` does not follow symbolic links.
        let kind = entry.file_type().map_err(|e| VerifyError::Read {
            path: path.display().to_string(),
            reason: e.kind().to_string(),
        })?;
        let rel = relative(root, &path);
        if kind.is_dir() {
            list_files(root, &path, out, not_plain)?;
        } else if kind.is_file() {
            out.insert(rel);
        } else {
            not_plain.push(format!("  {rel}: {}", describe(kind)));
        }
    }
    Ok(())
}

fn describe(kind: fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}
