//! Desk accounts: Argon2id password hashes, a role (authz.rs), a second factor (totp.rs).

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
    #[error(
        "no account {0:?} yet: a new account needs a role, for example --role verifier \
         (admin, coordinator, duty_lawyer, verifier, analyst)"
    )]
    NeedsRole(String),
    #[error("no account {0:?}")]
    NoSuchAccount(String),
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

/// What [`set_account`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    Created,
    Updated,
}

/// Creates an account (a password and a role are then needed), or changes an
/// existing one's password and/or role. Each change lands in the audit log
/// with `actor` (an admin's username, or `audit::COMMAND_LINE`); a changed role
/// takes effect at the account's next login (callers close its sessions).
pub async fn set_account(
    store: &dyn DeskStore,
    at_unix: u64,
    actor: &str,
    username: &str,
    password: Option<&str>,
    role: Option<crate::authz::Role>,
) -> Result<AccountChange, AccountError> {
    use crate::audit::{AuditAction, record};
    let exists = store.desk_account(username).await?.is_some();
    if !exists && role.is_none() {
        return Err(AccountError::NeedsRole(username.chars().take(64).collect()));
    }
    if !exists && password.is_none() {
        return Err(AccountError::WeakPassword);
    }
    if let Some(password) = password {
        put_account(store, username, password).await?;
        let action = if exists {
            AuditAction::AccountPasswordSet
        } else {
            AuditAction::AccountCreated
        };
        record(store, at_unix, actor, action, &[username]).await?;
    }
    if let Some(role) = role {
        store.desk_set_role(username, role.as_str()).await?;
        record(
            store,
            at_unix,
            actor,
            AuditAction::AccountRoleChanged,
            &[username, role.as_str()],
        )
        .await?;
    }
    Ok(if exists {
        AccountChange::Updated
    } else {
        AccountChange::Created
    })
}
