//! The intake zone's store: sealed reports until the desk acknowledges them,
//! and the receipts that let a reporter come back. Nothing here can read a
//! report, and the intake's database holds no desk table.

use async_trait::async_trait;
use vigil_core::followup::SealedMessage;
use vigil_core::{Day, ReportId, SealedReport};

use crate::db::{Db, on_pool};
use crate::{MessageRow, ReportRow, StoreError, to_message, to_report};

/// Inserts one message if its receipt is known, numbered after the highest
/// held (like reports, so that no sequence counts them all), leaving one with
/// the same id as it is. One statement, so that the check and the insert are
/// one write (no read lock upgraded under a concurrent writer). A macro, so
/// that one text serves both backends' transactions; evaluates to the rows
/// inserted.
macro_rules! insert_message {
    ($tx:expr, $m:expr, $pending:expr) => {
        sqlx::query(
            "INSERT INTO intake_messages (seq, id, receipt_hash, sender, day, sealed, pending) \
             SELECT (SELECT COALESCE(MAX(seq), 0) + 1 FROM intake_messages), $1, $2, $3, $4, $5, $6 \
             WHERE EXISTS (SELECT 1 FROM intake_receipts WHERE hash = $2) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind($m.id.to_string())
        .bind(&$m.receipt_hash[..])
        .bind($m.from.as_str())
        .bind($m.day.to_string())
        .bind(&$m.sealed[..])
        .bind(i64::from($pending))
        .execute(&mut *$tx)
        .await?
        .rows_affected()
    };
}

/// On PostgreSQL, writers of messages take turns (the numbering reads the
/// highest number); SQLite has one writer at a time anyway.
macro_rules! lock_messages {
    ($db:expr, $tx:expr) => {
        if let Db::Postgres(_) = $db {
            sqlx::query("LOCK TABLE intake_messages IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *$tx)
                .await?;
        }
    };
}

#[async_trait]
pub trait IntakeStore: Send + Sync {
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

    /// Rewrites the whole database (SQLite's `VACUUM`) and then checkpoints,
    /// so that space freed before `secure_delete` was on holds no ciphertext:
    /// a database made by an older vigil kept every purged report in its free
    /// pages. `vigil intake` runs it once at start; later deletions are zeroed
    /// as they happen. PostgreSQL: does nothing (see docs/threat-model.md).
    async fn intake_vacuum(&self) -> Result<(), StoreError>;

    // --- intakeform: replies by receipt ---

    /// Keeps the team's replies whose receipt this intake knows (a reply to
    /// another intake's receipt is not kept); a reply already held is left as
    /// it is. Returns the ids of the given replies it now holds.
    async fn intake_put_replies(
        &self,
        replies: &[SealedMessage],
    ) -> Result<Vec<ReportId>, StoreError>;

    /// Stores a reporter's follow-up for the desk, if its receipt is known;
    /// returns whether it was stored.
    async fn intake_add_followup(&self, followup: &SealedMessage) -> Result<bool, StoreError>;

    /// Every message (replies and follow-ups) of a receipt, oldest first.
    async fn intake_messages(
        &self,
        receipt_hash: &[u8; 32],
    ) -> Result<Vec<SealedMessage>, StoreError>;

    /// The oldest follow-ups the desk has not yet stored.
    async fn intake_pending_followups(&self, limit: u32) -> Result<Vec<SealedMessage>, StoreError>;

    /// Marks follow-ups as stored by the desk (they stay, for the reporter to
    /// read back, until their receipt is forgotten). Returns how many changed.
    async fn intake_followups_delivered(&self, ids: &[ReportId]) -> Result<u64, StoreError>;

    // --- intakemerge: reports with files are large ---

    /// Like [`IntakeStore::intake_pending`], but stops before the sealed
    /// reports passed `max_bytes` together (always at least one), so that a
    /// pull of reports with files stays within memory on both sides.
    async fn intake_pending_within(
        &self,
        limit: u32,
        max_bytes: u64,
    ) -> Result<Vec<SealedReport>, StoreError>;

    // --- intake5: the commit pipeline ---

    /// Like [`IntakeStore::intake_insert`], but returns once the reports are
    /// committed (in the order of the calls), with a [`Durable`] that
    /// resolves once they are durable: a caller may commit its next batch
    /// while this one's sync is under way, and answers a reporter only after
    /// [`Durable::wait`]. On an SQLite file the sync comes after the commit
    /// (see `intake_writer`); elsewhere the commit is durable when it returns.
    /// The reports are shared, not copied: the caller keeps them to retry
    /// one by one if the batch fails.
    async fn intake_insert_pipelined(
        &self,
        reports: std::sync::Arc<Vec<SealedReport>>,
    ) -> Result<Durable, StoreError> {
        self.intake_insert(&reports).await?;
        Ok(Durable::now())
    }

    // --- intake6: reports handed straight to the store's writer ---

    /// A queue that takes one report at a time straight to the store's own
    /// writer thread, where the store has one (an SQLite file): the thread
    /// gathers what has queued up into one transaction and each report is
    /// answered, once its commit is on disk, from the store's threads, with
    /// no task of the caller's in between. `None` elsewhere (PostgreSQL,
    /// SQLite in memory): callers gather batches themselves and use
    /// [`IntakeStore::intake_insert_pipelined`].
    fn intake_report_queue(&self) -> Option<crate::ReportQueue> {
        None
    }
}

/// intake5: a committed batch's durability, to await before answering.
#[must_use = "a commit is not durable until `wait` returns Ok"]
pub struct Durable(Option<tokio::sync::oneshot::Receiver<Result<(), StoreError>>>);

impl Durable {
    /// Already durable (the commit itself synced).
    pub fn now() -> Durable {
        Durable(None)
    }

    pub(crate) fn pending(
        synced: tokio::sync::oneshot::Receiver<Result<(), StoreError>>,
    ) -> Durable {
        Durable(Some(synced))
    }

    /// For tests: whether the answer has come (`Some(ok)`), without waiting.
    #[cfg(test)]
    pub(crate) fn answered(&mut self) -> Option<bool> {
        match &mut self.0 {
            None => Some(true),
            Some(synced) => match synced.try_recv() {
                Err(tokio::sync::oneshot::error::TryRecvError::Empty) => None,
                Ok(r) => Some(r.is_ok()),
                Err(_) => Some(false),
            },
        }
    }

    /// `Ok` once the batch's commit is on disk.
    pub async fn wait(self) -> Result<(), StoreError> {
        match self.0 {
            None => Ok(()),
            Some(synced) => synced.await.map_err(|_| StoreError::WriterGone)?,
        }
    }
}

/// The intake store on either backend.
pub(crate) struct IntakeDb {
    pub(crate) db: Db,
    /// Two checkpoints at once make one of them give up (SQLITE_BUSY): they
    /// take turns instead.
    checkpoint: tokio::sync::Mutex<()>,
    /// intakefast: on an SQLite file, reports are inserted through a direct
    /// binding on a thread of their own (see `intake_writer`).
    writer: Option<crate::intake_writer::SqliteWriter>,
}

impl IntakeDb {
    pub(crate) fn new(db: Db) -> Result<Self, StoreError> {
        let writer = match &db {
            Db::Sqlite(pool) => {
                let options = pool.connect_options();
                let path = options.get_filename();
                // sqlx names an in-memory database `file:sqlx-in-memory-N`;
                // a second connection could not reach it, so it keeps sqlx.
                let in_memory = path
                    .to_str()
                    .is_some_and(|p| p.starts_with("file:") || p == ":memory:" || p.is_empty());
                if in_memory {
                    None
                } else {
                    Some(crate::intake_writer::SqliteWriter::start(
                        path.to_path_buf(),
                    )?)
                }
            }
            Db::Postgres(_) => None,
        };
        Ok(IntakeDb {
            db,
            checkpoint: tokio::sync::Mutex::new(()),
            writer,
        })
    }
}

/// intake4: on SQLite, receipts are numbered within their day (migration
/// 0004): `n = days since 1970-01-01 × 2³² + the receipt's number that day`,
/// so that new receipts append at the table's end and the sweep deletes a
/// range of `n`. This is the first `n` of `day` (the day's receipts are above it).
pub(crate) fn receipt_day_base(day: Day) -> i64 {
    (i64::from(day.date().to_julian_day()) - 2_440_588) << 32
}

/// Reports inserted by one statement (5 parameters each, well under the
/// parameter limits of SQLite and PostgreSQL).
const INSERT_CHUNK: usize = 100;

/// `INSERT INTO table (cols) VALUES ($1, …), (…)` for `rows` rows of `cols`.
fn insert_sql(table: &str, cols: usize, rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} VALUES ");
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for col in 0..cols {
            if col > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", row * cols + col + 1));
        }
        sql.push(')');
    }
    sql
}

