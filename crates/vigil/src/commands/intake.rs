//! `vigil intake`: the internet-facing zone.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use vigil_core::{ReceiptKey, Recipients};
use vigil_intake::{DEFAULT_MAX_BODY_BYTES, DEFAULT_RECEIPT_DAYS, Intake, IntakeConfig};
use zeroize::Zeroizing;

use super::{Result, shutdown_signal};
use crate::cli::IntakeArgs;
use crate::config::{self, IntakeConfigFile, Layout};

/// The intake's secret for hashing receipts: made on first start, kept readable
/// only by its owner. Losing it only means old receipts can no longer be matched.
pub fn receipt_key(path: &Path) -> Result<ReceiptKey> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut bytes)
                .map_err(|_| format!("{}: not 64 hexadecimal digits", path.display()))?;
            // An older vigil may have left it readable by others.
            fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
            Ok(ReceiptKey::from_bytes(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = ReceiptKey::generate()?;
            // Only a folder made here is made private: receipt_key_file may
            // name a file in a shared folder that must keep its mode.
            if let Some(parent) = path.parent().filter(|p| !p.exists()) {
                config::private_dir(parent)?;
            }
            config::write_private(path, hex::encode(key.as_bytes()).as_bytes())?;
            Ok(key)
        }
        Err(e) => Err(format!("{}: {e}", path.display()).into()),
    }
}

/// The longest a receipt's hash may be kept, in days (ten years).
const MAX_RECEIPT_DAYS: u32 = 3650;

/// Builds a running intake from its config file (the writer task starts here).
pub async fn build(layout: &Layout, file: &IntakeConfigFile) -> Result<Arc<Intake>> {
    let recipients = Recipients::parse(&file.recipients.join("\n"))
        .map_err(|e| format!("intake config, recipients: {e}"))?;
    let desk_token_hash = vigil_core::token::parse_hash(&file.desk_token_sha256)
        .ok_or("intake config, desk_token_sha256: expected 64 hexadecimal digits")?;
    let receipt_days = file.receipt_days.unwrap_or(DEFAULT_RECEIPT_DAYS);
    if !(1..=MAX_RECEIPT_DAYS).contains(&receipt_days) {
        return Err(format!(
            "intake config, receipt_days: {receipt_days} is out of range; give the days a receipt is kept, from 1 to {MAX_RECEIPT_DAYS} (default {DEFAULT_RECEIPT_DAYS})"
        )
        .into());
    }
    let url = config::database_url(file.database_url.as_deref(), layout.default_intake_db());
    config::private_dir(&layout.intake_dir())?;
    config::prepare_sqlite_file(&url)
        .map_err(|e| format!("intake database: cannot create it 0600: {e}"))?;
    let store = vigil_store::open_intake(&url).await?;
    // A database from an older vigil (before secure_delete) keeps purged
    // ciphertext in its free pages until rewritten. A failure (a full disk:
    // VACUUM needs room for a copy) must not keep the intake from serving.
    if let Err(e) = store.intake_vacuum().await {
        tracing::warn!(error = %e, "intake database: could not rewrite it (VACUUM); freed pages from before secure_delete may keep old ciphertext");
    }
    let key_file = config::receipt_key_file(file.receipt_key_file.as_deref(), layout.receipt_key());
    let mut config = IntakeConfig::new(recipients, receipt_key(&key_file)?, desk_token_hash);
    config.max_body_bytes = file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
    config.receipt_days = receipt_days;
    if let Some(org) = &file.organisation {
        config.organisation = vigil_intake::Organisation {
            name_ru: org.name_ru.clone(),
            name_en: org.name_en.clone(),
            phone: org.phone.clone().filter(|p| !p.trim().is_empty()),
            about_ru: org.about_ru.clone(),
            about_en: org.about_en.clone(),
        };
    }
    // check_intake refused an unsafe [abuse] section already; `build` is also
    // called by `vigil demo`, so it is read here as well.
    config.abuse = config::abuse_config(
        "intake config",
        file.abuse.as_ref(),
        file.listen,
        file.behind_tls_proxy,
    )?;
    if let Some(section) = &file.telegram {
        config.telegram = Some(telegram(section)?);
    }
    config.max_attachment_bytes =
        config::attachment_bytes("intake config", file.attachments.as_ref())?;
    Ok(Intake::new(config, store))
}

