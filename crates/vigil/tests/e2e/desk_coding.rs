//! deskcoding, deskmerge: Chromium with JavaScript off walks the desk's day
//! on `vigil demo`: log in with the second factor (the code computed here),
//! open the duty page and acknowledge an urgent report, open a report from
//! the queue, code it into a person, a protest action and an event, code a
//! second report into a second spelling of the person, merge the two persons
//! and undo the merge. With VIGIL_SCREENSHOTS=DIR set, the pages are also
//! saved there at 360 and 1280 pixels wide (base64 PNG), to look at.

use serde_json::Value;

use super::{Browser, Demo, ELEMENT};

impl Browser {
    async fn attribute(&self, css: &str, name: &str) -> String {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::GET,
            &format!("/element/{e}/attribute/{name}"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn count(&self, css: &str) -> usize {
        let v = self
            .call(
                reqwest::Method::POST,
                "/elements",
                serde_json::json!({ "using": "css selector", "value": css }),
            )
            .await;
        v.as_array()
            .map_or(0, |a| a.iter().filter(|e| e[ELEMENT].is_string()).count())
    }

    /// Saves the page at 360 and 1280 pixels wide when VIGIL_SCREENSHOTS names a folder.
    async fn screenshots(&self, name: &str) {
        let Ok(dir) = std::env::var("VIGIL_SCREENSHOTS") else {
            return;
        };
        for width in [360, 1280] {
            self.call(
                reqwest::Method::POST,
                "/window/rect",
                serde_json::json!({ "width": width, "height": 900 }),
            )
            .await;
            let png = self
                .call(reqwest::Method::GET, "/screenshot", Value::Null)
                .await;
            // Base64 as WebDriver sends it: `base64 -d` turns it into the PNG.
            std::fs::write(
                format!("{dir}/{name}-{width}.png.b64"),
                png.as_str().unwrap(),
            )
            .unwrap();
        }
    }
}

/// The demo's desk account and password, as its banner prints them.
fn credentials(demo: &Demo) -> (String, String) {
    let line = demo
        .banner
        .lines()
        .find(|l| l.contains("(account: "))
        .unwrap()
        .to_owned();
    let rest = line.split("(account: ").nth(1).unwrap();
    let (account, rest) = rest.split_once(" / password: ").unwrap();
    (
        account.to_owned(),
        rest.trim_end_matches(')').trim().to_owned(),
    )
}

/// The demo account's TOTP secret, from the demo's secrets file.
fn demo_secret(data: &std::path::Path) -> vigil_desk::totp::Secret {
    let secrets = std::fs::read_to_string(data.join("demo-secrets.toml")).unwrap();
    let base32 = secrets
        .split("totp_secret = \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    vigil_desk::totp::Secret::from_base32(base32).unwrap()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn code_person(browser: &Browser, name: &str, year: &str) -> String {
    browser.type_into("#p-name", name).await;
    browser.type_into("#p-year", year).await;
    browser.click("#p-region option[value='RU-MOW']").await;
    browser
        .click("form[action$='/person'] button[type=submit]")
        .await;
    let href = browser.attribute("ul.supports li.person a", "href").await;
    href.split("/persons/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desks_day_with_javascript_off_totp_urgent_ack_coding_merge_and_undo() {
    let data = tempfile::tempdir().unwrap();
    let demo = Demo::spawn(data.path());
    let desk = demo.desk();
    let (account, password) = credentials(&demo);
    let secret = demo_secret(data.path());
    let browser = Browser::start().await;

    browser.goto(&format!("{desk}/login?lang=en")).await;
    browser.type_into("#username", &account).await;
    browser.type_into("#password", &password).await;
    browser.click("button[type=submit]").await;
    // The second factor: the demo account's TOTP code, computed here.
    browser
        .type_into("#code", &secret.code_at(unix_now()))
        .await;
    browser.click("button[type=submit]").await;
    assert_eq!(browser.text_of("main h2").await.trim(), "Report queue");
    browser.screenshots("queue").await;
    let reports = browser.count("table.queue tbody tr").await;
    assert!(reports >= 2, "the demo's reports are in the queue");

    // The urgent line: from the queue's navigation to the duty page, where the
    // demo's urgent report is waiting once the urgent line has triaged it
    // (every few seconds; the page is asked again, within a bound).
    browser.click("nav.desk a[href^='/duty']").await;
    let mut waiting = 0;
    for _ in 0..150 {
        waiting = browser.count("form[action='/duty/ack']").await;
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        browser.goto(&format!("{desk}/duty?lang=en")).await;
    }
    assert!(
        waiting > 0,
        "no urgent report reached the duty page within 30 s"
    );
    browser.screenshots("duty").await;
    // "I'm on it": the report leaves the waiting list for the acknowledged
    // one, with who took it and how long it waited; the week's median shows.
    browser
        .click("form[action='/duty/ack'] button[type=submit]")
        .await;
    let acknowledged = browser.text_of("li[id^='a-']").await;
    assert!(
        acknowledged.contains(&format!("by {account}"))
            && acknowledged.contains("time to acknowledge"),
        "{acknowledged}"
    );
    assert!(
        browser.count("table tbody tr").await >= 1,
        "a week's median"
    );
    browser.screenshots("duty-acknowledged").await;
    browser.goto(&format!("{desk}/?lang=en")).await;

    // The first report: a person, an action, an event.
    browser
        .click("table.queue tbody tr:nth-child(1) a.open")
        .await;
    let report_url = browser.current_url().await;
    assert!(browser.text_of("#report-text").await.len() > 10);
    let first = code_person(&browser, "Пётр Сидоров", "1985").await;
    browser.type_into("#a-date", "2026-03-01").await;
    browser.click("#a-kind option[value='single_picket']").await;
    browser.click("#a-region-new option[value='RU-MOW']").await;
    browser.type_into("#a-place", "Пушкинская площадь").await;
    browser
        .click("form[action$='/action'] button[type=submit]")
        .await;
    // Each answer is a new page: wait (bounded by the browser) for its new line.
    browser.find("ul.supports li:nth-child(2)").await;
    browser.click("#e-kind option[value='detention']").await;
    browser.type_into("#e-date", "2026-03-01").await;
    browser.type_into("#e-station", "ОВД Тверское").await;
    browser
        .click("#e-verification option[value='reported']")
        .await;
    browser
        .click("form[action$='/event'] button[type=submit]")
        .await;
    browser.find("ul.supports li:nth-child(3)").await;
    let supports = browser.text_of("ul.supports").await;
    assert!(supports.contains("Пётр Сидоров"), "{supports}");
    assert!(
        supports.contains("2026-03-01 · single-person picket · Moscow"),
        "{supports}"
    );
    assert!(
        supports.contains("2026-03-01 · detention · confirmed by one source"),
        "{supports}"
    );
    browser.screenshots("report").await;

    // The queue now shows it coded.
    browser.goto(&format!("{desk}/?lang=en&status=coded")).await;
    assert_eq!(browser.count("table.queue tbody tr").await, 1);
    assert_eq!(
        browser
            .attribute("table.queue tbody tr a.open", "href")
            .await
            .split('?')
            .next(),
        report_url
            .strip_prefix(&desk)
            .and_then(|u| u.split('?').next())
    );

    // A second report names the same man in Latin letters.
    browser
        .goto(&format!("{desk}/?lang=en&status=uncoded"))
        .await;
    browser
        .click("table.queue tbody tr:nth-child(1) a.open")
        .await;
    let second = code_person(&browser, "Petr Sidorov", "1985").await;
    assert_ne!(first, second);

    // Merge the second into the first, then undo.
    browser
        .goto(&format!("{desk}/persons/{first}?lang=en"))
        .await;
    browser.type_into("#merged", &second).await;
    browser
        .click("form[action='/persons/merge'] button[type=submit]")
        .await;
    let merges = browser.text_of("#merges").await;
    assert!(
        browser
            .current_url()
            .await
            .contains(&format!("/persons/{first}"))
    );
    assert!(merges.contains("Petr Sidorov → Пётр Сидоров"), "{merges}");
    browser.screenshots("person").await;
    browser
        .goto(&format!("{desk}/persons/{second}?lang=en"))
        .await;
    assert!(
        browser
            .text_of("#merged-into")
            .await
            .contains("Merged into")
    );
    browser
        .goto(&format!("{desk}/persons/{first}?lang=en"))
        .await;
    browser.click("button.undo").await;
    assert!(browser.text_of("#merges .undone").await.contains("undone"));
    browser
        .goto(&format!("{desk}/persons/{second}?lang=en"))
        .await;
    assert_eq!(
        browser.count("#merged-into").await,
        0,
        "the second person stands alone again"
    );
    browser
        .goto(&format!("{desk}/persons/duplicates?lang=ru"))
        .await;
    browser.screenshots("duplicates").await;
    browser.goto(&format!("{desk}/reports/new?lang=ru")).await;
    browser.screenshots("phone").await;
}
