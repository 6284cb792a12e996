//! pubfast, pub4: the record's pages for a release, read on SQLite through a
//! connection of their own (rusqlite), column by column.
//!
//! sqlx hands SQLite's rows over one at a time through a channel, each value
//! copied and freed on the other side: for a million events that cost more than
//! SQLite's own reading (docs/benchmarks.md, pubstream). pubfast had SQLite pack
//! each page into one string that Rust then unpacked; packing alone cost about
//! 2 CPU s for a million events, and the unpacking ran on the caller's thread.
//! Here a page is read on a blocking thread straight from SQLite's columns
//! into its rows (the caller's thread goes on with the previous page
//! meanwhile), and the events' articles come from one ordered range read of
//! `record_event_articles` merged in, not a subquery per event.
//!
//! The pages hold the same rows, in the same order, as the general queries in
//! record.rs, which PostgreSQL and an in-memory SQLite database keep: the order
//! is checked here, and restored if it ever differs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row, params};
use sqlx::SqlitePool;

use super::record::{ActionCursor, ActionDetained, ActionRow, EventFacts, date_row, origin, stamp};
use crate::StoreError;

/// The desk file a pool reads, when it is a file a second connection can open
/// (an in-memory database is not).
pub(super) fn file(pool: &SqlitePool) -> Option<PathBuf> {
    let options = pool.connect_options();
    let path = options.get_filename();
    path.is_file().then(|| path.to_owned())
}

/// A connection of the release's own, opened for one page: opening costs far
/// less than a page, and nothing is held between pages.
fn open(path: &Path) -> Result<Connection, StoreError> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(Duration::from_secs(10))?;
    // Reads only; a small cache (the OS holds the file's pages).
    c.execute_batch("PRAGMA query_only = ON; PRAGMA cache_size = -8192;")?;
    Ok(c)
}

/// Runs `read` on a blocking thread with a connection to `path`.
async fn on_file<T: Send + 'static>(
    path: PathBuf,
    read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(move || read(&open(&path)?))
        .await
        .map_err(|_| StoreError::Direct("the release's reading thread stopped".into()))?
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("a stored {what} does not read back"))
}

fn text(r: &Row<'_>, i: usize) -> Result<Option<String>, StoreError> {
    Ok(r.get::<_, Option<String>>(i)?)
}

fn required(r: &Row<'_>, i: usize, what: &str) -> Result<String, StoreError> {
    text(r, i)?.ok_or_else(|| corrupt(what))
}

const EVENT_SELECT: &str = "SELECT id, person_id, action_id, kind, date, date_precision, region, \
     trigger_kind FROM record_events";

/// Up to `limit` events after the event `after` (by id), in id order, with
/// their articles sorted: `record::event_facts_page`.
pub(super) async fn event_facts_page(
    path: PathBuf,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<EventFacts>, StoreError> {
    let after = after.map(str::to_owned);
    on_file(path, move |c| events(c, after.as_deref(), i64::from(limit))).await
}

fn events(c: &Connection, after: Option<&str>, limit: i64) -> Result<Vec<EventFacts>, StoreError> {
    let row = |r: &Row<'_>| -> Result<EventFacts, StoreError> {
        Ok(EventFacts {
            id: required(r, 0, "event")?,
            person_id: text(r, 1)?,
            action_id: text(r, 2)?,
            kind: required(r, 3, "event kind")?,
            date: date_row(text(r, 4)?, &text(r, 5)?.unwrap_or_default())?,
            region: text(r, 6)?,
            articles: Vec::new(),
            trigger: text(r, 7)?,
        })
    };
    let mut out: Vec<EventFacts> = Vec::with_capacity(usize::try_from(limit).unwrap_or(0));
    match after {
        None => {
            let mut st = c.prepare(&format!("{EVENT_SELECT} ORDER BY id LIMIT ?1"))?;
            let mut rows = st.query(params![limit])?;
            while let Some(r) = rows.next()? {
                out.push(row(r)?);
            }
        }
        Some(after) => {
            let mut st = c.prepare(&format!(
                "{EVENT_SELECT} WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))?;
            let mut rows = st.query(params![after, limit])?;
            while let Some(r) = rows.next()? {
                out.push(row(r)?);
            }
        }
    }
    if out.windows(2).any(|w| w[0].id >= w[1].id) {
        out.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    }
    let (Some(first), Some(last)) = (out.first(), out.last()) else {
        return Ok(out);
    };
    // The same id range, read along the articles' primary key, merged in.
    let mut st = c.prepare(
        "SELECT event_id, article FROM record_event_articles \
         WHERE event_id >= ?1 AND event_id <= ?2 ORDER BY event_id, article",
    )?;
    let mut pairs = st.query(params![first.id, last.id])?;
    let mut at = 0;
    let mut unsorted = false;
    while let Some(r) = pairs.next()? {
        let event = r.get_ref(0)?.as_str().map_err(|_| corrupt("article"))?;
        while at < out.len() && out[at].id.as_str() < event {
            at += 1;
        }
        let Some(e) = out.get_mut(at) else { break };
        if e.id == event {
            let article: String = r.get(1)?;
            unsorted |= e.articles.last().is_some_and(|l| *l >= article);
            e.articles.push(article);
        }
    }
    if unsorted {
        for e in &mut out {
            e.articles.sort_unstable();
        }
    }
    Ok(out)
}

/// An action's columns and its two detention numbers (the rules of counts.rs).
const ACTION_SELECT: &str = "SELECT e.id, e.date, e.date_precision, e.region, e.city, e.kind, \
     e.topic, e.organiser, e.authorised, e.verification, e.sealed, e.source_id, e.source_row, \
     e.version, e.changed, e.changed_by, \
     (SELECT COUNT(DISTINCT d.person_id) + SUM(CASE WHEN d.person_id IS NULL THEN 1 ELSE 0 END) \
      FROM record_events d WHERE d.action_id = e.id AND d.kind = 'detention'), \
     (SELECT MAX(c.detained) FROM record_action_counts c WHERE c.action_id = e.id) \
     FROM record_actions e";

fn action(r: &Row<'_>) -> Result<ActionDetained, StoreError> {
    let count = |i: usize| -> Result<u64, StoreError> {
        Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).unsigned_abs())
    };
    Ok(ActionDetained {
        action: ActionRow {
            id: required(r, 0, "action")?,
            date: date_row(text(r, 1)?, &text(r, 2)?.unwrap_or_default())?,
            region: text(r, 3)?,
            city: text(r, 4)?,
            kind: required(r, 5, "action kind")?,
            topic: text(r, 6)?,
            organiser: text(r, 7)?,
            authorised: text(r, 8)?,
            verification: required(r, 9, "verification")?,
            sealed: r.get::<_, Option<Vec<u8>>>(10)?.unwrap_or_default(),
            stations: Vec::new(),
            origin: origin(text(r, 11)?, r.get::<_, Option<i64>>(12)?),
            stamp: stamp(
                r.get::<_, Option<i64>>(13)?
                    .ok_or_else(|| corrupt("version"))?,
                &text(r, 14)?.unwrap_or_default(),
                required(r, 15, "changed_by")?,
            )?,
        },
        named: count(16)?,
        reported: count(17)?,
    })
}

