//! The desk's web pages: the router, the login (password, then the second
//! factor) and the extractors every handler shares ([`SignedIn`] and its
//! role guard). Pages of each area live in `web/<area>.rs` and join the
//! router with one `.merge(...)` line in [`router`].
//!
//! Login rules (docs/threat-model.md, "Desk login and sessions"): a form token
//! bound to a cookie, no state change from another origin, a per-username
//! lockout, password checks with bounded memory, sessions that end after 30
//! quiet minutes or 12 hours, at most five per account.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use vigil_core::{DeskIdentity, Lang};
use vigil_store::DeskStore;
use zeroize::Zeroizing;

use crate::accounts::{LoginError, check_login};
use crate::audit::{self, AuditAction};
use crate::authz::{Grant, Perm, Role};
use crate::clock::{Clock, SystemClock};
use crate::csrf::{self, LoginForms};
use crate::lockout::Lockout;
use crate::sessions::{Current, HalfLogins, Sessions, Who};
use crate::totp::{self, Secret};
use crate::verifier::{PasswordVerifier, default_workers};

mod access;
// Files sent with reports (intakemerge).
mod attachments;
// The urgent line (deskurgent).
mod duty;
// deskfast: the export of the coded record.
mod export;
mod replies;
mod roster;
// deskcoding: the queue, coding reports, persons and merges.
pub mod coding;
mod persons;
mod queue;

/// How long a login waits for a free password checker before "busy".
pub const LOGIN_WAIT: Duration = Duration::from_secs(10);

pub struct DeskWeb {
    pub store: Arc<dyn DeskStore>,
    pub identity: Arc<DeskIdentity>,
    /// Secure cookies with the `__Host-` prefix; off only when served on
    /// loopback over plain HTTP (the desk refuses to start otherwise).
    pub secure_cookies: bool,
    pub clock: Arc<dyn Clock>,
    pub sessions: Sessions,
    pub half_logins: HalfLogins,
    pub lockout: Lockout,
    verifier: PasswordVerifier,
    login_forms: LoginForms,
    /// deskcoding: the queue's index, the record key and vocabularies.
    pub coding: coding::Coding,
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct DeskWebError;

impl DeskWeb {
    pub fn new(
        store: Arc<dyn DeskStore>,
        identity: Arc<DeskIdentity>,
        secure_cookies: bool,
    ) -> Result<Arc<Self>, DeskWebError> {
        Self::with_clock(
            store,
            identity,
            secure_cookies,
            Arc::new(SystemClock),
            PasswordVerifier::new(default_workers(), LOGIN_WAIT),
        )
    }

    /// With a given clock and password checker (tests move time, and can
    /// shorten the wait for a checker).
    pub fn with_clock(
        store: Arc<dyn DeskStore>,
        identity: Arc<DeskIdentity>,
        secure_cookies: bool,
        clock: Arc<dyn Clock>,
        verifier: PasswordVerifier,
    ) -> Result<Arc<Self>, DeskWebError> {
        Ok(Arc::new(DeskWeb {
            store,
            identity,
            secure_cookies,
            clock,
            sessions: Sessions::new(),
            half_logins: HalfLogins::new(),
            lockout: Lockout::new(),
            verifier,
            login_forms: LoginForms::new().map_err(|_| DeskWebError)?,
            coding: coding::Coding::new(),
        }))
    }

    pub fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-vigil_desk_session"
        } else {
            "vigil_desk_session"
        }
    }

    /// The half login's cookie (password right, second factor pending).
    pub fn half_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-vigil_desk_half"
        } else {
            "vigil_desk_half"
        }
    }

    pub fn login_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-vigil_desk_login"
        } else {
            "vigil_desk_login"
        }
    }

    /// A Set-Cookie value: HttpOnly, SameSite=Strict, Path=/, and Secure
    /// whenever cookies are secure (clearing ones included).
    fn set_cookie(&self, name: &str, value: &str, clear: bool) -> Option<HeaderValue> {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let max_age = if clear { "; Max-Age=0" } else { "" };
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Strict{secure}{max_age}"
        ))
        .ok()
    }

    pub fn verifier(&self) -> &PasswordVerifier {
        &self.verifier
    }

    fn current(&self, headers: &HeaderMap) -> Option<Current> {
        let token = cookie(headers, self.session_cookie())?;
        self.sessions
            .current(&token, self.clock.now(), self.clock.unix())
    }

    /// Appends an audit entry for an action already done (a failure is logged).
    pub async fn audit(&self, actor: &str, action: AuditAction, subjects: &[&str]) {
        audit::record_or_log(
            self.store.as_ref(),
            self.clock.unix(),
            actor,
            action,
            subjects,
        )
        .await;
    }
}

