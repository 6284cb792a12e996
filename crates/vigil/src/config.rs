//! Zone config files (TOML, unknown keys refused, a version key) and the data
//! folder's layout. Environment variables override a few keys for deployments
//! that keep secrets out of files.
//!
//! Everything vigil writes into a data folder is its owner's alone: folders
//! 0700, files 0600 (keys, configs, databases with their -wal and -shm), set
//! explicitly rather than left to the umask.

use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
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
    /// Say `true` when `listen` is not loopback and a TLS-terminating proxy
    /// (or nothing but a private network) stands between it and reporters.
    #[serde(default, skip_serializing_if = "is_false")]
    pub behind_tls_proxy: bool,
    /// intakeform: who runs this intake, named on every page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<OrganisationConfig>,
    /// `[abuse]`: rate limits per client and proof-of-work (see docs/zones.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abuse: Option<AbuseSection>,
    /// telegram: the Telegram bot's webhook; left out, there is no bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram: Option<TelegramSection>,
    /// `[attachments]`: files sent with reports (intakemerge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<AttachmentsSection>,
}

// --- telegram: the `[telegram]` section of intake.toml.

/// The environment variable that holds the bot token (wins over bot_token_file).
pub const TELEGRAM_TOKEN_ENV: &str = "VIGIL_TELEGRAM_BOT_TOKEN";

/// `[telegram]` in intake.toml: the bot's webhook, `POST /telegram/WEBHOOK_SECRET`.
/// Once the section is there, the token (file or environment), webhook_secret
/// and secret_token are all required. See docs/zones.md.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSection {
    /// A file holding the bot token BotFather gave (kept 0600, off the
    /// database's disk). Env VIGIL_TELEGRAM_BOT_TOKEN wins over it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token_file: Option<PathBuf>,
    /// The webhook address's last part: 32 to 256 letters, digits, _ or -.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// What setWebhook was given as secret_token; Telegram sends it in
    /// X-Telegram-Bot-Api-Secret-Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_token: Option<String>,
    /// The Bot API [default: https://api.telegram.org].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// Minutes without an answer after which a conversation is forgotten [default: 30].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_minutes: Option<u32>,
    /// Unfinished conversations held at once [default: 1000].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_conversations: Option<usize>,
}

/// Secrets never appear in Debug output.
impl std::fmt::Debug for TelegramSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramSection")
            .field("bot_token_file", &self.bot_token_file)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "secret_token",
                &self.secret_token.as_ref().map(|_| "[redacted]"),
            )
            .field("api_base", &self.api_base)
            .field("conversation_minutes", &self.conversation_minutes)
            .field("max_conversations", &self.max_conversations)
            .finish()
    }
}

impl TelegramSection {
    /// The first required key that is missing, with what to put there;
    /// `token_in_env` says whether VIGIL_TELEGRAM_BOT_TOKEN is set.
    pub fn missing(&self, token_in_env: bool) -> Option<&'static str> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|v| v.trim().is_empty());
        if self.bot_token_file.is_none() && !token_in_env {
            Some(
                "bot_token_file (a file holding the token BotFather gave; or set \
                 VIGIL_TELEGRAM_BOT_TOKEN)",
            )
        } else if blank(&self.webhook_secret) {
            Some(
                "webhook_secret (for example `openssl rand -hex 32`; the webhook is POST /telegram/WEBHOOK_SECRET)",
            )
        } else if blank(&self.secret_token) {
            Some(
                "secret_token (for example `openssl rand -hex 32`; give the same to setWebhook as secret_token)",
            )
        } else {
            None
        }
    }
}

/// The intake's `[attachments]` section (intakemerge).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentsSection {
    /// The most MiB of files one report may carry, 0 to 100; 0 takes no
    /// files [default: 20].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_mib: Option<u32>,
}

/// The most bytes of files one report may carry, or why the section is wrong.
pub fn attachment_bytes(at: &str, section: Option<&AttachmentsSection>) -> Result<usize, String> {
    let mib = section
        .and_then(|a| a.max_mib)
        .unwrap_or((vigil_intake::DEFAULT_MAX_ATTACHMENT_BYTES / (1024 * 1024)) as u32);
    if mib > 100 {
        return Err(format!(
            "{at}: [attachments] max_mib = {mib} would let one report hold more than the intake \
             can keep in memory while sealing it: choose 0 (no files) to 100"
        ));
    }
    Ok(mib as usize * 1024 * 1024)
}

