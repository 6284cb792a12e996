//! The record's tables: sources, persons, protest actions, events, cases.
//!
//! The store sees only what statistics count (vocabulary codes, days, regions,
//! articles, links between records) in clear; everything that identifies a
//! person travels as `sealed` bytes that vigil-record encrypted with the record
//! key. The store cannot even represent a clear name.

use vigil_core::Day;

use crate::db::{Db, on_pool};
use crate::{StoreError, parse_day};

/// Where a record came from first: a source and, for a file, the row (1 = the
/// first data row after the header). Only a file's records have a row: the
/// source indexes hold the records without one (import5, migration 0010), and
/// the queries about a report's records look for those.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub source_id: String,
    pub row: Option<i64>,
}

/// What supports a record: a report (by id), an imported file (by the SHA-256
/// of its bytes; rows are named by the records' [`Origin`]), or a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRow {
    pub id: String,
    /// `report`, `file` or `link`.
    pub kind: String,
    pub report_id: Option<String>,
    pub file_sha256: Option<String>,
    /// A link or a file name, sealed.
    pub sealed: Option<Vec<u8>>,
    pub added: Day,
}

/// Who last changed a record, on which day, and its version (1 when created;
/// each edit adds one and keeps the previous version in the history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub version: i64,
    pub changed: Day,
    pub changed_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    pub id: String,
    /// Names and variants, birth date or year, contacts, notes.
    pub sealed: Vec<u8>,
    pub gender: Option<String>,
    pub region: Option<String>,
    pub roles: Vec<String>,
    pub consent: String,
    pub origin: Option<Origin>,
    pub stamp: Stamp,
}

/// A date as a day plus how much of it is known: for `month` and `year` the day
/// is the first of the period; `unknown` has no day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRow {
    pub day: Option<Day>,
    /// `day`, `month`, `year` or `unknown`.
    pub precision: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRow {
    pub id: String,
    pub date: DateRow,
    pub region: Option<String>,
    pub city: Option<String>,
    pub kind: String,
    pub topic: Option<String>,
    pub organiser: Option<String>,
    pub authorised: Option<String>,
    pub verification: String,
    /// Place, description, links.
    pub sealed: Vec<u8>,
    pub stations: Vec<String>,
    pub origin: Option<Origin>,
    pub stamp: Stamp,
}

/// The number detained at an action as one source reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCount {
    pub action_id: String,
    pub source_id: String,
    pub detained: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: String,
    pub person_id: String,
    /// The matter's title and notes.
    pub sealed: Vec<u8>,
    pub stamp: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub id: String,
    pub person_id: Option<String>,
    pub action_id: Option<String>,
    pub case_id: Option<String>,
    pub kind: String,
    pub date: DateRow,
    pub region: Option<String>,
    pub city: Option<String>,
    pub police_station: Option<String>,
    pub court: Option<String>,
    pub articles: Vec<String>,
    pub trigger: Option<String>,
    pub fine_rub: Option<i64>,
    pub arrest_days: Option<i64>,
    pub sentence: Option<String>,
    pub verification: String,
    /// Free text about the event.
    pub sealed: Vec<u8>,
    pub origin: Option<Origin>,
    pub stamp: Stamp,
}

/// Records written together, in one transaction: all or none. Records whose id
/// is already held are left as they are, so writing the same batch again (an
/// import run twice, or re-run after it was killed) changes nothing.
#[derive(Debug, Default, Clone)]
pub struct RecordBatch {
    pub sources: Vec<SourceRow>,
    pub persons: Vec<PersonRow>,
    pub actions: Vec<ActionRow>,
    pub counts: Vec<ActionCount>,
    pub cases: Vec<CaseRow>,
    pub events: Vec<EventRow>,
}

/// How many records of a batch were new.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub persons: u64,
    pub actions: u64,
    pub events: u64,
}

