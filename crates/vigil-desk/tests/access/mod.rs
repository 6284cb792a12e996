//! Roles, the second factor, sessions, accounts and the audit log
//! (deskaccess, issue 11), in-process on the real router and a real SQLite
//! file. The authorisation matrix is `MATRIX` below (docs/desk.md has the
//! same table).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Response, StatusCode, header};
use vigil_desk::audit::{AuditAction, ChainBreak, VerifyError};
use vigil_desk::authz::Role;
use vigil_desk::clock::Clock;
use vigil_desk::totp::Secret;

use super::{Desk, PASSWORD, USER, cookie_pair, desk, hidden, text};

/// The columns of the matrix: no session, then each role.
const WHO: [Option<Role>; 6] = [
    None,
    Some(Role::Admin),
    Some(Role::Coordinator),
    Some(Role::DutyLawyer),
    Some(Role::Verifier),
    Some(Role::Analyst),
];

/// Every desk route × method → the status each of WHO gets. POST bodies get
/// the session's form token and `lang=en` added. 303 for "no session" is the
/// redirect to the login page. To add a route: add a row.
#[rustfmt::skip]
const MATRIX: &[(&str, &str, &str, [u16; 6])] = &[
    //  method  path                      body                                   none admin coord duty verif analyst
    ("GET",  "/",                         "",                                    [303, 200, 200, 200, 200, 200]),
    ("GET",  "/login",                    "",                                    [200, 200, 200, 200, 200, 200]),
    ("GET",  "/healthz",                  "",                                    [200, 200, 200, 200, 200, 200]),
    ("GET",  "/sessions",                 "",                                    [303, 200, 200, 200, 200, 200]),
    ("POST", "/sessions/revoke",          "id=0000000000000000",                 [303, 404, 404, 404, 404, 404]),
    ("GET",  "/admin/accounts",           "",                                    [303, 200, 403, 403, 403, 403]),
    ("POST", "/admin/accounts",           "username=made-by-matrix&password=long+enough+password&role=analyst",
                                                                                 [303, 303, 403, 403, 403, 403]),
    ("POST", "/admin/accounts/change",    "username=nobody&action=enable",      [303, 404, 403, 403, 403, 403]),
    ("GET",  "/admin/audit",              "",                                    [303, 200, 403, 403, 403, 403]),
    // deskmerge: the queue and coding pages ({report}: a report the desk holds).
    ("POST", "/",                         "status=uncoded",                      [303, 200, 200, 200, 200, 200]),
    ("GET",  "/reports/{report}",         "",                                    [303, 200, 200, 200, 200, 200]),
    ("POST", "/reports/{report}/person",  "name=Matrix+Person",                  [303, 303, 303, 303, 303, 403]),
    ("POST", "/reports/{report}/action",  "kind=single_picket&date=2026-03-01",  [303, 303, 303, 303, 303, 403]),
    ("POST", "/reports/{report}/event",   "kind=detention&date=2026-03-01",      [303, 303, 303, 303, 303, 403]),
    ("GET",  "/reports/new",              "",                                    [303, 200, 200, 200, 200, 403]),
    ("POST", "/reports/new",              "text=matrix+phone+report",            [303, 303, 303, 303, 303, 403]),
    ("GET",  "/persons",                  "",                                    [303, 200, 200, 200, 200, 403]),
    ("POST", "/persons",                  "q=matrix",                            [303, 200, 200, 200, 200, 403]),
    ("GET",  "/persons/p-unknown",        "",                                    [303, 404, 404, 404, 404, 403]),
    ("GET",  "/persons/duplicates",       "",                                    [303, 200, 200, 403, 200, 403]),
    ("POST", "/persons/merge",            "kept=p-unknown&merged=p-other",       [303, 404, 404, 403, 404, 403]),
    ("GET",  "/merges",                   "",                                    [303, 200, 200, 403, 200, 403]),
    ("POST", "/merges/m-unknown/undo",    "",                                    [303, 404, 404, 403, 404, 403]),
    // deskmerge: the urgent line (deskurgent) and replies (intakeform).
    ("GET",  "/duty",                     "",                                    [303, 200, 200, 200, 200, 403]),
    ("POST", "/duty/ack",                 "report={report}",                     [303, 409, 409, 409, 409, 403]),
    ("GET",  "/roster",                   "",                                    [303, 200, 200, 200, 200, 403]),
    ("POST", "/roster/add",               "starts=2027-01-01T00:00&ends=2027-01-01T08:00&people=m-admin",
                                                                                 [303, 303, 303, 403, 403, 403]),
    ("POST", "/roster/remove",            "shift=none",                          [303, 303, 303, 403, 403, 403]),
    ("GET",  "/reports/{report}/reply",   "",                                    [303, 200, 200, 200, 200, 403]),
    ("POST", "/reports/{report}/reply",   "text=matrix+reply",                   [303, 422, 422, 422, 422, 403]),
    // intakemerge: a report's files, for roles that may read report text
    ("GET",  "/reports/00000000000000000000000000000000/attachments",
                                          "",                                    [303, 404, 404, 404, 404, 403]),
    ("GET",  "/reports/00000000000000000000000000000000/attachments/0",
                                          "",                                    [303, 404, 404, 404, 404, 403]),
    // deskfast: the export (analysts get the coded fields only; tests/web/export.rs)
    ("GET",  "/export",                   "",                                    [303, 200, 200, 403, 200, 200]),
    ("POST", "/export",                   "table=persons&format=csv",            [303, 200, 200, 403, 200, 200]),
];

