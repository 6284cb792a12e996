//! The desk zone's store: reports pulled from the intake (still sealed), desk
//! accounts, and (in the files beside this one) the record built from them.
//! Every method takes the day from its caller; the store never reads a clock.

pub(crate) mod accounts;
pub(crate) mod audit;
mod bulk;
pub(crate) mod coding;
pub(crate) mod counts;
mod facts;
pub(crate) mod history;
mod import;
pub use import::ImportPipe;
mod messages;
mod pubread;
pub(crate) mod record;
mod reports;
pub(crate) mod urgent;

use async_trait::async_trait;
use vigil_core::followup::SealedMessage;
use vigil_core::{Day, ReportId, SealedReport};

use crate::db::Db;
use crate::{Account, StoreError};
use accounts::AccountInfo;
use audit::AuditEntry;
use coding::{ActionFilter, MergeMoves, MergeRow, PulledReport, ReportUse, SupportRow, Supported};
use counts::{CountQuery, CountRow, StatKey};
use history::{Edit, HistoryEntry};
use record::{
    ActionCount, ActionCursor, ActionDetained, ActionRow, BatchOutcome, CaseRow, EventFacts,
    EventRow, EventsOf, PersonRow, RecordBatch, SourceRow,
};
use urgent::{AlertRetry, AlertRow, Escalation, NewAlert, PurgeItem, Shift, UrgentRow};

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

    // --- importfast: the bulk import's write path (import.rs) ---

    /// Like `record_write_rerunnable`, for an import's batches, which name only
    /// records of the same batch or already held: on an SQLite file the batch
    /// is written on a connection and a thread of the import's own, while the
    /// caller makes the next one. A batch that names a record neither in it nor
    /// held is refused as a whole, as by the foreign keys.
    async fn record_import(&self, batch: RecordBatch) -> Result<BatchOutcome, StoreError>;

    // --- importwrite: the import's writer thread (import.rs) ---

    /// On an SQLite file, a writer thread of the import's own with a queue of
    /// `depth` batches: `send` returns while the writer writes, `finish`
    /// gives each batch's outcome in order (as `record_import` would have).
    /// `None` where there is none (PostgreSQL, an SQLite database that is not
    /// a file): the caller uses `record_import`.
    fn record_import_pipe(&self, depth: usize) -> Result<Option<ImportPipe>, StoreError>;

    // --- recfast: counting facts (facts.rs) ---

    /// Brings the counting facts up to date (on SQLite, the blocks that edits
    /// dropped are rebuilt; PostgreSQL keeps none): an import calls it at its
    /// end so that the next count reads them ready. Counting works without it.
    async fn record_prepare_counting(&self) -> Result<(), StoreError>;

    /// Counts the record by the query's keys (see counts.rs for the rules).
    async fn record_count(&self, query: &CountQuery) -> Result<Vec<CountRow>, StoreError>;

    /// The groups of a query and its total (the same query without keys), in
    /// one pass over the record where the keys allow.
    async fn record_count_with_total(
        &self,
        query: &CountQuery,
    ) -> Result<(Vec<CountRow>, CountRow), StoreError>;

    // --- deskaccess (issue 11): roles, second factor, audit log (accounts.rs, audit.rs) ---

    async fn desk_account_info(&self, username: &str) -> Result<Option<AccountInfo>, StoreError>;

    /// Every account, by username.
    async fn desk_account_list(&self) -> Result<Vec<AccountInfo>, StoreError>;

    /// `NotFound` when there is no such account (likewise the setters below).
    async fn desk_set_role(&self, username: &str, role: &str) -> Result<(), StoreError>;

    async fn desk_set_disabled(&self, username: &str, disabled: bool) -> Result<(), StoreError>;

    async fn desk_set_grants(&self, username: &str, grants: &str) -> Result<(), StoreError>;

    /// Sets (or with `None` clears) the sealed TOTP secret, forgets the last
    /// used step and replaces the recovery codes' hashes, in one transaction.
    async fn desk_set_second_factor(
        &self,
        username: &str,
        totp_sealed: Option<&[u8]>,
        recovery_hashes: &[[u8; 32]],
    ) -> Result<(), StoreError>;

    /// Records a TOTP step as used; false when it, or a later one, was used
    /// already (a code is good once, even across desk processes).
    async fn desk_use_totp_step(&self, username: &str, step: i64) -> Result<bool, StoreError>;

    /// Spends a recovery code by its hash; false when not held.
    async fn desk_use_recovery_code(
        &self,
        username: &str,
        hash: &[u8; 32],
    ) -> Result<bool, StoreError>;

    /// Appends one entry to the audit log, chained to the previous one.
    async fn audit_append(
        &self,
        at: i64,
        actor: &str,
        action: &str,
        subjects: &[String],
    ) -> Result<AuditEntry, StoreError>;

    /// Up to `limit` entries with seq greater than `after`, oldest first.
    async fn audit_entries(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;

    /// Up to `limit` entries with seq less than `before`, newest first.
    async fn audit_newest(&self, before: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError>;

    /// The chain's end as recorded beside it: (seq, hash).
    async fn audit_head(&self) -> Result<(i64, String), StoreError>;
    // --- the urgent line and retention (deskurgent; urgent.rs) ---

    /// Creates a duty shift, or replaces the one with its id (times and people).
    async fn duty_put_shift(&self, shift: &Shift) -> Result<(), StoreError>;

    /// Removes a shift; `false` if there was none with that id.
    async fn duty_delete_shift(&self, id: &str) -> Result<bool, StoreError>;

    /// Every shift, earliest first, each with its people in escalation order.
    async fn duty_shifts(&self) -> Result<Vec<Shift>, StoreError>;

    /// Pulled reports the desk has not opened for triage yet, in pull order.
    async fn urgent_untriaged(&self, limit: u32) -> Result<Vec<SealedReport>, StoreError>;

    /// Marks reports as triaged (urgent or not) at `seen`; a report already
    /// triaged keeps its first mark.
    async fn urgent_triage(
        &self,
        reports: &[(ReportId, bool)],
        seen: i64,
    ) -> Result<(), StoreError>;

    /// Urgent reports, earliest seen first; only unacknowledged ones if `open_only`.
    async fn urgent_reports(&self, open_only: bool) -> Result<Vec<UrgentRow>, StoreError>;

    /// In one transaction: moves the reports' alerts on (unless acknowledged
    /// meanwhile) and queues the alerts to send.
    async fn urgent_escalate(
        &self,
        escalations: &[Escalation],
        at: i64,
        alerts: &[NewAlert],
    ) -> Result<(), StoreError>;

    /// "I'm on it": `false` if the report is not urgent or already acknowledged.
    async fn urgent_acknowledge(
        &self,
        report: ReportId,
        username: &str,
        at: i64,
    ) -> Result<bool, StoreError>;

    /// Alerts to send now (not sent, not given up, due by `now`), oldest first.
    async fn alerts_due(&self, now: i64, limit: u32) -> Result<Vec<AlertRow>, StoreError>;

    async fn alert_sent(&self, id: i64, at: i64) -> Result<(), StoreError>;

    async fn alert_failed(&self, id: i64, retry: AlertRetry) -> Result<(), StoreError>;

    /// (alerts waiting to be sent, alerts given up).
    async fn alert_backlog(&self) -> Result<(u64, u64), StoreError>;

    /// What retention would remove: uncoded reports received before
    /// `reports_before`, closed cases whose last event is before `cases_before`.
    async fn retention_candidates(
        &self,
        reports_before: Option<Day>,
        cases_before: Option<Day>,
    ) -> Result<Vec<PurgeItem>, StoreError>;

    /// Removes them in one transaction (deciding again inside it); returns what went.
    async fn retention_purge(
        &self,
        reports_before: Option<Day>,
        cases_before: Option<Day>,
    ) -> Result<Vec<PurgeItem>, StoreError>;
    // --- intakeform: replies by receipt (messages.rs) ---

    /// Stores messages (the team's replies, or follow-ups pulled from an
    /// intake), skipping any already held. Returns how many were new.
    async fn desk_add_messages(&self, messages: &[SealedMessage]) -> Result<u64, StoreError>;

    /// Every message the desk holds, oldest first.
    async fn desk_messages(&self) -> Result<Vec<SealedMessage>, StoreError>;

    /// The team's replies that no intake has taken yet, oldest first.
    async fn desk_unpushed_replies(&self, limit: u32) -> Result<Vec<SealedMessage>, StoreError>;

    /// Marks replies as taken by an intake; returns how many changed.
    async fn desk_mark_pushed(&self, ids: &[ReportId]) -> Result<u64, StoreError>;

    /// One report by its id.
    async fn desk_report(&self, id: &ReportId) -> Result<Option<SealedReport>, StoreError>;
    // --- the whole record, for a public release (pubsite; record.rs) ---

    /// Every protest action, by date (unknown dates last), then id.
    async fn record_all_actions(&self) -> Result<Vec<ActionRow>, StoreError>;

    /// Every number detained that a source reports, by action then source.
    async fn record_all_action_counts(&self) -> Result<Vec<ActionCount>, StoreError>;

    /// Every person (identity still sealed), by id.
    async fn record_all_persons(&self) -> Result<Vec<PersonRow>, StoreError>;

    /// Every event, by date (unknown dates last), then id.
    async fn record_all_events(&self) -> Result<Vec<EventRow>, StoreError>;
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

    // --- pubstream: the record in keyset pages, for a release (record.rs) ---

    /// The groups of each of `bys` (each as `record_count` gives them) and the
    /// total of the whole record, in one scan of it.
    async fn record_count_breakdowns(
        &self,
        bys: &[Vec<StatKey>],
    ) -> Result<(Vec<Vec<CountRow>>, CountRow), StoreError>;

    /// Up to `limit` actions after `after`, by date (unknown dates last) then
    /// id, each with its named and reported detentions (stations left empty).
    async fn record_actions_page(
        &self,
        after: Option<&ActionCursor>,
        limit: u32,
    ) -> Result<Vec<ActionDetained>, StoreError>;

    /// Up to `limit` events' counted fields after the event id `after`, by id.
    async fn record_event_facts_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventFacts>, StoreError>;

    /// Up to `limit` persons after the person id `after`, by id, whose consent
    /// is not `none` and who have an event (identity still sealed).
    async fn record_counted_persons_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PersonRow>, StoreError>;

    // --- deskfast: duplicate suggestions kept between views (coding.rs) ---

    /// The id and version of every person not merged into another, in the
    /// order of `record_persons` (what changed since, without the sealed parts).
    async fn record_person_versions(&self) -> Result<Vec<(String, i64)>, StoreError>;
}

/// The desk store on either backend.
pub(crate) struct DeskDb {
    pub(crate) db: Db,
    /// importfast: the bulk import's own connection, for an SQLite file.
    import: Option<import::Writer>,
    /// pub4: a release's pages read through a connection of their own, for an SQLite file.
    pubread: Option<pubread::Reader>,
}

impl DeskDb {
    pub(crate) fn new(db: Db) -> DeskDb {
        let import = match &db {
            Db::Sqlite(pool) => {
                let options = pool.connect_options();
                let path = options.get_filename();
                // An in-memory database has no file a second connection could open.
                (path.is_file()).then(|| import::Writer::new(path))
            }
            Db::Postgres(_) => None,
        };
        // pub4: the same file, read by a release's pages.
        let pubread = match &db {
            Db::Sqlite(pool) => {
                let options = pool.connect_options();
                let path = options.get_filename();
                path.is_file().then(|| pubread::Reader::new(path))
            }
            Db::Postgres(_) => None,
        };
        DeskDb {
            db,
            import,
            pubread,
        }
    }
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

    async fn record_import(&self, batch: RecordBatch) -> Result<BatchOutcome, StoreError> {
        match &self.import {
            Some(writer) => writer.write(batch).await,
            None => record::write_batch(&self.db, &batch, record::Durability::Rerunnable).await,
        }
    }

    fn record_import_pipe(&self, depth: usize) -> Result<Option<ImportPipe>, StoreError> {
        self.import.as_ref().map(|w| w.pipe(depth)).transpose()
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

    async fn record_prepare_counting(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(pool) => facts::prepare(&mut *pool.acquire().await?).await,
            Db::Postgres(_) => Ok(()),
        }
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

    async fn desk_account_info(&self, username: &str) -> Result<Option<AccountInfo>, StoreError> {
        accounts::info(&self.db, username).await
    }

    async fn desk_account_list(&self) -> Result<Vec<AccountInfo>, StoreError> {
        accounts::list(&self.db).await
    }

    async fn desk_set_role(&self, username: &str, role: &str) -> Result<(), StoreError> {
        accounts::set_role(&self.db, username, role).await
    }

    async fn desk_set_disabled(&self, username: &str, disabled: bool) -> Result<(), StoreError> {
        accounts::set_disabled(&self.db, username, disabled).await
    }

    async fn desk_set_grants(&self, username: &str, grants: &str) -> Result<(), StoreError> {
        accounts::set_grants(&self.db, username, grants).await
    }

    async fn desk_set_second_factor(
        &self,
        username: &str,
        totp_sealed: Option<&[u8]>,
        recovery_hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        accounts::set_second_factor(&self.db, username, totp_sealed, recovery_hashes).await
    }

    async fn desk_use_totp_step(&self, username: &str, step: i64) -> Result<bool, StoreError> {
        accounts::use_totp_step(&self.db, username, step).await
    }

    async fn desk_use_recovery_code(
        &self,
        username: &str,
        hash: &[u8; 32],
    ) -> Result<bool, StoreError> {
        accounts::use_recovery_code(&self.db, username, hash).await
    }

    async fn audit_append(
        &self,
        at: i64,
        actor: &str,
        action: &str,
        subjects: &[String],
    ) -> Result<AuditEntry, StoreError> {
        audit::append(&self.db, at, actor, action, subjects).await
    }

    async fn audit_entries(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        audit::entries(&self.db, after, limit).await
    }

    async fn audit_newest(&self, before: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        audit::newest(&self.db, before, limit).await
    }

    async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        audit::head(&self.db).await
    }

    async fn duty_put_shift(&self, shift: &Shift) -> Result<(), StoreError> {
        urgent::put_shift(&self.db, shift).await
    }

    async fn duty_delete_shift(&self, id: &str) -> Result<bool, StoreError> {
        urgent::delete_shift(&self.db, id).await
    }

    async fn duty_shifts(&self) -> Result<Vec<Shift>, StoreError> {
        urgent::shifts(&self.db).await
    }

    async fn urgent_untriaged(&self, limit: u32) -> Result<Vec<SealedReport>, StoreError> {
        urgent::untriaged(&self.db, limit).await
    }

    async fn urgent_triage(
        &self,
        reports: &[(ReportId, bool)],
        seen: i64,
    ) -> Result<(), StoreError> {
        urgent::triage(&self.db, reports, seen).await
    }

    async fn urgent_reports(&self, open_only: bool) -> Result<Vec<UrgentRow>, StoreError> {
        urgent::urgent(&self.db, open_only).await
    }

    async fn urgent_escalate(
        &self,
        escalations: &[Escalation],
        at: i64,
        alerts: &[NewAlert],
    ) -> Result<(), StoreError> {
        urgent::escalate(&self.db, escalations, at, alerts).await
    }

    async fn urgent_acknowledge(
        &self,
        report: ReportId,
        username: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        urgent::acknowledge(&self.db, report, username, at).await
    }

    async fn alerts_due(&self, now: i64, limit: u32) -> Result<Vec<AlertRow>, StoreError> {
        urgent::alerts_due(&self.db, now, limit).await
    }

    async fn alert_sent(&self, id: i64, at: i64) -> Result<(), StoreError> {
        urgent::alert_sent(&self.db, id, at).await
    }

    async fn alert_failed(&self, id: i64, retry: AlertRetry) -> Result<(), StoreError> {
        urgent::alert_failed(&self.db, id, retry).await
    }

    async fn alert_backlog(&self) -> Result<(u64, u64), StoreError> {
        urgent::alert_backlog(&self.db).await
    }

    async fn retention_candidates(
        &self,
        reports_before: Option<Day>,
        cases_before: Option<Day>,
    ) -> Result<Vec<PurgeItem>, StoreError> {
        urgent::retention_candidates(&self.db, reports_before, cases_before).await
    }

    async fn retention_purge(
        &self,
        reports_before: Option<Day>,
        cases_before: Option<Day>,
    ) -> Result<Vec<PurgeItem>, StoreError> {
        urgent::retention_purge(&self.db, reports_before, cases_before).await
    }

    async fn desk_add_messages(&self, messages: &[SealedMessage]) -> Result<u64, StoreError> {
        messages::add(&self.db, messages).await
    }

    async fn desk_messages(&self) -> Result<Vec<SealedMessage>, StoreError> {
        messages::all(&self.db).await
    }

    async fn desk_unpushed_replies(&self, limit: u32) -> Result<Vec<SealedMessage>, StoreError> {
        messages::unpushed(&self.db, limit).await
    }

    async fn desk_mark_pushed(&self, ids: &[ReportId]) -> Result<u64, StoreError> {
        messages::mark_pushed(&self.db, ids).await
    }

    async fn desk_report(&self, id: &ReportId) -> Result<Option<SealedReport>, StoreError> {
        messages::report(&self.db, id).await
    }

    async fn record_all_actions(&self) -> Result<Vec<ActionRow>, StoreError> {
        record::all_actions(&self.db).await
    }

    async fn record_all_action_counts(&self) -> Result<Vec<ActionCount>, StoreError> {
        record::all_action_counts(&self.db).await
    }

    async fn record_all_persons(&self) -> Result<Vec<PersonRow>, StoreError> {
        record::all_persons(&self.db).await
    }

    async fn record_all_events(&self) -> Result<Vec<EventRow>, StoreError> {
        record::all_events(&self.db).await
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

    async fn record_count_breakdowns(
        &self,
        bys: &[Vec<StatKey>],
    ) -> Result<(Vec<Vec<CountRow>>, CountRow), StoreError> {
        counts::count_breakdowns(&self.db, bys).await
    }

    async fn record_actions_page(
        &self,
        after: Option<&ActionCursor>,
        limit: u32,
    ) -> Result<Vec<ActionDetained>, StoreError> {
        match &self.pubread {
            Some(r) => r.actions_page(after, limit).await,
            None => record::actions_page(&self.db, after, limit).await,
        }
    }

    async fn record_event_facts_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventFacts>, StoreError> {
        match &self.pubread {
            Some(r) => r.event_facts_page(after, limit).await,
            None => record::event_facts_page(&self.db, after, limit).await,
        }
    }

    async fn record_counted_persons_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PersonRow>, StoreError> {
        record::counted_persons_page(&self.db, after, limit).await
    }

    async fn record_person_versions(&self) -> Result<Vec<(String, i64)>, StoreError> {
        coding::person_versions(&self.db).await
    }
}