fn lang_of(parts: &Parts) -> Lang {
    let lang = parts
        .uri
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
    Lang::from_code(lang)
}

/// A desk page's proof of login: extracting it refreshes the session, and a
/// request without a live session is sent to the login page instead. The
/// role guard is [`SignedIn::require`]:
/// `signed_in.require(Perm::Merge)?;` answers 403 to anyone without the right.
pub struct SignedIn(pub Current);

impl SignedIn {
    /// Ok when the account may do `perm` (authz.rs's table), else the 403 page.
    pub fn require(&self, perm: Perm) -> Result<(), Forbidden> {
        if self.0.may(perm) {
            Ok(())
        } else {
            Err(Forbidden)
        }
    }

    /// Ok when a state-changing form carries this session's token, else 403.
    pub fn check_form(&self, submitted: Option<&str>) -> Result<(), FormExpired> {
        if self.0.form_token_matches(submitted) {
            Ok(())
        } else {
            Err(FormExpired)
        }
    }
}

/// A state-changing form without its session's token (another site's, or stale).
#[derive(Debug)]
pub struct FormExpired;

impl IntoResponse for FormExpired {
    fn into_response(self) -> Response {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            FORM_REFUSED,
        )
            .into_response()
    }
}

impl FromRequestParts<Arc<DeskWeb>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        desk: &Arc<DeskWeb>,
    ) -> Result<Self, Self::Rejection> {
        desk.current(&parts.headers).map(SignedIn).ok_or_else(|| {
            Redirect::to(&format!("/login?lang={}", lang_of(parts).code())).into_response()
        })
    }
}

const FORM_REFUSED: &str = "Не выполнено: форма устарела. Обновите страницу и повторите.\n\
                            Not done: the form has expired. Reload the page and try again.\n";

/// The answer to a signed-in person without the right for a page or action.
#[derive(Debug)]
pub struct Forbidden;

#[derive(Template)]
#[template(path = "forbidden.html")]
struct ForbiddenPage {
    t: Texts,
}

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        render(&ForbiddenPage { t: texts(Lang::Ru) }, StatusCode::FORBIDDEN)
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

struct Texts {
    lang: &'static str,
    title: &'static str,
    username: &'static str,
    password: &'static str,
    login: &'static str,
    logout: &'static str,
    bad_login: &'static str,
    form_expired: &'static str,
    busy: &'static str,
    unavailable: &'static str,
    queue: &'static str,
    other_lang_name: &'static str,
    other_lang_code: &'static str,
    // deskaccess: the second step of the login, and the navigation.
    code_title: &'static str,
    code_label: &'static str,
    code_help: &'static str,
    code_wrong: &'static str,
    half_expired: &'static str,
    disabled: &'static str,
    enrol_title: &'static str,
    enrol_help: &'static str,
    enrol_manual: &'static str,
    recovery_title: &'static str,
    recovery_help: &'static str,
    continue_to_queue: &'static str,
    nav_sessions: &'static str,
    nav_accounts: &'static str,
    nav_audit: &'static str,
}