impl Desk {
    /// Makes an account with a role and an enrolled second factor.
    pub(super) async fn account(&self, name: &str, role: Role) -> Secret {
        let store = self.web.store.as_ref();
        vigil_desk::accounts::set_account(store, 0, "(test)", name, Some(PASSWORD), Some(role))
            .await
            .unwrap();
        let secret = Secret::generate().unwrap();
        store
            .desk_set_second_factor(name, Some(&secret.seal(&self.web.identity).unwrap()), &[])
            .await
            .unwrap();
        secret
    }

    /// The password step for any account; returns the half-login cookie and
    /// where it was sent.
    async fn password_step(&self, name: &str) -> (String, String) {
        let form = self.login_form().await;
        let r = self.login(&form, name, PASSWORD).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(r).await);
        let location = r.headers()[header::LOCATION].to_str().unwrap().to_owned();
        (cookie_pair(&r), location)
    }

    /// Sends a code on the second step's page at `path`.
    async fn code_step(&self, half: &str, path: &str, code: &str) -> Response<Body> {
        let token = hidden(&text(self.get(path, Some(half)).await).await, "form_token");
        let post_path = path.split('?').next().unwrap();
        self.send(
            Desk::post(post_path, half)
                .body(Body::from(format!(
                    "code={code}&lang=en&form_token={token}"
                )))
                .unwrap(),
        )
        .await
    }

    /// A full login with a fresh code; the session cookie.
    pub(super) async fn session_of(&self, name: &str, secret: &Secret) -> String {
        let (half, location) = self.password_step(name).await;
        self.clock.advance_wall(Duration::from_secs(30));
        let r = self
            .code_step(&half, &location, &secret.code_at(self.clock.unix()))
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", text(r).await);
        cookie_pair(&r)
    }

    async fn form_token_of(&self, session: &str) -> String {
        hidden(
            &text(self.get("/sessions?lang=en", Some(session)).await).await,
            "form_token",
        )
    }

    async fn post_form(&self, path: &str, session: &str, body: &str) -> Response<Body> {
        let token = self.form_token_of(session).await;
        self.send(
            Desk::post(path, session)
                .body(Body::from(format!("{body}&lang=en&form_token={token}")))
                .unwrap(),
        )
        .await
    }

    pub(super) async fn audit_actions(&self) -> Vec<(String, String, Vec<String>)> {
        self.web
            .store
            .audit_entries(0, 1000)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.actor, e.action, e.subjects))
            .collect()
    }
}

