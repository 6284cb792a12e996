//! End-to-end tests of the `vigil` binary: real processes, real HTTP on
//! 127.0.0.1 port 0, real SQLite files, PostgreSQL from `scripts/test`, the
//! standard `age` tool and Debian's Chromium. No sleeps: a server is ready when
//! it has printed the address it listens on.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use vigil_core::ReportId;
use vigil_store::{DeskStore, IntakeStore};

mod ops;
mod public_site;
mod record;
mod stress;

mod audit;
mod auth;
mod desk_access;
mod desk_coding;
mod desk_urgent;
mod intake_attachments;
mod intake_browser_seal;
mod intake_channels;
mod intake_fast;
mod intake_form;
mod intake_privacy;
mod intake_telegram;
mod public_release;
mod public_stream;

const BIN: &str = env!("CARGO_BIN_EXE_vigil");
const PASS: &str = "test passphrase, not for real use";
const TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A data folder with keys and both zone configs, and every line any vigil
/// process printed while the test ran (to search for leaks).
struct World {
    dir: tempfile::TempDir,
    logs: Arc<Mutex<Vec<u8>>>,
    children: Vec<Child>,
}

impl Drop for World {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn vigil(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("VIGIL_PASSPHRASE", PASS)
        .env_remove("VIGIL_DATABASE_URL")
        .env_remove("VIGIL_DATA");
    c
}

/// Runs a command that must succeed; on failure the assertion shows its stderr.
fn succeeded(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl World {
    fn new() -> World {
        Self::with_intake_db(None)
    }

    fn with_intake_db(intake_db: Option<&str>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let w = World {
            dir,
            logs: Arc::default(),
            children: Vec::new(),
        };
        let out = w.run_ok(&["keygen", "--kdf-work-factor", "10"]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("age1"));
        let recipient = fs::read_to_string(w.data().join("desk/recipient.txt")).unwrap();
        let db = intake_db
            .map(|u| format!("database_url = \"{u}\"\n"))
            .unwrap_or_default();
        fs::create_dir_all(w.data().join("intake")).unwrap();
        fs::write(
            w.data().join("intake/intake.toml"),
            format!(
                "version = 1\nlisten = \"127.0.0.1:0\"\n{db}recipients = [\"{}\"]\ndesk_token_sha256 = \"{}\"\n",
                recipient.trim(),
                vigil_core::token::hash_hex(TOKEN)
            ),
        )
        .unwrap();
        w
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn write_desk_config(&self, intake: &str) {
        fs::write(
            self.data().join("desk/desk.toml"),
            format!(
                "version = 1\nlisten = \"127.0.0.1:0\"\nintake_url = \"{intake}\"\nintake_token = \"{TOKEN}\"\nsecure_cookies = false\n"
            ),
        )
        .unwrap();
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = vigil(args);
        c.arg("--data").arg(self.data());
        c
    }

    fn record(&self, out: &Output) {
        let mut logs = self.logs.lock().unwrap();
        logs.extend_from_slice(&out.stdout);
        logs.extend_from_slice(&out.stderr);
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = self.command(args).output().unwrap();
        self.record(&out);
        out
    }

    /// `vigil verify` reads only the release folder.
    fn verify(&self, dir: &str, key: &str) -> Output {
        let out = vigil(&["verify", dir, "--key", key]).output().unwrap();
        self.record(&out);
        out
    }

    fn run_ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "vigil {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Starts a server; returns its base URL once it printed it.
    fn serve(&mut self, args: &[&str], ready_prefix: &str) -> String {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut stderr = child.stderr.take().unwrap();
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                logs.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let mut url = None;
        let mut line = String::new();
        while url.is_none() {
            line.clear();
            let n = stdout.read_line(&mut line).unwrap();
            assert!(n > 0, "vigil {args:?} exited before it was ready");
            self.logs.lock().unwrap().extend_from_slice(line.as_bytes());
            if let Some(rest) = line.trim().strip_prefix(ready_prefix) {
                url = Some(rest.trim().to_owned());
            }
        }
        let logs = self.logs.clone();
        std::thread::spawn(move || {
            let mut rest = Vec::new();
            let _ = stdout.read_to_end(&mut rest);
            logs.lock().unwrap().extend_from_slice(&rest);
        });
        self.children.push(child);
        url.unwrap()
    }

    fn start_intake(&mut self) -> String {
        let url = self.serve(&["intake"], "intake listening on");
        self.write_desk_config(&url);
        url
    }

    /// An intake holding one report, the desk account "lawyer" (password
    /// "correct horse battery") and a running desk; returns the desk's URL.
    async fn desk_with_a_report(&mut self, text: &str, urgent: bool) -> String {
        let intake = self.start_intake();
        post_json(
            &intake,
            serde_json::json!({ "text": text, "urgent": urgent }),
        )
        .await;
        let mut account = self.command(&["desk", "account", "lawyer", "--role", "duty_lawyer"]);
        account.env("VIGIL_ACCOUNT_PASSWORD", "correct horse battery");
        assert!(account.output().unwrap().status.success());
        self.serve(&["desk", "serve"], "desk listening on")
    }

    async fn intake_store(&self) -> Arc<dyn IntakeStore> {
        vigil_store::open_intake(&vigil_store::sqlite_url(
            &self.data().join("intake/intake.db"),
        ))
        .await
        .unwrap()
    }

    async fn desk_store(&self) -> Arc<dyn DeskStore> {
        vigil_store::open_desk(&vigil_store::sqlite_url(&self.data().join("desk/desk.db")))
            .await
            .unwrap()
    }

    /// The decrypted queue. Its stdout is the desk's own output, meant to show
    /// reports, so only its stderr counts as a log.
    fn desk_list(&self) -> Vec<Value> {
        let out = self.command(&["desk", "list", "--json"]).output().unwrap();
        self.logs.lock().unwrap().extend_from_slice(&out.stderr);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The arguments of `vigil demo` with keys cheap to derive, every zone on
/// loopback port 0 and its data in `data` (the last two arguments).
fn demo_args(data: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "demo",
        "--kdf-work-factor",
        "10",
        "--intake-addr",
        "127.0.0.1:0",
        "--desk-addr",
        "127.0.0.1:0",
        "--public-addr",
        "127.0.0.1:0",
        "--data",
    ]
    .map(String::from)
    .to_vec();
    args.push(data.to_str().unwrap().to_owned());
    args
}

/// `vigil demo` with `demo_args(data)`.
fn demo_command(data: &Path) -> Command {
    let args = demo_args(data);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    vigil(&args)
}

/// A running `vigil demo` (or one zone), killed when dropped, with everything
/// it printed on stdout up to the line it was waited for.
struct Demo {
    child: Child,
    banner: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Starts `vigil demo` (see `demo_args`) and waits for its banner.
    fn spawn(data: &Path) -> Demo {
        Demo::start(&mut demo_command(data), "release key:")
    }

    /// Starts `cmd` and waits (bounded by the process: it either prints the
    /// line or exits) until a stdout line contains `ready`. If it exits first,
    /// the panic shows its stderr; afterwards both pipes are drained.
    fn start(cmd: &mut Command, ready: &str) -> Demo {
        Demo::start_logged(cmd, ready, None)
    }

    /// As `start`, with its stderr written to `log` (if given) once ready.
    fn start_logged(cmd: &mut Command, ready: &str, log: Option<&Path>) -> Demo {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut err = child.stderr.take().unwrap();
        let mut banner = String::new();
        while !banner.contains(ready) {
            let n = stdout.read_line(&mut banner).unwrap();
            if n == 0 {
                let mut text = String::new();
                err.read_to_string(&mut text).unwrap();
                panic!("exited before {ready:?}: {banner}\n{text}");
            }
        }
        // Keep draining both pipes so the process never blocks on a full one.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let mut sink: Box<dyn std::io::Write + Send> = match log {
            Some(path) => Box::new(fs::File::create(path).unwrap()),
            None => Box::new(std::io::sink()),
        };
        std::thread::spawn(move || std::io::copy(&mut err, &mut sink));
        Demo { child, banner }
    }

    /// The first word printed after `label` at the start of a line, without
    /// a trailing slash: a URL of the demo banner ("desk:") or of a zone
    /// ("intake listening on").
    fn url(&self, label: &str) -> String {
        self.banner
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no {label:?} in {}", self.banner))
            .trim_end_matches('/')
            .to_owned()
    }

    fn intake(&self) -> String {
        self.url("intake:")
    }

    fn desk(&self) -> String {
        self.url("desk:")
    }

    fn public(&self) -> String {
        self.url("public:")
    }

    /// The demo desk's passphrase, as the banner prints it.
    fn passphrase(&self) -> String {
        self.url("desk passphrase:")
    }

    /// The process's peak resident memory so far, in KiB.
    fn peak_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

/// The body of a GET of `url`, whatever its status.
async fn get_text(url: &str) -> String {
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The body of a GET of `url` with the session `cookie`, whatever its status.
async fn page_with_cookie(
    c: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    cookie: impl AsRef<str>,
) -> String {
    c.get(url)
        .header("cookie", cookie.as_ref())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn post_json(intake: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{intake}/api/v1/reports"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// A marker must not be in any intake file, nor in any line printed.
fn assert_nowhere(w: &World, marker: &str) {
    for f in files_under(&w.data().join("intake")) {
        let bytes = fs::read(&f).unwrap();
        assert!(
            !contains(&bytes, marker),
            "{marker} found in {}",
            f.display()
        );
    }
    let logs = w.logs.lock().unwrap();
    assert!(!logs.is_empty(), "no logs were captured at all");
    assert!(!contains(&logs, marker), "{marker} found in a log line");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_travels_from_form_and_api_to_the_desk_sealed_all_the_way() {
    let mut w = World::new();
    let intake = w.start_intake();
    let api_marker = "МАРКЕР-api-7f3a Иванова задержана у метро";
    let form_marker = "МАРКЕР-form-91c2 обыск у Петрова";

    let (status, body) = post_json(
        &intake,
        serde_json::json!({ "text": api_marker, "urgent": false, "contact": "signal-МАРКЕР-contact" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let receipt = body["receipt"].as_str().unwrap();
    assert!(receipt.parse::<vigil_core::Receipt>().is_ok(), "{receipt}");

    let page = client()
        .post(format!("{intake}/report"))
        .form(&[("text", form_marker), ("urgent", "on"), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Report received"), "{html}");
    assert!(html.contains("class=\"receipt\""));

    let intake_store = w.intake_store().await;
    assert_eq!(intake_store.intake_pending_count().await.unwrap(), 2);
    for m in [api_marker, form_marker, "МАРКЕР-contact"] {
        assert_nowhere(&w, m);
    }

    let out = w.run_ok(&["desk", "pull"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 new"));
    // Acknowledged, so purged from the intake.
    assert_eq!(intake_store.intake_pending_count().await.unwrap(), 0);

    let queue = w.desk_list();
    assert_eq!(queue.len(), 2);
    // Urgent first, though it arrived second.
    assert_eq!(queue[0]["text"], form_marker);
    assert_eq!(queue[0]["urgent"], true);
    assert_eq!(queue[0]["channel"], "web_form");
    assert_eq!(queue[1]["text"], api_marker);
    assert_eq!(queue[1]["contact"], "signal-МАРКЕР-contact");
    // The desk keeps reports sealed at rest too.
    for f in files_under(&w.data().join("desk")) {
        assert!(
            !contains(&fs::read(&f).unwrap(), api_marker),
            "{}",
            f.display()
        );
    }
    // The intake still holds nothing readable, and nothing was logged.
    for m in [api_marker, form_marker, "МАРКЕР-contact"] {
        assert_nowhere(&w, m);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_pull_neither_loses_nor_duplicates() {
    let mut w = World::new();
    let intake = w.start_intake();
    for i in 0..3 {
        let (status, _) = post_json(
            &intake,
            serde_json::json!({ "text": format!("report {i}") }),
        )
        .await;
        assert_eq!(status, 201);
    }
    let intake_store = w.intake_store().await;
    let desk_store = w.desk_store().await;
    let puller =
        vigil_desk::Puller::new(&intake, zeroize::Zeroizing::new(TOKEN.to_owned())).unwrap();

    // A pull that dies after fetching, before storing: nothing changes.
    let fetched = puller.fetch(10).await.unwrap();
    assert_eq!(fetched.len(), 3);
    assert_eq!(intake_store.intake_pending_count().await.unwrap(), 3);

    // A pull that dies after storing, before acknowledging.
    assert_eq!(desk_store.desk_store_pulled(&fetched).await.unwrap(), 3);
    assert_eq!(
        intake_store.intake_pending_count().await.unwrap(),
        3,
        "purged before acknowledgement"
    );

    // The next pull finishes the job: no copy lost, none duplicated.
    let out = w.run_ok(&["desk", "pull"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 new, 3 acknowledged"));
    assert_eq!(intake_store.intake_pending_count().await.unwrap(), 0);
    let held = desk_store.desk_reports().await.unwrap();
    let mut ids: Vec<ReportId> = held.iter().map(|r| r.id).collect();
    ids.sort();
    let mut expected: Vec<ReportId> = fetched.iter().map(|r| r.id).collect();
    expected.sort();
    assert_eq!(ids, expected);
    assert_eq!(w.desk_list().len(), 3);

    // A pull with a wrong token is refused and changes nothing.
    let bad = vigil_desk::Puller::new(&intake, zeroize::Zeroizing::new("wrong".into())).unwrap();
    assert!(matches!(
        bad.fetch(10).await,
        Err(vigil_desk::PullError::Unauthorised)
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_clear_4xx_and_stores_nothing() {
    let mut w = World::new();
    let intake = w.start_intake();
    let c = client();
    let api = format!("{intake}/api/v1/reports");

    let send = |body: Vec<u8>, ctype: &'static str, lang: &'static str| {
        let c = c.clone();
        let api = api.clone();
        async move {
            let r = c
                .post(api)
                .header("content-type", ctype)
                .header("accept-language", lang)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let json: Value = r.json().await.expect("every API error is JSON");
            (status, json)
        }
    };

    let (s, j) = send(b"{\"text\": ".to_vec(), "application/json", "ru").await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (400, Some("malformed_json"))
    );

    let (s, j) = send(br#"{"text": "   "}"#.to_vec(), "application/json", "ru-RU").await;
    assert_eq!((s, j["error"]["code"].as_str()), (422, Some("empty_text")));
    assert!(
        j["error"]["message"].as_str().unwrap().contains("Опишите"),
        "{j}"
    );

    let (s, j) = send(
        br#"{"text": ""}"#.to_vec(),
        "application/json",
        "en-GB,en;q=0.9",
    )
    .await;
    assert_eq!(s, 422);
    assert!(
        j["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Describe what happened"),
        "{j}"
    );

    // An unknown field is named by the fields allowed, never by its own name,
    // which could carry a report's words.
    let (s, j) = send(br#"{"txt": "typo"}"#.to_vec(), "application/json", "en").await;
    assert_eq!(s, 400);
    let message = j["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("text, urgent") && !message.contains("txt"),
        "{j}"
    );

    let (s, j) = send(
        r#"{"text": "x", "urgent": "СЕКРЕТ"}"#.as_bytes().to_vec(),
        "application/json",
        "en",
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        !j.to_string().contains("СЕКРЕТ"),
        "an error echoed report content: {j}"
    );

    let big = format!("{{\"text\": \"{}\"}}", "я".repeat(100_000));
    let (s, j) = send(big.into_bytes(), "application/json", "en").await;
    assert_eq!(
        (s, j["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );

    let (s, j) = send(
        b"text=hello".to_vec(),
        "application/x-www-form-urlencoded",
        "en",
    )
    .await;
    assert_eq!((s, j["error"]["code"].as_str()), (415, Some("not_json")));

    // The form: an empty text gives the form back with the error, in Russian.
    let r = c
        .post(format!("{intake}/report"))
        .form(&[("text", "  "), ("contact", "keep me")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("Текст сообщения пуст"));
    assert!(
        html.contains("value=\"keep me\""),
        "the reporter's input was lost"
    );

    // A script in a report is escaped when a page shows it back.
    let r = c
        .post(format!("{intake}/report"))
        .form(&[("text", ""), ("contact", "<script>alert(1)</script>")])
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>alert(1)"));

    // Nothing was stored, and the intake still serves.
    let store = w.intake_store().await;
    assert_eq!(store.intake_pending_count().await.unwrap(), 0);
    let (s, _) = post_json(&intake, serde_json::json!({ "text": "still working" })).await;
    assert_eq!(s, 201);
    assert_eq!(store.intake_pending_count().await.unwrap(), 1);
    let spec: Value = c
        .get(format!("{intake}/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["paths"]["/api/v1/reports"]["post"].is_object());
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_then_verify_and_any_change_fails_verification() {
    let mut w = World::new();
    let intake = w.start_intake();
    for t in ["one", "two", "three"] {
        post_json(&intake, serde_json::json!({ "text": t })).await;
    }
    w.run_ok(&["desk", "pull"]);
    let site = w.dir.path().join("site");
    let site_s = site.to_str().unwrap();
    w.run_ok(&["publish", "--out", site_s]);
    // deskmerge: the publication is in the audit log, counts only.
    let published: Vec<_> = w
        .desk_store()
        .await
        .audit_entries(0, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "publish")
        .collect();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].actor, "(cli)");
    assert!(
        published[0]
            .subjects
            .iter()
            .all(|s| s.starts_with("files=") || s.starts_with("actions="))
    );
    let key = w.data().join("desk/release-key.pub");
    let key_s = key.to_str().unwrap();
    let ok = w.verify(site_s, key_s);
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("OK"));
    let csv = fs::read_to_string(site.join("data/reports-by-day.csv")).unwrap();
    assert!(csv.trim_end().ends_with(",3,"), "{csv}");

    // Change one byte of each file in turn, in a fresh copy each time.
    let files = files_under(&site);
    assert!(files.len() >= 8, "{files:?}");
    for f in &files {
        let rel = f.strip_prefix(&site).unwrap();
        let copy = w.dir.path().join("tampered");
        let _ = fs::remove_dir_all(&copy);
        copy_dir(&site, &copy);
        let target = copy.join(rel);
        let mut bytes = fs::read(&target).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x01;
        fs::write(&target, bytes).unwrap();
        let out = w.verify(copy.to_str().unwrap(), key_s);
        assert!(
            !out.status.success(),
            "verify passed after changing {}",
            rel.display()
        );
    }
    // A file added after signing, and the wrong key, also fail.
    fs::write(site.join("extra.html"), "<p>added</p>").unwrap();
    assert!(!w.verify(site_s, key_s).status.success());
    fs::remove_file(site.join("extra.html")).unwrap();
    let wrong = vigil_core::keys::ReleaseKey::generate()
        .unwrap()
        .public_hex();
    let out = w.verify(site_s, &wrong);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not by the expected key"));
    assert!(w.verify(site_s, key_s).status.success());
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sealed_report_opens_with_the_standard_age_tool() {
    let age = Command::new("age").arg("--version").output();
    assert!(
        age.is_ok(),
        "the `age` tool is missing: run the tests with scripts/test, which installs it"
    );
    let mut w = World::new();
    let intake = w.start_intake();
    post_json(
        &intake,
        serde_json::json!({ "text": "opened by age-ИНТЕРОП" }),
    )
    .await;
    let puller =
        vigil_desk::Puller::new(&intake, zeroize::Zeroizing::new(TOKEN.to_owned())).unwrap();
    let sealed = puller.fetch(1).await.unwrap().remove(0);
    let file = w.dir.path().join("report.age");
    fs::write(&file, &sealed.sealed).unwrap();
    // The identity file is passphrase-protected; `age` would ask on a terminal,
    // so the test opens it with vigil and hands `age` the plain identity.
    let passphrase = vigil_core::keys::SecretString::from(PASS.to_owned());
    let identity =
        vigil_core::keys::read_identity(&w.data().join("desk/identity.age"), &passphrase).unwrap();
    let clear_key = w.dir.path().join("clear-identity.txt");
    let desk_recipient = identity.recipient();
    let plain = identity.secret_text();
    fs::write(&clear_key, plain.as_bytes()).unwrap();
    let out = succeeded(
        Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&clear_key)
            .arg(&file),
    );
    let envelope: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(envelope["text"], "opened by age-ИНТЕРОП");
    assert!(desk_recipient.starts_with("age1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_desk_pages_need_a_login_and_show_the_queue() {
    let mut w = World::new();
    let desk = w
        .desk_with_a_report("<b>bold</b> desk-page-marker", true)
        .await;
    let c = client();
    let r = c.get(format!("{desk}/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    let (login_cookie, form_token) = auth::login_form(&c, &desk).await;
    let login = |password: &'static str| {
        c.post(format!("{desk}/login"))
            .header("cookie", &login_cookie)
            .form(&[
                ("username", "lawyer"),
                ("password", password),
                ("lang", "en"),
                ("form_token", &form_token),
            ])
            .send()
    };
    assert_eq!(login("wrong password!!").await.unwrap().status(), 401);
    // The right password, then the second factor (enrolled at this first login).
    let (cookie, _) =
        desk_access::http_login(&c, &desk, "lawyer", "correct horse battery", None).await;
    // The desk pulls on start; pull once more by hand so the test does not wait.
    w.run_ok(&["desk", "pull"]);
    let html = page_with_cookie(&c, format!("{desk}/?lang=en"), &cookie).await;
    assert!(html.contains("desk-page-marker"), "{html}");
    assert!(!html.contains("<b>bold"), "report text must be escaped");
    assert!(
        html.contains("&#60;b&#62;bold") || html.contains("&lt;b&gt;bold"),
        "{html}"
    );
    assert!(html.contains("URGENT"));
}

#[test]
fn an_unknown_database_url_is_refused_clearly() {
    let w = World::with_intake_db(Some("mysql://root@localhost/vigil"));
    let out = w.run(&["intake"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown database URL scheme") && err.contains("sqlite:PATH"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_intake_runs_on_postgresql_too() {
    let Ok(admin) = std::env::var("VIGIL_TEST_POSTGRES_URL") else {
        if std::env::var("VIGIL_TEST_POSTGRES").as_deref() == Ok("skip") {
            return;
        }
        panic!("VIGIL_TEST_POSTGRES_URL is not set: run the tests with scripts/test");
    };
    use sqlx_free_create_db::create_database;
    let url = create_database(&admin).await;
    let mut w = World::with_intake_db(Some(&url));
    let intake = w.start_intake();
    let (s, _) = post_json(
        &intake,
        serde_json::json!({ "text": "stored in PostgreSQL" }),
    )
    .await;
    assert_eq!(s, 201);
    let pg = vigil_store::open_intake(&url).await.unwrap();
    assert_eq!(pg.intake_pending_count().await.unwrap(), 1);
    w.run_ok(&["desk", "pull"]);
    assert_eq!(pg.intake_pending_count().await.unwrap(), 0);
    assert_eq!(w.desk_list()[0]["text"], "stored in PostgreSQL");
}

/// Creating a database needs a connection outside any store; `psql` from
/// PostgreSQL's client package does it without another Rust dependency.
mod sqlx_free_create_db {
    pub async fn create_database(admin: &str) -> String {
        let name = format!("vigil_e2e_{}", vigil_core::ReportId::generate().unwrap());
        super::succeeded(
            std::process::Command::new("psql")
                .arg(admin)
                .arg("-qc")
                .arg(format!("CREATE DATABASE {name}")),
        );
        let (base, _) = admin.rsplit_once('/').unwrap();
        format!("{base}/{name}")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_serves_all_three_zones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let demo = Demo::spawn(&data);
    let form = get_text(&demo.intake()).await;
    assert!(form.contains("<form method=\"post\" action=\"/report\""));
    let login = client()
        .get(format!("{}/login", demo.desk()))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let public = get_text(&format!("{}/en/index.html", demo.public())).await;
    assert!(public.contains("Reports in total: 6"), "{public}");
    // The demo's record holds OVD-Info's 2013 table, with its attribution.
    assert!(
        public.contains("data-measure=\"detentions\">2037</dd>"),
        "{public}"
    );
    assert!(public.contains("Data: OVD-Info, CC BY 3.0"), "{public}");
    let site = data.join("public/site");
    succeeded(vigil(&["verify"]).arg(&site));
    // The printed passphrase opens the desk next to the running demo.
    let out = succeeded(
        vigil(&["desk", "list", "--json"])
            .arg("--data")
            .arg(&data)
            .env("VIGIL_PASSPHRASE", demo.passphrase()),
    );
    let queue: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(queue.len(), 6);
}

/// A tiny WebDriver client over HTTP: enough to drive Debian's Chromium
/// through chromedriver without another dependency.
struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    async fn start() -> Browser {
        Self::start_with(false).await
    }

    /// `javascript`: whether pages may run scripts (browserseal: the intake's
    /// form seals in the browser when they can).
    async fn start_with(javascript: bool) -> Browser {
        // On a machine loaded by parallel builds, chromedriver has been seen to
        // exit before announcing its port: start it again, a bounded number of times.
        let mut attempt = 0;
        let (driver, mut out, port) = loop {
            attempt += 1;
            let mut driver = Command::new("chromedriver")
                .arg("--port=0")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect(
                    "chromedriver is missing: run the tests with scripts/test, which installs it",
                );
            let mut out = BufReader::new(driver.stdout.take().unwrap());
            let mut line = String::new();
            let port = loop {
                line.clear();
                if out.read_line(&mut line).unwrap_or(0) == 0 {
                    break None;
                }
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    break Some(rest.trim().trim_end_matches('.').to_owned());
                }
            };
            match port {
                Some(port) => break (driver, out, port),
                None => {
                    let _ = driver.wait();
                    assert!(
                        attempt < 3,
                        "chromedriver exited before it started, three times"
                    );
                }
            }
        };
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = out.read_to_end(&mut sink);
        });
        let profile = tempfile::tempdir().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let caps = serde_json::json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         format!("--user-data-dir={}", profile.path().display())],
                // Reporters often use Tor Browser at its safest level: no JavaScript.
                "prefs": { "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 } }
            }
        }}});
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {v}"))
            .to_owned();
        let browser = Browser {
            http,
            base,
            session,
            driver,
            _profile: profile,
        };
        // A page that a click has asked for (a form's POST, say) may still be
        // on its way when the next element is looked up: let the browser look
        // for up to 20 s (a bound, not a sleep) before it says "no such element".
        browser
            .call(
                reqwest::Method::POST,
                "/timeouts",
                serde_json::json!({ "implicit": 20_000 }),
            )
            .await;
        browser
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, url);
        if !body.is_null() {
            request = request.json(&body);
        }
        let v: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(v["value"]["error"].is_null(), "webdriver {path}: {v}");
        v["value"].clone()
    }

    async fn goto(&self, url: &str) {
        self.call(
            reqwest::Method::POST,
            "/url",
            serde_json::json!({ "url": url }),
        )
        .await;
    }

    async fn find(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                serde_json::json!({ "using": "css selector", "value": css }),
            )
            .await;
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {v}"))
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/value"),
            serde_json::json!({ "text": text }),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{e}/click"),
            serde_json::json!({}),
        )
        .await;
    }

    /// The text of the first element matching `css`. A page that is still
    /// being replaced (after a form's POST) can make the element found go
    /// stale before its text is read: then it is looked up again, a bounded
    /// number of times.
    async fn text_of(&self, css: &str) -> String {
        for _ in 0..100 {
            let e = self.find(css).await;
            let url = format!("{}/session/{}/element/{e}/text", self.base, self.session);
            let v: Value = self
                .http
                .get(url)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let error = v["value"]["error"].as_str().unwrap_or("");
            // Chromium says it either way when the page was replaced meanwhile.
            let replaced = error == "stale element reference"
                || v["value"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("does not belong to the document"));
            if replaced {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            assert!(error.is_empty(), "webdriver text of {css}: {v}");
            return v["value"].as_str().unwrap().to_owned();
        }
        panic!("{css}: the element went stale 100 times");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reporter_sends_the_form_from_chromium_with_javascript_off() {
    let mut w = World::new();
    let intake = w.start_intake();
    let browser = Browser::start().await;
    browser.goto(&format!("{intake}/")).await;
    assert_eq!(browser.text_of("h1").await, "Сообщить о преследовании");
    // The language switch, then the form in English.
    browser.click("header a[hreflang]").await;
    assert_eq!(browser.text_of("h1").await, "Report persecution");
    browser
        .type_into(
            "#text",
            "Browser-marker: my neighbour was detained at a single picket",
        )
        .await;
    browser.click("input[name=urgent]").await;
    browser.type_into("#contact", "ask at the hotline").await;
    browser.click("button[type=submit]").await;
    let receipt = browser.text_of("#receipt").await;
    assert!(receipt.parse::<vigil_core::Receipt>().is_ok(), "{receipt}");
    assert!(browser.text_of(".urgent").await.contains("duty lawyer"));

    w.run_ok(&["desk", "pull"]);
    let queue = w.desk_list();
    assert_eq!(queue.len(), 1);
    assert!(
        queue[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Browser-marker")
    );
    assert_eq!(queue[0]["urgent"], true);
    assert_eq!(queue[0]["lang"], "en");
    assert_eq!(queue[0]["channel"], "web_form");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_reports_is_stored_whole_each_with_its_own_receipt() {
    let mut w = World::new();
    let intake = w.start_intake();
    let c = client();
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let c = c.clone();
            let url = format!("{intake}/api/v1/reports");
            tokio::spawn(async move {
                let r = c
                    .post(url)
                    .json(&serde_json::json!({ "text": format!("burst report {i}") }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 201);
                let v: Value = r.json().await.unwrap();
                v["receipt"].as_str().unwrap().to_owned()
            })
        })
        .collect();
    let mut receipts = Vec::new();
    for t in tasks {
        receipts.push(t.await.unwrap());
    }
    receipts.sort();
    receipts.dedup();
    assert_eq!(receipts.len(), 200);
    // Every 201 meant durable: all 200 are in the store before any pull.
    assert_eq!(
        w.intake_store().await.intake_pending_count().await.unwrap(),
        200
    );
    w.run_ok(&["desk", "pull"]);
    let mut texts: Vec<String> = w
        .desk_list()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_owned())
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 200);
}

/// `vigil link` is the main binary's subcommand (not only the crate's own
/// `vigil-link`): on the committed evaluation set it gives the F1 recorded in
/// docs/linkage.md, writes one cluster row per record, and a spec naming a
/// column the file does not have is refused with the file and the column.
#[test]
fn vigil_link_gives_the_recorded_f1_through_the_main_binary() {
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vigil-linkage/testdata");
    let spec = testdata.join("russian.toml");
    let input = testdata.join("russian-2k.csv");
    let dir = tempfile::tempdir().unwrap();
    let clusters = dir.path().join("clusters.csv");
    let out = succeeded(&mut vigil(&[
        "link",
        "--spec",
        spec.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--out",
        clusters.to_str().unwrap(),
        "--truth-column",
        "entity_id",
        "--json",
        "--quiet",
    ]));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f1 = v["f1"].as_f64().unwrap();
    assert!((f1 - 0.9958).abs() < 5e-4, "F1 {f1}, recorded 0.9958");
    let rows = fs::read_to_string(&clusters).unwrap();
    let records = fs::read_to_string(&input).unwrap().lines().count() - 1;
    assert_eq!(
        rows.lines().count() - 1,
        records,
        "one cluster row per record"
    );

    let bad = dir.path().join("bad.toml");
    fs::write(
        &bad,
        "id = \"rec_id\"\n[fields]\nno_such_column = \"surname\"\n",
    )
    .unwrap();
    let out = vigil(&[
        "link",
        "--spec",
        bad.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--quiet",
    ])
    .output()
    .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("russian-2k.csv") && err.contains("no_such_column"),
        "{err}"
    );
}
