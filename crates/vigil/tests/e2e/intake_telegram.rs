//! telegram (issue 13): the Telegram bot end to end. Recorded updates
//! (crates/vigil-intake/tests/fixtures/telegram) are posted to a real `vigil
//! intake` on loopback; its Bot API is a fake on loopback in this process that
//! records sendMessage and answerCallbackQuery. The desk pulls and decrypts.

use std::fs;
use std::io::Write;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{World, client};

const SECRET: &str = "wh-5f0c1e7a9b2d4e6f8a0c1e3b5d7f9a1c";
const HEADER: &str = "st-0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a";
const TOKEN: &str = "7012345678:AAE-test-token-not-real";
/// The reporter's chat id in the fixtures: it must end up nowhere.
const CHAT: i64 = 734_529_184;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../vigil-intake/tests/fixtures/telegram/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
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
fn telegram_html_ok(text: &str) -> bool {
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

/// A fake Bot API on loopback that records every call.
struct FakeBotApi {
    url: String,
    calls: Arc<Mutex<Vec<(String, Value)>>>,
}

impl FakeBotApi {
    async fn start() -> FakeBotApi {
        use axum::extract::Path;
        let calls: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let seen = calls.clone();
        let app = axum::Router::new().route(
            "/{bot}/{method}",
            axum::routing::post(
                move |Path((bot, method)): Path<(String, String)>, body: axum::body::Bytes| {
                    let seen = seen.clone();
                    async move {
                        assert_eq!(bot, format!("bot{TOKEN}"));
                        let body: Value = serde_json::from_slice(&body).unwrap();
                        // Telegram answers 400 to HTML it cannot parse.
                        let bad = body["text"].as_str().is_some_and(|t| !telegram_html_ok(t));
                        let method = if bad { "BAD HTML".to_owned() } else { method };
                        seen.lock().unwrap().push((method, body));
                        let status = if bad {
                            axum::http::StatusCode::BAD_REQUEST
                        } else {
                            axum::http::StatusCode::OK
                        };
                        (status, axum::Json(json!({ "ok": !bad, "result": true })))
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeBotApi { url, calls }
    }

    /// The messages sent since the last look.
    fn take(&self) -> Vec<Value> {
        let mut calls = self.calls.lock().unwrap();
        assert!(
            calls.iter().all(|(m, _)| m != "BAD HTML"),
            "Telegram would refuse: {calls:?}"
        );
        let out = calls
            .iter()
            .filter(|(m, _)| m == "sendMessage")
            .map(|(_, b)| b.clone())
            .collect();
        calls.clear();
        out
    }
}

/// A world whose intake runs the bot against `api`.
fn telegram_world(api: &str) -> World {
    let w = World::new();
    let token_file = w.dir.path().join("telegram.token");
    fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    fs::set_permissions(
        &token_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let config = w.data().join("intake/intake.toml");
    let mut f = fs::OpenOptions::new().append(true).open(config).unwrap();
    write!(
        f,
        "\n[telegram]\nbot_token_file = \"{}\"\nwebhook_secret = \"{SECRET}\"\nsecret_token = \"{HEADER}\"\napi_base = \"{api}\"\n",
        token_file.display()
    )
    .unwrap();
    w
}

async fn deliver_to(
    intake: &str,
    path: &str,
    header: Option<&str>,
    update: &Value,
) -> (u16, String) {
    let mut request = client().post(format!("{intake}{path}")).json(update);
    if let Some(h) = header {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", h);
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn deliver(intake: &str, update: &Value) {
    let (status, _) =
        deliver_to(intake, &format!("/telegram/{SECRET}"), Some(HEADER), update).await;
    assert_eq!(status, 200);
}

/// The receipt in the bot's last message, checked for its form.
fn receipt_of(messages: &[Value]) -> String {
    let last = messages.last().unwrap();
    assert_eq!(last["chat_id"], CHAT);
    assert_eq!(last["parse_mode"], "HTML");
    let text = last["text"].as_str().unwrap();
    let code = text
        .split("<code>")
        .nth(1)
        .and_then(|r| r.split("</code>").next())
        .unwrap_or_else(|| panic!("no receipt in {text}"));
    // Formatted exactly as the form shows it.
    let parsed: vigil_core::Receipt = code.parse().unwrap();
    assert_eq!(parsed.to_string(), code);
    code.to_owned()
}

/// The chat id and the sender's names in every form they could take.
fn assert_no_chat_id(w: &World) {
    for marker in ["734529184", "anna_sokolova_spb", "Соколова"] {
        super::assert_nowhere(w, marker);
    }
    for f in super::files_under(&w.data().join("intake")) {
        let bytes = fs::read(&f).unwrap();
        for binary in [CHAT.to_le_bytes(), CHAT.to_be_bytes()] {
            assert!(
                !bytes.windows(8).any(|win| win == binary),
                "the chat id in binary in {}",
                f.display()
            );
        }
    }
}

fn desk_reply(w: &World, id: &str, text: &str) {
    let mut child = w
        .command(&["desk", "reply", id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    w.record(&out);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_in_russian_is_sealed_for_the_desk_and_its_receipt_works() {
    let api = FakeBotApi::start().await;
    let mut w = telegram_world(&api.url);
    let intake = w.start_intake();

    deliver(&intake, &typed("/start")).await;
    let first = api.take();
    assert!(
        first[0]["text"]
            .as_str()
            .unwrap()
            .contains("Telegram видит")
    );
    assert_eq!(first[1]["text"], "Что случилось?");
    assert_eq!(
        first[1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        "h:detained_now"
    );
    deliver(&intake, &pressed("h:detained_now")).await;
    let answered = api.calls.lock().unwrap()[0].clone();
    assert_eq!(answered.0, "answerCallbackQuery");
    assert_eq!(answered.1["callback_query_id"], "3154862217785034521");
    deliver(&intake, &pressed("w:someone_else")).await;
    deliver(&intake, &typed("Иван МАРКЕР-tg-name Петров")).await;
    deliver(&intake, &typed("сегодня около 14:00")).await;
    // Typed, matched against the regions vocabulary's spellings.
    deliver(&intake, &typed("СПб")).await;
    deliver(&intake, &typed("Санкт-Петербург")).await;
    deliver(&intake, &typed("Невский проспект, 30")).await;
    deliver(&intake, &typed("ОП № 78")).await;
    deliver(&intake, &typed("signal МАРКЕР-tg-contact")).await;
    deliver(&intake, &pressed("c:counts")).await;
    deliver(
        &intake,
        &typed("МАРКЕР-tg-text задержан на пикете <b>у Казанского</b>"),
    )
    .await;
    let summary = api.take();
    let summary = summary.last().unwrap()["text"].as_str().unwrap();
    assert!(summary.contains("Регион: Санкт-Петербург"), "{summary}");
    assert!(
        summary.contains("&lt;b&gt;у Казанского&lt;/b&gt;"),
        "{summary}"
    );
    deliver(&intake, &pressed("send")).await;
    let sent = api.take();
    let receipt = receipt_of(&sent);
    let text = sent.last().unwrap()["text"].as_str().unwrap();
    assert!(text.contains("Что будет дальше") && text.contains("дежурный юрист"));

    // The intake holds only ciphertext and no chat id.
    assert_no_chat_id(&w);
    for marker in ["МАРКЕР-tg-name", "МАРКЕР-tg-contact", "МАРКЕР-tg-text"] {
        super::assert_nowhere(&w, marker);
    }

    w.run_ok(&["desk", "pull"]);
    let queue = w.desk_list();
    assert_eq!(queue.len(), 1);
    let item = &queue[0];
    assert_eq!(item["channel"], "telegram");
    assert_eq!(item["lang"], "ru");
    assert_eq!(item["urgent"], true);
    assert_eq!(
        item["text"],
        "МАРКЕР-tg-text задержан на пикете <b>у Казанского</b>"
    );
    assert_eq!(item["contact"], "signal МАРКЕР-tg-contact");
    let d = &item["details"];
    assert_eq!(d["happened"], "detained_now");
    assert_eq!(d["whom"], "someone_else");
    assert_eq!(d["names"], "Иван МАРКЕР-tg-name Петров");
    assert_eq!(d["when"], "сегодня около 14:00");
    assert_eq!(d["region"], "RU-SPE");
    assert_eq!(d["city"], "Санкт-Петербург");
    assert_eq!(d["place"], "Невский проспект, 30");
    assert_eq!(d["station"], "ОП № 78");
    assert_eq!(d["consent"], "counts");
    // Nothing of the Telegram account travelled inside the sealed report.
    let opened = item.to_string();
    assert!(
        !opened.contains("734529184") && !opened.contains("anna_sokolova"),
        "{opened}"
    );

    // The receipt works on /api/v1/followup.
    let id = item["id"].as_str().unwrap().to_owned();
    desk_reply(&w, &id, "Ответ-tg: адвокат едет");
    w.run_ok(&["desk", "pull"]);
    let r = client()
        .post(format!("{intake}/api/v1/followup"))
        .json(&json!({ "receipt": receipt }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["messages"][0]["from"], "team");
    assert_eq!(answer["messages"][0]["text"], "Ответ-tg: адвокат едет");
    assert_no_chat_id(&w);
    // The intake says the bot is on, and prints none of its secrets.
    let logs = w.logs.lock().unwrap();
    assert!(super::contains(
        &logs,
        "telegram bot: webhook at POST /telegram/"
    ));
    for secret in [SECRET, HEADER, TOKEN, "AAE-test-token"] {
        assert!(!super::contains(&logs, secret), "{secret} in a log line");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_in_english_with_skips_and_back() {
    let api = FakeBotApi::start().await;
    let mut w = telegram_world(&api.url);
    let intake = w.start_intake();

    deliver(&intake, &typed("Hello")).await;
    deliver(&intake, &pressed("lang")).await;
    let sent = api.take();
    assert!(sent[2]["text"].as_str().unwrap().contains("Telegram sees"));
    assert_eq!(sent[3]["text"], "What happened?");
    deliver(&intake, &pressed("h:searched")).await;
    deliver(&intake, &pressed("w:myself")).await;
    // Back to "to whom", and the answer changed.
    deliver(&intake, &pressed("back:names")).await;
    deliver(&intake, &pressed("w:someone_else")).await;
    for step in ["names", "when"] {
        deliver(&intake, &pressed(&format!("skip:{step}"))).await;
    }
    deliver(&intake, &pressed("r:RU-MOW")).await;
    for step in ["city", "place", "station", "contact"] {
        deliver(&intake, &pressed(&format!("skip:{step}"))).await;
    }
    deliver(&intake, &pressed("c:public")).await;
    deliver(
        &intake,
        &typed("Search-marker: the police searched my neighbour's flat"),
    )
    .await;
    deliver(&intake, &pressed("more")).await;
    deliver(&intake, &typed("They took two laptops.")).await;
    deliver(&intake, &pressed("send")).await;
    let sent = api.take();
    let receipt = receipt_of(&sent);
    let text = sent.last().unwrap()["text"].as_str().unwrap();
    assert!(text.starts_with("<b>Report received</b>") && text.contains("What happens next"));

    w.run_ok(&["desk", "pull"]);
    let queue = w.desk_list();
    let item = &queue[0];
    assert_eq!(item["channel"], "telegram");
    assert_eq!(item["lang"], "en");
    assert_eq!(item["urgent"], false);
    assert_eq!(
        item["text"],
        "Search-marker: the police searched my neighbour's flat\n\nThey took two laptops."
    );
    let d = &item["details"];
    assert_eq!(d["happened"], "searched");
    assert_eq!(d["whom"], "someone_else");
    assert_eq!(d["region"], "RU-MOW");
    assert_eq!(d["consent"], "public");
    assert!(d.get("names").is_none() && d.get("city").is_none());
    assert!(item.get("contact").is_none_or(Value::is_null));
    let opened = item.to_string();
    assert!(!opened.contains("734529184"), "{opened}");
    // The desk's queue page names the channel.
    let mut account = w.command(&["desk", "account", "lawyer", "--role", "duty_lawyer"]);
    account.env("VIGIL_ACCOUNT_PASSWORD", "correct horse battery");
    super::succeeded(&mut account);
    let desk = w.serve(&["desk", "serve"], "desk listening on");
    let c = client();
    let (cookie, _) =
        super::desk_access::http_login(&c, &desk, "lawyer", "correct horse battery", None).await;
    let page = crate::page_with_cookie(&c, format!("{desk}/?lang=en"), &cookie).await;
    assert!(
        page.contains("<span class=\"muted channel\">Telegram bot</span>"),
        "{page}"
    );
    let r = client()
        .post(format!("{intake}/api/v1/followup"))
        .json(&json!({ "receipt": receipt }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_no_chat_id(&w);
    super::assert_nowhere(&w, "Search-marker");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_or_header_gets_the_unknown_address_404_and_creates_nothing() {
    let api = FakeBotApi::start().await;
    let mut w = telegram_world(&api.url);
    let intake = w.start_intake();
    let update = typed("/start");
    let (status, unknown) = deliver_to(&intake, "/nothing/here", Some(HEADER), &update).await;
    assert_eq!(status, 404);
    let right = format!("/telegram/{SECRET}");
    let wrong = format!("/telegram/{}", SECRET.replace('5', "6"));
    for (path, header) in [
        (wrong.as_str(), Some(HEADER)),
        (right.as_str(), None),
        (right.as_str(), Some("st-not-the-one")),
        (right.as_str(), Some(SECRET)),
    ] {
        assert_eq!(
            deliver_to(&intake, path, header, &update).await,
            (404, unknown.clone()),
            "{path} {header:?}"
        );
    }
    // Not even a conversation: a button pressed next is told nothing has begun.
    deliver(&intake, &pressed("h:fined")).await;
    let sent = api.take();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]["text"]
            .as_str()
            .unwrap()
            .contains("разговор уже закончен")
    );
    let store = w.intake_store().await;
    assert_eq!(store.intake_pending_count().await.unwrap(), 0);
}

#[test]
fn a_half_filled_telegram_section_stops_the_intake_naming_the_key() {
    let w = World::new();
    let config = w.data().join("intake/intake.toml");
    let mut f = fs::OpenOptions::new().append(true).open(&config).unwrap();
    write!(
        f,
        "\n[telegram]\nbot_token_file = \"/nonexistent\"\nwebhook_secret = \"{SECRET}\"\n"
    )
    .unwrap();
    let out = w
        .command(&["intake"])
        .env_remove("VIGIL_TELEGRAM_BOT_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[telegram] section is half filled: secret_token"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
}