/// telegram: the bot's settings from `[telegram]` (already checked for
/// missing keys), the token from the environment or its file. The token is
/// never printed, not even in an error.
fn telegram(section: &config::TelegramSection) -> Result<vigil_intake::TelegramConfig> {
    let bot_token = match std::env::var(config::TELEGRAM_TOKEN_ENV) {
        Ok(t) if !t.is_empty() => Zeroizing::new(t),
        _ => {
            let path = section
                .bot_token_file
                .as_deref()
                .ok_or("intake config, [telegram]: bot_token_file is missing")?;
            if config::readable_by_others(path) {
                eprintln!(
                    "warning: {} holds the Telegram bot token and other users of this machine can read it: chmod 600 it",
                    path.display()
                );
            }
            let text = Zeroizing::new(fs::read_to_string(path).map_err(|e| {
                format!(
                    "intake config, [telegram] bot_token_file: cannot read {} ({})",
                    path.display(),
                    e.kind()
                )
            })?);
            Zeroizing::new(text.trim().to_owned())
        }
    };
    let settings = vigil_intake::TelegramSettings {
        bot_token,
        webhook_secret: Zeroizing::new(section.webhook_secret.clone().unwrap_or_default()),
        secret_token: Zeroizing::new(section.secret_token.clone().unwrap_or_default()),
        api_base: section
            .api_base
            .clone()
            .unwrap_or_else(|| vigil_intake::DEFAULT_API_BASE.to_owned()),
        conversation_minutes: section
            .conversation_minutes
            .unwrap_or(vigil_intake::DEFAULT_CONVERSATION_MINUTES),
        max_conversations: section
            .max_conversations
            .unwrap_or(vigil_intake::DEFAULT_MAX_CONVERSATIONS),
    };
    vigil_intake::TelegramConfig::new(settings).map_err(|e| format!("intake config, {e}").into())
}

/// The folder of an SQLite database URL (`sqlite:PATH`), if it names one.
fn sqlite_folder(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("sqlite:")?.split('?').next()?;
    let path = path.strip_prefix("//").unwrap_or(path);
    let parent = Path::new(path).parent()?;
    Some(
        parent
            .canonicalize()
            .unwrap_or_else(|_| parent.to_path_buf()),
    )
}

pub async fn run(args: IntakeArgs) -> Result {
    let layout = Layout::new(&args.data.data);
    config::require_data_folder(&layout.root)?;
    let path = args.config.unwrap_or_else(|| layout.intake_config());
    let mut file: IntakeConfigFile = config::load(&path, |c: &IntakeConfigFile| c.version)?;
    let listen = args.listen.unwrap_or(file.listen);
    file.listen = listen;
    config::check_intake(&path, &file, listen)?;
    // Bind before the store is opened: a port in use writes nothing.
    let listener = super::bind(
        "intake",
        listen,
        "--listen (or VIGIL_INTAKE_LISTEN, or listen in the intake config)",
    )
    .await?;
    let intake = build(&layout, &file).await?;
    let url = config::database_url(file.database_url.as_deref(), layout.default_intake_db());
    let key_file = config::receipt_key_file(file.receipt_key_file.as_deref(), layout.receipt_key());
    let key_folder = key_file.parent().and_then(|p| p.canonicalize().ok());
    if key_folder.is_some() && key_folder == sqlite_folder(&url) {
        tracing::warn!(
            "the receipt key is in the database's folder, so a seized disk links receipts to reports; \
             set receipt_key_file in intake.toml (or VIGIL_RECEIPT_KEY_FILE) to a file on other storage"
        );
    }
    if file.telegram.is_some() {
        // The secret itself stays out of the output (it may be logged).
        println!("telegram bot: webhook at POST /telegram/WEBHOOK_SECRET (see intake.toml)");
    }
    println!("intake listening on http://{}", listener.local_addr()?);
    vigil_web::serve(listener, vigil_intake::router(intake), shutdown_signal()).await?;
    Ok(())
}
