//! importfast: the bulk import's write path on SQLite.
//!
//! An import writes a million rows. Through sqlx each value is bound, copied
//! twice and freed on another thread (or, since recfast, packed into JSON and
//! unpacked by SQLite again, bulk.rs). Here a connection of the import's own,
//! on a thread of its own, binds each value of a prepared statement straight
//! from the batch's rows and runs it once per row: no SQL text per batch, no
//! JSON, no per-value copies beyond SQLite's own.
//!
//! Within each batch's transaction, and only there:
//! - foreign keys are not checked per row: an import's batch names only
//!   records of the same batch or already held (the importer makes them so;
//!   `check_references` below verifies every reference of the batch by set
//!   lookups before anything is written, so a batch that names an unknown
//!   record is refused as a whole, as the foreign keys would refuse it);
//! - the counting facts' insert triggers of migration 0008 are set aside
//!   (dropped and created again from their own stored text before the
//!   commit), and the blocks of the rows inserted are dropped once for the
//!   batch: the same blocks the triggers would have dropped row by row. The
//!   transaction is all or nothing, so no other connection ever sees the
//!   schema without them, and a killed import leaves them in place.
//! - import4: those blocks are then written again, whole, from the rows in
//!   hand: the new persons, actions and events are given their rowids (the
//!   next ones after the table's largest), so the writer knows every new
//!   row's rowid and its action's and person's without reading them back, and
//!   `record_prepare_counting` after the import finds nothing to build.
//!
//! Durability as `Durability::Rerunnable`: `synchronous=NORMAL` in WAL mode (a
//! power loss may undo the last batches, never corrupt the file; the import
//! is re-run and skips what is held).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior};

use super::facts;
use super::record::{BatchOutcome, DateRow, Origin, RecordBatch};
use crate::StoreError;

/// The insert triggers (migration 0008) whose work a batch does once.
const FACT_TRIGGERS: [&str; 2] = ["record_events_facts_insert", "record_actions_facts_insert"];

/// The import's own connection to an SQLite desk file, opened on first use.
pub(crate) struct Writer {
    path: PathBuf,
    conn: Arc<Mutex<Option<Connection>>>,
    /// import4: told after each batch's commit to checkpoint the WAL into the
    /// database file on a thread and connection of its own (SQLite lets one
    /// connection checkpoint while another writes), so that the writer's
    /// thread, the import's busiest, does not copy the pages itself.
    checkpoints: Mutex<Option<std::sync::mpsc::SyncSender<()>>>,
}

impl Writer {
    pub(crate) fn new(path: &Path) -> Writer {
        Writer {
            path: path.to_owned(),
            conn: Arc::new(Mutex::new(None)),
            checkpoints: Mutex::new(None),
        }
    }

