//! One storage interface for every zone, with two backends: SQLite (embedded,
//! the default, one file per zone) and PostgreSQL (for an organisation that
//! outgrows one machine). The backend is chosen by the database URL.
//!
//! Each backend embeds its own migrations and runs them when it opens. The same
//! conformance suite (`tests/conformance.rs`) runs on both.

mod migrate;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
pub use vigil_core::SealedReport;
use vigil_core::{Day, ReportId};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

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
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    #[error("the write-ahead log could not be truncated while a reader was busy; try again")]
    CheckpointBusy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    /// A PHC string (Argon2id).
    pub password_hash: String,
}

/// Everything vigil stores. Each zone uses its own part on its own database.
#[async_trait]
pub trait Store: Send + Sync {
    // --- intake ---

    /// Stores sealed reports and their receipts in one transaction: when this
    /// returns `Ok`, all of them are durable; on error, none is stored.
    async fn intake_insert(&self, reports: &[SealedReport]) -> Result<(), StoreError>;

    /// The oldest reports not yet acknowledged by the desk.
    async fn intake_pending(&self, limit: u32) -> Result<Vec<SealedReport>, StoreError>;

    /// Deletes reports that the desk has acknowledged as durably stored.
    /// Unknown ids are ignored, so a repeated acknowledgement is harmless.
    async fn intake_acknowledge(&self, ids: &[ReportId]) -> Result<u64, StoreError>;

    async fn intake_pending_count(&self) -> Result<u64, StoreError>;

    /// Whether a receipt hash belongs to a report this intake received.
    async fn intake_receipt_known(&self, hash: &[u8; 32]) -> Result<bool, StoreError>;

    /// Forgets the receipt hashes of reports received before `before`; returns
    /// how many. The day is passed in, so the caller (and a test) sets the clock.
    async fn intake_forget_receipts(&self, before: Day) -> Result<u64, StoreError>;

    /// Makes deletions final on disk: SQLite moves the write-ahead log into
    /// the database (whose freed space `secure_delete` has zeroed) and
    /// truncates it, so that purged ciphertext is in neither file. PostgreSQL
    /// has no equivalent; there it does nothing (see docs/threat-model.md).
    async fn intake_checkpoint(&self) -> Result<(), StoreError>;

    // --- desk ---

    /// Stores pulled reports in one transaction, skipping any already held.
    /// Returns how many were new.
    async fn desk_store_pulled(&self, reports: &[SealedReport]) -> Result<u64, StoreError>;

    /// Every report the desk holds, in the order it was pulled.
    async fn desk_reports(&self) -> Result<Vec<SealedReport>, StoreError>;

    /// The number of reports received on each day, oldest day first.
    async fn desk_count_by_day(&self) -> Result<Vec<(Day, u64)>, StoreError>;

    /// Creates an account, or replaces the password of an existing one.
    async fn desk_put_account(&self, account: &Account) -> Result<(), StoreError>;

    async fn desk_account(&self, username: &str) -> Result<Option<Account>, StoreError>;
}

/// Opens the store a URL names, creating an SQLite file if needed and running
/// migrations. Refuses any scheme it does not know rather than guess.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let scheme = url.split(':').next().unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(SqliteStore::open(url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(PgStore::open(url).await?)),
        other => Err(StoreError::UnknownScheme(other.chars().take(32).collect())),
    }
}

/// The SQLite URL for a file inside a zone's data folder.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite:{}", path.display())
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
