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
