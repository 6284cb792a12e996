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
