//! intakefast: the intake's SQLite writer (a direct binding on a thread of
//! its own) answers 201 only once a report is committed, so a report answered
//! before the process is killed (SIGKILL, no shutdown) is in the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{World, client};

#[tokio::test(flavor = "multi_thread")]
async fn every_answered_report_survives_a_sigkill_under_load() {
    let mut w = World::new();
    let intake = w.start_intake();
    let answered = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(AtomicBool::new(false));
    let c = client();
    let senders: Vec<_> = (0..32)
        .map(|i| {
            let (c, answered, killed) = (c.clone(), answered.clone(), killed.clone());
            let url = format!("{intake}/api/v1/reports");
            tokio::spawn(async move {
                let mut n = 0;
                while !killed.load(Ordering::SeqCst) {
                    n += 1;
                    let sent = c
                        .post(&url)
                        .json(&serde_json::json!({ "text": format!("kill test {i} {n}") }))
                        .send()
                        .await;
                    match sent {
                        // Counted only when the whole answer arrived.
                        Ok(r) if r.status() == 201 => {
                            if r.bytes().await.is_ok() {
                                answered.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        Ok(r) => panic!("the intake answered {} under load", r.status()),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    // Kill it while reports are coming in, once a few hundred are answered.
    let start = Instant::now();
    while answered.load(Ordering::SeqCst) < 300 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the intake answered only {} reports in two minutes",
            answered.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let intake_process = w.children.last_mut().unwrap();
    intake_process.kill().unwrap();
    intake_process.wait().unwrap();
    killed.store(true, Ordering::SeqCst);
    for s in senders {
        s.await.unwrap();
    }
    let answered = answered.load(Ordering::SeqCst);
    let stored = w.intake_store().await.intake_pending_count().await.unwrap();
    // More may be stored than answered (committed, but killed before the
    // answer went out); never fewer.
    assert!(
        stored >= answered as u64,
        "{answered} reports were answered 201 but only {stored} are stored"
    );
}

/// intake8: `vigil bench-floor`, the benchmark's floor (bench/intake), does
/// what it says: each report is in its SQLite file when its 201 and receipt
/// arrive, sealed so that the desk's identity opens it to the text sent; a
/// blank report is refused and nothing is stored for it; with `--storage
/// intake` reports land in the intake's own store; it listens on loopback only.
#[tokio::test(flavor = "multi_thread")]
async fn the_benchmarks_floor_seals_and_stores_each_report_before_answering() {
    let mut w = World::new();
    let recipient = std::fs::read_to_string(w.data().join("desk/recipient.txt")).unwrap();
    let recipient = recipient.trim().to_owned();
    let refused = w.run(&[
        "bench-floor",
        "--listen",
        "0.0.0.0:0",
        "--recipient",
        &recipient,
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("loopback"));
    let floor = w.serve(
        &[
            "bench-floor",
            "--listen",
            "127.0.0.1:0",
            "--recipient",
            &recipient,
        ],
        "bench-floor listening on",
    );
    let url = format!("{floor}/api/v1/reports");
    let c = client();
    let marker = "floor marker Задержан у метро";
    let db = rusqlite::Connection::open(w.data().join("floor.db")).unwrap();
    let count = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT count(*) FROM reports", [], |r| r.get(0))
            .unwrap()
    };
    let mut receipts = Vec::new();
    for i in 0..3 {
        let r = c
            .post(&url)
            .json(&serde_json::json!({ "text": format!("{marker} {i}"), "lang": "ru" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let body: serde_json::Value = r.json().await.unwrap();
        receipts.push(body["receipt"].as_str().unwrap().to_owned());
        // Committed before the answer: the row is there the moment it arrives.
        assert_eq!(count(&db), i + 1, "answered before the report was stored");
    }
    receipts.sort();
    receipts.dedup();
    assert_eq!(receipts.len(), 3, "each report gets its own receipt");
    assert!(receipts.iter().all(|r| r.len() >= 26), "{receipts:?}");
    let blank = c
        .post(&url)
        .json(&serde_json::json!({ "text": "   " }))
        .send()
        .await
        .unwrap();
    assert_eq!(blank.status(), 422);
    assert_eq!(count(&db), 3, "nothing stored for the blank one");
    let sealed: Vec<Vec<u8>> = db
        .prepare("SELECT sealed FROM reports ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let passphrase = vigil_core::keys::SecretString::from(super::PASS.to_owned());
    let identity =
        vigil_core::keys::read_identity(&w.data().join("desk/identity.age"), &passphrase).unwrap();
    for (i, s) in sealed.iter().enumerate() {
        assert!(!super::contains(s, "floor marker"));
        let opened: serde_json::Value = serde_json::from_slice(&identity.open(s).unwrap()).unwrap();
        assert_eq!(opened["text"], format!("{marker} {i}"));
    }

    // The intake's own store: a folder of its own, the intake's table.
    let folder = w.dir.path().join("floor-intake-store");
    let mut cmd = super::vigil(&[
        "bench-floor",
        "--listen",
        "127.0.0.1:0",
        "--storage",
        "intake",
        "--recipient",
        &recipient,
        "--data",
    ]);
    cmd.arg(&folder);
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let base = line
        .trim()
        .strip_prefix("bench-floor listening on")
        .unwrap()
        .trim()
        .to_owned();
    let r = c
        .post(format!("{base}/api/v1/reports"))
        .json(&serde_json::json!({ "text": marker }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let stored: i64 = rusqlite::Connection::open(folder.join("intake.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM intake_reports", [], |r| r.get(0))
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 201);
    assert_eq!(stored, 1);
}
