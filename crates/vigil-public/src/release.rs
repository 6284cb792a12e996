//! Writing a release folder from its files: the manifest (every file's
//! SHA-256, the previous release's manifest hash, the licence), the
//! signatures (vigil's own, minisign, SSHSIG), the changes since the previous
//! release, and the swap of the whole folder into place.
//!
//! The same files, key, date, licence and previous release give the same
//! bytes: nothing here reads a clock or draws a random number (the staging
//! folder's name is random, but it is renamed away).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use vigil_core::Day;
use vigil_core::keys::ReleaseKey;
use vigil_core::release::{
    Licence, MANIFEST_FILE, MANIFEST_FORMAT, MINISIGN_PUBLIC_KEY_FILE, MINISIGN_SIGNATURE_FILE,
    Manifest, PUBLIC_KEY_FILE, SIGNATURE_FILE, SIGNATURE_FILES, SSH_ALLOWED_SIGNERS_FILE,
    SSH_SIGNATURE_FILE, sha256_hex,
};

use crate::changes::{self, CHANGES_HTML, CHANGES_JSON, Changes};
use crate::sign;

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(
        "{path}: exists and is not a vigil release; refusing to overwrite it (choose an empty or new folder)"
    )]
    NotARelease { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("release file {path:?}: {why}")]
    BadPath { path: String, why: &'static str },
    #[error(
        "the previous release {path} does not verify, so the new one cannot chain to it: {reason}\n\
         Restore that release from a copy you trust, or publish into a new folder to start a new chain."
    )]
    Previous { path: String, reason: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReleaseError + '_ {
    move |source| ReleaseError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What was written.
#[derive(Debug)]
pub struct Release {
    pub dir: PathBuf,
    /// Every file in the folder, the manifest and its signatures included.
    pub files: usize,
    pub public_key: String,
    /// SHA-256 of this release's `manifest.json`: what the next one names.
    pub manifest_sha256: String,
    pub previous: Option<String>,
    pub changes: Changes,
}

/// Files that `write` adds itself; the caller may not pass them.
const WRITTEN_HERE: [&str; 9] = [
    MANIFEST_FILE,
    SIGNATURE_FILE,
    MINISIGN_SIGNATURE_FILE,
    SSH_SIGNATURE_FILE,
    PUBLIC_KEY_FILE,
    MINISIGN_PUBLIC_KEY_FILE,
    SSH_ALLOWED_SIGNERS_FILE,
    CHANGES_JSON,
    CHANGES_HTML,
];

fn check_path(rel: &str) -> Result<(), ReleaseError> {
    let bad = |why| {
        Err(ReleaseError::BadPath {
            path: rel.to_owned(),
            why,
        })
    };
    if rel.is_empty()
        || rel.starts_with('/')
        || rel.contains('\\')
        || !rel
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
    {
        return bad("not a plain relative path with '/' between folders");
    }
    if WRITTEN_HERE.contains(&rel) {
        return bad("this name is reserved for what the release writer adds");
    }
    Ok(())
}

/// Writes a signed release of `files` (relative path, bytes) into `out`,
/// replacing an earlier release there whole. `previous`, when given, must be a
/// release signed by the same key: its manifest's hash goes into the new
/// manifest and its numbers are compared with the new ones.
pub fn write(
    out: &Path,
    files: Vec<(String, Vec<u8>)>,
    key: &ReleaseKey,
    released: Day,
    licence: &Licence,
    previous: Option<&Path>,
) -> Result<Release, ReleaseError> {
    let mut by_path = BTreeMap::new();
    for (rel, bytes) in files {
        check_path(&rel)?;
        if by_path.insert(rel.clone(), bytes).is_some() {
            return Err(ReleaseError::BadPath {
                path: rel,
                why: "given twice",
            });
        }
    }
    // A file and a folder of the same name cannot both exist.
    for rel in by_path.keys() {
        let folder = format!("{rel}/");
        if by_path
            .range(folder.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&folder))
        {
            return Err(ReleaseError::BadPath {
                path: rel.clone(),
                why: "is both a file and a folder",
            });
        }
    }
    if out.exists() && !out.join(MANIFEST_FILE).exists() {
        let empty = fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty {
            return Err(ReleaseError::NotARelease {
                path: out.display().to_string(),
            });
        }
    }

    let public = key.public_key();
    let (previous_hash, previous_released) = match previous {
        None => (None, None),
        Some(dir) => {
            let failed = |reason: String| ReleaseError::Previous {
                path: dir.display().to_string(),
                reason,
            };
            let v = crate::verify(dir, Some(&public)).map_err(|e| failed(e.to_string()))?;
            let bytes = fs::read(dir.join(MANIFEST_FILE)).map_err(|e| failed(e.to_string()))?;
            (Some(sha256_hex(&bytes)), Some(v.released))
        }
    };
    let released = released.to_string();
    let changes = changes::compare(
        previous,
        &by_path,
        &released,
        previous_released,
        previous_hash.clone(),
    );

    let public_hex = key.public_hex();
    by_path.insert(CHANGES_JSON.into(), changes.to_json());
    by_path.insert(CHANGES_HTML.into(), changes.page().into_bytes());
    by_path.insert(
        PUBLIC_KEY_FILE.into(),
        format!("{public_hex}\n").into_bytes(),
    );
    by_path.insert(
        MINISIGN_PUBLIC_KEY_FILE.into(),
        sign::minisign_public_key(&public).into_bytes(),
    );
    by_path.insert(
        SSH_ALLOWED_SIGNERS_FILE.into(),
        sign::ssh_allowed_signers(&public).into_bytes(),
    );

    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        released: released.clone(),
        public_key: public_hex.clone(),
        previous: previous_hash.clone(),
        licence: Some(licence.clone()),
        files: by_path
            .iter()
            .map(|(rel, bytes)| (rel.clone(), sha256_hex(bytes)))
            .collect(),
    };
    let manifest_bytes = manifest.to_bytes();
    let trusted = format!(
        "vigil release of {released}, previous manifest {}",
        previous_hash.as_deref().unwrap_or("none")
    );
    by_path.insert(MANIFEST_FILE.into(), manifest_bytes.clone());
    by_path.insert(
        SIGNATURE_FILE.into(),
        format!("{}\n", hex::encode(key.sign(&manifest_bytes))).into_bytes(),
    );
    by_path.insert(
        MINISIGN_SIGNATURE_FILE.into(),
        sign::minisign_signature(key, &manifest_bytes, &trusted).into_bytes(),
    );
    by_path.insert(
        SSH_SIGNATURE_FILE.into(),
        sign::ssh_signature(key, &manifest_bytes).into_bytes(),
    );
    debug_assert!(SIGNATURE_FILES.iter().all(|f| by_path.contains_key(*f)));

    swap_in(out, &by_path)?;
    Ok(Release {
        dir: out.to_path_buf(),
        files: by_path.len(),
        public_key: public_hex,
        manifest_sha256: sha256_hex(&manifest_bytes),
        previous: previous_hash,
        changes,
    })
}

