//! Desk accounts: the store keeps what vigil-desk hashed; it never sees a password.

use vigil_core::Day;

use crate::db::{Db, on_pool};
use crate::{Account, StoreError};

pub(super) async fn put(db: &Db, account: &Account, today: Day) -> Result<(), StoreError> {
    on_pool!(db, pool => {
        sqlx::query(
            "INSERT INTO desk_accounts (username, password_hash, created) VALUES ($1, $2, $3) \
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(&account.username)
        .bind(&account.password_hash)
        .bind(today.to_string())
        .execute(pool)
        .await?;
    });
    Ok(())
}

pub(super) async fn get(db: &Db, username: &str) -> Result<Option<Account>, StoreError> {
    let row: Option<(String, String)> = on_pool!(db, pool => {
        sqlx::query_as("SELECT username, password_hash FROM desk_accounts WHERE username = $1")
            .bind(username)
            .fetch_optional(pool)
            .await?
    });
    Ok(row.map(|(username, password_hash)| Account {
        username,
        password_hash,
    }))
}

// --- deskaccess (issue 11): roles, second factor, recovery codes ---

/// An account as the admin pages and the login's second step see it (never
/// the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub username: String,
    /// admin, coordinator, duty_lawyer, verifier or analyst (vigil-desk's authz.rs).
    pub role: String,
    pub disabled: bool,
    /// Extra rights beyond the role, comma-separated (`names`, `report_text`).
    pub grants: String,
    pub created: Day,
    /// The TOTP secret sealed to the desk identity, once enrolled.
    pub totp_sealed: Option<Vec<u8>>,
    pub totp_last_step: Option<i64>,
    /// Recovery codes not yet used.
    pub recovery_left: u64,
}

type InfoRow = (
    String,
    String,
    i64,
    String,
    String,
    Option<Vec<u8>>,
    Option<i64>,
    i64,
);

macro_rules! info_select {
    ($tail:literal) => {
        concat!(
            "SELECT a.username, a.role, a.disabled, a.grants, a.created, a.totp_sealed, \
     a.totp_last_step, (SELECT COUNT(*) FROM desk_recovery_codes r WHERE r.username = a.username) \
     FROM desk_accounts a ",
            $tail
        )
    };
}

fn to_info(row: InfoRow) -> Result<AccountInfo, StoreError> {
    let (username, role, disabled, grants, created, totp_sealed, totp_last_step, left) = row;
    Ok(AccountInfo {
        username,
        role,
        disabled: disabled != 0,
        grants,
        created: crate::parse_day(&created)?,
        totp_sealed,
        totp_last_step,
        recovery_left: u64::try_from(left).unwrap_or(0),
    })
}

pub(super) async fn info(db: &Db, username: &str) -> Result<Option<AccountInfo>, StoreError> {
    let row: Option<InfoRow> = on_pool!(db, pool => {
        sqlx::query_as(info_select!("WHERE a.username = $1")).bind(username).fetch_optional(pool).await?
    });
    row.map(to_info).transpose()
}

pub(super) async fn list(db: &Db) -> Result<Vec<AccountInfo>, StoreError> {
    let rows: Vec<InfoRow> = on_pool!(db, pool => {
        sqlx::query_as(info_select!("ORDER BY a.username")).fetch_all(pool).await?
    });
    rows.into_iter().map(to_info).collect()
}

fn one(rows: u64) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

pub(super) async fn set_role(db: &Db, username: &str, role: &str) -> Result<(), StoreError> {
    let rows = on_pool!(db, pool => {
        sqlx::query("UPDATE desk_accounts SET role = $2 WHERE username = $1")
            .bind(username)
            .bind(role)
            .execute(pool)
            .await?
            .rows_affected()
    });
    one(rows)
}

pub(super) async fn set_disabled(
    db: &Db,
    username: &str,
    disabled: bool,
) -> Result<(), StoreError> {
    let rows = on_pool!(db, pool => {
        sqlx::query("UPDATE desk_accounts SET disabled = $2 WHERE username = $1")
            .bind(username)
            .bind(i64::from(disabled))
            .execute(pool)
            .await?
            .rows_affected()
    });
    one(rows)
}

pub(super) async fn set_grants(db: &Db, username: &str, grants: &str) -> Result<(), StoreError> {
    let rows = on_pool!(db, pool => {
        sqlx::query("UPDATE desk_accounts SET grants = $2 WHERE username = $1")
            .bind(username)
            .bind(grants)
            .execute(pool)
            .await?
            .rows_affected()
    });
    one(rows)
}

/// Sets (or with `None` clears) the second factor and replaces the recovery
/// codes, in one transaction.
pub(super) async fn set_second_factor(
    db: &Db,
    username: &str,
    totp_sealed: Option<&[u8]>,
    recovery_hashes: &[[u8; 32]],
) -> Result<(), StoreError> {
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let rows = sqlx::query(
            "UPDATE desk_accounts SET totp_sealed = $2, totp_last_step = NULL WHERE username = $1",
        )
        .bind(username)
        .bind(totp_sealed)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        one(rows)?;
        sqlx::query("DELETE FROM desk_recovery_codes WHERE username = $1")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO desk_recovery_codes (username, code_hash) VALUES ($1, $2)")
                .bind(username)
                .bind(hash.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

/// Marks a TOTP step used; false if that step or a later one was used already.
pub(super) async fn use_totp_step(db: &Db, username: &str, step: i64) -> Result<bool, StoreError> {
    let rows = on_pool!(db, pool => {
        sqlx::query(
            "UPDATE desk_accounts SET totp_last_step = $2 WHERE username = $1 \
             AND totp_sealed IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(username)
        .bind(step)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(rows == 1)
}

/// Spends a recovery code; false if it is not (or no longer) held.
pub(super) async fn use_recovery_code(
    db: &Db,
    username: &str,
    hash: &[u8; 32],
) -> Result<bool, StoreError> {
    let rows = on_pool!(db, pool => {
        sqlx::query("DELETE FROM desk_recovery_codes WHERE username = $1 AND code_hash = $2")
            .bind(username)
            .bind(hash.as_slice())
            .execute(pool)
            .await?
            .rows_affected()
    });
    Ok(rows == 1)
}
