//! The intake zone's store: sealed reports until the desk acknowledges them,
//! and the receipts that let a reporter come back. Nothing here can read a
//! report, and the intake's database holds no desk table.

use async_trait::async_trait;
use vigil_core::{ReportId, SealedReport};

use crate::db::{Db, on_pool};
use crate::{ReportRow, StoreError, to_report};

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
}

/// The intake store on either backend.
pub(crate) struct IntakeDb {
    pub(crate) db: Db,
}

#[async_trait]
impl IntakeStore for IntakeDb {
    async fn intake_insert(&self, reports: &[SealedReport]) -> Result<(), StoreError> {
        on_pool!(&self.db, pool => {
            let mut tx = pool.begin().await?;
            for r in reports {
                let day = r.received.to_string();
                sqlx::query(
                    "INSERT INTO intake_reports (id, receipt_hash, sealed, received) VALUES ($1, $2, $3, $4)",
                )
                .bind(r.id.to_string())
                .bind(&r.receipt_hash[..])
                .bind(&r.sealed)
                .bind(&day)
                .execute(&mut *tx)
                .await?;
                sqlx::query("INSERT INTO intake_receipts (hash, received) VALUES ($1, $2)")
                    .bind(&r.receipt_hash[..])
                    .bind(&day)
                    .execute(&mut *tx)
                    .await?;
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
}
