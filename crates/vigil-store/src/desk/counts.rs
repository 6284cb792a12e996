//! Counting the record for statistics, in SQL that both backends run alike.
//! The rules are those of docs/methodology.md:
//! - an action counts once; its detentions count once per action: the larger
//!   of the distinct persons named as detained there and the highest number
//!   any source reports (both are kept, as `detentions_named` and
//!   `detentions_reported`); police stations never multiply them;
//! - a detention outside any action counts once per event;
//! - persons are distinct persons with any event in the group;
//! - events are counted by kind.

use std::collections::{BTreeMap, HashMap, HashSet};

use vigil_core::Day;

use crate::StoreError;
use crate::db::{Db, on_pool};

/// What statistics can be broken down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatKey {
    Year,
    Month,
    Region,
    ActionKind,
    EventKind,
    Article,
    Authorised,
    Topic,
}

impl StatKey {
    pub const ALL: [StatKey; 8] = [
        StatKey::Year,
        StatKey::Month,
        StatKey::Region,
        StatKey::ActionKind,
        StatKey::EventKind,
        StatKey::Article,
        StatKey::Authorised,
        StatKey::Topic,
    ];

    /// The name on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            StatKey::Year => "year",
            StatKey::Month => "month",
            StatKey::Region => "region",
            StatKey::ActionKind => "action-kind",
            StatKey::EventKind => "event-kind",
            StatKey::Article => "article",
            StatKey::Authorised => "authorised",
            StatKey::Topic => "topic",
        }
    }

    pub fn parse(s: &str) -> Option<StatKey> {
        StatKey::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The expression over the fact table `f` (a fixed list: never user text).
    fn expr(self) -> &'static str {
        match self {
            StatKey::Year => {
                "CASE WHEN f.date_precision IN ('day', 'month', 'year') THEN substr(f.date, 1, 4) END"
            }
            StatKey::Month => {
                "CASE WHEN f.date_precision IN ('day', 'month') THEN substr(f.date, 1, 7) END"
            }
            StatKey::Region => "f.region",
            StatKey::ActionKind => "f.action_kind",
            StatKey::EventKind => "f.event_kind",
            StatKey::Article => "f.article",
            StatKey::Authorised => "f.authorised",
            StatKey::Topic => "f.topic",
        }
    }
}

/// A question for [`crate::DeskStore::record_count`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountQuery {
    pub by: Vec<StatKey>,
    /// Only records dated on or after this day (a month or a year counts from
    /// its first day); records of unknown date are left out when set.
    pub from: Option<Day>,
    pub to: Option<Day>,
}

/// One group's counts: `keys` has one value per key of the query, in order
/// (`None` where the record does not say).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountRow {
    pub keys: Vec<Option<String>>,
    pub actions: u64,
    pub detentions: u64,
    pub detentions_named: u64,
    pub detentions_reported: u64,
    pub persons: u64,
    /// Events by kind code.
    pub events: BTreeMap<String, u64>,
}

/// One row per action and one per event (per event and article when counting
/// by article), with what each contributes.
fn facts(with_articles: bool) -> String {
    let (article, article_join) = if with_articles {
        (
            "ea.article",
            "LEFT JOIN record_event_articles ea ON ea.event_id = e.id",
        )
    } else {
        ("NULL", "")
    };
    format!(
        "SELECT a.date, a.date_precision, a.region, a.kind AS action_kind, \
                'detention' AS event_kind, NULL AS article, a.authorised, a.topic, \
                1 AS actions, \
                CASE WHEN COALESCE(n.named, 0) > COALESCE(r.reported, 0) THEN COALESCE(n.named, 0) \
                     ELSE COALESCE(r.reported, 0) END AS detentions, \
                COALESCE(n.named, 0) AS detentions_named, COALESCE(r.reported, 0) AS detentions_reported, \
                NULL AS person_id, NULL AS event_id, NULL AS kind \
         FROM record_actions a \
         LEFT JOIN (SELECT action_id, COUNT(DISTINCT person_id) \
                           + SUM(CASE WHEN person_id IS NULL THEN 1 ELSE 0 END) AS named \
                    FROM record_events WHERE kind = 'detention' AND action_id IS NOT NULL \
                    GROUP BY action_id) n ON n.action_id = a.id \
         LEFT JOIN (SELECT action_id, MAX(detained) AS reported FROM record_action_counts \
                    GROUP BY action_id) r ON r.action_id = a.id \
         UNION ALL \
         SELECT e.date, e.date_precision, e.region, a.kind, e.kind, {article}, a.authorised, a.topic, \
                0, \
                CASE WHEN e.kind = 'detention' AND e.action_id IS NULL THEN 1 ELSE 0 END, \
                0, 0, e.person_id, e.id, e.kind \
         FROM record_events e \
         LEFT JOIN record_actions a ON a.id = e.action_id \
         {article_join}"
    )
}

/// One group's running counts while the facts stream by.
#[derive(Default)]
struct Tally {
    actions: u64,
    detentions: u64,
    detentions_named: u64,
    detentions_reported: u64,
    persons: HashSet<String>,
    events: BTreeMap<String, u64>,
}