/// Writes the folder beside `out`, then renames it into place, so a reader
/// (or a static host syncing it) never sees half a release.
fn swap_in(out: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), ReleaseError> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "release".into());
    let suffix = vigil_core::random::bytes::<6>()
        .map(hex::encode)
        .unwrap_or_else(|_| format!("{}", std::process::id()));
    let staging = parent.join(format!(".{name}.new-{suffix}"));
    let written = (|| {
        fs::create_dir_all(&staging).map_err(io(&staging))?;
        let mut folders = BTreeSet::new();
        for (rel, bytes) in files {
            let path = staging.join(rel);
            if let Some(folder) = path.parent()
                && folders.insert(folder.to_path_buf())
            {
                fs::create_dir_all(folder).map_err(io(folder))?;
            }
            fs::write(&path, bytes).map_err(io(&path))?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    let old = parent.join(format!(".{name}.old-{suffix}"));
    if out.exists() {
        fs::rename(out, &old).map_err(io(out))?;
    }
    fs::rename(&staging, out).map_err(io(out))?;
    if old.exists() {
        fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::table::{Cell, Column, ColumnKind, Table, Text};

    fn tables(moscow: u64) -> Vec<Table> {
        vec![Table {
            id: "detentions-by-region".into(),
            title: Text::new("Задержания по регионам", "Detentions by region"),
            description: Text::new("д", "d"),
            columns: vec![
                Column {
                    id: "region".into(),
                    label: Text::new("Регион", "Region"),
                    description: Text::new("р", "r"),
                    kind: ColumnKind::Code,
                    vocabulary: Some("regions".into()),
                },
                Column {
                    id: "detentions".into(),
                    label: Text::new("Задержания", "Detentions"),
                    description: Text::new("з", "d"),
                    kind: ColumnKind::Integer,
                    vocabulary: None,
                },
            ],
            rows: vec![
                vec![Cell::Text("RU-MOW".into()), Cell::Int(moscow)],
                vec![Cell::Text("RU-SPE".into()), Cell::Int(9)],
            ],
        }]
    }

    fn files(moscow: u64) -> Vec<(String, Vec<u8>)> {
        let mut f = crate::opendata::files(&tables(moscow), &Licence::default());
        f.push(("index.html".into(), b"<p>numbers</p>".to_vec()));
        f
    }

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    fn all_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p.strip_prefix(dir).unwrap().display().to_string();
                    out.insert(rel, fs::read(&p).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn same_input_same_bytes_and_the_chain_shows_what_changed() {
        let tmp = tempfile::tempdir().unwrap();
        let key = ReleaseKey::generate().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let licence = Licence::default();
        write(&a, files(12), &key, day("2026-12-01"), &licence, None).unwrap();
        write(&b, files(12), &key, day("2026-12-01"), &licence, None).unwrap();
        assert_eq!(all_bytes(&a), all_bytes(&b));
        let first = crate::verify(&a, Some(&key.public_key())).unwrap();
        assert_eq!(first.previous, None);

        // The next release, in place of the first: chained, and the changed
        // count is listed.
        let old = tmp.path().join("old");
        fs::rename(&b, &old).unwrap();
        let r = write(&a, files(13), &key, day("2026-12-02"), &licence, Some(&a)).unwrap();
        assert_eq!(r.previous.as_deref(), Some(first.manifest_sha256.as_str()));
        let t = &r.changes.tables[0];
        assert_eq!((t.rows_changed, t.cells_changed, t.rows_added), (1, 1, 0));
        assert_eq!(
            (t.examples[0].before.as_str(), t.examples[0].after.as_str()),
            ("12", "13")
        );
        let json: Changes =
            serde_json::from_slice(&fs::read(a.join(CHANGES_JSON)).unwrap()).unwrap();
        assert_eq!(json, r.changes);
        let v = crate::verify_chain(&a, &old, None).unwrap();
        assert_eq!(v.previous_checked.unwrap().released, "2026-12-01");
        // The first release has no previous: a chain to it from itself fails.
        assert!(matches!(
            crate::verify_chain(&old, &old, None),
            Err(crate::VerifyError::NoPrevious { .. })
        ));
        // A previous release signed by another key is refused when writing.
        let other = ReleaseKey::generate().unwrap();
        let e = write(&b, files(1), &other, day("2026-12-03"), &licence, Some(&a)).unwrap_err();
        assert!(matches!(e, ReleaseError::Previous { .. }), "{e}");
    }

    #[test]
    fn reserved_or_unsafe_paths_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let key = ReleaseKey::generate().unwrap();
        for bad in ["manifest.json", "../x", "/etc/x", "a//b", "changes.json"] {
            let e = write(
                &tmp.path().join("r"),
                vec![(bad.into(), vec![])],
                &key,
                day("2026-12-01"),
                &Licence::default(),
                None,
            )
            .unwrap_err();
            assert!(matches!(e, ReleaseError::BadPath { .. }), "{bad}: {e}");
        }
    }
}
