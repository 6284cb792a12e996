//! deskcoding: what the desk's coding pages ask of the store. The queue reads
//! reports pulled since it last looked and which reports are coded; a report's
//! page lists what it supports; persons are merged and unmerged without losing
//! anything (a merge lists what it moved, and an undo moves it back).

use std::collections::BTreeMap;

use vigil_core::{Day, SealedReport};

use super::record::{
    ACTION_COLS, ActionRow, PERSON_COLS, PersonRow, action_from, date_row, origin, person_from,
    row_origin, row_stamp, split, stamp,
};
use crate::db::{Db, on_pool};
use crate::{ReportRow, StoreError, parse_day, to_report};

/// A pulled report with its place in the pull order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PulledReport {
    pub seq: i64,
    pub report: SealedReport,
}

/// A report that supports at least one record, with the regions of what it supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportUse {
    pub report_id: String,
    pub regions: Vec<String>,
}

/// One more source of a record (beyond the one it was created from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportRow {
    pub source_id: String,
    /// `person`, `action`, `event` or `case`.
    pub entity: String,
    pub entity_id: String,
}

/// A record a source supports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Supported {
    pub entity: String,
    pub id: String,
}

/// A merge of `merged_id` into `kept_id`, and its undo if undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeRow {
    pub id: String,
    pub kept_id: String,
    pub merged_id: String,
    pub day: Day,
    pub editor: String,
    pub undone: Option<(Day, String)>,
}

/// What a merge moved from the merged person to the kept one.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MergeMoves {
    pub events: Vec<String>,
    pub cases: Vec<String>,
}

/// Protest actions to pick from: by date range and region, newest first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ActionFilter {
    pub from: Option<Day>,
    pub to: Option<Day>,
    pub region: Option<String>,
    pub limit: u32,
}

pub(super) async fn reports_since(db: &Db, after: i64) -> Result<Vec<PulledReport>, StoreError> {
    type Row = (i64, String, Vec<u8>, Vec<u8>, String);
    let rows: Vec<Row> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT seq, id, receipt_hash, sealed, received FROM desk_reports WHERE seq > $1 ORDER BY seq",
        )
        .bind(after)
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(|(seq, id, hash, sealed, received)| {
            let row: ReportRow = (id, hash, sealed, received);
            Ok(PulledReport {
                seq,
                report: to_report(row)?,
            })
        })
        .collect()
}

/// import5: a report's records carry no file row (`Origin`), and the source
/// indexes hold only such records (migration 0010): each part says so.
pub(super) async fn report_uses(db: &Db) -> Result<Vec<ReportUse>, StoreError> {
    let rows: Vec<(String, Option<String>)> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT s.report_id, e.region FROM record_sources s JOIN record_events e ON e.source_id = s.id \
               WHERE s.kind = 'report' AND s.report_id IS NOT NULL AND e.source_row IS NULL \
             UNION ALL SELECT s.report_id, p.region FROM record_sources s JOIN record_persons p ON p.source_id = s.id \
               WHERE s.kind = 'report' AND s.report_id IS NOT NULL AND p.source_row IS NULL \
             UNION ALL SELECT s.report_id, a.region FROM record_sources s JOIN record_actions a ON a.source_id = s.id \
               WHERE s.kind = 'report' AND s.report_id IS NOT NULL AND a.source_row IS NULL \
             UNION ALL SELECT s.report_id, COALESCE(e.region, p.region, a.region) FROM record_sources s \
               JOIN record_supports x ON x.source_id = s.id \
               LEFT JOIN record_events e ON x.entity = 'event' AND e.id = x.entity_id \
               LEFT JOIN record_persons p ON x.entity = 'person' AND p.id = x.entity_id \
               LEFT JOIN record_actions a ON x.entity = 'action' AND a.id = x.entity_id \
               WHERE s.kind = 'report' AND s.report_id IS NOT NULL",
        )
        .fetch_all(pool)
        .await?
    });
    let mut by_report: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (report, region) in rows {
        let regions = by_report.entry(report).or_default();
        if let Some(r) = region
            && !regions.contains(&r)
        {
            regions.push(r);
        }
    }
    Ok(by_report
        .into_iter()
        .map(|(report_id, mut regions)| {
            regions.sort();
            ReportUse { report_id, regions }
        })
        .collect())
}