/// `[organisation]` in intake.toml: the name, hotline and a short "who we
/// are", in Russian and English. Left out, the pages say "vigil intake".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationConfig {
    pub name_ru: String,
    pub name_en: String,
    /// The hotline's phone number as people should read it, say "+7 800 000-00-00".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub about_ru: String,
    pub about_en: String,
}

/// One intake the desk pulls from (`[[intakes]]` in desk.toml).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSource {
    /// The intake's base URL, as `intake_url`.
    pub url: String,
    /// The token this intake knows the desk by.
    pub token: String,
    /// `socks5h://HOST:PORT`, as `intake_proxy` (Tor for an .onion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
}

/// Where the intake learns a client's address, for rate limits.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAddressSource {
    /// No per-client limits: behind a proxy or onion service every client
    /// looks the same.
    #[default]
    None,
    /// The TCP peer: only when reporters connect to the intake directly.
    Peer,
    /// `client_address_header`, set by a trusted proxy.
    Header,
}

/// The intake's `[abuse]` section (intakechan).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbuseSection {
    /// "none" (default), "peer" or "header".
    #[serde(default)]
    pub client_address: ClientAddressSource,
    /// The header a trusted proxy puts the client's address in (for example
    /// "X-Real-IP"), with client_address = "header".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_address_header: Option<String>,
    /// Reports one client may send per hour, after its burst [default: 30].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reports_per_hour: Option<u32>,
    /// Reports one client may send at once [default: 10].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// Leading zero bits of the API's proof-of-work, 0 to 24 [default: 0, off].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_pow_bits: Option<u8>,
}

/// What the `[abuse]` section means for the intake, or why it is unsafe.
pub fn abuse_config(
    at: &str,
    section: Option<&AbuseSection>,
    listen: SocketAddr,
    behind_tls_proxy: bool,
) -> Result<vigil_intake::limits::AbuseConfig, String> {
    use vigil_intake::limits::{AbuseConfig, ClientAddress, RateLimit};
    let Some(a) = section else {
        return Ok(AbuseConfig::default());
    };
    let defaults = RateLimit::default();
    let rate = RateLimit {
        per_hour: a.reports_per_hour.unwrap_or(defaults.per_hour),
        burst: a.burst.unwrap_or(defaults.burst),
    };
    if rate.per_hour == 0 || rate.burst == 0 {
        return Err(format!(
            "{at}: [abuse] reports_per_hour and burst must be at least 1, or every reporter \
             would be refused: leave them out for the defaults (30 an hour, 10 at once), or set \
             client_address = \"none\" to limit nobody"
        ));
    }
    let bits = a.api_pow_bits.unwrap_or(0);
    if bits > vigil_intake::pow::MAX_BITS {
        return Err(format!(
            "{at}: [abuse] api_pow_bits = {bits} would take a phone minutes per report: \
             choose 0 (off) to {} (about 16 million hashes)",
            vigil_intake::pow::MAX_BITS
        ));
    }
    let client_address = match a.client_address {
        ClientAddressSource::None => ClientAddress::None,
        ClientAddressSource::Peer if is_loopback(listen.ip()) || behind_tls_proxy => {
            return Err(format!(
                "{at}: [abuse] client_address = \"peer\", but the intake listens on {listen} \
                 behind a proxy or onion service, so every reporter would look like the proxy \
                 and share one limit: use client_address = \"header\" with the header your \
                 proxy sets (client_address_header = \"X-Real-IP\"), or \"none\" for an onion \
                 service"
            ));
        }
        ClientAddressSource::Peer => ClientAddress::Peer,
        ClientAddressSource::Header => {
            if !is_loopback(listen.ip()) && !behind_tls_proxy {
                return Err(format!(
                    "{at}: [abuse] client_address = \"header\" trusts a header that only a \
                     proxy in front of the intake may set, but the intake listens on {listen} \
                     with no proxy declared: put it behind a proxy (behind_tls_proxy = true) \
                     or use client_address = \"peer\""
                ));
            }
            let name = a.client_address_header.as_deref().unwrap_or_default();
            let header = axum_header_name(name).ok_or_else(|| {
                format!(
                    "{at}: [abuse] client_address = \"header\" needs client_address_header, the \
                     name of the header your proxy sets (for example \"X-Real-IP\"); got {name:?}"
                )
            })?;
            ClientAddress::Header(header)
        }
    };
    Ok(AbuseConfig {
        client_address,
        rate,
        api_pow_bits: bits,
    })
}

