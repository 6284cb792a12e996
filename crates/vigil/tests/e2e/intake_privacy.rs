//! The intake reveals nothing when seized: its output has no time finer than the
//! day and no line per report, even at `VIGIL_LOG=trace`; purged ciphertext is
//! gone from the database and its WAL; no counter of reports ever received; the
//! receipt key can live away from the database.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::json;

use super::{World, client, contains, post_json};

/// An intake process whose every printed byte is kept apart from other
/// processes' output.
struct RunningIntake {
    url: String,
    child: Child,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<JoinHandle<()>>,
}

impl RunningIntake {
    fn start(w: &World, env: &[(&str, &str)]) -> RunningIntake {
        let mut command = w.command(&["intake"]);
        command.env_remove("VIGIL_RECEIPT_KEY_FILE");
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output: Arc<Mutex<Vec<u8>>> = Arc::default();
        let mut stderr = child.stderr.take().unwrap();
        let sink = output.clone();
        let err_reader = std::thread::spawn(move || {
            let mut all = Vec::new();
            let _ = stderr.read_to_end(&mut all);
            sink.lock().unwrap().extend_from_slice(&all);
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let url = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the intake exited before it was ready: {}",
                String::from_utf8_lossy(&output.lock().unwrap())
            );
            output.lock().unwrap().extend_from_slice(line.as_bytes());
            if let Some(rest) = line.trim().strip_prefix("intake listening on") {
                break rest.trim().to_owned();
            }
        };
        let sink = output.clone();
        let out_reader = std::thread::spawn(move || {
            let mut rest = Vec::new();
            let _ = stdout.read_to_end(&mut rest);
            sink.lock().unwrap().extend_from_slice(&rest);
        });
        w.write_desk_config(&url);
        RunningIntake {
            url,
            child,
            output,
            readers: vec![err_reader, out_reader],
        }
    }

    /// Stops the intake and returns everything it printed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        String::from_utf8(self.output.lock().unwrap().clone()).unwrap()
    }
}

/// Whether a text holds a time of day, `HH:MM` (with or without seconds).
fn has_time_of_day(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == b':'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit()
    })
}

#[test]
fn the_time_check_sees_a_time() {
    assert!(has_time_of_day("2026-12-06T23:41:07.123456Z  INFO purged"));
    assert!(!has_time_of_day("2026-12-06  WARN the receipt key is …"));
}

