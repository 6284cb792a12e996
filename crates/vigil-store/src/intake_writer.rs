//! intakefast: the intake's inserts on SQLite, through a direct binding
//! (rusqlite) on one thread of their own.
//!
//! Under load, storing reports through sqlx cost about a quarter of the
//! intake's CPU (bench/intake, perf): every statement went to sqlx's worker
//! thread and back over a channel, every value was copied into owned
//! arguments, a multi-row INSERT needed a statement journal, and the batches
//! landed on whichever of the pool's connections was free, each of which then
//! found its page cache stale (another connection had written) and read the
//! pages again. Here one connection, on one thread, keeps its cache and its
//! two prepared INSERTs, and writes each batch in one transaction that takes
//! the write lock at once (`BEGIN IMMEDIATE`).
//!
//! intake5: a commit pipeline. Three threads, each with its own handle:
//!
//! - the **writer** commits a batch with `synchronous = OFF` (the COMMIT
//!   writes the WAL frames into the OS's cache and returns without an fsync)
//!   and `wal_autocheckpoint = 0` (it never checkpoints), hands the batch's
//!   acknowledgement to the syncer and goes on to the next batch at once;
//! - the **syncer** calls `fdatasync` on its own handle of the `-wal` file
//!   (on Linux an fsync through any descriptor flushes the inode's dirty
//!   pages, whichever descriptor wrote them) and only then answers the
//!   batches committed before that sync began; batches that queued up
//!   meanwhile share the next sync;
//! - the **checkpointer** runs `PRAGMA wal_checkpoint(PASSIVE)` on a third
//!   connection with `synchronous = FULL`, so that SQLite fsyncs the WAL
//!   before copying frames into the database and the database after, before
//!   it records the frames as copied: the writer restarts the WAL (writes
//!   over its old frames) only over a synced database.
//!
//! So a report is answered only after the WAL frames holding its commit are
//! on disk, as with `synchronous = FULL`, but the writer does not wait for
//! the disk. Why this holds after a power loss, and what a crash between a
//! COMMIT and its sync can lose (reports nobody was told were stored), is in
//! docs/zones.md ("The intake's commit pipeline"). PostgreSQL, and SQLite in
//! memory (tests), keep the sqlx path.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, mpsc};

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use tokio::sync::oneshot;
use vigil_core::SealedReport;

use crate::StoreError;
use crate::intake::Durable;

/// About how many bytes of WAL the writer appends before it asks for a
/// passive checkpoint (SQLite's own default is 1,000 pages, 4 MiB).
const CHECKPOINT_BYTES: u64 = 4 << 20;
/// WAL frames beyond which the writer waits for a checkpoint before its next
/// batch: the WAL restarts only once every frame has been copied, which under
/// a steady stream of batches a passive checkpoint alongside never catches.
const WAL_FRAMES_LIMIT: u64 = 16_384;

struct Batch {
    reports: Arc<Vec<SealedReport>>,
    committed: oneshot::Sender<Result<Durable, StoreError>>,
}

/// What the writer thread is handed.
enum Job {
    /// A batch gathered by the caller (`IntakeStore::intake_insert_pipelined`).
    Batch(Batch),
    /// intake6: one report straight from its request (a [`ReportQueue`]); the
    /// thread gathers what has queued up into one transaction, and the syncer
    /// answers each report once its commit is on disk.
    One(SealedReport, oneshot::Sender<Result<(), StoreError>>),
}

/// Who is told once a committed batch is synced.
enum Answer {
    /// The caller's batch, through its [`Durable`].
    Durable(oneshot::Sender<Result<(), StoreError>>),
    /// intake6: each report's own request.
    Reports(Vec<oneshot::Sender<Result<(), StoreError>>>),
}

/// A committed batch waiting for its sync.
struct Unsynced {
    /// The writer's count of committed batches, this one included.
    seq: u64,
    answer: Answer,
}

/// intake6: the most reports the writer thread gathers into one transaction
/// from its queue (as the intake's own writer task did).
const MAX_GATHERED: usize = 512;
/// intake6: while the syncer syncs the last gathered reports, the writer
/// waits for that sync to end before it commits the reports that came since
/// (they could not be answered before the next sync anyway), unless this
/// many have queued up.
const GATHER_WHILE_SYNCING: usize = 128;

