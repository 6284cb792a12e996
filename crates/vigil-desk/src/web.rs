//! The desk's web pages: a login, then the triage queue. Sessions live in
//! memory only and expire after a quiet half hour; a restart logs everyone out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use vigil_core::{DeskIdentity, Lang};
use vigil_store::DeskStore;

use crate::accounts::check_login;
use crate::queue::{QueueItem, open_queue};

const COOKIE: &str = "vigil_desk_session";
const IDLE: Duration = Duration::from_secs(30 * 60);

pub struct DeskWeb {
    pub store: Arc<dyn DeskStore>,
    pub identity: Arc<DeskIdentity>,
    /// Set the cookie's Secure flag; off only when served on loopback over HTTP.
    pub secure_cookies: bool,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
}

struct Session {
    username: String,
    last_seen: Instant,
}

impl DeskWeb {
    pub fn new(
        store: Arc<dyn DeskStore>,
        identity: Arc<DeskIdentity>,
        secure_cookies: bool,
    ) -> Arc<Self> {
        Arc::new(DeskWeb {
            store,
            identity,
            secure_cookies,
            sessions: Mutex::new(HashMap::new()),
        })
    }

    fn session_user(&self, headers: &HeaderMap) -> Option<String> {
        let token = cookie(headers, COOKIE)?;
        let key = vigil_core::token::hash(&token);
        let mut sessions = self.sessions.lock().ok()?;
        let now = Instant::now();
        sessions.retain(|_, s| now.duration_since(s.last_seen) < IDLE);
        let s = sessions.get_mut(&key)?;
        s.last_seen = now;
        Some(s.username.clone())
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
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
    queue: &'static str,
    empty: &'static str,
    received: &'static str,
    report: &'static str,
    contact: &'static str,
    urgent: &'static str,
    unreadable: &'static str,
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
            logout: "Выйти",
            bad_login: "Неверное имя или пароль. Проверьте раскладку и попробуйте снова.",
            queue: "Очередь сообщений",
            empty: "Сообщений нет.",
            received: "Получено",
            report: "Сообщение",
            contact: "Контакт",
            urgent: "СРОЧНО: задержание",
            unreadable: "Не удаётся открыть: сообщение запечатано другим ключом или повреждено.",
            other_lang_name: "English",
            other_lang_code: "en",
        },
        Lang::En => Texts {
            lang: "en",
            title: "vigil — desk",
            username: "Username",
            password: "Password",
            login: "Log in",
            logout: "Log out",
            bad_login: "Wrong username or password. Check the keyboard layout and try again.",
            queue: "Report queue",
            empty: "No reports.",
            received: "Received",
            report: "Report",
            contact: "Contact",
            urgent: "URGENT: detention",
            unreadable: "Cannot open: sealed to another key, or damaged.",
            other_lang_name: "Русский",
            other_lang_code: "ru",
        },
    }
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    t: Texts,
    error: bool,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    t: Texts,
    username: String,
    items: Vec<QueueItem>,
}

fn render(template: &impl Template, status: StatusCode) -> Response {
    vigil_web::page(template.render(), status)
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn login_page(Query(q): Query<LangQuery>) -> Response {
    let t = texts(Lang::from_code(q.lang.as_deref()));
    render(&LoginPage { t, error: false }, StatusCode::OK)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    lang: Option<String>,
}

async fn login(State(desk): State<Arc<DeskWeb>>, Form(form): Form<LoginForm>) -> Response {
    let lang = Lang::from_code(form.lang.as_deref());
    let ok = check_login(desk.store.as_ref(), form.username.trim(), &form.password)
        .await
        .unwrap_or(false);
    if !ok {
        return render(
            &LoginPage {
                t: texts(lang),
                error: true,
            },
            StatusCode::UNAUTHORIZED,
        );
    }
    let Ok(token) = vigil_core::token::generate() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    if let Ok(mut sessions) = desk.sessions.lock() {
        sessions.insert(
            vigil_core::token::hash(&token),
            Session {
                username: form.username.trim().to_owned(),
                last_seen: Instant::now(),
            },
        );
    }
    let secure = if desk.secure_cookies { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{secure}",
        token.as_str()
    );
    let mut response = Redirect::to(&format!("/?lang={}", lang.code())).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

async fn logout(State(desk): State<Arc<DeskWeb>>, headers: HeaderMap) -> Response {
    if let (Some(token), Ok(mut sessions)) = (cookie(&headers, COOKIE), desk.sessions.lock()) {
        sessions.remove(&vigil_core::token::hash(&token));
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "vigil_desk_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict",
        ),
    );
    response
}

async fn queue(
    State(desk): State<Arc<DeskWeb>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = Lang::from_code(q.lang.as_deref());
    let Some(username) = desk.session_user(&headers) else {
        return Redirect::to(&format!("/login?lang={}", lang.code())).into_response();
    };
    match open_queue(desk.store.as_ref(), &desk.identity).await {
        Ok(items) => render(
            &QueuePage {
                t: texts(lang),
                username,
                items,
            },
            StatusCode::OK,
        ),
        Err(e) => {
            tracing::error!(error = %e, "desk queue: storage failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

pub fn router(desk: Arc<DeskWeb>) -> Router {
    let routes = Router::new()
        .route("/", get(queue))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(desk);
    vigil_web::harden(routes)
}
