//! The desk's side of a pull: what the intake answers, as the desk reads it.
//!
//! `Puller::fetch` reads the answer with reqwest's `Response::json`, which is
//! `serde_json::from_slice::<PullResponse>` on the whole body: this target
//! calls exactly that (no HTTP needed), so the parser under test is vigil's
//! `PullResponse` with its custom fields (report ids, hex receipt hashes,
//! base64 age files, days). An answer the desk accepts then goes where
//! `pull_all` sends it: into a real SQLite desk store, and into the triage
//! queue, which opens every report with the desk's identity.
//!
//! A seized or impersonated intake controls these bytes, so beyond "no panic":
//! storing an accepted answer must not fail (a failure would stop every later
//! pull), every distinct report must be stored once and unchanged, and the
//! queue must list each one, opened or marked as unopenable.

use std::collections::BTreeMap;

use vigil_core::sealed::{AckResponse, PullResponse};
use vigil_core::{DeskIdentity, ReportId, SealedReport};

use crate::{Outcome, SetupError, Target, Violation, ensure, excerpt};

pub struct DeskPullTarget {
    runtime: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    identity: DeskIdentity,
    /// Each accepted answer gets a fresh store, so checks need no history.
    stores: u64,
}

impl DeskPullTarget {
    pub fn new() -> Result<Self, SetupError> {
        Ok(DeskPullTarget {
            runtime: crate::runtime("desk_pull")?,
            dir: crate::scratch_dir("desk_pull")?,
            identity: DeskIdentity::generate(),
            stores: 0,
        })
    }

    async fn store_and_queue(&self, reports: &[SealedReport], data: &[u8]) -> Outcome {
        let path = self.dir.path().join(format!("desk-{}.db", self.stores));
        let store = vigil_store::open_desk(&vigil_store::sqlite_url(&path))
            .await
            .map_err(|e| Violation(format!("cannot open a desk store: {e}")))?;
        let show = || excerpt(data);
        let new = store.desk_store_pulled(reports).await.map_err(|e| {
            Violation(format!(
                "storing an answer the desk accepted failed ({e}); every later pull would fail too: {}",
                show()
            ))
        })?;
        let mut first: BTreeMap<ReportId, &SealedReport> = BTreeMap::new();
        for r in reports {
            first.entry(r.id).or_insert(r);
        }
        ensure(new == first.len() as u64, || {
            format!("{new} stored as new, {} distinct: {}", first.len(), show())
        })?;
        let held = store.desk_reports().await.map_err(|e| {
            Violation(format!(
                "reading back what was stored failed ({e}): {}",
                show()
            ))
        })?;
        ensure(held.len() == first.len(), || {
            format!("{} held, {} distinct: {}", held.len(), first.len(), show())
        })?;
        for h in &held {
            ensure(first.get(&h.id) == Some(&h), || {
                format!("report {} changed in storage: {}", h.id, show())
            })?;
        }
        let queue = vigil_desk::open_queue(store.as_ref(), &self.identity)
            .await
            .map_err(|e| Violation(format!("the queue failed ({e}): {}", show())))?;
        ensure(queue.len() == first.len(), || {
            format!(
                "the queue lists {} of {} reports: {}",
                queue.len(),
                first.len(),
                show()
            )
        })?;
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Ok(())
    }
}

impl Target for DeskPullTarget {
    fn run(&mut self, data: &[u8]) -> Outcome {
        // The acknowledgement's answer goes through the same reader.
        let _ = serde_json::from_slice::<AckResponse>(data);
        let Ok(answer) = serde_json::from_slice::<PullResponse>(data) else {
            return Ok(());
        };
        self.stores += 1;
        self.runtime
            .block_on(self.store_and_queue(&answer.reports, data))
    }
}
