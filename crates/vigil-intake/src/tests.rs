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
    _dir: tempfile::TempDir,
}

async fn fixture(adjust: impl FnOnce(&mut IntakeConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open_intake(&vigil_store::sqlite_url(&dir.path().join("intake.db")))
        .await
        .unwrap();
    let mut config = IntakeConfig::new(
        DeskIdentity::generate().recipients(),
        ReceiptKey::generate().unwrap(),
        vigil_core::token::hash(TOKEN),
    );
    adjust(&mut config);
    Fixture {
        intake: Intake::new(config, store),
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
        answer.contains("only text, urgent, contact and lang"),
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
        let (status, _, _) =
            send(&f.intake, from("192.0.2.1", api(r#"{"text": "r"}"#, "ru"))).await;
        assert_eq!(status, StatusCode::CREATED);
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