#[async_trait]
impl IntakeStore for IntakeDb {
    async fn intake_insert(&self, reports: &[SealedReport]) -> Result<(), StoreError> {
        if let Some(writer) = &self.writer {
            return writer
                .insert(std::sync::Arc::new(reports.to_vec()))
                .await?
                .wait()
                .await;
        }
        let sqlite = matches!(self.db, Db::Sqlite(_));
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            // No AUTOINCREMENT or sequence counts every report ever received:
            // each is numbered after the highest one pending. The one writer
            // makes this safe; on PostgreSQL writers also take turns.
            if let Db::Postgres(_) = &self.db {
                sqlx::query("LOCK TABLE intake_reports IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            // One statement per table for each chunk of the batch rather than
            // two per report: every statement is a round trip to SQLite's
            // worker thread, and those wake-ups were a quarter of the
            // intake's CPU under load (bench/intake, perf; intakechan).
            //
            // The receipts go first so that the transaction's first statement
            // writes: SQLite then takes the write lock at once (waiting out a
            // concurrent writer within its busy timeout). Reading the highest
            // seq first and writing later would upgrade a read lock, which
            // fails at once ("database is locked") when another connection
            // (upkeep, an acknowledgement, a follow-up) wrote in between.
            let mut base: Option<i64> = None;
            for (chunk_no, chunk) in reports.chunks(INSERT_CHUNK).enumerate() {
                let days: Vec<String> = chunk.iter().map(|r| r.received.to_string()).collect();
                if sqlite {
                    // intake4: numbered within the day (this path serves
                    // only in-memory databases, tests; files go through
                    // `intake_writer`). One INSERT a receipt, each writing
                    // first, so the write lock is taken at once.
                    for (r, day) in chunk.iter().zip(&days) {
                        let first = receipt_day_base(r.received);
                        sqlx::query(
                            "INSERT INTO intake_receipts (n, hash, received) VALUES ( \
                               (SELECT COALESCE(MAX(n), $1) FROM intake_receipts \
                                WHERE n >= $1 AND n < $2) + 1, $3, $4)",
                        )
                        .bind(first)
                        .bind(first + (1 << 32))
                        .bind(&r.receipt_hash[..])
                        .bind(day)
                        .execute(&mut *tx)
                        .await?;
                    }
                } else {
                    // Built from constants and counts only, never from data.
                    let mut q = sqlx::query(sqlx::AssertSqlSafe(insert_sql(
                        "intake_receipts (hash, received)",
                        2,
                        chunk.len(),
                    )));
                    for (r, day) in chunk.iter().zip(&days) {
                        q = q.bind(&r.receipt_hash[..]).bind(day);
                    }
                    q.execute(&mut *tx).await?;
                }
                let base = match base {
                    Some(b) => b,
                    None => {
                        let (b,): (i64,) =
                            sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM intake_reports")
                                .fetch_one(&mut *tx)
                                .await?;
                        base = Some(b);
                        b
                    }
                };
                let first = base + i64::try_from(chunk_no * INSERT_CHUNK).unwrap_or(i64::MAX - 1);
                let mut q = sqlx::query(sqlx::AssertSqlSafe(insert_sql(
                    "intake_reports (seq, id, receipt_hash, sealed, received)",
                    5,
                    chunk.len(),
                )));
                for (i, (r, day)) in chunk.iter().zip(&days).enumerate() {
                    q = q
                        .bind(first + 1 + i64::try_from(i).unwrap_or(0))
                        .bind(r.id.to_string())
                        .bind(&r.receipt_hash[..])
                        .bind(&r.sealed)
                        .bind(day);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    async fn intake_pending(&self, limit: u32) -> Result<Vec<SealedReport>, StoreError> {
        let rows: Vec<ReportRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, receipt_hash, sealed, received FROM intake_reports ORDER BY seq LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(to_report).collect()
    }

    async fn intake_pending_within(
        &self,
        limit: u32,
        max_bytes: u64,
    ) -> Result<Vec<SealedReport>, StoreError> {
        // The sizes before each report are summed in the query, so reports
        // past the budget are never read.
        let rows: Vec<ReportRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, receipt_hash, sealed, received FROM intake_reports WHERE seq IN ( \
                   SELECT seq FROM ( \
                     SELECT seq, SUM(LENGTH(sealed)) OVER (ORDER BY seq) - LENGTH(sealed) AS before \
                     FROM intake_reports ORDER BY seq LIMIT $1 \
                   ) AS firsts WHERE before < $2 \
                 ) ORDER BY seq",
            )
            .bind(i64::from(limit))
            .bind(i64::try_from(max_bytes.max(1)).unwrap_or(i64::MAX))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(to_report).collect()
    }

    async fn intake_acknowledge(&self, ids: &[ReportId]) -> Result<u64, StoreError> {
        let mut deleted = 0;
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            for id in ids {
                deleted += sqlx::query("DELETE FROM intake_reports WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
        });
        Ok(deleted)
    }

    async fn intake_pending_count(&self) -> Result<u64, StoreError> {
        let n: i64 = on_pool!(&self.db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM intake_reports")
                .fetch_one(pool)
                .await?
        });
        Ok(n.unsigned_abs())
    }

    async fn intake_receipt_known(&self, hash: &[u8; 32]) -> Result<bool, StoreError> {
        let n: i64 = on_pool!(&self.db, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM intake_receipts WHERE hash = $1")
                .bind(&hash[..])
                .fetch_one(pool)
                .await?
        });
        Ok(n > 0)
    }

    async fn intake_forget_receipts(&self, before: Day) -> Result<u64, StoreError> {
        // intake4: on SQLite the days are the high bits of `n` (migration
        // 0004), so the sweep deletes a range of the table's own key.
        let sqlite = matches!(self.db, Db::Sqlite(_));
        let forgotten = on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            let n = if sqlite {
                sqlx::query("DELETE FROM intake_receipts WHERE n < $1")
                    .bind(receipt_day_base(before))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            } else {
                sqlx::query("DELETE FROM intake_receipts WHERE received < $1")
                    .bind(before.to_string())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            };
            // A receipt's messages go with it; follow-ups the desk has not yet
            // stored stay until it has (and go at the next sweep after that).
            sqlx::query(
                "DELETE FROM intake_messages WHERE pending = 0 AND NOT EXISTS \
                 (SELECT 1 FROM intake_receipts r WHERE r.hash = intake_messages.receipt_hash)",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            n
        });
        Ok(forgotten)
    }

    async fn intake_checkpoint(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(pool) => {
                let _turn = self.checkpoint.lock().await;
                // intake5: on a file, the writer's checkpoint thread runs it,
                // between its own passive checkpoints (two at once make one
                // give up).
                if let Some(writer) = &self.writer {
                    return match writer.truncate().await? {
                        true => Ok(()),
                        false => Err(StoreError::CheckpointBusy),
                    };
                }
                let (busy, _, _): (i64, i64, i64) =
                    sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                        .fetch_one(pool)
                        .await?;
                if busy != 0 {
                    return Err(StoreError::CheckpointBusy);
                }
                Ok(())
            }
            // PostgreSQL cannot zero freed tuples or its own WAL; see docs/threat-model.md.
            Db::Postgres(_) => Ok(()),
        }
    }