/// Which events to list: those of one person, one action or one case.
#[derive(Debug, Clone, Copy)]
pub enum EventsOf<'a> {
    Person(&'a str),
    Action(&'a str),
    Case(&'a str),
}

pub(crate) fn precision(s: &str) -> Result<&'static str, StoreError> {
    match s {
        "day" => Ok("day"),
        "month" => Ok("month"),
        "year" => Ok("year"),
        "unknown" => Ok("unknown"),
        _ => Err(StoreError::Corrupt(
            "a stored date precision is unknown".into(),
        )),
    }
}

fn opt_day(s: Option<String>) -> Result<Option<Day>, StoreError> {
    s.as_deref().map(parse_day).transpose()
}

fn join(list: &[String]) -> String {
    list.join(" ")
}

pub(super) fn split(s: &str) -> Vec<String> {
    s.split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Builds `INSERT INTO table (cols) VALUES ($1, ...), (...) ON CONFLICT DO NOTHING`
/// for `rows` rows: many rows per statement keep a million-row import fast.
/// SQLite gets anonymous `?` placeholders: it looks numbered ones (`$N`, `?N`)
/// up by name, one by one, which costs time quadratic in their number.
fn insert_sql(table_cols: &str, cols: usize, rows: usize, anonymous: bool) -> String {
    let mut sql = format!("INSERT INTO {table_cols} VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            if anonymous {
                sql.push('?');
            } else {
                sql.push('$');
                sql.push_str(&n.to_string());
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    sql
}

/// Rows per multi-row statement: under SQLite's 32,766 bound parameters.
const CHUNK: usize = 400;

macro_rules! insert_rows {
    ($tx:expr, $anonymous:expr, $table_cols:expr, $cols:expr, $rows:expr, |$q:ident, $r:ident| $bind:expr) => {{
        let mut inserted: u64 = 0;
        for chunk in $rows.chunks(CHUNK) {
            let sql = insert_sql($table_cols, $cols, chunk.len(), $anonymous);
            let mut $q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for $r in chunk {
                $q = $bind;
            }
            inserted += $q.execute(&mut *$tx).await?.rows_affected();
        }
        inserted
    }};
}

/// How much a committed batch must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Committed means on disk, through a power loss (SQLite `synchronous=FULL`).
    Full,
    /// For a batch that is written again if it is lost (an import, which is re-run
    /// after a crash and skips what is held): on SQLite a power loss may undo the
    /// last commits, never corrupt the database (`synchronous=NORMAL` in WAL mode
    /// syncs at checkpoints only). PostgreSQL keeps its own settings.
    Rerunnable,
}

/// Every table of a batch, inserted inside the transaction `$tx`.
macro_rules! insert_batch {
    ($tx:ident, $anonymous:expr, $b:expr, $stations:expr, $articles:expr, $outcome:expr) => {{
        let anonymous = $anonymous;
        let b = $b;
        let stations = $stations;
        let articles = $articles;
        let mut tx = $tx;
        let outcome = &mut $outcome;
        insert_rows!(tx, anonymous, "record_sources (id, kind, report_id, file_sha256, sealed, added)", 6, b.sources, |q, s| {
            q.bind(&s.id).bind(&s.kind).bind(&s.report_id).bind(&s.file_sha256).bind(&s.sealed).bind(s.added.to_string())
        });
        outcome.persons = insert_rows!(tx, anonymous,
            "record_persons (id, sealed, gender, region, roles, consent, source_id, source_row, version, changed, changed_by)",
            11, b.persons, |q, p| {
            q.bind(&p.id).bind(&p.sealed).bind(&p.gender).bind(&p.region).bind(join(&p.roles)).bind(&p.consent)
                .bind(p.origin.as_ref().map(|o| &o.source_id)).bind(p.origin.as_ref().and_then(|o| o.row))
                .bind(p.stamp.version).bind(p.stamp.changed.to_string()).bind(&p.stamp.changed_by)
        });
        outcome.actions = insert_rows!(tx, anonymous,
            "record_actions (id, date, date_precision, region, city, kind, topic, organiser, authorised, verification, \
             sealed, source_id, source_row, version, changed, changed_by)",
            16, b.actions, |q, a| {
            q.bind(&a.id).bind(a.date.day.map(|d| d.to_string())).bind(a.date.precision).bind(&a.region).bind(&a.city)
                .bind(&a.kind).bind(&a.topic).bind(&a.organiser).bind(&a.authorised).bind(&a.verification).bind(&a.sealed)
                .bind(a.origin.as_ref().map(|o| &o.source_id)).bind(a.origin.as_ref().and_then(|o| o.row))
                .bind(a.stamp.version).bind(a.stamp.changed.to_string()).bind(&a.stamp.changed_by)
        });
        insert_rows!(tx, anonymous, "record_action_stations (action_id, station)", 2, stations, |q, s| {
            q.bind(s.0).bind(s.1)
        });
        insert_rows!(tx, anonymous, "record_action_counts (action_id, source_id, detained)", 3, b.counts, |q, c| {
            q.bind(&c.action_id).bind(&c.source_id).bind(i64::try_from(c.detained).unwrap_or(i64::MAX))
        });
        insert_rows!(tx, anonymous, "record_cases (id, person_id, sealed, version, changed, changed_by)", 6, b.cases, |q, c| {
            q.bind(&c.id).bind(&c.person_id).bind(&c.sealed)
                .bind(c.stamp.version).bind(c.stamp.changed.to_string()).bind(&c.stamp.changed_by)
        });
        outcome.events = insert_rows!(tx, anonymous,
            "record_events (id, person_id, action_id, case_id, kind, date, date_precision, region, city, police_station, \
             court, trigger_kind, fine_rub, arrest_days, sentence, verification, sealed, source_id, source_row, \
             version, changed, changed_by)",
            22, b.events, |q, e| {
            q.bind(&e.id).bind(&e.person_id).bind(&e.action_id).bind(&e.case_id).bind(&e.kind)
                .bind(e.date.day.map(|d| d.to_string())).bind(e.date.precision).bind(&e.region).bind(&e.city)
                .bind(&e.police_station).bind(&e.court).bind(&e.trigger).bind(e.fine_rub).bind(e.arrest_days)
                .bind(&e.sentence).bind(&e.verification).bind(&e.sealed)
                .bind(e.origin.as_ref().map(|o| &o.source_id)).bind(e.origin.as_ref().and_then(|o| o.row))
                .bind(e.stamp.version).bind(e.stamp.changed.to_string()).bind(&e.stamp.changed_by)
        });
        insert_rows!(tx, anonymous, "record_event_articles (event_id, article)", 2, articles, |q, a| {
            q.bind(a.0).bind(a.1)
        });
        tx
    }};
}

pub(super) async fn write_batch(
    db: &Db,
    b: &RecordBatch,
    durability: Durability,
) -> Result<BatchOutcome, StoreError> {
    let stations: Vec<(&str, &str)> = b
        .actions
        .iter()
        .flat_map(|a| a.stations.iter().map(move |s| (a.id.as_str(), s.as_str())))
        .collect();
    let articles: Vec<(&str, &str)> = b
        .events
        .iter()
        .flat_map(|e| e.articles.iter().map(move |s| (e.id.as_str(), s.as_str())))
        .collect();
    let mut outcome = BatchOutcome::default();
    match db {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            // The statement journal (each multi-row INSERT can be undone alone)
            // stays in memory instead of a temporary file.
            // A rerunnable batch also lets the write-ahead log grow to 16,384
            // pages (64 MiB with 4 KiB pages, 256 MiB on a desk made with
            // 16 KiB pages since import6) before it is copied into the
            // database (and synced): a page changed by several batches is then
            // copied once, not each time.
            let (sync, checkpoint) = match durability {
                Durability::Full => ("FULL", 1000),
                Durability::Rerunnable => ("NORMAL", 16384),
            };
            let written: Result<(), StoreError> = async {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "PRAGMA temp_store = MEMORY; PRAGMA synchronous = {sync}; \
                     PRAGMA wal_autocheckpoint = {checkpoint}"
                )))
                .execute(&mut *conn)
                .await?;
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                outcome = super::bulk::write(&mut tx, b, &stations, &articles).await?;
                tx.commit().await?;
                sqlx::query("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 1000")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }
            .await;
            if written.is_err() {
                // Never back into the pool with the relaxed setting.
                conn.close_on_drop();
            }
            written?;
        }
        Db::Postgres(pool) => {
            let tx = pool.begin().await?;
            let tx = insert_batch!(tx, false, b, stations, articles, outcome);
            tx.commit().await?;
        }
    }
    Ok(outcome)
}

