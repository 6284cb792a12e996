//! Key files. Every secret key vigil writes is encrypted with a passphrase
//! (age's scrypt mode), so a copied or stolen file reveals nothing without it.
//! The desk identity file is a standard passphrase-protected age identity: the
//! `age -d -i identity.age` tool accepts it as it is.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

pub use age::secrecy::{ExposeSecret, SecretString};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::random;
use crate::seal::DeskIdentity;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: already exists; refusing to overwrite a key (move it away first)")]
    Exists { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: wrong passphrase, or the file is not a vigil key file")]
    Decrypt { path: String },
    #[error("{path}: the decrypted file holds no usable key")]
    Malformed { path: String },
    #[error("encryption failed")]
    Encrypt,
    #[error("the operating system's random number generator failed")]
    Random,
    #[error("the passphrase is empty; choose one of at least 8 characters")]
    EmptyPassphrase,
}

/// The scrypt work factor (log2 N) for key files. `None` lets age choose one
/// that takes about a second on this machine; tests pass a small one.
pub type WorkFactor = Option<u8>;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `secret` encrypted to `passphrase`, readable only by its owner (a
/// missing folder is made 0700), and never over an existing file.
fn write_secret_file(
    path: &Path,
    secret: &[u8],
    passphrase: &SecretString,
    work_factor: WorkFactor,
) -> Result<(), KeyError> {
    use age::secrecy::ExposeSecret;
    if passphrase.expose_secret().is_empty() {
        return Err(KeyError::EmptyPassphrase);
    }
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    if let Some(wf) = work_factor {
        recipient.set_work_factor(wf);
    }
    let encrypted = age::encrypt(&recipient, secret).map_err(|_| KeyError::Encrypt)?;
    if let Some(parent) = path.parent().filter(|p| !p.exists()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(io_err(parent))?;
    }
    let exists = || KeyError::Exists {
        path: path.display().to_string(),
    };
    if path.exists() {
        return Err(exists());
    }
    // Written whole beside it, then linked into place: a crash leaves either
    // no key file or a complete one (never a truncated key that no passphrase
    // opens), and linking, unlike renaming, never replaces an existing file.
    let suffix = hex::encode(random::bytes::<6>().map_err(|_| KeyError::Random)?);
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(format!(".tmp-{suffix}"));
    let tmp = std::path::PathBuf::from(tmp_name);
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        // The mode given to `open` passes through the umask; this does not.
        file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        file.write_all(&encrypted)?;
        file.sync_all()?;
        fs::hard_link(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(exists()),
        Err(e) => Err(io_err(path)(e)),
    }
}

fn read_secret_file(
    path: &Path,
    passphrase: &SecretString,
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let encrypted = fs::read(path).map_err(io_err(path))?;
    let identity = age::scrypt::Identity::new(passphrase.clone());
    age::decrypt(&identity, &encrypted)
        .map(Zeroizing::new)
        .map_err(|_| KeyError::Decrypt {
            path: path.display().to_string(),
        })
}

pub fn write_identity(
    path: &Path,
    identity: &DeskIdentity,
    passphrase: &SecretString,
    work_factor: WorkFactor,
) -> Result<(), KeyError> {
    let text = Zeroizing::new(format!(
        "# vigil desk identity\n# public key: {}\n{}\n",
        identity.recipient(),
        identity.secret_text().as_str()
    ));
    write_secret_file(path, text.as_bytes(), passphrase, work_factor)
}

pub fn read_identity(path: &Path, passphrase: &SecretString) -> Result<DeskIdentity, KeyError> {
    let clear = read_secret_file(path, passphrase)?;
    std::str::from_utf8(&clear)
        .ok()
        .and_then(DeskIdentity::from_secret_text)
        .ok_or_else(|| KeyError::Malformed {
            path: path.display().to_string(),
        })
}

/// The key that signs public releases. The ed25519 secret is wiped on drop.
pub struct ReleaseKey(SigningKey);

impl ReleaseKey {
    pub fn generate() -> Result<Self, KeyError> {
        let seed = Zeroizing::new(random::bytes::<32>().map_err(|_| KeyError::Random)?);
        Ok(ReleaseKey(SigningKey::from_bytes(&seed)))
    }

    /// The public key as 64 hexadecimal digits, as published beside releases.
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    pub fn public_key(&self) -> VerifyingKey {
        self.0.verifying_key()
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    pub fn write(
        &self,
        path: &Path,
        passphrase: &SecretString,
        work_factor: WorkFactor,
    ) -> Result<(), KeyError> {
        let text = Zeroizing::new(format!(
            "vigil-release-key-v1 {}\n",
            hex::encode(self.0.to_bytes())
        ));
        write_secret_file(path, text.as_bytes(), passphrase, work_factor)
    }

    pub fn read(path: &Path, passphrase: &SecretString) -> Result<Self, KeyError> {
        let clear = read_secret_file(path, passphrase)?;
        let malformed = || KeyError::Malformed {
            path: path.display().to_string(),
        };
        let text = std::str::from_utf8(&clear).map_err(|_| malformed())?;
        let hex_seed = text
            .trim()
            .strip_prefix("vigil-release-key-v1 ")
            .ok_or_else(malformed)?;
        let mut seed = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_seed, seed.as_mut()).map_err(|_| malformed())?;
        Ok(ReleaseKey(SigningKey::from_bytes(&seed)))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("not an ed25519 public key (64 hexadecimal digits)")]
pub struct PublicKeyError;

pub fn parse_public_key(hex_key: &str) -> Result<VerifyingKey, PublicKeyError> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_key.trim(), &mut bytes).map_err(|_| PublicKeyError)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| PublicKeyError)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn identity_file_round_trips_and_is_never_clear() {
        let dir = tempfile_dir();
        let path = dir.join("identity.age");
        let id = DeskIdentity::generate();
        write_identity(&path, &id, &pass("correct horse"), Some(10)).unwrap();
        let raw = fs::read(&path).unwrap();
        assert!(raw.starts_with(b"age-encryption.org/v1"));
        assert!(!String::from_utf8_lossy(&raw).contains("AGE-SECRET-KEY"));
        let back = read_identity(&path, &pass("correct horse")).unwrap();
        assert_eq!(back.recipient(), id.recipient());
        assert!(matches!(
            read_identity(&path, &pass("wrong")),
            Err(KeyError::Decrypt { .. })
        ));
        assert!(matches!(
            write_identity(&path, &id, &pass("x"), Some(10)),
            Err(KeyError::Exists { .. })
        ));
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn key_files_and_new_folders_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile_dir();
        let path = dir.join("new/deeper/release.age");
        ReleaseKey::generate()
            .unwrap()
            .write(&path, &pass("pw"), Some(10))
            .unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&dir.join("new/deeper")), 0o700);
        assert_eq!(mode(&dir.join("new")), 0o700);
        // Nothing but the key is left beside it.
        let names: Vec<_> = fs::read_dir(dir.join("new/deeper"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["release.age"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn release_key_round_trips() {
        let dir = tempfile_dir();
        let path = dir.join("release.age");
        let key = ReleaseKey::generate().unwrap();
        key.write(&path, &pass("pw"), Some(10)).unwrap();
        let back = ReleaseKey::read(&path, &pass("pw")).unwrap();
        assert_eq!(back.public_hex(), key.public_hex());
        let vk = parse_public_key(&key.public_hex()).unwrap();
        let sig = ed25519_dalek::Signature::from_bytes(&key.sign(b"m"));
        assert!(vk.verify_strict(b"m", &sig).is_ok());
        fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let n = hex::encode(random::bytes::<8>().unwrap());
        let d = std::env::temp_dir().join(format!("vigil-keys-test-{n}"));
        fs::create_dir_all(&d).unwrap();
        d
    }
}
