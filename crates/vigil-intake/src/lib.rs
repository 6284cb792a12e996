//! intake: the internet-facing front door. It holds no decryption key: every
//! report is sealed to the desk's recipients before anything touches disk, and
//! only ciphertext is stored until the desk has pulled and acknowledged it.
//!
//! It never records an IP address or a user agent: there is no request log,
//! and no handler reads either.

mod api;
mod desk_api;
mod form;
mod texts;
mod writer;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use vigil_core::{Channel, Day, Lang, Receipt, ReceiptKey, Recipients, ReportEnvelope, ReportId};
use vigil_store::{IntakeStore, SealedReport};

pub use writer::Writer;

/// The largest request body accepted, in bytes. A report of the longest text
/// allowed in Cyrillic (two bytes a letter) fits with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// What the intake needs to run.
pub struct IntakeConfig {
    pub recipients: Recipients,
    pub receipt_key: ReceiptKey,
    /// SHA-256 of the token the desk pulls with.
    pub desk_token_hash: [u8; 32],
    pub max_body_bytes: usize,
}

pub struct Intake {
    config: IntakeConfig,
    store: Arc<dyn IntakeStore>,
    writer: Writer,
}

/// Why a report could not be accepted, whatever the channel.
pub(crate) enum SubmitError {
    Invalid(vigil_core::ReportError),
    /// Sealing or storing failed: the reporter should try again; nothing was kept.
    Unavailable,
}

impl Intake {
    /// Starts the intake's writer task; must be called inside a Tokio runtime.
    pub fn new(config: IntakeConfig, store: Arc<dyn IntakeStore>) -> Arc<Self> {
        let writer = Writer::spawn(store.clone());
        Arc::new(Intake {
            config,
            store,
            writer,
        })
    }

    /// Checks, seals and durably stores one report; returns the receipt only
    /// once the sealed report is committed.
    pub(crate) async fn submit(
        &self,
        text: &str,
        urgent: bool,
        contact: Option<&str>,
        lang: Lang,
        channel: Channel,
    ) -> Result<Receipt, SubmitError> {
        let received = Day::today();
        let envelope = ReportEnvelope::new(text, urgent, contact, lang, channel, received)
            .map_err(SubmitError::Invalid)?;
        let sealed = self
            .config
            .recipients
            .seal_envelope(&envelope)
            .map_err(|_| SubmitError::Unavailable)?;
        drop(envelope);
        let receipt = Receipt::generate().map_err(|_| SubmitError::Unavailable)?;
        let report = SealedReport {
            id: ReportId::generate().map_err(|_| SubmitError::Unavailable)?,
            receipt_hash: self.config.receipt_key.hash(&receipt),
            sealed,
            received,
        };
        self.writer
            .store(report)
            .await
            .map_err(|_| SubmitError::Unavailable)?;
        Ok(receipt)
    }
}

/// The intake's routes: the form, the JSON API and the desk's pull API.
pub fn router(intake: Arc<Intake>) -> Router {
    let limit = intake.config.max_body_bytes;
    let routes = Router::new()
        .route("/", get(form::show))
        .route("/report", post(form::submit))
        .route("/api/v1/reports", post(api::submit))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/desk/reports", get(desk_api::pull))
        .route("/api/v1/desk/ack", post(desk_api::acknowledge))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(intake);
    vigil_web::harden(routes)
}