pub(super) const PERSON_COLS: &str = "id, sealed, gender, region, roles, consent, source_id, source_row, version, changed, changed_by";
pub(super) const ACTION_COLS: &str = "id, date, date_precision, region, city, kind, topic, organiser, authorised, verification, \
     sealed, source_id, source_row, version, changed, changed_by";
const EVENT_COLS: &str = "id, person_id, action_id, case_id, kind, date, date_precision, region, city, police_station, \
     court, trigger_kind, fine_rub, arrest_days, sentence, verification, sealed, source_id, source_row, version, changed, changed_by";
const CASE_COLS: &str = "id, person_id, sealed, version, changed, changed_by";

pub(super) fn origin(source_id: Option<String>, row: Option<i64>) -> Option<Origin> {
    source_id.map(|source_id| Origin { source_id, row })
}

pub(super) fn stamp(version: i64, changed: &str, changed_by: String) -> Result<Stamp, StoreError> {
    Ok(Stamp {
        version,
        changed: parse_day(changed)?,
        changed_by,
    })
}

pub(super) fn date_row(day: Option<String>, precision_text: &str) -> Result<DateRow, StoreError> {
    Ok(DateRow {
        day: opt_day(day)?,
        precision: precision(precision_text)?,
    })
}

/// The source columns every versioned row carries, from either backend.
macro_rules! row_origin {
    ($r:expr) => {
        origin($r.try_get("source_id")?, $r.try_get("source_row")?)
    };
}
pub(super) use row_origin;

