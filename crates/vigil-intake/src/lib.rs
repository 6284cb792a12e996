//! intake: the internet-facing front door. It holds no decryption key: every
//! report is sealed to the desk's recipients before anything touches disk, and
//! only ciphertext is stored until the desk has pulled and acknowledged it.
//!
//! It never records an IP address or a user agent: there is no request log,
//! and no handler reads either. It logs nothing per report or acknowledgement:
//! a log line, even with only the day on it, tells when reports came in.

mod api;
pub mod attachments;
pub mod browser_seal;
mod desk_api;
mod followup;
mod form;
pub mod limits;
mod multipart;
mod not_found;
pub mod openapi;
pub mod pow;
mod regions;
mod telegram;
mod texts;
mod upkeep;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::sync::{Semaphore, SemaphorePermit};
use vigil_core::followup::ReplyKey;
use vigil_core::{
    Channel, Day, Lang, Receipt, ReceiptKey, Recipients, ReportDetails, ReportEnvelope, ReportId,
};
use vigil_store::{IntakeStore, SealedReport};

pub use regions::{Region, regions};
pub use telegram::{
    DEFAULT_API_BASE, DEFAULT_CONVERSATION_MINUTES, DEFAULT_MAX_CONVERSATIONS, TelegramConfig,
    TelegramSettings,
};
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
/// The most bytes of files one report may carry (intakemerge).
pub const DEFAULT_MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;
/// The most files one report may carry.
pub const MAX_ATTACHMENTS: usize = 10;
/// Reports with files read at once: each is held in memory (never on disk)
/// until it is sealed, so this bounds the memory uploads can take.
pub const MAX_UPLOADS: usize = 4;

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
    /// Who runs this intake, named on every page.
    pub organisation: Organisation,
    /// telegram: the bot's webhook, when configured.
    pub telegram: Option<TelegramConfig>,
    /// Rate limits and proof-of-work (intakechan).
    pub abuse: limits::AbuseConfig,
    /// The most bytes of files one report may carry; 0 turns attachments
    /// off (intakemerge).
    pub max_attachment_bytes: usize,
}

/// The organisation that runs the intake, as its pages name it (intake
/// config `[organisation]`), in Russian and English.
#[derive(Debug, Clone)]
pub struct Organisation {
    pub name_ru: String,
    pub name_en: String,
    /// The hotline's phone number, if it has one.
    pub phone: Option<String>,
    pub about_ru: String,
    pub about_en: String,
}

impl Default for Organisation {
    fn default() -> Self {
        Organisation {
            name_ru: "Приёмная vigil".into(),
            name_en: "vigil intake".into(),
            phone: None,
            about_ru: "Мы собираем свидетельства о политическом преследовании, помогаем задержанным найти адвоката и публикуем обезличенную статистику.".into(),
            about_en: "We collect accounts of political persecution, help detained people find a lawyer, and publish statistics that name no one without consent.".into(),
        }
    }
}

impl Organisation {
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ru => &self.name_ru,
            Lang::En => &self.name_en,
        }
    }

    pub fn about(&self, lang: Lang) -> &str {
        match lang {
            Lang::Ru => &self.about_ru,
            Lang::En => &self.about_en,
        }
    }
}

/// What a reporter sent, whatever the channel: the one input of [`Intake::submit`].
pub struct Submission<'a> {
    pub text: &'a str,
    /// The "detained right now" checkbox; `details.happened = DetainedNow`
    /// makes a report urgent too.
    pub urgent: bool,
    pub contact: Option<&'a str>,
    /// The guided form's answers (all optional).
    pub details: ReportDetails,
    pub lang: Lang,
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
            organisation: Organisation::default(),
            telegram: None,
            abuse: limits::AbuseConfig::default(),
            max_attachment_bytes: DEFAULT_MAX_ATTACHMENT_BYTES,
        }
    }
}

