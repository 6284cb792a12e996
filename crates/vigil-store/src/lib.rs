//! Storage by zone, atuin's shape: one trait per zone ([`IntakeStore`],
//! [`DeskStore`]), each on SQLite (embedded, the default, one file per zone)
//! or PostgreSQL (for an organisation that outgrows one machine), chosen by the
//! database URL.
//!
//! Each zone has its own migrations per backend, so the internet-facing
//! intake's database never holds a desk table. Queries are written once where
//! both backends agree (`db.rs`); days are passed in by the caller and stored as
//! `YYYY-MM-DD` text on both backends, so the two never disagree about a date.
//! The same conformance suite (`tests/conformance.rs`) runs on both.

mod db;
mod desk;
mod direct;
mod intake;
mod intake_writer;
mod migrate;

use std::sync::Arc;

pub use desk::DeskStore;
pub use desk::accounts::AccountInfo;

/// The desk's audit log (deskaccess, issue 11).
pub mod audit {
    pub use crate::desk::audit::{AuditEntry, GENESIS, entry_hash};
}

/// The record's rows and questions, as the desk store keeps and answers them.
pub mod record {
    pub use crate::desk::counts::{
        BreakdownTally, CountQuery, CountRow, StatKey, TallyAction, TallyEvent,
    };
    pub use crate::desk::history::{Edit, HistoryEntry};
    pub use crate::desk::record::{
        ActionCount, ActionCursor, ActionDetained, ActionRow, BatchOutcome, CaseRow, DateRow,
        EventFacts, EventRow, EventsOf, Origin, PersonRow, RecordBatch, SourceRow, Stamp,
    };
    // importwrite: the import's writer thread.
    pub use crate::desk::ImportPipe;
}
/// The urgent line's rows (deskurgent): duty shifts, urgent reports, alerts, retention.
pub mod urgent {
    pub use crate::desk::urgent::{
        AlertRetry, AlertRow, Escalation, FINAL_EVENT_KINDS, NewAlert, PurgeItem, PurgeKind, Shift,
        UrgentRow,
    };
}

/// deskcoding: the queue, coding reports and merging persons.
pub mod coding {
    pub use crate::desk::coding::{
        ActionFilter, MergeMoves, MergeRow, PulledReport, ReportUse, SupportRow, Supported,
    };
}
pub use intake::{Durable, IntakeStore};
pub use intake_writer::ReportQueue;
pub use vigil_core::SealedReport;
use vigil_core::{Day, ReportId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unknown database URL scheme {0:?}: use sqlite:PATH (for example sqlite:/var/lib/vigil/intake.db) or postgres://USER@HOST/DB"
    )]
    UnknownScheme(String),
    #[error("cannot open the database: {0}")]
    Open(String),
    #[error("database migration {version} failed: {message}")]
    Migration { version: i64, message: String },
    #[error(
        "the database has schema version {found}, newer than this vigil knows ({known}); upgrade vigil"
    )]
    TooNew { found: i64, known: i64 },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The bulk import's own SQLite connection or thread failed (desk/import.rs).
    #[error("database error: {0}")]
    Direct(String),
    /// From the direct SQLite paths (the intake's writer, the desk's bulk import);
    /// SQLite's messages name tables and columns, never values.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the intake's database writer has stopped")]
    WriterGone,
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("no such record")]
    NotFound,
    #[error(
        "the record was changed by someone else since it was read; read it again and redo the edit"
    )]
    Conflict,
    #[error("the write-ahead log could not be truncated while a reader was busy; try again")]
    CheckpointBusy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    /// A PHC string (Argon2id).
    pub password_hash: String,
}

/// Opens the intake's store at a URL, creating an SQLite file if needed and
/// running the intake's migrations (and only those).
pub async fn open_intake(url: &str) -> Result<Arc<dyn IntakeStore>, StoreError> {
    let db = db::Db::open(url, migrate::Zone::Intake).await?;
    Ok(Arc::new(intake::IntakeDb::new(db)?))
}

/// Opens the desk's store at a URL, creating an SQLite file if needed and
/// running the desk's migrations (and only those).
pub async fn open_desk(url: &str) -> Result<Arc<dyn DeskStore>, StoreError> {
    let db = db::Db::open(url, migrate::Zone::Desk).await?;
    Ok(Arc::new(desk::DeskDb::new(db)))
}

/// The SQLite URL for a file inside a zone's data folder.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite:{}", path.display())
}

/// A sealed report as both zones store it: id, receipt hash, age file, day.
pub(crate) type ReportRow = (String, Vec<u8>, Vec<u8>, String);

pub(crate) fn to_report(
    (id, receipt_hash, sealed, received): ReportRow,
) -> Result<SealedReport, StoreError> {
    Ok(SealedReport {
        id: parse_id(&id)?,
        receipt_hash: parse_hash(receipt_hash)?,
        sealed,
        received: parse_day(&received)?,
    })
}

/// A sealed message as both zones store it: id, receipt hash, sender, day, age file.
pub(crate) type MessageRow = (String, Vec<u8>, String, String, Vec<u8>);

pub(crate) fn to_message(
    (id, receipt_hash, sender, day, sealed): MessageRow,
) -> Result<vigil_core::followup::SealedMessage, StoreError> {
    Ok(vigil_core::followup::SealedMessage {
        id: parse_id(&id)?,
        receipt_hash: parse_hash(receipt_hash)?,
        from: vigil_core::followup::Sender::from_code(&sender)
            .ok_or_else(|| StoreError::Corrupt("a message's sender is unknown".into()))?,
        day: parse_day(&day)?,
        sealed,
    })
}

pub(crate) fn parse_id(s: &str) -> Result<ReportId, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt("a report id is not 32 hex digits".into()))
}

pub(crate) fn parse_day(s: &str) -> Result<Day, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt("a stored day is not YYYY-MM-DD".into()))
}

pub(crate) fn parse_hash(b: Vec<u8>) -> Result<[u8; 32], StoreError> {
    b.try_into()
        .map_err(|_| StoreError::Corrupt("a receipt hash is not 32 bytes".into()))
}