/// The version columns every versioned row carries, from either backend.
macro_rules! row_stamp {
    ($r:expr) => {
        stamp(
            $r.try_get("version")?,
            &$r.try_get::<String, _>("changed")?,
            $r.try_get("changed_by")?,
        )?
    };
}
pub(super) use row_stamp;

/// Decodes a row of `PERSON_COLS` from either backend.
macro_rules! person_from {
    ($r:expr) => {{
        let r = $r;
        PersonRow {
            id: r.try_get("id")?,
            sealed: r.try_get("sealed")?,
            gender: r.try_get("gender")?,
            region: r.try_get("region")?,
            roles: split(&r.try_get::<String, _>("roles")?),
            consent: r.try_get("consent")?,
            origin: row_origin!(r),
            stamp: row_stamp!(r),
        }
    }};
}
pub(super) use person_from;

macro_rules! action_from {
    ($r:expr, $stations:expr) => {{
        let r = $r;
        ActionRow {
            id: r.try_get("id")?,
            date: date_row(
                r.try_get("date")?,
                &r.try_get::<String, _>("date_precision")?,
            )?,
            region: r.try_get("region")?,
            city: r.try_get("city")?,
            kind: r.try_get("kind")?,
            topic: r.try_get("topic")?,
            organiser: r.try_get("organiser")?,
            authorised: r.try_get("authorised")?,
            verification: r.try_get("verification")?,
            sealed: r.try_get("sealed")?,
            stations: $stations,
            origin: row_origin!(r),
            stamp: row_stamp!(r),
        }
    }};
}
pub(super) use action_from;

