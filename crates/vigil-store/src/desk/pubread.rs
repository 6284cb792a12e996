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

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::record::{ActionCursor, ActionDetained, ActionRow, EventFacts, date_row, origin, stamp};
use crate::StoreError;
use rusqlite::{Connection, OpenFlags, Row, params};

/// The release's own connection to an SQLite desk file, opened by the first
/// page and kept, with its cache, until a page comes back short (the end of
/// the table): a connection per page read every page of the file from the OS
/// again (the actions' detention numbers look events up all over the file).
pub(crate) struct Reader {
    path: PathBuf,
    state: Arc<Mutex<State>>,
}

/// What a walk through the pages keeps between them.
#[derive(Default)]
struct State {
    conn: Option<Connection>,
    /// The actions' named detention numbers (action id → number), read in
    /// one grouped pass along `record_events_action` when the actions' walk
    /// starts (a page with no cursor): a correlated subquery
    /// per action looked the same events up in date order, all over the index
    /// (2.4 CPU s for 240,794 actions against 0.9 s). Kept (about 20 MB for
    /// 240,794 actions) until the walk ends.
    named: Option<HashMap<String, u64>>,
}

impl Reader {
    pub(crate) fn new(path: &Path) -> Reader {
        Reader {
            path: path.to_owned(),
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Runs `read` on a blocking thread (the caller's thread goes on with the
    /// previous page meanwhile); `read` returns its rows and whether the
    /// page was full (if not, the connection is closed).
    async fn on_file<T: Send + 'static>(
        &self,
        read: impl FnOnce(
            &Connection,
            &mut Option<HashMap<String, u64>>,
        ) -> Result<(T, bool), StoreError>
        + Send
        + 'static,
    ) -> Result<T, StoreError> {
        let state = Arc::clone(&self.state);
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
            let c = match guard.conn.take() {
                Some(c) => c,
                None => open(&path)?,
            };
            let mut named = guard.named.take();
            let (rows, full) = read(&c, &mut named)?;
            if full {
                guard.conn = Some(c);
                guard.named = named;
            }
            Ok(rows)
        })
        .await
        .map_err(|_| StoreError::Direct("the release's reading thread stopped".into()))?
    }

    /// Up to `limit` events after the event `after` (by id), in id order,
    /// with their articles sorted: `record::event_facts_page`.
    pub(crate) async fn event_facts_page(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventFacts>, StoreError> {
        let after = after.map(str::to_owned);
        self.on_file(move |c, _| {
            let rows = events(c, after.as_deref(), i64::from(limit))?;
            let full = rows.len() >= limit as usize;
            Ok((rows, full))
        })
        .await
    }

    /// Up to `limit` actions after `after`, by date (unknown dates last) then
    /// id: `record::actions_page`.
    pub(crate) async fn actions_page(
        &self,
        after: Option<&ActionCursor>,
        limit: u32,
    ) -> Result<Vec<ActionDetained>, StoreError> {
        let after = after.cloned();
        self.on_file(move |c, named| {
            if after.is_none() || named.is_none() {
                *named = Some(named_detentions(c)?);
            }
            let named = named.get_or_insert_default();
            let rows = actions(c, named, after.as_ref(), i64::from(limit))?;
            let full = rows.len() >= limit as usize;
            Ok((rows, full))
        })
        .await
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    // Reads only; half the pool's cache (db.rs): the release's peak memory is near its goal.
    Ok(crate::direct::open(
        path,
        OpenFlags::empty(),
        "PRAGMA query_only = ON; PRAGMA cache_size = -32768;",
    )?)
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
    let (filter, binds): (&str, &[&str]) = match &after {
        None => ("", &[]),
        Some(after) => ("WHERE id > ?1", std::slice::from_ref(after)),
    };
    let n = binds.len() + 1;
    let mut st = c.prepare(&format!("{EVENT_SELECT} {filter} ORDER BY id LIMIT ?{n}"))?;
    for (i, b) in binds.iter().enumerate() {
        st.raw_bind_parameter(i + 1, *b)?;
    }
    st.raw_bind_parameter(n, limit)?;
    let mut rows = st.raw_query();
    while let Some(r) = rows.next()? {
        out.push(row(r)?);
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

/// Every action's named detentions by the rules of counts.rs: the distinct
/// persons named as detained there, each unnamed detention counting one.
fn named_detentions(c: &Connection) -> Result<HashMap<String, u64>, StoreError> {
    let mut st = c.prepare(
        "SELECT action_id, COUNT(DISTINCT person_id) + SUM(person_id IS NULL) \
         FROM record_events WHERE kind = 'detention' AND action_id IS NOT NULL \
         GROUP BY action_id",
    )?;
    let mut rows = st.query([])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let n = r.get::<_, Option<i64>>(1)?.unwrap_or(0).unsigned_abs();
        out.insert(r.get::<_, String>(0)?, n);
    }
    Ok(out)
}

/// An action's columns and the highest detention number a source reports.
const ACTION_SELECT: &str = "SELECT e.id, e.date, e.date_precision, e.region, e.city, e.kind, \
     e.topic, e.organiser, e.authorised, e.verification, e.sealed, e.source_id, e.source_row, \
     e.version, e.changed, e.changed_by, \
     (SELECT MAX(c.detained) FROM record_action_counts c WHERE c.action_id = e.id) \
     FROM record_actions e";

fn action(r: &Row<'_>, named: &HashMap<String, u64>) -> Result<ActionDetained, StoreError> {
    let count = |i: usize| -> Result<u64, StoreError> {
        Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).unsigned_abs())
    };
    let id = required(r, 0, "action")?;
    Ok(ActionDetained {
        named: named.get(&id).copied().unwrap_or(0),
        reported: count(16)?,
        action: ActionRow {
            id,
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
    })
}

/// One part's actions (dated or not): `filter`, `order`, its text parameters
/// and then the limit.
fn actions_part(
    c: &Connection,
    named: &HashMap<String, u64>,
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
        out.push(action(r, named)?);
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

fn actions(
    c: &Connection,
    named: &HashMap<String, u64>,
    after: Option<&ActionCursor>,
    limit: i64,
) -> Result<Vec<ActionDetained>, StoreError> {
    let mut out = match after {
        None => actions_part(c, named, "e.date IS NOT NULL", "e.date, e.id", &[], limit)?,
        Some(ActionCursor { date: Some(d), id }) => actions_part(
            c,
            named,
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
            Some(ActionCursor { date: None, id }) => actions_part(
                c,
                named,
                "e.date IS NULL AND e.id > ?1",
                "e.id",
                &[id],
                room,
            )?,
            _ => actions_part(c, named, "e.date IS NULL", "e.id", &[], room)?,
        };
        out.append(&mut undated);
    }
    Ok(out)
}