pub struct Intake {
    config: IntakeConfig,
    store: Arc<dyn IntakeStore>,
    writer: Writer,
    sealing: Semaphore,
    telegram: Option<telegram::Bot>,
    guard: limits::Guard,
    /// Uploads with files being read (intakemerge).
    uploads: Semaphore,
}

/// A file sent with a report, as received (intakemerge).
pub struct Attachment {
    pub name: String,
    pub media_type: String,
    pub bytes: zeroize::Zeroizing<Vec<u8>>,
}

/// Why a report could not be accepted, whatever the channel.
#[derive(Debug)]
pub enum SubmitError {
    Invalid(vigil_core::ReportError),
    /// Every sealing slot stayed taken: the reporter should try again soon.
    Busy,
    /// Sealing or storing failed: the reporter should try again; nothing was kept.
    Unavailable,
}

impl Intake {
    /// Starts the intake's writer task and its upkeep (receipt expiry, WAL
    /// truncation); must be called inside a Tokio runtime.
    pub fn new(mut config: IntakeConfig, store: Arc<dyn IntakeStore>) -> Arc<Self> {
        let rate = config.abuse.rate;
        let telegram = config.telegram.take().map(|t| telegram::Bot::new(t, rate));
        let writer = Writer::spawn(store.clone());
        let sealing = Semaphore::new(config.max_sealing.max(1));
        let guard = limits::Guard::new(&config.abuse);
        let intake = Arc::new(Intake {
            config,
            store,
            writer,
            sealing,
            telegram,
            guard,
            uploads: Semaphore::new(MAX_UPLOADS),
        });
        upkeep::spawn(intake.clone());
        telegram::spawn_sweeper(&intake);
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
    /// once the sealed report is committed. Every channel (form, API, bot)
    /// calls this one function.
    pub async fn submit(
        &self,
        report: Submission<'_>,
        channel: Channel,
    ) -> Result<Receipt, SubmitError> {
        self.submit_with_files(report, Vec::new(), channel).await
    }

    /// An upload slot, or `None` if none came free in time (intakemerge).
    pub(crate) async fn upload_slot(&self) -> Option<SemaphorePermit<'_>> {
        tokio::time::timeout(self.config.busy_wait, self.uploads.acquire())
            .await
            .ok()?
            .ok()
    }

