//! Desk accounts: Argon2id password hashes. Roles and a second factor come later.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use vigil_store::{Account, DeskStore, StoreError};

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

/// Checks a login. Unknown users cost the same hashing time as known ones, so
/// timing does not tell which usernames exist.
pub async fn check_login(
    store: &dyn DeskStore,
    username: &str,
    password: &str,
) -> Result<bool, AccountError> {
    let account = store.desk_account(username).await?;
    let stored = account.map(|a| a.password_hash);
    let password = zeroize::Zeroizing::new(password.to_owned());
    let known = stored.is_some();
    let verified = tokio::task::spawn_blocking(move || {
        let dummy = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$Ck6rZ2oGbMnmYWCLLvkYx7CW9Xqvz1P7n0NHr6w0OS0";
        let hash_text = stored.as_deref().unwrap_or(dummy);
        match PasswordHash::new(hash_text) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(_) => false,
        }
    })
    .await
    .unwrap_or(false);
    Ok(verified && known)
}
