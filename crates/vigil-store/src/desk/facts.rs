//! recfast: counting facts kept beside the record on SQLite, so that `vigil
//! stats` reads integers instead of the events' text (migration 0008).
//!
//! Each event is 24 bytes in a block of 16,384 events by rowid: the rowids of
//! its action and its person (the numbers that make "distinct persons" and
//! "once per person per action" exact), its date as YYYYMMDD, its precision,
//! and codes (numbered in `record_fact_codes`) for its kind and region. Each
//! action is 28 bytes likewise. The blocks are a cache: triggers drop a block
//! whenever a row in its range is inserted, changed or deleted (and every event
//! block when an action or a person is deleted or given another id), and
//! counting first rebuilds the blocks that are missing, in the same write
//! transaction it reads them in. Whatever path changes the record, the facts
//! follow it. A record the facts cannot represent (a dangling reference, a
//! date not written YYYY-MM-DD) makes counting use the general path instead.
//!
//! The counting rules are those of counts.rs (docs/methodology.md), on numbers.

use std::collections::{BTreeMap, HashSet};

use sqlx::SqliteConnection;

use super::counts::{CountQuery, CountRow, StatKey};
use crate::StoreError;

type FastMap<K, V> = foldhash::HashMap<K, V>;

/// Rowids per block: the triggers of migration 0008 use the same shift.
pub(crate) const SHIFT: i64 = 14;
const EVENT_BYTES: usize = 24;
const ACTION_BYTES: usize = 28;
/// A key the record does not give.
const NONE: u32 = u32::MAX;

/// Text values numbered for the facts (0 is "none").
pub(crate) struct Codes {
    ids: FastMap<String, u32>,
    names: Vec<String>,
    new: Vec<u32>,
}

impl Codes {
    async fn load(conn: &mut SqliteConnection) -> Result<Codes, StoreError> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, code FROM record_fact_codes ORDER BY id")
                .fetch_all(&mut *conn)
                .await?;
        Codes::from_rows(rows)
    }

    /// The codes from `record_fact_codes`'s rows in id order.
    pub(crate) fn from_rows(rows: Vec<(i64, String)>) -> Result<Codes, StoreError> {
        let mut codes = Codes {
            ids: FastMap::default(),
            names: vec![String::new()],
            new: Vec::new(),
        };
        for (id, code) in rows {
            // Ids are handed out densely from 1 (see `id`); anything else is damage.
            if usize::try_from(id).ok() != Some(codes.names.len()) {
                return Err(StoreError::Corrupt(
                    "the counting facts' codes are not numbered 1, 2, 3, ...".into(),
                ));
            }
            codes.ids.insert(code.clone(), len32(codes.names.len()));
            codes.names.push(code);
        }
        Ok(codes)
    }

    pub(crate) fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = len32(self.names.len());
        self.ids.insert(s.to_owned(), i);
        self.names.push(s.to_owned());
        self.new.push(i);
        i
    }

    pub(crate) fn opt(&mut self, s: Option<&str>) -> u32 {
        s.map_or(0, |s| self.id(s))
    }

    /// import4: the codes numbered since loading, to be inserted.
    pub(crate) fn take_new(&mut self) -> Vec<(i64, String)> {
        std::mem::take(&mut self.new)
            .into_iter()
            .map(|i| (i64::from(i), self.names[i as usize].clone()))
            .collect()
    }

    async fn save_new(&mut self, conn: &mut SqliteConnection) -> Result<(), StoreError> {
        for i in std::mem::take(&mut self.new) {
            sqlx::query("INSERT INTO record_fact_codes (id, code) VALUES ($1, $2)")
                .bind(i64::from(i))
                .bind(&self.names[i as usize])
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    }
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(NONE)
}

