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
