//! What changed in the numbers since the previous release, so a correction is
//! visible, never silent. Each table's CSV is compared row by row: a row is
//! known by its `id` column if it has one, otherwise by its non-count columns
//! (month, region, kind, ...); the other cells are its numbers.
//!
//! The old table is held as hashes of its cells (16 bytes a cell), so a
//! record of a million events compares in bounded memory; for tables of up to
//! `EXAMPLE_TABLE_ROWS` rows the old cells themselves are kept, so the first
//! changed cells can be shown with their old and new values.

use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use vigil_core::Lang;

use crate::opendata::{CODEBOOK_JSON, SUPPRESSED_COLUMN, csv_path};

pub const CHANGES_JSON: &str = "changes.json";
pub const CHANGES_HTML: &str = "changes.html";
pub const CHANGES_FORMAT: &str = "vigil-changes-v1";
const EXAMPLE_TABLE_ROWS: usize = 10_000;
const EXAMPLES: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changes {
    pub format: String,
    pub released: String,
    /// The previous release's date and manifest hash; absent for the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_released: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_manifest: Option<String>,
    /// One entry per table in either release, sorted by table id.
    pub tables: Vec<TableChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Removed,
    Changed,
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableChange {
    pub table: String,
    pub status: Status,
    pub rows_before: u64,
    pub rows_after: u64,
    pub rows_added: u64,
    pub rows_removed: u64,
    /// Rows present in both whose numbers differ, and how many cells.
    pub rows_changed: u64,
    pub cells_changed: u64,
    /// The first changed cells (small tables only), old and new value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<CellChange>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellChange {
    /// The row, as `column=value` of its key columns.
    pub row: String,
    pub column: String,
    pub before: String,
    pub after: String,
}

#[derive(Deserialize)]
struct BookTable {
    id: String,
    columns: Vec<BookColumn>,
}

#[derive(Deserialize)]
struct BookColumn {
    id: String,
    kind: String,
}

#[derive(Deserialize)]
struct Book {
    tables: Vec<BookTable>,
}

fn hash<T: Hash + ?Sized>(value: &T) -> u64 {
    // SipHash with fixed keys: the same on every run, and collisions between
    // different cells are negligible at a million rows.
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

/// Which columns name a row: `id` if present, else every non-count column.
fn key_columns(book: Option<&BookTable>, header: &[String]) -> Vec<usize> {
    if let Some(i) = header.iter().position(|h| h == "id") {
        return vec![i];
    }
    let count = |name: &str| {
        name == SUPPRESSED_COLUMN
            || book.is_some_and(|b| {
                b.columns
                    .iter()
                    .any(|c| c.id == name && c.kind == "integer")
            })
    };
    (0..header.len()).filter(|&i| !count(&header[i])).collect()
}

/// Calls `each(key, cells)` for every row of a CSV, streaming; returns its
/// header, or `None` if it is not a readable CSV.
fn each_row(
    bytes: impl std::io::Read,
    book: Option<&BookTable>,
    mut each: impl FnMut(String, &csv::StringRecord),
) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = reader.headers().ok()?.iter().map(str::to_owned).collect();
    let keys = key_columns(book, &header);
    // Occurrences per key hash: a key that repeats (a table without a unique
    // key) is told apart by its occurrence.
    let mut seen: HashMap<u64, u32> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let mut n = 0usize;
    while reader.read_record(&mut record).ok()? {
        n += 1;
        let mut key = if keys.is_empty() {
            format!("row {n}")
        } else {
            keys.iter()
                .map(|&i| format!("{}={}", header[i], record.get(i).unwrap_or("")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let count = seen.entry(hash(key.as_str())).or_insert(0);
        *count += 1;
        if *count > 1 {
            key.push_str(&format!(" #{count}"));
        }
        each(key, &record);
    }
    Some(header)
}

fn header_of(bytes: impl std::io::Read) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    Some(reader.headers().ok()?.iter().map(str::to_owned).collect())
}

/// Opens a file of a release for reading, if it has it.
pub type Open<'a> = dyn Fn(&str) -> Option<Box<dyn std::io::Read + 'a>> + Sync + 'a;

/// One side of a comparison: opens a table's CSV (each call reads it anew)
/// and its codebook entry.
type Side<'a> = Option<(&'a Opener<'a>, Option<&'a BookTable>)>;

/// Opens one table's CSV.
type Opener<'a> = dyn Fn() -> Option<Box<dyn std::io::Read + 'a>> + 'a;

fn count_rows((open, book): (&Opener<'_>, Option<&BookTable>)) -> u64 {
    let mut n = 0u64;
    if let Some(r) = open() {
        each_row(r, book, |_, _| n += 1);
    }
    n
}

fn codebook(bytes: Option<&[u8]>) -> BTreeMap<String, BookTable> {
    bytes
        .and_then(|b| serde_json::from_slice::<Book>(b).ok())
        .map(|b| b.tables.into_iter().map(|t| (t.id.clone(), t)).collect())
        .unwrap_or_default()
}

fn compare_table<'a>(id: &str, old: Side<'a>, new: Side<'a>) -> TableChange {
    let mut change = TableChange {
        table: id.to_owned(),
        status: Status::Unchanged,
        rows_before: 0,
        rows_after: 0,
        rows_added: 0,
        rows_removed: 0,
        rows_changed: 0,
        cells_changed: 0,
        examples: Vec::new(),
    };
    let (old, new) = match (old, new) {
        (None, Some(new)) => {
            change.status = Status::New;
            change.rows_after = count_rows(new);
            change.rows_added = change.rows_after;
            return change;
        }
        (Some(old), None) => {
            change.status = Status::Removed;
            change.rows_before = count_rows(old);
            change.rows_removed = change.rows_before;
            return change;
        }
        (Some(old), Some(new)) => (old, new),
        (None, None) => return change,
    };
    // Old rows as cell hashes (and values for small tables), by key hash.
    let small = count_rows(old) <= EXAMPLE_TABLE_ROWS as u64;
    // A million rows: the key hashes map to a row number, and the rows' cell
    // hashes lie side by side in one array (no allocation per row).
    let width = old.0().and_then(header_of).map_or(0, |h| h.len());
    let mut before: HashMap<u64, u32> = HashMap::new();
    let mut cells: Vec<u64> = Vec::new();
    let mut old_values: Vec<Box<[String]>> = Vec::new();
    let empty_hash = hash("");
    let mut rows_read = 0u32;
    let Some(old_header) = old.0().and_then(|r| {
        each_row(r, old.1, |key, record| {
            let row = rows_read;
            rows_read = rows_read.saturating_add(1);
            cells.extend((0..width).map(|j| record.get(j).map_or(empty_hash, hash)));
            if small {
                old_values.push(record.iter().map(str::to_owned).collect());
            }
            if let Some(earlier) = before.insert(hash(key.as_str()), row) {
                // Never expected (keys are made unique): keep the first.
                before.insert(hash(key.as_str()), earlier);
            }
        })
    }) else {
        return change;
    };
    change.rows_before = before.len() as u64;
    let Some(new_header) = new.0().and_then(header_of) else {
        return change;
    };
    // Columns are matched by name, so a column added or dropped shows as
    // every cell of it changing from or to empty.
    let mut columns = old_header.clone();
    columns.extend(
        new_header
            .iter()
            .filter(|h| !old_header.contains(h))
            .cloned(),
    );
    let at = |header: &[String], name: &str| header.iter().position(|h| h == name);
    let old_at: Vec<Option<usize>> = columns.iter().map(|c| at(&old_header, c)).collect();
    let new_at: Vec<Option<usize>> = columns.iter().map(|c| at(&new_header, c)).collect();
    let empty = hash("");
    let mut matched = 0u64;
    let Some(new_rows) = new.0() else {
        return change;
    };
    each_row(new_rows, new.1, |key, record| {
        change.rows_after += 1;
        let Some(row) = before.remove(&hash(key.as_str())) else {
            change.rows_added += 1;
            return;
        };
        matched += 1;
        let at = row as usize * width;
        let hashes = cells.get(at..at + width).unwrap_or(&[]);
        let values = old_values.get(row as usize);
        let mut differs = false;
        for (i, name) in columns.iter().enumerate() {
            let was = old_at[i]
                .and_then(|j| hashes.get(j).copied())
                .unwrap_or(empty);
            let now = new_at[i].and_then(|j| record.get(j)).unwrap_or("");
            if was == hash(now) {
                continue;
            }
            differs = true;
            change.cells_changed += 1;
            if change.examples.len() < EXAMPLES
                && let Some(values) = values
            {
                change.examples.push(CellChange {
                    row: key.clone(),
                    column: name.clone(),
                    before: old_at[i]
                        .and_then(|j| values.get(j).cloned())
                        .unwrap_or_default(),
                    after: now.to_owned(),
                });
            }
        }
        if differs {
            change.rows_changed += 1;
        }
    });
    change.rows_removed = change.rows_before - matched;
    if change.rows_added + change.rows_removed + change.rows_changed > 0 {
        change.status = Status::Changed;
    }
    change
}

/// Compares the tables of the release in `previous` (if any) with `files`.
pub fn compare(
    previous: Option<&Path>,
    open_new: &Open<'_>,
    released: &str,
    previous_released: Option<String>,
    previous_manifest: Option<String>,
) -> Changes {
    let read_old = |rel: &str| previous.and_then(|dir| std::fs::read(dir.join(rel)).ok());
    let open_old = |rel: &str| -> Option<Box<dyn std::io::Read>> {
        let f = std::fs::File::open(previous?.join(rel)).ok()?;
        Some(Box::new(std::io::BufReader::new(f)))
    };
    let old_book = codebook(read_old(CODEBOOK_JSON).as_deref());
    let new_book = codebook(
        open_new(CODEBOOK_JSON)
            .and_then(|mut r| {
                let mut b = Vec::new();
                r.read_to_end(&mut b).ok().map(|_| b)
            })
            .as_deref(),
    );
    let mut ids: Vec<&String> = old_book.keys().chain(new_book.keys()).collect();
    ids.sort();
    ids.dedup();
    let one = |id: &str| {
        let path = csv_path(id);
        let old_open = || open_old(&path);
        let new_open = || open_new(&path);
        let old = (old_book.contains_key(id) && open_old(&path).is_some())
            .then_some((&old_open as &Opener<'_>, old_book.get(id)));
        let new = (new_book.contains_key(id) && open_new(&path).is_some())
            .then_some((&new_open as &Opener<'_>, new_book.get(id)));
        compare_table(id, old, new)
    };
    let tables = in_parallel(&ids, &one);
    Changes {
        format: CHANGES_FORMAT.into(),
        released: released.to_owned(),
        previous_released,
        previous_manifest,
        tables,
    }
}

/// Threads comparing tables at once (pub4): the record's two big tables take
/// most of the time, each on a core of its own.
const COMPARING: usize = 2;

/// `compare_one` of every table, in the order of `ids`, on `COMPARING`
/// threads taking the next table as each finishes.
fn in_parallel(
    ids: &[&String],
    compare_one: &(dyn Fn(&str) -> TableChange + Sync),
) -> Vec<TableChange> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, TableChange)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..COMPARING)
            .map(|_| {
                std::thread::Builder::new()
                    .name("release-compare".into())
                    .spawn_scoped(scope, || {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(id) = ids.get(i) else { break };
                            mine.push((i, compare_one(id)));
                        }
                        mine
                    })
            })
            .collect();
        // A worker that could not start leaves its tables to this thread.
        workers
            .into_iter()
            .flat_map(|w| w.ok().and_then(|w| w.join().ok()).unwrap_or_default())
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    let mut done = done.into_iter().peekable();
    // A table a stopped worker did not hand back is compared here.
    (0..ids.len())
        .map(|i| match done.next_if(|(j, _)| *j == i) {
            Some((_, t)) => t,
            None => compare_one(ids[i]),
        })
        .collect()
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl Changes {
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Whether any number differs from the previous release.
    pub fn any(&self) -> bool {
        self.tables.iter().any(|t| t.status != Status::Unchanged)
    }

    /// An HTML fragment (one `<section>`) in one language, for a page of the
    /// site to include; every value is escaped.
    pub fn html(&self, lang: Lang) -> String {
        let ru = lang == Lang::Ru;
        let t = |r: &'static str, e: &'static str| if ru { r } else { e };
        let mut s = String::from("<section class=\"changes\">\n");
        s.push_str(&format!(
            "<h2>{}</h2>\n",
            t("Что изменилось в числах", "What changed in the numbers")
        ));
        match (&self.previous_released, &self.previous_manifest) {
            (Some(day), Some(hash)) => s.push_str(&format!(
                "<p>{} {} ({} <code>{}</code>).</p>\n",
                t(
                    "По сравнению с предыдущим выпуском от",
                    "Compared with the previous release of"
                ),
                escape(day),
                t("SHA-256 его manifest.json", "SHA-256 of its manifest.json"),
                // In groups of 16, so a narrow screen can wrap it.
                escape(
                    &hash
                        .as_bytes()
                        .chunks(16)
                        .map(String::from_utf8_lossy)
                        .collect::<Vec<_>>()
                        .join(" ")
                )
            )),
            _ => s.push_str(&format!(
                "<p>{}</p>\n",
                t(
                    "Это первый выпуск: сравнивать не с чем.",
                    "This is the first release: there is nothing to compare with."
                )
            )),
        }
        if self.previous_manifest.is_some() && !self.any() {
            s.push_str(&format!(
                "<p>{}</p>\n",
                t("Ни одно число не изменилось.", "No number changed.")
            ));
        }
        // Three columns, so the table fits a phone's width.
        s.push_str(&format!(
            "<table>\n<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>\n",
            t("Таблица", "Table"),
            t("Строк было → стало", "Rows before → after"),
            t("Изменения", "Changes"),
        ));
        for c in &self.tables {
            let what = if c.status == Status::Unchanged {
                t("нет", "none").to_owned()
            } else if ru {
                format!(
                    "добавлено строк: {}, удалено: {}, изменено: {} (ячеек: {})",
                    c.rows_added, c.rows_removed, c.rows_changed, c.cells_changed
                )
            } else {
                format!(
                    "rows added: {}, removed: {}, changed: {} ({} cells)",
                    c.rows_added, c.rows_removed, c.rows_changed, c.cells_changed
                )
            };
            s.push_str(&format!(
                "<tr><th scope=\"row\"><a href=\"data/{id}.csv\">{id}</a></th><td>{} → {}</td><td>{what}</td></tr>\n",
                c.rows_before,
                c.rows_after,
                id = escape(&c.table),
            ));
        }
        s.push_str("</tbody>\n</table>\n");
        let examples: Vec<(&str, &CellChange)> = self
            .tables
            .iter()
            .flat_map(|c| c.examples.iter().map(move |e| (c.table.as_str(), e)))
            .collect();
        if !examples.is_empty() {
            s.push_str(&format!(
                "<h3>{}</h3>\n<ul>\n",
                t("Изменённые ячейки", "Changed cells")
            ));
            for (table, e) in examples {
                s.push_str(&format!(
                    "<li><code>{}</code>: {}, <code>{}</code>: {} → {}</li>\n",
                    escape(table),
                    escape(&e.row),
                    escape(&e.column),
                    show(&e.before, ru),
                    show(&e.after, ru),
                ));
            }
            s.push_str("</ul>\n");
        }
        s.push_str("</section>\n");
        s
    }

    /// A page of its own (Russian, then English), linked from the site and
    /// readable without it.
    pub fn page(&self) -> String {
        format!(
            "<!doctype html>\n<html lang=\"ru\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'self'; form-action 'none'\">\n\
             <title>Изменения / Changes {day}</title>\n\
             <link rel=\"stylesheet\" href=\"static/style.css\">\n</head>\n<body>\n<main>\n\
             {ru}<div lang=\"en\">\n{en}</div>\n<p><a href=\"changes.json\">changes.json</a></p>\n\
             </main>\n</body>\n</html>\n",
            day = escape(&self.released),
            ru = self.html(Lang::Ru),
            en = self.html(Lang::En),
        )
    }
}

fn show(value: &str, ru: bool) -> String {
    if value.is_empty() {
        if ru { "(пусто)" } else { "(empty)" }.to_owned()
    } else {
        escape(value)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn book(integer: &[&str]) -> BookTable {
        BookTable {
            id: "t".into(),
            columns: integer
                .iter()
                .map(|c| BookColumn {
                    id: (*c).into(),
                    kind: "integer".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn counts_rows_added_removed_and_cells_changed() {
        let b = book(&["n"]);
        let old = "month,n,suppressed_cells\n2024-01,5,\n2024-02,7,\n2024-03,,n\n";
        let new = "month,n,suppressed_cells\n2024-01,5,\n2024-02,8,\n2024-04,1,\n";
        let open_old = || Some(Box::new(old.as_bytes()) as Box<dyn std::io::Read>);
        let open_new = || Some(Box::new(new.as_bytes()) as Box<dyn std::io::Read>);
        let c = compare_table(
            "t",
            Some((&open_old, Some(&b))),
            Some((&open_new, Some(&b))),
        );
        assert_eq!(c.status, Status::Changed);
        assert_eq!((c.rows_added, c.rows_removed, c.rows_changed), (1, 1, 1));
        assert_eq!(c.cells_changed, 1);
        assert_eq!(
            c.examples,
            [CellChange {
                row: "month=2024-02".into(),
                column: "n".into(),
                before: "7".into(),
                after: "8".into()
            }]
        );
        let one = || Some(Box::new("month,n\n2024-01,5\n".as_bytes()) as Box<dyn std::io::Read>);
        let same = compare_table("t", Some((&one, Some(&b))), Some((&one, Some(&b))));
        assert_eq!(same.status, Status::Unchanged);
        // Escaped in the page.
        let changes = Changes {
            format: CHANGES_FORMAT.into(),
            released: "2026-12-07".into(),
            previous_released: Some("2026-12-01".into()),
            previous_manifest: Some("ab".into()),
            tables: vec![TableChange {
                examples: vec![CellChange {
                    row: "place=<script>".into(),
                    column: "n".into(),
                    before: "1".into(),
                    after: "2".into(),
                }],
                ..c
            }],
        };
        let html = changes.html(Lang::En);
        assert!(html.contains("place=&lt;script&gt;"), "{html}");
    }
}
