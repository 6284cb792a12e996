//! The desk zone's store: reports pulled from the intake (still sealed), desk
//! accounts, and (in the files beside this one) the record built from them.
//! Every method takes the day from its caller; the store never reads a clock.

mod accounts;
mod reports;

use async_trait::async_trait;
use vigil_core::{Day, SealedReport};

use crate::db::Db;
use crate::{Account, StoreError};

#[async_trait]
pub trait DeskStore: Send + Sync {
    // --- reports (reports.rs) ---

    /// Stores pulled reports in one transaction, skipping any already held.
    /// Returns how many were new.
    async fn desk_store_pulled(&self, reports: &[SealedReport]) -> Result<u64, StoreError>;

    /// Every report the desk holds, in the order it was pulled.
    async fn desk_reports(&self) -> Result<Vec<SealedReport>, StoreError>;

    /// The number of reports received on each day, oldest day first.
    async fn desk_count_by_day(&self) -> Result<Vec<(Day, u64)>, StoreError>;

    // --- accounts (accounts.rs) ---

    /// Creates an account (recording `today` as the day it was made), or
    /// replaces the password of an existing one.
    async fn desk_put_account(&self, account: &Account, today: Day) -> Result<(), StoreError>;

    async fn desk_account(&self, username: &str) -> Result<Option<Account>, StoreError>;
}

/// The desk store on either backend.
pub(crate) struct DeskDb {
    pub(crate) db: Db,
}

#[async_trait]
impl DeskStore for DeskDb {
    async fn desk_store_pulled(&self, reports: &[SealedReport]) -> Result<u64, StoreError> {
        reports::store_pulled(&self.db, reports).await
    }

    async fn desk_reports(&self) -> Result<Vec<SealedReport>, StoreError> {
        reports::all(&self.db).await
    }

    async fn desk_count_by_day(&self) -> Result<Vec<(Day, u64)>, StoreError> {
        reports::count_by_day(&self.db).await
    }

    async fn desk_put_account(&self, account: &Account, today: Day) -> Result<(), StoreError> {
        accounts::put(&self.db, account, today).await
    }

    async fn desk_account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        accounts::get(&self.db, username).await
    }
}
