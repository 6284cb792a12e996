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

/// The rows in the order [`rows_of`] gives them.
fn sorted(mut rows: Vec<CountRow>) -> Vec<CountRow> {
    fn key(r: &CountRow) -> impl Iterator<Item = (bool, Option<&String>)> {
        r.keys.iter().map(|k| (k.is_none(), k.as_ref()))
    }
    rows.sort_by(|a, b| key(a).cmp(key(b)));
    rows
}

pub(super) async fn count(db: &Db, q: &CountQuery) -> Result<Vec<CountRow>, StoreError> {
    let mut rows = match scan_count(db, q).await? {
        Some((rows, _)) => sorted(rows),
        None => rows_of(tally(db, q).await?),
    };
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
    if !q.by.is_empty()
        && let Some((rows, total)) = scan_count(db, q).await?
    {
        return Ok((sorted(rows), total));
    }
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

// --- recspeed: counting by three plain scans joined in Rust ---
//
// The same rules as `facts` above, without asking the database to join or to
// group: it streams the actions, the reported counts and each event's counting
// columns (from the narrow counting index), and the join, the named detainees
// per action and the distinct persons per group are done here with numbered
// values and sorted pairs instead of sets of strings. Used for every query
// whose keys do not include `article` (an event under several articles falls in
// several groups; those queries keep the SQL above).

/// Hash maps with foldhash: these hash millions of short ids and codes, where
/// the standard SipHash cost a tenth of the whole count. Seeded per process.
type FastMap<K, V> = foldhash::HashMap<K, V>;

/// Keys a query may hold for the fast path (each at most once).
const MAX_KEYS: usize = StatKey::ALL.len();

/// Strings numbered as first seen: group keys, kinds, persons, actions.
#[derive(Default)]
struct Numbered {
    ids: FastMap<String, u32>,
    /// Kept for group keys only: persons and actions are a million strings.
    keep_names: bool,
    names: Vec<String>,
}

impl Numbered {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
        self.ids.insert(s.to_owned(), i);
        if self.keep_names {
            self.names.push(s.to_owned());
        }
        i
    }

    fn opt(&mut self, s: Option<&str>) -> u32 {
        s.map_or(NONE, |s| self.id(s))
    }

    fn name(&self, i: u32) -> Option<String> {
        self.names.get(i as usize).cloned()
    }
}

/// A key that the record does not give.
const NONE: u32 = u32::MAX;

/// A dated fact's year and month keys by the date's precision.
fn year_month(values: &mut Numbered, date: Option<&str>, precision: &str) -> (u32, u32) {
    let date = date.filter(|d| d.len() >= 7 && d.is_char_boundary(7));
    match (date, precision) {
        (Some(d), "day" | "month") => (values.id(&d[..4]), values.id(&d[..7])),
        (Some(d), "year") => (values.id(&d[..4]), NONE),
        _ => (NONE, NONE),
    }
}

/// What the key dimensions of one fact are (numbered values).
#[derive(Clone, Copy)]
struct FactKeys {
    year: u32,
    month: u32,
    region: u32,
    action_kind: u32,
    event_kind: u32,
    authorised: u32,
    topic: u32,
}