fn texts(lang: Lang) -> Texts {
    match lang {
        Lang::Ru => Texts {
            lang: "ru",
            title: "vigil — рабочее место",
            username: "Имя пользователя",
            password: "Пароль",
            login: "Войти",
            logout: "Выйти",
            bad_login: "Неверное имя или пароль. Проверьте раскладку и попробуйте снова.",
            form_expired: "Форма устарела. Введите имя и пароль ещё раз.",
            busy: "Рабочее место сейчас занято проверкой других входов. Подождите несколько секунд и попробуйте снова.",
            unavailable: "Не удалось проверить вход: хранилище недоступно. Попробуйте позже; если не поможет, сообщите администратору.",
            queue: "Очередь сообщений",
            other_lang_name: "English",
            other_lang_code: "en",
            code_title: "Второй фактор",
            code_label: "Код из приложения (6 цифр) или код восстановления",
            code_help: "Откройте приложение-аутентификатор и введите текущий код для vigil.",
            code_wrong: "Код не подошёл. Введите текущий код из приложения (каждый код действует один раз) или неиспользованный код восстановления.",
            half_expired: "Вход не завершён вовремя. Введите имя и пароль ещё раз.",
            disabled: "Эта учётная запись отключена. Обратитесь к администратору.",
            enrol_title: "Подключите второй фактор",
            enrol_help: "Отсканируйте QR-код приложением-аутентификатором (например, Aegis, FreeOTP, Google Authenticator) или введите секрет вручную, затем введите код, который покажет приложение.",
            enrol_manual: "Секрет для ручного ввода",
            recovery_title: "Коды восстановления",
            recovery_help: "Запишите эти коды и храните их отдельно от телефона. Каждый код можно использовать один раз вместо кода из приложения. Больше они показаны не будут.",
            continue_to_queue: "Я записал(а) коды — перейти к очереди",
            nav_sessions: "Сеансы",
            nav_accounts: "Учётные записи",
            nav_audit: "Журнал действий",
        },
        Lang::En => Texts {
            lang: "en",
            title: "vigil — desk",
            username: "Username",
            password: "Password",
            login: "Log in",
            logout: "Log out",
            bad_login: "Wrong username or password. Check the keyboard layout and try again.",
            form_expired: "The form has expired. Enter your username and password again.",
            busy: "The desk is busy checking other logins. Wait a few seconds and try again.",
            unavailable: "The login could not be checked: storage is unavailable. Try again later; if that does not help, tell your admin.",
            queue: "Report queue",
            other_lang_name: "Русский",
            other_lang_code: "ru",
            code_title: "Second factor",
            code_label: "Code from your app (6 digits) or a recovery code",
            code_help: "Open your authenticator app and enter the current code for vigil.",
            code_wrong: "That code did not work. Enter the current code from your app (each code works once) or an unused recovery code.",
            half_expired: "The login was not finished in time. Enter your username and password again.",
            disabled: "This account is disabled. Ask your admin.",
            enrol_title: "Set up your second factor",
            enrol_help: "Scan the QR code with an authenticator app (for example Aegis, FreeOTP, Google Authenticator) or type the secret in by hand, then enter the code the app shows.",
            enrol_manual: "Secret to type in by hand",
            recovery_title: "Recovery codes",
            recovery_help: "Write these codes down and keep them apart from your phone. Each works once in place of an app code. They will not be shown again.",
            continue_to_queue: "I have written the codes down: go to the queue",
            nav_sessions: "Sessions",
            nav_accounts: "Accounts",
            nav_audit: "Audit log",
        },
    }
}

