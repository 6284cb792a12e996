//! The urgent line (deskurgent): alerts reach the person on duty through a
//! webhook, e-mail (SMTP) and Telegram's Bot API, each a real server on
//! loopback; they carry no report content; they escalate after the configured
//! minutes on a test clock; failures are retried across a restart. Then the
//! duty page through the real binary, and `vigil desk roster` / `purge`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use vigil_core::{Channel, Day, DeskIdentity, Lang, ReportEnvelope, ReportId, SealedReport};
use vigil_desk::alerts::{AlertsConfig, Sender};
use vigil_desk::clock::{Clock, ManualClock};
use vigil_desk::urgent::UrgentLine;
use vigil_store::DeskStore;
use vigil_store::urgent::Shift;

use super::{World, client, contains};

const TEXT_MARKER: &str = "URGENT-TEXT-MARKER задержан у метро";
const CONTACT_MARKER: &str = "URGENT-CONTACT-MARKER +79001234567";

/// Everything a fake server received, one entry per message or request.
type Received = Arc<Mutex<Vec<String>>>;

/// A local SMTP sink speaking enough SMTP for one message per connection.
/// A message is recorded before it is acknowledged with 250.
async fn smtp_sink() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Received::default();
    let rec = received.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let rec = rec.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut transcript = String::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap() == 0 {
                        return;
                    }
                    transcript.push_str(&line);
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "MAIL" | "RCPT" => b"250 OK\r\n",
                        "DATA" => {
                            write.write_all(b"354 go on\r\n").await.unwrap();
                            loop {
                                line.clear();
                                lines.read_line(&mut line).await.unwrap();
                                transcript.push_str(&line);
                                if line == ".\r\n" {
                                    break;
                                }
                            }
                            rec.lock().unwrap().push(transcript.clone());
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            return;
                        }
                        _ => b"500 what?\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, received)
}

/// A tiny HTTP/1.1 server (the webhook listener and the fake Bot API): it
/// records "METHOD PATH\nBODY" and answers 200 {"ok":true}, or 500 while
/// `failing` is set.
async fn http_sink(failing: Arc<Mutex<bool>>) -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let received = Received::default();
    let rec = received.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let rec = rec.clone();
            let failing = failing.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut chunk).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap();
                    assert!(n > 0);
                    buf.extend_from_slice(&chunk[..n]);
                }
                let request_line = head.lines().next().unwrap_or("").to_owned();
                let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).to_string();
                let fail = *failing.lock().unwrap();
                if !fail {
                    rec.lock().unwrap().push(format!("{request_line}\n{body}"));
                }
                let status = if fail {
                    "500 Internal Server Error"
                } else {
                    "200 OK"
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{{\"ok\":true}}"
                );
                stream.write_all(answer.as_bytes()).await.unwrap();
            });
        }
    });
    (base, received)
}

fn sealed_report(identity: &DeskIdentity, text: &str, urgent: bool) -> SealedReport {
    let env = ReportEnvelope::new(
        text,
        urgent,
        Some(CONTACT_MARKER),
        Lang::Ru,
        Channel::Api,
        Day::today(),
    )
    .unwrap();
    SealedReport {
        id: ReportId::generate().unwrap(),
        receipt_hash: [7; 32],
        sealed: identity.recipients().seal_envelope(&env).unwrap(),
        received: Day::today(),
    }
}

fn alerts_config(smtp_port: u16, webhook: &str, bot_api: &str) -> AlertsConfig {
    toml::from_str(&format!(
        r#"
        desk_url = "https://desk.example.org"
        escalate_after_minutes = 5
        [webhook]
        url = "{webhook}/hook"
        [smtp]
        host = "127.0.0.1"
        port = {smtp_port}
        from = "vigil@example.org"
        [telegram]
        api_url = "{bot_api}/tg"
        bot_token = "123456:TEST-TOKEN"
        [[people]]
        username = "anna"
        email = "anna@example.org"
        telegram_chat_id = "1001"
        [[people]]
        username = "boris"
        email = "boris@example.org"
        telegram_chat_id = "1002"
        "#
    ))
    .unwrap()
}