fn axum_header_name(name: &str) -> Option<vigil_intake::limits::HeaderName> {
    vigil_intake::limits::HeaderName::from_bytes(name.trim().as_bytes()).ok()
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskConfigFile {
    pub version: u32,
    #[serde(default = "default_desk_listen")]
    pub listen: SocketAddr,
    /// `sqlite:PATH` or `postgres://…` [default: DATA/desk/desk.db]. Env: VIGIL_DATABASE_URL.
    pub database_url: Option<String>,
    /// The intake's base URL, for example `https://intake.example.org`. May be
    /// left out when `[[intakes]]` lists the intakes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub intake_url: String,
    /// The token the desk pulls with. Env: VIGIL_INTAKE_TOKEN (preferred).
    pub intake_token: Option<String>,
    /// `socks5h://HOST:PORT`: reach the intake through this proxy (Tor's SOCKS
    /// port for an .onion intake). Proxies from the environment are never used.
    /// Env: VIGIL_INTAKE_PROXY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intake_proxy: Option<String>,
    #[serde(default = "default_pull_interval")]
    pub pull_interval_secs: u64,
    /// Secure cookies with the `__Host-` prefix (HTTPS only). `false` is
    /// refused at start unless the desk listens on loopback.
    #[serde(default = "default_true")]
    pub secure_cookies: bool,
    /// The urgent line's alerts (deskurgent; docs/desk.md, "Urgent line").
    /// Without it, urgent reports are still put on top of the duty page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<vigil_desk::alerts::AlertsConfig>,
    /// How long uncoded reports and closed cases are kept (deskurgent;
    /// `vigil desk purge`). Without it, everything is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<vigil_desk::retention::RetentionConfig>,
    /// intakeform: more intakes to pull from (say, a public address and an
    /// onion service), beside or instead of `intake_url`. A report is stored
    /// once whichever intake it came through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intakes: Vec<IntakeSource>,
    /// The public release (`[public]`, pubsite).
    #[serde(default, skip_serializing_if = "PublicConfig::is_default")]
    pub public: PublicConfig,
}

/// `[public]` in the desk's config: what `vigil publish` needs beyond the record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicConfig {
    /// The small-number threshold: counts by a person's attributes below it
    /// are withheld [default: 5; never below 3].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<u64>,
    /// Attribution lines the sources of the data require, shown on every page
    /// and in the open data (for example "Data: OVD-Info, CC BY 3.0").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributions: Vec<String>,
    /// `[public.licence]`: the terms the data are published under
    /// [default: CC BY 4.0].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<LicenceConfig>,
}

/// `[public.licence]` (pubstream): the licence of the published data, named in
/// the manifest, the codebook, the LICENSE file and every page's footer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceConfig {
    /// SPDX identifier, e.g. `CC-BY-SA-4.0` or `ODbL-1.0`.
    pub id: String,
    /// Its full name, e.g. "Creative Commons Attribution-ShareAlike 4.0 International".
    pub name: String,
    /// Where its text is (http or https).
    pub url: String,
    /// What it lets people do, in Russian and in English (one sentence each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl LicenceConfig {
    /// The licence to publish under, or what to fix in the config.
    pub fn licence(&self) -> Result<vigil_core::release::Licence, String> {
        let blank = |s: &str| s.trim().is_empty();
        if blank(&self.id) || blank(&self.name) {
            return Err("[public.licence]: id и name не могут быть пустыми / id and name must not be empty \
                 (for example id = \"CC-BY-4.0\", name = \"Creative Commons Attribution 4.0 International\")"
                .into());
        }
        if !(self.url.starts_with("https://") || self.url.starts_with("http://"))
            || self
                .url
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        {
            return Err(format!(
                "[public.licence]: url = {:?}: нужен адрес http(s) текста лицензии / \
                 give the http(s) address of the licence's text",
                self.url
            ));
        }
        Ok(vigil_core::release::Licence {
            id: self.id.trim().to_owned(),
            name: self.name.trim().to_owned(),
            url: self.url.clone(),
            ru: self.ru.clone().filter(|s| !blank(s)),
            en: self.en.clone().filter(|s| !blank(s)),
        })
    }
}

