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

/// A file written straight into the staging folder, hashed as it is written
/// (a record table too large to hold in memory).
pub struct StagedFile {
    rel: String,
    path: PathBuf,
    /// The buffer sits above the hashing (pubfast): the hash is updated a
    /// buffer at a time, not once per small write of the CSV or JSON writers.
    out: std::io::BufWriter<Hashed>,
}

/// A file that hashes what is written into it.
struct Hashed {
    file: fs::File,
    hash: sha2::Sha256,
}

impl std::io::Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.file.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl std::io::Write for StagedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.out.write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// The folder a release is written into beside its target, swapped in whole
/// when complete and removed if anything fails before.
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    suffix: String,
    /// Files written so far (relative path → SHA-256, lowercase hex).
    written: BTreeMap<String, String>,
    done: bool,
}

impl Staging {
    /// Refuses a non-empty `out` that is not a release, then makes the
    /// staging folder beside it.
    pub fn new(out: &Path) -> Result<Staging, ReleaseError> {
        if out.exists() && !out.join(MANIFEST_FILE).exists() {
            let empty = fs::read_dir(out).map_err(io(out))?.next().is_none();
            if !empty {
                return Err(ReleaseError::NotARelease {
                    path: out.display().to_string(),
                });
            }
        }
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
        let dir = parent.join(format!(".{name}.new-{suffix}"));
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            suffix: format!("{name}.old-{suffix}"),
            written: BTreeMap::new(),
            done: false,
        })
    }

    /// Starts a file of the release; `close` it to count it in.
    pub fn create(&self, rel: &str) -> Result<StagedFile, ReleaseError> {
        check_path(rel)?;
        self.create_any(rel)
    }

    fn create_any(&self, rel: &str) -> Result<StagedFile, ReleaseError> {
        if self.written.contains_key(rel) {
            return Err(ReleaseError::BadPath {
                path: rel.to_owned(),
                why: "given twice",
            });
        }
        let path = self.dir.join(rel);
        if let Some(folder) = path.parent() {
            fs::create_dir_all(folder).map_err(io(folder))?;
        }
        let file = fs::File::create(&path).map_err(io(&path))?;
        Ok(StagedFile {
            rel: rel.to_owned(),
            out: std::io::BufWriter::with_capacity(
                1 << 16,
                Hashed {
                    file,
                    hash: sha2::Digest::new(),
                },
            ),
            path,
        })
    }

    /// Finishes a file started with `create`.
    pub fn close(&mut self, f: StagedFile) -> Result<(), ReleaseError> {
        let hashed = f
            .out
            .into_inner()
            .map_err(|e| io(&f.path)(e.into_error()))?;
        let hash = hex::encode(sha2::Digest::finalize(hashed.hash));
        self.written.insert(f.rel, hash);
        Ok(())
    }

    /// A private scratch file inside the staging folder (not part of the
    /// release: remove it before `write_staged`).
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.dir.join(format!(".scratch-{name}"))
    }

    fn put(&mut self, rel: &str, bytes: &[u8]) -> Result<(), ReleaseError> {
        use std::io::Write;
        let mut f = self.create_any(rel)?;
        f.write_all(bytes).map_err(io(&self.dir.join(rel)))?;
        self.close(f)
    }

    /// Moves the complete folder into place, so a reader (or a static host
    /// syncing it) never sees half a release.
    fn swap_in(&mut self) -> Result<(), ReleaseError> {
        let out = self.out.clone();
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let old = parent.join(format!(".{}", self.suffix));
        if out.exists() {
            fs::rename(&out, &old).map_err(io(&out))?;
        }
        fs::rename(&self.dir, &out).map_err(io(&out))?;
        self.done = true;
        if old.exists() {
            fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
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
    check_folders(by_path.keys())?;
    let staging = Staging::new(out)?;
    write_staged(staging, by_path, key, released, licence, previous)
}

/// A file and a folder of the same name cannot both exist.
fn check_folders<'a>(paths: impl Iterator<Item = &'a String>) -> Result<(), ReleaseError> {
    let all: BTreeSet<&String> = paths.collect();
    for rel in &all {
        let folder = format!("{rel}/");
        if all
            .range::<&String, _>(&&folder..)
            .next()
            .is_some_and(|k| k.starts_with(&folder))
        {
            return Err(ReleaseError::BadPath {
                path: (*rel).clone(),
                why: "is both a file and a folder",
            });
        }
    }
    Ok(())
}