    /// Writes one batch in one transaction on a blocking thread, so that the
    /// caller's thread goes on reading and sealing the next batch meanwhile.
    pub(crate) async fn write(&self, batch: RecordBatch) -> Result<BatchOutcome, StoreError> {
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        let (written, batch) = tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            if guard.is_none() {
                match open(&path) {
                    Ok(c) => *guard = Some(c),
                    Err(e) => return (Err(e), batch),
                }
            }
            let Some(c) = guard.as_mut() else {
                return (Err(StoreError::Direct("no connection".into())), batch);
            };
            let written = write(c, &batch);
            if written.is_err() {
                // Opened again for the next batch, from a clean state.
                *guard = None;
            }
            (written, batch)
        })
        .await
        .map_err(|_| StoreError::Direct("the import's writer thread stopped".into()))?;
        // Freed here, on the caller's thread: the writer's is the busier one.
        drop(batch);
        if written.is_ok() {
            self.checkpoint();
        }
        written
    }

    /// Asks the checkpointing thread (started on first use) for a passive
    /// checkpoint; one already asked for and not yet done covers this one.
    fn checkpoint(&self) {
        if let Some(ask) = self.checkpointer() {
            let _ = ask.try_send(());
        }
    }

    /// The checkpointing thread's bell, the thread started on first use.
    fn checkpointer(&self) -> Option<std::sync::mpsc::SyncSender<()>> {
        let mut guard = self.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let (ask, asked) = std::sync::mpsc::sync_channel::<()>(1);
            let path = self.path.clone();
            let started = std::thread::Builder::new()
                .name("vigil-checkpoint".into())
                .spawn(move || {
                    let Ok(c) = crate::direct::open(&path, OpenFlags::empty(), "") else {
                        return;
                    };
                    while asked.recv().is_ok() {
                        // Passive: never waits for the writer nor blocks it; a
                        // failed one is made up by the next (or by the writer's
                        // own autocheckpoint, the backstop).
                        let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    }
                });
            if started.is_err() {
                return None;
            }
            *guard = Some(ask);
        }
        guard.clone()
    }

    /// importwrite: a writer thread of the import's own, fed by a bounded
    /// queue of `depth` batches (see `ImportPipe`).
    pub(crate) fn pipe(&self, depth: usize) -> Result<ImportPipe, StoreError> {
        let (to, batches) = std::sync::mpsc::sync_channel::<RecordBatch>(depth.max(1));
        let (give_back, spent) = std::sync::mpsc::channel::<RecordBatch>();
        let conn = Arc::clone(&self.conn);
        let path = self.path.clone();
        let ask = self.checkpointer();
        let done = std::thread::Builder::new()
            .name("vigil-import-writer".into())
            .spawn(move || {
                let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
                let mut outcomes = Vec::new();
                while let Ok(batch) = batches.recv() {
                    if guard.is_none() {
                        *guard = Some(open(&path)?);
                    }
                    let Some(c) = guard.as_mut() else {
                        return Err(StoreError::Direct("no connection".into()));
                    };
                    match write(c, &batch) {
                        Ok(outcome) => outcomes.push(outcome),
                        Err(e) => {
                            // Opened again for the next import, from a clean state.
                            *guard = None;
                            return Err(e);
                        }
                    }
                    if let Some(ask) = &ask {
                        let _ = ask.try_send(());
                    }
                    // Freed by the thread that made it (its allocator's arena).
                    let _ = give_back.send(batch);
                }
                Ok(outcomes)
            })
            .map_err(|e| StoreError::Direct(format!("no writer thread for the import: {e}")))?;
        Ok(ImportPipe {
            to: Some(to),
            spent,
            done: Some(done),
        })
    }
}

/// importwrite: an import's batches written in order, each in its own
/// transaction, on a thread and connection of their own. `send` hands a
/// batch over and returns at once unless `depth` batches are already waiting
/// (then it waits: the queue bounds the import's memory); the caller goes on
/// reading and sealing meanwhile, never waiting for its own task to poll the
/// writer. Before importwrite each batch was a `spawn_blocking` awaited on the
/// reader's own task, with one batch of queue. `finish` waits for every batch
/// sent and returns each one's outcome, in order, or the first error (the
/// batches before it are committed; the import is re-run to complete).
pub struct ImportPipe {
    to: Option<std::sync::mpsc::SyncSender<RecordBatch>>,
    spent: std::sync::mpsc::Receiver<RecordBatch>,
    done: Option<std::thread::JoinHandle<Result<Vec<BatchOutcome>, StoreError>>>,
}

impl ImportPipe {
    /// Queues a batch for the writer; `false` when the writer has stopped
    /// (on an error, which `finish` returns).
    pub fn send(&mut self, batch: RecordBatch) -> bool {
        // The batches written since the last call, freed here, and again once
        // the send returns: one written while the send waited is not kept
        // until the next call (review: it raised the import's peak by a batch).
        self.free_spent();
        let sent = match &self.to {
            Some(to) => to.send(batch).is_ok(),
            None => false,
        };
        self.free_spent();
        sent
    }

    fn free_spent(&self) {
        while let Ok(spent) = self.spent.try_recv() {
            drop(spent);
        }
    }

    /// Waits for the writer to write every batch sent; each batch's outcome
    /// in the order sent, or the writer's error.
    pub fn finish(mut self) -> Result<Vec<BatchOutcome>, StoreError> {
        self.to = None;
        match self.done.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(StoreError::Direct(
                "the import's writer thread stopped".into(),
            )),
        }
    }
}

impl Drop for ImportPipe {
    /// An import that stops early (its reader's error) still waits for the
    /// batches it queued: each is committed whole or not at all.
    fn drop(&mut self) {
        self.to = None;
        if let Some(done) = self.done.take() {
            let _ = done.join();
        }
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    // The file is in WAL mode already (db.rs sets it, and it persists).
    let c = crate::direct::open(
        path,
        OpenFlags::empty(),
        "PRAGMA foreign_keys = OFF; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 16384",
    )?;
    // A multi-row statement per table, one for full chunks and one for the
    // rest, each with its shared values bound once or per row.
    c.set_prepared_statement_cache_capacity(64);
    let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Direct(format!(
            "the desk database is in journal mode {mode}, not WAL"
        )));
    }
    Ok(c)
}

