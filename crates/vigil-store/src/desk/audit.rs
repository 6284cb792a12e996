//! The desk's audit log (deskaccess, issue 11): one entry per desk action,
//! ids and kinds only, each entry's hash covering the one before it. The
//! head row (the newest seq and hash) is updated in the same transaction as
//! each append, which serialises appends on both backends and lets a check
//! see that the newest entries were cut off.

use sha2::{Digest, Sha256};

use crate::StoreError;
use crate::db::{Db, on_pool};

/// The previous hash of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    /// Seconds since 1970 (UTC).
    pub at: i64,
    /// The account that acted (its username), or `-` for none (a failed login
    /// under an unknown name).
    pub actor: String,
    /// The kind of action (`login`, `merge_persons`, ...).
    pub action: String,
    /// The ids the action concerns (reports, persons, accounts); never content.
    pub subjects: Vec<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// SHA-256 (hex) over a canonical encoding of an entry and the previous hash:
/// a version tag, then every field as its length (8 bytes, big-endian) and bytes.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    subjects: &[String],
) -> String {
    let mut h = Sha256::new();
    let mut field = |b: &[u8]| {
        h.update((b.len() as u64).to_be_bytes());
        h.update(b);
    };
    field(b"vigil-audit-v1");
    field(prev_hash.as_bytes());
    field(&seq.to_be_bytes());
    field(&at.to_be_bytes());
    field(actor.as_bytes());
    field(action.as_bytes());
    field(&(subjects.len() as u64).to_be_bytes());
    for s in subjects {
        field(s.as_bytes());
    }
    hex::encode(h.finalize())
}

pub(super) async fn append(
    db: &Db,
    at: i64,
    actor: &str,
    action: &str,
    subjects: &[String],
) -> Result<AuditEntry, StoreError> {
    let subjects_json = serde_json::to_string(subjects)
        .map_err(|e| StoreError::Corrupt(format!("audit subjects: {e}")))?;
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        // Writing first takes the write lock (SQLite) or the row lock
        // (PostgreSQL) before the head is read: appends never interleave.
        sqlx::query("UPDATE desk_audit_head SET seq = seq + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let (seq, prev_hash): (i64, String) =
            sqlx::query_as("SELECT seq, hash FROM desk_audit_head WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
        let hash = entry_hash(&prev_hash, seq, at, actor, action, subjects);
        sqlx::query(
            "INSERT INTO desk_audit (seq, at, actor, action, subjects, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(&subjects_json)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE desk_audit_head SET hash = $1 WHERE id = 1")
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(AuditEntry {
            seq,
            at,
            actor: actor.to_owned(),
            action: action.to_owned(),
            subjects: subjects.to_vec(),
            prev_hash,
            hash,
        })
    })
}

type Row = (i64, i64, String, String, String, String, String);

fn to_entry((seq, at, actor, action, subjects, prev_hash, hash): Row) -> AuditEntry {
    // A damaged subjects column is kept as one string, so the check reports
    // the entry as changed instead of failing to read the log.
    let subjects = serde_json::from_str(&subjects).unwrap_or_else(|_| vec![subjects]);
    AuditEntry {
        seq,
        at,
        actor,
        action,
        subjects,
        prev_hash,
        hash,
    }
}

/// Up to `limit` entries with `seq > after`, in stored order of seq.
pub(super) async fn entries(
    db: &Db,
    after: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows: Vec<Row> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT seq, at, actor, action, subjects, prev_hash, hash FROM desk_audit \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows.into_iter().map(to_entry).collect())
}

/// The newest entries first, `seq < before`, up to `limit`.
pub(super) async fn newest(
    db: &Db,
    before: i64,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows: Vec<Row> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT seq, at, actor, action, subjects, prev_hash, hash FROM desk_audit \
             WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    Ok(rows.into_iter().map(to_entry).collect())
}

/// The chain's end as recorded: (seq, hash).
pub(super) async fn head(db: &Db) -> Result<(i64, String), StoreError> {
    Ok(on_pool!(db, pool => {
        sqlx::query_as("SELECT seq, hash FROM desk_audit_head WHERE id = 1")
            .fetch_one(pool)
            .await?
    }))
}