macro_rules! event_from {
    ($r:expr, $articles:expr) => {{
        let r = $r;
        EventRow {
            id: r.try_get("id")?,
            person_id: r.try_get("person_id")?,
            action_id: r.try_get("action_id")?,
            case_id: r.try_get("case_id")?,
            kind: r.try_get("kind")?,
            date: date_row(
                r.try_get("date")?,
                &r.try_get::<String, _>("date_precision")?,
            )?,
            region: r.try_get("region")?,
            city: r.try_get("city")?,
            police_station: r.try_get("police_station")?,
            court: r.try_get("court")?,
            articles: $articles,
            trigger: r.try_get("trigger_kind")?,
            fine_rub: r.try_get("fine_rub")?,
            arrest_days: r.try_get("arrest_days")?,
            sentence: r.try_get("sentence")?,
            verification: r.try_get("verification")?,
            sealed: r.try_get("sealed")?,
            origin: row_origin!(r),
            stamp: row_stamp!(r),
        }
    }};
}

pub(super) async fn person(db: &Db, id: &str) -> Result<Option<PersonRow>, StoreError> {
    use sqlx::Row;
    let sql = format!("SELECT {PERSON_COLS} FROM record_persons WHERE id = $1");
    on_pool!(db, pool => {
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?;
        Ok(match row {
            Some(r) => Some(person_from!(&r)),
            None => None,
        })
    })
}

pub(super) async fn action(db: &Db, id: &str) -> Result<Option<ActionRow>, StoreError> {
    use sqlx::Row;
    let sql = format!("SELECT {ACTION_COLS} FROM record_actions WHERE id = $1");
    on_pool!(db, pool => {
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await? else {
            return Ok(None);
        };
        let stations: Vec<String> = sqlx::query_scalar(
            "SELECT station FROM record_action_stations WHERE action_id = $1 ORDER BY station",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        Ok(Some(action_from!(&r, stations)))
    })
}

pub(super) async fn action_counts(
    db: &Db,
    action_id: &str,
) -> Result<Vec<ActionCount>, StoreError> {
    let rows: Vec<(String, String, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT action_id, source_id, detained FROM record_action_counts WHERE action_id = $1 ORDER BY source_id",
        )
        .bind(action_id)
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(action_id, source_id, n)| ActionCount {
            action_id,
            source_id,
            detained: n.unsigned_abs(),
        })
        .collect())
}