#[tokio::test(flavor = "multi_thread")]
async fn at_trace_level_the_intake_prints_no_time_of_day_and_no_line_per_report() {
    let w = World::new();
    let intake = RunningIntake::start(&w, &[("VIGIL_LOG", "trace")]);
    let c = client();
    for i in 0..4 {
        let (status, body) = post_json(
            &intake.url,
            json!({ "text": format!("log-test report {i}"), "urgent": i == 0 }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    let page = c
        .post(format!("{}/report", intake.url))
        .form(&[("text", "log-test form report"), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // Refusals: an empty report, an unknown field, a wrong address.
    let (status, _) = post_json(&intake.url, json!({ "text": " " })).await;
    assert_eq!(status, 422);
    let (status, _) = post_json(&intake.url, json!({ "text": "x", "extra": 1 })).await;
    assert_eq!(status, 400);
    let r = c
        .get(format!("{}/nowhere", intake.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // The desk pulls and acknowledges, twice (the second pull finds nothing).
    let out = w.run_ok(&["desk", "pull"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 new"));
    w.run_ok(&["desk", "pull"]);

    let printed = intake.stop();
    assert!(
        !has_time_of_day(&printed),
        "a time of day in the intake's output:\n{printed}"
    );
    // Only the start-up lines: where it listens, and the warning that the
    // receipt key sits beside the database (this test keeps the default).
    let lines: Vec<&str> = printed.lines().filter(|l| !l.trim().is_empty()).collect();
    let expected_start = |l: &&str| {
        l.starts_with("intake listening on")
            || l.contains("the receipt key is in the database's folder")
    };
    let unexpected: Vec<&&str> = lines.iter().filter(|l| !expected_start(l)).collect();
    assert!(
        unexpected.is_empty(),
        "the intake printed lines beyond its start-up ({} reports sent):\n{}",
        5,
        printed
    );
    // Log lines carry the day.
    let warning = lines
        .iter()
        .find(|l| l.contains("receipt key"))
        .unwrap_or_else(|| panic!("no warning about the receipt key:\n{printed}"));
    let day = vigil_core::Day::today().to_string();
    assert!(warning.starts_with(&day[..8]), "{warning}");
}

#[tokio::test(flavor = "multi_thread")]
async fn purged_reports_leave_no_ciphertext_in_the_database_or_its_wal() {
    let w = World::new();
    let intake = RunningIntake::start(&w, &[]);
    for i in 0..20 {
        let (status, _) = post_json(
            &intake.url,
            json!({ "text": format!("report {i} {}", "подробности ".repeat(40)) }),
        )
        .await;
        assert_eq!(status, 201);
    }
    let db = w.data().join("intake/intake.db");
    let wal = w.data().join("intake/intake.db-wal");
    let files = || {
        let mut bytes = fs::read(&db).unwrap();
        bytes.extend(fs::read(&wal).unwrap_or_default());
        bytes
    };
    let count = |bytes: &[u8]| {
        bytes
            .windows(b"age-encryption.org".len())
            .filter(|w| *w == b"age-encryption.org")
            .count()
    };
    // The check can see ciphertext where there is some.
    assert!(count(&files()) >= 20, "no sealed report found on disk");

    let out = w.run_ok(&["desk", "pull"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("20 new"));
    let on_disk = files();
    assert_eq!(
        count(&on_disk),
        0,
        "purged ciphertext is still in intake.db or intake.db-wal"
    );
    // The acknowledgement truncated the WAL.
    assert_eq!(fs::metadata(&wal).map(|m| m.len()).unwrap_or(0), 0);
    // No AUTOINCREMENT counter of every report ever received.
    assert!(contains(&on_disk, "intake_reports"));
    assert!(
        !contains(&on_disk, "sqlite_sequence"),
        "intake.db has a sqlite_sequence table"
    );
    intake.stop();
    let store = w.intake_store().await;
    assert_eq!(store.intake_pending_count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_receipt_key_can_live_away_from_the_database() {
    let w = World::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let key_file = elsewhere.path().join("keys/intake-receipts.key");
    let intake = RunningIntake::start(
        &w,
        &[("VIGIL_RECEIPT_KEY_FILE", key_file.to_str().unwrap())],
    );
    let (status, body) = post_json(&intake.url, json!({ "text": "receipt-key test" })).await;
    assert_eq!(status, 201, "{body}");
    let receipt: vigil_core::Receipt = body["receipt"].as_str().unwrap().parse().unwrap();
    let printed = intake.stop();
    assert!(
        !printed.contains("receipt key is in the database's folder"),
        "{printed}"
    );

    // The key was made where it was told, and is the one in use.
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(fs::read_to_string(&key_file).unwrap().trim(), &mut bytes).unwrap();
    let key = vigil_core::ReceiptKey::from_bytes(bytes);
    let store = w.intake_store().await;
    let pending = store.intake_pending(10).await.unwrap();
    assert_eq!(pending[0].receipt_hash, key.hash(&receipt));
    assert!(
        store
            .intake_receipt_known(&key.hash(&receipt))
            .await
            .unwrap()
    );
    for f in super::files_under(&w.data().join("intake")) {
        assert_ne!(
            f.file_name().unwrap(),
            "receipt.key",
            "a receipt key in the database's folder"
        );
    }

    // The same from the config file, with receipt_days checked.
    let config = w.data().join("intake/intake.toml");
    let text = fs::read_to_string(&config).unwrap();
    fs::write(&config, format!("{text}receipt_days = 0\n")).unwrap();
    let out = w.run(&["intake"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("receipt_days"));
    let key_file2 = elsewhere.path().join("from-config.key");
    fs::write(
        &config,
        format!(
            "{text}receipt_days = 30\nreceipt_key_file = \"{}\"\n",
            key_file2.display()
        ),
    )
    .unwrap();
    let intake = RunningIntake::start(&w, &[]);
    let (status, _) = post_json(&intake.url, json!({ "text": "second" })).await;
    assert_eq!(status, 201);
    intake.stop();
    assert!(key_file2.exists());
}
