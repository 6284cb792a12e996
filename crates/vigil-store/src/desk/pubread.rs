//! pubfast: the record's pages for a release, read packed on SQLite.
//!
//! sqlx hands SQLite's rows over one at a time through a channel, each value
//! copied and freed on the other side: for a million events that cost more than
//! SQLite's own reading (docs/benchmarks.md, pubstream). Here SQLite packs a
//! whole page into one string (each value as its byte length, ':', the value;
//! '-' for none, as counts.rs does) and Rust unpacks it. The pages hold the same
//! rows, in the same order, as the general queries in record.rs, which
//! PostgreSQL keeps: the order is checked here, and restored if SQLite's
//! aggregate ever hands the rows over in another.

use sqlx::SqlitePool;

use super::counts::unpack;
use super::record::{ActionCursor, ActionDetained, ActionRow, EventFacts, date_row, origin, stamp};
use crate::StoreError;

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("a packed {what} does not unpack"))
}

/// `SELECT group_concat(packed columns, '') FROM (inner) e`.
fn packed_sql(columns: &[&str], inner: &str) -> String {
    let packed = |c: &&str| format!("COALESCE(length(CAST(({c}) AS BLOB)) || ':' || ({c}), '-')");
    format!(
        "SELECT group_concat({}, '') FROM ({inner}) e",
        columns.iter().map(packed).collect::<Vec<_>>().join(" || ")
    )
}

/// Reads the next `N` values of a packed row.
fn values<'a, const N: usize>(rest: &mut &'a str) -> Result<[Option<&'a str>; N], StoreError> {
    let mut out: [Option<&str>; N] = [None; N];
    for v in &mut out {
        (*v, *rest) = unpack(rest)?;
    }
    Ok(out)
}

fn text(v: Option<&str>) -> Option<String> {
    v.map(str::to_owned)
}

fn required(v: Option<&str>, what: &str) -> Result<String, StoreError> {
    v.map(str::to_owned).ok_or_else(|| corrupt(what))
}

fn int(v: Option<&str>, what: &str) -> Result<Option<i64>, StoreError> {
    v.map(|s| s.parse::<i64>().map_err(|_| corrupt(what)))
        .transpose()
}

/// The event columns of a page, and its articles packed inside (in any order:
/// sorted here).
const EVENT_COLUMNS: [&str; 9] = [
    "e.id",
    "e.person_id",
    "e.action_id",
    "e.kind",
    "e.date",
    "e.date_precision",
    "e.region",
    "e.trigger_kind",
    "(SELECT group_concat(length(CAST(x.article AS BLOB)) || ':' || x.article, '') \
      FROM record_event_articles x WHERE x.event_id = e.id)",
];