/// intake6: the writer thread's queue. A report handed in while the
/// syncer is syncing the last gathered ones does not wake the writer: it
/// waits for the syncer to say the sync ended, and then commits everything
/// that came meanwhile in one transaction. (With a channel that woke the
/// writer for every report, it committed one or two at a time, each commit
/// a wake-up, a transaction and its pages.)
struct Inbox {
    state: Mutex<InboxState>,
    wake: Condvar,
}

#[derive(Default)]
struct InboxState {
    jobs: VecDeque<Job>,
    /// Callers' batches among `jobs`: they are committed at once.
    batches: usize,
    /// Gathered reports are committed and not yet synced.
    syncing: bool,
    /// The writer is waiting on `wake`.
    waiting: bool,
    /// Handles that can still send; the writer ends when none is left and
    /// the queue is empty.
    senders: usize,
    /// The writer or the syncer thread has ended (a panic): nothing queued
    /// or sent from now on can be stored, so each waiter is told at once
    /// instead of waiting for good (review).
    closed: bool,
}

impl InboxState {
    fn ready(&self) -> bool {
        !self.jobs.is_empty()
            && (!self.syncing
                || self.batches > 0
                || self.jobs.len() >= GATHER_WHILE_SYNCING
                || self.senders == 0)
    }
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, InboxState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything queued, once the writer should commit it; `None` once no
    /// handle is left and nothing is queued.
    fn take(&self) -> Option<VecDeque<Job>> {
        let mut st = self.lock();
        loop {
            if st.closed {
                return None;
            }
            if st.ready() {
                st.batches = 0;
                return Some(std::mem::take(&mut st.jobs));
            }
            if st.senders == 0 && st.jobs.is_empty() {
                return None;
            }
            st.waiting = true;
            st = self.wake.wait(st).unwrap_or_else(PoisonError::into_inner);
            st.waiting = false;
        }
    }

    /// Marks the queue closed and drops what waits in it: each waiter's
    /// answer channel closes, which it reads as "not stored".
    fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.syncing = false;
        let jobs = std::mem::take(&mut st.jobs);
        st.batches = 0;
        let wake = st.waiting;
        drop(st);
        drop(jobs);
        if wake {
            self.wake.notify_one();
        }
    }

    fn set_syncing(&self, syncing: bool) {
        let mut st = self.lock();
        st.syncing = syncing;
        let wake = st.waiting && st.ready();
        drop(st);
        if wake {
            self.wake.notify_one();
        }
    }
}

/// A handle on the writer's queue.
struct InboxSender(Arc<Inbox>);

impl InboxSender {
    fn new(inbox: Arc<Inbox>) -> InboxSender {
        inbox.lock().senders += 1;
        InboxSender(inbox)
    }

    fn send(&self, job: Job) {
        let mut st = self.0.lock();
        if st.closed {
            // Its answer channel closes: the caller hears "not stored".
            drop(st);
            drop(job);
            return;
        }
        if matches!(job, Job::Batch(_)) {
            st.batches += 1;
        }
        st.jobs.push_back(job);
        let wake = st.waiting && st.ready();
        drop(st);
        if wake {
            self.0.wake.notify_one();
        }
    }
}

impl Clone for InboxSender {
    fn clone(&self) -> Self {
        InboxSender::new(self.0.clone())
    }
}

impl Drop for InboxSender {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        st.senders -= 1;
        let wake = st.waiting;
        drop(st);
        if wake {
            self.0.wake.notify_one();
        }
    }
}

/// intake6: a handle that hands one report at a time straight to the SQLite
/// writer thread, and is answered by the syncer thread once the report's
/// commit is on disk. Between a request's task and its answer there is then no
/// other task: before, every batch went through the intake's writer task, a
/// `committed` and a `durable` answer and a task spawned to pass the answer
/// on, each a wake-up across threads.
#[derive(Clone)]
pub struct ReportQueue {
    tx: InboxSender,
}

impl ReportQueue {
    /// Returns `Ok` once the report is committed and its commit synced to
    /// disk; on error it is not stored.
    pub async fn store(&self, report: SealedReport) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx.send(Job::One(report, done));
        wait.await.map_err(|_| StoreError::WriterGone)?
    }
}

/// Closes the writer's queue when the thread holding it ends, normally or by
/// a panic (review: a panicking writer left every request waiting for good).
struct CloseOnExit<'a>(&'a Inbox);

impl Drop for CloseOnExit<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

