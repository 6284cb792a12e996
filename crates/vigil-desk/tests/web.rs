//! In-process tests of the desk's login, sessions and form protection:
//! the real router on a real SQLite file, driven with `oneshot`, time moved
//! by a test clock instead of sleeping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "access/mod.rs"]
mod access;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use tower::ServiceExt;
use vigil_core::DeskIdentity;
use vigil_desk::clock::ManualClock;
use vigil_desk::verifier::PasswordVerifier;
use vigil_desk::web::{DeskWeb, router};

// deskcoding: the queue, coding, persons and merges.
#[path = "web/coding.rs"]
mod coding;
// deskmerge: roles, audit and the old queue's features on the new pages.
#[path = "web/merged.rs"]
mod merged;
// deskfast: the export of the coded record.
#[path = "web/export.rs"]
mod export;

const USER: &str = "lawyer";
const PASSWORD: &str = "correct horse battery staple";
const HOST: &str = "127.0.0.1:8081";

struct Desk {
    web: Arc<DeskWeb>,
    /// The test account's TOTP secret (enrolled directly in the store).
    secret: vigil_desk::totp::Secret,
    router: Router,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
}

async fn desk_with(secure: bool, verifier: PasswordVerifier) -> Desk {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open_desk(&vigil_store::sqlite_url(&dir.path().join("desk.db")))
        .await
        .unwrap();
    vigil_desk::accounts::put_account(store.as_ref(), USER, PASSWORD)
        .await
        .unwrap();
    store.desk_set_role(USER, "verifier").await.unwrap();
    let identity = Arc::new(DeskIdentity::generate());
    let secret = vigil_desk::totp::Secret::generate().unwrap();
    store
        .desk_set_second_factor(USER, Some(&secret.seal(&identity).unwrap()), &[])
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new());
    let web = DeskWeb::with_clock(store, identity, secure, clock.clone(), verifier).unwrap();
    Desk {
        router: router(web.clone()),
        web,
        secret,
        clock,
        dir,
    }
}

async fn desk(secure: bool) -> Desk {
    desk_with(secure, PasswordVerifier::new(1, Duration::from_secs(10))).await
}