pub(super) async fn supported_by(db: &Db, source_id: &str) -> Result<Vec<Supported>, StoreError> {
    // import5: the source indexes hold the records of no file row (migration
    // 0010), which are all the records of a report or a link; a file's records
    // (each with its row) are found by a scan, as most of a table they would be.
    let of = |rows: &str| {
        format!(
            "SELECT 'person', id FROM record_persons WHERE source_id = $1 {rows} \
             UNION SELECT 'action', id FROM record_actions WHERE source_id = $1 {rows} \
             UNION SELECT 'event', id FROM record_events WHERE source_id = $1 {rows} \
             UNION SELECT entity, entity_id FROM record_supports WHERE source_id = $1"
        )
    };
    let rows: Vec<(String, String)> = on_pool!(db, pool => {
        let file: Option<String> = sqlx::query_scalar(
            "SELECT kind FROM record_sources WHERE id = $1 AND kind = 'file'",
        )
        .bind(source_id)
        .fetch_optional(pool)
        .await?;
        let sql = of(if file.is_some() { "" } else { "AND source_row IS NULL" });
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(source_id)
            .fetch_all(pool)
            .await?
    });
    let mut out: Vec<Supported> = rows
        .into_iter()
        .map(|(entity, id)| Supported { entity, id })
        .collect();
    out.sort();
    Ok(out)
}

pub(super) async fn add_supports(db: &Db, supports: &[SupportRow]) -> Result<u64, StoreError> {
    let mut added = 0;
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for s in supports {
            added += sqlx::query(
                "INSERT INTO record_supports (source_id, entity, entity_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(&s.source_id)
            .bind(&s.entity)
            .bind(&s.entity_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
    });
    Ok(added)
}

/// A person is merged away while a merge of it is not undone.
const MERGED_AWAY: &str =
    "EXISTS (SELECT 1 FROM record_merges m WHERE m.merged_id = $1 AND m.undone_day IS NULL)";

pub(super) async fn persons(db: &Db) -> Result<Vec<PersonRow>, StoreError> {
    use sqlx::Row;
    let sql = format!(
        "SELECT {PERSON_COLS} FROM record_persons p WHERE NOT EXISTS \
         (SELECT 1 FROM record_merges m WHERE m.merged_id = p.id AND m.undone_day IS NULL) ORDER BY id"
    );
    on_pool!(db, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(person_from!(r));
        }
        Ok(out)
    })
}

/// deskfast: `persons` without the sealed parts, only what tells a change.
pub(super) async fn person_versions(db: &Db) -> Result<Vec<(String, i64)>, StoreError> {
    let sql = "SELECT id, version FROM record_persons p WHERE NOT EXISTS \
         (SELECT 1 FROM record_merges m WHERE m.merged_id = p.id AND m.undone_day IS NULL) ORDER BY id";
    on_pool!(db, pool => {
        let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(pool).await?;
        Ok(rows)
    })
}

pub(super) async fn find_actions(
    db: &Db,
    filter: &ActionFilter,
) -> Result<Vec<ActionRow>, StoreError> {
    use sqlx::Row;
    // Days are YYYY-MM-DD text, so text comparison orders them.
    let sql = format!(
        "SELECT {ACTION_COLS} FROM record_actions WHERE ($1 IS NULL OR date >= $1) AND ($2 IS NULL OR date <= $2) \
         AND ($3 IS NULL OR region = $3) ORDER BY date DESC, id LIMIT $4"
    );
    let from = filter.from.map(|d| d.to_string());
    let to = filter.to.map(|d| d.to_string());
    let limit = i64::from(filter.limit.clamp(1, 500));
    on_pool!(db, pool => {
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(from).bind(to).bind(&filter.region).bind(limit)
            .fetch_all(pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: String = r.try_get("id")?;
            let stations: Vec<String> = sqlx::query_scalar(
                "SELECT station FROM record_action_stations WHERE action_id = $1 ORDER BY station",
            )
            .bind(&id)
            .fetch_all(pool)
            .await?;
            out.push(action_from!(r, stations));
        }
        Ok(out)
    })
}