pub(super) async fn case(db: &Db, id: &str) -> Result<Option<CaseRow>, StoreError> {
    let row: Option<(String, String, Vec<u8>, i64, String, String)> = on_pool!(db, pool => {
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {CASE_COLS} FROM record_cases WHERE id = $1")))
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    row.map(|(id, person_id, sealed, version, changed, changed_by)| {
        Ok(CaseRow {
            id,
            person_id,
            sealed,
            stamp: stamp(version, &changed, changed_by)?,
        })
    })
    .transpose()
}

pub(super) async fn source(db: &Db, id: &str) -> Result<Option<SourceRow>, StoreError> {
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<Vec<u8>>,
        String,
    );
    let row: Option<Row> = on_pool!(db, pool => {
        sqlx::query_as("SELECT id, kind, report_id, file_sha256, sealed, added FROM record_sources WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?
    });
    row.map(|(id, kind, report_id, file_sha256, sealed, added)| {
        Ok(SourceRow {
            id,
            kind,
            report_id,
            file_sha256,
            sealed,
            added: parse_day(&added)?,
        })
    })
    .transpose()
}

/// Events of a person, an action or a case, in date order (unknown dates last),
/// then by id.
pub(super) async fn events(db: &Db, of: EventsOf<'_>) -> Result<Vec<EventRow>, StoreError> {
    use sqlx::Row;
    let (column, id) = match of {
        EventsOf::Person(id) => ("person_id", id),
        EventsOf::Action(id) => ("action_id", id),
        EventsOf::Case(id) => ("case_id", id),
    };
    let sql = format!(
        "SELECT {EVENT_COLS} FROM record_events WHERE {column} = $1 \
         ORDER BY CASE WHEN date IS NULL THEN 1 ELSE 0 END, date, id"
    );
    let articles_sql = format!(
        "SELECT x.event_id, x.article FROM record_event_articles x JOIN record_events e ON e.id = x.event_id \
         WHERE e.{column} = $1 ORDER BY x.event_id, x.article"
    );
    on_pool!(db, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(pool).await?;
        let pairs: Vec<(String, String)> = sqlx::query_as(sqlx::AssertSqlSafe(articles_sql))
            .bind(id)
            .fetch_all(pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let event_id: String = r.try_get("id")?;
            let articles = pairs
                .iter()
                .filter(|(e, _)| *e == event_id)
                .map(|(_, a)| a.clone())
                .collect();
            out.push(event_from!(r, articles));
        }
        Ok(out)
    })
}

pub(super) async fn event(db: &Db, id: &str) -> Result<Option<EventRow>, StoreError> {
    use sqlx::Row;
    let sql = format!("SELECT {EVENT_COLS} FROM record_events WHERE id = $1");
    on_pool!(db, pool => {
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await? else {
            return Ok(None);
        };
        let articles: Vec<String> = sqlx::query_scalar(
            "SELECT article FROM record_event_articles WHERE event_id = $1 ORDER BY article",
        )
        .bind(id)
        .fetch_all(pool)
        .await?;
        Ok(Some(event_from!(&r, articles)))
    })
}

// --- the whole record, for a public release (pubsite) ---
// The release builder decides what of it is published; nothing here filters.

/// Every action, by date (unknown dates last), then id.
pub(super) async fn all_actions(db: &Db) -> Result<Vec<ActionRow>, StoreError> {
    use sqlx::Row;
    let sql = format!(
        "SELECT {ACTION_COLS} FROM record_actions \
         ORDER BY CASE WHEN date IS NULL THEN 1 ELSE 0 END, date, id"
    );
    on_pool!(db, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
        let pairs: Vec<(String, String)> = sqlx::query_as(
            "SELECT action_id, station FROM record_action_stations ORDER BY action_id, station",
        )
        .fetch_all(pool)
        .await?;
        let mut stations: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for (a, s) in pairs {
            stations.entry(a).or_default().push(s);
        }
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let list = stations.remove(&id).unwrap_or_default();
            out.push(action_from!(r, list));
        }
        Ok(out)
    })
}

/// Every reported count of detained, by action then source.
pub(super) async fn all_action_counts(db: &Db) -> Result<Vec<ActionCount>, StoreError> {
    let rows: Vec<(String, String, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT action_id, source_id, detained FROM record_action_counts ORDER BY action_id, source_id",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(action_id, source_id, n)| ActionCount {
            action_id,
            source_id,
            detained: n.unsigned_abs(),
        })
        .collect())
}

/// Every person, by id.
pub(super) async fn all_persons(db: &Db) -> Result<Vec<PersonRow>, StoreError> {
    use sqlx::Row;
    let sql = format!("SELECT {PERSON_COLS} FROM record_persons ORDER BY id");
    // Streamed: a million rows never sit in memory twice (as rows and as PersonRow).
    on_pool!(db, pool => {
        use futures_util::TryStreamExt;
        let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(pool);
        let mut out = Vec::new();
        while let Some(r) = stream.try_next().await? {
            out.push(person_from!(&r));
        }
        Ok(out)
    })
}

/// Every event, by date (unknown dates last), then id.
pub(super) async fn all_events(db: &Db) -> Result<Vec<EventRow>, StoreError> {
    use sqlx::Row;
    let sql = format!(
        "SELECT {EVENT_COLS} FROM record_events \
         ORDER BY CASE WHEN date IS NULL THEN 1 ELSE 0 END, date, id"
    );
    on_pool!(db, pool => {
        use futures_util::TryStreamExt;
        let pairs: Vec<(String, String)> = sqlx::query_as(
            "SELECT event_id, article FROM record_event_articles ORDER BY event_id, article",
        )
        .fetch_all(pool)
        .await?;
        let mut articles: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for (e, a) in pairs {
            articles.entry(e).or_default().push(a);
        }
        // Streamed: a million rows never sit in memory twice (as rows and as EventRow).
        let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(pool);
        let mut out = Vec::new();
        while let Some(r) = stream.try_next().await? {
            let id: String = r.try_get("id")?;
            let list = articles.remove(&id).unwrap_or_default();
            out.push(event_from!(&r, list));
        }
        Ok(out)
    })
}