fn len(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Streams the facts (the same SQL on both backends, filtered by date there)
/// and adds them up per group in hash maps, in one pass: neither backend sorts
/// a million rows into temporary B-trees for the grouping and the distinct
/// persons.
async fn tally(db: &Db, q: &CountQuery) -> Result<HashMap<Vec<Option<String>>, Tally>, StoreError> {
    use futures_util::TryStreamExt;
    let with_articles = q.by.contains(&StatKey::Article);
    let keys: String =
        q.by.iter()
            .enumerate()
            .map(|(i, k)| format!("{} AS k{i}, ", k.expr()))
            .collect();
    let mut filter = Vec::new();
    if q.from.is_some() {
        filter.push("f.date >= $1");
    }
    if q.to.is_some() {
        filter.push("f.date <= $2");
    }
    // Unused placeholders would confuse PostgreSQL's type inference: bind only those used.
    let filter = if filter.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filter.join(" AND "))
            .replace("$2", if q.from.is_some() { "$2" } else { "$1" })
    };
    let facts = facts(with_articles);
    let sql = format!(
        "SELECT {keys}\
                CAST(f.actions AS BIGINT), CAST(f.detentions AS BIGINT), \
                CAST(f.detentions_named AS BIGINT), CAST(f.detentions_reported AS BIGINT), \
                f.person_id, f.kind \
         FROM ({facts}) f {filter}"
    );
    let n = q.by.len();
    let dates: Vec<String> = [q.from, q.to]
        .into_iter()
        .flatten()
        .map(|d| d.to_string())
        .collect();
    let mut groups: HashMap<Vec<Option<String>>, Tally> = HashMap::new();
    on_pool!(db, pool => {
        use sqlx::Row;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for d in &dates {
            query = query.bind(d.clone());
        }
        let mut stream = query.fetch(pool);
        while let Some(r) = stream.try_next().await? {
            let mut keys = Vec::with_capacity(n);
            for i in 0..n {
                keys.push(r.try_get::<Option<String>, _>(i)?);
            }
            let num = |i: usize| -> Result<u64, StoreError> { Ok(r.try_get::<i64, _>(n + i)?.unsigned_abs()) };
            let t = groups.entry(keys).or_default();
            t.actions += num(0)?;
            t.detentions += num(1)?;
            t.detentions_named += num(2)?;
            t.detentions_reported += num(3)?;
            if let Some(person) = r.try_get::<Option<String>, _>(n + 4)? {
                t.persons.insert(person);
            }
            if let Some(kind) = r.try_get::<Option<String>, _>(n + 5)? {
                match t.events.get_mut(&kind) {
                    Some(c) => *c += 1,
                    None => {
                        t.events.insert(kind, 1);
                    }
                }
            }
        }
    });
    Ok(groups)
}

/// The groups as rows, sorted by each key's bytes, unknown values last (the
/// same on both backends).
fn rows_of(groups: HashMap<Vec<Option<String>>, Tally>) -> Vec<CountRow> {
    let mut rows: Vec<CountRow> = groups
        .into_iter()
        .map(|(keys, t)| CountRow {
            keys,
            actions: t.actions,
            detentions: t.detentions,
            detentions_named: t.detentions_named,
            detentions_reported: t.detentions_reported,
            persons: len(t.persons.len()),
            events: t.events,
        })
        .collect();
    fn key(r: &CountRow) -> impl Iterator<Item = (bool, Option<&String>)> {
        r.keys.iter().map(|k| (k.is_none(), k.as_ref()))
    }
    rows.sort_by(|a, b| key(a).cmp(key(b)));
    rows
}

pub(super) async fn count(db: &Db, q: &CountQuery) -> Result<Vec<CountRow>, StoreError> {
    let mut rows = rows_of(tally(db, q).await?);
    if rows.is_empty() && q.by.is_empty() {
        rows.push(CountRow::default());
    }
    Ok(rows)
}

/// The groups and the total in one pass, where every fact falls in exactly one
/// group (any keys but `article`: an event under two articles is in two groups
/// and counts once in the total, so that total takes a second pass).
pub(super) async fn count_with_total(
    db: &Db,
    q: &CountQuery,
) -> Result<(Vec<CountRow>, CountRow), StoreError> {
    let total_query = CountQuery {
        by: Vec::new(),
        ..q.clone()
    };
    if q.by.is_empty() || q.by.contains(&StatKey::Article) {
        let rows = if q.by.is_empty() {
            Vec::new()
        } else {
            count(db, q).await?
        };
        let total = count(db, &total_query)
            .await?
            .into_iter()
            .next()
            .unwrap_or_default();
        return Ok((rows, total));
    }
    let groups = tally(db, q).await?;
    let mut total = CountRow::default();
    let mut persons: HashSet<&str> = HashSet::new();
    for t in groups.values() {
        total.actions += t.actions;
        total.detentions += t.detentions;
        total.detentions_named += t.detentions_named;
        total.detentions_reported += t.detentions_reported;
        persons.extend(t.persons.iter().map(String::as_str));
        for (kind, c) in &t.events {
            *total.events.entry(kind.clone()).or_default() += c;
        }
    }
    total.persons = len(persons.len());
    Ok((rows_of(groups), total))
}
