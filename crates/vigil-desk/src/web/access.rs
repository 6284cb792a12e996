//! Pages about access (deskaccess, issue 11): one's own sessions (and, for an
//! admin, everyone's), the accounts admin page, the audit log.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use vigil_core::Lang;
use vigil_store::AccountInfo;
use vigil_store::audit::AuditEntry;
use zeroize::Zeroizing;

use super::{DeskWeb, Forbidden, Nav, SignedIn, Texts, render, texts};
use crate::accounts::{AccountError, set_account};
use crate::audit::AuditAction;
use crate::authz::{Grant, Perm, ROLES, Role};
use crate::sessions::SessionView;

pub(super) fn routes() -> Router<Arc<DeskWeb>> {
    Router::new()
        .route("/sessions", get(sessions_page))
        .route("/sessions/revoke", post(revoke))
        .route("/admin/accounts", get(accounts_page).post(account_create))
        .route("/admin/accounts/change", post(account_change))
        .route("/admin/audit", get(audit_page))
}

#[derive(Deserialize)]
struct PageQuery {
    lang: Option<String>,
    before: Option<i64>,
    done: Option<String>,
}

fn unavailable(e: impl std::fmt::Display, what: &str) -> Response {
    tracing::error!(error = %e, "desk {what}: storage failed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "Хранилище недоступно, попробуйте позже.\nStorage is unavailable; try again later.\n",
    )
        .into_response()
}