pub(super) async fn merge(db: &Db, m: &MergeRow) -> Result<MergeMoves, StoreError> {
    if m.kept_id == m.merged_id {
        return Err(StoreError::Conflict);
    }
    let merged_away = format!("SELECT {MERGED_AWAY}");
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        for id in [&m.kept_id, &m.merged_id] {
            let exists: Option<String> = sqlx::query_scalar("SELECT id FROM record_persons WHERE id = $1")
                .bind(id).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
            let away: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(merged_away.clone()))
                .bind(id).fetch_one(&mut *tx).await?;
            if away {
                return Err(StoreError::Conflict);
            }
        }
        sqlx::query(
            "INSERT INTO record_merges (id, kept_id, merged_id, day, editor) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&m.id).bind(&m.kept_id).bind(&m.merged_id).bind(m.day.to_string()).bind(&m.editor)
        .execute(&mut *tx).await?;
        let events: Vec<String> = sqlx::query_scalar("SELECT id FROM record_events WHERE person_id = $1 ORDER BY id")
            .bind(&m.merged_id).fetch_all(&mut *tx).await?;
        let cases: Vec<String> = sqlx::query_scalar("SELECT id FROM record_cases WHERE person_id = $1 ORDER BY id")
            .bind(&m.merged_id).fetch_all(&mut *tx).await?;
        for (entity, ids) in [("event", &events), ("case", &cases)] {
            for id in ids {
                sqlx::query("INSERT INTO record_merge_moves (merge_id, entity, entity_id) VALUES ($1, $2, $3)")
                    .bind(&m.id).bind(entity).bind(id).execute(&mut *tx).await?;
            }
        }
        sqlx::query("UPDATE record_events SET person_id = $1 WHERE person_id = $2")
            .bind(&m.kept_id).bind(&m.merged_id).execute(&mut *tx).await?;
        sqlx::query("UPDATE record_cases SET person_id = $1 WHERE person_id = $2")
            .bind(&m.kept_id).bind(&m.merged_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(MergeMoves { events, cases })
    })
}

pub(super) async fn unmerge(
    db: &Db,
    merge_id: &str,
    editor: &str,
    day: Day,
) -> Result<(), StoreError> {
    let merged_away = format!("SELECT {MERGED_AWAY}");
    on_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT kept_id, merged_id, undone_day FROM record_merges WHERE id = $1",
        )
        .bind(merge_id).fetch_optional(&mut *tx).await?;
        let Some((kept, merged, undone)) = row else {
            return Err(StoreError::NotFound);
        };
        // Undone already, or the kept person was merged on since: undo that first.
        let kept_away: bool = sqlx::query_scalar(sqlx::AssertSqlSafe(merged_away))
            .bind(&kept).fetch_one(&mut *tx).await?;
        if undone.is_some() || kept_away {
            return Err(StoreError::Conflict);
        }
        sqlx::query(
            "UPDATE record_events SET person_id = $1 WHERE person_id = $2 AND id IN \
             (SELECT entity_id FROM record_merge_moves WHERE merge_id = $3 AND entity = 'event')",
        )
        .bind(&merged).bind(&kept).bind(merge_id).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE record_cases SET person_id = $1 WHERE person_id = $2 AND id IN \
             (SELECT entity_id FROM record_merge_moves WHERE merge_id = $3 AND entity = 'case')",
        )
        .bind(&merged).bind(&kept).bind(merge_id).execute(&mut *tx).await?;
        sqlx::query("UPDATE record_merges SET undone_day = $1, undone_by = $2 WHERE id = $3")
            .bind(day.to_string()).bind(editor).bind(merge_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    })
}

pub(super) async fn merges(db: &Db) -> Result<Vec<MergeRow>, StoreError> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = on_pool!(db, pool => {
        sqlx::query_as(
            "SELECT id, kept_id, merged_id, day, editor, undone_day, undone_by FROM record_merges \
             ORDER BY day DESC, id",
        )
        .fetch_all(pool)
        .await?
    });
    rows.into_iter()
        .map(
            |(id, kept_id, merged_id, day, editor, undone_day, undone_by)| {
                let undone = match undone_day {
                    Some(d) => Some((parse_day(&d)?, undone_by.unwrap_or_default())),
                    None => None,
                };
                Ok(MergeRow {
                    id,
                    kept_id,
                    merged_id,
                    day: parse_day(&day)?,
                    editor,
                    undone,
                })
            },
        )
        .collect()
}
