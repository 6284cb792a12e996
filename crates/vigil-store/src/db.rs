//! The two backends behind one handle. Queries are written once, with `$1`
//! placeholders that SQLite and PostgreSQL both understand, and run on either
//! pool through [`on_pool!`]; code branches on the backend only where the two
//! really differ (connecting, locking during migrations).

use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::StoreError;
use crate::migrate::Zone;

pub(crate) enum Db {
    /// Embedded: one file per zone, in WAL mode with full synchronisation so
    /// that a committed report survives a power cut, and `secure_delete` so
    /// that deleted rows are zeroed. Statements are never logged (either backend).
    Sqlite(SqlitePool),
    /// For an organisation that outgrows one machine; replication and failover
    /// are PostgreSQL's job, not vigil's.
    Postgres(PgPool),
}

/// Runs the same code on whichever pool `db` holds: `$pool` is bound to the
/// backend's pool, and the body is type-checked once per backend.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl Db {
    /// Connects to the database a URL names and brings the zone's schema up to
    /// date. Refuses any scheme it does not know rather than guess.
    pub(crate) async fn open(url: &str, zone: Zone) -> Result<Db, StoreError> {
        let scheme = url.split(':').next().unwrap_or_default();
        let db = match scheme {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Open(e.to_string()))?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    // A deleted (purged) report's ciphertext is zeroed, not left
                    // in free pages.
                    .pragma("secure_delete", "ON")
                    // 64 MiB of page cache per connection (SQLite's default is
                    // 2 MiB): a large import touches indexes all over the file.
                    .pragma("cache_size", "-65536")
                    // Statements are never logged, slow ones included: the log
                    // stays free of anything about the record, and a line per
                    // INSERT would date each report.
                    .disable_statement_logging();
                let options = match zone {
                    Zone::Desk => options.page_size(DESK_PAGE_SIZE),
                    Zone::Intake => options,
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .acquire_slow_level(log::LevelFilter::Off)
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Open(e.to_string()))?;
                Db::Sqlite(pool)
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(|e| StoreError::Open(e.to_string()))?
                    .disable_statement_logging();
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_slow_level(log::LevelFilter::Off)
                    .connect_with(options)
                    .await
                    .map_err(|e| StoreError::Open(e.to_string()))?;
                Db::Postgres(pool)
            }
            other => return Err(StoreError::UnknownScheme(other.chars().take(32).collect())),
        };
        crate::migrate::run(&db, zone).await?;
        Ok(db)
    }
}

/// import6: the page size a new desk file is made with (sqlx sets it first
/// on each connection, before the journal mode and any table; on a file that
/// exists, in WAL mode, SQLite keeps the size it has). The desk's record is
/// written by the thousands of rows and appended in key order: 16 KiB pages
/// mean a quarter of the B-tree pages, splits and WAL frames that 4 KiB ones
/// do (SQLite alone inserting an import of 1,000,000 rows: 7.5 CPU s at 4 KiB,
/// 5.0 at 16 KiB, docs/benchmarks.md run 10). The intake's small writes keep
/// SQLite's 4 KiB.
const DESK_PAGE_SIZE: u32 = 16_384;

#[cfg(test)]
mod tests {
    use super::*;

    async fn page_size_of(db: &Db) -> i64 {
        let Db::Sqlite(pool) = db else {
            unreachable!("an SQLite url")
        };
        sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    /// import6: a new desk gets 16 KiB pages, a new intake SQLite's 4 KiB,
    /// and a desk made before keeps its pages and opens and migrates as ever.
    #[tokio::test]
    async fn new_desks_get_16k_pages_and_older_desks_keep_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let url = |name: &str| crate::sqlite_url(&dir.path().join(name));
        let desk = Db::open(&url("desk.db"), Zone::Desk).await.unwrap();
        assert_eq!(page_size_of(&desk).await, 16_384);
        let intake = Db::open(&url("intake.db"), Zone::Intake).await.unwrap();
        assert_eq!(page_size_of(&intake).await, 4_096);

        // A desk file as an earlier vigil made it: WAL, 4 KiB pages, a table.
        let old = dir.path().join("old.db");
        let c = rusqlite::Connection::open(&old).unwrap();
        c.execute_batch(
            "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE earlier (x)",
        )
        .unwrap();
        drop(c);
        let desk = Db::open(&url("old.db"), Zone::Desk).await.unwrap();
        assert_eq!(page_size_of(&desk).await, 4_096);
        let Db::Sqlite(pool) = &desk else {
            unreachable!("an SQLite url")
        };
        let tables: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('earlier', 'record_events')",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(tables, 2);
    }
}
