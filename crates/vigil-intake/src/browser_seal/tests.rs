//! The server's side of sealing in the browser, in process on a real SQLite
//! store with real age files (sealed here with the `age` crate, as the page's
//! script seals them with the `age-encryption` package).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use sha2::{Digest, Sha256};
use tower::ServiceExt;
use vigil_core::followup::ReplyKey;
use vigil_core::{DeskIdentity, Receipt, ReceiptKey, Recipients, ReportEnvelope};

use super::*;
use crate::{Intake, IntakeConfig};

struct Fixture {
    intake: Arc<Intake>,
    desk: DeskIdentity,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

async fn fixture_with(adjust: impl FnOnce(&mut IntakeConfig)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open_intake(&vigil_store::sqlite_url(&dir.path().join("intake.db")))
        .await
        .unwrap();
    let desk = DeskIdentity::generate();
    let mut config = IntakeConfig::new(
        desk.recipients(),
        ReceiptKey::generate().unwrap(),
        vigil_core::token::hash("desk token for tests"),
    );
    adjust(&mut config);
    Fixture {
        intake: Intake::new(config, store),
        desk,
        _dir: dir,
    }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn json(&self) -> serde_json::Value {
        assert!(
            self.headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        serde_json::from_slice(&self.body).unwrap()
    }
}

async fn send(f: &Fixture, request: Request<Body>) -> Answer {
    let response = crate::router(f.intake.clone())
        .oneshot(request)
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.to_vec(),
    }
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn sealed_post(lang: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(format!("/report/sealed?lang={lang}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(body))
        .unwrap()
}

/// The receipt on a receipt page.
fn receipt_of(page: &str) -> Receipt {
    let start = page.find("<span id=\"receipt\">").unwrap() + "<span id=\"receipt\">".len();
    let end = start + page[start..].find('<').unwrap();
    page[start..end].parse().unwrap()
}

async fn pending(f: &Fixture) -> Vec<vigil_core::SealedReport> {
    f.intake.store.intake_pending(100).await.unwrap()
}

#[tokio::test]
async fn the_served_bundle_is_the_pinned_one() {
    let f = fixture().await;
    let answer = send(&f, get(AGE_JS_PATH)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    // The pin is what scripts/vendor-age-js wrote beside the bundle; the
    // served bytes must hash to it (a changed bundle fails here).
    assert_eq!(
        hex::encode(Sha256::digest(&answer.body)),
        pinned_age_js_sha256()
    );
    assert_eq!(pinned_age_js_sha256().len(), 64);
    assert!(AGE_JS_PIN.contains("age-encryption-0.3.1.js"));
    assert!(answer.body.len() < 1024 * 1024);
}

#[tokio::test]
async fn the_form_page_allows_exactly_its_two_scripts_and_no_other_page_any() {
    let f = fixture().await;
    let page = send(&f, get("/?lang=en")).await;
    let csp = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text();
    let mut hashes = Vec::new();
    for path in [AGE_JS_PATH, SEAL_JS_PATH] {
        let script = send(&f, get(path)).await;
        let hash = format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&script.body))
        );
        assert!(csp.contains(&format!("'{hash}'")), "{csp}");
        assert!(
            html.contains(&format!("src=\"{path}\" integrity=\"{hash}\"")),
            "{path}"
        );
        hashes.push(hash);
    }
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert_eq!(
        script_src,
        format!("script-src '{}' '{}'", hashes[0], hashes[1])
    );
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"));
    assert!(html.contains(&format!("data-recipients=\"{}\"", f.desk.recipient())));
    assert!(html.contains("data-msg-text-empty=\"The report text is empty."));
    // The page without JavaScript is the same form, posting to /report (in
    // the page's language: ?lang=en on the English page).
    assert!(html.contains("action=\"/report?lang=en\""));
    // Every other page keeps the policy without scripts.
    for path in ["/status", "/nowhere"] {
        let other = send(&f, get(path)).await;
        let csp = other.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(!csp.contains("script-src"), "{path}: {csp}");
        assert!(csp.starts_with("default-src 'none'"), "{path}: {csp}");
    }
}

const ANSWERS: [(&str, &str); 9] = [
    ("text", "  Задержан у метро Пушкинская, везут в ОВД  "),
    ("contact", " @signal_user "),
    ("happened", "detained_now"),
    ("whom", "someone_else"),
    ("names", "Иван Петров"),
    ("when", "2026-12-07"),
    ("region", "RU-MOW"),
    ("place", "  "),
    ("consent", "counts"),
];

#[tokio::test]
async fn a_report_sealed_in_the_browser_lands_like_one_the_server_sealed() {
    let f = fixture().await;
    // As the page's script seals it: the form's names, padded with spaces.
    let mut report = serde_json::json!({ "v": 1, "urgent": false, "lang": "en" });
    for (k, v) in ANSWERS {
        report[k] = v.into();
    }
    let mut json = serde_json::to_vec(&report).unwrap();
    json.resize(1024, b' ');
    let sealed = f.desk.recipients().seal(&json).unwrap();
    let answer = send(&f, sealed_post("en", sealed)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    let page = answer.text();
    assert!(page.contains("Report received"), "{page}");
    // The server does not know it is urgent: the note is there, hidden, for the script.
    assert!(page.contains("id=\"urgent-note\" hidden"));
    let receipt = receipt_of(&page);

    // The same answers through the form without JavaScript.
    let mut body = String::from("lang=en");
    for (k, v) in ANSWERS {
        body.push_str(&format!("&{k}={}", urlencode(v)));
    }
    let plain = Request::post("/report")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let answer = send(&f, plain).await;
    assert_eq!(answer.status, StatusCode::OK);

    let stored = pending(&f).await;
    assert_eq!(stored.len(), 2);
    let mut opened: Vec<ReportEnvelope> = stored
        .iter()
        .map(|r| f.desk.open_envelope(&r.sealed).unwrap())
        .collect();
    let mut in_browser = opened.remove(0);
    let mut by_server = opened.remove(0);
    // The reply key is the receipt's, so replies by receipt work.
    assert_eq!(
        in_browser.reply_recipient().as_deref(),
        Some(ReplyKey::derive(&receipt).unwrap().recipient().as_str())
    );
    assert_eq!(
        stored[0].receipt_hash,
        f.intake.config.receipt_key.hash(&receipt)
    );
    assert!(
        f.intake
            .store
            .intake_receipt_known(&stored[0].receipt_hash)
            .await
            .unwrap()
    );
    let at = vigil_core::day::parse_timestamp(in_browser.received_at.as_deref().unwrap()).unwrap();
    assert!((time::OffsetDateTime::now_utc() - at).whole_seconds().abs() < 120);
    // Equal in every field but those two, which differ between any two reports.
    for e in [&mut in_browser, &mut by_server] {
        e.reply_seed = None;
        e.received_at = None;
    }
    assert_eq!(in_browser, by_server);
    assert!(in_browser.urgent);
    assert_eq!(in_browser.text, "Задержан у метро Пушкинская, везут в ОВД");
    assert_eq!(in_browser.details.place, None);
    // What the intake stored holds no word of the report.
    for r in &stored {
        assert!(
            !r.sealed
                .windows(8)
                .any(|w| w == &"Задержан".as_bytes()[..8])
        );
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn what_is_not_a_well_formed_age_file_to_the_desk_is_refused_clearly() {
    let f = fixture().await;
    let other = DeskIdentity::generate();
    let two = Recipients::parse(&format!("{}\n{}", f.desk.recipient(), other.recipient())).unwrap();
    let good = f
        .desk
        .recipients()
        .seal(b"{\"v\":1,\"text\":\"t\"}")
        .unwrap();
    let mac_end = good.windows(4).position(|w| w == b"--- ").unwrap() + 48;
    let scrypt = b"age-encryption.org/v1\n-> scrypt c2FsdHNhbHRzYWx0c2FsdA 18\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".to_vec();
    let cases: [(Vec<u8>, &str); 5] = [
        ("Задержан у метро".as_bytes().to_vec(), "not_age"),
        (b"text=%D0%97&lang=ru".to_vec(), "not_age"),
        (scrypt, "not_x25519"),
        (two.seal(b"{\"v\":1}").unwrap(), "wrong_recipients"),
        // Cut short in the payload: the nonce and a few bytes of a chunk.
        (good[..mac_end + 20].to_vec(), "damaged"),
    ];
    for (body, code) in cases {
        let answer = send(&f, sealed_post("ru", body.clone())).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{code}");
        let j = answer.json();
        assert_eq!(j["error"]["code"], code);
        let message = j["error"]["message"].as_str().unwrap();
        assert!(message.contains("Ничего не сохранено"), "{message}");
        assert!(!message.contains("Задержан"), "{message}");
        let en = send(&f, sealed_post("en", body)).await.json();
        assert!(
            en["error"]["message"]
                .as_str()
                .unwrap()
                .contains("turn JavaScript off"),
            "{en}"
        );
    }
    // Over the body limit: 413, said in the page's language.
    let big = f
        .desk
        .recipients()
        .seal(&vec![b' '; crate::DEFAULT_MAX_BODY_BYTES + 1])
        .unwrap();
    let answer = send(&f, sealed_post("en", big)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.json()["error"]["code"], "body_too_large");
    assert!(
        answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too large")
    );
    assert!(pending(&f).await.is_empty(), "a refused report was stored");
    // The good one still goes through afterwards: the process kept serving.
    assert_eq!(
        send(&f, sealed_post("ru", good)).await.status,
        StatusCode::OK
    );
    assert_eq!(pending(&f).await.len(), 1);
}

fn with_proof(request: Request<Body>, proof: &str) -> Request<Body> {
    let (mut parts, body) = request.into_parts();
    parts
        .headers
        .insert(crate::limits::PROOF_HEADER, proof.parse().unwrap());
    Request::from_parts(parts, body)
}

#[tokio::test]
async fn the_sealed_form_solves_the_same_proof_of_work_and_the_plain_form_is_asked_none() {
    let f = fixture_with(|c| c.abuse.api_pow_bits = 8).await;
    let page = send(&f, get("/")).await.text();
    assert!(page.contains("data-challenge-url=\"/api/v1/challenge\""));
    let sealed = || {
        f.desk
            .recipients()
            .seal(b"{\"v\":1,\"text\":\"t\"}")
            .unwrap()
    };

    // No proof: refused in the reporter's words, nothing stored.
    let answer = send(&f, sealed_post("ru", sealed())).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let j = answer.json();
    assert_eq!(j["error"]["code"], "proof_required");
    let message = j["error"]["message"].as_str().unwrap();
    assert!(message.contains("Нажмите «Отправить» ещё раз"), "{message}");
    assert!(!message.contains("GET /api"), "{message}");

    // A challenge from the API, solved, buys one report.
    let challenge = send(&f, get("/api/v1/challenge")).await.json();
    let proof = crate::pow::solve(challenge["challenge"].as_str().unwrap()).unwrap();
    let answer = send(&f, with_proof(sealed_post("en", sealed()), &proof)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let again = send(&f, with_proof(sealed_post("en", sealed()), &proof)).await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    assert_eq!(again.json()["error"]["code"], "proof_spent");
    assert!(
        again.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Press Send again")
    );

    // The form without JavaScript is asked for none.
    let plain = Request::post("/report")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("text=%D0%B7&lang=en"))
        .unwrap();
    assert_eq!(send(&f, plain).await.status, StatusCode::OK);
    assert_eq!(pending(&f).await.len(), 2);

    // Off (the default), the page asks for no challenge.
    let off = fixture().await;
    assert!(
        !send(&off, get("/"))
            .await
            .text()
            .contains("data-challenge-url")
    );
}

#[tokio::test]
async fn a_rate_limited_sealed_form_hears_json_in_its_language() {
    let f = fixture_with(|c| {
        c.abuse.client_address = crate::limits::ClientAddress::Header(
            crate::limits::HeaderName::from_static("x-real-ip"),
        );
        c.abuse.rate = crate::limits::RateLimit {
            per_hour: 1,
            burst: 1,
        };
    })
    .await;
    let post = || {
        let (mut parts, body) =
            sealed_post("en", f.desk.recipients().seal(b"{\"v\":1}").unwrap()).into_parts();
        parts
            .headers
            .insert("x-real-ip", "203.0.113.9".parse().unwrap());
        Request::from_parts(parts, body)
    };
    assert_eq!(send(&f, post()).await.status, StatusCode::OK);
    let limited = send(&f, post()).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key(header::RETRY_AFTER));
    let j = limited.json();
    assert_eq!(j["error"]["code"], "rate_limited");
    assert!(
        j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Too many reports")
    );
}