impl FactKeys {
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

struct ActionFact {
    keys: FactKeys,
    in_range: bool,
    reported: u64,
}

#[derive(Default)]
struct Sums {
    actions: u64,
    detentions: u64,
    detentions_named: u64,
    detentions_reported: u64,
    /// Events by numbered kind.
    events: FastMap<u32, u64>,
}

fn in_range(date: Option<&str>, from: Option<&str>, to: Option<&str>) -> bool {
    match date {
        None => from.is_none() && to.is_none(),
        Some(d) => from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t),
    }
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

/// Events per packed string (by rowid: a range may hold fewer).
const PACKED_EVENTS: i64 = 16_384;

/// The first value of a packed string and the rest (see `scan_count`).
pub(super) fn unpack(s: &str) -> Result<(Option<&str>, &str), StoreError> {
    let corrupt = || StoreError::Corrupt("a packed counting row does not unpack".into());
    if let Some(rest) = s.strip_prefix('-') {
        return Ok((None, rest));
    }
    let (n, rest) = s.split_once(':').ok_or_else(corrupt)?;
    let n: usize = n.parse().map_err(|_| corrupt())?;
    let value = rest.get(..n).ok_or_else(corrupt)?;
    let rest = rest.get(n..).ok_or_else(corrupt)?;
    Ok((Some(value), rest))
}

/// The groups (unsorted) and the total, or `None` where the keys need the SQL
/// path (`article`, or a key given twice).
async fn scan_count(
    db: &Db,
    q: &CountQuery,
) -> Result<Option<(Vec<CountRow>, CountRow)>, StoreError> {
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let by = &q.by;
    let twice = by.iter().enumerate().any(|(i, k)| by[..i].contains(k));
    if by.contains(&StatKey::Article) || by.len() > MAX_KEYS || twice {
        return Ok(None);
    }
    // recfast: on SQLite, the counting facts (facts.rs) where they represent
    // the whole record; the scans below otherwise.
    if let Db::Sqlite(pool) = db {
        let mut conn = pool.acquire().await?;
        if let Some(facts) = super::facts::load(&mut conn).await? {
            return Ok(Some(super::facts::count(&facts, q)));
        }
    }
    let from = q.from.map(|d| d.to_string());
    let to = q.to.map(|d| d.to_string());
    let (from, to) = (from.as_deref(), to.as_deref());
    let mut values = Numbered {
        keep_names: true,
        ..Numbered::default()
    };
    let detention = values.id("detention");
    let mut action_ids = Numbered::default();
    let mut actions: Vec<ActionFact> = Vec::new();
    let mut persons = Numbered::default();
    // (action, person) of every named detention; persons without a record
    // count one each.
    let mut named: Vec<(u32, u32)> = Vec::new();
    let mut named_unknown: FastMap<u32, u64> = FastMap::default();
    let mut groups: FastMap<[u32; MAX_KEYS], u32> = FastMap::default();
    let mut sums: Vec<Sums> = Vec::new();
    let mut group_persons: Vec<(u32, u32)> = Vec::new();
    let mut group_of = |g: [u32; MAX_KEYS], sums: &mut Vec<Sums>| -> u32 {
        *groups.entry(g).or_insert_with(|| {
            sums.push(Sums::default());
            u32::try_from(sums.len() - 1).unwrap_or(u32::MAX)
        })
    };
    on_pool!(db, pool => {
        let mut rows = sqlx::query(
            "SELECT id, date, date_precision, region, kind, authorised, topic FROM record_actions",
        )
        .fetch(pool);
        while let Some(r) = rows.try_next().await? {
            let id: &str = r.try_get(0)?;
            let date: Option<&str> = r.try_get(1)?;
            let (year, month) = year_month(&mut values, date, r.try_get(2)?);
            let keys = FactKeys {
                year,
                month,
                region: values.opt(r.try_get(3)?),
                action_kind: values.id(r.try_get(4)?),
                event_kind: detention,
                authorised: values.opt(r.try_get(5)?),
                topic: values.opt(r.try_get(6)?),
            };
            action_ids.id(id);
            actions.push(ActionFact { keys, in_range: in_range(date, from, to), reported: 0 });
        }
        drop(rows);
        let mut rows = sqlx::query(
            "SELECT action_id, CAST(MAX(detained) AS BIGINT) FROM record_action_counts GROUP BY action_id",
        )
        .fetch(pool);
        while let Some(r) = rows.try_next().await? {
            let id: &str = r.try_get(0)?;
            if let Some(&a) = action_ids.ids.get(id)
                && let Some(fact) = actions.get_mut(a as usize)
            {
                fact.reported = r.try_get::<i64, _>(1)?.unsigned_abs();
            }
        }
        drop(rows);
    });
    let mut on_event = |e: [Option<&str>; 6]| {
        let [action_id, kind, date, precision, region, person] = e;
        let kind = values.id(kind.unwrap_or_default());
        let action = action_id.and_then(|id| action_ids.ids.get(id).copied());
        let person = person.map(|p| persons.id(p));
        if kind == detention
            && let Some(a) = action
        {
            match person {
                Some(p) => named.push((a, p)),
                None => *named_unknown.entry(a).or_default() += 1,
            }
        }
        if !in_range(date, from, to) {
            return;
        }
        let (year, month) = year_month(&mut values, date, precision.unwrap_or_default());
        let of_action = action.and_then(|a| actions.get(a as usize)).map(|a| a.keys);
        let keys = FactKeys {
            year,
            month,
            region: values.opt(region),
            action_kind: of_action.map_or(NONE, |a| a.action_kind),
            event_kind: kind,
            authorised: of_action.map_or(NONE, |a| a.authorised),
            topic: of_action.map_or(NONE, |a| a.topic),
        };
        let g = group_of(keys.group(by), &mut sums);
        if let Some(s) = sums.get_mut(g as usize) {
            if kind == detention && action_id.is_none() {
                s.detentions += 1;
            }
            *s.events.entry(kind).or_default() += 1;
        }
        if let Some(p) = person {
            group_persons.push((g, p));
        }
    };
    match db {
        // sqlx hands SQLite's rows over one by one, through a channel, each
        // value copied: for a million events that costs several times what
        // SQLite spends reading them. SQLite packs a range of events into one
        // string instead (each value as its byte length, ':', the value; '-'
        // for none), which Rust unpacks here.
        Db::Sqlite(pool) => {
            // One connection for every range: each connection has its own
            // 64 MiB page cache, and a pool of them would fill several.
            let mut conn = pool.acquire().await?;
            let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM record_events")
                .fetch_one(&mut *conn)
                .await?;
            let packed =
                |c: &str| format!("COALESCE(length(CAST({c} AS BLOB)) || ':' || {c}, '-')");
            let sql = format!(
                "SELECT group_concat({}, '') FROM record_events WHERE rowid > $1 AND rowid <= $2",
                [
                    "action_id",
                    "kind",
                    "date",
                    "date_precision",
                    "region",
                    "person_id"
                ]
                .map(packed)
                .join(" || ")
            );
            let mut low = 0i64;
            while low < last {
                let high = low.saturating_add(PACKED_EVENTS);
                let chunk: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(low)
                    .bind(high)
                    .fetch_one(&mut *conn)
                    .await?;
                let mut rest = chunk.as_deref().unwrap_or_default();
                while !rest.is_empty() {
                    let mut e: [Option<&str>; 6] = [None; 6];
                    for v in &mut e {
                        (*v, rest) = unpack(rest)?;
                    }
                    on_event(e);
                }
                low = high;
            }
        }
        Db::Postgres(pool) => {
            let mut rows = sqlx::query(
                "SELECT action_id, kind, date, date_precision, region, person_id FROM record_events",
            )
            .fetch(pool);
            while let Some(r) = rows.try_next().await? {
                on_event([
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                ]);
            }
        }
    }
    let named_persons = distinct_by_first(&mut named);
    for (a, fact) in actions.iter().enumerate() {
        if !fact.in_range {
            continue;
        }
        let a = u32::try_from(a).unwrap_or(u32::MAX);
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
    total.persons = len(everyone.len());
    drop(everyone);
    let persons_of = distinct_by_first(&mut group_persons);
    let mut rows = Vec::with_capacity(groups.len());
    for (g, i) in groups {
        let Some(s) = sums.get(i as usize) else {
            continue;
        };
        let mut events = BTreeMap::new();
        for (kind, n) in &s.events {
            if let Some(name) = values.name(*kind) {
                events.insert(name, *n);
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
            keys: g[..by.len()].iter().map(|v| values.name(*v)).collect(),
            actions: s.actions,
            detentions: s.detentions,
            detentions_named: s.detentions_named,
            detentions_reported: s.detentions_reported,
            persons: persons_of.get(&i).copied().unwrap_or(0),
            events,
        });
    }
    Ok(Some((rows, total)))
}

// --- pubstream: every breakdown of a release in one scan ---
//
// A release shows the record by month, region, article, kind, kind of action
// and topic, and its totals: counted one query at a time that was seven scans
// of a million events. This reads the actions, the reported counts and the
// events (with their articles when a breakdown needs them) once, and adds each
// fact into every breakdown, by the same rules as `scan_count` and `facts`:
// an event under several articles is in each of their groups, an action in the
// group without an article.

/// Every breakdown of a release and its total, added up as the record's
/// actions and then its events pass by (pubfast): `count_breakdowns` feeds it
/// from its own scan, and `vigil publish` from the pages it writes anyway, so
/// a release reads the record once. All actions come before any event.
pub struct BreakdownTally {
    bys: Vec<Vec<StatKey>>,
    values: Numbered,
    detention: u32,
    action_ids: Numbered,
    actions: Vec<ActionFact>,
    persons: Numbered,
    named: Vec<(u32, u32)>,
    named_unknown: FastMap<u32, u64>,
    breakdowns: Vec<Tallied>,
    total: CountRow,
    total_events: FastMap<u32, u64>,
}

/// An action's counted fields, as stored (`date` as `YYYY-MM-DD`).
#[derive(Debug, Clone, Copy)]
pub struct TallyAction<'a> {
    pub id: &'a str,
    pub date: Option<&'a str>,
    pub precision: &'a str,
    pub region: Option<&'a str>,
    pub kind: &'a str,
    pub authorised: Option<&'a str>,
    pub topic: Option<&'a str>,
}

/// An event's counted fields, as stored.
#[derive(Debug, Clone, Copy)]
pub struct TallyEvent<'a> {
    pub action_id: Option<&'a str>,
    pub kind: &'a str,
    pub date: Option<&'a str>,
    pub precision: &'a str,
    pub region: Option<&'a str>,
    pub person: Option<&'a str>,
}

