//! The urgent line (deskurgent): the duty roster, which reports are urgent and
//! who acknowledged them, the alert outbox, and the retention purge.
//!
//! Times are whole seconds since 1970 (UTC), passed in by the caller like days.
//! Nothing here holds report content: urgency is read from the sealed envelope
//! by the desk and only the flag is kept.

use std::collections::BTreeMap;

use vigil_core::{Day, ReportId, SealedReport};

use crate::db::{Db, on_pool};
use crate::{ReportRow, StoreError, parse_day, parse_id, to_report};

/// Who is on duty from `starts` until `ends` (seconds, UTC), in the order
/// they are alerted: the first at once, the next after each escalation delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub id: String,
    pub starts: i64,
    pub ends: i64,
    pub people: Vec<String>,
}

/// An urgent report's place on the urgent line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrgentRow {
    pub report_id: ReportId,
    /// When the desk first opened it and saw it urgent.
    pub seen: i64,
    /// How many people of the escalation order have been alerted about it.
    pub alerted: u32,
    pub last_alert: Option<i64>,
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
}

/// An urgent report whose alert moved on to `alerted` people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub report_id: ReportId,
    pub alerted: u32,
}

/// An alert to send: to whom, by which channel, how many urgent reports wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub username: String,
    pub channel: String,
    pub waiting: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    pub id: i64,
    pub username: String,
    pub channel: String,
    pub waiting: u64,
    pub created: i64,
    pub attempts: u32,
}

/// What a failed attempt leaves: try again at `next_try`, or give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertRetry {
    At(i64),
    GiveUp(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PurgeKind {
    /// A pulled report nobody coded into the record.
    Report,
    /// A closed case, with its events (and its person if nothing else names them).
    Case,
}

impl PurgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PurgeKind::Report => "report",
            PurgeKind::Case => "case",
        }
    }
}

/// Something retention removes: its kind, id, and its day (a report's
/// received day; a case's last event day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeItem {
    pub kind: PurgeKind,
    pub id: String,
    pub day: Day,
}

/// The event kinds that end a matter: a case whose latest event is one of
/// these is closed (docs/desk.md, "Retention").
pub const FINAL_EVENT_KINDS: &[&str] = &[
    "fine",
    "administrative_arrest",
    "compulsory_work",
    "warning",
    "sentence",
    "dismissal",
    "expulsion",
];

fn count(n: i64) -> u64 {
    n.unsigned_abs()
}

fn small(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub(super) async fn put_shift(db: &Db, shift: &Shift) -> Result<(), StoreError> {
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(
            "INSERT INTO desk_duty_shifts (id, starts, ends) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET starts = excluded.starts, ends = excluded.ends",
        )
        .bind(&shift.id)
        .bind(shift.starts)
        .bind(shift.ends)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM desk_duty_people WHERE shift_id = $1")
            .bind(&shift.id)
            .execute(&mut *tx)
            .await?;
        for (position, username) in (0_i64..).zip(&shift.people) {
            sqlx::query(
                "INSERT INTO desk_duty_people (shift_id, position, username) VALUES ($1, $2, $3)",
            )
            .bind(&shift.id)
            .bind(position)
            .bind(username)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

pub(super) async fn delete_shift(db: &Db, id: &str) -> Result<bool, StoreError> {
    let gone = on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("DELETE FROM desk_duty_people WHERE shift_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM desk_duty_shifts WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        n
    });
    Ok(gone > 0)
}

pub(super) async fn shifts(db: &Db) -> Result<Vec<Shift>, StoreError> {
    type Rows = (Vec<(String, i64, i64)>, Vec<(String, String)>);
    let (rows, people): Rows = on_pool!(db, pool => {
        let rows = sqlx::query_as("SELECT id, starts, ends FROM desk_duty_shifts ORDER BY starts, id")
            .fetch_all(pool)
            .await?;
        let people = sqlx::query_as(
            "SELECT shift_id, username FROM desk_duty_people ORDER BY shift_id, position",
        )
        .fetch_all(pool)
        .await?;
        (rows, people)
    });
    let mut by_shift: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (shift, username) in people {
        by_shift.entry(shift).or_default().push(username);
    }
    Ok(rows
        .into_iter()
        .map(|(id, starts, ends)| Shift {
            people: by_shift.remove(&id).unwrap_or_default(),
            id,
            starts,
            ends,
        })
        .collect())
}

pub(super) async fn untriaged(db: &Db, limit: u32) -> Result<Vec<SealedReport>, StoreError> {
    let rows: Vec<ReportRow> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT r.id, r.receipt_hash, r.sealed, r.received FROM desk_reports r \
             WHERE NOT EXISTS (SELECT 1 FROM desk_triage t WHERE t.report_id = r.id) \
             ORDER BY r.seq LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
    });
    rows.into_iter().map(to_report).collect()
}