// --- pubstream: the record in pages, for a release of a million events ---
// Keyset pagination: each page starts after the last row of the one before, so
// every page is one index range scan and no page holds more than `limit` rows,
// however large the record. Nothing here filters what is published but the
// persons a release counts (consent other than `none`, with an event).

/// An event's counted fields, without its sealed text, case or outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    pub id: String,
    pub person_id: Option<String>,
    pub action_id: Option<String>,
    pub kind: String,
    pub date: DateRow,
    pub region: Option<String>,
    pub articles: Vec<String>,
    pub trigger: Option<String>,
}

/// An action with the two numbers its detentions are counted from (counts.rs):
/// the distinct persons named as detained there (each unnamed detention
/// counting one) and the highest number a source reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDetained {
    /// The action; its `stations` are left empty (a release does not show them).
    pub action: ActionRow,
    pub named: u64,
    pub reported: u64,
}

/// Where a page of actions starts: after this action in date order (unknown
/// dates last), then id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionCursor {
    pub date: Option<Day>,
    pub id: String,
}

impl ActionCursor {
    pub fn after(a: &ActionRow) -> ActionCursor {
        ActionCursor {
            date: a.date.day,
            id: a.id.clone(),
        }
    }
}

const ACTION_DETAINED_COLS: &str = "a.id, a.date, a.date_precision, a.region, a.city, a.kind, a.topic, \
     a.organiser, a.authorised, a.verification, a.sealed, a.source_id, a.source_row, a.version, a.changed, \
     a.changed_by, \
     CAST(COALESCE((SELECT COUNT(DISTINCT e.person_id) + SUM(CASE WHEN e.person_id IS NULL THEN 1 ELSE 0 END) \
        FROM record_events e WHERE e.action_id = a.id AND e.kind = 'detention'), 0) AS BIGINT) AS named, \
     CAST(COALESCE((SELECT MAX(c.detained) FROM record_action_counts c WHERE c.action_id = a.id), 0) AS BIGINT) \
        AS reported";

/// Up to `limit` actions after `after`, in date order (unknown dates last),
/// then id, each with its detention numbers.
pub(super) async fn actions_page(
    db: &Db,
    after: Option<&ActionCursor>,
    limit: u32,
) -> Result<Vec<ActionDetained>, StoreError> {
    use sqlx::Row;
    let limit = i64::from(limit);
    let dated_from = match after {
        None => Some(None),
        Some(ActionCursor { date: Some(d), id }) => Some(Some((d.to_string(), id.as_str()))),
        Some(ActionCursor { date: None, .. }) => None,
    };
    let mut out = Vec::new();
    on_pool!(db, pool => {
        if let Some(from) = &dated_from {
            let rows = match from {
                None => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ACTION_DETAINED_COLS} FROM record_actions a WHERE a.date IS NOT NULL \
                         ORDER BY a.date, a.id LIMIT $1"
                    )))
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
                }
                Some((date, id)) => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ACTION_DETAINED_COLS} FROM record_actions a \
                         WHERE a.date IS NOT NULL AND (a.date > $1 OR (a.date = $1 AND a.id > $2)) \
                         ORDER BY a.date, a.id LIMIT $3"
                    )))
                    .bind(date.as_str())
                    .bind(*id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?
                }
            };
            for r in &rows {
                out.push(ActionDetained {
                    action: action_from!(r, Vec::new()),
                    named: r.try_get::<i64, _>("named")?.unsigned_abs(),
                    reported: r.try_get::<i64, _>("reported")?.unsigned_abs(),
                });
            }
        }
        let room = limit - i64::try_from(out.len()).unwrap_or(limit);
        if room > 0 {
            let after_id = match after {
                Some(ActionCursor { date: None, id }) => Some(id.as_str()),
                _ => None,
            };
            let rows = match after_id {
                None => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ACTION_DETAINED_COLS} FROM record_actions a WHERE a.date IS NULL \
                         ORDER BY a.id LIMIT $1"
                    )))
                    .bind(room)
                    .fetch_all(pool)
                    .await?
                }
                Some(id) => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {ACTION_DETAINED_COLS} FROM record_actions a WHERE a.date IS NULL AND a.id > $1 \
                         ORDER BY a.id LIMIT $2"
                    )))
                    .bind(id)
                    .bind(room)
                    .fetch_all(pool)
                    .await?
                }
            };
            for r in &rows {
                out.push(ActionDetained {
                    action: action_from!(r, Vec::new()),
                    named: r.try_get::<i64, _>("named")?.unsigned_abs(),
                    reported: r.try_get::<i64, _>("reported")?.unsigned_abs(),
                });
            }
        }
        Ok(out)
    })
}