/// Up to `limit` events after the event `after` (by id), in id order, with
/// their articles: `record::event_facts_page` in one string.
pub(super) async fn event_facts_page(
    pool: &SqlitePool,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<EventFacts>, StoreError> {
    let cols = "id, person_id, action_id, kind, date, date_precision, region, trigger_kind";
    let limit = i64::from(limit);
    let packed: Option<String> = match after {
        None => {
            let sql = packed_sql(
                &EVENT_COLUMNS,
                &format!("SELECT {cols} FROM record_events ORDER BY id LIMIT $1"),
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(limit)
                .fetch_one(pool)
                .await?
        }
        Some(after) => {
            let sql = packed_sql(
                &EVENT_COLUMNS,
                &format!("SELECT {cols} FROM record_events WHERE id > $1 ORDER BY id LIMIT $2"),
            );
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(after)
                .bind(limit)
                .fetch_one(pool)
                .await?
        }
    };
    let mut rest = packed.as_deref().unwrap_or_default();
    let mut out: Vec<EventFacts> = Vec::new();
    let mut in_order = true;
    while !rest.is_empty() {
        let [
            id,
            person,
            action,
            kind,
            date,
            precision,
            region,
            trigger,
            listed,
        ] = values::<9>(&mut rest)?;
        let mut articles = Vec::new();
        let mut list = listed.unwrap_or_default();
        while !list.is_empty() {
            let (a, tail) = unpack(list)?;
            articles.push(required(a, "article")?);
            list = tail;
        }
        articles.sort_unstable();
        let id = required(id, "event")?;
        if let Some(last) = out.last() {
            in_order &= last.id < id;
        }
        out.push(EventFacts {
            id,
            person_id: text(person),
            action_id: text(action),
            kind: required(kind, "event kind")?,
            date: date_row(text(date), precision.unwrap_or_default())?,
            region: text(region),
            articles,
            trigger: text(trigger),
        });
    }
    if !in_order {
        out.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    }
    Ok(out)
}

/// An action's columns and its two detention numbers (the rules of counts.rs).
const ACTION_COLUMNS: [&str; 18] = [
    "e.id",
    "e.date",
    "e.date_precision",
    "e.region",
    "e.city",
    "e.kind",
    "e.topic",
    "e.organiser",
    "e.authorised",
    "e.verification",
    "hex(e.sealed)",
    "e.source_id",
    "e.source_row",
    "e.version",
    "e.changed",
    "e.changed_by",
    "(SELECT COUNT(DISTINCT d.person_id) + SUM(CASE WHEN d.person_id IS NULL THEN 1 ELSE 0 END) \
      FROM record_events d WHERE d.action_id = e.id AND d.kind = 'detention')",
    "(SELECT MAX(c.detained) FROM record_action_counts c WHERE c.action_id = e.id)",
];

const ACTION_SELECT: &str = "SELECT id, date, date_precision, region, city, kind, topic, organiser, \
     authorised, verification, sealed, source_id, source_row, version, changed, changed_by \
     FROM record_actions";

async fn packed_actions(
    pool: &SqlitePool,
    filter: &str,
    order: &str,
    binds: &[&str],
    limit: i64,
) -> Result<Vec<ActionDetained>, StoreError> {
    let n = binds.len() + 1;
    let sql = packed_sql(
        &ACTION_COLUMNS,
        &format!("{ACTION_SELECT} WHERE {filter} ORDER BY {order} LIMIT ${n}"),
    );
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
    for b in binds {
        q = q.bind(*b);
    }
    let packed: Option<String> = q.bind(limit).fetch_one(pool).await?;
    let mut rest = packed.as_deref().unwrap_or_default();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let [
            id,
            date,
            precision,
            region,
            city,
            kind,
            topic,
            organiser,
            authorised,
            verification,
            sealed,
            source_id,
            source_row,
            version,
            changed,
            changed_by,
            named,
            reported,
        ] = values::<18>(&mut rest)?;
        let sealed = hex::decode(sealed.unwrap_or_default()).map_err(|_| corrupt("action"))?;
        out.push(ActionDetained {
            action: ActionRow {
                id: required(id, "action")?,
                date: date_row(text(date), precision.unwrap_or_default())?,
                region: text(region),
                city: text(city),
                kind: required(kind, "action kind")?,
                topic: text(topic),
                organiser: text(organiser),
                authorised: text(authorised),
                verification: required(verification, "verification")?,
                sealed,
                stations: Vec::new(),
                origin: origin(text(source_id), int(source_row, "source row")?),
                stamp: stamp(
                    int(version, "version")?.ok_or_else(|| corrupt("version"))?,
                    changed.unwrap_or_default(),
                    required(changed_by, "changed_by")?,
                )?,
            },
            named: int(named, "count")?.unwrap_or(0).unsigned_abs(),
            reported: int(reported, "count")?.unwrap_or(0).unsigned_abs(),
        });
    }
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
/// `record::actions_page` in one string per part.
pub(super) async fn actions_page(
    pool: &SqlitePool,
    after: Option<&ActionCursor>,
    limit: u32,
) -> Result<Vec<ActionDetained>, StoreError> {
    let limit = i64::from(limit);
    let mut out = match after {
        None => packed_actions(pool, "date IS NOT NULL", "date, id", &[], limit).await?,
        Some(ActionCursor { date: Some(d), id }) => {
            packed_actions(
                pool,
                "date IS NOT NULL AND (date > $1 OR (date = $1 AND id > $2))",
                "date, id",
                &[&d.to_string(), id],
                limit,
            )
            .await?
        }
        Some(ActionCursor { date: None, .. }) => Vec::new(),
    };
    sort_part(&mut out);
    let room = limit - i64::try_from(out.len()).unwrap_or(limit);
    if room > 0 {
        let mut undated = match after {
            Some(ActionCursor { date: None, id }) => {
                packed_actions(pool, "date IS NULL AND id > $1", "id", &[id], room).await?
            }
            _ => packed_actions(pool, "date IS NULL", "id", &[], room).await?,
        };
        sort_part(&mut undated);
        out.append(&mut undated);
    }
    Ok(out)
}
