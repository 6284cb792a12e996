//! intakeform: replies by receipt on the desk. Messages stay sealed at rest
//! (to the desk and to the reporter's receipt key); a message belongs to the
//! report with the same receipt hash.

use vigil_core::followup::SealedMessage;
use vigil_core::{ReportId, SealedReport};

use crate::db::{Db, on_pool};
use crate::{MessageRow, ReportRow, StoreError, to_message, to_report};

pub(super) async fn add(db: &Db, messages: &[SealedMessage]) -> Result<u64, StoreError> {
    let mut new = 0;
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for m in messages {
            new += sqlx::query(
                "INSERT INTO desk_messages (id, receipt_hash, sender, day, sealed) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            )
            .bind(m.id.to_string())
            .bind(&m.receipt_hash[..])
            .bind(m.from.as_str())
            .bind(m.day.to_string())
            .bind(&m.sealed[..])
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
    });
    Ok(new)
}

pub(super) async fn all(db: &Db) -> Result<Vec<SealedMessage>, StoreError> {
    let rows: Vec<MessageRow> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, receipt_hash, sender, day, sealed FROM desk_messages ORDER BY seq",
        )
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(to_message).collect()
}

pub(super) async fn unpushed(db: &Db, limit: u32) -> Result<Vec<SealedMessage>, StoreError> {
    let rows: Vec<MessageRow> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, receipt_hash, sender, day, sealed FROM desk_messages \
             WHERE sender = 'team' AND pushed = 0 ORDER BY seq LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(to_message).collect()
}

pub(super) async fn mark_pushed(db: &Db, ids: &[ReportId]) -> Result<u64, StoreError> {
    let mut changed = 0;
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for id in ids {
            changed += sqlx::query("UPDATE desk_messages SET pushed = 1 WHERE id = $1 AND pushed = 0")
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
    });
    Ok(changed)
}

pub(super) async fn report(db: &Db, id: &ReportId) -> Result<Option<SealedReport>, StoreError> {
    let row: Option<ReportRow> = on_pool!(db, pool => {
        sqlx::query_as("SELECT id, receipt_hash, sealed, received FROM desk_reports WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(pool)
            .await?
    });
    row.map(to_report).transpose()
}