#[tokio::test]
async fn the_authorisation_matrix_holds_for_every_route_role_and_method() {
    let d = desk(false).await;
    d.web.coding.set_record(
        vigil_record::RecordKey::generate().unwrap(),
        vigil_record::Vocabularies::built_in().unwrap(),
    );
    let report = DeskIdentityHelper::report(&d, "matrix report").await;
    let mut sessions = Vec::new();
    for who in WHO {
        sessions.push(match who {
            None => None,
            Some(role) => {
                let name = format!("m-{role}");
                let secret = d.account(&name, role).await;
                Some(d.session_of(&name, &secret).await)
            }
        });
    }
    let mut wrong = Vec::new();
    for (method, path, body, expected) in MATRIX {
        let (path, body) = (
            path.replace("{report}", &report),
            body.replace("{report}", &report),
        );
        let (path, body) = (path.as_str(), body.as_str());
        for (i, who) in WHO.iter().enumerate() {
            let session = sessions[i].as_deref();
            let r = if *method == "GET" {
                d.get(path, session).await
            } else {
                // The account made by the matrix must not exist yet for each role.
                let _ = d.web.store.desk_account("made-by-matrix").await;
                let token = match session {
                    Some(s) => d.form_token_of(s).await,
                    None => "x".into(),
                };
                let body = format!("{body}&lang=en&form_token={token}");
                d.send(
                    Desk::post(path, session.unwrap_or("x=y"))
                        .body(Body::from(body))
                        .unwrap(),
                )
                .await
            };
            if r.status().as_u16() != expected[i] {
                wrong.push(format!(
                    "{method} {path} as {who:?}: {} (expected {})",
                    r.status().as_u16(),
                    expected[i]
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[tokio::test]
async fn a_refusal_is_a_403_page_in_russian_and_english() {
    let d = desk(false).await;
    let secret = d.account("ana", Role::Analyst).await;
    let s = d.session_of("ana", &secret).await;
    let r = d.get("/admin/audit?lang=en", Some(&s)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = text(r).await;
    assert!(
        html.contains("Нет доступа") && html.contains("Access denied"),
        "{html}"
    );
}

#[tokio::test]
async fn an_analyst_sees_the_queue_without_report_text_unless_granted() {
    let d = desk(false).await;
    let id = DeskIdentityHelper::report(&d, "analyst-hidden-marker").await;
    let secret = d.account("ana", Role::Analyst).await;
    let s = d.session_of("ana", &secret).await;
    let html = text(d.get("/?lang=en", Some(&s)).await).await;
    assert!(html.contains(&format!("r-{id}")), "{html}");
    assert!(!html.contains("analyst-hidden-marker"), "{html}");
    assert!(html.contains("The report text is hidden"));
    // Granted report text (by an admin), the next login shows it.
    d.web
        .store
        .desk_set_grants("ana", "report_text")
        .await
        .unwrap();
    let s = d.session_of("ana", &secret).await;
    let html = text(d.get("/?lang=en", Some(&s)).await).await;
    assert!(html.contains("analyst-hidden-marker"), "{html}");
}

struct DeskIdentityHelper;

impl DeskIdentityHelper {
    /// Stores one report sealed to the desk identity; returns its id.
    async fn report(d: &Desk, text: &str) -> String {
        let envelope = vigil_core::ReportEnvelope::new(
            text,
            false,
            None,
            vigil_core::Lang::En,
            vigil_core::Channel::WebForm,
            "2024-05-01".parse().unwrap(),
        )
        .unwrap();
        let sealed = d
            .web
            .identity
            .recipients()
            .seal_envelope(&envelope)
            .unwrap();
        let id = vigil_core::ReportId::generate().unwrap();
        d.web
            .store
            .desk_store_pulled(&[vigil_core::SealedReport {
                id,
                receipt_hash: [7; 32],
                sealed,
                received: "2024-05-01".parse().unwrap(),
            }])
            .await
            .unwrap();
        id.to_string()
    }
}

#[tokio::test]
async fn first_login_enrols_totp_with_qr_uri_and_secret_and_shows_ten_recovery_codes_once() {
    let d = desk(false).await;
    let store = d.web.store.as_ref();
    vigil_desk::accounts::set_account(
        store,
        0,
        "(test)",
        "new",
        Some(PASSWORD),
        Some(Role::Verifier),
    )
    .await
    .unwrap();
    let (half, location) = d.password_step("new").await;
    assert_eq!(location, "/login/enrol?lang=en");
    // The half login opens nothing else.
    assert_eq!(
        d.get("/", Some(&half)).await.status(),
        StatusCode::SEE_OTHER
    );
    let html = text(d.get(&location, Some(&half)).await).await;
    assert!(html.contains("<svg"), "no QR code");
    assert!(html.contains("otpauth://totp/vigil:new?secret="), "{html}");
    let start = html.find("<code id=\"secret\">").unwrap() + "<code id=\"secret\">".len();
    let secret = Secret::from_base32(html[start..].split('<').next().unwrap()).unwrap();
    // A wrong code keeps the page; the secret is not stored yet.
    let r = d.code_step(&half, &location, "000000").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(text(r).await.contains("did not work"));
    assert!(
        store
            .desk_account_info("new")
            .await
            .unwrap()
            .unwrap()
            .totp_sealed
            .is_none()
    );
    let r = d
        .code_step(&half, &location, &secret.code_at(d.clock.unix()))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let session = cookie_pair(&r);
    let html = text(r).await;
    let codes: Vec<String> = html
        .split("<li><code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10, "{html}");
    assert_eq!(
        d.get("/?lang=en", Some(&session)).await.status(),
        StatusCode::OK
    );
    let info = store.desk_account_info("new").await.unwrap().unwrap();
    assert_eq!(info.recovery_left, 10);
    // Sealed at rest: the stored bytes are an age file, not the secret.
    let sealed = info.totp_sealed.unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1"));
    // The next login asks for a code; a recovery code works once.
    let (half, location) = d.password_step("new").await;
    assert_eq!(location, "/login/code?lang=en");
    let r = d
        .code_step(&half, &location, &codes[3].to_uppercase())
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (half, location) = d.password_step("new").await;
    let r = d.code_step(&half, &location, &codes[3]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        store
            .desk_account_info("new")
            .await
            .unwrap()
            .unwrap()
            .recovery_left,
        9
    );
    let actions: Vec<String> = d.audit_actions().await.into_iter().map(|a| a.1).collect();
    for a in [
        "second_factor_enrolled",
        "recovery_code_used",
        "second_factor_failed",
        "login",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
}

#[tokio::test]
async fn a_used_code_is_refused_and_drift_beyond_one_step_too() {
    let d = desk(false).await;
    let (half, location) = d.password_step(USER).await;
    let code = d.secret.code_at(d.clock.unix());
    assert_eq!(
        d.code_step(&half, &location, &code).await.status(),
        StatusCode::SEE_OTHER
    );
    // The same code again, within its 30 seconds: a replay.
    let (half, location) = d.password_step(USER).await;
    let r = d.code_step(&half, &location, &code).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Two steps ahead is too far; one step ahead is fine.
    let ahead2 = d.secret.code_at(d.clock.unix() + 60);
    assert_eq!(
        d.code_step(&half, &location, &ahead2).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let ahead1 = d.secret.code_at(d.clock.unix() + 30);
    assert_eq!(
        d.code_step(&half, &location, &ahead1).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lockout_even_between_right_passwords() {
    let d = desk(false).await;
    for round in 0..5 {
        // A right password each time does not forget the wrong codes.
        let (half, location) = d.password_step(USER).await;
        let r = d.code_step(&half, &location, "000000").await;
        let expected = if round < 4 {
            StatusCode::UNAUTHORIZED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(r.status(), expected, "round {round}");
    }
    assert!(d.web.lockout.locked_for(USER, d.clock.now()).is_some());
    // Locked: the right password is refused, no half login is given.
    let form = d.login_form().await;
    assert_eq!(
        d.login(&form, USER, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    d.clock.advance(Duration::from_secs(60));
    d.session().await;
}

#[tokio::test]
async fn a_half_login_expires_after_five_minutes() {
    let d = desk(false).await;
    let (half, location) = d.password_step(USER).await;
    let token = hidden(
        &text(d.get(&location, Some(&half)).await).await,
        "form_token",
    );
    d.clock.advance(Duration::from_secs(5 * 60));
    let code = d.secret.code_at(d.clock.unix());
    let r = d
        .send(
            Desk::post("/login/code", &half)
                .body(Body::from(format!(
                    "code={code}&lang=en&form_token={token}"
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(text(r).await.contains("not finished in time"));
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_by_their_owner_and_by_an_admin() {
    let d = desk(false).await;
    let a = d.session().await;
    let b = d.session().await;
    let html = text(d.get("/sessions?lang=en", Some(&a)).await).await;
    assert_eq!(html.matches("id=\"s-").count(), 2, "{html}");
    assert!(html.contains("(this one)"));
    let ids: Vec<String> = html
        .split("id=\"s-")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect();
    // Revoke the other one (b): b is logged out, a lives on.
    let this_marker = "(this one)";
    let row_of = |id: &str| {
        html.split(&format!("id=\"s-{id}\""))
            .nth(1)
            .unwrap()
            .split("</tr>")
            .next()
            .unwrap()
            .to_owned()
    };
    let other = ids
        .iter()
        .find(|id| !row_of(id).contains(this_marker))
        .unwrap();
    let r = d
        .post_form("/sessions/revoke", &a, &format!("id={other}"))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!d.logged_in(&b).await);
    assert!(d.logged_in(&a).await);
    // Someone else (not an admin) cannot revoke a's session.
    let secret = d.account("val", Role::Verifier).await;
    let v = d.session_of("val", &secret).await;
    let mine = ids
        .iter()
        .find(|id| row_of(id).contains(this_marker))
        .unwrap();
    let r = d
        .post_form("/sessions/revoke", &v, &format!("id={mine}"))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(d.logged_in(&a).await);
    // An admin sees everyone's and revokes it.
    let secret = d.account("root", Role::Admin).await;
    let adm = d.session_of("root", &secret).await;
    let html = text(d.get("/sessions?lang=en", Some(&adm)).await).await;
    assert!(html.contains("All sessions") && html.contains(mine.as_str()));
    let r = d
        .post_form("/sessions/revoke", &adm, &format!("id={mine}"))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!d.logged_in(&a).await);
    let log = d.audit_actions().await;
    assert!(log.iter().any(|(actor, action, subjects)| actor == "root"
        && action == "session_revoked"
        && subjects == &[USER.to_owned()]));
}

#[tokio::test]
async fn an_admin_creates_changes_disables_and_resets_accounts() {
    let d = desk(false).await;
    let secret = d.account("root", Role::Admin).await;
    let adm = d.session_of("root", &secret).await;
    // The last enabled admin cannot be demoted or disabled.
    for body in [
        "username=root&action=disable",
        "username=root&action=role&role=analyst",
    ] {
        let r = d.post_form("/admin/accounts/change", &adm, body).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{body}");
        assert!(text(r).await.contains("last enabled admin"));
    }
    // Create.
    let r = d
        .post_form(
            "/admin/accounts",
            &adm,
            "username=nina&password=long+enough+password&role=duty_lawyer",
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = text(d.get("/admin/accounts?lang=en", Some(&adm)).await).await;
    assert!(
        html.contains("id=\"a-nina\"") && html.contains("duty lawyer"),
        "{html}"
    );
    // A short password is refused with what to do.
    let r = d
        .post_form(
            "/admin/accounts",
            &adm,
            "username=olga&password=short&role=analyst",
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(text(r).await.contains("at least 12 characters"));
    // A role change ends the account's sessions; the next login has the new role.
    let user = d.session().await;
    assert_eq!(
        d.get("/admin/audit", Some(&user)).await.status(),
        StatusCode::FORBIDDEN
    );
    let r = d
        .post_form(
            "/admin/accounts/change",
            &adm,
            &format!("username={USER}&action=role&role=admin"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!d.logged_in(&user).await);
    let user = d.session().await;
    assert_eq!(
        d.get("/admin/audit", Some(&user)).await.status(),
        StatusCode::OK
    );
    // Disabled: the right password and code do not let in.
    let r = d
        .post_form(
            "/admin/accounts/change",
            &adm,
            &format!("username={USER}&action=disable"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(!d.logged_in(&user).await);
    let form = d.login_form().await;
    let r = d.login(&form, USER, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(text(r).await.contains("disabled"));
    d.post_form(
        "/admin/accounts/change",
        &adm,
        &format!("username={USER}&action=enable"),
    )
    .await;
    // A reset second factor means enrolling again at the next login.
    let r = d
        .post_form(
            "/admin/accounts/change",
            &adm,
            &format!("username={USER}&action=reset_second_factor"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, location) = d.password_step(USER).await;
    assert_eq!(location, "/login/enrol?lang=en");
    let actions: Vec<(String, String, Vec<String>)> = d.audit_actions().await;
    for a in [
        "account_created",
        "account_role_changed",
        "account_disabled",
        "account_enabled",
        "second_factor_reset",
    ] {
        assert!(
            actions.iter().any(|x| x.0 == "root" && x.1 == a),
            "{a} missing: {actions:?}"
        );
    }
    // The audit page shows them, ids and kinds only (no password, no IP).
    let html = text(d.get("/admin/audit?lang=en", Some(&adm)).await).await;
    assert!(html.contains("second_factor_reset") && !html.contains("long enough password"));
}

#[tokio::test]
async fn failed_logins_are_logged_without_the_typed_name_unless_it_is_an_account() {
    let d = desk(false).await;
    let form = d.login_form().await;
    d.login(&form, "my-password-typed-here", "wrong password!!")
        .await;
    d.login(&form, USER, "wrong password!!").await;
    let log = d.audit_actions().await;
    assert_eq!(
        log[0],
        ("(none)".to_owned(), "login_failed".to_owned(), vec![])
    );
    assert_eq!(log[1], (USER.to_owned(), "login_failed".to_owned(), vec![]));
    assert!(
        vigil_desk::audit::verify(d.web.store.as_ref())
            .await
            .is_ok()
    );
}

/// A fresh desk store on SQLite, and on PostgreSQL when scripts/test gives one.
async fn stores() -> Vec<(
    String,
    std::sync::Arc<dyn vigil_store::DeskStore>,
    Option<tempfile::TempDir>,
)> {
    let dir = tempfile::tempdir().unwrap();
    let url = vigil_store::sqlite_url(&dir.path().join("audit.db"));
    let mut v = vec![(
        url.clone(),
        vigil_store::open_desk(&url).await.unwrap(),
        Some(dir),
    )];
    if let Ok(admin) = std::env::var("VIGIL_TEST_POSTGRES_URL") {
        use sqlx::Connection;
        let name = format!("vigil_audit_{}", vigil_core::ReportId::generate().unwrap());
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .unwrap();
        let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
        v.push((
            url.clone(),
            vigil_store::open_desk(&url).await.unwrap(),
            None,
        ));
    }
    v
}

async fn tamper(url: &str, sql: &str) {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
    }
}

#[tokio::test]
async fn audit_verify_names_the_first_changed_removed_or_reordered_entry() {
    for (url, store, _keep) in stores().await {
        let s = store.as_ref();
        let fill = |n: i64| async move {
            for i in 0..n {
                let id = format!("p{i}");
                vigil_desk::audit::record(
                    s,
                    1_700_000_000 + i as u64,
                    "ann",
                    AuditAction::MergePersons,
                    &[&id, "p0"],
                )
                .await
                .unwrap();
            }
        };
        fill(6).await;
        assert_eq!(vigil_desk::audit::verify(s).await.unwrap(), 6);
        let broken = |r: Result<u64, VerifyError>| match r {
            Err(VerifyError::Broken(b)) => b,
            other => panic!("{url}: expected a break, got {other:?}"),
        };
        // Changed: a subject edited.
        tamper(
            &url,
            "UPDATE desk_audit SET subjects = '[\"p9\",\"p0\"]' WHERE seq = 3",
        )
        .await;
        assert_eq!(
            broken(vigil_desk::audit::verify(s).await),
            ChainBreak::Changed { seq: 3 }
        );
        // Changed with its hash recomputed: the next entry's link breaks.
        let e = s.audit_entries(2, 1).await.unwrap().remove(0);
        let h = vigil_store::audit::entry_hash(
            &e.prev_hash,
            e.seq,
            e.at,
            &e.actor,
            &e.action,
            &e.subjects,
        );
        tamper(
            &url,
            &format!("UPDATE desk_audit SET hash = '{h}' WHERE seq = 3"),
        )
        .await;
        assert_eq!(
            broken(vigil_desk::audit::verify(s).await),
            ChainBreak::Link { seq: 4 }
        );
        // Removed: entry 2 deleted (entry 3 is still bad, but 2's gap comes first).
        tamper(&url, "DELETE FROM desk_audit WHERE seq = 2").await;
        assert_eq!(
            broken(vigil_desk::audit::verify(s).await),
            ChainBreak::Gap {
                seq: 3,
                previous: 1
            }
        );
        // Reordered: entries 5 and 6 swap places.
        tamper(&url, "DELETE FROM desk_audit").await;
        tamper(
            &url,
            &format!(
                "UPDATE desk_audit_head SET seq = 0, hash = '{}'",
                vigil_store::audit::GENESIS
            ),
        )
        .await;
        fill(6).await;
        tamper(&url, "UPDATE desk_audit SET seq = -5 WHERE seq = 5").await;
        tamper(&url, "UPDATE desk_audit SET seq = 5 WHERE seq = 6").await;
        tamper(&url, "UPDATE desk_audit SET seq = 6 WHERE seq = -5").await;
        assert_eq!(
            broken(vigil_desk::audit::verify(s).await),
            ChainBreak::Changed { seq: 5 }
        );
        // The newest removed: the head shows it.
        tamper(&url, "DELETE FROM desk_audit").await;
        tamper(
            &url,
            &format!(
                "UPDATE desk_audit_head SET seq = 0, hash = '{}'",
                vigil_store::audit::GENESIS
            ),
        )
        .await;
        fill(3).await;
        tamper(&url, "DELETE FROM desk_audit WHERE seq = 3").await;
        assert_eq!(
            broken(vigil_desk::audit::verify(s).await),
            ChainBreak::Truncated { last: 2, head: 3 }
        );
    }
}
