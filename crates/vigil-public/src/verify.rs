//! Checking a release: the manifest's signatures (vigil's own, and from
//! format v2 on the minisign and SSHSIG copies too), then every file against
//! the manifest, and no file that the manifest does not name; with a previous
//! release, that the manifest names that release's manifest hash.
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
    MANIFEST_FILE, MANIFEST_FORMAT, MANIFEST_FORMAT_V1, MINISIGN_PUBLIC_KEY_FILE,
    MINISIGN_SIGNATURE_FILE, Manifest, PUBLIC_KEY_FILE, SIGNATURE_FILE, SIGNATURE_FILES,
    SSH_ALLOWED_SIGNERS_FILE, SSH_SIGNATURE_FILE, sha256_hex, verify_signature,
};

use crate::sign;

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
    #[error("{file}: {reason}")]
    OtherSignature { file: &'static str, reason: String },
    #[error(
        "the release does not match its signed manifest (first bad file: {}):\n{}",
        .0.first().map(|(f, _)| f.as_str()).unwrap_or(""),
        .0.iter().map(|(f, why)| format!("  {f}: {why}")).collect::<Vec<_>>().join("\n")
    )]
    Files(Vec<(String, String)>),
    #[error("the previous release {path} does not verify: {source}")]
    Previous {
        path: String,
        #[source]
        source: Box<VerifyError>,
    },
    #[error(
        "broken chain: this release names no previous release (it starts a chain), but {path} was given as its previous one"
    )]
    NoPrevious { path: String },
    #[error(
        "broken chain: this release names the previous manifest {named}, but {path}/manifest.json has SHA-256 {found}; \
         it is not the release this one follows"
    )]
    WrongPrevious {
        path: String,
        named: String,
        found: String,
    },
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
    /// SHA-256 of this release's manifest.json (what the next one names).
    pub manifest_sha256: String,
    /// The previous release's manifest hash that this one names.
    pub previous: Option<String>,
    /// The previous release checked with `verify_chain`, if any.
    pub previous_checked: Option<Box<Verified>>,
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
    let v1 = manifest.format == MANIFEST_FORMAT_V1;
    if manifest.format != MANIFEST_FORMAT && !v1 {
        return Err(VerifyError::BadManifest(format!(
            "format {:?}, expected {MANIFEST_FORMAT:?} (or the older {MANIFEST_FORMAT_V1:?})",
            manifest.format
        )));
    }
    if v1 && (manifest.previous.is_some() || manifest.licence.is_some()) {
        return Err(VerifyError::BadManifest(
            "a v1 manifest cannot name a previous release or a licence".into(),
        ));
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
    if !v1 {
        other_signatures(dir, &named, &manifest, &manifest_bytes)?;
    }

    let mut problems = Vec::new();
    for (rel, hash) in &manifest.files {
        let safe = !rel.is_empty()
            && !rel.starts_with('/')
            && rel
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != "..");
        let problem = |why: &str| (rel.clone(), why.to_owned());
        if !safe {
            problems.push(problem("not a plain relative path"));
            continue;
        }
        match fs::read(dir.join(rel)) {
            Ok(bytes) if sha256_hex(&bytes) == *hash => {}
            Ok(_) => problems.push(problem("changed (SHA-256 differs from the manifest)")),
            Err(_) => problems.push(problem("missing")),
        }
    }
    for rel in present {
        let signs = rel == MANIFEST_FILE || SIGNATURE_FILES.contains(&rel.as_str());
        if !signs && !manifest.files.contains_key(&rel) {
            problems.push((rel, "not in the manifest (added after signing)".into()));
        }
    }
    problems.sort();
    if !problems.is_empty() {
        return Err(VerifyError::Files(problems));
    }
    Ok(Verified {
        files: manifest.files.len(),
        public_key: manifest.public_key,
        released: manifest.released,
        manifest_sha256: sha256_hex(&manifest_bytes),
        previous: manifest.previous,
        previous_checked: None,
        key_was_expected: expected.is_some(),
    })
}

/// Verifies `dir`, then `previous` (with the same key), then that `dir`'s
/// manifest names `previous`'s manifest hash.
pub fn verify_chain(
    dir: &Path,
    previous: &Path,
    expected: Option<&VerifyingKey>,
) -> Result<Verified, VerifyError> {
    let mut current = verify(dir, expected)?;
    let key = vigil_core::keys::parse_public_key(&current.public_key)
        .map_err(|e| VerifyError::BadManifest(format!("public_key: {e}")))?;
    let path = previous.display().to_string();
    let before = verify(previous, Some(&key)).map_err(|e| VerifyError::Previous {
        path: path.clone(),
        source: Box::new(e),
    })?;
    match &current.previous {
        None => return Err(VerifyError::NoPrevious { path }),
        Some(named) if *named != before.manifest_sha256 => {
            return Err(VerifyError::WrongPrevious {
                path,
                named: named.clone(),
                found: before.manifest_sha256,
            });
        }
        Some(_) => {}
    }
    current.previous_checked = Some(Box::new(before));
    Ok(current)
}

/// The minisign and SSHSIG signatures of a v2 release, and the public key
/// files beside them: each must be there, hold the manifest's key, and verify.
fn other_signatures(
    dir: &Path,
    key: &VerifyingKey,
    manifest: &Manifest,
    manifest_bytes: &[u8],
) -> Result<(), VerifyError> {
    let text = |file: &'static str| -> Result<String, VerifyError> {
        let bytes = read(&dir.join(file))?;
        String::from_utf8(bytes).map_err(|_| VerifyError::OtherSignature {
            file,
            reason: "not text".into(),
        })
    };
    let fail =
        |file: &'static str| move |reason: String| VerifyError::OtherSignature { file, reason };
    sign::minisign_verify(key, manifest_bytes, &text(MINISIGN_SIGNATURE_FILE)?)
        .map_err(fail(MINISIGN_SIGNATURE_FILE))?;
    sign::ssh_verify(key, manifest_bytes, &text(SSH_SIGNATURE_FILE)?)
        .map_err(fail(SSH_SIGNATURE_FILE))?;
    // The key files are in the manifest (so unchanged if the files check
    // passes); here: they name the same key as the manifest.
    for (file, expected) in [
        (PUBLIC_KEY_FILE, format!("{}\n", manifest.public_key)),
        (MINISIGN_PUBLIC_KEY_FILE, sign::minisign_public_key(key)),
        (SSH_ALLOWED_SIGNERS_FILE, sign::ssh_allowed_signers(key)),
    ] {
        if !manifest.files.contains_key(file) || text(file)? != expected {
            return Err(VerifyError::OtherSignature {
                file,
                reason: "does not hold the key the manifest names".into(),
            });
        }
    }
    Ok(())
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