fn origin(o: &Option<Origin>) -> (Option<&str>, Option<i64>) {
    (
        o.as_ref().map(|o| o.source_id.as_str()),
        o.as_ref().and_then(|o| o.row),
    )
}

/// Days written as text, remembered: a batch repeats a few thousand days
/// many times (import5: every day of the batch, not only the last one; each
/// miss cost a `Display` of the day).
#[derive(Default)]
struct DayText {
    texts: FastMap<vigil_core::Day, String>,
}

impl DayText {
    fn of(&mut self, d: vigil_core::Day) -> &str {
        self.texts
            .entry(d)
            .or_insert_with(|| d.to_string())
            .as_str()
    }

    fn date<'s>(&'s mut self, d: &DateRow) -> Option<&'s str> {
        d.day.map(|day| self.of(day))
    }
}

/// A date's YYYYMMDD for the counting facts, as `facts::ymd` reads it from
/// the day's text (import5: from the day's numbers, without the text, for
/// the years whose text is four digits; the text for any other).
fn fact_ymd(d: &DateRow) -> Option<u32> {
    let Some(day) = d.day else {
        return Some(0);
    };
    let date = day.date();
    match u32::try_from(date.year()) {
        Ok(y) if (1000..=9999).contains(&y) => {
            Some(y * 10_000 + u32::from(date.month() as u8) * 100 + u32::from(date.day()))
        }
        _ => facts::ymd(Some(&day.to_string())),
    }
}

fn max_rowid(tx: &Transaction<'_>, table: &str) -> Result<i64, StoreError> {
    Ok(tx.query_row(
        &format!("SELECT COALESCE(MAX(rowid), 0) FROM {table}"),
        [],
        |r| r.get(0),
    )?)
}

type FastMap<K, V> = foldhash::HashMap<K, V>;

/// The rowids of records held before a batch that it names, by (table, id).
type Outside<'a> = FastMap<(&'static str, &'a str), i64>;

/// The largest rowid of persons, actions and events before a batch.
#[derive(Clone, Copy)]
struct Before {
    persons: i64,
    actions: i64,
    events: i64,
}

/// The rowid of each of a batch's persons, actions and events, in the batch's
/// order: the one it was given, or, for a record already held, its own.
struct Rowids {
    persons: Vec<i64>,
    actions: Vec<i64>,
    events: Vec<i64>,
}

/// import5: the ids of one table's rows in a batch, found by position. An
/// import's rows name the batch's records in the order the batch holds them
/// (an event's person is the next person, its action the last one named or
/// the next new one, its source the batch's one), so a lookup first compares
/// the id with the row after the last one found and with the last one found,
/// and only when both miss hashes it, in a map made on that first miss. The
/// reference check and the counting facts share one `Ids` per table (import4
/// built four sets and two maps of every id, a tenth of the writer's time).
struct Ids<'a> {
    ids: Vec<&'a str>,
    map: Option<FastMap<&'a str, usize>>,
    next: usize,
    last: usize,
}

impl<'a> Ids<'a> {
    fn new<T>(rows: &'a [T], id: impl Fn(&'a T) -> &'a str) -> Ids<'a> {
        Ids {
            ids: rows.iter().map(id).collect(),
            map: None,
            next: 0,
            last: usize::MAX,
        }
    }

    /// The position of a row with this id (for an id held twice, one of them).
    fn find(&mut self, id: &str) -> Option<usize> {
        for at in [self.next, self.last] {
            if self.ids.get(at).is_some_and(|i| *i == id) {
                self.last = at;
                self.next = at + 1;
                return Some(at);
            }
        }
        let ids = &self.ids;
        let map = self.map.get_or_insert_with(|| {
            let mut m = FastMap::default();
            m.reserve(ids.len());
            for (at, i) in ids.iter().enumerate() {
                m.entry(*i).or_insert(at);
            }
            m
        });
        let at = *map.get(id)?;
        self.last = at;
        self.next = at + 1;
        Some(at)
    }
}

