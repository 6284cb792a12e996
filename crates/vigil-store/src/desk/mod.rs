//! The desk zone's store: reports pulled from the intake (still sealed), desk
//! accounts, and (in the files beside this one) the record built from them.
//! Every method takes the day from its caller; the store never reads a clock.

mod accounts;
pub(crate) mod counts;
pub(crate) mod history;
pub(crate) mod record;
mod reports;

use async_trait::async_trait;
use vigil_core::{Day, SealedReport};

use crate::db::Db;
use crate::{Account, StoreError};
use counts::{CountQuery, CountRow};
use history::{Edit, HistoryEntry};
use record::{
    ActionCount, ActionRow, BatchOutcome, CaseRow, EventRow, EventsOf, PersonRow, RecordBatch,
    SourceRow,
};

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

    // --- the record (record.rs, history.rs, counts.rs) ---

    /// Writes records in one transaction, all or none, leaving any whose id is
    /// already held as it is (so a batch written twice changes nothing).
    async fn record_write(&self, batch: &RecordBatch) -> Result<BatchOutcome, StoreError>;

    async fn record_source(&self, id: &str) -> Result<Option<SourceRow>, StoreError>;

    async fn record_person(&self, id: &str) -> Result<Option<PersonRow>, StoreError>;

    async fn record_action(&self, id: &str) -> Result<Option<ActionRow>, StoreError>;

    /// The numbers detained at an action, one per source that reports one.
    async fn record_action_counts(&self, action_id: &str) -> Result<Vec<ActionCount>, StoreError>;

    async fn record_case(&self, id: &str) -> Result<Option<CaseRow>, StoreError>;

    async fn record_event(&self, id: &str) -> Result<Option<EventRow>, StoreError>;

    /// A person's, an action's or a case's events, by date (unknown dates last).
    async fn record_events(&self, of: EventsOf<'_>) -> Result<Vec<EventRow>, StoreError>;

    /// Replaces a record with a new version, keeping the previous one in the
    /// history with the editor and the day. Fails with `Conflict` if the record
    /// changed since it was read (its version), `NotFound` if it does not exist.
    async fn record_edit(&self, edit: Edit<'_>, editor: &str, today: Day)
    -> Result<(), StoreError>;

    /// The previous versions of a record (`person`, `action`, `event`, `case`), oldest first.
    async fn record_history(&self, entity: &str, id: &str)
    -> Result<Vec<HistoryEntry>, StoreError>;

    // --- recspeed: bulk import (record.rs) ---

    /// Like `record_write`, for a batch that its writer writes again if it is
    /// lost (an import, re-run after a crash, skips what is held): on SQLite a
    /// power loss may undo the last such commits, never corrupt the store.
    async fn record_write_rerunnable(
        &self,
        batch: &RecordBatch,
    ) -> Result<BatchOutcome, StoreError>;

    /// Counts the record by the query's keys (see counts.rs for the rules).
    async fn record_count(&self, query: &CountQuery) -> Result<Vec<CountRow>, StoreError>;

    /// The groups of a query and its total (the same query without keys), in
    /// one pass over the record where the keys allow.
    async fn record_count_with_total(
        &self,
        query: &CountQuery,
    ) -> Result<(Vec<CountRow>, CountRow), StoreError>;
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

    async fn record_write(&self, batch: &RecordBatch) -> Result<BatchOutcome, StoreError> {
        record::write_batch(&self.db, batch, record::Durability::Full).await
    }

    async fn record_write_rerunnable(
        &self,
        batch: &RecordBatch,
    ) -> Result<BatchOutcome, StoreError> {
        record::write_batch(&self.db, batch, record::Durability::Rerunnable).await
    }

    async fn record_source(&self, id: &str) -> Result<Option<SourceRow>, StoreError> {
        record::source(&self.db, id).await
    }

    async fn record_person(&self, id: &str) -> Result<Option<PersonRow>, StoreError> {
        record::person(&self.db, id).await
    }

    async fn record_action(&self, id: &str) -> Result<Option<ActionRow>, StoreError> {
        record::action(&self.db, id).await
    }

    async fn record_action_counts(&self, action_id: &str) -> Result<Vec<ActionCount>, StoreError> {
        record::action_counts(&self.db, action_id).await
    }

    async fn record_case(&self, id: &str) -> Result<Option<CaseRow>, StoreError> {
        record::case(&self.db, id).await
    }

    async fn record_event(&self, id: &str) -> Result<Option<EventRow>, StoreError> {
        record::event(&self.db, id).await
    }

    async fn record_events(&self, of: EventsOf<'_>) -> Result<Vec<EventRow>, StoreError> {
        record::events(&self.db, of).await
    }

    async fn record_edit(
        &self,
        edit: Edit<'_>,
        editor: &str,
        today: Day,
    ) -> Result<(), StoreError> {
        history::edit(&self.db, edit, editor, today).await
    }

    async fn record_history(
        &self,
        entity: &str,
        id: &str,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        history::history(&self.db, entity, id).await
    }

    async fn record_count(&self, query: &CountQuery) -> Result<Vec<CountRow>, StoreError> {
        counts::count(&self.db, query).await
    }

    async fn record_count_with_total(
        &self,
        query: &CountQuery,
    ) -> Result<(Vec<CountRow>, CountRow), StoreError> {
        counts::count_with_total(&self.db, query).await
    }
}