/// 'YYYY-MM-DD' as YYYYMMDD; `Some(0)` for none; `None` when not so written.
pub(crate) fn ymd(date: Option<&str>) -> Option<u32> {
    let Some(d) = date else { return Some(0) };
    let b = d.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let mut n = 0u32;
    for (i, c) in b.iter().enumerate() {
        if i == 4 || i == 7 {
            continue;
        }
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    (n != 0).then_some(n)
}

pub(crate) fn precision(p: Option<&str>) -> u32 {
    match p {
        Some("day") => 1,
        Some("month") => 2,
        Some("year") => 3,
        _ => 0,
    }
}

/// A rowid packed as text: 0 for none, -1 for a reference to nothing.
fn rowid(s: Option<&str>) -> Option<u32> {
    let n: i64 = s?.parse().ok()?;
    u32::try_from(n).ok().filter(|n| *n != NONE)
}

fn packed_sql(columns: &[&str], from: &str) -> String {
    let packed = |c: &&str| format!("COALESCE(length(CAST(({c}) AS BLOB)) || ':' || ({c}), '-')");
    format!(
        "SELECT group_concat({}, '') {from}",
        columns.iter().map(packed).collect::<Vec<_>>().join(" || ")
    )
}

pub(crate) fn event_sql() -> String {
    packed_sql(
        &[
            "CASE WHEN e.action_id IS NULL THEN 0 ELSE COALESCE(a.rowid, -1) END",
            "CASE WHEN e.person_id IS NULL THEN 0 ELSE COALESCE(p.rowid, -1) END",
            "e.date",
            "e.date_precision",
            "e.kind",
            "e.region",
        ],
        "FROM record_events e \
         LEFT JOIN record_actions a ON a.id = e.action_id \
         LEFT JOIN record_persons p ON p.id = e.person_id \
         WHERE e.rowid >= $1 AND e.rowid < $2",
    )
}

pub(crate) fn action_sql() -> String {
    packed_sql(
        &[
            "rowid",
            "date",
            "date_precision",
            "region",
            "kind",
            "authorised",
            "topic",
        ],
        "FROM record_actions WHERE rowid >= $1 AND rowid < $2",
    )
}

pub(crate) fn put(out: &mut Vec<u8>, values: &[u32]) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// One block's facts from its packed rows; `None` if one cannot be represented.
pub(crate) fn encode<const N: usize>(
    packed: &str,
    codes: &mut Codes,
    row: impl Fn([Option<&str>; N], &mut Codes) -> Option<Vec<u32>>,
) -> Result<Option<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    let mut rest = packed;
    while !rest.is_empty() {
        let mut values: [Option<&str>; N] = [None; N];
        for v in &mut values {
            (*v, rest) = super::counts::unpack(rest)?;
        }
        match row(values, codes) {
            Some(numbers) => put(&mut out, &numbers),
            None => return Ok(None),
        }
    }
    Ok(Some(out))
}

pub(crate) fn event_row(
    [action, person, date, prec, kind, region]: [Option<&str>; 6],
    codes: &mut Codes,
) -> Option<Vec<u32>> {
    Some(vec![
        rowid(action)?,
        rowid(person)?,
        ymd(date)?,
        precision(prec),
        codes.opt(kind),
        codes.opt(region),
    ])
}

pub(crate) fn action_row(
    [id, date, prec, region, kind, authorised, topic]: [Option<&str>; 7],
    codes: &mut Codes,
) -> Option<Vec<u32>> {
    Some(vec![
        rowid(id).filter(|n| *n != 0)?,
        ymd(date)?,
        precision(prec),
        codes.opt(region),
        codes.opt(kind),
        codes.opt(authorised),
        codes.opt(topic),
    ])
}

/// Rebuilds the missing blocks of one table; false if a row cannot be represented.
async fn refresh_table<const N: usize>(
    conn: &mut SqliteConnection,
    codes: &mut Codes,
    table: &str,
    facts_table: &str,
    sql: &str,
    row: impl Fn([Option<&str>; N], &mut Codes) -> Option<Vec<u32>> + Copy,
) -> Result<bool, StoreError> {
    let last: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COALESCE(MAX(rowid), 0) FROM {table}"
    )))
    .fetch_one(&mut *conn)
    .await?;
    let have: HashSet<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT block FROM {facts_table}"
    )))
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let insert = format!("INSERT INTO {facts_table} (block, facts) VALUES ($1, $2)");
    for block in 0..=(last >> SHIFT) {
        if have.contains(&block) {
            continue;
        }
        let packed: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
            .bind(block << SHIFT)
            .bind((block + 1) << SHIFT)
            .fetch_one(&mut *conn)
            .await?;
        let Some(facts) = encode(packed.as_deref().unwrap_or_default(), codes, row)? else {
            return Ok(false);
        };
        sqlx::query(sqlx::AssertSqlSafe(insert.clone()))
            .bind(block)
            .bind(facts)
            .execute(&mut *conn)
            .await?;
    }
    Ok(true)
}

