//! `vigil intake`: the internet-facing zone.

use std::fs;
use std::path::Path;
use std::sync::Arc;

use vigil_core::{ReceiptKey, Recipients};
use vigil_intake::{DEFAULT_MAX_BODY_BYTES, Intake, IntakeConfig};

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
            Ok(ReceiptKey::from_bytes(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = ReceiptKey::generate()?;
            if let Some(parent) = path.parent() {
                config::private_dir(parent)?;
            }
            config::write_private(path, hex::encode(key.as_bytes()).as_bytes())?;
            Ok(key)
        }
        Err(e) => Err(format!("{}: {e}", path.display()).into()),
    }
}

/// Builds a running intake from its config file (the writer task starts here).
pub async fn build(layout: &Layout, file: &IntakeConfigFile) -> Result<Arc<Intake>> {
    let recipients = Recipients::parse(&file.recipients.join("\n"))
        .map_err(|e| format!("intake config, recipients: {e}"))?;
    let desk_token_hash = vigil_core::token::parse_hash(&file.desk_token_sha256)
        .ok_or("intake config, desk_token_sha256: expected 64 hexadecimal digits")?;
    let url = config::database_url(file.database_url.as_deref(), layout.default_intake_db());
    config::private_dir(&layout.intake_dir())?;
    config::prepare_sqlite_file(&url)
        .map_err(|e| format!("intake database: cannot create it 0600: {e}"))?;
    let store = vigil_store::open_intake(&url).await?;
    let config = IntakeConfig {
        recipients,
        receipt_key: receipt_key(&layout.receipt_key())?,
        desk_token_hash,
        max_body_bytes: file.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
    };
    Ok(Intake::new(config, store))
}

pub async fn run(args: IntakeArgs) -> Result {
    let layout = Layout::new(&args.data.data);
    config::require_data_folder(&layout.root)?;
    let path = args.config.unwrap_or_else(|| layout.intake_config());
    let file: IntakeConfigFile = config::load(&path, |c: &IntakeConfigFile| c.version)?;
    let listen = args.listen.unwrap_or(file.listen);
    config::check_intake(&path, &file, listen)?;
    // Bind before the store is opened: a port in use writes nothing.
    let listener = super::bind(
        "intake",
        listen,
        "--listen (or VIGIL_INTAKE_LISTEN, or listen in the intake config)",
    )
    .await?;
    let intake = build(&layout, &file).await?;
    println!("intake listening on http://{}", listener.local_addr()?);
    vigil_web::serve(listener, vigil_intake::router(intake), shutdown_signal()).await?;
    Ok(())
}