/// Up to `limit` events after the event `after` (by id), in id order, with
/// their articles.
pub(super) async fn event_facts_page(
    db: &Db,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<EventFacts>, StoreError> {
    use sqlx::Row;
    let limit = i64::from(limit);
    let cols = "id, person_id, action_id, kind, date, date_precision, region, trigger_kind";
    on_pool!(db, pool => {
        let rows = match after {
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {cols} FROM record_events ORDER BY id LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            Some(after) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {cols} FROM record_events WHERE id > $1 ORDER BY id LIMIT $2"
                )))
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        };
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            return Ok(Vec::new());
        };
        let first: String = first.try_get("id")?;
        let last: String = last.try_get("id")?;
        // The same id range, read along the articles' primary key.
        let pairs: Vec<(String, String)> = sqlx::query_as(
            "SELECT event_id, article FROM record_event_articles \
             WHERE event_id >= $1 AND event_id <= $2 ORDER BY event_id, article",
        )
        .bind(first.as_str())
        .bind(last.as_str())
        .fetch_all(pool)
        .await?;
        let mut pairs = pairs.into_iter().peekable();
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let mut articles = Vec::new();
            while let Some((e, _)) = pairs.peek() {
                if e.as_str() < id.as_str() {
                    pairs.next();
                } else if *e == id {
                    if let Some((_, a)) = pairs.next() {
                        articles.push(a);
                    }
                } else {
                    break;
                }
            }
            out.push(EventFacts {
                person_id: r.try_get("person_id")?,
                action_id: r.try_get("action_id")?,
                kind: r.try_get("kind")?,
                date: date_row(
                    r.try_get("date")?,
                    &r.try_get::<String, _>("date_precision")?,
                )?,
                region: r.try_get("region")?,
                articles,
                trigger: r.try_get("trigger_kind")?,
                id,
            });
        }
        Ok(out)
    })
}

/// Up to `limit` persons after the person `after` (by id), in id order, whose
/// consent is not `none` and who have at least one event: the persons a
/// release counts.
pub(super) async fn counted_persons_page(
    db: &Db,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<PersonRow>, StoreError> {
    use sqlx::Row;
    let limit = i64::from(limit);
    let counted = "consent <> 'none' AND EXISTS (SELECT 1 FROM record_events e WHERE e.person_id = record_persons.id)";
    on_pool!(db, pool => {
        let rows = match after {
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {PERSON_COLS} FROM record_persons WHERE {counted} ORDER BY id LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
            Some(after) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {PERSON_COLS} FROM record_persons WHERE id > $1 AND {counted} ORDER BY id LIMIT $2"
                )))
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(person_from!(r));
        }
        Ok(out)
    })
}