/// `write` for a release some of whose files are already in `staging` (written
/// there with `Staging::create`); `files` are the rest, held in memory.
pub fn write_staged(
    mut staging: Staging,
    files: BTreeMap<String, Vec<u8>>,
    key: &ReleaseKey,
    released: Day,
    licence: &Licence,
    previous: Option<&Path>,
) -> Result<Release, ReleaseError> {
    for rel in files.keys() {
        check_path(rel)?;
        if staging.written.contains_key(rel) {
            return Err(ReleaseError::BadPath {
                path: rel.clone(),
                why: "given twice",
            });
        }
    }
    check_folders(files.keys().chain(staging.written.keys()))?;

    let public = key.public_key();
    let check_previous = || match previous {
        None => Ok((None, None)),
        Some(dir) => {
            let failed = |reason: String| ReleaseError::Previous {
                path: dir.display().to_string(),
                reason,
            };
            let v = crate::verify(dir, Some(&public)).map_err(|e| failed(e.to_string()))?;
            let bytes = fs::read(dir.join(MANIFEST_FILE)).map_err(|e| failed(e.to_string()))?;
            Ok((Some(sha256_hex(&bytes)), Some(v.released)))
        }
    };
    let released = released.to_string();
    // pub4: the previous release is verified (every file hashed) on a thread
    // of its own while the tables are compared; nothing is written before
    // both are done, and a previous release that does not verify still stops
    // the release.
    let (checked, mut changes) = std::thread::scope(|scope| {
        let checking = std::thread::Builder::new()
            .name("release-verify".into())
            .spawn_scoped(scope, check_previous);
        let changes = {
            let staged_dir = staging.dir.clone();
            let staged = &staging.written;
            let open_new = |rel: &str| -> Option<Box<dyn std::io::Read + '_>> {
                if let Some(bytes) = files.get(rel) {
                    Some(Box::new(bytes.as_slice()))
                } else if staged.contains_key(rel) {
                    fs::File::open(staged_dir.join(rel))
                        .ok()
                        .map(|f| Box::new(std::io::BufReader::new(f)) as Box<dyn std::io::Read>)
                } else {
                    None
                }
            };
            changes::compare(previous, &open_new, &released, None, None)
        };
        let stopped = || {
            Err(ReleaseError::Previous {
                path: previous
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                reason: "the thread verifying it stopped".into(),
            })
        };
        let checked = match checking {
            Ok(t) => t.join().unwrap_or_else(|_| stopped()),
            // No thread to spare: verified here.
            Err(_) => check_previous(),
        };
        (checked, changes)
    });
    let (previous_hash, previous_released): (Option<String>, Option<String>) = checked?;
    changes.previous_released = previous_released;
    changes.previous_manifest = previous_hash.clone();

    for (rel, bytes) in &files {
        staging.put(rel, bytes)?;
    }
    drop(files);
    let public_hex = key.public_hex();
    staging.put(CHANGES_JSON, &changes.to_json())?;
    staging.put(CHANGES_HTML, changes.page().as_bytes())?;
    staging.put(PUBLIC_KEY_FILE, format!("{public_hex}\n").as_bytes())?;
    staging.put(
        MINISIGN_PUBLIC_KEY_FILE,
        sign::minisign_public_key(&public).as_bytes(),
    )?;
    staging.put(
        SSH_ALLOWED_SIGNERS_FILE,
        sign::ssh_allowed_signers(&public).as_bytes(),
    )?;

    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        released: released.clone(),
        public_key: public_hex.clone(),
        previous: previous_hash.clone(),
        licence: Some(licence.clone()),
        files: staging.written.clone(),
    };
    let manifest_bytes = manifest.to_bytes();
    let trusted = format!(
        "vigil release of {released}, previous manifest {}",
        previous_hash.as_deref().unwrap_or("none")
    );
    staging.put(MANIFEST_FILE, &manifest_bytes)?;
    staging.put(
        SIGNATURE_FILE,
        format!("{}\n", hex::encode(key.sign(&manifest_bytes))).as_bytes(),
    )?;
    staging.put(
        MINISIGN_SIGNATURE_FILE,
        sign::minisign_signature(key, &manifest_bytes, &trusted).as_bytes(),
    )?;
    staging.put(
        SSH_SIGNATURE_FILE,
        sign::ssh_signature(key, &manifest_bytes).as_bytes(),
    )?;
    debug_assert!(
        SIGNATURE_FILES
            .iter()
            .all(|f| staging.written.contains_key(*f))
    );
    let files = staging.written.len();
    staging.swap_in()?;
    Ok(Release {
        dir: staging.out.clone(),
        files,
        public_key: public_hex,
        manifest_sha256: sha256_hex(&manifest_bytes),
        previous: previous_hash,
        changes,
    })
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
        // The changes name the release they follow (verified on a thread of
        // its own while the tables were compared, pub4).
        assert_eq!(r.changes.previous_manifest, r.previous);
        assert_eq!(r.changes.previous_released.as_deref(), Some("2026-12-01"));
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