/// One breakdown's groups while the facts stream by.
struct Tallied {
    groups: FastMap<[u32; MAX_KEYS], u32>,
    sums: Vec<Sums>,
    persons: Vec<(u32, u32)>,
}

impl BreakdownTally {
    /// A tally of the groups of each of `bys` (keys beyond the eighth ignored).
    pub fn new(bys: &[Vec<StatKey>]) -> BreakdownTally {
        let mut values = Numbered {
            keep_names: true,
            ..Numbered::default()
        };
        let detention = values.id("detention");
        let bys: Vec<Vec<StatKey>> = bys
            .iter()
            .map(|b| b[..b.len().min(MAX_KEYS)].to_vec())
            .collect();
        let breakdowns = bys
            .iter()
            .map(|_| Tallied {
                groups: FastMap::default(),
                sums: Vec::new(),
                persons: Vec::new(),
            })
            .collect();
        BreakdownTally {
            bys,
            values,
            detention,
            action_ids: Numbered::default(),
            actions: Vec::new(),
            persons: Numbered::default(),
            named: Vec::new(),
            named_unknown: FastMap::default(),
            breakdowns,
            total: CountRow::default(),
            total_events: FastMap::default(),
        }
    }

    /// Whether a breakdown is by article (then each event's articles are needed).
    pub fn with_articles(&self) -> bool {
        self.bys.iter().any(|b| b.contains(&StatKey::Article))
    }

