//! The desk zone's store: reports pulled from the intake (still sealed), desk
//! accounts, and (in the files beside this one) the record built from them.
//! Every method takes the day from its caller; the store never reads a clock.

mod accounts;
pub(crate) mod coding;
pub(crate) mod counts;
pub(crate) mod history;
pub(crate) mod record;
mod reports;

use async_trait::async_trait;
use vigil_core::{Day, SealedReport};

use crate::db::Db;
use crate::{Account, StoreError};
use coding::{ActionFilter, MergeMoves, MergeRow, PulledReport, ReportUse, SupportRow, Supported};
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

    /// Counts the record by the query's keys (see counts.rs for the rules).
    async fn record_count(&self, query: &CountQuery) -> Result<Vec<CountRow>, StoreError>;

    /// The groups of a query and its total (the same query without keys), in
    /// one pass over the record where the keys allow.
    async fn record_count_with_total(
        &self,
        query: &CountQuery,
    ) -> Result<(Vec<CountRow>, CountRow), StoreError>;

    // --- deskcoding: the queue at scale, coding reports, merging persons (coding.rs) ---

    /// Reports pulled after the one at `after` in the pull order (0: all), in that order.
    async fn desk_reports_since(&self, after: i64) -> Result<Vec<PulledReport>, StoreError>;

    /// Every report that supports at least one record (it is coded), with the
    /// regions of the records it supports.
    async fn record_report_uses(&self) -> Result<Vec<ReportUse>, StoreError>;

    /// The records a source supports: those created from it and those it was added to.
    async fn record_supported_by(&self, source_id: &str) -> Result<Vec<Supported>, StoreError>;

    /// Adds sources to existing records (one already there is left as it is).
    /// Returns how many were new.
    async fn record_add_supports(&self, supports: &[SupportRow]) -> Result<u64, StoreError>;

    /// Every person not merged into another, by id.
    async fn record_persons(&self) -> Result<Vec<PersonRow>, StoreError>;

    /// Protest actions by date range and region, newest first, at most `limit`.
    async fn record_find_actions(
        &self,
        filter: &ActionFilter,
    ) -> Result<Vec<ActionRow>, StoreError>;

    /// Merges `merged_id` into `kept_id`: its events and cases name the kept
    /// person from now on; what moved is kept with the merge. `NotFound` if a
    /// person does not exist, `Conflict` if one is merged away already (or both are one).
    async fn record_merge(&self, merge: &MergeRow) -> Result<MergeMoves, StoreError>;

    /// Undoes a merge: what it moved names the merged person again. `NotFound`
    /// for an unknown merge, `Conflict` if it is undone already or the kept
    /// person was merged on since (undo that merge first).
    async fn record_unmerge(
        &self,
        merge_id: &str,
        editor: &str,
        today: Day,
    ) -> Result<(), StoreError>;

    /// Every merge, undone ones included, newest first.
    async fn record_merges(&self) -> Result<Vec<MergeRow>, StoreError>;
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
        record::write_batch(&self.db, batch).await
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

    async fn desk_reports_since(&self, after: i64) -> Result<Vec<PulledReport>, StoreError> {
        coding::reports_since(&self.db, after).await
    }

    async fn record_report_uses(&self) -> Result<Vec<ReportUse>, StoreError> {
        coding::report_uses(&self.db).await
    }

    async fn record_supported_by(&self, source_id: &str) -> Result<Vec<Supported>, StoreError> {
        coding::supported_by(&self.db, source_id).await
    }

    async fn record_add_supports(&self, supports: &[SupportRow]) -> Result<u64, StoreError> {
        coding::add_supports(&self.db, supports).await
    }

    async fn record_persons(&self) -> Result<Vec<PersonRow>, StoreError> {
        coding::persons(&self.db).await
    }

    async fn record_find_actions(
        &self,
        filter: &ActionFilter,
    ) -> Result<Vec<ActionRow>, StoreError> {
        coding::find_actions(&self.db, filter).await
    }

    async fn record_merge(&self, merge: &MergeRow) -> Result<MergeMoves, StoreError> {
        coding::merge(&self.db, merge).await
    }

    async fn record_unmerge(
        &self,
        merge_id: &str,
        editor: &str,
        today: Day,
    ) -> Result<(), StoreError> {
        coding::unmerge(&self.db, merge_id, editor, today).await
    }

    async fn record_merges(&self) -> Result<Vec<MergeRow>, StoreError> {
        coding::merges(&self.db).await
    }
}
