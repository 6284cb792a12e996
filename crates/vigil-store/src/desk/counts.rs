//! Counting the record for statistics, in SQL that both backends run alike.
//! The rules are those of docs/methodology.md:
//! - an action counts once; its detentions count once per action: the larger
//!   of the distinct persons named as detained there and the highest number
//!   any source reports (both are kept, as `detentions_named` and
//!   `detentions_reported`); police stations never multiply them;
//! - a detention outside any action counts once per event;
//! - persons are distinct persons with any event in the group;
//! - events are counted by kind.

use std::collections::BTreeMap;

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

pub(super) async fn count(db: &Db, q: &CountQuery) -> Result<Vec<CountRow>, StoreError> {
    let with_articles = q.by.contains(&StatKey::Article);
    let keys: Vec<String> =
        q.by.iter()
            .enumerate()
            .map(|(i, k)| format!("{} AS k{i}", k.expr()))
            .collect();
    let group: Vec<String> = (0..q.by.len()).map(|i| format!("k{i}")).collect();
    let mut filter = Vec::new();
    if q.from.is_some() {
        filter.push("f.date >= $1");
    }
    if q.to.is_some() {
        filter.push("f.date <= $2");
    }
    // Unused placeholders would confuse PostgreSQL's type inference: bind only those used.
    let (from, to) = (q.from.map(|d| d.to_string()), q.to.map(|d| d.to_string()));
    let filter = if filter.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", filter.join(" AND "))
            .replace("$2", if q.from.is_some() { "$2" } else { "$1" })
    };
    let select_keys = if keys.is_empty() {
        String::new()
    } else {
        format!("{}, ", keys.join(", "))
    };
    let group_by = if group.is_empty() {
        String::new()
    } else {
        format!("GROUP BY {}", group.join(", "))
    };
    let facts = facts(with_articles);
    let main = format!(
        "SELECT {select_keys}\
                CAST(COALESCE(SUM(f.actions), 0) AS BIGINT), CAST(COALESCE(SUM(f.detentions), 0) AS BIGINT), \
                CAST(COALESCE(SUM(f.detentions_named), 0) AS BIGINT), \
                CAST(COALESCE(SUM(f.detentions_reported), 0) AS BIGINT), \
                COUNT(DISTINCT f.person_id) \
         FROM ({facts}) f {filter} {group_by}"
    );
    let n = q.by.len();
    let dates: Vec<String> = [&from, &to].into_iter().flatten().cloned().collect();
    let mut rows: Vec<CountRow> = Vec::new();
    on_pool!(db, pool => {
        use sqlx::Row;
        // Events by kind are counted in the same pass, one sum per kind held
        // (kinds are bound as values, never written into the SQL).
        let kinds: Vec<String> = sqlx::query_scalar("SELECT DISTINCT kind FROM record_events")
            .fetch_all(pool)
            .await?;
        let sums: String = (0..kinds.len())
            .map(|i| {
                format!(
                    ", CAST(COALESCE(SUM(CASE WHEN f.kind = ${} THEN 1 ELSE 0 END), 0) AS BIGINT)",
                    dates.len() + i + 1
                )
            })
            .collect();
        let sql = main.replacen(" FROM (", &format!("{sums} FROM ("), 1);
        let mut main_q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for d in &dates {
            main_q = main_q.bind(d.clone());
        }
        for k in &kinds {
            main_q = main_q.bind(k.clone());
        }
        for r in main_q.fetch_all(pool).await? {
            let mut keys = Vec::with_capacity(n);
            for i in 0..n {
                keys.push(r.try_get::<Option<String>, _>(i)?);
            }
            let num = |i: usize| -> Result<u64, StoreError> { Ok(r.try_get::<i64, _>(n + i)?.unsigned_abs()) };
            let mut events = BTreeMap::new();
            for (i, k) in kinds.iter().enumerate() {
                let c = num(5 + i)?;
                if c > 0 {
                    events.insert(k.clone(), c);
                }
            }
            rows.push(CountRow {
                keys,
                actions: num(0)?,
                detentions: num(1)?,
                detentions_named: num(2)?,
                detentions_reported: num(3)?,
                persons: num(4)?,
                events,
            });
        }
    });
    // Sorted here rather than in SQL, where the backends order NULLs and
    // collate text differently: by each key's bytes, unknown values last.
    rows.sort_by(|a, b| {
        let key = |r: &CountRow| -> Vec<(bool, Option<String>)> {
            r.keys.iter().map(|k| (k.is_none(), k.clone())).collect()
        };
        key(a).cmp(&key(b))
    });
    if rows.is_empty() && q.by.is_empty() {
        rows.push(CountRow::default());
    }
    Ok(rows)
}