    /// [`Intake::submit`] with files (intakemerge): each is checked, hashed as
    /// sent, stripped of location and camera metadata (JPEG, PNG) in memory,
    /// and sealed in the same age stream as the report.
    pub async fn submit_with_files(
        &self,
        report: Submission<'_>,
        files: Vec<Attachment>,
        channel: Channel,
    ) -> Result<Receipt, SubmitError> {
        use vigil_core::ReportError;
        if files.len() > MAX_ATTACHMENTS {
            return Err(SubmitError::Invalid(ReportError::TooManyAttachments {
                max: MAX_ATTACHMENTS,
            }));
        }
        let total: usize = files.iter().map(|f| f.bytes.len()).sum();
        if total > self.config.max_attachment_bytes {
            return Err(SubmitError::Invalid(ReportError::AttachmentsTooLarge {
                max_mib: (self.config.max_attachment_bytes / (1024 * 1024)) as u64,
            }));
        }
        // Held until the report is stored, so that neither the clear envelopes
        // nor the writer's queue can grow past the cap under a flood.
        let _slot = self.sealing_slot().await.ok_or(SubmitError::Busy)?;
        let now = time::OffsetDateTime::now_utc();
        let received = Day::from_date(now.date());
        if let Some(region) = report.details.region.as_deref().map(str::trim)
            && !region.is_empty()
            && regions::find(region).is_none()
        {
            return Err(SubmitError::Invalid(vigil_core::ReportError::UnknownRegion));
        }
        let receipt = Receipt::generate().map_err(|_| SubmitError::Unavailable)?;
        // intake4: the reply key's seed goes into the sealed report, not its
        // public half: the desk derives that, so the intake does no curve
        // operation for it (about 22 µs a report).
        let mut reply_seed = ReplyKey::seed_hex(&receipt).map_err(|_| SubmitError::Unavailable)?;
        let mut envelope = ReportEnvelope::new(
            report.text,
            report.urgent,
            report.contact,
            report.lang,
            channel,
            received,
        )
        .and_then(|e| e.with_details(report.details))
        .map_err(SubmitError::Invalid)?;
        // The exact time and the reply key travel only inside the sealed report.
        envelope.received_at = Some(vigil_core::day::timestamp(now));
        envelope.reply_seed = Some(std::mem::take(&mut *reply_seed));
        let sealed = if files.is_empty() {
            self.config
                .recipients
                .seal_envelope(&envelope)
                .map_err(|_| SubmitError::Unavailable)?
        } else {
            // Hashing, stripping and sealing megabytes is CPU work: off the
            // runtime's threads.
            let recipients = self.config.recipients.clone();
            tokio::task::spawn_blocking(move || seal_with_files(&recipients, envelope, files))
                .await
                .map_err(|_| SubmitError::Unavailable)??
        };
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

/// Hashes, strips and seals a report with its files (intakemerge).
fn seal_with_files(
    recipients: &Recipients,
    mut envelope: ReportEnvelope,
    files: Vec<Attachment>,
) -> Result<Vec<u8>, SubmitError> {
    use sha2::Digest;
    let mut stored = Vec::with_capacity(files.len());
    for file in &files {
        let sha256 = hex::encode(sha2::Sha256::digest(&file.bytes[..]));
        let kind = attachments::kind(&file.bytes);
        let clean = zeroize::Zeroizing::new(
            attachments::strip(&file.bytes)
                .map_err(|_| SubmitError::Invalid(vigil_core::ReportError::BrokenPhoto))?,
        );
        envelope
            .attachments
            .push(vigil_core::attachment::AttachmentInfo {
                name: vigil_core::attachment::clean_name(&file.name),
                media_type: file.media_type.chars().take(100).collect(),
                size: clean.len() as u64,
                sha256,
                stripped: kind != attachments::Kind::Other,
            });
        stored.push(clean);
    }
    drop(files);
    let slices: Vec<&[u8]> = stored.iter().map(|f| &f[..]).collect();
    recipients
        .seal_report(&envelope, &slices)
        .map_err(|_| SubmitError::Unavailable)
}

/// The intake's routes: the form, the JSON API and the desk's pull API.
pub fn router(intake: Arc<Intake>) -> Router {
    let limit = intake.config.max_body_bytes;
    // The routes that store something a reporter sent (a report, a
    // follow-up) pass the abuse guard first (intakechan).
    let guarded = Router::new()
        .route("/report", post(form::submit))
        .route(browser_seal::SEALED_PATH, post(browser_seal::submit))
        .route("/api/v1/reports", post(api::submit))
        .route("/status/message", post(followup::add_message))
        .route("/api/v1/followup/messages", post(followup::api_add_message))
        .route_layer(axum::middleware::from_fn_with_state(
            intake.clone(),
            limits::guard,
        ));
    let routes = Router::new()
        .route("/", get(form::show))
        .merge(guarded)
        .merge(browser_seal::scripts())
        .route("/api/v1/challenge", get(pow::issue))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/desk/reports", get(desk_api::pull))
        .route("/api/v1/desk/ack", post(desk_api::acknowledge))
        .route("/api/v1/desk/messages", post(desk_api::exchange))
        .route("/status", get(followup::status_form).post(followup::status))
        .route("/api/v1/followup", post(followup::api_messages))
        .route("/telegram/{secret}", axum::routing::any(telegram::webhook))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(not_found::not_found)
        .method_not_allowed_fallback(not_found::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(intake);
    vigil_web::harden(routes)
}

#[cfg(test)]
mod tests;
