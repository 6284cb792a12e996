//! The webhook in process (`oneshot`), with recorded updates from
//! tests/fixtures/telegram and a fake Bot API on loopback that records calls.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use vigil_core::{DeskIdentity, ReceiptKey};

use super::*;
use crate::IntakeConfig;

const SECRET: &str = "wh_0123456789abcdef0123456789abcdef";
const HEADER: &str = "st-fedcba9876543210fedcba9876543210";
const CHAT: i64 = 734_529_184;

pub(crate) fn fixture(name: &str) -> Value {
    let text = match name {
        "message_private" => include_str!("../../tests/fixtures/telegram/message_private.json"),
        "callback_query" => include_str!("../../tests/fixtures/telegram/callback_query.json"),
        "edited_message" => include_str!("../../tests/fixtures/telegram/edited_message.json"),
        "message_sticker" => include_str!("../../tests/fixtures/telegram/message_sticker.json"),
        "message_photo" => include_str!("../../tests/fixtures/telegram/message_photo.json"),
        "message_group" => include_str!("../../tests/fixtures/telegram/message_group.json"),
        _ => panic!("no fixture {name}"),
    };
    serde_json::from_str(text).unwrap()
}

fn typed(text: &str) -> Value {
    let mut u = fixture("message_private");
    u["message"]["text"] = text.into();
    u
}

fn pressed(data: &str) -> Value {
    let mut u = fixture("callback_query");
    u["callback_query"]["data"] = data.into();
    u
}

/// Whether Telegram's HTML mode would take this text: only the tags the bot
/// uses, every other `<`, `>` and `&` escaped.
pub(crate) fn telegram_html_ok(text: &str) -> bool {
    let bare = ["<b>", "</b>", "<i>", "</i>", "<code>", "</code>"]
        .iter()
        .fold(text.to_owned(), |s, tag| s.replace(tag, ""));
    !bare.contains(['<', '>'])
        && bare.match_indices('&').all(|(i, _)| {
            ["&lt;", "&gt;", "&amp;", "&quot;"]
                .iter()
                .any(|e| bare[i..].starts_with(e))
        })
}

/// A fake Bot API: records every call's method and body; fails them all
/// while `fail` is set.
struct FakeApi {
    url: String,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
    fail: Arc<AtomicBool>,
}