impl PublicConfig {
    fn is_default(&self) -> bool {
        *self == PublicConfig::default()
    }
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
fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{path}: not found; this data folder has no such config: check --data (or \
         VIGIL_DATA), or write the file (see docs/zones.md)"
    )]
    Missing { path: String },
    #[error("{path}: cannot read ({reason}); run `vigil demo` or write it (see docs/zones.md)")]
    Read { path: String, reason: String },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: version {found} is not supported; this vigil reads version {CONFIG_VERSION}")]
    Version { path: String, found: u32 },
    #[error("{path}: cannot write ({reason})")]
    Write { path: String, reason: String },
    #[error(
        "secure_cookies = false is allowed only when the desk listens on loopback (127.0.0.1 or ::1), \
         not on {listen}: plain-HTTP session cookies could be read on the network. Serve the desk \
         over HTTPS with secure_cookies = true, or listen on 127.0.0.1 behind a TLS proxy.\n\
         secure_cookies = false допустимо, только если рабочее место слушает loopback (127.0.0.1 или ::1), \
         а не {listen}: cookie сессии без HTTPS можно перехватить в сети. Откройте рабочее место по HTTPS \
         с secure_cookies = true или слушайте 127.0.0.1 за TLS-прокси."
    )]
    InsecureCookies { listen: SocketAddr },
}

/// Cookies without Secure travel in clear over HTTP: allowed only where no
/// one else can listen, on loopback.
pub fn check_secure_cookies(secure_cookies: bool, listen: SocketAddr) -> Result<(), ConfigError> {
    if secure_cookies || listen.ip().is_loopback() {
        Ok(())
    } else {
        Err(ConfigError::InsecureCookies { listen })
    }
}

pub fn load<T: for<'de> Deserialize<'de>>(
    path: &Path,
    version: impl Fn(&T) -> u32,
) -> Result<T, ConfigError> {
    let text = fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ConfigError::Missing {
            path: path.display().to_string(),
        },
        kind => ConfigError::Read {
            path: path.display().to_string(),
            reason: kind.to_string(),
        },
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
        private_dir(parent).map_err(|e| err(e.kind().to_string()))?;
    }
    write_private(path, text.as_bytes()).map_err(|e| err(e.kind().to_string()))
}

/// Writes a file only its owner can read (configs can hold tokens), whole or
/// not at all (a temporary file renamed over it).
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
    // A left-over temporary file keeps its old mode through `open`.
    f.set_permissions(fs::Permissions::from_mode(0o600))?;
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

/// Creates a folder (and missing parents) only its owner can enter, and
/// tightens it to 0700 if it already existed.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
}

/// For an SQLite URL, creates the database file 0600 before SQLite does, and
/// tightens an existing one with its -wal and -shm. SQLite gives the -wal and
/// -shm files it creates the database file's mode, so they stay 0600 too.
/// Other URLs (PostgreSQL) are left alone.
pub fn prepare_sqlite_file(url: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Ok(());
    };
    let path = rest.strip_prefix("//").unwrap_or(rest);
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let path = Path::new(path);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        private_dir(parent)?;
    }
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match fs::set_permissions(&name, fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

/// Whether a file's mode lets its group or anyone else read it.
pub fn readable_by_others(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

/// The default data folder, used when neither `--data` nor `VIGIL_DATA` names one.
pub const DEFAULT_DATA: &str = "vigil-data";

#[derive(Debug, thiserror::Error)]
pub enum DataFolderError {
    #[error(
        "no data folder was given, and there is no ./{DEFAULT_DATA} here to use instead: \
         give the folder that `vigil keygen` or `vigil demo` made with --data DIR \
         (or VIGIL_DATA=DIR){hint}"
    )]
    NoneGiven { hint: String },
    #[error(
        "data folder {path} does not exist: check --data DIR (or VIGIL_DATA); \
         `vigil keygen --data DIR` makes a new one"
    )]
    Absent { path: String },
    #[error("data folder {path} is not a folder: give a folder with --data DIR (or VIGIL_DATA)")]
    NoFolder { path: String },
}

