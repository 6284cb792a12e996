//! The one writer of the intake's store. Handlers hand it sealed reports and
//! wait; it commits whatever has queued up in one transaction, so that a burst of
//! submissions shares one fsync while each is still durable before its answer.
//! intake5: it commits the next batch while the last one's fsync is under way
//! (`IntakeStore::intake_insert_pipelined`); each answer still waits for its sync.
//! intake6: where the store has a writer thread of its own (an SQLite file),
//! a report goes straight to it (`IntakeStore::intake_report_queue`) and is
//! answered from the store's syncer: no task here, and no wake-ups across
//! threads per batch beyond the store's own.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use vigil_store::{IntakeStore, SealedReport};

/// The most reports committed in one transaction.
const MAX_BATCH: usize = 512;
/// Reports that may wait for the writer before submitters are slowed down.
const QUEUE: usize = 8192;

struct Job {
    report: SealedReport,
    done: oneshot::Sender<bool>,
}

#[derive(Clone)]
pub struct Writer(Via);

#[derive(Clone)]
enum Via {
    /// Batches gathered by a task here (PostgreSQL, SQLite in memory).
    Task(mpsc::Sender<Job>),
    /// intake6: the store's own writer thread gathers them.
    Store(vigil_store::ReportQueue),
}

#[derive(Debug)]
pub struct NotStored;

impl Writer {
    pub fn spawn(store: Arc<dyn IntakeStore>) -> Writer {
        if let Some(queue) = store.intake_report_queue() {
            return Writer(Via::Store(queue));
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, rx));
        Writer(Via::Task(tx))
    }

    /// Returns once the report is committed and durable, or with an error if
    /// it is not.
    pub async fn store(&self, report: SealedReport) -> Result<(), NotStored> {
        let tx = match &self.0 {
            Via::Store(queue) => return queue.store(report).await.map_err(|_| NotStored),
            Via::Task(tx) => tx,
        };
        let (done, wait) = oneshot::channel();
        tx.send(Job { report, done }).await.map_err(|_| NotStored)?;
        match wait.await {
            Ok(true) => Ok(()),
            _ => Err(NotStored),
        }
    }
}

async fn run(store: Arc<dyn IntakeStore>, mut rx: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
        let (reports, dones): (Vec<_>, Vec<_>) = jobs.drain(..).map(|j| (j.report, j.done)).unzip();
        let reports = Arc::new(reports);
        // intake5: wait for the commit only; the batch's answers wait for its
        // sync on a task of their own while the next batch is committed.
        match store.intake_insert_pipelined(reports.clone()).await {
            Ok(durable) => {
                drop(reports);
                tokio::spawn(async move {
                    let ok = durable.wait().await.is_ok();
                    for done in dones {
                        let _ = done.send(ok);
                    }
                });
            }
            Err(e) if reports.len() > 1 => {
                // One bad report must not sink the others: store them one by
                // one, each durable before its answer.
                tracing::warn!(batch = reports.len(), error = %e, "batch commit failed; retrying one by one");
                for (report, done) in reports.iter().zip(dones) {
                    let ok = store
                        .intake_insert(std::slice::from_ref(report))
                        .await
                        .is_ok();
                    let _ = done.send(ok);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "a report could not be stored");
                for done in dones {
                    let _ = done.send(false);
                }
            }
        }
    }
}