    /// One action.
    pub fn action(&mut self, a: TallyAction<'_>) {
        let TallyAction {
            id,
            date,
            precision,
            region,
            kind,
            authorised,
            topic,
        } = a;
        let values = &mut self.values;
        let (year, month) = year_month(values, date, precision);
        let keys = FactKeys {
            year,
            month,
            region: values.opt(region),
            action_kind: values.id(kind),
            event_kind: self.detention,
            authorised: values.opt(authorised),
            topic: values.opt(topic),
        };
        self.action_ids.id(id);
        self.actions.push(ActionFact {
            keys,
            in_range: true,
            reported: 0,
        });
    }

    /// The highest number detained a source reports at the action `id`.
    pub fn reported(&mut self, id: &str, detained: u64) {
        if let Some(&a) = self.action_ids.ids.get(id)
            && let Some(fact) = self.actions.get_mut(a as usize)
        {
            fact.reported = detained;
        }
    }

    /// One event; `articles` in any order, each once or more.
    pub fn event<'a>(&mut self, e: TallyEvent<'_>, articles: impl Iterator<Item = &'a str>) {
        let TallyEvent {
            action_id,
            kind,
            date,
            precision,
            region,
            person,
        } = e;
        let detention = self.detention;
        let values = &mut self.values;
        let kind = values.id(kind);
        let action = action_id.and_then(|id| self.action_ids.ids.get(id).copied());
        let person = person.map(|p| self.persons.id(p));
        if kind == detention
            && let Some(a) = action
        {
            match person {
                Some(p) => self.named.push((a, p)),
                None => *self.named_unknown.entry(a).or_default() += 1,
            }
        }
        let unattached_detention = kind == detention && action_id.is_none();
        if unattached_detention {
            self.total.detentions += 1;
        }
        *self.total_events.entry(kind).or_default() += 1;
        let (year, month) = year_month(values, date, precision);
        let of_action = action
            .and_then(|a| self.actions.get(a as usize))
            .map(|a| a.keys);
        let keys = FactKeys {
            year,
            month,
            region: values.opt(region),
            action_kind: of_action.map_or(NONE, |a| a.action_kind),
            event_kind: kind,
            authorised: of_action.map_or(NONE, |a| a.authorised),
            topic: of_action.map_or(NONE, |a| a.topic),
        };
        let mut listed: Vec<u32> = articles
            .filter(|a| !a.is_empty())
            .map(|a| values.id(a))
            .collect();
        listed.sort_unstable();
        listed.dedup();
        if listed.is_empty() {
            listed.push(NONE);
        }
        for (by, b) in self.bys.iter().zip(&mut self.breakdowns) {
            let per_article = by.contains(&StatKey::Article);
            for &article in if per_article {
                &listed[..]
            } else {
                &listed[..1]
            } {
                let g = b.group(by, &keys, if per_article { article } else { NONE });
                if let Some(s) = b.sums.get_mut(g as usize) {
                    if unattached_detention {
                        s.detentions += 1;
                    }
                    *s.events.entry(kind).or_default() += 1;
                }
                if let Some(p) = person {
                    b.persons.push((g, p));
                }
            }
        }
    }

    /// The groups of each breakdown (sorted as `count` gives them) and the total.
    pub fn finish(mut self) -> (Vec<Vec<CountRow>>, CountRow) {
        let named_persons = distinct_by_first(&mut self.named);
        let mut total = self.total;
        for (a, fact) in self.actions.iter().enumerate() {
            let a = u32::try_from(a).unwrap_or(u32::MAX);
            let named = named_persons.get(&a).copied().unwrap_or(0)
                + self.named_unknown.get(&a).copied().unwrap_or(0);
            let detentions = named.max(fact.reported);
            total.actions += 1;
            total.detentions += detentions;
            total.detentions_named += named;
            total.detentions_reported += fact.reported;
            for (by, b) in self.bys.iter().zip(&mut self.breakdowns) {
                let g = b.group(by, &fact.keys, NONE);
                if let Some(s) = b.sums.get_mut(g as usize) {
                    s.actions += 1;
                    s.detentions += detentions;
                    s.detentions_named += named;
                    s.detentions_reported += fact.reported;
                }
            }
        }
        total.persons = len(self.persons.ids.len());
        let values = &self.values;
        for (kind, n) in self.total_events {
            if let Some(name) = values.name(kind) {
                total.events.insert(name, n);
            }
        }
        let mut out = Vec::with_capacity(self.breakdowns.len());
        for (by, mut b) in self.bys.iter().zip(self.breakdowns) {
            let persons_of = distinct_by_first(&mut b.persons);
            let mut rows = Vec::with_capacity(b.groups.len());
            for (g, i) in b.groups {
                let Some(s) = b.sums.get(i as usize) else {
                    continue;
                };
                rows.push(CountRow {
                    keys: g[..by.len()].iter().map(|v| values.name(*v)).collect(),
                    actions: s.actions,
                    detentions: s.detentions,
                    detentions_named: s.detentions_named,
                    detentions_reported: s.detentions_reported,
                    persons: persons_of.get(&i).copied().unwrap_or(0),
                    events: s
                        .events
                        .iter()
                        .filter_map(|(k, n)| values.name(*k).map(|name| (name, *n)))
                        .collect(),
                });
            }
            out.push(sorted(rows));
        }
        (out, total)
    }
}

