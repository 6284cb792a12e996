//! browserseal (issue 13): the form sealed in Chromium with JavaScript on, and
//! by the server with JavaScript off. A recording TCP proxy on loopback sits
//! between the browser and the intake and keeps every byte the browser sent:
//! with JavaScript on they hold none of the report's words; with it off they
//! do (which shows the recording works). Both reports open at the desk equal in
//! every field, and replies by receipt reach both. The intake asks for the
//! API's proof-of-work: the page solves it; the form without JavaScript is
//! asked none.
//!
//! Set VIGIL_SCREENSHOTS=DIR to keep screenshots of the form (JS on and off,
//! 360 and 1280 wide) and of a check that failed in the browser (never in git).

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{Browser, World, client, contains};

/// A proxy on 127.0.0.1 port 0 in front of `target` (`http://HOST:PORT`);
/// returns its base URL and the bytes clients sent through it.
async fn recording_proxy(target: &str) -> (String, Arc<Mutex<Vec<u8>>>) {
    let upstream = target.trim_start_matches("http://").to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let sent = Arc::new(Mutex::new(Vec::new()));
    let record = sent.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect(&upstream).await else {
                continue;
            };
            let record = record.clone();
            tokio::spawn(async move {
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let up = async {
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(n) = client_read.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        record.lock().unwrap().extend_from_slice(&buf[..n]);
                        if server_write.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = server_write.shutdown().await;
                };
                let down = async {
                    let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    let _ = client_write.shutdown().await;
                };
                tokio::join!(up, down);
            });
        }
    });
    (url, sent)
}

impl Browser {
    async fn set_width(&self, width: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            json!({ "width": width, "height": 900 }),
        )
        .await;
    }

    /// Saves the page 360 and 1280 wide under VIGIL_SCREENSHOTS, if set.
    async fn keep_screenshots(&self, name: &str) {
        let Some(dir) = std::env::var_os("VIGIL_SCREENSHOTS") else {
            return;
        };
        use base64::Engine;
        for width in [360, 1280] {
            self.set_width(width).await;
            let v = self
                .call(reqwest::Method::GET, "/screenshot", Value::Null)
                .await;
            let png = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap())
                .unwrap();
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                std::path::Path::new(&dir).join(format!("{name}-{width}.png")),
                png,
            )
            .unwrap();
        }
        self.set_width(360).await;
    }
}

const MARKER: &str = "Seal-marker-4711";
const NAMES: &str = "Names-marker-0815";
const CONTACT: &str = "Contact-marker-2342";

/// Fills and sends the form as a reporter would; returns the receipt.
async fn send_the_form(browser: &Browser, base: &str, shots: &str) -> String {
    browser.set_width(360).await;
    browser.goto(&format!("{base}/?lang=en")).await;
    assert_eq!(browser.text_of("h1").await, "Report persecution");
    browser.keep_screenshots(&format!("{shots}-form")).await;
    browser.click("input[value=detained_now]").await;
    browser.click("input[value=someone_else]").await;
    browser.type_into("#names", NAMES).await;
    browser.click("#region option[value=RU-MOW]").await;
    browser.type_into("#station", "  ОВД Тверской  ").await;
    browser.click("input[value=public]").await;
    browser
        .type_into(
            "#text",
            &format!("{MARKER} задержан на одиночном пикете у метро, везут в ОВД"),
        )
        .await;
    browser.type_into("#contact", CONTACT).await;
    browser.click("button[type=submit]").await;
    let receipt = browser.text_of("#receipt").await;
    assert!(receipt.parse::<vigil_core::Receipt>().is_ok(), "{receipt}");
    // Detained right now: the receipt page says a duty lawyer will see it,
    // whether the server knew it was urgent (JS off) or the page did (JS on).
    assert!(browser.text_of(".urgent").await.contains("duty lawyer"));
    browser.keep_screenshots(&format!("{shots}-receipt")).await;
    receipt
}