fn locked_message(lang: Lang, wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    match lang {
        Lang::Ru => format!(
            "Слишком много неудачных попыток входа под этим именем. Вход закрыт; попробуйте снова через {minutes} мин."
        ),
        Lang::En => format!(
            "Too many failed logins for this username. Logging in is locked; try again in {minutes} min."
        ),
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Texts,
    /// Filled in again after a refused attempt (escaped by the template).
    username: String,
    error: Option<String>,
    form_token: String,
}

/// What the header of a signed-in page shows: who, and the links their role opens.
pub(crate) struct Nav {
    pub username: String,
    pub role: &'static str,
    pub form_token: String,
    pub accounts: bool,
    pub audit: bool,
    // deskmerge: the links of the queue, coding and urgent-line pages.
    pub code: bool,
    pub names: bool,
    pub merge: bool,
    pub duty: bool,
    // deskfast: the export page.
    pub export: bool,
}

impl Nav {
    pub(crate) fn of(current: &Current, lang: Lang) -> Nav {
        Nav {
            username: current.username.clone(),
            role: current.role.label(lang == Lang::Ru),
            form_token: current.form_token.clone(),
            accounts: current.may(Perm::ManageAccounts),
            audit: current.may(Perm::ReadAudit),
            code: current.may(Perm::Code),
            names: current.may(Perm::ReadNames),
            merge: current.may(Perm::Merge),
            duty: current.may(Perm::Acknowledge),
            export: current.may(Perm::Export),
        }
    }
}

pub(crate) fn render(template: &impl Template, status: StatusCode) -> Response {
    vigil_web::page(template.render(), status)
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The login form, with a token bound to the login cookie (set here if the
/// browser has none yet).
fn login_form(
    desk: &DeskWeb,
    headers: &HeaderMap,
    lang: Lang,
    username: &str,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let existing = cookie(headers, desk.login_cookie());
    let (value, fresh) = match existing {
        Some(v) => (v, false),
        None => match vigil_core::token::generate() {
            Ok(t) => (t.as_str().to_owned(), true),
            Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        },
    };
    let page = LoginPage {
        t: texts(lang),
        username: username.chars().take(64).collect(),
        error,
        form_token: desk.login_forms.token_for(&value),
    };
    let mut response = render(&page, status);
    if fresh && let Some(v) = desk.set_cookie(desk.login_cookie(), &value, false) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

async fn login_page(
    State(desk): State<Arc<DeskWeb>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    login_form(
        &desk,
        &headers,
        Lang::from_code(q.lang.as_deref()),
        "",
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    // Missing fields get the login page's own message, not a bare 422.
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    lang: Option<String>,
    form_token: Option<String>,
}

fn with_retry_after(mut response: Response, wait: Duration) -> Response {
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

async fn login(
    State(desk): State<Arc<DeskWeb>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = Lang::from_code(form.lang.as_deref());
    let t = texts(lang);
    let password = Zeroizing::new(form.password);
    let username = form.username.trim();
    let fail = |message: String, status: StatusCode| {
        login_form(&desk, &headers, lang, username, Some(message), status)
    };
    let login_cookie = cookie(&headers, desk.login_cookie());
    if !desk
        .login_forms
        .check(login_cookie.as_deref(), form.form_token.as_deref())
    {
        return fail(t.form_expired.into(), StatusCode::FORBIDDEN);
    }
    if username.is_empty() || password.is_empty() {
        return fail(t.bad_login.into(), StatusCode::UNAUTHORIZED);
    }
    let now = desk.clock.now();
    let attempt = match desk.lockout.begin(username, now) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let page = fail(locked_message(lang, wait), StatusCode::TOO_MANY_REQUESTS);
            return with_retry_after(page, wait);
        }
    };
    match check_login(desk.store.as_ref(), &desk.verifier, username, password).await {
        // The password step does not clear the name's failures: only a
        // finished login does, so wrong codes keep counting between passwords.
        Ok(true) => drop(attempt),
        Ok(false) => {
            // The typed name is recorded only when it is an account's (a
            // password typed into the name field never reaches the log).
            let actor = match desk.store.desk_account(username).await {
                Ok(Some(_)) => username,
                _ => audit::NO_ACCOUNT,
            };
            desk.audit(actor, AuditAction::LoginFailed, &[]).await;
            return match attempt.failed(desk.clock.now()) {
                Some(wait) => {
                    // Never the name: a lock tells an operator someone guesses.
                    tracing::warn!(
                        minutes = wait.as_secs() / 60,
                        "desk login: a username was locked"
                    );
                    with_retry_after(
                        fail(locked_message(lang, wait), StatusCode::TOO_MANY_REQUESTS),
                        wait,
                    )
                }
                None => fail(t.bad_login.into(), StatusCode::UNAUTHORIZED),
            };
        }
        Err(LoginError::Busy(_)) => {
            return with_retry_after(
                fail(t.busy.into(), StatusCode::SERVICE_UNAVAILABLE),
                LOGIN_WAIT,
            );
        }
        Err(LoginError::Store(e)) => {
            tracing::error!(error = %e, "desk login: storage failed");
            return fail(t.unavailable.into(), StatusCode::SERVICE_UNAVAILABLE);
        }
    }
    let info = match desk.store.desk_account_info(username).await {
        Ok(Some(info)) => info,
        Ok(None) => return fail(t.bad_login.into(), StatusCode::UNAUTHORIZED),
        Err(e) => {
            tracing::error!(error = %e, "desk login: storage failed");
            return fail(t.unavailable.into(), StatusCode::SERVICE_UNAVAILABLE);
        }
    };
    if info.disabled {
        desk.audit(username, AuditAction::LoginFailed, &[]).await;
        return fail(t.disabled.into(), StatusCode::FORBIDDEN);
    }
    let Some(role) = Role::parse(&info.role) else {
        tracing::error!("desk login: an account holds an unknown role");
        return fail(t.unavailable.into(), StatusCode::SERVICE_UNAVAILABLE);
    };
    let enrolling = if info.totp_sealed.is_none() {
        match Secret::generate() {
            Ok(s) => Some(s),
            Err(_) => return fail(t.unavailable.into(), StatusCode::SERVICE_UNAVAILABLE),
        }
    } else {
        None
    };
    let next = if enrolling.is_some() { "enrol" } else { "code" };
    let who = Who {
        username: info.username,
        role,
        grants: Grant::parse_list(&info.grants),
    };
    let Ok(half) = desk.half_logins.start(who, enrolling, now) else {
        return fail(t.unavailable.into(), StatusCode::SERVICE_UNAVAILABLE);
    };
    let mut response = Redirect::to(&format!("/login/{next}?lang={}", lang.code())).into_response();
    if let Some(v) = desk.set_cookie(desk.half_cookie(), &half, false) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    t: Texts,
    form_token: String,
    error: Option<String>,
    /// While enrolling: the QR code (SVG markup we made), the URI and the secret.
    enrol: Option<Enrol>,
}

struct Enrol {
    qr_svg: String,
    uri: String,
    secret: String,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryPage {
    t: Texts,
    codes: Vec<String>,
}

/// The second step's page, for the half login in the request's cookie.
fn code_page(
    desk: &DeskWeb,
    headers: &HeaderMap,
    lang: Lang,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let t = texts(lang);
    let token = cookie(headers, desk.half_cookie());
    let page = token.and_then(|token| {
        desk.half_logins.with(&token, desk.clock.now(), |half| {
            let enrol = half.enrolling.as_ref().map(|secret| {
                let uri = secret.uri(&half.who.username);
                Enrol {
                    qr_svg: totp::qr_svg(&uri).unwrap_or_default(),
                    uri: uri.as_str().to_owned(),
                    secret: secret.base32().as_str().to_owned(),
                }
            });
            (half.form_token.clone(), enrol)
        })
    });
    match page {
        Some((form_token, enrol)) => render(
            &CodePage {
                t,
                form_token,
                error,
                enrol,
            },
            status,
        ),
        None => login_form(
            desk,
            headers,
            lang,
            "",
            Some(t.half_expired.into()),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

async fn code_step_page(
    State(desk): State<Arc<DeskWeb>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    code_page(
        &desk,
        &headers,
        Lang::from_code(q.lang.as_deref()),
        None,
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    lang: Option<String>,
    form_token: Option<String>,
}

/// What a typed code proved.
enum Proof {
    Totp,
    Recovery,
    Enrolled(Vec<Zeroizing<String>>),
}

/// The second step: a TOTP code (or a recovery code), or while enrolling the
/// first code from the new secret. Wrong codes count toward the lockout.
async fn code_step(
    State(desk): State<Arc<DeskWeb>>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Response {
    let lang = Lang::from_code(form.lang.as_deref());
    let t = texts(lang);
    let code = Zeroizing::new(form.code);
    let now = desk.clock.now();
    let unavailable = |desk: &DeskWeb| {
        code_page(
            desk,
            &headers,
            lang,
            Some(t.unavailable.into()),
            StatusCode::SERVICE_UNAVAILABLE,
        )
    };
    let Some(token) = cookie(&headers, desk.half_cookie()) else {
        return login_form(
            &desk,
            &headers,
            lang,
            "",
            Some(t.half_expired.into()),
            StatusCode::UNAUTHORIZED,
        );
    };
    let Some((who, form_ok, enrolling)) = desk.half_logins.with(&token, now, |half| {
        (
            half.who.clone(),
            half.form_token_matches(form.form_token.as_deref()),
            half.enrolling.as_ref().map(|s| s.base32()),
        )
    }) else {
        return login_form(
            &desk,
            &headers,
            lang,
            "",
            Some(t.half_expired.into()),
            StatusCode::UNAUTHORIZED,
        );
    };
    if !form_ok {
        return code_page(
            &desk,
            &headers,
            lang,
            Some(t.form_expired.into()),
            StatusCode::FORBIDDEN,
        );
    }
    let username = who.username.as_str();
    let attempt = match desk.lockout.begin(username, now) {
        Ok(attempt) => attempt,
        Err(wait) => {
            let page = code_page(
                &desk,
                &headers,
                lang,
                Some(locked_message(lang, wait)),
                StatusCode::TOO_MANY_REQUESTS,
            );
            return with_retry_after(page, wait);
        }
    };
    let unix = desk.clock.unix();
    let proof: Option<Proof> = match enrolling {
        Some(secret_text) => {
            let Some(secret) = Secret::from_base32(&secret_text) else {
                return unavailable(&desk);
            };
            match secret.matching_step(&code, unix) {
                None => None,
                Some(step) => {
                    let Ok(codes) = totp::recovery_codes() else {
                        return unavailable(&desk);
                    };
                    let hashes: Vec<[u8; 32]> = codes
                        .iter()
                        .map(|c| totp::recovery_hash(username, c))
                        .collect();
                    let Ok(sealed) = secret.seal(&desk.identity) else {
                        return unavailable(&desk);
                    };
                    if let Err(e) = desk
                        .store
                        .desk_set_second_factor(username, Some(&sealed), &hashes)
                        .await
                    {
                        tracing::error!(error = %e, "desk enrolment: storage failed");
                        return unavailable(&desk);
                    }
                    match desk
                        .store
                        .desk_use_totp_step(username, i64::try_from(step).unwrap_or(i64::MAX))
                        .await
                    {
                        Ok(_) => Some(Proof::Enrolled(codes)),
                        Err(e) => {
                            tracing::error!(error = %e, "desk enrolment: storage failed");
                            return unavailable(&desk);
                        }
                    }
                }
            }
        }
        None if totp::looks_like_recovery_code(&code) => {
            match desk
                .store
                .desk_use_recovery_code(username, &totp::recovery_hash(username, &code))
                .await
            {
                Ok(true) => Some(Proof::Recovery),
                Ok(false) => None,
                Err(e) => {
                    tracing::error!(error = %e, "desk login: storage failed");
                    return unavailable(&desk);
                }
            }
        }
        None => {
            let sealed = match desk.store.desk_account_info(username).await {
                Ok(Some(info)) => info.totp_sealed,
                Ok(None) => None,
                Err(e) => {
                    tracing::error!(error = %e, "desk login: storage failed");
                    return unavailable(&desk);
                }
            };
            let Some(sealed) = sealed else {
                return login_form(
                    &desk,
                    &headers,
                    lang,
                    "",
                    Some(t.half_expired.into()),
                    StatusCode::UNAUTHORIZED,
                );
            };
            let Ok(secret) = Secret::open(&sealed, &desk.identity) else {
                tracing::error!("desk login: a second factor does not open with the desk identity");
                return unavailable(&desk);
            };
            match secret.matching_step(&code, unix) {
                None => None,
                Some(step) => match desk
                    .store
                    .desk_use_totp_step(username, i64::try_from(step).unwrap_or(i64::MAX))
                    .await
                {
                    Ok(true) => Some(Proof::Totp),
                    // Right code, already used: a replay.
                    Ok(false) => None,
                    Err(e) => {
                        tracing::error!(error = %e, "desk login: storage failed");
                        return unavailable(&desk);
                    }
                },
            }
        }
    };
    let Some(proof) = proof else {
        desk.audit(username, AuditAction::SecondFactorFailed, &[])
            .await;
        return match attempt.failed(desk.clock.now()) {
            Some(wait) => {
                tracing::warn!(
                    minutes = wait.as_secs() / 60,
                    "desk login: a username was locked"
                );
                with_retry_after(
                    code_page(
                        &desk,
                        &headers,
                        lang,
                        Some(locked_message(lang, wait)),
                        StatusCode::TOO_MANY_REQUESTS,
                    ),
                    wait,
                )
            }
            None => code_page(
                &desk,
                &headers,
                lang,
                Some(t.code_wrong.into()),
                StatusCode::UNAUTHORIZED,
            ),
        };
    };
    attempt.succeeded();
    let Ok(opened) = desk.sessions.open(&who, now, unix) else {
        return unavailable(&desk);
    };
    desk.half_logins.finish(&token);
    let mut response = match &proof {
        Proof::Enrolled(codes) => {
            desk.audit(username, AuditAction::SecondFactorEnrolled, &[username])
                .await;
            render(
                &RecoveryPage {
                    t,
                    codes: codes.iter().map(|c| c.as_str().to_owned()).collect(),
                },
                StatusCode::OK,
            )
        }
        Proof::Recovery => {
            desk.audit(username, AuditAction::RecoveryCodeUsed, &[])
                .await;
            Redirect::to(&format!("/?lang={}", lang.code())).into_response()
        }
        Proof::Totp => Redirect::to(&format!("/?lang={}", lang.code())).into_response(),
    };
    desk.audit(username, AuditAction::Login, &[]).await;
    if let Some(v) = desk.set_cookie(desk.session_cookie(), &opened.token, false) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Some(v) = desk.set_cookie(desk.half_cookie(), "", true) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[derive(Deserialize)]
struct LogoutForm {
    form_token: Option<String>,
    lang: Option<String>,
}

const LOGOUT_REFUSED: &str = "Выход не выполнен: форма устарела. Обновите страницу и нажмите «Выйти» ещё раз.\n\
                              Not logged out: the form has expired. Reload the page and press \"Log out\" again.\n";

async fn logout(
    State(desk): State<Arc<DeskWeb>>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let lang = Lang::from_code(form.lang.as_deref());
    let token = cookie(&headers, desk.session_cookie());
    if let Some(token) = &token
        && let Some(current) = desk
            .sessions
            .current(token, desk.clock.now(), desk.clock.unix())
    {
        if !current.form_token_matches(form.form_token.as_deref()) {
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                LOGOUT_REFUSED,
            )
                .into_response();
        }
        desk.sessions.close(token);
        desk.audit(&current.username, AuditAction::Logout, &[])
            .await;
    }
    let mut response = Redirect::to(&format!("/login?lang={}", lang.code())).into_response();
    if let Some(v) = desk.set_cookie(desk.session_cookie(), "", true) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

pub fn router(desk: Arc<DeskWeb>) -> Router {
    let routes = Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/code", get(code_step_page).post(code_step))
        .route("/login/enrol", get(code_step_page).post(code_step))
        .route("/logout", post(logout))
        .route("/healthz", get(|| async { "ok" }))
        // One line per area (web/<area>.rs):
        .merge(access::routes())
        .merge(duty::routes())
        .merge(coding::routes())
        .merge(attachments::routes())
        .merge(export::routes())
        .route(
            "/reports/{id}/reply",
            get(replies::show).post(replies::send),
        )
        .with_state(desk)
        .layer(middleware::from_fn(csrf::refuse_cross_origin));
    vigil_web::harden(routes)
}