/// The decoded body of a recorded SMTP transcript.
fn mail_body(transcript: &str) -> String {
    let after_headers = transcript.split("\r\n\r\n").nth(1).unwrap();
    let b64: String = after_headers
        .lines()
        .take_while(|l| *l != ".")
        .collect::<Vec<_>>()
        .concat();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap(),
    )
    .unwrap()
}

fn assert_no_content(what: &str, received: &[String]) {
    for r in received {
        for marker in [TEXT_MARKER, CONTACT_MARKER, "URGENT-TEXT", "79001234567"] {
            assert!(!r.contains(marker), "{what} carried report content: {r}");
        }
    }
}

struct Line {
    store: Arc<dyn DeskStore>,
    identity: Arc<DeskIdentity>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn line() -> Line {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open_desk(&vigil_store::sqlite_url(&dir.path().join("desk.db")))
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new());
    let now = clock.unix_seconds();
    store
        .duty_put_shift(&Shift {
            id: "tonight".into(),
            starts: now - 3600,
            ends: now + 3 * 3600,
            people: vec!["anna".into(), "boris".into()],
        })
        .await
        .unwrap();
    Line {
        store,
        identity: Arc::new(DeskIdentity::generate()),
        clock,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_urgent_report_alerts_the_person_on_duty_on_every_channel_without_content_then_escalates()
 {
    let (smtp_port, mails) = smtp_sink().await;
    let (http, requests) = http_sink(Arc::default()).await;
    let l = line().await;
    let sender = Sender::new(alerts_config(smtp_port, &http, &http), None).unwrap();
    let urgent_line = UrgentLine::new(
        l.store.clone(),
        l.identity.clone(),
        l.clock.clone(),
        Some(sender),
    );
    l.store
        .desk_store_pulled(&[
            sealed_report(&l.identity, TEXT_MARKER, true),
            sealed_report(&l.identity, "not urgent", false),
        ])
        .await
        .unwrap();

    // At once: anna, on all three channels.
    let o = urgent_line.tick().await.unwrap();
    assert_eq!((o.triaged, o.urgent_new), (2, 1));
    assert_eq!((o.alerts_queued, o.alerts_sent, o.alerts_failed), (3, 3, 0));
    {
        let mails = mails.lock().unwrap();
        assert_eq!(mails.len(), 1);
        assert!(
            mails[0].contains("RCPT TO:<anna@example.org>"),
            "{}",
            mails[0]
        );
        let body = mail_body(&mails[0]);
        assert!(body.contains("срочно") && body.contains(": 1."), "{body}");
        assert!(body.contains("https://desk.example.org/duty"), "{body}");
        assert_no_content("e-mail", &[body]);
        assert_no_content("e-mail", &mails);
        let requests = requests.lock().unwrap();
        assert_eq!(requests.len(), 2, "{requests:?}");
        let hook = requests
            .iter()
            .find(|r| r.starts_with("POST /hook "))
            .unwrap();
        let json: serde_json::Value =
            serde_json::from_str(hook.split_once('\n').unwrap().1).unwrap();
        assert_eq!(json["to"], "anna");
        assert_eq!(json["waiting"], 1);
        assert_eq!(json["link"], "https://desk.example.org/duty");
        let tg = requests
            .iter()
            .find(|r| r.starts_with("POST /tg/bot123456:TEST-TOKEN/sendMessage "))
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(tg.split_once('\n').unwrap().1).unwrap();
        assert_eq!(json["chat_id"], "1001");
        assert_no_content("webhook and Telegram", &requests);
    }

    // Four minutes without an answer: nobody more yet.
    l.clock.advance(Duration::from_secs(4 * 60));
    assert_eq!(urgent_line.tick().await.unwrap().alerts_queued, 0);
    // Five: boris, the next in the escalation order.
    l.clock.advance(Duration::from_secs(60));
    let o = urgent_line.tick().await.unwrap();
    assert_eq!((o.alerts_queued, o.alerts_sent), (3, 3));
    {
        let mails = mails.lock().unwrap();
        assert_eq!(mails.len(), 2);
        assert!(mails[1].contains("RCPT TO:<boris@example.org>"));
        let requests = requests.lock().unwrap();
        assert!(requests.iter().any(|r| r.contains("\"chat_id\":\"1002\"")));
        assert!(requests.iter().any(|r| r.contains("\"to\":\"boris\"")));
    }
    // Everyone on the shift knows; nothing more is sent, however long it waits.
    l.clock.advance(Duration::from_secs(30 * 60));
    assert_eq!(urgent_line.tick().await.unwrap().alerts_queued, 0);

    // "I'm on it" by boris, 36 minutes after it came in.
    let open = l.store.urgent_reports(true).await.unwrap();
    assert_eq!(open.len(), 1);
    let at = l.clock.unix_seconds();
    assert!(
        l.store
            .urgent_acknowledge(open[0].report_id, "boris", at)
            .await
            .unwrap()
    );
    let medians =
        vigil_desk::urgent::medians_by_week(&l.store.urgent_reports(false).await.unwrap());
    assert_eq!(medians.len(), 1);
    assert_eq!(medians[0].median_seconds, 35 * 60);

    // A new urgent report starts again with the first person; the
    // acknowledged one never escalates again.
    l.store
        .desk_store_pulled(&[sealed_report(&l.identity, TEXT_MARKER, true)])
        .await
        .unwrap();
    let o = urgent_line.tick().await.unwrap();
    assert_eq!((o.urgent_new, o.alerts_sent), (1, 3));
    assert!(mails.lock().unwrap()[2].contains("RCPT TO:<anna@example.org>"));
    assert_no_content("e-mail", &mails.lock().unwrap());
    assert_no_content("webhook and Telegram", &requests.lock().unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_alert_is_retried_later_and_survives_a_restart() {
    let failing = Arc::new(Mutex::new(true));
    let (http, requests) = http_sink(failing.clone()).await;
    let l = line().await;
    let config: AlertsConfig = toml::from_str(&format!(
        "desk_url = \"https://desk.example.org\"\n[webhook]\nurl = \"{http}/hook\"\n"
    ))
    .unwrap();
    let first = UrgentLine::new(
        l.store.clone(),
        l.identity.clone(),
        l.clock.clone(),
        Some(Sender::new(config.clone(), None).unwrap()),
    );
    l.store
        .desk_store_pulled(&[sealed_report(&l.identity, TEXT_MARKER, true)])
        .await
        .unwrap();
    let o = first.tick().await.unwrap();
    assert_eq!((o.alerts_queued, o.alerts_sent, o.alerts_failed), (1, 0, 1));
    // Not retried at once: the next try is 30 s later.
    assert_eq!(first.tick().await.unwrap().alerts_failed, 0);
    assert_eq!(l.store.alert_backlog().await.unwrap(), (1, 0));
    // The desk restarts (a new urgent line on the same store); the webhook is back.
    drop(first);
    *failing.lock().unwrap() = false;
    let second = UrgentLine::new(
        l.store.clone(),
        l.identity.clone(),
        l.clock.clone(),
        Some(Sender::new(config, None).unwrap()),
    );
    l.clock.advance(Duration::from_secs(30));
    let o = second.tick().await.unwrap();
    assert_eq!((o.alerts_queued, o.alerts_sent), (0, 1));
    assert_eq!(requests.lock().unwrap().len(), 1);
    assert_eq!(l.store.alert_backlog().await.unwrap(), (0, 0));
    // Sent once: it is not sent again.
    l.clock.advance(Duration::from_secs(60));
    assert_eq!(second.tick().await.unwrap().alerts_sent, 0);
    assert_eq!(requests.lock().unwrap().len(), 1);
}

/// Polls a page until it contains `needle`, for at most a minute.
async fn page_with(url: &str, cookie: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let html = crate::page_with_cookie(&client(), url, cookie).await;
        if html.contains(needle) {
            return html;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{needle:?} never appeared on {url}: {html}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn form_token(html: &str) -> String {
    let marker = "name=\"form_token\" value=\"";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_duty_page_puts_urgent_reports_on_top_and_acknowledges_them() {
    let mut w = World::new();
    let desk = w
        .desk_with_a_report("duty-page-marker задержан", true)
        .await;
    // The roster is a coordinator's (or an admin's) to change (authz.rs).
    w.run_ok(&["desk", "account", "lawyer", "--role", "coordinator"]);
    let c = client();
    // Password, then the second factor (enrolled at this first login).
    let (cookie, _) =
        crate::desk_access::http_login(&c, &desk, "lawyer", "correct horse battery", None).await;
    w.run_ok(&["desk", "pull"]);
    // A shift through the roster page: lawyer is on duty now.
    let roster = page_with(&format!("{desk}/roster?lang=en"), &cookie, "Add a shift").await;
    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    };
    let r = c
        .post(format!("{desk}/roster/add"))
        .header("cookie", &cookie)
        .form(&[
            ("starts", fmt(now - time::Duration::hours(1)).as_str()),
            ("ends", fmt(now + time::Duration::hours(8)).as_str()),
            ("people", "lawyer, second"),
            ("lang", "en"),
            ("form_token", &form_token(&roster)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // A bad time is refused with a message in both languages.
    let r = c
        .post(format!("{desk}/roster/add"))
        .header("cookie", &cookie)
        .form(&[
            ("starts", "tomorrow"),
            ("ends", "later"),
            ("people", "lawyer"),
            ("lang", "en"),
            ("form_token", &form_token(&roster)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("YYYY-MM-DDTHH:MM") && html.contains("ГГГГ-ММ-ДДTЧЧ:ММ"),
        "{html}"
    );

    let html = page_with(&format!("{desk}/duty?lang=en"), &cookie, "duty-page-marker").await;
    assert!(html.contains("m on it</button>"), "{html}");
    assert!(html.contains("<li>lawyer</li>"), "{html}");
    // This desk has no [alerts]: nobody was alerted, and the page says so.
    assert!(html.contains("people alerted: 0"), "{html}");
    let report_marker = "name=\"report\" value=\"";
    let start = html.find(report_marker).unwrap() + report_marker.len();
    let report = html[start..].split('"').next().unwrap().to_owned();
    // Without the form token: refused.
    let r = c
        .post(format!("{desk}/duty/ack"))
        .header("cookie", &cookie)
        .form(&[("report", report.as_str()), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let ack = |token: String| {
        c.post(format!("{desk}/duty/ack"))
            .header("cookie", &cookie)
            .form(&[
                ("report", report.clone()),
                ("lang", "en".into()),
                ("form_token", token),
            ])
            .send()
    };
    let r = ack(form_token(&html)).await.unwrap();
    assert_eq!(r.status(), 303);
    let html = page_with(&format!("{desk}/duty?lang=en"), &cookie, "by lawyer").await;
    assert!(html.contains("No urgent report is waiting"), "{html}");
    assert!(html.contains("time to acknowledge"), "{html}");
    assert!(html.contains("-W"), "the weekly median: {html}");
    // Twice: the second gets a clear answer.
    let r = ack(form_token(&html)).await.unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("already acknowledged"));
    // Russian by default.
    let html = page_with(&format!("{desk}/duty"), &cookie, "Дежурство").await;
    assert!(html.contains("Принятые срочные сообщения"), "{html}");
    let logs = w.logs.lock().unwrap();
    assert!(!contains(&logs, "duty-page-marker"), "report text in a log");
}

#[tokio::test(flavor = "multi_thread")]
async fn roster_and_purge_from_the_command_line() {
    let w = World::new();
    w.write_desk_config("http://127.0.0.1:9");
    let config = w.data().join("desk/desk.toml");
    let text = std::fs::read_to_string(&config).unwrap();

    let out = w.run_ok(&[
        "desk",
        "roster",
        "add",
        "--from",
        "2026-12-07T22:00",
        "--to",
        "2026-12-08T08:00",
        "--people",
        "anna,boris",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("shift shift-2026-12-072200 saved"));
    let out = w.run_ok(&["desk", "roster"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains("2026-12-07T22:00 – 2026-12-08T08:00 UTC  anna, boris"),
        "{listed}"
    );
    let out = w.run(&[
        "desk",
        "roster",
        "add",
        "--from",
        "07.12.2026",
        "--to",
        "2026-12-08T08:00",
        "--people",
        "anna",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("YYYY-MM-DDTHH:MM") && err.contains("ГГГГ"),
        "{err}"
    );
    w.run_ok(&["desk", "roster", "remove", "shift-2026-12-072200"]);
    assert!(
        !w.run(&["desk", "roster", "remove", "shift-2026-12-072200"])
            .status
            .success()
    );

    // Purge needs [retention].
    let out = w.run(&["desk", "purge", "--dry-run"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("[retention]"));
    std::fs::write(
        &config,
        format!("{text}\n[retention]\nreports_uncoded_days = 30\nclosed_cases_years = 5\n"),
    )
    .unwrap();
    let old = SealedReport {
        id: ReportId::generate().unwrap(),
        receipt_hash: [1; 32],
        sealed: b"old sealed".to_vec(),
        received: "2020-01-01".parse().unwrap(),
    };
    let new = SealedReport {
        id: ReportId::generate().unwrap(),
        receipt_hash: [2; 32],
        sealed: b"new sealed".to_vec(),
        received: Day::today(),
    };
    {
        let store = w.desk_store().await;
        store
            .desk_store_pulled(&[old.clone(), new.clone()])
            .await
            .unwrap();
    }
    let out = w.run_ok(&["desk", "purge", "--dry-run"]);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains(&format!("would purge report {} 2020-01-01", old.id)),
        "{listed}"
    );
    assert!(!listed.contains(&new.id.to_string()), "{listed}");
    assert!(listed.contains("would purge: 1 uncoded reports, 0 closed cases"));
    assert_eq!(w.desk_store().await.desk_reports().await.unwrap().len(), 2);
    let out = w.run_ok(&["desk", "purge"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("purged: 1 uncoded reports"));
    assert_eq!(
        w.desk_store().await.desk_reports().await.unwrap(),
        vec![new]
    );
    // deskmerge: the roster changes and the purge are in the audit log, by
    // the command line, with ids and counts only (a dry run is not).
    let entries: Vec<(String, String, Vec<String>)> = w
        .desk_store()
        .await
        .audit_entries(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action != "account_created" && e.action != "account_password_set")
        .map(|e| (e.actor, e.action, e.subjects))
        .collect();
    let cli = |action: &str, subjects: &[&str]| {
        (
            "(cli)".to_owned(),
            action.to_owned(),
            subjects.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        entries,
        [
            cli("roster_changed", &["shift-2026-12-072200"]),
            cli("roster_changed", &["shift-2026-12-072200", "removed"]),
            cli("purge", &["reports=1", "cases=0"]),
        ]
    );
    w.run_ok(&["audit", "verify"]);
}

/// Through the real binaries: a report sent to the intake with "detained now"
/// reaches the webhook of a running desk, with nothing of its content. The
/// time it took is printed (a measurement, not a pass condition).
#[tokio::test(flavor = "multi_thread")]
async fn an_urgent_report_reaches_the_webhook_of_a_running_desk() {
    let mut w = World::new();
    let intake = w.start_intake();
    let (http, requests) = http_sink(Arc::default()).await;
    let config = w.data().join("desk/desk.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!(
            "{text}pull_interval_secs = 1\n[alerts]\ndesk_url = \"https://desk.example.org\"\n\
             [alerts.webhook]\nurl = \"{http}/hook\"\n"
        ),
    )
    .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let at = |t: time::OffsetDateTime| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    };
    w.run_ok(&[
        "desk",
        "roster",
        "add",
        "--from",
        &at(now - time::Duration::hours(1)),
        "--to",
        &at(now + time::Duration::hours(8)),
        "--people",
        "lawyer",
    ]);
    w.serve(&["desk", "serve"], "desk listening on");
    let sent = std::time::Instant::now();
    let (status, _) = super::post_json(
        &intake,
        serde_json::json!({ "text": TEXT_MARKER, "urgent": true, "contact": CONTACT_MARKER }),
    )
    .await;
    assert_eq!(status, 201);
    let deadline = sent + Duration::from_secs(60);
    while requests.lock().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no alert reached the webhook within a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!(
        "urgent report to webhook alert: {:.1} s (pull every 1 s, urgent line every 2 s)",
        sent.elapsed().as_secs_f64()
    );
    let requests = requests.lock().unwrap();
    assert!(requests[0].contains("\"to\":\"lawyer\""), "{requests:?}");
    assert_no_content("the webhook", &requests);
    let logs = w.logs.lock().unwrap();
    assert!(
        !contains(&logs, "URGENT-TEXT-MARKER"),
        "report text in a log"
    );
    assert!(!contains(&logs, "79001234567"), "contact in a log");
}
