//! Zone config files (TOML, unknown keys refused, a version key) and the data
//! folder's layout. Environment variables override a few keys for deployments
//! that keep secrets out of files.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const CONFIG_VERSION: u32 = 1;

/// Where each zone keeps its files inside the data folder.
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn new(root: &Path) -> Self {
        Layout {
            root: root.to_path_buf(),
        }
    }
    pub fn intake_dir(&self) -> PathBuf {
        self.root.join("intake")
    }
    pub fn desk_dir(&self) -> PathBuf {
        self.root.join("desk")
    }
    pub fn intake_config(&self) -> PathBuf {
        self.intake_dir().join("intake.toml")
    }
    pub fn desk_config(&self) -> PathBuf {
        self.desk_dir().join("desk.toml")
    }
    pub fn receipt_key(&self) -> PathBuf {
        self.intake_dir().join("receipt.key")
    }
    pub fn identity(&self) -> PathBuf {
        self.desk_dir().join("identity.age")
    }
    pub fn recipient(&self) -> PathBuf {
        self.desk_dir().join("recipient.txt")
    }
    pub fn release_key(&self) -> PathBuf {
        self.desk_dir().join("release-key.age")
    }
    pub fn release_public_key(&self) -> PathBuf {
        self.desk_dir().join("release-key.pub")
    }
    pub fn site(&self) -> PathBuf {
        self.root.join("public").join("site")
    }
    pub fn default_intake_db(&self) -> String {
        vigil_store::sqlite_url(&self.intake_dir().join("intake.db"))
    }
    pub fn default_desk_db(&self) -> String {
        vigil_store::sqlite_url(&self.desk_dir().join("desk.db"))
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeConfigFile {
    pub version: u32,
    #[serde(default = "default_intake_listen")]
    pub listen: SocketAddr,
    /// `sqlite:PATH` or `postgres://…` [default: DATA/intake/intake.db]. Env: VIGIL_DATABASE_URL.
    pub database_url: Option<String>,
    /// The desk's public recipients (`age1…`); every report is sealed to all of them.
    pub recipients: Vec<String>,
    /// SHA-256 (hex) of the token the desk pulls with.
    pub desk_token_sha256: String,
    pub max_body_bytes: Option<usize>,
    /// Days a receipt's hash is kept after its report came in, 1 to 3650
    /// [default: 90]. Older ones are forgotten at start and hourly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_days: Option<u32>,
    /// The receipt key's file; keep it off the database's disk, so that a
    /// seized database alone cannot link a receipt to a report
    /// [default: DATA/intake/receipt.key]. Env: VIGIL_RECEIPT_KEY_FILE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_key_file: Option<PathBuf>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskConfigFile {
    pub version: u32,
    #[serde(default = "default_desk_listen")]
    pub listen: SocketAddr,
    /// `sqlite:PATH` or `postgres://…` [default: DATA/desk/desk.db]. Env: VIGIL_DATABASE_URL.
    pub database_url: Option<String>,
    /// The intake's base URL, for example `https://intake.example.org`.
    pub intake_url: String,
    /// The token the desk pulls with. Env: VIGIL_INTAKE_TOKEN (preferred).
    pub intake_token: Option<String>,
    #[serde(default = "default_pull_interval")]
    pub pull_interval_secs: u64,
    /// Mark the session cookie Secure (HTTPS only). Turn off only on loopback.
    #[serde(default = "default_true")]
    pub secure_cookies: bool,
}

fn default_intake_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_desk_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8081))
}
fn default_pull_interval() -> u64 {
    5
}
fn default_true() -> bool {
    true
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read ({reason}); run `vigil demo` or write it (see docs/zones.md)")]
    Read { path: String, reason: String },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: version {found} is not supported; this vigil reads version {CONFIG_VERSION}")]
    Version { path: String, found: u32 },
    #[error("{path}: cannot write ({reason})")]
    Write { path: String, reason: String },
}

pub fn load<T: for<'de> Deserialize<'de>>(
    path: &Path,
    version: impl Fn(&T) -> u32,
) -> Result<T, ConfigError> {
    let text = fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        reason: e.kind().to_string(),
    })?;
    let value: T = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let found = version(&value);
    if found != CONFIG_VERSION {
        return Err(ConfigError::Version {
            path: path.display().to_string(),
            found,
        });
    }
    Ok(value)
}

pub fn save<T: Serialize>(path: &Path, value: &T) -> Result<(), ConfigError> {
    let err = |reason: String| ConfigError::Write {
        path: path.display().to_string(),
        reason,
    };
    let text = toml::to_string_pretty(value).map_err(|e| err(e.to_string()))?;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| err(e.kind().to_string()))?;
    }
    write_private(path, text.as_bytes()).map_err(|e| err(e.kind().to_string()))
}

/// Writes a file only its owner can read (configs can hold tokens).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

/// VIGIL_RECEIPT_KEY_FILE, else the intake config's, else DATA/intake/receipt.key.
pub fn receipt_key_file(from_file: Option<&Path>, default: PathBuf) -> PathBuf {
    std::env::var_os("VIGIL_RECEIPT_KEY_FILE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| from_file.map(Path::to_path_buf))
        .unwrap_or(default)
}

/// VIGIL_DATABASE_URL, else the config's, else the zone's SQLite file.
pub fn database_url(from_file: Option<&str>, default: String) -> String {
    std::env::var("VIGIL_DATABASE_URL")
        .ok()
        .or_else(|| from_file.map(str::to_owned))
        .unwrap_or(default)
}