enum Checkpoint {
    /// Copy what there is; nobody waits.
    Soon,
    /// Copy what there is and say when done (the writer waits).
    Now(mpsc::Sender<()>),
    /// Copy everything and truncate the WAL (after deletions, so that purged
    /// ciphertext is in neither file); says whether it did. Run here rather
    /// than on the pool, where it would find this thread's checkpoint busy.
    Truncate(oneshot::Sender<bool>),
}

/// What the three threads share, for the writer's limits and for tests.
#[derive(Default)]
pub(crate) struct Progress {
    /// Batches committed by the writer.
    pub(crate) committed: AtomicU64,
    /// The highest batch number whose WAL frames the syncer has synced.
    pub(crate) synced: AtomicU64,
    /// Frames in the WAL at the last checkpoint.
    wal_frames: AtomicU64,
    /// Set once a sync failed: the WAL's state on disk is then unknown (Linux
    /// may have dropped the dirty pages), so nothing more is acknowledged.
    broken: AtomicBool,
}

/// The handle of the writing thread; the threads end when this is dropped.
pub(crate) struct SqliteWriter {
    tx: InboxSender,
    checkpoint: mpsc::SyncSender<Checkpoint>,
    #[cfg(test)]
    pub(crate) progress: Arc<Progress>,
}

/// For tests: the syncer says how many batches it is about to sync, then
/// waits for a go before syncing.
#[cfg(test)]
pub(crate) struct Gate {
    pub(crate) reached: mpsc::Sender<usize>,
    pub(crate) go: mpsc::Receiver<()>,
}

impl SqliteWriter {
    /// Opens the writer's and the checkpointer's connections to the (already
    /// migrated) database file and starts the three threads.
    pub(crate) fn start(path: PathBuf) -> Result<SqliteWriter, StoreError> {
        Self::start_gated(
            path,
            #[cfg(test)]
            None,
        )
    }

    pub(crate) fn start_gated(
        path: PathBuf,
        #[cfg(test)] gate: Option<Gate>,
    ) -> Result<SqliteWriter, StoreError> {
        let open_err = |e: rusqlite::Error| StoreError::Open(e.to_string());
        let conn = open_writer(&path).map_err(open_err)?;
        let checkpointer = crate::direct::open(
            &path,
            OpenFlags::SQLITE_OPEN_URI,
            "PRAGMA synchronous = FULL; PRAGMA cache_size = -1024;",
        )
        .map_err(open_err)?;
        let mut wal = path.clone().into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let progress = Arc::new(Progress::default());
        let spawn_err = |e: std::io::Error| StoreError::Open(e.to_string());

        let inbox = Arc::new(Inbox {
            state: Mutex::new(InboxState::default()),
            wake: Condvar::new(),
        });
        let tx = InboxSender::new(inbox.clone());
        let (sync_tx, sync_rx) = mpsc::channel::<Unsynced>();
        let p = progress.clone();
        let writer_inbox = inbox.clone();
        std::thread::Builder::new()
            .name("intake-syncer".into())
            .spawn(move || {
                sync_loop(
                    &wal,
                    &sync_rx,
                    &inbox,
                    &p,
                    #[cfg(test)]
                    gate,
                )
            })
            .map_err(spawn_err)?;

        let (ckpt_tx, ckpt_rx) = mpsc::sync_channel::<Checkpoint>(1);
        let p = progress.clone();
        std::thread::Builder::new()
            .name("intake-ckpt".into())
            .spawn(move || checkpoint_loop(&checkpointer, &ckpt_rx, &p))
            .map_err(spawn_err)?;

        let p = progress.clone();
        let checkpoint = ckpt_tx.clone();
        std::thread::Builder::new()
            .name("intake-writer".into())
            .spawn(move || write_loop(conn, &writer_inbox, &sync_tx, &ckpt_tx, &p))
            .map_err(spawn_err)?;
        Ok(SqliteWriter {
            tx,
            checkpoint,
            #[cfg(test)]
            progress,
        })
    }

    /// Commits the reports in one transaction, in order with every other
    /// call; `Ok` once committed, with a [`Durable`] that resolves once the
    /// commit is on disk.
    pub(crate) async fn insert(
        &self,
        reports: Arc<Vec<SealedReport>>,
    ) -> Result<Durable, StoreError> {
        let (committed, wait) = oneshot::channel();
        self.tx.send(Job::Batch(Batch { reports, committed }));
        wait.await.map_err(|_| StoreError::WriterGone)?
    }

