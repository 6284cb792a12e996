//! Edits of the record. An edit never loses the previous version: it is kept,
//! whole, in `record_history` with who made the edit, on which day, and which
//! fields it changed. Sealed fields stay sealed in the history too.

use serde_json::{Map, Value, json};
use vigil_core::Day;

use super::record::{self, ActionRow, CaseRow, DateRow, EventRow, Origin, PersonRow};
use crate::db::{Db, on_pool};
use crate::{StoreError, parse_day};

/// One edit of a record, as the record was before it.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The version the edit replaced.
    pub version: i64,
    pub day: Day,
    pub editor: String,
    /// The fields the edit changed.
    pub changed: Vec<String>,
    /// The whole record before the edit (sealed fields as hex, still sealed).
    pub previous: Value,
}

/// A record with its new content; its `stamp.version` must be the version it
/// was read at, so an edit made meanwhile by someone else is never overwritten.
#[derive(Debug, Clone, Copy)]
pub enum Edit<'a> {
    Person(&'a PersonRow),
    Action(&'a ActionRow),
    Event(&'a EventRow),
    Case(&'a CaseRow),
}

fn date_json(d: &DateRow) -> Value {
    json!({ "day": d.day.map(|d| d.to_string()), "precision": d.precision })
}

fn origin_json(o: &Option<Origin>) -> Value {
    match o {
        Some(o) => json!({ "source": o.source_id, "row": o.row }),
        None => Value::Null,
    }
}

pub(crate) fn person_json(p: &PersonRow) -> Map<String, Value> {
    let v = json!({
        "sealed": hex::encode(&p.sealed), "gender": p.gender, "region": p.region,
        "roles": p.roles, "consent": p.consent, "origin": origin_json(&p.origin),
    });
    v.as_object().cloned().unwrap_or_default()
}

pub(crate) fn action_json(a: &ActionRow) -> Map<String, Value> {
    let v = json!({
        "date": date_json(&a.date), "region": a.region, "city": a.city, "kind": a.kind, "topic": a.topic,
        "organiser": a.organiser, "authorised": a.authorised, "verification": a.verification,
        "sealed": hex::encode(&a.sealed), "stations": a.stations, "origin": origin_json(&a.origin),
    });
    v.as_object().cloned().unwrap_or_default()
}

pub(crate) fn event_json(e: &EventRow) -> Map<String, Value> {
    let v = json!({
        "person": e.person_id, "action": e.action_id, "case": e.case_id, "kind": e.kind,
        "date": date_json(&e.date), "region": e.region, "city": e.city, "police_station": e.police_station,
        "court": e.court, "articles": e.articles, "trigger": e.trigger, "fine_rub": e.fine_rub,
        "arrest_days": e.arrest_days, "sentence": e.sentence, "verification": e.verification,
        "sealed": hex::encode(&e.sealed), "origin": origin_json(&e.origin),
    });
    v.as_object().cloned().unwrap_or_default()
}

pub(crate) fn case_json(c: &CaseRow) -> Map<String, Value> {
    let v = json!({ "person": c.person_id, "sealed": hex::encode(&c.sealed) });
    v.as_object().cloned().unwrap_or_default()
}

fn changed_fields(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<String> {
    before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

pub(super) async fn edit(
    db: &Db,
    edit: Edit<'_>,
    editor: &str,
    today: Day,
) -> Result<(), StoreError> {
    let (entity, id, version, before, after) = match edit {
        Edit::Person(p) => {
            let old = record::person(db, &p.id)
                .await?
                .ok_or(StoreError::NotFound)?;
            (
                "person",
                &p.id,
                old.stamp.version,
                person_json(&old),
                person_json(p),
            )
        }
        Edit::Action(a) => {
            let old = record::action(db, &a.id)
                .await?
                .ok_or(StoreError::NotFound)?;
            (
                "action",
                &a.id,
                old.stamp.version,
                action_json(&old),
                action_json(a),
            )
        }
        Edit::Event(e) => {
            let old = record::event(db, &e.id)
                .await?
                .ok_or(StoreError::NotFound)?;
            (
                "event",
                &e.id,
                old.stamp.version,
                event_json(&old),
                event_json(e),
            )
        }
        Edit::Case(c) => {
            let old = record::case(db, &c.id).await?.ok_or(StoreError::NotFound)?;
            (
                "case",
                &c.id,
                old.stamp.version,
                case_json(&old),
                case_json(c),
            )
        }
    };
    let expected = match edit {
        Edit::Person(p) => p.stamp.version,
        Edit::Action(a) => a.stamp.version,
        Edit::Event(e) => e.stamp.version,
        Edit::Case(c) => c.stamp.version,
    };
    if expected != version {
        return Err(StoreError::Conflict);
    }
    let changed = changed_fields(&before, &after);
    if changed.is_empty() {
        return Ok(());
    }
    let day = today.to_string();
    let previous = Value::Object(before).to_string();
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO record_history (entity, entity_id, version, day, editor, changed, previous) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entity)
        .bind(id)
        .bind(version)
        .bind(&day)
        .bind(editor)
        .bind(changed.join(" "))
        .bind(&previous)
        .execute(&mut *tx)
        .await?;
        let stamp = "version = version + 1, changed = $2, changed_by = $3";
        let updated = match edit {
            Edit::Person(p) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE record_persons SET {stamp}, sealed = $5, gender = $6, region = $7, roles = $8, consent = $9, \
                     source_id = $10, source_row = $11 WHERE id = $1 AND version = $4"
                )))
                .bind(id).bind(&day).bind(editor).bind(version)
                .bind(&p.sealed).bind(&p.gender).bind(&p.region).bind(p.roles.join(" ")).bind(&p.consent)
                .bind(p.origin.as_ref().map(|o| &o.source_id)).bind(p.origin.as_ref().and_then(|o| o.row))
                .execute(&mut *tx).await?.rows_affected()
            }
            Edit::Action(a) => {
                let n = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE record_actions SET {stamp}, date = $5, date_precision = $6, region = $7, city = $8, kind = $9, \
                     topic = $10, organiser = $11, authorised = $12, verification = $13, sealed = $14 \
                     WHERE id = $1 AND version = $4"
                )))
                .bind(id).bind(&day).bind(editor).bind(version)
                .bind(a.date.day.map(|d| d.to_string())).bind(a.date.precision).bind(&a.region).bind(&a.city)
                .bind(&a.kind).bind(&a.topic).bind(&a.organiser).bind(&a.authorised).bind(&a.verification)
                .bind(&a.sealed)
                .execute(&mut *tx).await?.rows_affected();
                sqlx::query("DELETE FROM record_action_stations WHERE action_id = $1")
                    .bind(id).execute(&mut *tx).await?;
                for s in &a.stations {
                    sqlx::query("INSERT INTO record_action_stations (action_id, station) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(id).bind(s).execute(&mut *tx).await?;
                }
                n
            }
            Edit::Event(e) => {
                let n = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE record_events SET {stamp}, person_id = $5, action_id = $6, case_id = $7, kind = $8, date = $9, \
                     date_precision = $10, region = $11, city = $12, police_station = $13, court = $14, trigger_kind = $15, \
                     fine_rub = $16, arrest_days = $17, sentence = $18, verification = $19, sealed = $20 \
                     WHERE id = $1 AND version = $4"
                )))
                .bind(id).bind(&day).bind(editor).bind(version)
                .bind(&e.person_id).bind(&e.action_id).bind(&e.case_id).bind(&e.kind)
                .bind(e.date.day.map(|d| d.to_string())).bind(e.date.precision).bind(&e.region).bind(&e.city)
                .bind(&e.police_station).bind(&e.court).bind(&e.trigger).bind(e.fine_rub).bind(e.arrest_days)
                .bind(&e.sentence).bind(&e.verification).bind(&e.sealed)
                .execute(&mut *tx).await?.rows_affected();
                sqlx::query("DELETE FROM record_event_articles WHERE event_id = $1")
                    .bind(id).execute(&mut *tx).await?;
                for a in &e.articles {
                    sqlx::query("INSERT INTO record_event_articles (event_id, article) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(id).bind(a).execute(&mut *tx).await?;
                }
                n
            }
            Edit::Case(c) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE record_cases SET {stamp}, person_id = $5, sealed = $6 WHERE id = $1 AND version = $4"
                )))
                .bind(id).bind(&day).bind(editor).bind(version)
                .bind(&c.person_id).bind(&c.sealed)
                .execute(&mut *tx).await?.rows_affected()
            }
        };
        if updated != 1 {
            // Someone else's edit landed between our read and this write.
            return Err(StoreError::Conflict);
        }
        tx.commit().await?;
    });
    Ok(())
}

pub(super) async fn history(
    db: &Db,
    entity: &str,
    id: &str,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let rows: Vec<(i64, String, String, String, String)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT version, day, editor, changed, previous FROM record_history \
             WHERE entity = $1 AND entity_id = $2 ORDER BY version",
        )
        .bind(entity)
        .bind(id)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(version, day, editor, changed, previous)| {
            Ok(HistoryEntry {
                version,
                day: parse_day(&day)?,
                editor,
                changed: changed
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                previous: serde_json::from_str(&previous)
                    .map_err(|_| StoreError::Corrupt("a history entry is not JSON".into()))?,
            })
        })
        .collect()
}
