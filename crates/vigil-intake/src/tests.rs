//! In-process tests of the intake's routes (`tower::ServiceExt::oneshot`, no
//! ports) on a real SQLite store and real sealing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use tower::ServiceExt;
use vigil_core::{Day, DeskIdentity, Receipt, ReceiptKey};

use crate::{Intake, IntakeConfig};

const TOKEN: &str = "desk token for tests";

struct Fixture {
    intake: Arc<Intake>,
    desk: DeskIdentity,
    _dir: tempfile::TempDir,
}

async fn fixture(adjust: impl FnOnce(&mut IntakeConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open_intake(&vigil_store::sqlite_url(&dir.path().join("intake.db")))
        .await
        .unwrap();
    let desk = DeskIdentity::generate();
    let mut config = IntakeConfig::new(
        desk.recipients(),
        ReceiptKey::generate().unwrap(),
        vigil_core::token::hash(TOKEN),
    );
    adjust(&mut config);
    Fixture {
        intake: Intake::new(config, store),
        desk,
        _dir: dir,
    }
}

async fn send(intake: &Arc<Intake>, request: Request<Body>) -> (StatusCode, String, String) {
    let response: Response = crate::router(intake.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    let ctype = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, ctype, String::from_utf8(bytes.to_vec()).unwrap())
}

fn api(body: &str, lang: &str) -> Request<Body> {
    Request::post("/api/v1/reports")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, lang)
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn form(body: &str) -> Request<Body> {
    Request::post("/report")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn json_errors_never_repeat_what_was_sent() {
    let f = fixture(|_| {}).await;
    let cases = [
        r#"{"text": "x", "МАРКЕР-имя-поля": 1}"#,
        r#"{"МАРКЕР-имя-поля": "x"}"#,
        r#"{"text": "x", "urgent": "МАРКЕР-значение"}"#,
        r#"{"text": "x", "text": "МАРКЕР-повтор"}"#,
        r#"{"text": "МАРКЕР-обрыв"#,
        r#"["МАРКЕР-массив"]"#,
    ];
    for body in cases {
        let (status, ctype, answer) = send(&f.intake, api(body, "en")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert!(ctype.starts_with("application/json"), "{ctype}");
        assert!(!answer.contains("МАРКЕР"), "{body} echoed: {answer}");
    }
    let (_, _, answer) = send(&f.intake, api(r#"{"txt": "x"}"#, "en")).await;
    assert!(
        answer.contains("allowed are text, urgent, contact, lang"),
        "{answer}"
    );
    assert!(!answer.contains("txt"), "{answer}");
    let (_, _, answer) = send(&f.intake, api(r#"{"txt": "x"}"#, "ru")).await;
    assert!(answer.contains("неизвестное поле"), "{answer}");
    // The desk API's query errors do not quote the query either.
    let request = Request::get("/api/v1/desk/reports?limit=МАРКЕР")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, _, answer) = send(&f.intake, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        !answer.contains("МАРКЕР") && !answer.contains("%D0"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_wrong_address_gives_people_a_page_and_programs_json() {
    let f = fixture(|_| {}).await;
    let get = |path: &str, accept: Option<&str>, lang: &str| {
        let mut r = Request::get(path).header(header::ACCEPT_LANGUAGE, lang);
        if let Some(a) = accept {
            r = r.header(header::ACCEPT, a);
        }
        r.body(Body::empty()).unwrap()
    };
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let (status, ctype, page) = send(&f.intake, get("/nope", Some(browser), "ru-RU,ru")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(
        page.contains("Такой страницы нет") && page.contains("href=\"/\""),
        "{page}"
    );
    let (_, _, page) = send(&f.intake, get("/nope", Some(browser), "en-GB")).await;
    assert!(
        page.contains("There is no such page") && page.contains("/?lang=en"),
        "{page}"
    );
    for accept in [None, Some("application/json"), Some("*/*")] {
        let (status, ctype, body) = send(&f.intake, get("/api/v1/nope", accept, "en")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(ctype.starts_with("application/json"), "{accept:?}: {ctype}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["error"]["code"], "not_found");
    }
    // A browser reloading the form's target with GET gets a page, not a blank 405.
    let (status, ctype, _) = send(&f.intake, get("/report", Some(browser), "ru")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let (status, ctype, _) = send(&f.intake, get("/api/v1/reports", None, "ru")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(ctype.starts_with("application/json"), "{ctype}");
}

#[tokio::test]
async fn a_flood_waits_briefly_then_hears_busy_in_its_language() {
    let f = fixture(|c| {
        c.max_sealing = 1;
        c.busy_wait = Duration::from_millis(50);
    })
    .await;
    let taken = f.intake.sealing.acquire().await.unwrap();
    let (status, _, answer) = send(&f.intake, api(r#"{"text": "a report"}"#, "ru")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let json: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(json["error"]["code"], "busy");
    assert!(answer.contains("слишком много"), "{answer}");
    let (status, _, page) = send(&f.intake, form("text=my+words&lang=en")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.contains("Too many reports"), "{page}");
    assert!(
        page.contains("my words"),
        "the reporter's words were lost: {page}"
    );
    assert_eq!(f.intake.store.intake_pending_count().await.unwrap(), 0);
    // A slot that comes free within the wait is taken.
    let intake = f.intake.clone();
    let waiting = tokio::spawn(async move {
        let long = Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"text": "a report"}"#))
            .unwrap();
        crate::router(intake).oneshot(long).await.unwrap().status()
    });
    drop(taken);
    assert_eq!(waiting.await.unwrap(), StatusCode::CREATED);
}

#[tokio::test]
async fn receipts_are_forgotten_after_receipt_days() {
    let f = fixture(|c| c.receipt_days = 90).await;
    let (status, _, answer) = send(&f.intake, api(r#"{"text": "a report"}"#, "ru")).await;
    assert_eq!(status, StatusCode::CREATED);
    let json: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let receipt: Receipt = json["receipt"].as_str().unwrap().parse().unwrap();
    let hash = f.intake.config.receipt_key.hash(&receipt);
    let store = f.intake.store.clone();
    assert!(store.intake_receipt_known(&hash).await.unwrap());
    let today = Day::today();
    let later = |days: i64| Day::from_date(today.date() + time::Duration::days(days));
    assert_eq!(f.intake.upkeep(later(90)).await.unwrap(), 0);
    assert!(store.intake_receipt_known(&hash).await.unwrap());
    assert_eq!(f.intake.upkeep(later(91)).await.unwrap(), 1);
    assert!(!store.intake_receipt_known(&hash).await.unwrap());
    // The sealed report itself waits for the desk, whatever its age.
    assert_eq!(store.intake_pending_count().await.unwrap(), 1);
}

#[test]
fn the_receipt_cutoff_counts_whole_days() {
    let d = |s: &str| s.parse::<Day>().unwrap();
    assert_eq!(
        crate::upkeep::receipt_cutoff(d("2024-03-01"), 1),
        d("2024-02-29")
    );
    assert_eq!(
        crate::upkeep::receipt_cutoff(d("2024-03-01"), 90),
        d("2023-12-02")
    );
}

// --- intakeform: the guided form, the receipt page, replies by receipt ---

fn post_json(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn post_form(path: &str, body: &str) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// The one pending report, opened with the desk's identity.
async fn the_pending_envelope(
    f: &Fixture,
) -> (vigil_core::SealedReport, vigil_core::ReportEnvelope) {
    let pending = f.intake.store.intake_pending(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    let report = pending.into_iter().next().unwrap();
    let envelope = f.desk.open_envelope(&report.sealed).unwrap();
    (report, envelope)
}

#[tokio::test]
async fn the_guided_form_seals_every_answer_and_detained_now_is_urgent() {
    let f = fixture(|c| {
        c.organisation.name_ru = "Тестовая правозащита".into();
        c.organisation.phone = Some("+7 800 000-00-00".into());
    })
    .await;
    let (status, _, page) = send(&f.intake, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    for needle in [
        "Тестовая правозащита",
        "tel:+78000000000",
        "Tor Browser",
        "никаким властям",
        "name=\"region\"",
        "value=\"RU-MOW\"",
        "value=\"detained_now\"",
        "aria-describedby=\"text-hint\"",
    ] {
        assert!(page.contains(needle), "{needle} missing");
    }
    let before = time::OffsetDateTime::now_utc();
    let body = "lang=ru&happened=detained_now&whom=someone_else&names=%D0%98%D0%B2%D0%B0%D0%BD&when=%D1%81%D0%B5%D0%B3%D0%BE%D0%B4%D0%BD%D1%8F&region=RU-MOW&city=&place=%D0%9F%D1%83%D1%88%D0%BA%D0%B8%D0%BD%D1%81%D0%BA%D0%B0%D1%8F&station=%D0%9E%D0%92%D0%94+%D0%A2%D0%B2%D0%B5%D1%80%D1%81%D0%BA%D0%BE%D0%B9&consent=counts&text=%D0%B7%D0%B0%D0%B4%D0%B5%D1%80%D0%B6%D0%B0%D0%BD";
    let (status, _, page) = send(&f.intake, post_form("/report", body)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("class=\"receipt\"") && page.contains("Что будет дальше"));
    let (report, envelope) = the_pending_envelope(&f).await;
    assert!(envelope.urgent, "detained now must be urgent");
    let d = &envelope.details;
    assert_eq!(d.happened, Some(vigil_core::Happened::DetainedNow));
    assert_eq!(d.whom, Some(vigil_core::Whom::SomeoneElse));
    assert_eq!(d.names.as_deref(), Some("Иван"));
    assert_eq!(d.region.as_deref(), Some("RU-MOW"));
    assert_eq!(d.city, None);
    assert_eq!(d.station.as_deref(), Some("ОВД Тверской"));
    assert_eq!(d.consent, Some(vigil_core::Consent::Counts));
    // The exact time is sealed, to the second; in clear only the day.
    let at = vigil_core::day::parse_timestamp(envelope.received_at.as_deref().unwrap()).unwrap();
    assert!(at >= before.replace_nanosecond(0).unwrap() && at <= time::OffsetDateTime::now_utc());
    assert_eq!(report.received, Day::from_date(at.date()));
    // intake4: the reply key travels as its seed; the desk derives the
    // recipient, an `age1…` key.
    assert_eq!(envelope.reply_to, None);
    assert!(envelope.reply_recipient().unwrap().starts_with("age1"));
}

#[tokio::test]
async fn a_bad_answer_is_named_beside_its_field_and_nothing_is_lost() {
    let f = fixture(|_| {}).await;
    let long = "x".repeat(vigil_core::report::MAX_FIELD_CHARS + 1);
    let (status, _, page) = send(
        &f.intake,
        post_form("/report", &format!("lang=en&text=my+words&station={long}")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"station-error\""), "{page}");
    assert!(page.contains("aria-describedby=\"station-error station-hint\""));
    assert!(page.contains("Police station or court"));
    assert!(page.contains("my words"));
    let (status, _, page) = send(
        &f.intake,
        post_form("/report", "lang=en&text=x&region=XX-NOPE"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"region-error\""), "{page}");
    let (status, _, answer) = send(
        &f.intake,
        api(r#"{"text": "x", "happened": "arrested"}"#, "en"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer.contains("bad_choice") && answer.contains("detained_now"),
        "{answer}"
    );
    assert_eq!(f.intake.store.intake_pending_count().await.unwrap(), 0);
}

/// Seals a reply the way the desk does and hands it over on the desk's exchange.
async fn reply_from_the_desk(f: &Fixture, text: &str) {
    use vigil_core::followup::{MessageEnvelope, SealedMessage, Sender};
    let (report, envelope) = the_pending_envelope(f).await;
    let to = f
        .desk
        .recipients()
        .and(&envelope.reply_recipient().unwrap())
        .unwrap();
    let reply = SealedMessage {
        id: vigil_core::ReportId::generate().unwrap(),
        receipt_hash: report.receipt_hash,
        from: Sender::Team,
        day: Day::today(),
        sealed: MessageEnvelope::new(text, None).unwrap().seal(&to).unwrap(),
    };
    let body = serde_json::json!({ "replies": [reply] }).to_string();
    let request = Request::post("/api/v1/desk/messages")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .unwrap();
    let (status, _, answer) = send(&f.intake, request).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let json: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(json["stored"][0], reply.id.to_string());
}

#[tokio::test]
async fn replies_by_receipt_round_trip_and_a_wrong_receipt_hears_the_same() {
    let f = fixture(|_| {}).await;
    let (_, _, answer) = send(&f.intake, api(r#"{"text": "задержан у метро"}"#, "ru")).await;
    let json: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let receipt = json["receipt"].as_str().unwrap().to_owned();
    let read = |r: &str| {
        post_json(
            "/api/v1/followup",
            &serde_json::json!({ "receipt": r }).to_string(),
        )
    };
    // Nothing yet: the same answer as for a receipt that was never given out.
    let wrong = Receipt::generate().unwrap().to_string();
    let (status, _, none) = send(&f.intake, read(&receipt)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(none, r#"{"messages":[]}"#);
    let (status, _, wrong_answer) = send(&f.intake, read(&wrong)).await;
    assert_eq!(
        (status, wrong_answer.as_str()),
        (StatusCode::OK, none.as_str())
    );

    reply_from_the_desk(&f, "Адвокат выехал в ОВД").await;
    let add = serde_json::json!({ "receipt": receipt.to_lowercase().replace('-', " "), "text": "Его увезли в другой отдел" });
    let (status, _, _) = send(
        &f.intake,
        post_json("/api/v1/followup/messages", &add.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, answer) = send(&f.intake, read(&receipt)).await;
    let json: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let messages = json["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{answer}");
    assert_eq!(messages[0]["from"], "team");
    assert_eq!(messages[0]["text"], "Адвокат выехал в ОВД");
    assert_eq!(messages[0]["day"], Day::today().to_string());
    assert_eq!(messages[1]["from"], "you");
    // Still nothing for a wrong receipt, and adding to it keeps nothing.
    let (_, _, wrong_answer) = send(&f.intake, read(&wrong)).await;
    assert_eq!(wrong_answer, none);
    let add_wrong = serde_json::json!({ "receipt": wrong, "text": "x" }).to_string();
    let (status, _, _) = send(
        &f.intake,
        post_json("/api/v1/followup/messages", &add_wrong),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let pending = f.intake.store.intake_pending_followups(10).await.unwrap();
    assert_eq!(
        pending.len(),
        1,
        "only the real receipt's follow-up waits for the desk"
    );
    // The follow-up opens for the desk.
    assert!(f.desk.open(&pending[0].sealed).is_ok());
    // A typo is named as one.
    let mut typo = receipt.clone().into_bytes();
    typo[0] = if typo[0] == b'7' { b'8' } else { b'7' };
    let (status, _, answer) = send(&f.intake, read(&String::from_utf8(typo).unwrap())).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.contains("receipt_typo"), "{answer}");
}

#[tokio::test]
async fn the_status_page_takes_the_receipt_only_in_a_post_body() {
    let f = fixture(|_| {}).await;
    let response = crate::router(f.intake.clone())
        .oneshot(post_form("/report", "lang=en&text=words"))
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let page = String::from_utf8(bytes.to_vec()).unwrap();
    let receipt = page
        .split("<span id=\"receipt\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(receipt.parse::<Receipt>().is_ok(), "{receipt}");
    let (status, _, page) = send(
        &f.intake,
        Request::get("/status?lang=en").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("method=\"post\" action=\"/status\""));
    reply_from_the_desk(&f, "We are on it").await;
    let (status, _, page) = send(
        &f.intake,
        post_form("/status", &format!("lang=en&receipt={receipt}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("We are on it"), "{page}");
    let (status, _, page) = send(
        &f.intake,
        post_form(
            "/status/message",
            &format!("lang=en&receipt={receipt}&text=More+facts"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("More facts") && page.contains("Your addition was received"),
        "{page}"
    );
    let wrong = Receipt::generate().unwrap();
    let (status, _, page) = send(
        &f.intake,
        post_form("/status", &format!("lang=en&receipt={wrong}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No replies yet") && !page.contains("We are on it"));
}

// --- intakechan: abuse limits and proof-of-work ---

fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

#[tokio::test]
async fn the_api_asks_for_a_solved_challenge_and_takes_it_once() {
    let f = fixture(|c| c.abuse.api_pow_bits = 8).await;
    let (status, _, answer) = send(&f.intake, api(r#"{"text": "a report"}"#, "ru")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&answer)["error"]["code"], "proof_required");
    assert!(answer.contains("GET /api/v1/challenge"), "{answer}");
    assert!(answer.contains("Нужно доказательство"), "{answer}");
    let (status, _, issued) = send(
        &f.intake,
        Request::get("/api/v1/challenge")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let issued = json_of(&issued);
    assert_eq!(issued["bits"], 8);
    let proof = crate::pow::solve(issued["challenge"].as_str().unwrap()).unwrap();
    let with_proof = |proof: &str| {
        Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT_LANGUAGE, "en")
            .header(crate::limits::PROOF_HEADER, proof)
            .body(Body::from(r#"{"text": "a report"}"#))
            .unwrap()
    };
    let (status, _, answer) = send(&f.intake, with_proof(&proof)).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, _, answer) = send(&f.intake, with_proof(&proof)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&answer)["error"]["code"], "proof_spent");
    assert!(answer.contains("already used"), "{answer}");
    assert_eq!(f.intake.store.intake_pending_count().await.unwrap(), 1);
    // The form (which works without JavaScript) is not asked for one.
    let (status, _, _) = send(&f.intake, form("text=words")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_over_its_rate_hears_when_to_return_and_keeps_its_words() {
    let f = fixture(|c| {
        c.abuse.client_address =
            crate::limits::ClientAddress::Header(header::HeaderName::from_static("x-real-ip"));
        c.abuse.rate = crate::limits::RateLimit {
            per_hour: 6,
            burst: 2,
        };
    })
    .await;
    let from = |ip: &str, mut r: Request<Body>| {
        r.headers_mut().insert("x-real-ip", ip.parse().unwrap());
        r
    };
    for _ in 0..2 {
        let (status, _, answer) =
            send(&f.intake, from("192.0.2.1", api(r#"{"text": "r"}"#, "ru"))).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let response = crate::router(f.intake.clone())
        .oneshot(from("192.0.2.1", api(r#"{"text": "r"}"#, "ru")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "600");
    let (status, _, answer) =
        send(&f.intake, from("192.0.2.1", api(r#"{"text": "r"}"#, "en"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json_of(&answer)["error"]["code"], "rate_limited");
    assert!(answer.contains("again in 10 min"), "{answer}");
    let (status, ctype, page) = send(
        &f.intake,
        from(
            "192.0.2.1",
            form("text=%D0%BC%D0%BE%D0%B8+%D1%81%D0%BB%D0%BE%D0%B2%D0%B0&contact=c1&lang=ru"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(page.contains("через 10 мин"), "{page}");
    assert!(
        page.contains("мои слова") && page.contains("c1"),
        "words lost: {page}"
    );
    // Another client is untouched.
    let (status, _, _) = send(&f.intake, from("192.0.2.2", api(r#"{"text": "r"}"#, "ru"))).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(f.intake.store.intake_pending_count().await.unwrap(), 3);
}

// --- intakemerge: the guard in front of follow-ups too ---

#[tokio::test]
async fn a_limited_follow_up_goes_back_to_the_status_page_with_its_receipt() {
    let f = fixture(|c| {
        c.abuse.client_address =
            crate::limits::ClientAddress::Header(header::HeaderName::from_static("x-real-ip"));
        c.abuse.rate = crate::limits::RateLimit {
            per_hour: 1,
            burst: 1,
        };
    })
    .await;
    let from = |mut r: Request<Body>| {
        r.headers_mut()
            .insert("x-real-ip", "198.51.100.7".parse().unwrap());
        r
    };
    let (status, _, _) = send(&f.intake, from(form("text=first&region=RU-MOW&lang=en"))).await;
    assert_eq!(status, StatusCode::OK);
    // A report's guided answers ride along, so sending again loses nothing.
    let (status, _, page) = send(
        &f.intake,
        from(form("text=second&region=RU-SPE&names=Ivan+P&lang=en")),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(page.contains("action=\"/report\""), "{page}");
    assert!(
        page.contains(r#"name="region" value="RU-SPE""#)
            && page.contains(r#"name="names" value="Ivan P""#),
        "{page}"
    );
    // The report form is multipart (it takes files): its words come back too.
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nmultipart words\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"lang\"\r\n\r\nen\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.jpg\"\r\n\r\nxyz\r\n\
         --{boundary}--\r\n"
    );
    let (status, _, page) = send(
        &f.intake,
        from(
            Request::post("/report?lang=en")
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.contains("multipart words") && page.contains("attached again"),
        "{page}"
    );
    // A follow-up over the limit is offered back to /status/message, never
    // to /report (where it would become a new report).
    let receipt = Receipt::generate().unwrap().to_string();
    let (status, _, page) = send(
        &f.intake,
        from(post_form(
            "/status/message",
            &format!("lang=en&receipt={receipt}&text=more+facts"),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        page.contains("action=\"/status/message\"") && !page.contains("action=\"/report\""),
        "{page}"
    );
    assert!(
        page.contains(&receipt) && page.contains("more facts"),
        "{page}"
    );
    assert!(
        page.contains("Organisation") || page.contains("vigil intake"),
        "{page}"
    );
    // The API's follow-ups hear 429 in JSON.
    let (status, _, answer) = send(
        &f.intake,
        from(post_json(
            "/api/v1/followup/messages",
            &format!(r#"{{"receipt": "{receipt}", "text": "t", "lang": "en"}}"#),
        )),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json_of(&answer)["error"]["code"], "rate_limited");
    assert_eq!(f.intake.store.intake_pending_count().await.unwrap(), 1);
}

#[tokio::test]
async fn an_attachment_part_without_a_filename_is_refused_not_dropped() {
    let f = fixture(|_| {}).await;
    let boundary = "b0undary";
    let multipart = |attachment_head: &str| {
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"report\"\r\n\
             Content-Type: application/json\r\n\r\n{{\"text\": \"words\", \"lang\": \"en\"}}\r\n\
             --{boundary}\r\n{attachment_head}\r\n\r\n{{}}\r\n--{boundary}--\r\n"
        );
        Request::post("/api/v1/reports")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(Body::from(body))
            .unwrap()
    };
    let (status, _, body) = send(
        &f.intake,
        multipart("Content-Disposition: form-data; name=\"attachment\""),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.contains("malformed_multipart") && body.contains("filename"),
        "{body}"
    );
    let (status, _, body) = send(
        &f.intake,
        multipart("Content-Disposition: form-data; name=\"attachment\"; filename=\"a.txt\""),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