    async fn intake_put_replies(
        &self,
        replies: &[SealedMessage],
    ) -> Result<Vec<ReportId>, StoreError> {
        let mut held = Vec::new();
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            lock_messages!(&self.db, tx);
            for m in replies {
                insert_message!(tx, m, false);
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intake_messages WHERE id = $1")
                    .bind(m.id.to_string())
                    .fetch_one(&mut *tx)
                    .await?;
                if n > 0 {
                    held.push(m.id);
                }
            }
            tx.commit().await?;
        });
        Ok(held)
    }

    async fn intake_add_followup(&self, followup: &SealedMessage) -> Result<bool, StoreError> {
        let stored = on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            lock_messages!(&self.db, tx);
            let n = insert_message!(tx, followup, true);
            tx.commit().await?;
            n > 0
        });
        Ok(stored)
    }

    async fn intake_messages(
        &self,
        receipt_hash: &[u8; 32],
    ) -> Result<Vec<SealedMessage>, StoreError> {
        let rows: Vec<MessageRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, receipt_hash, sender, day, sealed FROM intake_messages \
                 WHERE receipt_hash = $1 ORDER BY seq",
            )
            .bind(&receipt_hash[..])
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(to_message).collect()
    }

    async fn intake_pending_followups(&self, limit: u32) -> Result<Vec<SealedMessage>, StoreError> {
        let rows: Vec<MessageRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, receipt_hash, sender, day, sealed FROM intake_messages \
                 WHERE pending = 1 ORDER BY seq LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(to_message).collect()
    }

    async fn intake_followups_delivered(&self, ids: &[ReportId]) -> Result<u64, StoreError> {
        let mut changed = 0;
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            for id in ids {
                changed += sqlx::query(
                    "UPDATE intake_messages SET pending = 0 WHERE id = $1 AND pending = 1",
                )
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
        });
        Ok(changed)
    }

    async fn intake_vacuum(&self) -> Result<(), StoreError> {
        match &self.db {
            Db::Sqlite(pool) => {
                sqlx::query("VACUUM").execute(pool).await?;
                self.intake_checkpoint().await
            }
            Db::Postgres(_) => Ok(()),
        }
    }

    async fn intake_insert_pipelined(
        &self,
        reports: std::sync::Arc<Vec<SealedReport>>,
    ) -> Result<Durable, StoreError> {
        match &self.writer {
            Some(writer) => writer.insert(reports).await,
            None => {
                self.intake_insert(&reports).await?;
                Ok(Durable::now())
            }
        }
    }

    fn intake_report_queue(&self) -> Option<crate::ReportQueue> {
        self.writer
            .as_ref()
            .map(crate::intake_writer::SqliteWriter::queue)
    }
}
