//! The desk's audit log: every desk action is one entry holding ids and
//! kinds only (never report content, names, IP addresses), each entry
//! hash-chained to the one before (SHA-256 over a canonical encoding that
//! includes the previous hash; vigil-store's `audit::entry_hash`).
//!
//! Any handler records its action with [`record`]:
//! `audit::record(desk.store.as_ref(), desk.clock.unix(), &who, AuditAction::MergePersons, &[&a, &b]).await`.
//! [`verify`] walks the chain (`vigil audit verify`).

use vigil_store::audit::{AuditEntry, GENESIS, entry_hash};
use vigil_store::{DeskStore, StoreError};

/// The actor of an entry with no account behind it (a failed login under a
/// name that is no account: the typed name is never stored).
pub const NO_ACCOUNT: &str = "(none)";

/// The actor of changes made with the command line (`vigil desk account`).
pub const COMMAND_LINE: &str = "(cli)";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Login,
    LoginFailed,
    SecondFactorFailed,
    RecoveryCodeUsed,
    SecondFactorEnrolled,
    Logout,
    SessionRevoked,
    OpenReport,
    Edit,
    MergePersons,
    UnmergePersons,
    Export,
    Publish,
    AccountCreated,
    AccountRoleChanged,
    AccountDisabled,
    AccountEnabled,
    AccountPasswordSet,
    SecondFactorReset,
    Purge,
    Acknowledge,
    Reply,
    RosterChanged,
    /// A report taken by phone, entered at the desk (deskmerge).
    EnterReport,
    /// intakemerge: a report's attached file was downloaded.
    DownloadAttachment,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::SecondFactorFailed => "second_factor_failed",
            AuditAction::RecoveryCodeUsed => "recovery_code_used",
            AuditAction::SecondFactorEnrolled => "second_factor_enrolled",
            AuditAction::Logout => "logout",
            AuditAction::SessionRevoked => "session_revoked",
            AuditAction::OpenReport => "open_report",
            AuditAction::Edit => "edit",
            AuditAction::MergePersons => "merge_persons",
            AuditAction::UnmergePersons => "unmerge_persons",
            AuditAction::Export => "export",
            AuditAction::Publish => "publish",
            AuditAction::AccountCreated => "account_created",
            AuditAction::AccountRoleChanged => "account_role_changed",
            AuditAction::AccountDisabled => "account_disabled",
            AuditAction::AccountEnabled => "account_enabled",
            AuditAction::AccountPasswordSet => "account_password_set",
            AuditAction::SecondFactorReset => "second_factor_reset",
            AuditAction::Purge => "purge",
            AuditAction::Acknowledge => "acknowledge",
            AuditAction::Reply => "reply",
            AuditAction::RosterChanged => "roster_changed",
            AuditAction::EnterReport => "enter_report",
            AuditAction::DownloadAttachment => "download_attachment",
        }
    }
}

/// Appends one entry: `at` in seconds since 1970 (`desk.clock.unix()`),
/// `actor` the acting account's username (or [`NO_ACCOUNT`]), `subjects` the
/// ids the action concerns (report ids, person ids, account names), never
/// content. A failure is returned: a caller that cannot record its action
/// should not report it done.
pub async fn record(
    store: &dyn DeskStore,
    at: u64,
    actor: &str,
    action: AuditAction,
    subjects: &[&str],
) -> Result<AuditEntry, StoreError> {
    let subjects: Vec<String> = subjects.iter().map(|s| (*s).to_owned()).collect();
    let at = i64::try_from(at).unwrap_or(i64::MAX);
    store
        .audit_append(at, actor, action.as_str(), &subjects)
        .await
}

/// Like [`record`], for actions already done: a failure is logged (without
/// the entry's ids) instead of returned.
pub async fn record_or_log(
    store: &dyn DeskStore,
    at: u64,
    actor: &str,
    action: AuditAction,
    subjects: &[&str],
) {
    if let Err(e) = record(store, at, actor, action, subjects).await {
        tracing::error!(error = %e, action = action.as_str(), "audit log: could not append");
    }
}

/// Where the chain breaks: the first bad entry and why.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChainBreak {
    #[error("audit entry {seq}: its contents do not match its hash (changed in the database)")]
    Changed { seq: i64 },
    #[error(
        "audit entry {seq}: it does not follow entry {previous} (an entry was removed or reordered before it)"
    )]
    Gap { seq: i64, previous: i64 },
    #[error(
        "audit entry {seq}: its link to the previous entry is wrong (an entry before it was changed, removed or reordered)"
    )]
    Link { seq: i64 },
    #[error(
        "the audit log ends at entry {last} but {head} entries were written (the newest were removed)"
    )]
    Truncated { last: i64, head: i64 },
    #[error("the audit log's end was changed in the database (entry {seq})")]
    Head { seq: i64 },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks the whole chain; returns how many entries it holds.
pub async fn verify(store: &dyn DeskStore) -> Result<u64, VerifyError> {
    const PAGE: i64 = 1000;
    let mut previous_seq = 0i64;
    let mut previous_hash = GENESIS.to_owned();
    let mut count = 0u64;
    loop {
        let page = store.audit_entries(previous_seq, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            if e.seq != previous_seq + 1 {
                return Err(ChainBreak::Gap {
                    seq: e.seq,
                    previous: previous_seq,
                }
                .into());
            }
            let computed = entry_hash(&e.prev_hash, e.seq, e.at, &e.actor, &e.action, &e.subjects);
            if computed != e.hash {
                return Err(ChainBreak::Changed { seq: e.seq }.into());
            }
            if e.prev_hash != previous_hash {
                return Err(ChainBreak::Link { seq: e.seq }.into());
            }
            previous_seq = e.seq;
            previous_hash = e.hash.clone();
            count += 1;
        }
    }
    let (head_seq, head_hash) = store.audit_head().await?;
    if head_seq != previous_seq {
        return Err(ChainBreak::Truncated {
            last: previous_seq,
            head: head_seq,
        }
        .into());
    }
    if head_hash != previous_hash {
        return Err(ChainBreak::Head { seq: head_seq }.into());
    }
    Ok(count)
}
