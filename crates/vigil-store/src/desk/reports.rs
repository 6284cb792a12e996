//! Reports the desk pulled from the intake, kept sealed at rest.

use vigil_core::{Day, SealedReport};

use crate::db::{Db, on_pool};
use crate::{ReportRow, StoreError, parse_day, to_report};

pub(super) async fn store_pulled(db: &Db, reports: &[SealedReport]) -> Result<u64, StoreError> {
    let mut new = 0;
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for r in reports {
            new += sqlx::query(
                "INSERT INTO desk_reports (id, receipt_hash, sealed, received) VALUES ($1, $2, $3, $4) \
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
    });
    Ok(new)
}

pub(super) async fn all(db: &Db) -> Result<Vec<SealedReport>, StoreError> {
    let rows: Vec<ReportRow> = on_pool!(db, pool => {
        sqlx::query_as("SELECT id, receipt_hash, sealed, received FROM desk_reports ORDER BY seq")
            .fetch_all(pool)
            .await?
    });
    rows.into_iter().map(to_report).collect()
}

pub(super) async fn count_by_day(db: &Db) -> Result<Vec<(Day, u64)>, StoreError> {
    let rows: Vec<(String, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT received, COUNT(*) FROM desk_reports GROUP BY received ORDER BY received",
        )
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(d, n)| Ok((parse_day(&d)?, n.unsigned_abs())))
        .collect()
}
