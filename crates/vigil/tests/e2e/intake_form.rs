//! intakeform (issue 13): the guided form in Chromium with JavaScript off at
//! 360 px, the receipt, the exact time in the desk's queue, replies by receipt
//! both ways (page and JSON API), a wrong receipt's answer, and one desk
//! pulling from two intakes.
//!
//! Set VIGIL_SCREENSHOTS=DIR to keep the browser's screenshots (never in git).

use std::io::Write;
use std::process::Stdio;

use serde_json::{Value, json};

use super::{Browser, World, client, post_json};

/// `vigil desk reply ID` with the text on stdin.
fn desk_reply(w: &World, id: &str, text: &str) -> std::process::Output {
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
    out
}

async fn followup(intake: &str, receipt: &str) -> (u16, String) {
    let r = client()
        .post(format!("{intake}/api/v1/followup"))
        .json(&json!({ "receipt": receipt }))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn add_followup(intake: &str, receipt: &str, text: &str) -> u16 {
    client()
        .post(format!("{intake}/api/v1/followup/messages"))
        .json(&json!({ "receipt": receipt, "text": text }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

impl Browser {
    async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            json!({ "width": width, "height": height }),
        )
        .await;
    }

    /// Saves screenshots 360 and 1280 wide under VIGIL_SCREENSHOTS, if set.
    async fn screenshot(&self, name: &str) {
        if std::env::var_os("VIGIL_SCREENSHOTS").is_none() {
            return;
        }
        self.shoot(&format!("{name}-360")).await;
        self.resize(1280, 900).await;
        self.shoot(&format!("{name}-1280")).await;
        self.resize(360, 800).await;
    }

    async fn shoot(&self, name: &str) {
        let Some(dir) = std::env::var_os("VIGIL_SCREENSHOTS") else {
            return;
        };
        use base64::Engine;
        let v = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }

    /// Where an element ends on the right, in CSS pixels, from the
    /// WebDriver's own geometry (the page runs no script).
    async fn right_edge_of(&self, css: &str) -> f64 {
        let e = self.find(css).await;
        let rect = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{e}/rect"),
                Value::Null,
            )
            .await;
        rect["width"].as_f64().unwrap() + rect["x"].as_f64().unwrap()
    }
}

fn with_organisation(w: &World) {
    let path = w.data().join("intake/intake.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(
        "\n[organisation]\nname_ru = \"Правозащита-тест\"\nname_en = \"Rights-test\"\n\
         phone = \"+7 800 000-00-00\"\nabout_ru = \"Мы помогаем задержанным.\"\n\
         about_en = \"We help detained people.\"\n",
    );
    std::fs::write(path, config).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reporter_at_360_px_without_javascript_sends_the_form_and_reads_the_reply() {
    let mut w = World::new();
    with_organisation(&w);
    let intake = w.start_intake();
    let browser = Browser::start().await;
    browser.resize(360, 800).await;
    browser.goto(&format!("{intake}/")).await;
    assert_eq!(browser.text_of("h1").await, "Сообщить о преследовании");
    assert!(browser.text_of("header").await.contains("Правозащита-тест"));
    assert!(browser.text_of(".safety").await.contains("Tor Browser"));
    browser.screenshot("form-ru").await;
    browser.click("a[hreflang=en]").await;
    assert_eq!(browser.text_of("h1").await, "Report persecution");
    assert!(
        browser
            .text_of("footer")
            .await
            .contains("We help detained people")
    );
    browser.click("input[value=detained_now]").await;
    browser.click("input[value=someone_else]").await;
    browser.type_into("#names", "Form-marker Ivan").await;
    browser.click("#region option[value=RU-SPE]").await;
    browser.type_into("#station", "Police station 78").await;
    browser.click("input[value=counts]").await;
    browser
        .type_into("#text", "Form-marker: detained at a single picket")
        .await;
    browser.click("button[type=submit]").await;
    let receipt = browser.text_of("#receipt").await;
    assert!(receipt.parse::<vigil_core::Receipt>().is_ok(), "{receipt}");
    // Never broken across lines, and it fits the narrow screen.
    assert!(!receipt.contains('\n'), "{receipt:?}");
    // The code (an inline span) ends inside its box: no sideways scrolling
    // to read it.
    let right = browser.right_edge_of("#receipt").await;
    // Its box's padding (.5rem) and border (2 px) inside the box's right edge.
    let room = browser.right_edge_of(".receipt").await - 10.0;
    assert!(
        right <= room,
        "the receipt ends at {right} px, its box at {room} px"
    );
    assert!(
        browser
            .text_of("#next-title")
            .await
            .contains("What happens next")
    );
    browser.screenshot("receipt-en").await;

    w.run_ok(&["desk", "pull"]);
    let queue = w.desk_list();
    assert_eq!(queue.len(), 1);
    let item = &queue[0];
    assert_eq!(item["urgent"], true, "detained now makes it urgent");
    assert_eq!(item["details"]["region"], "RU-SPE");
    assert_eq!(item["details"]["station"], "Police station 78");
    assert_eq!(item["details"]["consent"], "counts");
    assert!(item["received_at"].as_str().unwrap().ends_with('Z'));
    assert!(item["minutes_ago"].as_i64().unwrap() <= 1);
    let id = item["id"].as_str().unwrap().to_owned();

    let out = desk_reply(&w, &id, "Team-marker: a lawyer is on the way\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w.run_ok(&["desk", "pull"]);

    browser.click("header nav a[href^='/status']").await;
    browser.type_into("#receipt", &receipt.to_lowercase()).await;
    browser.click("button[type=submit]").await;
    assert!(
        browser
            .text_of("ol.messages")
            .await
            .contains("Team-marker: a lawyer is on the way")
    );
    browser
        .type_into("#text", "Reporter-marker: moved to another station")
        .await;
    browser.click("button[type=submit]").await;
    assert!(browser.text_of(".sent").await.contains("received"));
    browser.screenshot("status-en").await;

    w.run_ok(&["desk", "pull"]);
    let queue = w.desk_list();
    let messages = queue[0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["from"], "team");
    assert_eq!(messages[1]["from"], "reporter");
    assert_eq!(
        messages[1]["text"],
        "Reporter-marker: moved to another station"
    );
    for marker in ["Form-marker", "Team-marker", "Reporter-marker"] {
        super::assert_nowhere(&w, marker);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_round_trip_through_the_api_and_a_wrong_receipt_hears_the_same() {
    let mut w = World::new();
    let intake = w.start_intake();
    let (status, body) = post_json(
        &intake,
        json!({ "text": "API-marker report", "happened": "searched", "region": "RU-MOW", "lang": "en" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let receipt = body["receipt"].as_str().unwrap().to_owned();
    let (_, other) = post_json(&intake, json!({ "text": "another report" })).await;
    let untouched = other["receipt"].as_str().unwrap().to_owned();
    w.run_ok(&["desk", "pull"]);
    let queue = w.desk_list();
    let item = queue
        .iter()
        .find(|i| i["text"] == "API-marker report")
        .unwrap();
    assert_eq!(item["details"]["happened"], "searched");
    let id = item["id"].as_str().unwrap().to_owned();

    // Before any reply, after one, and for a receipt never given out: a wrong
    // receipt's answer is byte for byte that of a receipt with no replies.
    let wrong = vigil_core::Receipt::generate().unwrap().to_string();
    let (status, empty) = followup(&intake, &untouched).await;
    assert_eq!((status, empty.as_str()), (200, r#"{"messages":[]}"#));
    assert_eq!(followup(&intake, &wrong).await, (200, empty.clone()));

    let out = desk_reply(&w, &id, "Ответ-marker: мы связались с адвокатом");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Not yet on the intake: it travels at the next pull.
    assert_eq!(followup(&intake, &receipt).await, (200, empty.clone()));
    let out = w.run_ok(&["desk", "pull"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 replies handed over"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let (status, answer) = followup(&intake, &receipt).await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(json["messages"][0]["from"], "team");
    assert_eq!(
        json["messages"][0]["text"],
        "Ответ-marker: мы связались с адвокатом"
    );
    assert_eq!(followup(&intake, &wrong).await, (200, empty.clone()));
    assert_eq!(followup(&intake, &untouched).await, (200, empty.clone()));

    assert_eq!(
        add_followup(&intake, &receipt, "Follow-marker: more").await,
        201
    );
    assert_eq!(
        add_followup(&intake, &wrong, "Follow-marker: lost").await,
        201
    );
    w.run_ok(&["desk", "pull"]);
    let queue = w.desk_list();
    let item = queue.iter().find(|i| i["id"] == id.as_str()).unwrap();
    let texts: Vec<&str> = item["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Ответ-marker: мы связались с адвокатом",
            "Follow-marker: more"
        ]
    );
    // The follow-up to a wrong receipt went nowhere.
    assert!(queue.iter().all(|i| {
        i["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["text"] != "Follow-marker: lost")
    }));
    // A reply to a report the desk does not hold is refused with the fix.
    let out = desk_reply(&w, &"0".repeat(32), "x");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("vigil desk list"));
    for marker in ["API-marker", "Ответ-marker", "Follow-marker"] {
        super::assert_nowhere(&w, marker);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_desk_pulls_from_two_intakes_and_each_reply_goes_home() {
    let mut w = World::new();
    let first = w.serve(&["intake"], "intake listening on");
    // A second intake with its own database and receipt key, sealing to the
    // same desk (say, an onion service run apart from the public address).
    let data = w.data();
    let config = std::fs::read_to_string(data.join("intake/intake.toml")).unwrap();
    let second_config = data.join("intake2.toml");
    std::fs::write(
        &second_config,
        format!(
            "{config}database_url = \"sqlite:{}\"\nreceipt_key_file = \"{}\"\n",
            data.join("intake2/intake.db").display(),
            data.join("intake2/receipt.key").display()
        ),
    )
    .unwrap();
    let second = w.serve(
        &["intake", "--config", second_config.to_str().unwrap()],
        "intake listening on",
    );
    // The first intake twice (two addresses of one server): still stored once.
    std::fs::write(
        data.join("desk/desk.toml"),
        format!(
            "version = 1\nlisten = \"127.0.0.1:0\"\nsecure_cookies = false\n\
             [[intakes]]\nurl = \"{first}\"\ntoken = \"{t}\"\n\
             [[intakes]]\nurl = \"{second}\"\ntoken = \"{t}\"\n\
             [[intakes]]\nurl = \"{first}\"\ntoken = \"{t}\"\n",
            t = super::TOKEN
        ),
    )
    .unwrap();
    let (_, a) = post_json(&first, json!({ "text": "through the first" })).await;
    let (_, b) = post_json(&second, json!({ "text": "through the second" })).await;
    let (a, b) = (
        a["receipt"].as_str().unwrap().to_owned(),
        b["receipt"].as_str().unwrap().to_owned(),
    );
    w.run_ok(&["desk", "pull"]);
    w.run_ok(&["desk", "pull"]);
    let queue = w.desk_list();
    assert_eq!(queue.len(), 2, "{queue:?}");
    for item in &queue {
        let id = item["id"].as_str().unwrap();
        let text = format!("reply to {}", item["text"].as_str().unwrap());
        assert!(desk_reply(&w, id, &text).status.success());
    }
    let out = w.run_ok(&["desk", "pull"]);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        printed.matches("1 replies handed over").count(),
        2,
        "{printed}"
    );
    let read = |intake: &str, receipt: &str| {
        let (intake, receipt) = (intake.to_owned(), receipt.to_owned());
        async move {
            let (_, body) = followup(&intake, &receipt).await;
            let json: Value = serde_json::from_str(&body).unwrap();
            json["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["text"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(read(&first, &a).await, ["reply to through the first"]);
    assert_eq!(read(&second, &b).await, ["reply to through the second"]);
    // Each intake knows only its own receipts.
    assert!(read(&second, &a).await.is_empty());
    assert!(read(&first, &b).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desk_writes_a_reply_on_its_page_and_the_queue_says_how_long_ago() {
    let mut w = World::new();
    let desk = w.desk_with_a_report("Page-marker report", false).await;
    let c = client();
    // Password, then the second factor (enrolled at this first login).
    let (cookie, _) =
        crate::desk_access::http_login(&c, &desk, "lawyer", "correct horse battery", None).await;
    w.run_ok(&["desk", "pull"]);
    let id = w.desk_list()[0]["id"].as_str().unwrap().to_owned();
    let get = |path: String| {
        let (c, cookie) = (c.clone(), cookie.clone());
        async move { crate::page_with_cookie(&c, path, cookie).await }
    };
    let queue = get(format!("{desk}/?lang=ru")).await;
    assert!(queue.contains("получено 0 мин назад"), "{queue}");
    assert!(queue.contains(&format!("/reports/{id}/reply")));
    let page = get(format!("{desk}/reports/{id}/reply?lang=en")).await;
    assert!(page.contains("Page-marker report") && page.contains("Reply to the reporter"));
    let token = page
        .split("name=\"form_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    // A stale form token is refused and the words come back.
    let r = c
        .post(format!("{desk}/reports/{id}/reply"))
        .header("cookie", &cookie)
        .form(&[
            ("text", "Kept-marker"),
            ("form_token", "stale"),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Kept-marker"));
    let r = c
        .post(format!("{desk}/reports/{id}/reply"))
        .header("cookie", &cookie)
        .form(&[
            ("text", "Desk-page-marker: we called the station"),
            ("form_token", &token),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let queue = get(format!("{desk}/?lang=en")).await;
    assert!(
        queue.contains("Desk-page-marker: we called the station"),
        "{queue}"
    );
    assert!(queue.contains("received 0 min ago"), "{queue}");
    // The running desk pulls by itself too; whichever pull hands the reply
    // over, after this one it is on the intake, sealed, under the receipt.
    w.run_ok(&["desk", "pull"]);
    let report: vigil_core::ReportId = id.parse().unwrap();
    let hash = w
        .desk_store()
        .await
        .desk_report(&report)
        .await
        .unwrap()
        .unwrap()
        .receipt_hash;
    let on_intake = w.intake_store().await.intake_messages(&hash).await.unwrap();
    assert_eq!(on_intake.len(), 1);
    assert_eq!(on_intake[0].from, vigil_core::followup::Sender::Team);
    super::assert_nowhere(&w, "Desk-page-marker");

    // Screenshots of the desk's reply page, when asked for.
    if std::env::var_os("VIGIL_SCREENSHOTS").is_some() {
        let browser = Browser::start().await;
        browser.resize(360, 800).await;
        browser.goto(&format!("{desk}/login?lang=ru")).await;
        browser.type_into("#username", "lawyer").await;
        browser
            .type_into("#password", "correct horse battery")
            .await;
        browser.click("button[type=submit]").await;
        browser.find("pre.report").await;
        browser.screenshot("desk-queue-ru").await;
        browser
            .goto(&format!("{desk}/reports/{id}/reply?lang=ru"))
            .await;
        browser.find("textarea#text").await;
        browser.screenshot("desk-reply-ru").await;
    }
}