/// A batch's ids, table by table.
struct BatchIds<'a> {
    sources: Ids<'a>,
    persons: Ids<'a>,
    actions: Ids<'a>,
    cases: Ids<'a>,
}

impl<'a> BatchIds<'a> {
    fn new(b: &'a RecordBatch) -> BatchIds<'a> {
        BatchIds {
            sources: Ids::new(&b.sources, |s| s.id.as_str()),
            persons: Ids::new(&b.persons, |p| p.id.as_str()),
            actions: Ids::new(&b.actions, |a| a.id.as_str()),
            cases: Ids::new(&b.cases, |c| c.id.as_str()),
        }
    }

    /// Lookups start again from the first rows (the facts go through the
    /// rows in the order the reference check did).
    fn rewind(&mut self) {
        for ids in [
            &mut self.sources,
            &mut self.persons,
            &mut self.actions,
            &mut self.cases,
        ] {
            ids.next = 0;
            ids.last = usize::MAX;
        }
    }

    fn of(&mut self, table: &'static str) -> &mut Ids<'a> {
        match table {
            "record_sources" => &mut self.sources,
            "record_persons" => &mut self.persons,
            "record_actions" => &mut self.actions,
            _ => &mut self.cases,
        }
    }
}

fn write(c: &mut Connection, b: &RecordBatch) -> Result<BatchOutcome, StoreError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut ids = BatchIds::new(b);
    let outside = check_references(&tx, b, &mut ids)?;
    // The facts' insert triggers, set aside for this transaction only.
    let mut triggers = Vec::new();
    for name in FACT_TRIGGERS {
        let sql: Option<String> = tx
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .ok();
        if let Some(sql) = sql {
            tx.execute_batch(&format!("DROP TRIGGER {name}"))?;
            triggers.push(sql);
        }
    }
    let before = Before {
        persons: max_rowid(&tx, "record_persons")?,
        actions: max_rowid(&tx, "record_actions")?,
        events: max_rowid(&tx, "record_events")?,
    };
    let (outcome, rowids) = insert(&tx, b, before)?;
    // import4: the counting facts of the new rows, made here from the rows in
    // hand instead of by reading them back after the import (facts.rs).
    ids.rewind();
    write_facts(&tx, b, before, &rowids, &mut ids, &outside)?;
    for sql in &triggers {
        tx.execute_batch(sql)?;
    }
    tx.commit()?;
    Ok(outcome)
}

/// import4: the blocks of counting facts (migration 0008, facts.rs) that the
/// batch's new events and actions fall in, written in the batch's transaction
/// with exactly what `facts::refresh` would build from the tables: the block's
/// earlier rows from its stored facts (or, if they are missing, from the
/// tables), then the new rows in rowid order. Every block from the first new
/// rowid's on is dropped first, as the insert triggers would; where a new row
/// cannot be represented, a table's blocks stay dropped and counting rebuilds
/// them (or counts by the general path).
fn write_facts(
    tx: &Transaction<'_>,
    b: &RecordBatch,
    before: Before,
    rowids: &Rowids,
    ids: &mut BatchIds<'_>,
    outside: &Outside<'_>,
) -> Result<(), StoreError> {
    let rows: Vec<(i64, String)> = tx
        .prepare_cached("SELECT id, code FROM record_fact_codes ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut codes = facts::Codes::from_rows(rows)?;
    // As `facts::refresh`: every action counts its detentions under this kind.
    codes.id("detention");
    let fact_rowid = |r: i64| u32::try_from(r).ok().filter(|n| *n != u32::MAX);

    // A row is new where it has the rowid it was given (a row held already,
    // or named twice in the batch, has another).
    let given = |first: i64, i: usize, r: i64| i64::try_from(i).is_ok_and(|i| r == first + i);
    let mut actions = Vec::with_capacity(b.actions.len());
    for (i, (a, &r)) in b.actions.iter().zip(&rowids.actions).enumerate() {
        if !given(before.actions + 1, i, r) {
            continue;
        }
        let fact = (|| {
            Some([
                fact_rowid(r).filter(|n| *n != 0)?,
                fact_ymd(&a.date)?,
                facts::precision(Some(a.date.precision)),
                codes.opt(a.region.as_deref()),
                codes.id(&a.kind),
                codes.opt(a.authorised.as_deref()),
                codes.opt(a.topic.as_deref()),
            ])
        })();
        actions.push((r, fact));
    }
    let mut events = Vec::with_capacity(b.events.len());
    for (i, (e, &r)) in b.events.iter().zip(&rowids.events).enumerate() {
        if !given(before.events + 1, i, r) {
            continue;
        }
        let mut refer = |id: Option<&str>, table: &'static str, here: &[i64]| match id {
            None => Some(0),
            Some(id) => ids
                .of(table)
                .find(id)
                .and_then(|at| here.get(at))
                .or_else(|| outside.get(&(table, id)))
                .copied()
                .and_then(fact_rowid),
        };
        let fact = (|| {
            Some([
                refer(e.action_id.as_deref(), "record_actions", &rowids.actions)?,
                refer(e.person_id.as_deref(), "record_persons", &rowids.persons)?,
                fact_ymd(&e.date)?,
                facts::precision(Some(e.date.precision)),
                codes.id(&e.kind),
                codes.opt(e.region.as_deref()),
            ])
        })();
        events.push((r, fact));
    }
    put_blocks(
        tx,
        "record_action_facts",
        &facts::action_sql(),
        before.actions,
        &actions,
        &mut codes,
        facts::action_row,
    )?;
    put_blocks(
        tx,
        "record_event_facts",
        &facts::event_sql(),
        before.events,
        &events,
        &mut codes,
        facts::event_row,
    )?;
    for (id, code) in codes.take_new() {
        tx.prepare_cached("INSERT INTO record_fact_codes (id, code) VALUES (?1, ?2)")?
            .execute(rusqlite::params![id, code])?;
    }
    Ok(())
}

/// One table's blocks from the first new row's on: dropped, then written
/// whole where every row can be represented. `new` is in rowid order, every
/// rowid above `before`.
fn put_blocks<const N: usize>(
    tx: &Transaction<'_>,
    facts_table: &str,
    sql: &str,
    before: i64,
    new: &[(i64, Option<[u32; N]>)],
    codes: &mut facts::Codes,
    row: impl Fn([Option<&str>; N], &mut facts::Codes) -> Option<Vec<u32>> + Copy,
) -> Result<(), StoreError> {
    let shift = facts::SHIFT;
    let Some((last, _)) = new.last() else {
        return Ok(());
    };
    let first_block = (before + 1) >> shift;
    let last_block = last >> shift;
    // The earlier rows of the first block, as its stored facts hold them.
    let prefix: Option<Vec<u8>> = if (first_block << shift) <= before {
        tx.prepare_cached(&format!("SELECT facts FROM {facts_table} WHERE block = ?1"))?
            .query_row([first_block], |r| r.get(0))
            .optional()?
    } else {
        Some(Vec::new())
    };
    tx.execute(
        &format!("DELETE FROM {facts_table} WHERE block >= ?1"),
        [first_block],
    )?;
    if new.iter().any(|(_, f)| f.is_none()) {
        return Ok(());
    }
    let prefix = match prefix {
        Some(p) => p,
        None => {
            let packed: Option<String> =
                tx.query_row(sql, [first_block << shift, before + 1], |r| r.get(0))?;
            match facts::encode(packed.as_deref().unwrap_or_default(), codes, row)? {
                Some(p) => p,
                None => return Ok(()),
            }
        }
    };
    let mut insert = tx.prepare_cached(&format!(
        "INSERT INTO {facts_table} (block, facts) VALUES (?1, ?2)"
    ))?;
    let mut rows = new.iter().peekable();
    let mut bytes = prefix;
    for block in first_block..=last_block {
        while let Some((_, Some(fact))) = rows.next_if(|(r, _)| (r >> shift) == block) {
            facts::put(&mut bytes, fact);
        }
        insert.execute(rusqlite::params![block, bytes])?;
        bytes.clear();
    }
    Ok(())
}

/// Every record the batch names (an event's person, action and case, an
/// action count's action, a case's person, every record's source) is in the
/// batch or already held: what the foreign keys would check row by row.
/// Returns the rowids of the held ones.
fn check_references<'a>(
    tx: &Transaction<'_>,
    b: &'a RecordBatch,
    ids: &mut BatchIds<'_>,
) -> Result<Outside<'a>, StoreError> {
    // The batch's few distinct outside references, each looked up once.
    let mut seen: Outside<'a> = FastMap::default();
    let mut check = |table: &'static str, id: Option<&'a str>| {
        let Some(id) = id else { return Ok(()) };
        if ids.of(table).find(id).is_some() || seen.contains_key(&(table, id)) {
            return Ok(());
        }
        let held: Option<i64> = tx
            .prepare_cached(&format!("SELECT rowid FROM {table} WHERE id = ?1"))?
            .query_row([id], |r| r.get(0))
            .optional()?;
        match held {
            Some(rowid) => {
                seen.insert((table, id), rowid);
                Ok(())
            }
            None => Err(StoreError::Direct(format!(
                "FOREIGN KEY constraint failed: the batch names a record of {table} that is neither in it nor held"
            ))),
        }
    };
    for p in &b.persons {
        check("record_sources", origin(&p.origin).0)?;
    }
    for a in &b.actions {
        check("record_sources", origin(&a.origin).0)?;
    }
    for n in &b.counts {
        check("record_actions", Some(&n.action_id))?;
        check("record_sources", Some(&n.source_id))?;
    }
    for c in &b.cases {
        check("record_persons", Some(&c.person_id))?;
    }
    for e in &b.events {
        check("record_sources", origin(&e.origin).0)?;
        check("record_persons", e.person_id.as_deref())?;
        check("record_actions", e.action_id.as_deref())?;
        check("record_cases", e.case_id.as_deref())?;
    }
    Ok(seen)
}