    /// intake6: a queue of single reports into this writer.
    pub(crate) fn queue(&self) -> ReportQueue {
        ReportQueue {
            tx: self.tx.clone(),
        }
    }
}

impl SqliteWriter {
    /// A TRUNCATE checkpoint on the checkpoint thread; `Ok(false)` if a
    /// reader kept it from copying everything.
    pub(crate) async fn truncate(&self) -> Result<bool, StoreError> {
        let (done, wait) = oneshot::channel();
        let checkpoint = self.checkpoint.clone();
        // The channel holds one job; waiting for room blocks, so off the runtime.
        tokio::task::spawn_blocking(move || checkpoint.send(Checkpoint::Truncate(done)))
            .await
            .map_err(|_| StoreError::WriterGone)?
            .map_err(|_| StoreError::WriterGone)?;
        wait.await.map_err(|_| StoreError::WriterGone)
    }
}

fn write_loop(
    mut conn: Connection,
    inbox: &Inbox,
    sync: &mpsc::Sender<Unsynced>,
    checkpoint: &mpsc::SyncSender<Checkpoint>,
    progress: &Progress,
) {
    let _closing = CloseOnExit(inbox);
    let mut since_checkpoint: u64 = 0;
    let mut reports: Vec<SealedReport> = Vec::new();
    let mut dones: Vec<oneshot::Sender<Result<(), StoreError>>> = Vec::new();
    while let Some(jobs) = inbox.take() {
        let mut jobs = jobs.into_iter().peekable();
        while let Some(job) = jobs.next() {
            if progress.broken.load(Ordering::Acquire) {
                match job {
                    Job::Batch(batch) => {
                        let _ = batch.committed.send(Err(sync_failed()));
                    }
                    Job::One(_, done) => {
                        let _ = done.send(Err(sync_failed()));
                    }
                }
                continue;
            }
            if progress.wal_frames.load(Ordering::Acquire) >= WAL_FRAMES_LIMIT {
                // Nothing else writes while this waits, so the checkpoint copies
                // every frame and this connection's next write restarts the WAL.
                let (done, wait) = mpsc::channel();
                if checkpoint.send(Checkpoint::Now(done)).is_ok() {
                    let _ = wait.recv();
                }
                progress.wal_frames.store(0, Ordering::Release);
                since_checkpoint = 0;
            }
            let written = match job {
                Job::Batch(batch) => {
                    if let Err(e) = insert(&mut conn, &batch.reports) {
                        let _ = batch.committed.send(Err(StoreError::from(e)));
                        continue;
                    }
                    let seq = progress.committed.fetch_add(1, Ordering::AcqRel) + 1;
                    let (durable, synced) = oneshot::channel();
                    if sync
                        .send(Unsynced {
                            seq,
                            answer: Answer::Durable(durable),
                        })
                        .is_err()
                    {
                        let _ = batch.committed.send(Err(StoreError::WriterGone));
                        continue;
                    }
                    let _ = batch.committed.send(Ok(Durable::pending(synced)));
                    wal_bytes(&batch.reports)
                }
                Job::One(report, done) => {
                    reports.push(report);
                    dones.push(done);
                    // The reports queued after it share its transaction.
                    while reports.len() < MAX_GATHERED && matches!(jobs.peek(), Some(Job::One(..)))
                    {
                        if let Some(Job::One(report, done)) = jobs.next() {
                            reports.push(report);
                            dones.push(done);
                        }
                    }
                    let written = wal_bytes(&reports);
                    commit_gathered(&mut conn, &mut reports, &mut dones, sync, inbox, progress);
                    written
                }
            };
            since_checkpoint += written;
            if since_checkpoint >= CHECKPOINT_BYTES {
                since_checkpoint = 0;
                // One already asked for and not yet begun covers this one.
                let _ = checkpoint.try_send(Checkpoint::Soon);
            }
        }
    }
    // Closing the last connection checkpoints and deletes the WAL; with this
    // connection's `synchronous = OFF` that checkpoint would not sync the
    // database before the WAL goes. With FULL it does.
    let _ = conn.execute_batch("PRAGMA synchronous = FULL;");
}

/// About how many bytes of WAL a batch appends (its blobs and a page's worth
/// of index and receipt entries each).
fn wal_bytes(reports: &[SealedReport]) -> u64 {
    reports.iter().map(|r| r.sealed.len() as u64 + 1024).sum()
}