impl Tallied {
    fn group(&mut self, by: &[StatKey], keys: &FactKeys, article: u32) -> u32 {
        let mut g = keys.group(by);
        for (slot, k) in g.iter_mut().zip(by) {
            if *k == StatKey::Article {
                *slot = article;
            }
        }
        let sums = &mut self.sums;
        *self.groups.entry(g).or_insert_with(|| {
            sums.push(Sums::default());
            u32::try_from(sums.len() - 1).unwrap_or(u32::MAX)
        })
    }
}

/// The groups of each of `bys` (sorted as `count` gives them) and the total,
/// over the whole record.
pub(super) async fn count_breakdowns(
    db: &Db,
    bys: &[Vec<StatKey>],
) -> Result<(Vec<Vec<CountRow>>, CountRow), StoreError> {
    use futures_util::TryStreamExt;
    use sqlx::Row;
    let mut tally = BreakdownTally::new(bys);
    let with_articles = tally.with_articles();
    on_pool!(db, pool => {
        let mut rows = sqlx::query(
            "SELECT id, date, date_precision, region, kind, authorised, topic FROM record_actions",
        )
        .fetch(pool);
        while let Some(r) = rows.try_next().await? {
            tally.action(TallyAction {
                id: r.try_get(0)?,
                date: r.try_get(1)?,
                precision: r.try_get(2)?,
                region: r.try_get(3)?,
                kind: r.try_get(4)?,
                authorised: r.try_get(5)?,
                topic: r.try_get(6)?,
            });
        }
        drop(rows);
        let mut rows = sqlx::query(
            "SELECT action_id, CAST(MAX(detained) AS BIGINT) FROM record_action_counts GROUP BY action_id",
        )
        .fetch(pool);
        while let Some(r) = rows.try_next().await? {
            tally.reported(r.try_get(0)?, r.try_get::<i64, _>(1)?.unsigned_abs());
        }
        drop(rows);
    });
    let mut on_event = |e: [Option<&str>; 7]| {
        let [action_id, kind, date, precision, region, person, articles] = e;
        tally.event(
            TallyEvent {
                action_id,
                kind: kind.unwrap_or_default(),
                date,
                precision: precision.unwrap_or_default(),
                region,
                person,
            },
            articles.unwrap_or_default().split(' '),
        );
    };
    let articles_sql = if with_articles {
        "(SELECT group_concat(x.article, ' ') FROM record_event_articles x WHERE x.event_id = record_events.id)"
    } else {
        "NULL"
    };
    match db {
        // Packed as in `scan_count`: SQLite hands over a range of events as one string.
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(rowid), 0) FROM record_events")
                .fetch_one(&mut *conn)
                .await?;
            let packed =
                |c: &str| format!("COALESCE(length(CAST({c} AS BLOB)) || ':' || {c}, '-')");
            let sql = format!(
                "SELECT group_concat({}, '') FROM record_events WHERE rowid > $1 AND rowid <= $2",
                [
                    "action_id",
                    "kind",
                    "date",
                    "date_precision",
                    "region",
                    "person_id",
                    articles_sql,
                ]
                .map(packed)
                .join(" || ")
            );
            let mut low = 0i64;
            while low < last {
                let high = low.saturating_add(PACKED_EVENTS);
                let chunk: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(low)
                    .bind(high)
                    .fetch_one(&mut *conn)
                    .await?;
                let mut rest = chunk.as_deref().unwrap_or_default();
                while !rest.is_empty() {
                    let mut e: [Option<&str>; 7] = [None; 7];
                    for v in &mut e {
                        (*v, rest) = unpack(rest)?;
                    }
                    on_event(e);
                }
                low = high;
            }
        }
        Db::Postgres(pool) => {
            let articles_sql = if with_articles {
                "(SELECT string_agg(x.article, ' ') FROM record_event_articles x WHERE x.event_id = e.id)"
            } else {
                "NULL::TEXT"
            };
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT e.action_id, e.kind, e.date, e.date_precision, e.region, e.person_id, {articles_sql} \
                 FROM record_events e"
            )))
            .fetch(pool);
            while let Some(r) = rows.try_next().await? {
                on_event([
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                ]);
            }
        }
    }
    Ok(tally.finish())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::unpack;

    #[test]
    fn packed_values_unpack_whatever_they_hold() {
        // Separators, a dash and Cyrillic inside values; missing values.
        let mut s = "3:a:b-1:-9:ОВД-1:-";
        let mut got = Vec::new();
        while !s.is_empty() {
            let (v, rest) = unpack(s).unwrap();
            got.push(v);
            s = rest;
        }
        assert_eq!(got, [Some("a:b"), None, Some("-"), Some("ОВД-1:"), None]);
        // Too short, not a length, or a length that cuts a character: refused.
        for bad in ["5:ab", "x:ab", "1:О", "ab"] {
            assert!(unpack(bad).is_err(), "{bad}");
        }
    }
}
