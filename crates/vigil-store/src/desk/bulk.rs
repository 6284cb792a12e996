//! recfast: SQLite's path for writing a batch of records. Each table's rows go
//! to SQLite as one JSON array per statement, unpacked by SQLite itself
//! (`jsonb_each`), instead of one bound value per column and row: sqlx copies
//! every bound value twice and frees it on another thread, which cost more
//! than SQLite's own work on a large import. The SQL does what the
//! multi-row `INSERT ... ON CONFLICT DO NOTHING` of record.rs does; PostgreSQL
//! keeps that one.

use std::fmt::Write as _;

use sqlx::SqliteConnection;

use super::record::{BatchOutcome, RecordBatch};
use crate::StoreError;

fn origin(o: &Option<super::record::Origin>) -> (Option<&str>, Option<i64>) {
    (
        o.as_ref().map(|o| o.source_id.as_str()),
        o.as_ref().and_then(|o| o.row),
    )
}

/// Rows per statement: a few MB of JSON at most.
const ROWS: usize = 2_000;

/// One JSON array per row, written by hand: strings escaped, blobs as hex
/// (SQLite's `unhex` turns them back), numbers as they are.
struct Rows {
    text: String,
    first_row: bool,
    first_value: bool,
}

impl Rows {
    fn new() -> Rows {
        Rows {
            text: String::from("["),
            first_row: true,
            first_value: true,
        }
    }

    fn row(&mut self) -> &mut Self {
        if !self.first_row {
            self.text.push_str("],");
        }
        self.first_row = false;
        self.first_value = true;
        self.text.push('[');
        self
    }

    fn sep(&mut self) {
        if !self.first_value {
            self.text.push(',');
        }
        self.first_value = false;
    }

    fn str(&mut self, s: &str) -> &mut Self {
        self.sep();
        self.text.push('"');
        // Most values need no escaping: copied whole.
        if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
            self.text.push_str(s);
            self.text.push('"');
            return self;
        }
        for c in s.chars() {
            match c {
                '"' => self.text.push_str("\\\""),
                '\\' => self.text.push_str("\\\\"),
                c if u32::from(c) < 0x20 => {
                    let _ = write!(self.text, "\\u{:04x}", u32::from(c));
                }
                c => self.text.push(c),
            }
        }
        self.text.push('"');
        self
    }

    fn opt(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    fn null(&mut self) -> &mut Self {
        self.sep();
        self.text.push_str("null");
        self
    }

    fn int(&mut self, n: Option<i64>) -> &mut Self {
        match n {
            Some(n) => {
                self.sep();
                let _ = write!(self.text, "{n}");
                self
            }
            None => self.null(),
        }
    }

    fn blob(&mut self, b: Option<&[u8]>) -> &mut Self {
        let Some(b) = b else { return self.null() };
        self.sep();
        self.text.push('"');
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for byte in b {
            self.text.push(char::from(HEX[usize::from(byte >> 4)]));
            self.text.push(char::from(HEX[usize::from(byte & 15)]));
        }
        self.text.push('"');
        self
    }

    fn finish(mut self) -> String {
        if !self.first_row {
            self.text.push(']');
        }
        self.text.push(']');
        self.text
    }
}

/// `INSERT INTO table (cols) SELECT value->>0, ... FROM jsonb_each($1)`, with
/// `unhex` for the columns named in `blobs`.
fn insert_sql(table: &str, cols: &[&str], blobs: &[&str]) -> String {
    let values: Vec<String> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if blobs.contains(c) {
                format!("unhex(value->>{i})")
            } else {
                format!("value->>{i}")
            }
        })
        .collect();
    // `WHERE true` tells SQLite's parser the ON CONFLICT is the INSERT's.
    format!(
        "INSERT INTO {table} ({}) SELECT {} FROM jsonb_each($1) WHERE true ON CONFLICT DO NOTHING",
        cols.join(", "),
        values.join(", ")
    )
}