/// Brings the facts up to date inside the caller's write transaction; false if
/// the record holds something they cannot represent.
async fn refresh(conn: &mut SqliteConnection, codes: &mut Codes) -> Result<bool, StoreError> {
    // Every action counts its detentions under this kind, named or not.
    codes.id("detention");
    let ok = refresh_table(
        conn,
        codes,
        "record_actions",
        "record_action_facts",
        &action_sql(),
        action_row,
    )
    .await?
        && refresh_table(
            conn,
            codes,
            "record_events",
            "record_event_facts",
            &event_sql(),
            event_row,
        )
        .await?;
    codes.save_new(conn).await?;
    Ok(ok)
}

/// Everything counting needs, read in one transaction.
pub(crate) struct Facts {
    codes: Vec<String>,
    events: Vec<Vec<u8>>,
    actions: Vec<Vec<u8>>,
    /// (action rowid, the highest number detained any source reports).
    reported: Vec<(i64, i64)>,
}

/// Rebuilds what is missing (`record_prepare_counting`).
pub(crate) async fn prepare(conn: &mut SqliteConnection) -> Result<(), StoreError> {
    use sqlx::Connection;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut codes = Codes::load(&mut tx).await?;
    if refresh(&mut tx, &mut codes).await? {
        tx.commit().await?;
    }
    Ok(())
}

/// Whether every block of `table` up to its last rowid is held.
async fn complete(
    conn: &mut SqliteConnection,
    table: &str,
    facts_table: &str,
) -> Result<bool, StoreError> {
    let (last, held): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT (SELECT COALESCE(MAX(rowid), 0) FROM {table}) >> {SHIFT}, \
                (SELECT COUNT(*) FROM {facts_table} WHERE block <= \
                    (SELECT COALESCE(MAX(rowid), 0) FROM {table}) >> {SHIFT})"
    )))
    .fetch_one(&mut *conn)
    .await?;
    Ok(held == last + 1)
}

/// The facts, rebuilt where missing; `None` where the record holds something
/// they cannot represent, or where they are missing and cannot be rebuilt now
/// (another process holds the write lock, or the database is read-only).
pub(crate) async fn load(conn: &mut SqliteConnection) -> Result<Option<Facts>, StoreError> {
    use sqlx::Connection;
    // Usually every block is ready: read them in a plain read transaction,
    // without waiting for a writer.
    let mut tx = conn.begin().await?;
    if complete(&mut tx, "record_actions", "record_action_facts").await?
        && complete(&mut tx, "record_events", "record_event_facts").await?
    {
        let codes = Codes::load(&mut tx).await?;
        let facts = read(&mut tx, codes).await?;
        tx.commit().await?;
        return Ok(Some(facts));
    }
    tx.rollback().await?;
    match rebuild_and_read(conn).await {
        Err(StoreError::Database(sqlx::Error::Database(e)))
            if busy_or_read_only(e.code().as_deref()) =>
        {
            Ok(None)
        }
        other => other,
    }
}

/// SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY and their extended codes.
fn busy_or_read_only(code: Option<&str>) -> bool {
    code.and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 8))
}

async fn rebuild_and_read(conn: &mut SqliteConnection) -> Result<Option<Facts>, StoreError> {
    use sqlx::Connection;
    // A write transaction from the start: the blocks rebuilt and the blocks read
    // are of the same record, with no writer in between.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut codes = Codes::load(&mut tx).await?;
    if !refresh(&mut tx, &mut codes).await? {
        return Ok(None);
    }
    let facts = read(&mut tx, codes).await?;
    tx.commit().await?;
    Ok(Some(facts))
}

async fn read(conn: &mut SqliteConnection, codes: Codes) -> Result<Facts, StoreError> {
    let events: Vec<Vec<u8>> = sqlx::query_scalar("SELECT facts FROM record_event_facts")
        .fetch_all(&mut *conn)
        .await?;
    let actions: Vec<Vec<u8>> = sqlx::query_scalar("SELECT facts FROM record_action_facts")
        .fetch_all(&mut *conn)
        .await?;
    let reported: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT a.rowid, MAX(c.detained) FROM record_action_counts c \
         JOIN record_actions a ON a.id = c.action_id GROUP BY a.rowid",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Facts {
        codes: codes.names,
        events,
        actions,
        reported,
    })
}

