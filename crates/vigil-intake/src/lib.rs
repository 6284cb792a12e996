//! intake: the internet-facing front door. It holds no decryption key: every
//! report is sealed to the desk's recipients before anything touches disk, and
//! only ciphertext is stored until the desk has pulled and acknowledged it.
//!
//! It never records an IP address or a user agent: there is no request log,
//! and no handler reads either. It logs nothing per report or acknowledgement:
//! a log line, even with only the day on it, tells when reports came in.

mod api;
pub mod attachments;
mod desk_api;
mod form;
pub mod limits;
mod not_found;
pub mod openapi;
pub mod pow;
mod texts;
mod upkeep;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::{Semaphore, SemaphorePermit};
use vigil_core::{Channel, Day, Lang, Receipt, ReceiptKey, Recipients, ReportEnvelope, ReportId};
use vigil_store::{IntakeStore, SealedReport};

pub use writer::Writer;

/// The largest request body accepted, in bytes. A report of the longest text
/// allowed in Cyrillic (two bytes a letter) fits with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;
/// How many days the intake keeps a receipt's hash after the report came in.
pub const DEFAULT_RECEIPT_DAYS: u32 = 90;
/// Reports sealed and stored at the same time. Each holds its text, its sealed
/// copy and its place in the writer's queue; the cap bounds that memory.
pub const DEFAULT_MAX_SEALING: usize = 64;
/// How long a report waits for a sealing slot before the sender is told the
/// intake is busy.
pub const DEFAULT_BUSY_WAIT: Duration = Duration::from_secs(2);

/// What the intake needs to run.
pub struct IntakeConfig {
    pub recipients: Recipients,
    pub receipt_key: ReceiptKey,
    /// SHA-256 of the token the desk pulls with.
    pub desk_token_hash: [u8; 32],
    pub max_body_bytes: usize,
    /// Receipt hashes older than this many days are forgotten.
    pub receipt_days: u32,
    pub max_sealing: usize,
    pub busy_wait: Duration,
    /// Rate limits and proof-of-work (intakechan).
    pub abuse: limits::AbuseConfig,
}

impl IntakeConfig {
    /// A config with the defaults for everything but the keys.
    pub fn new(recipients: Recipients, receipt_key: ReceiptKey, desk_token_hash: [u8; 32]) -> Self {
        IntakeConfig {
            recipients,
            receipt_key,
            desk_token_hash,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            receipt_days: DEFAULT_RECEIPT_DAYS,
            max_sealing: DEFAULT_MAX_SEALING,
            busy_wait: DEFAULT_BUSY_WAIT,
            abuse: limits::AbuseConfig::default(),
        }
    }
}

pub struct Intake {
    config: IntakeConfig,
    store: Arc<dyn IntakeStore>,
    writer: Writer,
    sealing: Semaphore,
    guard: limits::Guard,
}

/// Why a report could not be accepted, whatever the channel.
pub(crate) enum SubmitError {
    Invalid(vigil_core::ReportError),
    /// Every sealing slot stayed taken: the reporter should try again soon.
    Busy,
    /// Sealing or storing failed: the reporter should try again; nothing was kept.
    Unavailable,
}

impl Intake {
    /// Starts the intake's writer task and its upkeep (receipt expiry, WAL
    /// truncation); must be called inside a Tokio runtime.
    pub fn new(config: IntakeConfig, store: Arc<dyn IntakeStore>) -> Arc<Self> {
        let writer = Writer::spawn(store.clone());
        let sealing = Semaphore::new(config.max_sealing.max(1));
        let guard = limits::Guard::new(&config.abuse);
        let intake = Arc::new(Intake {
            config,
            store,
            writer,
            sealing,
            guard,
        });
        upkeep::spawn(intake.clone());
        intake
    }

    /// A sealing slot, or `None` if none came free in time.
    pub(crate) async fn sealing_slot(&self) -> Option<SemaphorePermit<'_>> {
        tokio::time::timeout(self.config.busy_wait, self.sealing.acquire())
            .await
            .ok()?
            .ok()
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
        // Held until the report is stored, so that neither the clear envelopes
        // nor the writer's queue can grow past the cap under a flood.
        let _slot = self.sealing_slot().await.ok_or(SubmitError::Busy)?;
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
    // The routes that take a report pass the abuse guard first (intakechan).
    let guarded = Router::new()
        .route("/report", post(form::submit))
        .route("/api/v1/reports", post(api::submit))
        .route_layer(axum::middleware::from_fn_with_state(
            intake.clone(),
            limits::guard,
        ));
    let routes = Router::new()
        .route("/", get(form::show))
        .merge(guarded)
        .route("/api/v1/challenge", get(pow::issue))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/desk/reports", get(desk_api::pull))
        .route("/api/v1/desk/ack", post(desk_api::acknowledge))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found::not_found)
        .method_not_allowed_fallback(not_found::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(intake);
    vigil_web::harden(routes)
}

#[cfg(test)]
mod tests;