/// Checks that a zone's data folder exists before anything reads from or
/// writes into it, so that a forgotten `--data` gets its own message instead
/// of "desk.toml not found".
pub fn require_data_folder(root: &Path) -> Result<(), DataFolderError> {
    match fs::metadata(root) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(DataFolderError::NoFolder {
            path: root.display().to_string(),
        }),
        Err(_) if root == Path::new(DEFAULT_DATA) => {
            let hint = if Path::new("vigil-demo").is_dir() {
                " (`vigil demo` wrote ./vigil-demo here: --data vigil-demo)".to_owned()
            } else {
                String::new()
            };
            Err(DataFolderError::NoneGiven { hint })
        }
        Err(_) => Err(DataFolderError::Absent {
            path: root.display().to_string(),
        }),
    }
}

/// The smallest and largest request body an intake may accept: below, a
/// report with a little context no longer fits; above, a flood of big
/// bodies fills memory and disk quickly.
pub const BODY_LIMITS: std::ops::RangeInclusive<usize> = 4 * 1024..=4 * 1024 * 1024;

/// SHA-256 of the empty string: a token hash that any empty token matches.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Refuses an intake config that would run unsafely, naming the key and the fix.
pub fn check_intake(
    path: &Path,
    file: &IntakeConfigFile,
    listen: SocketAddr,
) -> Result<(), String> {
    let at = path.display();
    if file.recipients.iter().all(|r| r.trim().is_empty()) {
        return Err(format!(
            "{at}: recipients is empty, so reports could not be sealed to anyone: put the \
             desk's recipient there (recipients = [\"age1…\"], printed by `vigil keygen` and \
             kept in DIR/desk/recipient.txt)"
        ));
    }
    let hash = file.desk_token_sha256.trim();
    if hash.is_empty() || hash.eq_ignore_ascii_case(EMPTY_SHA256) {
        return Err(format!(
            "{at}: desk_token_sha256 is empty (or the hash of an empty token), so anyone could \
             pull: make a token with `openssl rand -hex 32`, give it to the desk, and put \
             `printf %s TOKEN | sha256sum` here"
        ));
    }
    if let Some(limit) = file.max_body_bytes
        && !BODY_LIMITS.contains(&limit)
    {
        return Err(format!(
            "{at}: max_body_bytes = {limit} is outside {}..={} bytes: leave it out for the \
             default (65536) or choose a value in that range",
            BODY_LIMITS.start(),
            BODY_LIMITS.end()
        ));
    }
    if let Some(telegram) = &file.telegram {
        let in_env = std::env::var_os(TELEGRAM_TOKEN_ENV).is_some_and(|v| !v.is_empty());
        if let Some(key) = telegram.missing(in_env) {
            return Err(format!(
                "{at}: the [telegram] section is half filled: {key} is missing. Fill it in, \
                 or remove the whole section to run without the bot (see docs/intake.md)"
            ));
        }
    }
    if !is_loopback(listen.ip()) && !file.behind_tls_proxy {
        return Err(format!(
            "{at}: the intake would listen on {listen} with plain HTTP, where reporters' \
             reports and receipts cross the network unencrypted: listen on 127.0.0.1 behind a \
             TLS-terminating proxy or a Tor onion service, or, if a TLS proxy already stands \
             in front of {listen}, say so with behind_tls_proxy = true"
        ));
    }
    abuse_config(
        &at.to_string(),
        file.abuse.as_ref(),
        listen,
        file.behind_tls_proxy,
    )?;
    attachment_bytes(&at.to_string(), file.attachments.as_ref())?;
    Ok(())
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// VIGIL_DATABASE_URL, else the config's, else the zone's SQLite file.
pub fn database_url(from_file: Option<&str>, default: String) -> String {
    std::env::var("VIGIL_DATABASE_URL")
        .ok()
        .or_else(|| from_file.map(str::to_owned))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn sqlite_files_are_made_and_tightened_to_0600_in_every_url_form() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (url, file) in [
            (format!("sqlite:{}", d.join("a.db").display()), "a.db"),
            (format!("sqlite://{}", d.join("b.db").display()), "b.db"),
            (
                format!("sqlite:{}?mode=rwc", d.join("c.db").display()),
                "c.db",
            ),
            (
                format!("sqlite:{}", d.join("new/d.db").display()),
                "new/d.db",
            ),
        ] {
            prepare_sqlite_file(&url).unwrap();
            assert_eq!(mode(&d.join(file)), 0o600, "{url}");
        }
        assert_eq!(mode(&d.join("new")), 0o700);
        // An older, looser database and its -wal are tightened.
        for f in ["e.db", "e.db-wal"] {
            fs::write(d.join(f), b"").unwrap();
            fs::set_permissions(d.join(f), fs::Permissions::from_mode(0o644)).unwrap();
        }
        prepare_sqlite_file(&format!("sqlite:{}", d.join("e.db").display())).unwrap();
        assert_eq!(mode(&d.join("e.db")), 0o600);
        assert_eq!(mode(&d.join("e.db-wal")), 0o600);
        // Nothing to do for memory or PostgreSQL.
        prepare_sqlite_file("sqlite::memory:").unwrap();
        prepare_sqlite_file("postgres://vigil@db/intake").unwrap();
    }

    #[test]
    fn insecure_cookies_only_on_loopback() {
        let at = |s: &str| {
            s.parse::<SocketAddr>()
                .unwrap_or_else(|_| default_desk_listen())
        };
        assert!(check_secure_cookies(false, at("127.0.0.1:8081")).is_ok());
        assert!(check_secure_cookies(false, at("[::1]:8081")).is_ok());
        assert!(check_secure_cookies(true, at("0.0.0.0:8081")).is_ok());
        for addr in ["0.0.0.0:8081", "192.0.2.7:8081", "[::]:8081"] {
            let e = check_secure_cookies(false, at(addr))
                .err()
                .map(|e| e.to_string());
            assert!(
                e.is_some_and(|e| e.contains("secure_cookies = false")),
                "{addr}"
            );
        }
    }

    // intakechan: the [abuse] section and what makes it unsafe.
    #[test]
    fn unsafe_abuse_settings_are_refused_with_the_fix() {
        use vigil_intake::limits::ClientAddress;
        let section = |text: &str| toml::from_str::<AbuseSection>(text).unwrap();
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let refused = |text: &str, listen: SocketAddr, proxy: bool, says: &str| {
            let e = abuse_config("intake.toml", Some(&section(text)), listen, proxy).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        };
        refused(
            "client_address = \"peer\"",
            local,
            false,
            "look like the proxy",
        );
        refused(
            "client_address = \"peer\"",
            public,
            true,
            "look like the proxy",
        );
        refused(
            "client_address = \"header\"",
            public,
            false,
            "no proxy declared",
        );
        refused(
            "client_address = \"header\"",
            local,
            false,
            "needs client_address_header",
        );
        refused("api_pow_bits = 30", local, false, "choose 0 (off) to 24");
        refused("burst = 0", local, false, "at least 1");
        refused("reports_per_hour = 0", local, false, "at least 1");
        assert!(toml::from_str::<AbuseSection>("client_address = \"tor\"").is_err());
        assert!(toml::from_str::<AbuseSection>("rate = 5").is_err());
        let ok = abuse_config(
            "intake.toml",
            Some(&section("client_address = \"header\"\nclient_address_header = \"X-Real-IP\"\napi_pow_bits = 16")),
            local,
            false,
        )
        .unwrap();
        assert_eq!(
            ok.client_address,
            ClientAddress::Header(vigil_intake::limits::HeaderName::from_static("x-real-ip"))
        );
        assert_eq!(ok.api_pow_bits, 16);
        let peer = abuse_config(
            "intake.toml",
            Some(&section("client_address = \"peer\"")),
            public,
            false,
        )
        .unwrap();
        assert_eq!(peer.client_address, ClientAddress::Peer);
        assert_eq!(
            abuse_config("intake.toml", None, local, false).unwrap(),
            vigil_intake::limits::AbuseConfig::default()
        );
    }
}