fn words<const N: usize>(chunk: &[u8]) -> [u32; N] {
    let mut w = [0u32; N];
    for (i, v) in w.iter_mut().enumerate() {
        let b = chunk.get(i * 4..i * 4 + 4).unwrap_or(&[0, 0, 0, 0]);
        *v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    w
}

/// The key dimensions of one fact: year and month as numbers (2013, 201305),
/// the rest as codes; `NONE` where the record does not say.
#[derive(Clone, Copy)]
struct Keys {
    year: u32,
    month: u32,
    region: u32,
    action_kind: u32,
    event_kind: u32,
    authorised: u32,
    topic: u32,
}

const MAX_KEYS: usize = StatKey::ALL.len();

impl Keys {
    fn group(&self, by: &[StatKey]) -> [u32; MAX_KEYS] {
        let mut g = [NONE; MAX_KEYS];
        for (slot, k) in g.iter_mut().zip(by) {
            *slot = match k {
                StatKey::Year => self.year,
                StatKey::Month => self.month,
                StatKey::Region => self.region,
                StatKey::ActionKind => self.action_kind,
                StatKey::EventKind => self.event_kind,
                StatKey::Authorised => self.authorised,
                StatKey::Topic => self.topic,
                StatKey::Article => NONE,
            };
        }
        g
    }
}

fn code(c: u32) -> u32 {
    if c == 0 { NONE } else { c }
}

/// Year and month by the precision: as counts.rs, from the date's text.
fn year_month(ymd: u32, precision: u32) -> (u32, u32) {
    match (ymd, precision) {
        (0, _) => (NONE, NONE),
        (d, 1 | 2) => (d / 10_000, d / 100),
        (d, 3) => (d / 10_000, NONE),
        _ => (NONE, NONE),
    }
}

fn in_range(ymd: u32, from: Option<u32>, to: Option<u32>) -> bool {
    if ymd == 0 {
        return from.is_none() && to.is_none();
    }
    from.is_none_or(|f| ymd >= f) && to.is_none_or(|t| ymd <= t)
}

fn day_number(d: vigil_core::Day) -> Option<u32> {
    ymd(Some(&d.to_string())).filter(|n| *n != 0)
}

#[derive(Default)]
struct Sums {
    actions: u64,
    detentions: u64,
    detentions_named: u64,
    detentions_reported: u64,
    events: FastMap<u32, u64>,
}

fn distinct_by_first(pairs: &mut Vec<(u32, u32)>) -> FastMap<u32, u64> {
    pairs.sort_unstable();
    pairs.dedup();
    let mut n: FastMap<u32, u64> = FastMap::default();
    for (first, _) in pairs.iter() {
        *n.entry(*first).or_default() += 1;
    }
    n
}

struct ActionFact {
    keys: Keys,
    ymd: u32,
    reported: u64,
}

/// The groups (unsorted) and the total; the keys never include `article` nor
/// one key twice (the caller checks).
pub(crate) fn count(f: &Facts, q: &CountQuery) -> (Vec<CountRow>, CountRow) {
    let by = &q.by;
    let from = q.from.and_then(day_number);
    let to = q.to.and_then(day_number);
    let detention = f
        .codes
        .iter()
        .position(|c| c == "detention")
        .map_or(NONE, len32);
    let mut index: FastMap<u32, u32> = FastMap::default();
    let mut actions: Vec<ActionFact> = Vec::new();
    for block in &f.actions {
        for chunk in block.chunks_exact(ACTION_BYTES) {
            let [rowid, ymd, precision, region, kind, authorised, topic] = words::<7>(chunk);
            let (year, month) = year_month(ymd, precision);
            index.insert(rowid, len32(actions.len()));
            actions.push(ActionFact {
                keys: Keys {
                    year,
                    month,
                    region: code(region),
                    action_kind: code(kind),
                    event_kind: detention,
                    authorised: code(authorised),
                    topic: code(topic),
                },
                ymd,
                reported: 0,
            });
        }
    }
    for (rowid, n) in &f.reported {
        if let Some(&a) = u32::try_from(*rowid).ok().and_then(|r| index.get(&r))
            && let Some(fact) = actions.get_mut(a as usize)
        {
            fact.reported = n.unsigned_abs();
        }
    }
    let mut groups: FastMap<[u32; MAX_KEYS], u32> = FastMap::default();
    let mut sums: Vec<Sums> = Vec::new();
    let mut group_of = |g: [u32; MAX_KEYS], sums: &mut Vec<Sums>| -> u32 {
        *groups.entry(g).or_insert_with(|| {
            sums.push(Sums::default());
            len32(sums.len() - 1)
        })
    };
    let mut named: Vec<(u32, u32)> = Vec::new();
    let mut named_unknown: FastMap<u32, u64> = FastMap::default();
    let mut group_persons: Vec<(u32, u32)> = Vec::new();
    for block in &f.events {
        for chunk in block.chunks_exact(EVENT_BYTES) {
            let [action, person, ymd, precision, kind, region] = words::<6>(chunk);
            let a = if action == 0 {
                None
            } else {
                index.get(&action).copied()
            };
            if kind == detention
                && let Some(a) = a
            {
                if person == 0 {
                    *named_unknown.entry(a).or_default() += 1;
                } else {
                    named.push((a, person));
                }
            }
            if !in_range(ymd, from, to) {
                continue;
            }
            let (year, month) = year_month(ymd, precision);
            let of_action = a.and_then(|a| actions.get(a as usize)).map(|a| a.keys);
            let keys = Keys {
                year,
                month,
                region: code(region),
                action_kind: of_action.map_or(NONE, |a| a.action_kind),
                event_kind: code(kind),
                authorised: of_action.map_or(NONE, |a| a.authorised),
                topic: of_action.map_or(NONE, |a| a.topic),
            };
            let g = group_of(keys.group(by), &mut sums);
            if let Some(s) = sums.get_mut(g as usize) {
                if kind == detention && action == 0 {
                    s.detentions += 1;
                }
                *s.events.entry(kind).or_default() += 1;
            }
            if person != 0 {
                group_persons.push((g, person));
            }
        }
    }
    let named_persons = distinct_by_first(&mut named);
    for (a, fact) in actions.iter().enumerate() {
        if !in_range(fact.ymd, from, to) {
            continue;
        }
        let a = len32(a);
        let named = named_persons.get(&a).copied().unwrap_or(0)
            + named_unknown.get(&a).copied().unwrap_or(0);
        let g = group_of(fact.keys.group(by), &mut sums);
        if let Some(s) = sums.get_mut(g as usize) {
            s.actions += 1;
            s.detentions += named.max(fact.reported);
            s.detentions_named += named;
            s.detentions_reported += fact.reported;
        }
    }
    let mut total = CountRow::default();
    let mut everyone: Vec<u32> = group_persons.iter().map(|(_, p)| *p).collect();
    everyone.sort_unstable();
    everyone.dedup();
    total.persons = everyone.len() as u64;
    drop(everyone);
    let persons_of = distinct_by_first(&mut group_persons);
    let name = |k: StatKey, v: u32| -> Option<String> {
        if v == NONE {
            return None;
        }
        match k {
            StatKey::Year => Some(format!("{v:04}")),
            StatKey::Month => Some(format!("{:04}-{:02}", v / 100, v % 100)),
            _ => f.codes.get(v as usize).cloned(),
        }
    };
    let mut rows = Vec::with_capacity(groups.len());
    for (g, i) in groups {
        let Some(s) = sums.get(i as usize) else {
            continue;
        };
        let mut events = BTreeMap::new();
        for (kind, n) in &s.events {
            if let Some(kind) = f.codes.get(*kind as usize) {
                events.insert(kind.clone(), *n);
            }
        }
        total.actions += s.actions;
        total.detentions += s.detentions;
        total.detentions_named += s.detentions_named;
        total.detentions_reported += s.detentions_reported;
        for (kind, n) in &events {
            *total.events.entry(kind.clone()).or_default() += n;
        }
        rows.push(CountRow {
            keys: by.iter().zip(&g).map(|(k, v)| name(*k, *v)).collect(),
            actions: s.actions,
            detentions: s.detentions,
            detentions_named: s.detentions_named,
            detentions_reported: s.detentions_reported,
            persons: persons_of.get(&i).copied().unwrap_or(0),
            events,
        });
    }
    (rows, total)
}

#[cfg(test)]
mod tests {
    use super::{rowid, ymd};

    #[test]
    fn dates_and_rowids_read_strictly() {
        assert_eq!(ymd(Some("2013-05-06")), Some(20_130_506));
        assert_eq!(ymd(None), Some(0));
        for bad in ["2013-5-06", "2013-05-0x", "20130506", "0000-00-00"] {
            assert_eq!(ymd(Some(bad)), None, "{bad}");
        }
        assert_eq!(rowid(Some("17")), Some(17));
        assert_eq!(rowid(Some("0")), Some(0));
        for bad in [Some("-1"), Some("4294967295"), Some("x"), None] {
            assert_eq!(rowid(bad), None, "{bad:?}");
        }
    }
}
