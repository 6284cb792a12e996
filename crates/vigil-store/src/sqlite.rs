//! The embedded backend: one SQLite file per zone, in WAL mode with full
//! synchronisation so that a committed report survives a power cut, and with
//! `secure_delete`, so that a deleted (purged) report's ciphertext is zeroed
//! rather than left in free pages. Statements are never logged.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use vigil_core::{Day, ReportId};

use crate::migrate::{self, Migration};
use crate::{Account, SealedReport, Store, StoreError, parse_day, parse_hash, parse_id};

pub struct SqliteStore {
    pool: SqlitePool,
    /// Two checkpoints at once make one of them give up (SQLITE_BUSY): they
    /// take turns instead.
    checkpoint: tokio::sync::Mutex<()>,
}

type Row = (String, Vec<u8>, Vec<u8>, String);

fn to_report((id, receipt_hash, sealed, received): Row) -> Result<SealedReport, StoreError> {
    Ok(SealedReport {
        id: parse_id(&id)?,
        receipt_hash: parse_hash(receipt_hash)?,
        sealed,
        received: parse_day(&received)?,
    })
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Open(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            .pragma("secure_delete", "ON")
            .disable_statement_logging();
        // A slow-acquire warning is an event per busy moment: not logged either.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_slow_level(log::LevelFilter::Off)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(e.to_string()))?;
        let store = SqliteStore {
            pool,
            checkpoint: tokio::sync::Mutex::new(()),
        };
        store.migrate(migrate::SQLITE).await?;
        Ok(store)
    }

    async fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await?;
        let current = current.unwrap_or(0);
        migrate::check_not_newer(current, migrations)?;
        for m in migrations.iter().filter(|m| m.version > current) {
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(m.sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Migration {
                    version: m.version,
                    message: e.to_string(),
                })?;
            sqlx::query("INSERT INTO schema_migrations (version, applied) VALUES (?, ?)")
                .bind(m.version)
                .bind(Day::today().to_string())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn intake_insert(&self, reports: &[SealedReport]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for r in reports {
            let day = r.received.to_string();
            sqlx::query(
                "INSERT INTO intake_reports (id, receipt_hash, sealed, received) VALUES (?, ?, ?, ?)",
            )
            .bind(r.id.to_string())
            .bind(&r.receipt_hash[..])
            .bind(&r.sealed)
            .bind(&day)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO intake_receipts (hash, received) VALUES (?, ?)")
                .bind(&r.receipt_hash[..])
                .bind(&day)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn intake_pending(&self, limit: u32) -> Result<Vec<SealedReport>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, receipt_hash, sealed, received FROM intake_reports ORDER BY seq LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(to_report).collect()
    }

    async fn intake_acknowledge(&self, ids: &[ReportId]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut deleted = 0;
        for id in ids {
            deleted += sqlx::query("DELETE FROM intake_reports WHERE id = ?")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    async fn intake_pending_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intake_reports")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unsigned_abs())
    }

    async fn intake_receipt_known(&self, hash: &[u8; 32]) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intake_receipts WHERE hash = ?")
            .bind(&hash[..])
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn intake_forget_receipts(&self, before: Day) -> Result<u64, StoreError> {
        let forgotten = sqlx::query("DELETE FROM intake_receipts WHERE received < ?")
            .bind(before.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(forgotten)
    }

    async fn intake_checkpoint(&self) -> Result<(), StoreError> {
        let _turn = self.checkpoint.lock().await;
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.pool)
            .await?;
        if busy != 0 {
            return Err(StoreError::CheckpointBusy);
        }
        Ok(())
    }

    async fn desk_store_pulled(&self, reports: &[SealedReport]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut new = 0;
        for r in reports {
            new += sqlx::query(
                "INSERT INTO desk_reports (id, receipt_hash, sealed, received) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(r.id.to_string())
            .bind(&r.receipt_hash[..])
            .bind(&r.sealed)
            .bind(r.received.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn desk_reports(&self) -> Result<Vec<SealedReport>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, receipt_hash, sealed, received FROM desk_reports ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(to_report).collect()
    }

    async fn desk_count_by_day(&self) -> Result<Vec<(Day, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT received, COUNT(*) FROM desk_reports GROUP BY received ORDER BY received",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(d, n)| Ok((parse_day(&d)?, n.unsigned_abs())))
            .collect()
    }

    async fn desk_put_account(&self, account: &Account) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO desk_accounts (username, password_hash, created) VALUES (?, ?, ?) \
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(&account.username)
        .bind(&account.password_hash)
        .bind(Day::today().to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn desk_account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT username, password_hash FROM desk_accounts WHERE username = ?")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(username, password_hash)| Account {
            username,
            password_hash,
        }))
    }
}