impl FakeApi {
    async fn start() -> FakeApi {
        let calls: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let fail = Arc::new(AtomicBool::new(false));
        let (c, f) = (calls.clone(), fail.clone());
        let app = axum::Router::new().route(
            "/{bot}/{method}",
            axum::routing::post(
                move |Path((bot, method)): Path<(String, String)>, body: Bytes| {
                    let (c, f) = (c.clone(), f.clone());
                    async move {
                        assert_eq!(bot, "bot123456:TEST-token");
                        let body: Value = serde_json::from_slice(&body).unwrap();
                        if let Some(text) = body["text"].as_str() {
                            // Telegram answers 400 to HTML it cannot parse.
                            if !telegram_html_ok(text) {
                                c.lock().unwrap().push(("BAD HTML".into(), body));
                                return StatusCode::BAD_REQUEST;
                            }
                        }
                        c.lock().unwrap().push((method, body));
                        if f.load(Ordering::Relaxed) {
                            StatusCode::BAD_GATEWAY
                        } else {
                            StatusCode::OK
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeApi { url, calls, fail }
    }

    /// The texts of the messages sent since the last look.
    fn take_texts(&self) -> Vec<String> {
        let mut calls = self.calls.lock().unwrap();
        assert!(
            calls.iter().all(|(m, _)| m != "BAD HTML"),
            "Telegram would refuse: {calls:?}"
        );
        calls
            .drain(..)
            .filter(|(m, _)| m == "sendMessage")
            .map(|(_, b)| b["text"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn settings(api: &str) -> TelegramSettings {
    TelegramSettings {
        bot_token: Zeroizing::new("123456:TEST-token".into()),
        webhook_secret: Zeroizing::new(SECRET.into()),
        secret_token: Zeroizing::new(HEADER.into()),
        api_base: api.into(),
        conversation_minutes: 30,
        max_conversations: 100,
    }
}

struct Fixture {
    intake: Arc<Intake>,
    api: FakeApi,
    _desk: DeskIdentity,
    _dir: tempfile::TempDir,
}

async fn start(adjust: impl FnOnce(&mut TelegramSettings)) -> Fixture {
    start_with(adjust, |_| {}).await
}

async fn start_with(
    adjust: impl FnOnce(&mut TelegramSettings),
    intake: impl FnOnce(&mut IntakeConfig),
) -> Fixture {
    let api = FakeApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open_intake(&vigil_store::sqlite_url(&dir.path().join("intake.db")))
        .await
        .unwrap();
    let desk = DeskIdentity::generate();
    let mut config = IntakeConfig::new(
        desk.recipients(),
        ReceiptKey::generate().unwrap(),
        vigil_core::token::hash("desk token"),
    );
    let mut s = settings(&api.url);
    adjust(&mut s);
    config.telegram = Some(TelegramConfig::new(s).unwrap());
    intake(&mut config);
    Fixture {
        intake: Intake::new(config, store),
        api,
        _desk: desk,
        _dir: dir,
    }
}

async fn post(
    intake: &Arc<Intake>,
    path: &str,
    header: Option<&str>,
    update: &Value,
) -> (StatusCode, String) {
    let mut request = Request::post(path).header("content-type", "application/json");
    if let Some(h) = header {
        request = request.header(SECRET_HEADER, h);
    }
    let response = crate::router(intake.clone())
        .oneshot(request.body(Body::from(update.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn deliver(f: &Fixture, update: &Value) {
    let (status, _) = post(
        &f.intake,
        &format!("/telegram/{SECRET}"),
        Some(HEADER),
        update,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

fn bot(f: &Fixture) -> &Bot {
    f.intake.telegram.as_ref().unwrap()
}

#[tokio::test]
async fn a_wrong_secret_or_header_is_an_unknown_address_and_starts_nothing() {
    let f = start(|_| {}).await;
    let update = typed("/start");
    let (status, unknown) = post(&f.intake, "/no/such/page", Some(HEADER), &update).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let wrong_path = format!("/telegram/{}x", &SECRET[..SECRET.len() - 1]);
    let right_path = format!("/telegram/{SECRET}");
    for (path, header) in [
        (wrong_path.as_str(), Some(HEADER)),
        (right_path.as_str(), None),
        (right_path.as_str(), Some("st-wrong")),
        (right_path.as_str(), Some(SECRET)),
        ("/telegram/", Some(HEADER)),
    ] {
        let (status, body) = post(&f.intake, path, header, &update).await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::NOT_FOUND, unknown.as_str()),
            "{path} {header:?}"
        );
    }
    // Another method with both secrets is also just an unknown address.
    let response = crate::router(f.intake.clone())
        .oneshot(
            Request::get(&right_path)
                .header(SECRET_HEADER, HEADER)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(bot(&f).held(), 0);
    assert!(f.api.calls.lock().unwrap().is_empty());
    // The right pair is taken.
    deliver(&f, &update).await;
    assert_eq!(bot(&f).held(), 1);
}

#[tokio::test]
async fn an_intake_without_the_bot_answers_404() {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open_intake(&vigil_store::sqlite_url(&dir.path().join("i.db")))
        .await
        .unwrap();
    let desk = DeskIdentity::generate();
    let config = IntakeConfig::new(
        desk.recipients(),
        ReceiptKey::generate().unwrap(),
        vigil_core::token::hash("t"),
    );
    let intake = Intake::new(config, store);
    let (status, _) = post(
        &intake,
        &format!("/telegram/{SECRET}"),
        Some(HEADER),
        &typed("/start"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_expired_conversation_starts_over() {
    let f = start(|s| s.conversation_minutes = 5).await;
    let b = bot(&f);
    let t0 = Instant::now();
    let update: Update = serde_json::from_value(typed("/start")).unwrap();
    b.handle(&f.intake, update, t0).await;
    let update: Update = serde_json::from_value(pressed("h:fined")).unwrap();
    b.handle(&f.intake, update, t0 + Duration::from_secs(60))
        .await;
    let key = b.chat_key(CHAT);
    assert_eq!(b.lock().get(&key).unwrap().step, conversation::Step::Whom);
    f.api.take_texts();
    // Five minutes after the last answer it is gone, wiped by the sweep.
    b.sweep(t0 + Duration::from_secs(6 * 60 + 1));
    assert_eq!(b.held(), 0);
    // A button of the old conversation is told it ended.
    let update: Update = serde_json::from_value(pressed("w:myself")).unwrap();
    b.handle(&f.intake, update, t0 + Duration::from_secs(7 * 60))
        .await;
    assert!(f.api.take_texts()[0].contains("разговор уже закончен"));
    // Writing starts a new one from the first question.
    let update: Update = serde_json::from_value(typed("Иван Петров")).unwrap();
    b.handle(&f.intake, update, t0 + Duration::from_secs(8 * 60))
        .await;
    let texts = f.api.take_texts();
    assert!(texts[0].starts_with("Начинаем новый разговор"), "{texts:?}");
    assert_eq!(texts[1], "Что случилось?");
    let c = b.lock();
    let c = c.get(&key).unwrap();
    assert_eq!(
        (c.step, c.details.happened, c.details.names.as_deref()),
        (conversation::Step::Happened, None, None)
    );
}

#[tokio::test]
async fn conversations_are_capped_and_keyed_by_a_hash() {
    let f = start(|s| s.max_conversations = 1).await;
    deliver(&f, &typed("/start")).await;
    let mut other = typed("/start");
    other["message"]["chat"]["id"] = 99_000_001.into();
    deliver(&f, &other).await;
    let texts = f.api.take_texts();
    assert!(
        texts
            .last()
            .unwrap()
            .contains("слишком много незаконченных"),
        "{texts:?}"
    );
    assert_eq!(bot(&f).held(), 1);
    let keys: Vec<ChatKey> = bot(&f).lock().keys().copied().collect();
    assert_eq!(keys, vec![bot(&f).chat_key(CHAT)]);
    assert_ne!(keys[0][..8], CHAT.to_le_bytes());
}

#[tokio::test]
async fn groups_stickers_photos_and_edits_get_a_polite_answer_and_no_state() {
    let f = start(|_| {}).await;
    deliver(&f, &fixture("message_group")).await;
    let texts = f.api.take_texts();
    assert_eq!(texts.len(), 1);
    assert!(texts[0].contains("только в личной переписке") && texts[0].contains("private chat"));
    assert_eq!(bot(&f).held(), 0);
    let to: i64 = f.api.calls.lock().unwrap().len() as i64;
    assert_eq!(to, 0);
    deliver(&f, &fixture("message_sticker")).await;
    deliver(&f, &fixture("message_photo")).await;
    deliver(&f, &fixture("edited_message")).await;
    let texts = f.api.take_texts();
    assert!(texts[0].contains("только текст") && texts[1].contains("только текст"));
    assert!(texts[2].contains("Исправленные сообщения"));
    assert_eq!(bot(&f).held(), 0, "none of them starts a conversation");
    // Inside a conversation, a sticker asks the question again.
    deliver(&f, &typed("/start")).await;
    f.api.take_texts();
    deliver(&f, &fixture("message_sticker")).await;
    assert_eq!(f.api.take_texts()[1], "Что случилось?");
}

/// Answers the whole way with the least: skip everything, write the account.
async fn shortest_report(f: &Fixture) {
    deliver(f, &typed("/start")).await;
    for step in [
        "happened", "whom", "names", "when", "region", "city", "place", "station", "contact",
        "consent",
    ] {
        deliver(f, &pressed(&format!("skip:{step}"))).await;
    }
    deliver(f, &typed("Задержали на пикете у метро")).await;
    deliver(f, &pressed("send")).await;
}

#[tokio::test]
async fn a_failing_bot_api_loses_no_report() {
    let f = start(|_| {}).await;
    f.api.fail.store(true, Ordering::Relaxed);
    shortest_report(&f).await;
    let texts = f.api.take_texts();
    assert!(
        texts.last().unwrap().contains("<code>"),
        "the receipt was attempted"
    );
    // Sealed and stored although no reply got through.
    let pulled = f.intake.store.intake_pending(10).await.unwrap();
    assert_eq!(pulled.len(), 1);
    assert_eq!(bot(&f).held(), 0);
    assert!(bot(&f).failed_calls.load(Ordering::Relaxed) >= 13);
}

#[tokio::test]
async fn a_report_is_sealed_with_the_telegram_channel_and_no_chat_id() {
    let f = start(|_| {}).await;
    shortest_report(&f).await;
    let texts = f.api.take_texts();
    let receipt = texts.last().unwrap();
    assert!(
        receipt.starts_with("<b>Сообщение получено</b>"),
        "{receipt}"
    );
    let code = receipt
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap();
    let parsed: vigil_core::Receipt = code.parse().unwrap();
    assert_eq!(parsed.to_string(), code);
    let pulled = f.intake.store.intake_pending(10).await.unwrap();
    let env = f._desk.open_envelope(&pulled[0].sealed).unwrap();
    assert_eq!(env.channel, vigil_core::Channel::Telegram);
    assert_eq!(env.text, "Задержали на пикете у метро");
    let json = String::from_utf8(env.to_json().unwrap().to_vec()).unwrap();
    assert!(
        !json.contains(&CHAT.to_string()) && !json.contains("anna_sokolova"),
        "{json}"
    );
}

#[test]
fn half_or_unsafe_settings_are_refused_by_name() {
    let refused = |adjust: fn(&mut TelegramSettings)| {
        let mut s = settings("https://api.telegram.org");
        adjust(&mut s);
        TelegramConfig::new(s).err().unwrap()
    };
    assert!(refused(|s| s.bot_token = Zeroizing::new(String::new())).contains("bot token"));
    assert!(
        refused(|s| s.webhook_secret = Zeroizing::new("short".into())).contains("webhook_secret")
    );
    assert!(
        refused(|s| s.webhook_secret = Zeroizing::new(format!("{SECRET}/..")))
            .contains("webhook_secret")
    );
    assert!(refused(|s| s.secret_token = Zeroizing::new(String::new())).contains("secret_token"));
    assert!(refused(|s| s.api_base = "http://api.telegram.org".into()).contains("api_base"));
    assert!(refused(|s| s.api_base = "http://127.0.0.1.evil.example".into()).contains("api_base"));
    assert!(refused(|s| s.conversation_minutes = 0).contains("conversation_minutes"));
    assert!(TelegramConfig::new(settings("http://127.0.0.1:8081")).is_ok());
    assert!(TelegramConfig::new(settings("https://api.telegram.org")).is_ok());
}

#[test]
fn the_html_check_of_the_fake_catches_what_telegram_refuses() {
    assert!(telegram_html_ok(
        "<b>a</b> &lt;x&gt; &amp; <code>K-1</code>"
    ));
    assert!(!telegram_html_ok("a < b"));
    assert!(!telegram_html_ok("a & b"));
    assert!(!telegram_html_ok("<a href=\"x\">x</a>"));
}

#[test]
fn commands_are_read_with_the_bot_name_or_a_payload_and_answers_stay_answers() {
    assert_eq!(command_of("/start"), Some("/start"));
    assert_eq!(command_of(" /start@vigil_intake_bot "), Some("/start"));
    assert_eq!(command_of("/start from-site"), Some("/start"));
    assert_eq!(command_of("/cancel@vigil_intake_bot"), Some("/cancel"));
    assert_eq!(command_of("/lang"), Some("/lang"));
    assert_eq!(command_of("/cancel the hearing was moved"), None);
    assert_eq!(command_of("/ОВД Тверской"), None);
    assert_eq!(command_of("Иван @ivan"), None);
}

#[tokio::test]
async fn a_message_longer_than_telegram_allows_is_refused_and_not_kept() {
    let f = start(|_| {}).await;
    deliver(&f, &typed("/start")).await;
    f.api.take_texts();
    deliver(&f, &typed(&"я".repeat(MAX_MESSAGE_CHARS + 1))).await;
    let texts = f.api.take_texts();
    assert_eq!(texts.len(), 1);
    assert!(texts[0].contains("4096"), "{texts:?}");
    let key = bot(&f).chat_key(CHAT);
    assert_eq!(bot(&f).lock().get(&key).unwrap().held_bytes(), 0);
}

#[tokio::test]
async fn reports_per_chat_are_rate_limited_and_the_answers_wait() {
    let f = start_with(
        |_| {},
        |c| {
            c.abuse.rate = crate::limits::RateLimit {
                per_hour: 1,
                burst: 1,
            }
        },
    )
    .await;
    shortest_report(&f).await;
    assert!(f.api.take_texts().last().unwrap().contains("<code>"));
    shortest_report(&f).await;
    let texts = f.api.take_texts();
    let n = texts.len();
    assert!(
        texts[n - 2].contains("слишком много сообщений подряд"),
        "{texts:?}"
    );
    assert!(texts[n - 2].contains("60 мин"), "{texts:?}");
    assert!(texts[n - 1].starts_with("<b>Проверьте сообщение:</b>"));
    assert_eq!(f.intake.store.intake_pending(10).await.unwrap().len(), 1);
    // The answers wait for "Send"; another chat is not held back.
    assert_eq!(bot(&f).held(), 1);
    let mut other = typed("/start");
    other["message"]["chat"]["id"] = 99_000_002.into();
    deliver(&f, &other).await;
    let mut other = pressed("skip:happened");
    other["callback_query"]["message"]["chat"]["id"] = 99_000_002.into();
    deliver(&f, &other).await;
    assert_eq!(bot(&f).held(), 2);
    assert!(bot(&f).limited(99_000_002, Instant::now()).is_none());
    assert!(bot(&f).limited(CHAT, Instant::now()).is_some());
}
