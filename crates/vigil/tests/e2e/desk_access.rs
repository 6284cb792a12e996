//! Roles, the second factor and the audit log through the real binary
//! (deskaccess, issue 11): `vigil desk account --role`, TOTP enrolment and
//! login over HTTP and in Chromium with JavaScript off, `vigil audit verify`
//! against a database edited behind its back, and the demo's second factor.
//! The rules themselves are tested in-process in crates/vigil-desk/tests/access/.

use base64::Engine as _;
use vigil_desk::totp::Secret;

use super::auth::{cookie_of, login_form};
use super::{Browser, Demo, World, client};

/// The value of a hidden input or the text of `<code id="secret">`.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let i = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {html}"))
        + start.len();
    html[i..].split(end).next().unwrap()
}

/// Logs in over HTTP (enrolling at a first login); returns the session cookie
/// and the account's TOTP secret.
pub(crate) async fn http_login(
    c: &reqwest::Client,
    desk: &str,
    user: &str,
    password: &str,
    secret: Option<&Secret>,
) -> (String, Secret) {
    let (login_cookie, form_token) = login_form(c, desk).await;
    let r = c
        .post(format!("{desk}/login"))
        .header("cookie", &login_cookie)
        .form(&[
            ("username", user),
            ("password", password),
            ("lang", "en"),
            ("form_token", &form_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let half = cookie_of(&r);
    let html = crate::page_with_cookie(c, format!("{desk}{location}"), &half).await;
    let secret_given = secret.is_some();
    let secret = match secret {
        Some(s) => Secret::from_base32(&s.base32()).unwrap(),
        None => Secret::from_base32(between(&html, "<code id=\"secret\">", "<")).unwrap(),
    };
    let token = between(&html, "name=\"form_token\" value=\"", "\"").to_owned();
    let mut now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if secret_given {
        // A known account may have used this step's code already: the next
        // step's code is accepted too (one step of drift), and is unused.
        now += 30;
    }
    let r = c
        .post(format!("{desk}{}", location.split('?').next().unwrap()))
        .header("cookie", &half)
        .form(&[
            ("code", secret.code_at(now).as_str()),
            ("lang", "en"),
            ("form_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status() == 200 || r.status() == 303, "{}", r.status());
    (cookie_of(&r), secret)
}

#[tokio::test(flavor = "multi_thread")]
async fn accounts_by_role_totp_login_and_the_audit_chain_through_the_binary() {
    let mut w = World::new();
    let desk = w.desk_with_a_report("desk-access-marker", true).await;
    w.run_ok(&["desk", "pull"]);
    // A new account needs a role, and an unknown role is named.
    let out = w
        .command(&["desk", "account", "ana"])
        .env("VIGIL_ACCOUNT_PASSWORD", "long enough password")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--role"));
    let out = w.run(&["desk", "account", "ana", "--role", "root"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("analyst"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cmd = w.command(&["desk", "account", "ana", "--role", "analyst"]);
    cmd.env("VIGIL_ACCOUNT_PASSWORD", "long enough password");
    assert!(super::succeeded(&mut cmd).status.success());
    let c = client();
    // The lawyer (duty_lawyer) enrols at first login and sees the report.
    let (lawyer, _) = http_login(&c, &desk, "lawyer", "correct horse battery", None).await;
    let html = crate::page_with_cookie(&c, format!("{desk}/?lang=en"), &lawyer).await;
    assert!(html.contains("desk-access-marker"), "{html}");
    // The analyst sees the queue but not the text, and no admin page.
    let (ana, ana_secret) = http_login(&c, &desk, "ana", "long enough password", None).await;
    let html = crate::page_with_cookie(&c, format!("{desk}/?lang=en"), &ana).await;
    assert!(
        !html.contains("desk-access-marker") && html.contains("Report queue"),
        "{html}"
    );
    let r = c
        .get(format!("{desk}/admin/accounts"))
        .header("cookie", &ana)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A role change from the command line keeps the password.
    w.run_ok(&["desk", "account", "ana", "--role", "verifier"]);
    let secret = Secret::from_base32(&ana_secret.base32()).unwrap();
    let (ana, _) = http_login(&c, &desk, "ana", "long enough password", Some(&secret)).await;
    let html = crate::page_with_cookie(&c, format!("{desk}/?lang=en"), &ana).await;
    assert!(html.contains("desk-access-marker"), "{html}");

    // The audit chain holds; edited in the database, verify names the entry.
    let out = w.run_ok(&["audit", "verify"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("audit log intact"), "{said}");
    let db = w.data().join("desk/desk.db");
    let pool = sqlx::SqlitePool::connect(&vigil_store::sqlite_url(&db))
        .await
        .unwrap();
    sqlx::query("UPDATE desk_audit SET actor = 'someone-else' WHERE seq = 2")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let out = w.run(&["audit", "verify"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("audit entry 2") && err.contains("ПОВРЕЖДЁН"),
        "{err}"
    );
    // Nothing in the log holds a password or the report's text.
    let pool = sqlx::SqlitePool::connect(&vigil_store::sqlite_url(&db))
        .await
        .unwrap();
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("SELECT actor, action, subjects FROM desk_audit")
            .fetch_all(&pool)
            .await
            .unwrap();
    let all = format!("{rows:?}");
    assert!(
        !all.contains("long enough")
            && !all.contains("desk-access-marker")
            && !all.contains("127.0.0.1"),
        "{all}"
    );
}

/// Saves a screenshot of the browser's page at a width (kept out of git, in
/// the system's temporary folder) for a person to look at.
async fn screenshot(browser: &Browser, name: &str, width: u32) {
    browser
        .call(
            reqwest::Method::POST,
            "/window/rect",
            serde_json::json!({ "width": width, "height": 900 }),
        )
        .await;
    let png = browser
        .call(reqwest::Method::GET, "/screenshot", serde_json::Value::Null)
        .await;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(png.as_str().unwrap())
        .unwrap();
    let dir = std::env::temp_dir().join("vigil-desk-access-screens");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}-{width}.png")), bytes).unwrap();
}

/// Chromium with JavaScript off: first login enrols TOTP from the page's
/// secret (code computed in the test), shows the recovery codes, then the
/// queue; after logging out, password then a code lets in again.
#[tokio::test(flavor = "multi_thread")]
async fn chromium_without_javascript_logs_in_with_totp_and_sees_the_queue() {
    let mut w = World::new();
    let desk = w.desk_with_a_report("chromium-totp-marker", true).await;
    w.run_ok(&["desk", "pull"]);
    // An admin, so the admin pages can be looked at too.
    w.run_ok(&["desk", "account", "lawyer", "--role", "admin"]);
    let browser = Browser::start().await;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };

    browser.goto(&format!("{desk}/login?lang=en")).await;
    browser.type_into("#username", "lawyer").await;
    browser
        .type_into("#password", "correct horse battery")
        .await;
    browser.click("button[type=submit]").await;
    let secret = Secret::from_base32(&browser.text_of("#secret").await).unwrap();
    browser.find("svg").await;
    for width in [360, 1280] {
        screenshot(&browser, "enrol", width).await;
    }
    let first = secret.code_at(now());
    browser.type_into("#code", &first).await;
    browser.click("button[type=submit]").await;
    assert!(browser.text_of("h2").await.contains("Recovery codes"));
    for width in [360, 1280] {
        screenshot(&browser, "recovery", width).await;
    }
    browser.click("#continue").await;
    assert!(browser.text_of("h2").await.starts_with("Report queue"));
    assert!(
        browser
            .text_of("pre.report")
            .await
            .contains("chromium-totp-marker")
    );
    for width in [360, 1280] {
        screenshot(&browser, "queue", width).await;
    }
    browser.click("header form button").await;

    // Again: password, then a code (the next step's: this one was used).
    browser.type_into("#username", "lawyer").await;
    browser
        .type_into("#password", "correct horse battery")
        .await;
    browser.click("button[type=submit]").await;
    browser.find("#code").await;
    for width in [360, 1280] {
        screenshot(&browser, "code", width).await;
    }
    // The used code is refused (a replay)...
    browser.type_into("#code", &first).await;
    browser.click("button[type=submit]").await;
    assert!(browser.text_of(".error").await.contains("did not work"));
    // ...one step ahead is accepted (one step of drift allowed).
    browser
        .type_into("#code", &secret.code_at(now() + 30))
        .await;
    browser.click("button[type=submit]").await;
    assert!(browser.text_of("h2").await.starts_with("Report queue"));
    browser.goto(&format!("{desk}/sessions?lang=en")).await;
    assert!(browser.text_of("main").await.contains("this one"));
    for width in [360, 1280] {
        screenshot(&browser, "sessions", width).await;
    }
    browser
        .goto(&format!("{desk}/admin/accounts?lang=ru"))
        .await;
    assert!(browser.text_of("h2").await.contains("Учётные записи"));
    for width in [360, 1280] {
        screenshot(&browser, "accounts", width).await;
    }
    browser.goto(&format!("{desk}/admin/audit?lang=ru")).await;
    assert!(
        browser
            .text_of("main")
            .await
            .contains("second_factor_enrolled")
    );
    for width in [360, 1280] {
        screenshot(&browser, "audit", width).await;
    }
}

/// `vigil demo` prints how to pass the second factor, and `vigil desk
/// totp-code` gives the demo account's code (and refuses a folder that is
/// not a demo's).
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_prints_its_second_factor_and_totp_code_works_only_there() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let demo = Demo::spawn(&data);
    let desk = demo.desk();
    let out = super::succeeded(super::vigil(&["desk", "totp-code", "--data"]).arg(&data));
    let code = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(code.len(), 6, "{code}");
    let secrets = std::fs::read_to_string(data.join("demo-secrets.toml")).unwrap();
    let password = between(&secrets, "password = \"", "\"").to_owned();
    let base32 = between(&secrets, "totp_secret = \"", "\"").to_owned();
    let c = client();
    let (session, _) = http_login(
        &c,
        &desk,
        "demo",
        &password,
        Some(&Secret::from_base32(&base32).unwrap()),
    )
    .await;
    // The demo account is an admin.
    let r = c
        .get(format!("{desk}/admin/audit?lang=en"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(demo);
    let w = World::new();
    let out = w.run(&["desk", "totp-code"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a demo folder"));
}