/// A moment as `YYYY-MM-DD HH:MM` UTC.
pub(crate) fn when(unix: u64) -> String {
    let days = i64::try_from(unix / 86_400).unwrap_or(0);
    let secs = unix % 86_400;
    // Civil date from days since 1970 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

struct SessionRow {
    id: String,
    username: String,
    created: String,
    last_seen: String,
    this_one: bool,
}

fn rows(list: Vec<SessionView>, this: &str) -> Vec<SessionRow> {
    list.into_iter()
        .map(|s| SessionRow {
            this_one: s.id == this,
            created: when(s.created_unix),
            last_seen: when(s.last_seen_unix),
            id: s.id,
            username: s.username,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    t: Texts,
    ru: bool,
    nav: Nav,
    mine: Vec<SessionRow>,
    /// Everyone's, for an admin.
    all: Option<Vec<SessionRow>>,
}

async fn sessions_page(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    let lang = Lang::from_code(q.lang.as_deref());
    let current = &signed_in.0;
    let now = desk.clock.now();
    let mine = rows(
        desk.sessions.list(Some(&current.username), now),
        &current.id,
    );
    let all = current
        .may(Perm::ManageAccounts)
        .then(|| rows(desk.sessions.list(None, now), &current.id));
    render(
        &SessionsPage {
            t: texts(lang),
            ru: lang == Lang::Ru,
            nav: Nav::of(current, lang),
            mine,
            all,
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    id: String,
    lang: Option<String>,
    form_token: Option<String>,
}

/// Ends a session: one's own, or anyone's for an admin.
async fn revoke(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Form(form): Form<RevokeForm>,
) -> Response {
    if let Err(r) = signed_in.check_form(form.form_token.as_deref()) {
        return r.into_response();
    }
    let current = &signed_in.0;
    let owner = (!current.may(Perm::ManageAccounts)).then_some(current.username.as_str());
    let lang = Lang::from_code(form.lang.as_deref());
    match desk.sessions.revoke(&form.id, owner) {
        Some(username) => {
            desk.audit(&current.username, AuditAction::SessionRevoked, &[&username])
                .await;
            Redirect::to(&format!("/sessions?lang={}", lang.code())).into_response()
        }
        // Someone else's session (for a non-admin) looks like no session.
        None => (
            StatusCode::NOT_FOUND,
            "Нет такого сеанса (возможно, он уже закончился).\nNo such session (it may have ended already).\n",
        )
            .into_response(),
    }
}

struct AccountRow {
    username: String,
    role: &'static str,
    role_label: &'static str,
    disabled: bool,
    grants: String,
    created: String,
    second_factor: bool,
    recovery_left: u64,
}

fn account_row(a: AccountInfo, ru: bool) -> AccountRow {
    let role = Role::parse(&a.role);
    AccountRow {
        role: role.map_or("?", Role::as_str),
        role_label: role.map_or("?", |r| r.label(ru)),
        disabled: a.disabled,
        grants: Grant::list_to_string(&Grant::parse_list(&a.grants)),
        created: a.created.to_string(),
        second_factor: a.totp_sealed.is_some(),
        recovery_left: a.recovery_left,
        username: a.username,
    }
}

struct RoleOption {
    value: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    t: Texts,
    ru: bool,
    nav: Nav,
    accounts: Vec<AccountRow>,
    roles: Vec<RoleOption>,
    error: Option<String>,
    done: bool,
}

async fn accounts_view(
    desk: &DeskWeb,
    signed_in: &SignedIn,
    lang: Lang,
    error: Option<String>,
    done: bool,
    status: StatusCode,
) -> Response {
    let ru = lang == Lang::Ru;
    match desk.store.desk_account_list().await {
        Ok(list) => render(
            &AccountsPage {
                t: texts(lang),
                ru,
                nav: Nav::of(&signed_in.0, lang),
                accounts: list.into_iter().map(|a| account_row(a, ru)).collect(),
                roles: ROLES
                    .iter()
                    .map(|r| RoleOption {
                        value: r.as_str(),
                        label: r.label(ru),
                    })
                    .collect(),
                error,
                done,
            },
            status,
        ),
        Err(e) => unavailable(e, "accounts"),
    }
}

async fn accounts_page(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Response, Forbidden> {
    signed_in.require(Perm::ManageAccounts)?;
    let lang = Lang::from_code(q.lang.as_deref());
    Ok(accounts_view(
        &desk,
        &signed_in,
        lang,
        None,
        q.done.is_some(),
        StatusCode::OK,
    )
    .await)
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    lang: Option<String>,
    form_token: Option<String>,
}

fn account_error(e: &AccountError, ru: bool) -> String {
    match (e, ru) {
        (AccountError::BadUsername, true) => {
            "Имя пользователя: от 1 до 64 букв, цифр, точек, дефисов или подчёркиваний.".into()
        }
        (AccountError::WeakPassword, true) => "Пароль должен быть не короче 12 символов.".into(),
        (AccountError::NeedsRole(_), true) => "Выберите роль для новой учётной записи.".into(),
        (AccountError::NoSuchAccount(_), true) => "Такой учётной записи нет.".into(),
        (_, true) => "Не удалось сохранить: хранилище недоступно. Попробуйте позже.".into(),
        (AccountError::Store(_) | AccountError::Hash, false) => {
            "Could not save: storage is unavailable. Try again later.".into()
        }
        (e, false) => e.to_string(),
    }
}

async fn account_create(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Form(form): Form<CreateForm>,
) -> Result<Response, Forbidden> {
    signed_in.require(Perm::ManageAccounts)?;
    if let Err(r) = signed_in.check_form(form.form_token.as_deref()) {
        return Ok(r.into_response());
    }
    let lang = Lang::from_code(form.lang.as_deref());
    let password = Zeroizing::new(form.password);
    let username = form.username.trim();
    let Some(role) = Role::parse(&form.role) else {
        let e = AccountError::NeedsRole(username.into());
        let msg = account_error(&e, lang == Lang::Ru);
        return Ok(accounts_view(
            &desk,
            &signed_in,
            lang,
            Some(msg),
            false,
            StatusCode::BAD_REQUEST,
        )
        .await);
    };
    // Creating only: an existing name is refused rather than given a new password.
    match desk.store.desk_account(username).await {
        Ok(Some(_)) => {
            let msg = if lang == Lang::Ru {
                "Такое имя уже занято."
            } else {
                "That username is taken."
            };
            return Ok(accounts_view(
                &desk,
                &signed_in,
                lang,
                Some(msg.into()),
                false,
                StatusCode::CONFLICT,
            )
            .await);
        }
        Ok(None) => {}
        Err(e) => return Ok(unavailable(e, "accounts")),
    }
    let actor = signed_in.0.username.clone();
    match set_account(
        desk.store.as_ref(),
        desk.clock.unix(),
        &actor,
        username,
        Some(&password),
        Some(role),
    )
    .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/admin/accounts?lang={}&done=1", lang.code())).into_response(),
        ),
        Err(e) => {
            if let AccountError::Store(e) = &e {
                tracing::error!(error = %e, "desk accounts: storage failed");
            }
            let status = match e {
                AccountError::Store(_) | AccountError::Hash => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            let msg = account_error(&e, lang == Lang::Ru);
            Ok(accounts_view(&desk, &signed_in, lang, Some(msg), false, status).await)
        }
    }
}

#[derive(Deserialize)]
struct ChangeForm {
    #[serde(default)]
    username: String,
    /// role, grants, disable, enable, reset_second_factor
    #[serde(default)]
    action: String,
    #[serde(default)]
    role: String,
    /// For `grants`: the checked boxes.
    #[serde(default)]
    grant_names: Option<String>,
    #[serde(default)]
    grant_report_text: Option<String>,
    lang: Option<String>,
    form_token: Option<String>,
}

async fn account_change(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Form(form): Form<ChangeForm>,
) -> Result<Response, Forbidden> {
    signed_in.require(Perm::ManageAccounts)?;
    if let Err(r) = signed_in.check_form(form.form_token.as_deref()) {
        return Ok(r.into_response());
    }
    let lang = Lang::from_code(form.lang.as_deref());
    let ru = lang == Lang::Ru;
    let actor = signed_in.0.username.clone();
    let name = form.username.as_str();
    let store = desk.store.as_ref();
    // The desk keeps at least one enabled admin: otherwise nobody could manage
    // accounts from the web again.
    let demotes = match form.action.as_str() {
        "disable" => true,
        "role" => form.role != Role::Admin.as_str(),
        _ => false,
    };
    if demotes {
        let list = match store.desk_account_list().await {
            Ok(list) => list,
            Err(e) => return Ok(unavailable(e, "accounts")),
        };
        let admins = list
            .iter()
            .filter(|a| a.role == Role::Admin.as_str() && !a.disabled)
            .collect::<Vec<_>>();
        if admins.len() == 1 && admins[0].username == name {
            let msg = if ru {
                "Это последний действующий администратор: сначала назначьте другого."
            } else {
                "This is the last enabled admin: make someone else an admin first."
            };
            return Ok(accounts_view(
                &desk,
                &signed_in,
                lang,
                Some(msg.into()),
                false,
                StatusCode::CONFLICT,
            )
            .await);
        }
    }
    let result = match form.action.as_str() {
        "role" => match Role::parse(&form.role) {
            Some(role) => store
                .desk_set_role(name, role.as_str())
                .await
                .map(|()| (AuditAction::AccountRoleChanged, Some(role.as_str()))),
            None => {
                let msg = account_error(&AccountError::NeedsRole(name.into()), ru);
                return Ok(accounts_view(
                    &desk,
                    &signed_in,
                    lang,
                    Some(msg),
                    false,
                    StatusCode::BAD_REQUEST,
                )
                .await);
            }
        },
        "grants" => {
            let mut grants = Vec::new();
            if form.grant_names.is_some() {
                grants.push(Grant::Names);
            }
            if form.grant_report_text.is_some() {
                grants.push(Grant::ReportText);
            }
            store
                .desk_set_grants(name, &Grant::list_to_string(&grants))
                .await
                .map(|()| (AuditAction::AccountRoleChanged, Some("grants")))
        }
        "disable" => store
            .desk_set_disabled(name, true)
            .await
            .map(|()| (AuditAction::AccountDisabled, None)),
        "enable" => store
            .desk_set_disabled(name, false)
            .await
            .map(|()| (AuditAction::AccountEnabled, None)),
        "reset_second_factor" => store
            .desk_set_second_factor(name, None, &[])
            .await
            .map(|()| (AuditAction::SecondFactorReset, None)),
        _ => {
            let msg = if ru {
                "Неизвестное действие."
            } else {
                "Unknown action."
            };
            return Ok(accounts_view(
                &desk,
                &signed_in,
                lang,
                Some(msg.into()),
                false,
                StatusCode::BAD_REQUEST,
            )
            .await);
        }
    };
    match result {
        Ok((action, kind)) => {
            // The account's rights changed: its sessions end, its next login
            // gets the new ones (or enrols a new second factor).
            desk.sessions.close_account(name);
            let mut subjects = vec![name];
            subjects.extend(kind);
            desk.audit(&actor, action, &subjects).await;
            Ok(
                Redirect::to(&format!("/admin/accounts?lang={}&done=1", lang.code()))
                    .into_response(),
            )
        }
        Err(vigil_store::StoreError::NotFound) => {
            let msg = account_error(&AccountError::NoSuchAccount(name.into()), ru);
            Ok(accounts_view(
                &desk,
                &signed_in,
                lang,
                Some(msg),
                false,
                StatusCode::NOT_FOUND,
            )
            .await)
        }
        Err(e) => Ok(unavailable(e, "accounts")),
    }
}

const AUDIT_PAGE: i64 = 50;

struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subjects: String,
    hash: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    t: Texts,
    ru: bool,
    nav: Nav,
    entries: Vec<AuditRow>,
    /// The `before` of the next (older) page.
    older: Option<i64>,
}

async fn audit_page(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Response, Forbidden> {
    signed_in.require(Perm::ReadAudit)?;
    let lang = Lang::from_code(q.lang.as_deref());
    let before = q.before.unwrap_or(i64::MAX);
    let entries: Vec<AuditEntry> = match desk.store.audit_newest(before, AUDIT_PAGE).await {
        Ok(e) => e,
        Err(e) => return Ok(unavailable(e, "audit")),
    };
    let older = entries
        .last()
        .filter(|e| e.seq > 1 && entries.len() as i64 == AUDIT_PAGE)
        .map(|e| e.seq);
    Ok(render(
        &AuditPage {
            t: texts(lang),
            ru: lang == Lang::Ru,
            nav: Nav::of(&signed_in.0, lang),
            entries: entries
                .into_iter()
                .map(|e| AuditRow {
                    at: when(u64::try_from(e.at).unwrap_or(0)),
                    seq: e.seq,
                    actor: e.actor,
                    action: e.action,
                    subjects: e.subjects.join(", "),
                    hash: e.hash.chars().take(12).collect(),
                })
                .collect(),
            older,
        },
        StatusCode::OK,
    ))
}
