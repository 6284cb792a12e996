//! The PostgreSQL backend, for an organisation that outgrows one machine.
//! Replication and failover are PostgreSQL's job, not vigil's.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::ConnectOptions;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use vigil_core::{Day, ReportId};

use crate::migrate::{self, Migration};
use crate::{Account, SealedReport, Store, StoreError, parse_day, parse_hash, parse_id};

pub struct PgStore {
    pool: PgPool,
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

/// An arbitrary constant that serialises migrations across processes.
const MIGRATION_LOCK: i64 = 0x7669_6769_6c00;

impl PgStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        // Statements are never logged: a log line per INSERT would date each report.
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Open(e.to_string()))?
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_slow_level(log::LevelFilter::Off)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open(e.to_string()))?;
        let store = PgStore { pool };
        store.migrate(migrate::POSTGRES).await?;
        Ok(store)
    }

    async fn migrate(&self, migrations: &[Migration]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied DATE NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
            .fetch_one(&mut *tx)
            .await?;
        let current = current.unwrap_or(0);
        migrate::check_not_newer(current, migrations)?;
        for m in migrations.iter().filter(|m| m.version > current) {
            sqlx::raw_sql(m.sql)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::Migration {
                    version: m.version,
                    message: e.to_string(),
                })?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied) VALUES ($1, CURRENT_DATE)",
            )
            .bind(m.version)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl Store for PgStore {
    async fn intake_insert(&self, reports: &[SealedReport]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // No sequence counts every report ever received: each report is numbered
        // after the highest pending one, with writers taking turns.
        sqlx::query("LOCK TABLE intake_reports IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        for r in reports {
            let day = r.received.to_string();
            sqlx::query(
                "INSERT INTO intake_reports (seq, id, receipt_hash, sealed, received) \
                 VALUES ((SELECT COALESCE(MAX(seq), 0) + 1 FROM intake_reports), $1, $2, $3, $4::date)",
            )
            .bind(r.id.to_string())
            .bind(&r.receipt_hash[..])
            .bind(&r.sealed)
            .bind(&day)
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO intake_receipts (hash, received) VALUES ($1, $2::date)")
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
            "SELECT id, receipt_hash, sealed, received::text FROM intake_reports ORDER BY seq LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(to_report).collect()
    }

    async fn intake_acknowledge(&self, ids: &[ReportId]) -> Result<u64, StoreError> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let deleted = sqlx::query("DELETE FROM intake_reports WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted)
    }

    async fn intake_pending_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intake_reports")
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unsigned_abs())
    }

    async fn intake_receipt_known(&self, hash: &[u8; 32]) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM intake_receipts WHERE hash = $1")
            .bind(&hash[..])
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    async fn intake_forget_receipts(&self, before: Day) -> Result<u64, StoreError> {
        let forgotten = sqlx::query("DELETE FROM intake_receipts WHERE received < $1::date")
            .bind(before.to_string())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(forgotten)
    }

    async fn intake_checkpoint(&self) -> Result<(), StoreError> {
        // PostgreSQL cannot zero freed tuples or its own WAL; see docs/threat-model.md.
        Ok(())
    }

    async fn desk_store_pulled(&self, reports: &[SealedReport]) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut new = 0;
        for r in reports {
            new += sqlx::query(
                "INSERT INTO desk_reports (id, receipt_hash, sealed, received) VALUES ($1, $2, $3, $4::date) \
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
            "SELECT id, receipt_hash, sealed, received::text FROM desk_reports ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(to_report).collect()
    }

    async fn desk_count_by_day(&self) -> Result<Vec<(Day, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT received::text, COUNT(*) FROM desk_reports GROUP BY received ORDER BY received",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(d, n)| Ok((parse_day(&d)?, n.unsigned_abs())))
            .collect()
    }

    async fn desk_put_account(&self, account: &Account) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO desk_accounts (username, password_hash, created) VALUES ($1, $2, CURRENT_DATE) \
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(&account.username)
        .bind(&account.password_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn desk_account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT username, password_hash FROM desk_accounts WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(username, password_hash)| Account {
            username,
            password_hash,
        }))
    }
}
