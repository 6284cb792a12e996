//! Desk login through the real binary: weak passphrases refused by keygen,
//! plain-HTTP cookies refused off loopback, and the memory a crowd of wrong
//! logins can take. The login rules themselves (lockout, form tokens, origin
//! checks, session expiry, cookie attributes) are tested in-process in
//! crates/vigil-desk/tests/web.rs.

use std::fs;
use std::process::Stdio;

use super::{Browser, Demo, World, client, vigil};

/// The cookie ("name=value") an answer sets.
pub(crate) fn cookie_of(r: &reqwest::Response) -> String {
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The login cookie ("name=value") and the form token of the desk's login page.
pub(crate) async fn login_form(c: &reqwest::Client, desk: &str) -> (String, String) {
    let r = c.get(format!("{desk}/login")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let cookie = cookie_of(&r);
    let html = r.text().await.unwrap();
    let marker = "name=\"form_token\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    let token = html[start..].split('"').next().unwrap().to_owned();
    (cookie, token)
}

#[test]
fn keygen_refuses_a_weak_passphrase_and_names_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    for (weak, rule) in [
        ("a", "at least 12 characters"),
        ("password1234", "easy to guess"),
    ] {
        let out = vigil(&["keygen", "--kdf-work-factor", "10", "--data"])
            .arg(dir.path())
            .env("VIGIL_PASSPHRASE", weak)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{weak:?} was accepted");
        assert!(err.contains(rule), "{err}");
        assert!(err.contains("Возьмите 4–5 случайных слов"), "{err}");
        assert!(!dir.path().join("desk/identity.age").exists());
    }
}

/// Runs a server command that must refuse to start; a server that starts
/// anyway is killed after a bound instead of hanging the test.
fn refused(mut cmd: std::process::Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the desk started instead of refusing");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    out
}

#[test]
fn plain_http_cookies_are_refused_off_loopback() {
    let w = World::new();
    let config = w.data().join("desk/desk.toml");
    let write = |listen: &str, secure: bool| {
        fs::write(
            &config,
            format!(
                "version = 1\nlisten = \"{listen}\"\nintake_url = \"http://127.0.0.1:9\"\nintake_token = \"t\"\nsecure_cookies = {secure}\n"
            ),
        )
        .unwrap();
    };
    write("0.0.0.0:0", false);
    let out = refused(w.command(&["desk", "serve"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("secure_cookies = false"), "{err}");
    assert!(err.contains("0.0.0.0:0"), "{err}");
    // The --listen override is checked too.
    write("127.0.0.1:0", false);
    let out = refused(w.command(&["desk", "serve", "--listen", "0.0.0.0:0"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("secure_cookies = false"));
}

/// The bound for 100 concurrent wrong logins against `vigil demo`. Each check
/// needs 19 MiB; allocated per attempt, 100 of them took the demo to 1,929 MiB
/// peak. With reused working memory it went from 42 to 47 MiB.
const PEAK_BOUND_KIB: u64 = 128 * 1024;

#[tokio::test(flavor = "multi_thread")]
async fn a_crowd_of_wrong_logins_keeps_the_desk_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::spawn(&dir.path().join("demo"));
    let desk = demo.desk();
    let before = demo.peak_kib();
    let c = client();
    let (cookie, token) = login_form(&c, &desk).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..100 {
        let c = c.clone();
        let url = format!("{desk}/login");
        let cookie = cookie.clone();
        let form = [
            ("username", format!("nobody{i}")),
            ("password", "wrong password!!".to_owned()),
            ("form_token", token.clone()),
        ];
        set.spawn(async move {
            let r = c
                .post(url)
                .header("cookie", cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        });
    }
    let statuses = set.join_all().await;
    let after = demo.peak_kib();
    drop(demo);
    // Wrong (401) or "busy, try again" (503), never anything else.
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&401),
        "no login was checked: {statuses:?}"
    );
    eprintln!(
        "vigil demo VmHWM: {} MiB before, {} MiB after 100 concurrent wrong logins ({} checked, {} busy)",
        before / 1024,
        after / 1024,
        statuses.iter().filter(|s| **s == 401).count(),
        statuses.iter().filter(|s| **s == 503).count()
    );
    assert!(
        after < PEAK_BOUND_KIB,
        "peak resident {} MiB, bound {} MiB",
        after / 1024,
        PEAK_BOUND_KIB / 1024
    );
}

/// A real browser (Debian's Chromium, JavaScript off) logs in with the form
/// token, sees the queue, logs out with the session's token; a form on
/// another origin that posts to the desk's login is refused.
#[tokio::test(flavor = "multi_thread")]
async fn chromium_logs_in_and_out_and_a_foreign_form_is_refused() {
    let mut w = World::new();
    let desk = w.desk_with_a_report("chromium-login-marker", false).await;
    w.run_ok(&["desk", "pull"]);
    let browser = Browser::start().await;
    // A click may return before the next page is in (a loaded machine): let
    // each find poll for its element, with a bound, instead of failing at once.
    browser
        .call(
            reqwest::Method::POST,
            "/timeouts",
            serde_json::json!({ "implicit": 20_000 }),
        )
        .await;

    browser.goto(&format!("{desk}/login?lang=en")).await;
    browser.type_into("#username", "lawyer").await;
    browser.type_into("#password", "wrong password!!").await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .text_of(".error")
            .await
            .contains("Wrong username or password")
    );
    // The page that came back carries a working token and the name filled in.
    browser
        .type_into("#password", "correct horse battery")
        .await;
    browser.click("button[type=submit]").await;
    // First login: the second factor is enrolled from the page's secret.
    let secret = vigil_desk::totp::Secret::from_base32(&browser.text_of("#secret").await).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    browser.type_into("#code", &secret.code_at(now)).await;
    browser.click("button[type=submit]").await;
    browser.click("#continue").await;
    assert!(browser.text_of("h2").await.starts_with("Report queue"));
    assert!(
        browser
            .text_of("pre.report")
            .await
            .contains("chromium-login-marker")
    );
    browser.click("header form button").await;
    browser.find("#username").await;
    browser.goto(&format!("{desk}/?lang=en")).await;
    browser.find("#username").await;

    // Login CSRF: a page elsewhere (here a data: URL) posts the login form.
    let foreign = format!(
        "data:text/html,<form method=post action='{desk}/login'>\
         <input name=username value=lawyer><input name=password value='correct horse battery'>\
         <input name=form_token value=00><button id=go>go</button></form>"
    );
    browser.goto(&foreign).await;
    browser.click("#go").await;
    // Chromium shows the plain-text refusal in a <pre>; the foreign page has none.
    let body = browser.text_of("pre").await;
    assert!(body.contains("another site"), "{body}");
}