async fn followup(intake: &str, receipt: &str) -> Vec<Value> {
    let r = client()
        .post(format!("{intake}/api/v1/followup"))
        .json(&json!({ "receipt": receipt }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    v["messages"].as_array().unwrap().clone()
}

fn desk_reply(w: &World, id: &str, text: &str) {
    use std::io::Write;
    let mut child = w
        .command(&["desk", "reply", id])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
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
async fn the_form_sealed_in_chromium_sends_no_clear_text_and_lands_like_the_server_sealed_one() {
    let mut w = World::new();
    // The API's proof-of-work, which the page with JavaScript solves too.
    let config = w.data().join("intake/intake.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str("\n[abuse]\napi_pow_bits = 14\n");
    std::fs::write(&config, toml).unwrap();
    let intake = w.start_intake();

    // JavaScript on: the page checks, seals and posts only ciphertext.
    let (through, sent) = recording_proxy(&intake).await;
    let browser = Browser::start_with(true).await;
    browser.set_width(360).await;
    browser.goto(&format!("{through}/?lang=en")).await;
    // A check the script makes before anything leaves the page: the error
    // shows beside its field, as the server would put it.
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .text_of("#text-error")
            .await
            .contains("The report text is empty"),
    );
    browser.keep_screenshots("js-on-error").await;
    assert!(
        !contains(&sent.lock().unwrap(), "POST "),
        "the check in the page posted something"
    );
    let sealed_receipt = send_the_form(&browser, &through, "js-on").await;
    drop(browser);
    let sent = sent.lock().unwrap().clone();
    assert!(contains(&sent, "POST /report/sealed?lang=en "));
    // It solved the proof-of-work the intake asks for (the post was taken).
    assert!(contains(&sent, "GET /api/v1/challenge "));
    assert!(contains(&sent.to_ascii_lowercase(), "vigil-proof: v1.14."));
    // The plain form posts to /report (with ?lang=en on the English page).
    assert!(
        !contains(&sent, "POST /report ") && !contains(&sent, "POST /report?"),
        "a clear form was posted"
    );
    for word in [MARKER, NAMES, CONTACT, "detained_now", "RU-MOW"] {
        assert!(!contains(&sent, word), "{word} left the browser in clear");
    }
    for word in ["ОВД", "пикете"] {
        assert!(!contains(&sent, word), "{word} left the browser in clear");
    }

    // JavaScript off: the same answers, sealed by the server.
    let (through, sent) = recording_proxy(&intake).await;
    let browser = Browser::start_with(false).await;
    let plain_receipt = send_the_form(&browser, &through, "js-off").await;
    drop(browser);
    let sent = sent.lock().unwrap().clone();
    assert!(contains(&sent, "POST /report?lang=en "));
    // Without JavaScript no proof-of-work is asked (rate limits apply).
    assert!(!contains(&sent, "/api/v1/challenge"));
    // The recording works: without JavaScript the words travel in the body.
    assert!(contains(&sent, MARKER) && contains(&sent, NAMES));

    opens_with_the_standard_age_tool_twice(&w, &intake).await;
    w.run_ok(&["desk", "pull"]);
    let queue = w.desk_list();
    assert_eq!(queue.len(), 2, "{queue:?}");
    let mut same: Vec<Value> = queue.clone();
    for item in &mut same {
        assert!(item["received_at"].as_str().unwrap().ends_with('Z'));
        assert!(item["minutes_ago"].as_i64().unwrap() <= 1);
        let o = item.as_object_mut().unwrap();
        // Only what differs between any two reports.
        o.remove("id");
        o.remove("received_at");
        o.remove("minutes_ago");
    }
    assert_eq!(same[0], same[1], "the two reports differ at the desk");
    let item = &queue[0];
    assert_eq!(item["urgent"], true);
    assert_eq!(item["channel"], "web_form");
    assert_eq!(item["lang"], "en");
    assert_eq!(item["contact"], CONTACT);
    assert_eq!(item["details"]["names"], NAMES);
    assert_eq!(item["details"]["station"], "ОВД Тверской");
    assert_eq!(item["details"]["consent"], "public");
    assert_eq!(item["can_reply"], true);

    // Replies by receipt reach both.
    for item in &queue {
        let id = item["id"].as_str().unwrap();
        desk_reply(&w, id, &format!("Reply-marker to {id}"));
    }
    w.run_ok(&["desk", "pull"]);
    for receipt in [&sealed_receipt, &plain_receipt] {
        let messages = followup(&intake, receipt).await;
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(messages[0]["from"], "team");
        assert!(
            messages[0]["text"]
                .as_str()
                .unwrap()
                .starts_with("Reply-marker to ")
        );
    }
    let a = followup(&intake, &sealed_receipt).await;
    let b = followup(&intake, &plain_receipt).await;
    assert_ne!(
        a[0]["text"], b[0]["text"],
        "each reply goes to its own receipt"
    );
    for marker in [MARKER, NAMES, CONTACT, "Reply-marker"] {
        super::assert_nowhere(&w, marker);
    }
}

/// An operator can open a report sealed in the browser with the standard `age`
/// tool: the intake's outer file, then the browser's file inside it.
async fn opens_with_the_standard_age_tool_twice(w: &World, intake: &str) {
    let puller =
        vigil_desk::Puller::new(intake, zeroize::Zeroizing::new(super::TOKEN.to_owned())).unwrap();
    let passphrase = vigil_core::keys::SecretString::from(super::PASS.to_owned());
    let identity =
        vigil_core::keys::read_identity(&w.data().join("desk/identity.age"), &passphrase).unwrap();
    let key = w.dir.path().join("clear-identity.txt");
    std::fs::write(&key, identity.secret_text().as_bytes()).unwrap();
    let age_d = |file: &[u8]| {
        let path = w.dir.path().join("report.age");
        std::fs::write(&path, file).unwrap();
        let out = super::succeeded(
            std::process::Command::new("age")
                .arg("-d")
                .arg("-i")
                .arg(&key)
                .arg(&path),
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let mut outer_found = 0;
    for report in puller.fetch(10).await.unwrap() {
        let outer = age_d(&report.sealed);
        if outer["kind"] != "sealed_in_browser" {
            continue;
        }
        outer_found += 1;
        use base64::Engine;
        let inner = base64::engine::general_purpose::STANDARD
            .decode(outer["report"].as_str().unwrap())
            .unwrap();
        let report = age_d(&inner);
        assert!(report["text"].as_str().unwrap().starts_with(MARKER));
        assert_eq!(report["names"], NAMES);
        assert!(outer["received_at"].as_str().unwrap().ends_with('Z'));
        // intake4: the reply key's seed (hex), from which the desk derives
        // the recipient.
        assert_eq!(outer["reply_seed"].as_str().unwrap().len(), 64);
        assert!(outer.get("reply_to").is_none());
    }
    assert_eq!(outer_found, 1);
}