/// Rows per multi-row INSERT: SQLite runs one statement for many rows (its
/// per-statement work, reset and commit checks, once per 64 rows instead of
/// every row); 64 rows of 22 columns stay far below its bound-parameter limit.
const ROWS: usize = 64;

/// `INSERT INTO table (cols) VALUES (...), ... ON CONFLICT DO NOTHING` for
/// `rows` rows of `cols` values each; with `shared`, every row's first
/// `shared` values are the statement's parameters 1 to `shared`, bound once.
fn values_sql(table_cols: &str, cols: usize, rows: usize, shared: usize) -> String {
    let one: Vec<String> = (0..cols)
        .map(|i| {
            if i < shared {
                format!("?{}", i + 1)
            } else {
                "?".to_owned()
            }
        })
        .collect();
    let one = format!("({})", one.join(", "));
    format!(
        "INSERT INTO {table_cols} VALUES {} ON CONFLICT DO NOTHING",
        vec![one; rows].join(", ")
    )
}

/// Binds values one after another from a first parameter index.
struct Binder<'s, 'c> {
    st: &'s mut rusqlite::CachedStatement<'c>,
    at: usize,
}

impl Binder<'_, '_> {
    fn put<T: rusqlite::ToSql>(&mut self, v: T) -> rusqlite::Result<&mut Self> {
        self.at += 1;
        self.st.raw_bind_parameter(self.at, v)?;
        Ok(self)
    }
}