/// One part's actions (dated or not): `filter`, `order`, its text parameters
/// and then the limit.
fn actions_part(
    c: &Connection,
    filter: &str,
    order: &str,
    binds: &[&str],
    limit: i64,
) -> Result<Vec<ActionDetained>, StoreError> {
    let n = binds.len() + 1;
    let mut st = c.prepare(&format!(
        "{ACTION_SELECT} WHERE {filter} ORDER BY {order} LIMIT ?{n}"
    ))?;
    for (i, b) in binds.iter().enumerate() {
        st.raw_bind_parameter(i + 1, *b)?;
    }
    st.raw_bind_parameter(n, limit)?;
    let mut rows = st.raw_query();
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(action(r)?);
    }
    sort_part(&mut out);
    Ok(out)
}

/// The actions' order within one part (dated or not): what the page reads.
fn sort_part(part: &mut [ActionDetained]) {
    let key = |a: &ActionDetained| (a.action.date.day, a.action.id.clone());
    if part.windows(2).any(|w| key(&w[0]) >= key(&w[1])) {
        part.sort_unstable_by_key(key);
    }
}

/// Up to `limit` actions after `after`, by date (unknown dates last) then id:
/// `record::actions_page`.
pub(super) async fn actions_page(
    path: PathBuf,
    after: Option<&ActionCursor>,
    limit: u32,
) -> Result<Vec<ActionDetained>, StoreError> {
    let after = after.cloned();
    on_file(path, move |c| actions(c, after.as_ref(), i64::from(limit))).await
}

fn actions(
    c: &Connection,
    after: Option<&ActionCursor>,
    limit: i64,
) -> Result<Vec<ActionDetained>, StoreError> {
    let mut out = match after {
        None => actions_part(c, "e.date IS NOT NULL", "e.date, e.id", &[], limit)?,
        Some(ActionCursor { date: Some(d), id }) => actions_part(
            c,
            "e.date IS NOT NULL AND (e.date > ?1 OR (e.date = ?1 AND e.id > ?2))",
            "e.date, e.id",
            &[&d.to_string(), id],
            limit,
        )?,
        Some(ActionCursor { date: None, .. }) => Vec::new(),
    };
    let room = limit - i64::try_from(out.len()).unwrap_or(limit);
    if room > 0 {
        let mut undated = match after {
            Some(ActionCursor { date: None, id }) => {
                actions_part(c, "e.date IS NULL AND e.id > ?1", "e.id", &[id], room)?
            }
            _ => actions_part(c, "e.date IS NULL", "e.id", &[], room)?,
        };
        out.append(&mut undated);
    }
    Ok(out)
}
