//! The desk's web pages: a login, then the triage queue.
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
use crate::clock::{Clock, SystemClock};
use crate::csrf::{self, LoginForms};
use crate::lockout::Lockout;
use crate::sessions::{Current, Sessions};
use crate::verifier::{PasswordVerifier, default_workers};

/// How long a login waits for a free password checker before "busy".
pub const LOGIN_WAIT: Duration = Duration::from_secs(10);

// deskcoding: the queue, coding reports, persons and merges.
pub mod coding;
mod persons;
mod queue;

pub struct DeskWeb {
    pub store: Arc<dyn DeskStore>,
    pub identity: Arc<DeskIdentity>,
    /// Secure cookies with the `__Host-` prefix; off only when served on
    /// loopback over plain HTTP (the desk refuses to start otherwise).
    pub secure_cookies: bool,
    pub clock: Arc<dyn Clock>,
    pub sessions: Sessions,
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
        self.sessions.current(&token, self.clock.now())
    }
}

/// A desk page's proof of login: extracting it refreshes the session, and a
/// request without a live session is sent to the login page instead.
pub struct SignedIn(pub Current);

impl FromRequestParts<Arc<DeskWeb>> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        desk: &Arc<DeskWeb>,
    ) -> Result<Self, Self::Rejection> {
        desk.current(&parts.headers).map(SignedIn).ok_or_else(|| {
            let lang = parts
                .uri
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
            let lang = Lang::from_code(lang);
            Redirect::to(&format!("/login?lang={}", lang.code())).into_response()
        })
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
    bad_login: &'static str,
    form_expired: &'static str,
    busy: &'static str,
    unavailable: &'static str,
    other_lang_name: &'static str,
    other_lang_code: &'static str,
}

fn texts(lang: Lang) -> Texts {
    match lang {
        Lang::Ru => Texts {
            lang: "ru",
            title: "vigil — рабочее место",
            username: "Имя пользователя",
            password: "Пароль",
            login: "Войти",
            bad_login: "Неверное имя или пароль. Проверьте раскладку и попробуйте снова.",
            form_expired: "Форма устарела. Введите имя и пароль ещё раз.",
            busy: "Рабочее место сейчас занято проверкой других входов. Подождите несколько секунд и попробуйте снова.",
            unavailable: "Не удалось проверить вход: хранилище недоступно. Попробуйте позже; если не поможет, сообщите администратору.",
            other_lang_name: "English",
            other_lang_code: "en",
        },
        Lang::En => Texts {
            lang: "en",
            title: "vigil — desk",
            username: "Username",
            password: "Password",
            login: "Log in",
            bad_login: "Wrong username or password. Check the keyboard layout and try again.",
            form_expired: "The form has expired. Enter your username and password again.",
            busy: "The desk is busy checking other logins. Wait a few seconds and try again.",
            unavailable: "The login could not be checked: storage is unavailable. Try again later; if that does not help, tell your admin.",
            other_lang_name: "Русский",
            other_lang_code: "ru",
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

fn render(template: &impl Template, status: StatusCode) -> Response {
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
        Ok(true) => attempt.succeeded(),
        Ok(false) => {
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
    let Ok(opened) = desk.sessions.open(username, now) else {
        return fail(t.unavailable.into(), StatusCode::SERVICE_UNAVAILABLE);
    };
    let mut response = Redirect::to(&format!("/?lang={}", lang.code())).into_response();
    if let Some(v) = desk.set_cookie(desk.session_cookie(), &opened.token, false) {
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
        && let Some(current) = desk.sessions.current(token, desk.clock.now())
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
    }
    let mut response = Redirect::to(&format!("/login?lang={}", lang.code())).into_response();
    if let Some(v) = desk.set_cookie(desk.session_cookie(), "", true) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

pub fn router(desk: Arc<DeskWeb>) -> Router {
    let routes = Router::new()
        .merge(coding::routes())
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(desk)
        .layer(middleware::from_fn(csrf::refuse_cross_origin));
    vigil_web::harden(routes)
}