/// import5: the values every record of an import shares (its source and its
/// stamp), the first columns of the persons', actions' and events' inserts.
/// Where every row of a statement has the same, they are bound once for the
/// statement (`?1` to `?4` in each row) instead of once per row: four fewer
/// values for SQLite to copy and free per row.
#[derive(PartialEq, Clone, Copy)]
struct Shared<'r> {
    source: Option<&'r str>,
    version: i64,
    changed: vigil_core::Day,
    changed_by: &'r str,
}

const SHARED_COLS: &str = "source_id, version, changed, changed_by";
const SHARED: usize = 4;

impl Shared<'_> {
    fn bind(&self, q: &mut Binder<'_, '_>, days: &mut DayText) -> rusqlite::Result<()> {
        q.put(self.source)?
            .put(self.version)?
            .put(days.of(self.changed))?
            .put(self.changed_by)?;
        Ok(())
    }
}

/// The first rowid to give, where to put every row's rowid, and a row's id.
type Given<'v, T> = (i64, &'v mut Vec<i64>, fn(&T) -> &str);

/// Inserts `rows` into `table` (`cols` columns named in `names`) in
/// statements of `ROWS` rows; returns how many were new. With `rowids`, each
/// row is given the rowid `first + i` (the i-th row), and `rowids` becomes
/// every row's rowid: its own where it was already held. With `shared`, the
/// rows' shared values go first, as `SHARED_COLS` (once per statement when a
/// statement's rows all have the same).
#[allow(clippy::too_many_arguments)]
fn insert_rows<'r, T>(
    tx: &Transaction<'_>,
    table: &str,
    names: &str,
    cols: usize,
    rows: &'r [T],
    rowids: Option<Given<'_, T>>,
    shared: Option<fn(&'r T) -> Shared<'r>>,
    days: &mut DayText,
    mut bind: impl FnMut(&mut Binder<'_, '_>, &'r T, &mut DayText) -> rusqlite::Result<()>,
) -> Result<u64, StoreError> {
    let mut inserted = 0u64;
    let first = rowids.as_ref().map(|(first, _, _)| *first);
    let mut lead = String::new();
    let mut cols = cols;
    if shared.is_some() {
        lead.push_str(SHARED_COLS);
        lead.push_str(", ");
        cols += SHARED;
    }
    if first.is_some() {
        lead.push_str("rowid, ");
        cols += 1;
    }
    let table_cols = format!("{table} ({lead}{names})");
    let mut at = first;
    // importwrite: one statement for as many chunks of the same shape as
    // follow each other (every full chunk of an import), taken from the
    // cache once per table and batch: its SQL text was built, hashed and
    // looked up, and the statement reset and put back, every 64 rows (a
    // tenth of the writer's time in the profile).
    let mut current: Option<((usize, usize), rusqlite::CachedStatement<'_>)> = None;
    for chunk in rows.chunks(ROWS) {
        let common = shared.and_then(|of| {
            let first = of(chunk.first()?);
            chunk.iter().all(|r| of(r) == first).then_some(first)
        });
        let bound_once = if common.is_some() { SHARED } else { 0 };
        let shape = (chunk.len(), bound_once);
        let st = match &mut current {
            Some((had, st)) if *had == shape => st,
            _ => {
                let sql = values_sql(&table_cols, cols, chunk.len(), bound_once);
                let (_, st) = current.insert((shape, tx.prepare_cached(&sql)?));
                st
            }
        };
        let mut b = Binder {
            st: &mut *st,
            at: 0,
        };
        if let Some(common) = common {
            common.bind(&mut b, days)?;
        }
        for r in chunk {
            if let (Some(of), None) = (shared, common) {
                of(r).bind(&mut b, days)?;
            }
            if let Some(n) = at.as_mut() {
                b.put(*n)?;
                *n = n
                    .checked_add(1)
                    .ok_or_else(|| StoreError::Direct(format!("{table}: no rowids left")))?;
            }
            bind(&mut b, r, days)?;
        }
        inserted += st.raw_execute()? as u64;
    }
    if let Some((first, out, id)) = rowids {
        out.clear();
        if inserted == rows.len() as u64 {
            out.extend((0..rows.len() as i64).map(|i| first + i));
        } else {
            // Some were held already (an import run again): each row's own.
            let mut st = tx.prepare_cached(&format!("SELECT rowid FROM {table} WHERE id = ?1"))?;
            for r in rows {
                out.push(st.query_row([id(r)], |x| x.get(0))?);
            }
        }
    }
    Ok(inserted)
}

fn shared<'r>(o: &'r Option<Origin>, stamp: &'r super::record::Stamp) -> Shared<'r> {
    Shared {
        source: origin(o).0,
        version: stamp.version,
        changed: stamp.changed,
        changed_by: stamp.changed_by.as_str(),
    }
}

fn insert(
    tx: &Transaction<'_>,
    b: &RecordBatch,
    before: Before,
) -> Result<(BatchOutcome, Rowids), StoreError> {
    let mut outcome = BatchOutcome::default();
    let mut rowids = Rowids {
        persons: Vec::new(),
        actions: Vec::new(),
        events: Vec::new(),
    };
    let mut days = DayText::default();
    let mut roles = String::new();

    insert_rows(
        tx,
        "record_sources",
        "id, kind, report_id, file_sha256, sealed, added",
        6,
        &b.sources,
        None,
        None,
        &mut days,
        |q, s, days| {
            q.put(&s.id)?
                .put(&s.kind)?
                .put(&s.report_id)?
                .put(&s.file_sha256)?
                .put(&s.sealed)?
                .put(days.of(s.added))?;
            Ok(())
        },
    )?;

    outcome.persons = insert_rows(
        tx,
        "record_persons",
        "id, sealed, gender, region, roles, consent, source_row",
        7,
        &b.persons,
        Some((before.persons + 1, &mut rowids.persons, |p| p.id.as_str())),
        Some(|p| shared(&p.origin, &p.stamp)),
        &mut days,
        |q, p, _| {
            roles.clear();
            for (i, r) in p.roles.iter().enumerate() {
                if i > 0 {
                    roles.push(' ');
                }
                roles.push_str(r);
            }
            q.put(&p.id)?
                .put(&p.sealed)?
                .put(&p.gender)?
                .put(&p.region)?
                .put(roles.as_str())?
                .put(&p.consent)?
                .put(origin(&p.origin).1)?;
            Ok(())
        },
    )?;

    outcome.actions = insert_rows(
        tx,
        "record_actions",
        "id, date, date_precision, region, city, kind, topic, organiser, authorised, \
         verification, sealed, source_row",
        12,
        &b.actions,
        Some((before.actions + 1, &mut rowids.actions, |a| a.id.as_str())),
        Some(|a| shared(&a.origin, &a.stamp)),
        &mut days,
        |q, a, days| {
            q.put(&a.id)?
                .put(days.date(&a.date))?
                .put(a.date.precision)?
                .put(&a.region)?
                .put(&a.city)?
                .put(&a.kind)?
                .put(&a.topic)?
                .put(&a.organiser)?
                .put(&a.authorised)?
                .put(&a.verification)?
                .put(&a.sealed)?
                .put(origin(&a.origin).1)?;
            Ok(())
        },
    )?;
    let stations: Vec<(&str, &str)> = b
        .actions
        .iter()
        .flat_map(|a| a.stations.iter().map(move |s| (a.id.as_str(), s.as_str())))
        .collect();
    insert_rows(
        tx,
        "record_action_stations",
        "action_id, station",
        2,
        &stations,
        None,
        None,
        &mut days,
        |q, (a, s), _| {
            q.put(a)?.put(s)?;
            Ok(())
        },
    )?;

    insert_rows(
        tx,
        "record_action_counts",
        "action_id, source_id, detained",
        3,
        &b.counts,
        None,
        None,
        &mut days,
        |q, n, _| {
            q.put(&n.action_id)?
                .put(&n.source_id)?
                .put(i64::try_from(n.detained).unwrap_or(i64::MAX))?;
            Ok(())
        },
    )?;

    insert_rows(
        tx,
        "record_cases",
        "id, person_id, sealed, version, changed, changed_by",
        6,
        &b.cases,
        None,
        None,
        &mut days,
        |q, c, days| {
            q.put(&c.id)?
                .put(&c.person_id)?
                .put(&c.sealed)?
                .put(c.stamp.version)?
                .put(days.of(c.stamp.changed))?
                .put(&c.stamp.changed_by)?;
            Ok(())
        },
    )?;

    outcome.events = insert_rows(
        tx,
        "record_events",
        "id, person_id, action_id, case_id, kind, date, date_precision, region, city, \
         police_station, court, trigger_kind, fine_rub, arrest_days, sentence, verification, \
         sealed, source_row",
        18,
        &b.events,
        Some((before.events + 1, &mut rowids.events, |e| e.id.as_str())),
        Some(|e| shared(&e.origin, &e.stamp)),
        &mut days,
        |q, e, days| {
            q.put(&e.id)?
                .put(&e.person_id)?
                .put(&e.action_id)?
                .put(&e.case_id)?
                .put(&e.kind)?
                .put(days.date(&e.date))?
                .put(e.date.precision)?
                .put(&e.region)?
                .put(&e.city)?
                .put(&e.police_station)?
                .put(&e.court)?
                .put(&e.trigger)?
                .put(e.fine_rub)?
                .put(e.arrest_days)?
                .put(&e.sentence)?
                .put(&e.verification)?
                .put(&e.sealed)?
                .put(origin(&e.origin).1)?;
            Ok(())
        },
    )?;
    let articles: Vec<(&str, &str)> = b
        .events
        .iter()
        .flat_map(|e| e.articles.iter().map(move |x| (e.id.as_str(), x.as_str())))
        .collect();
    insert_rows(
        tx,
        "record_event_articles",
        "event_id, article",
        2,
        &articles,
        None,
        None,
        &mut days,
        |q, (e, x), _| {
            q.put(e)?.put(x)?;
            Ok(())
        },
    )?;
    Ok((outcome, rowids))
}
