//! intakefast: the intake's inserts on SQLite, through a direct binding
//! (rusqlite) on one thread of their own.
//!
//! Under load, storing reports through sqlx cost about a quarter of the
//! intake's CPU (bench/intake, perf): every statement went to sqlx's worker
//! thread and back over a channel, every value was copied into owned
//! arguments, a multi-row INSERT needed a statement journal, and the batches
//! landed on whichever of the pool's connections was free, each of which then
//! found its page cache stale (another connection had written) and read the
//! pages again. Here one connection, on one thread, keeps its cache and its
//! two prepared INSERTs, and writes each batch in one transaction that takes
//! the write lock at once (`BEGIN IMMEDIATE`).
//!
//! The connection is set up like the pool's (WAL, `synchronous = FULL`,
//! `secure_delete`, foreign keys, the busy timeout), so a batch is as durable
//! when its commit returns as before. PostgreSQL, and SQLite in memory (tests),
//! keep the sqlx path.

use std::path::PathBuf;
use std::sync::mpsc;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use tokio::sync::oneshot;
use vigil_core::SealedReport;

use crate::StoreError;

struct Batch {
    reports: Vec<SealedReport>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle of the writing thread; the thread ends when this is dropped.
pub(crate) struct SqliteWriter {
    tx: mpsc::Sender<Batch>,
}

impl SqliteWriter {
    /// Opens a second connection to the (already migrated) database file and
    /// starts its thread.
    pub(crate) fn start(path: PathBuf) -> Result<SqliteWriter, StoreError> {
        let conn = open(&path).map_err(|e| StoreError::Open(e.to_string()))?;
        let (tx, rx) = mpsc::channel::<Batch>();
        std::thread::Builder::new()
            .name("intake-writer".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(batch) = rx.recv() {
                    let result = insert(&mut conn, &batch.reports).map_err(StoreError::from);
                    let _ = batch.done.send(result);
                }
            })
            .map_err(|e| StoreError::Open(e.to_string()))?;
        Ok(SqliteWriter { tx })
    }

    /// Stores the reports in one transaction; `Ok` once it is committed.
    pub(crate) async fn insert(&self, reports: &[SealedReport]) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        let batch = Batch {
            reports: reports.to_vec(),
            done,
        };
        self.tx.send(batch).map_err(|_| StoreError::WriterGone)?;
        wait.await.map_err(|_| StoreError::WriterGone)?
    }
}

fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    // The pool's settings (db.rs): the journal mode is the file's own (WAL,
    // set when the pool opened it); the others are per connection. The
    // cache is smaller than the pool's 64 MiB: this connection keeps its
    // cache between batches, and with 64 MiB it grew the intake's peak RSS
    // from 39 to 98 MiB under load (the goal is under 64); 8 MiB holds the
    // indexes' upper levels and recent pages, the rest comes from the OS's cache.
    let conn = crate::direct::open(
        path,
        OpenFlags::SQLITE_OPEN_URI,
        "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -8192;",
    )?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
    }
    Ok(conn)
}

/// One transaction for the whole batch: all stored, or none.
fn insert(conn: &mut Connection, reports: &[SealedReport]) -> rusqlite::Result<()> {
    // IMMEDIATE takes the write lock first (waiting out another writer within
    // the busy timeout) rather than upgrading a read lock later, which fails
    // at once when another connection wrote in between.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        // No AUTOINCREMENT or sequence counts every report ever received:
        // each is numbered after the highest one pending.
        let base: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM intake_reports")?
            .query_row([], |r| r.get(0))?;
        // intake4: receipts numbered within their day, appended at the
        // table's end (migration 0004, `receipt_day_base`).
        let mut numbers: Vec<(vigil_core::Day, i64)> = Vec::with_capacity(1);
        let mut last_of_day = tx.prepare_cached(
            "SELECT COALESCE(MAX(n), ?1) FROM intake_receipts WHERE n >= ?1 AND n < ?2",
        )?;
        let mut receipt = tx.prepare_cached(
            "INSERT INTO intake_receipts (n, hash, received) VALUES (?1, ?2, ?3)",
        )?;
        let mut report = tx.prepare_cached(
            "INSERT INTO intake_reports (seq, id, receipt_hash, sealed, received) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut seq = base;
        for r in reports {
            seq += 1;
            let day = r.received.to_string();
            let n = match numbers.iter_mut().find(|(d, _)| *d == r.received) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    let first = crate::intake::receipt_day_base(r.received);
                    let last: i64 = last_of_day
                        .query_row(params![first, first + (1 << 32)], |row| row.get(0))?;
                    numbers.push((r.received, last + 1));
                    last + 1
                }
            };
            receipt.execute(params![n, &r.receipt_hash[..], day])?;
            report.execute(params![
                seq,
                r.id.to_string(),
                &r.receipt_hash[..],
                &r.sealed[..],
                day
            ])?;
        }
    }
    tx.commit()
}