/// intake6: commits the gathered reports in one transaction and hands their
/// answers to the syncer. If the transaction fails, each report is tried in
/// one of its own, so that one bad report does not sink the others (as the
/// intake's writer task did); a report that fails alone is answered with its
/// error at once. Empties both vectors.
fn commit_gathered(
    conn: &mut Connection,
    reports: &mut Vec<SealedReport>,
    dones: &mut Vec<oneshot::Sender<Result<(), StoreError>>>,
    sync: &mpsc::Sender<Unsynced>,
    inbox: &Inbox,
    progress: &Progress,
) {
    let mut stored = Vec::with_capacity(dones.len());
    match insert(conn, reports) {
        Ok(()) => stored.append(dones),
        Err(e) if reports.len() > 1 => {
            tracing::warn!(batch = reports.len(), error = %e, "batch commit failed; retrying one by one");
            for (report, done) in reports.iter().zip(dones.drain(..)) {
                match insert(conn, std::slice::from_ref(report)) {
                    Ok(()) => stored.push(done),
                    Err(e) => {
                        tracing::error!(error = %e, "a report could not be stored");
                        let _ = done.send(Err(StoreError::from(e)));
                    }
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "a report could not be stored");
            for done in dones.drain(..) {
                let _ = done.send(Err(StoreError::Direct(e.to_string())));
            }
        }
    }
    reports.clear();
    if stored.is_empty() {
        return;
    }
    let seq = progress.committed.fetch_add(1, Ordering::AcqRel) + 1;
    // Reports that come until the syncer has synced these wait to be
    // gathered (see `Inbox`).
    inbox.set_syncing(true);
    if let Err(mpsc::SendError(lost)) = sync.send(Unsynced {
        seq,
        answer: Answer::Reports(stored),
    }) && let Answer::Reports(dones) = lost.answer
    {
        inbox.set_syncing(false);
        for done in dones {
            let _ = done.send(Err(StoreError::WriterGone));
        }
    }
}

fn sync_failed() -> StoreError {
    StoreError::Direct("the write-ahead log could not be synced to disk".into())
}

fn sync_loop(
    wal: &Path,
    rx: &mpsc::Receiver<Unsynced>,
    inbox: &Inbox,
    progress: &Progress,
    #[cfg(test)] gate: Option<Gate>,
) {
    let _closing = CloseOnExit(inbox);
    let mut file: Option<File> = None;
    let mut group: Vec<Unsynced> = Vec::new();
    while let Ok(first) = rx.recv() {
        group.push(first);
        // Everything committed by now shares this sync.
        while let Ok(more) = rx.try_recv() {
            group.push(more);
        }
        #[cfg(test)]
        if let Some(gate) = &gate {
            let _ = gate.reached.send(group.len());
            let _ = gate.go.recv();
        }
        let synced = !progress.broken.load(Ordering::Acquire) && sync_wal(wal, &mut file).is_ok();
        if synced {
            let last = group.iter().map(|u| u.seq).max().unwrap_or(0);
            progress.synced.fetch_max(last, Ordering::AcqRel);
        } else {
            progress.broken.store(true, Ordering::Release);
            tracing::error!(
                "the intake's write-ahead log could not be synced; no report is acknowledged from now on"
            );
        }
        // The writer may commit what has gathered meanwhile (intake6).
        inbox.set_syncing(false);
        let answer = || if synced { Ok(()) } else { Err(sync_failed()) };
        for u in group.drain(..) {
            match u.answer {
                Answer::Durable(durable) => {
                    let _ = durable.send(answer());
                }
                Answer::Reports(dones) => {
                    for done in dones {
                        let _ = done.send(answer());
                    }
                }
            }
        }
    }
}

/// `fdatasync` of the WAL through this thread's own handle. The batches of
/// a group wrote their frames through the writer's descriptor of the WAL,
/// which is the file this thread opened at its first sync (SQLite deletes the
/// WAL only when the last connection closes, and the writer's stays open
/// while there is anything to sync). So the held handle is synced first,
/// whatever the path names now: if the path names another file, that one is
/// synced too and held from then on; if the path names nothing (at shutdown,
/// the checkpointer's connection closed last and removed the WAL after
/// copying it into a synced database), the held handle's sync is the answer.
/// With nothing held and nothing at the path, the sync fails.
fn sync_wal(wal: &Path, file: &mut Option<File>) -> std::io::Result<()> {
    let at_path = match std::fs::metadata(wal) {
        Ok(m) => Some(m.ino()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(held) = file.as_ref() {
        held.sync_data()?;
        if at_path.is_none() || at_path == Some(held.metadata()?.ino()) {
            return Ok(());
        }
    }
    let opened = File::open(wal)?;
    opened.sync_data()?;
    *file = Some(opened);
    Ok(())
}

fn checkpoint_loop(conn: &Connection, rx: &mpsc::Receiver<Checkpoint>, progress: &Progress) {
    while let Ok(job) = rx.recv() {
        let sql = match job {
            Checkpoint::Truncate(_) => "PRAGMA wal_checkpoint(TRUNCATE)",
            _ => "PRAGMA wal_checkpoint(PASSIVE)",
        };
        // (busy, frames in the WAL, frames copied); a reader on an old
        // snapshot can leave frames uncopied, and the next one copies them.
        let frames = conn
            .query_row(sql, [], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(|e| tracing::warn!(error = %e, "the intake's checkpoint failed"));
        if let Ok((_, log, _)) = frames {
            progress
                .wal_frames
                .store(u64::try_from(log).unwrap_or(0), Ordering::Release);
        }
        match job {
            Checkpoint::Soon => {}
            Checkpoint::Now(done) => {
                let _ = done.send(());
            }
            Checkpoint::Truncate(done) => {
                let _ = done.send(matches!(frames, Ok((0, _, _))));
            }
        }
    }
}

fn open_writer(path: &Path) -> rusqlite::Result<Connection> {
    // The pool's settings (db.rs) but for the pipeline's two (above): the
    // journal mode is the file's own (WAL, set when the pool opened it); the
    // others are per connection. The cache is smaller than the pool's 64 MiB:
    // this connection keeps its cache between batches, and with 64 MiB it
    // grew the intake's peak RSS from 39 to 98 MiB under load (the goal is
    // under 64); 8 MiB holds the indexes' upper levels and recent pages, the
    // rest comes from the OS's cache.
    let conn = crate::direct::open(
        path,
        OpenFlags::SQLITE_OPEN_URI,
        "PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 0; PRAGMA secure_delete = ON; \
         PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192;",
    )?;
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))?;
    }
    Ok(conn)
}

/// One transaction for the whole batch: all stored, or none.
fn insert(conn: &mut Connection, reports: &[SealedReport]) -> rusqlite::Result<()> {
    // IMMEDIATE takes the write lock first (waiting out another writer within
    // the busy timeout) rather than upgrading a read lock later, which fails
    // at once when another connection wrote in between.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        // No AUTOINCREMENT or sequence counts every report ever received:
        // each is numbered after the highest one pending.
        let base: i64 = tx
            .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM intake_reports")?
            .query_row([], |r| r.get(0))?;
        // intake4: receipts numbered within their day, appended at the
        // table's end (migration 0004, `receipt_day_base`).
        // The day's text is made once per day in the batch, the id's text in
        // one buffer reused for every report (intake5: no allocation a row).
        let mut numbers: Vec<(vigil_core::Day, i64, String)> = Vec::with_capacity(1);
        let mut last_of_day = tx.prepare_cached(
            "SELECT COALESCE(MAX(n), ?1) FROM intake_receipts WHERE n >= ?1 AND n < ?2",
        )?;
        let mut receipt = tx.prepare_cached(
            "INSERT INTO intake_receipts (n, hash, received) VALUES (?1, ?2, ?3)",
        )?;
        let mut report = tx.prepare_cached(
            "INSERT INTO intake_reports (seq, id, receipt_hash, sealed, received) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut id = String::with_capacity(64);
        let mut seq = base;
        for r in reports {
            seq += 1;
            let at = match numbers.iter().position(|(d, _, _)| *d == r.received) {
                Some(at) => {
                    numbers[at].1 += 1;
                    at
                }
                None => {
                    let first = crate::intake::receipt_day_base(r.received);
                    let last: i64 = last_of_day
                        .query_row(params![first, first + (1 << 32)], |row| row.get(0))?;
                    numbers.push((r.received, last + 1, r.received.to_string()));
                    numbers.len() - 1
                }
            };
            let (_, n, day) = &numbers[at];
            receipt.execute(params![n, &r.receipt_hash[..], day])?;
            id.clear();
            let _ = write!(id, "{}", r.id);
            report.execute(params![
                seq,
                id.as_str(),
                &r.receipt_hash[..],
                &r.sealed[..],
                day
            ])?;
        }
    }
    tx.commit()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::time::Duration;

    use vigil_core::ReportId;

    use super::*;

    fn report(n: u8) -> SealedReport {
        SealedReport {
            id: ReportId::generate().unwrap(),
            receipt_hash: [n; 32],
            sealed: vec![n; 1500],
            received: "2024-05-01".parse().unwrap(),
        }
    }

    /// The WAL's handle: synced when the path names it, when the path names
    /// nothing any more (shutdown), and when the path names another file
    /// (then that one is held); with nothing held and no file, an error.
    #[test]
    fn sync_wal_follows_the_file_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let wal = dir.path().join("intake.db-wal");
        let mut held: Option<File> = None;
        assert!(sync_wal(&wal, &mut held).is_err(), "nothing to sync");
        std::fs::write(&wal, b"frames").unwrap();
        sync_wal(&wal, &mut held).unwrap();
        let first = held.as_ref().unwrap().metadata().unwrap().ino();
        std::fs::remove_file(&wal).unwrap();
        sync_wal(&wal, &mut held).expect("the held handle answers when the path is gone");
        assert_eq!(held.as_ref().unwrap().metadata().unwrap().ino(), first);
        std::fs::write(&wal, b"new frames").unwrap();
        sync_wal(&wal, &mut held).unwrap();
        let second = held.as_ref().unwrap().metadata().unwrap().ino();
        assert_eq!(second, std::fs::metadata(&wal).unwrap().ino());
        assert_ne!(second, first, "the new file is held from then on");
    }

    /// A writer on a fresh intake database whose syncer stops before each
    /// sync: it says how many batches it holds on `reached` and syncs them
    /// when `go` says so.
    async fn gated_writer() -> (
        tempfile::TempDir,
        crate::db::Db,
        SqliteWriter,
        mpsc::Receiver<usize>,
        mpsc::Sender<()>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("intake.db");
        let db = crate::db::Db::open(&crate::sqlite_url(&path), crate::migrate::Zone::Intake)
            .await
            .unwrap();
        let (reached_tx, reached) = mpsc::channel();
        let (go, go_rx) = mpsc::channel();
        let writer = SqliteWriter::start_gated(
            path,
            Some(Gate {
                reached: reached_tx,
                go: go_rx,
            }),
        )
        .unwrap();
        (dir, db, writer, reached, go)
    }

    /// The pipeline's order: a batch is committed (and the next one can be)
    /// while its sync has not happened, its answer comes only after the
    /// syncer's `fdatasync` returned, and batches committed while a sync
    /// runs share the next one.
    #[tokio::test]
    async fn answers_only_after_the_sync() {
        let (dir, _db, writer, reached, go) = gated_writer().await;
        let path = dir.path().join("intake.db");
        let bound = Duration::from_secs(20);
        let progress = writer.progress.clone();

        let mut d1 = writer.insert(Arc::new(vec![report(1)])).await.unwrap();
        // The syncer holds batch 1 and has not synced it.
        assert_eq!(reached.recv_timeout(bound).unwrap(), 1);
        // The writer commits batch 2 meanwhile.
        let mut d2 = writer
            .insert(Arc::new(vec![report(2), report(3)]))
            .await
            .unwrap();
        assert_eq!(progress.committed.load(Ordering::Acquire), 2);
        assert_eq!(progress.synced.load(Ordering::Acquire), 0);
        assert_eq!(d1.answered(), None, "answered before its sync");
        assert_eq!(d2.answered(), None, "answered before its sync");

        go.send(()).unwrap();
        d1.wait().await.unwrap();
        assert!(progress.synced.load(Ordering::Acquire) >= 1);
        // Batch 2 waits for a sync of its own (it was committed after the
        // first sync's group was taken); two more join it while it waits.
        assert_eq!(reached.recv_timeout(bound).unwrap(), 1);
        assert_eq!(d2.answered(), None, "answered before its sync");
        let mut d3 = writer.insert(Arc::new(vec![report(4)])).await.unwrap();
        let mut d4 = writer.insert(Arc::new(vec![report(5)])).await.unwrap();
        go.send(()).unwrap();
        d2.wait().await.unwrap();
        assert_eq!(progress.synced.load(Ordering::Acquire), 2);
        assert_eq!(reached.recv_timeout(bound).unwrap(), 2, "one sync for both");
        assert_eq!(d3.answered(), None);
        assert_eq!(d4.answered(), None);
        go.send(()).unwrap();
        d3.wait().await.unwrap();
        d4.wait().await.unwrap();
        assert_eq!(progress.synced.load(Ordering::Acquire), 4);

        // Everything committed is in the file, read by another connection.
        let conn = Connection::open(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM intake_reports", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 5);
    }

    /// intake6: a report handed to the queue is committed at once and
    /// answered only after the syncer's `fdatasync` returned; reports that
    /// queue up while that sync runs wait for it to end (they are not
    /// committed one by one), then are committed in one transaction and
    /// share the next sync.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_queue_answers_only_after_the_sync() {
        let (dir, _db, writer, reached, go) = gated_writer().await;
        let path = dir.path().join("intake.db");
        let bound = Duration::from_secs(20);
        let progress = writer.progress.clone();
        let queue = writer.queue();
        let q = queue.clone();
        let mut first = tokio::spawn(async move { q.store(report(1)).await });
        // Committed, and held by the syncer before its sync.
        assert_eq!(reached.recv_timeout(bound).unwrap(), 1);
        assert_eq!(progress.committed.load(Ordering::Acquire), 1);
        assert_eq!(count(&path), 1);
        let mut later = Vec::new();
        for n in 2..5 {
            let q = queue.clone();
            later.push(tokio::spawn(async move { q.store(report(n)).await }));
        }
        // The three wait in the queue while the first one's sync runs.
        let deadline = std::time::Instant::now() + bound;
        while writer.tx.0.lock().jobs.len() < 3 {
            assert!(std::time::Instant::now() < deadline, "not queued");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            tokio::time::timeout(Duration::from_millis(50), &mut first)
                .await
                .is_err(),
            "answered before its sync"
        );
        assert_eq!(count(&path), 1, "committed while the sync ran");
        assert!(later.iter().all(|t| !t.is_finished()));
        go.send(()).unwrap();
        first.await.unwrap().unwrap();
        // Then all three in one transaction, and one sync.
        assert_eq!(reached.recv_timeout(bound).unwrap(), 1);
        assert_eq!(progress.committed.load(Ordering::Acquire), 2);
        assert_eq!(count(&path), 4);
        assert!(later.iter().all(|t| !t.is_finished()));
        go.send(()).unwrap();
        for t in later {
            t.await.unwrap().unwrap();
        }
        assert_eq!(progress.synced.load(Ordering::Acquire), 2);
    }

    /// When the thread holding the queue ends (a panic in the writer or the
    /// syncer), a report waiting in the queue and one sent afterwards are
    /// told "not stored" at once instead of waiting for good (review).
    #[tokio::test]
    async fn a_writer_that_ends_answers_every_waiting_report() {
        let inbox = Arc::new(Inbox {
            state: Mutex::new(InboxState::default()),
            wake: Condvar::new(),
        });
        let queue = ReportQueue {
            tx: InboxSender::new(inbox.clone()),
        };
        let q = queue.clone();
        let waiting = tokio::spawn(async move { q.store(report(1)).await });
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while inbox.lock().jobs.is_empty() {
            assert!(std::time::Instant::now() < deadline, "not queued");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let i = inbox.clone();
        let panicked = std::thread::spawn(move || {
            let _closing = CloseOnExit(&i);
            panic!("the writer failed");
        })
        .join();
        assert!(panicked.is_err());
        let bound = Duration::from_secs(20);
        let first = tokio::time::timeout(bound, waiting).await.unwrap().unwrap();
        assert!(matches!(first, Err(StoreError::WriterGone)), "{first:?}");
        let later = tokio::time::timeout(bound, queue.store(report(2)))
            .await
            .unwrap();
        assert!(matches!(later, Err(StoreError::WriterGone)), "{later:?}");
        assert!(inbox.take().is_none());
    }

    fn count(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM intake_reports", [], |r| r.get(0))
            .unwrap()
    }

    /// The writer's connection runs without syncs and without checkpoints of
    /// its own; the checkpointer's syncs.
    #[test]
    fn the_connections_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .unwrap();
        let w = open_writer(&path).unwrap();
        let sync: i64 = w.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        let auto: i64 = w
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!((sync, auto), (0, 0));
    }
}