async fn insert<T>(
    conn: &mut SqliteConnection,
    table: &str,
    cols: &[&str],
    blobs: &[&str],
    rows: &[T],
    write: impl Fn(&mut Rows, &T),
) -> Result<u64, StoreError> {
    let sql = insert_sql(table, cols, blobs);
    let mut inserted = 0;
    for chunk in rows.chunks(ROWS) {
        let mut json = Rows::new();
        for r in chunk {
            write(json.row(), r);
        }
        inserted += sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(json.finish())
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(inserted)
}

/// Every table of a batch, inside the caller's transaction.
pub(super) async fn write(
    conn: &mut SqliteConnection,
    b: &RecordBatch,
    stations: &[(&str, &str)],
    articles: &[(&str, &str)],
) -> Result<BatchOutcome, StoreError> {
    let mut outcome = BatchOutcome::default();
    insert(
        conn,
        "record_sources",
        &["id", "kind", "report_id", "file_sha256", "sealed", "added"],
        &["sealed"],
        &b.sources,
        |w, s| {
            w.str(&s.id)
                .str(&s.kind)
                .opt(s.report_id.as_deref())
                .opt(s.file_sha256.as_deref())
                .blob(s.sealed.as_deref())
                .str(&s.added.to_string());
        },
    )
    .await?;
    outcome.persons = insert(
        conn,
        "record_persons",
        &[
            "id",
            "sealed",
            "gender",
            "region",
            "roles",
            "consent",
            "source_id",
            "source_row",
            "version",
            "changed",
            "changed_by",
        ],
        &["sealed"],
        &b.persons,
        |w, p| {
            let (source, row) = origin(&p.origin);
            w.str(&p.id)
                .blob(Some(&p.sealed))
                .opt(p.gender.as_deref())
                .opt(p.region.as_deref())
                .str(&p.roles.join(" "))
                .str(&p.consent)
                .opt(source)
                .int(row)
                .int(Some(p.stamp.version))
                .str(&p.stamp.changed.to_string())
                .str(&p.stamp.changed_by);
        },
    )
    .await?;
    outcome.actions = insert(
        conn,
        "record_actions",
        &[
            "id",
            "date",
            "date_precision",
            "region",
            "city",
            "kind",
            "topic",
            "organiser",
            "authorised",
            "verification",
            "sealed",
            "source_id",
            "source_row",
            "version",
            "changed",
            "changed_by",
        ],
        &["sealed"],
        &b.actions,
        |w, a| {
            let (source, row) = origin(&a.origin);
            w.str(&a.id)
                .opt(a.date.day.map(|d| d.to_string()).as_deref())
                .str(a.date.precision)
                .opt(a.region.as_deref())
                .opt(a.city.as_deref())
                .str(&a.kind)
                .opt(a.topic.as_deref())
                .opt(a.organiser.as_deref())
                .opt(a.authorised.as_deref())
                .str(&a.verification)
                .blob(Some(&a.sealed))
                .opt(source)
                .int(row)
                .int(Some(a.stamp.version))
                .str(&a.stamp.changed.to_string())
                .str(&a.stamp.changed_by);
        },
    )
    .await?;
    insert(
        conn,
        "record_action_stations",
        &["action_id", "station"],
        &[],
        stations,
        |w, (a, s)| {
            w.str(a).str(s);
        },
    )
    .await?;
    insert(
        conn,
        "record_action_counts",
        &["action_id", "source_id", "detained"],
        &[],
        &b.counts,
        |w, c| {
            w.str(&c.action_id)
                .str(&c.source_id)
                .int(Some(i64::try_from(c.detained).unwrap_or(i64::MAX)));
        },
    )
    .await?;
    insert(
        conn,
        "record_cases",
        &[
            "id",
            "person_id",
            "sealed",
            "version",
            "changed",
            "changed_by",
        ],
        &["sealed"],
        &b.cases,
        |w, c| {
            w.str(&c.id)
                .str(&c.person_id)
                .blob(Some(&c.sealed))
                .int(Some(c.stamp.version))
                .str(&c.stamp.changed.to_string())
                .str(&c.stamp.changed_by);
        },
    )
    .await?;
    outcome.events = insert(
        conn,
        "record_events",
        &[
            "id",
            "person_id",
            "action_id",
            "case_id",
            "kind",
            "date",
            "date_precision",
            "region",
            "city",
            "police_station",
            "court",
            "trigger_kind",
            "fine_rub",
            "arrest_days",
            "sentence",
            "verification",
            "sealed",
            "source_id",
            "source_row",
            "version",
            "changed",
            "changed_by",
        ],
        &["sealed"],
        &b.events,
        |w, e| {
            let (source, row) = origin(&e.origin);
            w.str(&e.id)
                .opt(e.person_id.as_deref())
                .opt(e.action_id.as_deref())
                .opt(e.case_id.as_deref())
                .str(&e.kind)
                .opt(e.date.day.map(|d| d.to_string()).as_deref())
                .str(e.date.precision)
                .opt(e.region.as_deref())
                .opt(e.city.as_deref())
                .opt(e.police_station.as_deref())
                .opt(e.court.as_deref())
                .opt(e.trigger.as_deref())
                .int(e.fine_rub)
                .int(e.arrest_days)
                .opt(e.sentence.as_deref())
                .str(&e.verification)
                .blob(Some(&e.sealed))
                .opt(source)
                .int(row)
                .int(Some(e.stamp.version))
                .str(&e.stamp.changed.to_string())
                .str(&e.stamp.changed_by);
        },
    )
    .await?;
    insert(
        conn,
        "record_event_articles",
        &["event_id", "article"],
        &[],
        articles,
        |w, (e, a)| {
            w.str(e).str(a);
        },
    )
    .await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::Rows;

    #[test]
    fn rows_are_json_arrays_whatever_the_text() {
        let mut r = Rows::new();
        r.row()
            .str("a\"b\\c\n\u{1}ё")
            .null()
            .int(Some(-5))
            .blob(Some(&[0, 255]));
        r.row().opt(None).int(None).blob(None).blob(Some(&[]));
        let text = r.finish();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!([
                ["a\"b\\c\n\u{1}ё", null, -5, "00ff"],
                [null, null, null, ""]
            ])
        );
        assert_eq!(Rows::new().finish(), "[]");
    }
}
