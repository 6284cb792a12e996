//! Desk accounts: Argon2id password hashes. Roles and a second factor come later.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};
use vigil_store::{Account, DeskStore, StoreError};
use zeroize::Zeroizing;

use crate::verifier::{Busy, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a username is 1 to 64 letters, digits, dots, dashes or underscores")]
    BadUsername,
    #[error("a password needs at least 12 characters")]
    WeakPassword,
    #[error("hashing the password failed")]
    Hash,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a login could not be checked (as opposed to a wrong password).
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub const MIN_PASSWORD_CHARS: usize = 12;

fn valid_username(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

pub async fn put_account(
    store: &dyn DeskStore,
    username: &str,
    password: &str,
) -> Result<(), AccountError> {
    if !valid_username(username) {
        return Err(AccountError::BadUsername);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword);
    }
    let salt_bytes = vigil_core::random::bytes::<16>().map_err(|_| AccountError::Hash)?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| AccountError::Hash)?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|_| AccountError::Hash)?
        .to_string();
    store
        .desk_put_account(
            &Account {
                username: username.to_owned(),
                password_hash: hash,
            },
            vigil_core::Day::today(),
        )
        .await?;
    Ok(())
}

/// Checks a login. Unknown users cost the same hashing time and memory as
/// known ones, so neither tells which usernames exist.
pub async fn check_login(
    store: &dyn DeskStore,
    verifier: &PasswordVerifier,
    username: &str,
    password: Zeroizing<String>,
) -> Result<bool, LoginError> {
    let account = store.desk_account(username).await?;
    let stored = account.map(|a| a.password_hash);
    Ok(verifier.verify(stored.as_deref(), password).await?)
}