pub(super) async fn triage(
    db: &Db,
    reports: &[(ReportId, bool)],
    seen: i64,
) -> Result<(), StoreError> {
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for (id, urgent) in reports {
            sqlx::query(
                "INSERT INTO desk_triage (report_id, urgent, seen) VALUES ($1, $2, $3) \
                 ON CONFLICT (report_id) DO NOTHING",
            )
            .bind(id.to_string())
            .bind(i64::from(*urgent))
            .bind(seen)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

type UrgentTuple = (String, i64, i64, Option<i64>, Option<String>, Option<i64>);

pub(super) async fn urgent(db: &Db, open_only: bool) -> Result<Vec<UrgentRow>, StoreError> {
    let sql = if open_only {
        "SELECT report_id, seen, alerted, last_alert, acked_by, acked_at FROM desk_triage \
         WHERE urgent = 1 AND acked_at IS NULL ORDER BY seen, report_id"
    } else {
        "SELECT report_id, seen, alerted, last_alert, acked_by, acked_at FROM desk_triage \
         WHERE urgent = 1 ORDER BY seen, report_id"
    };
    let rows: Vec<UrgentTuple> = on_pool!(db, pool => {
        sqlx::query_as(sql).fetch_all(pool).await?
    });
    rows.into_iter()
        .map(|(id, seen, alerted, last_alert, acked_by, acked_at)| {
            Ok(UrgentRow {
                report_id: parse_id(&id)?,
                seen,
                alerted: small(alerted),
                last_alert,
                acked_by,
                acked_at,
            })
        })
        .collect()
}

pub(super) async fn escalate(
    db: &Db,
    escalations: &[Escalation],
    at: i64,
    alerts: &[NewAlert],
) -> Result<(), StoreError> {
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for e in escalations {
            sqlx::query(
                "UPDATE desk_triage SET alerted = $1, last_alert = $2 \
                 WHERE report_id = $3 AND acked_at IS NULL",
            )
            .bind(i64::from(e.alerted))
            .bind(at)
            .bind(e.report_id.to_string())
            .execute(&mut *tx)
            .await?;
        }
        for a in alerts {
            sqlx::query(
                "INSERT INTO desk_alerts (username, channel, waiting, created, next_try) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(&a.username)
            .bind(&a.channel)
            .bind(i64::try_from(a.waiting).unwrap_or(i64::MAX))
            .bind(at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    });
    Ok(())
}

pub(super) async fn acknowledge(
    db: &Db,
    report: ReportId,
    username: &str,
    at: i64,
) -> Result<bool, StoreError> {
    let n = on_pool!(db, pool => {
        sqlx::query(
            "UPDATE desk_triage SET acked_by = $1, acked_at = $2 \
             WHERE report_id = $3 AND urgent = 1 AND acked_at IS NULL",
        )
        .bind(username)
        .bind(at)
        .bind(report.to_string())
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(n == 1)
}

pub(super) async fn alerts_due(db: &Db, now: i64, limit: u32) -> Result<Vec<AlertRow>, StoreError> {
    let rows: Vec<(i64, String, String, i64, i64, i64)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, username, channel, waiting, created, attempts FROM desk_alerts \
             WHERE sent IS NULL AND gave_up IS NULL AND next_try <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(
            |(id, username, channel, waiting, created, attempts)| AlertRow {
                id,
                username,
                channel,
                waiting: count(waiting),
                created,
                attempts: small(attempts),
            },
        )
        .collect())
}

pub(super) async fn alert_sent(db: &Db, id: i64, at: i64) -> Result<(), StoreError> {
    on_pool!(db, pool => {
        sqlx::query("UPDATE desk_alerts SET sent = $1, attempts = attempts + 1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub(super) async fn alert_failed(db: &Db, id: i64, retry: AlertRetry) -> Result<(), StoreError> {
    let (sql, value) = match retry {
        AlertRetry::At(t) => (
            "UPDATE desk_alerts SET next_try = $1, attempts = attempts + 1 WHERE id = $2",
            t,
        ),
        AlertRetry::GiveUp(t) => (
            "UPDATE desk_alerts SET gave_up = $1, attempts = attempts + 1 WHERE id = $2",
            t,
        ),
    };
    on_pool!(db, pool => {
        sqlx::query(sql).bind(value).bind(id).execute(pool).await?;
    });
    Ok(())
}

/// Alerts not yet sent and not given up, and those given up: the duty page
/// shows both so that a silent channel is noticed.
pub(super) async fn alert_backlog(db: &Db) -> Result<(u64, u64), StoreError> {
    let (pending, failed): (i64, i64) = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT \
               COALESCE(SUM(CASE WHEN sent IS NULL AND gave_up IS NULL THEN 1 ELSE 0 END), 0), \
               COALESCE(SUM(CASE WHEN gave_up IS NOT NULL THEN 1 ELSE 0 END), 0) \
             FROM desk_alerts",
        )
        .fetch_one(pool)
        .await?
    });
    Ok((count(pending), count(failed)))
}

// --- retention ---

/// A report is coded when a record source names it and that source stands
/// behind at least one record entry. import5: a report's records carry no
/// file row, and the source indexes hold only such records (migration 0010).
const UNCODED_REPORTS: &str = "SELECT r.id, r.received FROM desk_reports r \
    WHERE r.received < $1 \
    AND NOT EXISTS (SELECT 1 FROM record_sources s WHERE s.report_id = r.id AND ( \
        EXISTS (SELECT 1 FROM record_persons p WHERE p.source_id = s.id AND p.source_row IS NULL) \
        OR EXISTS (SELECT 1 FROM record_actions a WHERE a.source_id = s.id AND a.source_row IS NULL) \
        OR EXISTS (SELECT 1 FROM record_events e WHERE e.source_id = s.id AND e.source_row IS NULL) \
        OR EXISTS (SELECT 1 FROM record_supports u WHERE u.source_id = s.id) \
        OR EXISTS (SELECT 1 FROM record_action_counts c WHERE c.source_id = s.id))) \
    AND NOT EXISTS (SELECT 1 FROM desk_triage t \
        WHERE t.report_id = r.id AND t.urgent = 1 AND t.acked_at IS NULL) \
    ORDER BY r.seq";

/// Closed cases whose last event is before `before`: every event of the
/// case is dated, and the latest is one of [`FINAL_EVENT_KINDS`].
fn closed_cases(events: Vec<(String, Option<String>, String)>, before: Day) -> Vec<PurgeItem> {
    let mut latest: BTreeMap<String, Option<(String, String)>> = BTreeMap::new();
    for (case, date, kind) in events {
        let slot = latest
            .entry(case)
            .or_insert(Some((String::new(), String::new())));
        match (slot.as_mut(), date) {
            (Some(_), None) => *slot = None,
            (Some(best), Some(date)) if date > best.0 => *best = (date, kind),
            _ => {}
        }
    }
    latest
        .into_iter()
        .filter_map(|(case, last)| {
            let (date, kind) = last?;
            let day = parse_day(&date).ok()?;
            (day < before && FINAL_EVENT_KINDS.contains(&kind.as_str())).then_some(PurgeItem {
                kind: PurgeKind::Case,
                id: case,
                day,
            })
        })
        .collect()
}

macro_rules! retention_candidates {
    ($conn:expr, $reports_before:expr, $cases_before:expr) => {{
        let mut items = Vec::new();
        if let Some(before) = $reports_before {
            let rows: Vec<(String, String)> = sqlx::query_as(UNCODED_REPORTS)
                .bind(before.to_string())
                .fetch_all(&mut *$conn)
                .await?;
            for (id, received) in rows {
                items.push(PurgeItem {
                    kind: PurgeKind::Report,
                    id,
                    day: parse_day(&received)?,
                });
            }
        }
        if let Some(before) = $cases_before {
            let events: Vec<(String, Option<String>, String)> = sqlx::query_as(
                "SELECT case_id, date, kind FROM record_events WHERE case_id IS NOT NULL",
            )
            .fetch_all(&mut *$conn)
            .await?;
            items.extend(closed_cases(events, before));
        }
        items
    }};
}

pub(super) async fn retention_candidates(
    db: &Db,
    reports_before: Option<Day>,
    cases_before: Option<Day>,
) -> Result<Vec<PurgeItem>, StoreError> {
    Ok(on_pool!(db, pool => {
        let mut conn = pool.acquire().await?;
        retention_candidates!(conn, reports_before, cases_before)
    }))
}

/// Deletes what retention allows, in one transaction, deciding again inside
/// it so that a report coded a moment ago is kept. Returns what went.
pub(super) async fn retention_purge(
    db: &Db,
    reports_before: Option<Day>,
    cases_before: Option<Day>,
) -> Result<Vec<PurgeItem>, StoreError> {
    Ok(on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let items = retention_candidates!(tx, reports_before, cases_before);
        for item in &items {
            match item.kind {
                PurgeKind::Report => {
                    for sql in [
                        "DELETE FROM desk_triage WHERE report_id = $1",
                        "DELETE FROM desk_reports WHERE id = $1",
                    ] {
                        sqlx::query(sql).bind(&item.id).execute(&mut *tx).await?;
                    }
                }
                PurgeKind::Case => {
                    let person: Option<String> =
                        sqlx::query_scalar("SELECT person_id FROM record_cases WHERE id = $1")
                            .bind(&item.id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    for sql in [
                        "DELETE FROM record_event_articles WHERE event_id IN \
                         (SELECT id FROM record_events WHERE case_id = $1)",
                        "DELETE FROM record_supports WHERE entity = 'event' AND entity_id IN \
                         (SELECT id FROM record_events WHERE case_id = $1)",
                        "DELETE FROM record_history WHERE entity = 'event' AND entity_id IN \
                         (SELECT id FROM record_events WHERE case_id = $1)",
                        "DELETE FROM record_events WHERE case_id = $1",
                        "DELETE FROM record_supports WHERE entity = 'case' AND entity_id = $1",
                        "DELETE FROM record_history WHERE entity = 'case' AND entity_id = $1",
                        "DELETE FROM record_cases WHERE id = $1",
                    ] {
                        sqlx::query(sql).bind(&item.id).execute(&mut *tx).await?;
                    }
                    // The person goes too when nothing else in the record names them
                    // (deskmerge: a merge, kept or merged, names them too; it stays undoable).
                    if let Some(person) = person {
                        let named: i64 = sqlx::query_scalar(
                            "SELECT (SELECT COUNT(*) FROM record_events WHERE person_id = $1) \
                             + (SELECT COUNT(*) FROM record_cases WHERE person_id = $1) \
                             + (SELECT COUNT(*) FROM record_merges \
                                WHERE kept_id = $1 OR merged_id = $1)",
                        )
                        .bind(&person)
                        .fetch_one(&mut *tx)
                        .await?;
                        if named == 0 {
                            for sql in [
                                "DELETE FROM record_supports WHERE entity = 'person' AND entity_id = $1",
                                "DELETE FROM record_history WHERE entity = 'person' AND entity_id = $1",
                                "DELETE FROM record_persons WHERE id = $1",
                            ] {
                                sqlx::query(sql).bind(&person).execute(&mut *tx).await?;
                            }
                        }
                    }
                }
            }
        }
        tx.commit().await?;
        items
    }))
}