async fn text(r: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn set_cookies(r: &Response<Body>) -> Vec<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// "name=value" of the first Set-Cookie.
fn cookie_pair(r: &Response<Body>) -> String {
    set_cookies(r)[0].split(';').next().unwrap().to_owned()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("{html}")) + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// A login form as a browser holds it: the login cookie and the form token.
struct LoginForm {
    cookie: String,
    token: String,
}

impl Desk {
    async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(request).await.unwrap()
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Response<Body> {
        let mut b = Request::get(path).header(header::HOST, HOST);
        if let Some(c) = cookie {
            b = b.header(header::COOKIE, c);
        }
        self.send(b.body(Body::empty()).unwrap()).await
    }

    async fn login_form(&self) -> LoginForm {
        let r = self.get("/login?lang=en", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        let cookie = cookie_pair(&r);
        let token = hidden(&text(r).await, "form_token");
        LoginForm { cookie, token }
    }

    fn post(path: &str, cookie: &str) -> axum::http::request::Builder {
        Request::post(path)
            .header(header::HOST, HOST)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
    }

    async fn login_with(
        &self,
        form: &LoginForm,
        token: &str,
        user: &str,
        password: &str,
        extra: &[(&str, &str)],
    ) -> Response<Body> {
        let body = format!("username={user}&password={password}&lang=en&form_token={token}")
            .replace(' ', "+");
        let mut b = Self::post("/login", &form.cookie);
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        self.send(b.body(Body::from(body)).unwrap()).await
    }

    async fn login(&self, form: &LoginForm, user: &str, password: &str) -> Response<Body> {
        self.login_with(form, &form.token, user, password, &[])
            .await
    }

    /// Logs in and returns the session cookie ("name=value").
    async fn session(&self) -> String {
        let form = self.login_form().await;
        let r = self.login(&form, USER, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(r).await);
        let r = self.second_factor(r).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(r).await);
        cookie_pair(&r)
    }

    /// Given the answer to a right password, sends a fresh TOTP code (the
    /// wall clock moves a step first: each code is good once) and returns
    /// the answer, whose first cookie is the session's.
    async fn second_factor(&self, password_answer: Response<Body>) -> Response<Body> {
        use vigil_desk::clock::Clock;
        assert_eq!(
            password_answer.headers()[header::LOCATION],
            "/login/code?lang=en"
        );
        let half = cookie_pair(&password_answer);
        let page = self.get("/login/code?lang=en", Some(&half)).await;
        let token = hidden(&text(page).await, "form_token");
        self.clock.advance_wall(Duration::from_secs(30));
        let code = self.secret.code_at(self.clock.unix());
        self.send(
            Self::post("/login/code", &half)
                .body(Body::from(format!(
                    "code={code}&lang=en&form_token={token}"
                )))
                .unwrap(),
        )
        .await
    }

    /// Posts the logout form of `session` with `body` (its form token or not).
    async fn logout(&self, session: &str, body: String) -> Response<Body> {
        self.send(
            Self::post("/logout", session)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }

    async fn logged_in(&self, session: &str) -> bool {
        let r = self.get("/?lang=en", Some(session)).await;
        match r.status() {
            StatusCode::OK => true,
            StatusCode::SEE_OTHER => false,
            other => panic!("unexpected {other}"),
        }
    }
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_name_without_hashing_until_the_lock_ends() {
    let d = desk(false).await;
    let form = d.login_form().await;
    for _ in 0..4 {
        let r = d.login(&form, USER, "wrong password!!").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(text(r).await.contains("Wrong username or password"));
    }
    let r = d.login(&form, USER, "wrong password!!").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()[header::RETRY_AFTER], "60");
    assert!(text(r).await.contains("try again in 1 min"));
    // Locked: even the right password is refused, and nothing is hashed.
    let hashed = d.web.verifier().checks_done();
    let r = d.login(&form, USER, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(d.web.verifier().checks_done(), hashed);
    // After the minute, five more failures lock for two minutes.
    d.clock.advance(Duration::from_secs(60));
    for _ in 0..4 {
        let r = d.login(&form, USER, "wrong password!!").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = d.login(&form, USER, "wrong password!!").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()[header::RETRY_AFTER], "120");
    d.clock.advance(Duration::from_secs(120));
    let r = d.login(&form, USER, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn guesses_fired_at_once_get_no_more_checks_than_five() {
    let d = desk(false).await;
    let form = d.login_form().await;
    let before = d.web.verifier().checks_done();
    let names = vec![USER.to_owned(); 30];
    let responses = futures_join(&d, &form, &names).await;
    let hashed = d.web.verifier().checks_done() - before;
    assert!(hashed <= 5, "{hashed} checks for one name");
    let refused = responses
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(refused >= 25, "{responses:?}");
    assert!(d.web.lockout.locked_for(USER, d.clock_now()).is_some());
}

#[tokio::test]
async fn unknown_usernames_are_hashed_and_locked_alike() {
    let d = desk(false).await;
    let form = d.login_form().await;
    let before = d.web.verifier().checks_done();
    for _ in 0..4 {
        let r = d.login(&form, "nobody", "wrong password!!").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(text(r).await.contains("Wrong username or password"));
    }
    assert_eq!(d.web.verifier().checks_done(), before + 4);
    let r = d.login(&form, "nobody", "wrong password!!").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The refused page fills the name in again, escaped.
    let r = d.login(&form, "<b>x", "wrong password!!").await;
    let html = text(r).await;
    assert!(
        !html.contains("<b>x") && html.contains("value=\"&#60;b&#62;x\""),
        "{html}"
    );
    // Another name is not affected.
    let r = d.login(&form, USER, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_login_without_its_form_token_is_refused_unhashed() {
    let d = desk(false).await;
    let form = d.login_form().await;
    let other = d.login_form().await;
    assert_ne!(form.cookie, other.cookie);
    let hashed = d.web.verifier().checks_done();
    for token in ["", "00", other.token.as_str()] {
        let r = d.login_with(&form, token, USER, PASSWORD, &[]).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "token {token:?}");
        assert!(text(r).await.contains("The form has expired"));
    }
    // No login cookie at all.
    let body = format!("username={USER}&password=x&form_token={}", form.token);
    let r = d
        .send(
            Request::post("/login")
                .header(header::HOST, HOST)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(d.web.verifier().checks_done(), hashed);
    // A form without a name or password gets the page's own message.
    let r = d
        .send(
            Desk::post("/login", &form.cookie)
                .body(Body::from(format!("lang=en&form_token={}", form.token)))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(text(r).await.contains("Wrong username or password"));
    assert_eq!(d.web.verifier().checks_done(), hashed);
    // The refused form comes back with a working token.
    let r = d.login(&form, USER, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_post_from_another_origin_is_refused() {
    let d = desk(false).await;
    let form = d.login_form().await;
    for headers in [
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")][..],
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://127.0.0.1:8081"),
        ][..],
    ] {
        let r = d
            .login_with(&form, &form.token, USER, PASSWORD, headers)
            .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(text(r).await.contains("another site"));
    }
    // The same origin, as a browser sends it, logs in.
    let r = d
        .login_with(
            &form,
            &form.token,
            USER,
            PASSWORD,
            &[
                ("origin", "http://127.0.0.1:8081"),
                ("sec-fetch-site", "same-origin"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let session = cookie_pair(&d.second_factor(r).await);
    // A cross-site logout is refused too, and the session lives on.
    let html = text(d.get("/?lang=en", Some(&session)).await).await;
    let token = hidden(&html, "form_token");
    let r = d
        .send(
            Desk::post("/logout", &session)
                .header("sec-fetch-site", "cross-site")
                .body(Body::from(format!("form_token={token}")))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(d.logged_in(&session).await);
}

#[tokio::test]
async fn logout_needs_the_sessions_form_token() {
    let d = desk(false).await;
    let session = d.session().await;
    let html = text(d.get("/?lang=en", Some(&session)).await).await;
    let token = hidden(&html, "form_token");
    let other = d.session().await;
    let other_token = hidden(
        &text(d.get("/?lang=en", Some(&other)).await).await,
        "form_token",
    );
    assert_ne!(token, other_token);
    for body in [
        String::new(),
        "form_token=".into(),
        format!("form_token={other_token}"),
    ] {
        let r = d.logout(&session, body.clone()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{body:?}");
        assert!(d.logged_in(&session).await);
    }
    let r = d.logout(&session, format!("form_token={token}")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!d.logged_in(&session).await);
    assert!(d.logged_in(&other).await);
}

#[tokio::test]
async fn sessions_end_after_idle_time_after_twelve_hours_and_beyond_five() {
    let d = desk(false).await;
    // Idle: 29 quiet minutes are fine, 30 are not.
    let s = d.session().await;
    d.clock.advance(Duration::from_secs(29 * 60));
    assert!(d.logged_in(&s).await);
    d.clock.advance(Duration::from_secs(30 * 60));
    assert!(!d.logged_in(&s).await);
    // Absolute: used every 20 minutes, a session still ends at 12 hours.
    let s = d.session().await;
    for _ in 0..(12 * 3 - 1) {
        d.clock.advance(Duration::from_secs(20 * 60));
        assert!(d.logged_in(&s).await);
    }
    d.clock.advance(Duration::from_secs(20 * 60));
    assert!(!d.logged_in(&s).await);
    // At most five per account: the sixth login drops the oldest.
    let mut sessions = Vec::new();
    for _ in 0..6 {
        sessions.push(d.session().await);
        d.clock.advance(Duration::from_secs(1));
    }
    assert!(!d.logged_in(&sessions[0]).await);
    for s in &sessions[1..] {
        assert!(d.logged_in(s).await);
    }
}

fn assert_attributes(cookie: &str, secure: bool) {
    let parts: Vec<&str> = cookie.split(';').map(str::trim).collect();
    assert!(parts.contains(&"HttpOnly"), "{cookie}");
    assert!(parts.contains(&"SameSite=Strict"), "{cookie}");
    assert!(parts.contains(&"Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert_eq!(parts.contains(&"Secure"), secure, "{cookie}");
    assert_eq!(cookie.starts_with("__Host-"), secure, "{cookie}");
}

#[tokio::test]
async fn cookies_carry_host_prefix_secure_httponly_and_samesite() {
    for secure in [true, false] {
        let d = desk(secure).await;
        let r = d.get("/login", None).await;
        let login_cookie = set_cookies(&r).remove(0);
        assert_attributes(&login_cookie, secure);
        let form = d.login_form().await;
        let r = d.login(&form, USER, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let half_cookie = set_cookies(&r).remove(0);
        assert_attributes(&half_cookie, secure);
        let r = d.second_factor(r).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        for c in set_cookies(&r) {
            assert_attributes(&c, secure);
        }
        let session = cookie_pair(&r);
        let token = hidden(&text(d.get("/", Some(&session)).await).await, "form_token");
        let r = d.logout(&session, format!("form_token={token}")).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let cleared = set_cookies(&r).remove(0);
        assert_attributes(&cleared, secure);
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
    }
}

#[tokio::test]
async fn a_storage_failure_says_try_later_not_wrong_password() {
    let d = desk(false).await;
    let form = d.login_form().await;
    // Break the real database under the running desk.
    let url = vigil_store::sqlite_url(&d.dir.path().join("desk.db"));
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE desk_accounts")
        .execute(&pool)
        .await
        .unwrap();
    for lang in ["en", "ru"] {
        let body = format!(
            "username={USER}&password=x&lang={lang}&form_token={}",
            form.token
        );
        let r = d
            .send(
                Desk::post("/login", &form.cookie)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let html = text(r).await;
        assert!(!html.contains("Wrong username") && !html.contains("Неверное имя"));
        assert!(
            html.contains("Try again later") || html.contains("Попробуйте позже"),
            "{html}"
        );
    }
    // A storage failure is not a failed guess.
    assert_eq!(d.web.lockout.locked_for(USER, d.clock_now()), None);
}

impl Desk {
    fn clock_now(&self) -> std::time::Instant {
        use vigil_desk::clock::Clock;
        self.clock.now()
    }
}

#[tokio::test]
async fn a_storage_failure_at_the_second_step_says_try_later_not_wrong_code() {
    let d = desk(false).await;
    let form = d.login_form().await;
    let r = d.login(&form, USER, PASSWORD).await;
    let half = cookie_pair(&r);
    let token = hidden(
        &text(d.get("/login/code?lang=en", Some(&half)).await).await,
        "form_token",
    );
    let url = vigil_store::sqlite_url(&d.dir.path().join("desk.db"));
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("DROP TABLE desk_accounts")
        .execute(&pool)
        .await
        .unwrap();
    let r = d
        .send(
            Desk::post("/login/code", &half)
                .body(Body::from(format!(
                    "code=123456&lang=en&form_token={token}"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = text(r).await;
    assert!(
        html.contains("Try again later") && !html.contains("did not work"),
        "{html}"
    );
    assert_eq!(d.web.lockout.locked_for(USER, d.clock_now()), None);
}

#[tokio::test]
async fn a_login_that_finds_every_checker_busy_is_told_to_retry() {
    let d = desk_with(false, PasswordVerifier::new(1, Duration::from_millis(1))).await;
    let form = d.login_form().await;
    let names: Vec<String> = (0..4).map(|i| format!("someone{i}")).collect();
    let responses = futures_join(&d, &form, &names).await;
    let busy = responses
        .iter()
        .filter(|(s, _)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(busy >= 1, "{responses:?}");
    for (status, html) in &responses {
        if *status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(html.contains("busy"), "{html}");
        } else {
            assert_eq!(*status, StatusCode::UNAUTHORIZED);
        }
    }
}

async fn futures_join(d: &Desk, form: &LoginForm, names: &[String]) -> Vec<(StatusCode, String)> {
    let mut set = tokio::task::JoinSet::new();
    for name in names {
        let router = d.router.clone();
        let body = format!(
            "username={name}&password=wrong&lang=en&form_token={}",
            form.token
        );
        let request = Desk::post("/login", &form.cookie)
            .body(Body::from(body))
            .unwrap();
        set.spawn(async move {
            let r = router.oneshot(request).await.unwrap();
            let status = r.status();
            (status, text(r).await)
        });
    }
    set.join_all().await
}
