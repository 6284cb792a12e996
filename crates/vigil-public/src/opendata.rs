//! Open data: every table of a release as CSV and JSON, the record's public
//! tables also as Parquet, a codebook (JSON and Markdown) and the licence.
//! docs/opendata.md describes the formats for the people who use them.
//!
//! Suppressed cells (counts withheld by the small-number rule) are written
//! empty (CSV) or null (JSON, Parquet), exactly as a missing value is; the
//! last column of every table, `suppressed_cells`, names the columns of that
//! row that were suppressed (separated by `;`, empty when none), so "withheld"
//! and "not known" can never be confused.
//!
//! Every byte depends only on the tables and the licence: no clock, no
//! random order (maps are sorted), so two builds of one record compare equal.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;

use parquet::file::writer::SerializedFileWriter;

use serde::Serialize;
use vigil_core::release::Licence;
use vigil_record::vocab::Vocabularies;

use crate::table::{Cell, Column, ColumnKind, Table, Text};

/// The marker column every table ends with.
pub const SUPPRESSED_COLUMN: &str = "suppressed_cells";
/// The tables that hold the record's public part (one row per action, event
/// or consenting person); they are also written as Parquet.
pub const RECORD_TABLES: [&str; 3] = ["actions", "events", "persons-public"];
pub const CODEBOOK_JSON: &str = "data/codebook.json";
pub const CODEBOOK_MD: &str = "data/codebook.md";
pub const LICENCE_FILE: &str = "LICENSE";
/// Format names written into the files, so a reader can tell versions apart.
pub const TABLE_FORMAT: &str = "vigil-table-v1";
pub const CODEBOOK_FORMAT: &str = "vigil-codebook-v1";

/// The file names of one table's open data.
pub fn csv_path(id: &str) -> String {
    format!("data/{id}.csv")
}
pub fn json_path(id: &str) -> String {
    format!("data/{id}.json")
}
pub fn parquet_path(id: &str) -> String {
    format!("data/{id}.parquet")
}

fn is_record_table(t: &Table) -> bool {
    RECORD_TABLES.contains(&t.id.as_str())
}

/// The open-data files of `tables` with the built-in vocabularies.
pub fn files(tables: &[Table], licence: &Licence) -> Vec<(String, Vec<u8>)> {
    match Vocabularies::built_in() {
        Ok(v) => files_with(tables, licence, &v),
        // The built-in files are compiled in and tested; without them the
        // codebook still lists every column, only without labels.
        Err(_) => files_with_vocabularies(tables, licence, None),
    }
}

/// The same, with the vocabularies a desk uses (built-in plus its own).
pub fn files_with(
    tables: &[Table],
    licence: &Licence,
    vocabularies: &Vocabularies,
) -> Vec<(String, Vec<u8>)> {
    files_with_vocabularies(tables, licence, Some(vocabularies))
}

fn files_with_vocabularies(
    tables: &[Table],
    licence: &Licence,
    vocabularies: Option<&Vocabularies>,
) -> Vec<(String, Vec<u8>)> {
    files_around(tables, licence, vocabularies, &BTreeMap::new())
}

/// A record table whose files were written row by row (see [`TableFiles`]):
/// how many rows it has and which files hold them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Streamed {
    pub rows: u64,
    pub files: Vec<String>,
}

/// The open-data files of `tables` except those already `streamed` (whose
/// entries in `tables` carry no rows): the codebook counts and lists them all.
pub fn files_around(
    tables: &[Table],
    licence: &Licence,
    vocabularies: Option<&Vocabularies>,
    streamed: &BTreeMap<String, Streamed>,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for t in tables.iter().filter(|t| !streamed.contains_key(&t.id)) {
        let parquet = is_record_table(t).then(Vec::new);
        // Writing into memory cannot fail but for a table that cannot be
        // encoded as Parquet (never expected: the schema is built from the
        // same columns); its CSV and JSON are then written alone.
        let written = TableFiles::new(t, Vec::new(), Vec::new(), parquet.clone())
            .and_then(|mut w| {
                for row in &t.rows {
                    w.push(row.clone())?;
                }
                w.finish()
            })
            .or_else(|_| {
                TableFiles::new(t, Vec::new(), Vec::new(), None).and_then(|mut w| {
                    for row in &t.rows {
                        w.push(row.clone())?;
                    }
                    w.finish()
                })
            });
        if let Ok((csv, json, parquet, _)) = written {
            out.push((csv_path(&t.id), csv));
            out.push((json_path(&t.id), json));
            if let Some(bytes) = parquet {
                out.push((parquet_path(&t.id), bytes));
            }
        }
    }
    let mut written: BTreeSet<String> = out.iter().map(|(p, _)| p.clone()).collect();
    for s in streamed.values() {
        written.extend(s.files.iter().cloned());
    }
    let book = codebook(tables, licence, vocabularies, &written, streamed);
    out.push((CODEBOOK_JSON.into(), json_bytes(&book)));
    out.push((CODEBOOK_MD.into(), codebook_markdown(&book).into_bytes()));
    out.push((LICENCE_FILE.into(), licence_text(licence).into_bytes()));
    out
}

fn json_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings and numbers always serialise.
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The ids of the suppressed columns of one row, `;`-separated.
fn suppressed_marker(columns: &[Column], row: &[Cell]) -> String {
    columns
        .iter()
        .zip(row)
        .filter(|(_, c)| matches!(c, Cell::Suppressed))
        .map(|(col, _)| col.id.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

#[derive(Serialize)]
struct ColumnDoc<'a> {
    id: &'a str,
    label: &'a Text,
    description: &'a Text,
    kind: ColumnKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    vocabulary: Option<&'a str>,
}

fn column_docs(t: &Table) -> Vec<ColumnDoc<'_>> {
    t.columns
        .iter()
        .map(|c| ColumnDoc {
            id: &c.id,
            label: &c.label,
            description: &c.description,
            kind: c.kind,
            vocabulary: c.vocabulary.as_deref(),
        })
        .collect()
}

/// One row in JSON: its cells, then the marker.
struct JsonRow<'a> {
    columns: &'a [Column],
    cells: &'a [Cell],
}

impl Serialize for JsonRow<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.cells.len() + 1))?;
        for c in self.cells {
            seq.serialize_element(c)?;
        }
        seq.serialize_element(&suppressed_marker(self.columns, self.cells))?;
        seq.end()
    }
}

fn io_err(e: impl std::error::Error + Send + Sync + 'static) -> std::io::Error {
    std::io::Error::other(e)
}

/// One table's CSV, JSON and (for the record's tables) Parquet, written row by
/// row into any writers: memory for the small tables, files for a record of a
/// million events. The bytes are the same whichever way the rows come.
pub struct TableFiles<W: Write + Send> {
    columns: Vec<Column>,
    csv: csv::Writer<W>,
    json: W,
    parquet: Option<SerializedFileWriter<W>>,
    /// Rows waiting for the next Parquet row group.
    group: Vec<Vec<Cell>>,
    /// Or batches of rows (`push_batch`), shared with the page's writer; the
    /// first `skip` rows of the first are already in a row group.
    batches: Vec<RowBatch>,
    skip: usize,
    /// Rows per Parquet row group (`ROW_GROUP`; smaller in tests).
    group_rows: usize,
    rows: u64,
}

/// Rows shared between the threads that write them (publish.rs).
pub type RowBatch = std::sync::Arc<Vec<Vec<Cell>>>;

impl<W: Write + Send> TableFiles<W> {
    /// Starts the files of `t` (its columns and texts; its rows are ignored).
    pub fn new(t: &Table, csv: W, mut json: W, parquet: Option<W>) -> std::io::Result<Self> {
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(csv);
        let mut header: Vec<&str> = t.columns.iter().map(|c| c.id.as_str()).collect();
        header.push(SUPPRESSED_COLUMN);
        csv.write_record(&header).map_err(io_err)?;
        let head = JsonHead {
            format: TABLE_FORMAT,
            id: &t.id,
            title: &t.title,
            description: &t.description,
            header,
            columns: column_docs(t),
        };
        // `{...}` without its closing brace, then the rows: the same bytes as
        // serialising the whole table at once.
        let mut bytes = serde_json::to_vec(&head).map_err(io_err)?;
        bytes.pop();
        bytes.extend_from_slice(b",\"rows\":[");
        json.write_all(&bytes)?;
        let parquet = match parquet {
            None => None,
            Some(w) => Some(parquet_writer(t, w).map_err(io_err)?),
        };
        Ok(TableFiles {
            columns: t.columns.clone(),
            csv,
            json,
            parquet,
            group: Vec::new(),
            batches: Vec::new(),
            skip: 0,
            group_rows: ROW_GROUP,
            rows: 0,
        })
    }

    /// Adds one row (one cell per column).
    pub fn push(&mut self, row: Vec<Cell>) -> std::io::Result<()> {
        if !self.batches.is_empty() {
            return self.push_batch(std::sync::Arc::new(vec![row]));
        }
        self.text_row(&row)?;
        if let Some(w) = &mut self.parquet {
            self.group.push(row);
            if self.group.len() == self.group_rows {
                row_group(w, &self.columns, &self.group).map_err(io_err)?;
                self.group.clear();
            }
        }
        Ok(())
    }

    /// Adds rows without copying them (the same bytes as pushing each).
    pub fn push_batch(&mut self, batch: RowBatch) -> std::io::Result<()> {
        for row in batch.iter() {
            self.text_row(row)?;
        }
        if self.parquet.is_none() {
            return Ok(());
        }
        if !self.group.is_empty() {
            let held = std::mem::take(&mut self.group);
            self.batches.push(std::sync::Arc::new(held));
        }
        self.batches.push(batch);
        self.full_groups(false)
    }

    /// Writes the held batches' rows as row groups of `ROW_GROUP` rows, and
    /// the rest as a last, smaller one when `last`.
    fn full_groups(&mut self, last: bool) -> std::io::Result<()> {
        let Some(w) = &mut self.parquet else {
            return Ok(());
        };
        loop {
            let held: usize = self.batches.iter().map(|b| b.len()).sum::<usize>() - self.skip;
            if held == 0 || (held < self.group_rows && !last) {
                return Ok(());
            }
            let take = held.min(self.group_rows);
            let rows: Vec<&Vec<Cell>> = self
                .batches
                .iter()
                .flat_map(|b| b.iter())
                .skip(self.skip)
                .take(take)
                .collect();
            row_group(w, &self.columns, &rows).map_err(io_err)?;
            let mut used = self.skip + take;
            while let Some(first) = self.batches.first() {
                if first.len() > used {
                    break;
                }
                used -= first.len();
                self.batches.remove(0);
            }
            self.skip = used;
        }
    }

    fn text_row(&mut self, row: &[Cell]) -> std::io::Result<()> {
        let mut record = csv::ByteRecord::new();
        for cell in row {
            match cell {
                Cell::Text(s) => record.push_field(s.as_bytes()),
                Cell::Int(n) => record.push_field(n.to_string().as_bytes()),
                Cell::Suppressed | Cell::Missing => record.push_field(b""),
            }
        }
        record.push_field(suppressed_marker(&self.columns, row).as_bytes());
        self.csv.write_byte_record(&record).map_err(io_err)?;
        if self.rows > 0 {
            self.json.write_all(b",")?;
        }
        serde_json::to_writer(
            &mut self.json,
            &JsonRow {
                columns: &self.columns,
                cells: row,
            },
        )
        .map_err(io_err)?;
        self.rows += 1;
        Ok(())
    }

    /// Ends the files: (CSV, JSON, Parquet, rows).
    pub fn finish(mut self) -> std::io::Result<(W, W, Option<W>, u64)> {
        self.json.write_all(b"]}\n")?;
        self.full_groups(true)?;
        let parquet = match self.parquet {
            None => None,
            Some(mut w) => {
                if !self.group.is_empty() {
                    row_group(&mut w, &self.columns, &self.group).map_err(io_err)?;
                }
                Some(w.into_inner().map_err(io_err)?)
            }
        };
        let csv = self.csv.into_inner().map_err(|e| io_err(e.into_error()))?;
        Ok((csv, self.json, parquet, self.rows))
    }
}

#[derive(Serialize)]
struct JsonHead<'a> {
    format: &'static str,
    id: &'a str,
    title: &'a Text,
    description: &'a Text,
    /// The ids of the row arrays' positions, the marker last.
    header: Vec<&'a str>,
    columns: Vec<ColumnDoc<'a>>,
}

/// Rows per Parquet row group: bounds the memory of one column's batch.
const ROW_GROUP: usize = 131_072;

fn parquet_writer<W: Write + Send>(
    t: &Table,
    out: W,
) -> Result<SerializedFileWriter<W>, parquet::errors::ParquetError> {
    use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
    use parquet::file::properties::WriterProperties;
    use parquet::schema::types::Type;

    let mut fields = Vec::with_capacity(t.columns.len() + 1);
    let text_field = |name: &str| {
        Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
            .with_repetition(Repetition::OPTIONAL)
            .with_logical_type(Some(LogicalType::String))
            .build()
    };
    for c in &t.columns {
        let field = match c.kind {
            ColumnKind::Integer => Type::primitive_type_builder(&c.id, Physical::INT64)
                .with_repetition(Repetition::OPTIONAL)
                .build()?,
            ColumnKind::Text | ColumnKind::Date | ColumnKind::Code => text_field(&c.id)?,
        };
        fields.push(Arc::new(field));
    }
    fields.push(Arc::new(text_field(SUPPRESSED_COLUMN)?));
    let schema = Arc::new(
        Type::group_type_builder("schema")
            .with_fields(fields)
            .build()?,
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by("vigil".into())
            .build(),
    );
    SerializedFileWriter::new(out, schema, props)
}

fn row_group<W: Write + Send, R: AsRef<[Cell]>>(
    writer: &mut SerializedFileWriter<W>,
    columns: &[Column],
    rows: &[R],
) -> Result<(), parquet::errors::ParquetError> {
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    let mut group = writer.next_row_group()?;
    let mut index = 0;
    while let Some(mut column) = group.next_column()? {
        let mut levels = Vec::with_capacity(rows.len());
        if index < columns.len() && columns[index].kind == ColumnKind::Integer {
            let mut values = Vec::with_capacity(rows.len());
            for row in rows {
                match row.as_ref().get(index) {
                    Some(Cell::Int(n)) => {
                        values.push(i64::try_from(*n).unwrap_or(i64::MAX));
                        levels.push(1);
                    }
                    _ => levels.push(0),
                }
            }
            column
                .typed::<Int64Type>()
                .write_batch(&values, Some(&levels), None)?;
        } else {
            let mut values = Vec::with_capacity(rows.len());
            for row in rows {
                let text = if index == columns.len() {
                    Some(suppressed_marker(columns, row.as_ref()))
                } else {
                    match row.as_ref().get(index) {
                        Some(Cell::Text(s)) => Some(s.clone()),
                        Some(Cell::Int(n)) => Some(n.to_string()),
                        _ => None,
                    }
                };
                match text {
                    Some(s) => {
                        values.push(ByteArray::from(s.into_bytes()));
                        levels.push(1);
                    }
                    None => levels.push(0),
                }
            }
            column
                .typed::<ByteArrayType>()
                .write_batch(&values, Some(&levels), None)?;
        }
        column.close()?;
        index += 1;
    }
    group.close()?;
    Ok(())
}

#[derive(Serialize)]
struct VocabEntry<'a> {
    code: &'a str,
    ru: &'a str,
    en: &'a str,
}

#[derive(Serialize)]
struct TableDoc<'a> {
    id: &'a str,
    title: &'a Text,
    description: &'a Text,
    rows: u64,
    files: Vec<String>,
    columns: Vec<ColumnDoc<'a>>,
}

#[derive(Serialize)]
struct Codebook<'a> {
    format: &'static str,
    licence: &'a Licence,
    suppression: Suppression,
    tables: Vec<TableDoc<'a>>,
    /// Each vocabulary a column names: code with its Russian and English label.
    vocabularies: BTreeMap<String, Vec<VocabEntry<'a>>>,
}

#[derive(Serialize)]
struct Suppression {
    marker_column: &'static str,
    explanation: Text,
}

fn suppression() -> Suppression {
    Suppression {
        marker_column: SUPPRESSED_COLUMN,
        explanation: Text::new(
            "Число меньше порога (см. методику) не публикуется, как и числа, из которых его можно вычислить. \
             Такая ячейка пуста (CSV) или null (JSON, Parquet), а последний столбец suppressed_cells \
             перечисляет через «;» столбцы этой строки, скрытые по этому правилу. Пустая ячейка без отметки \
             значит «неизвестно».",
            "A count below the threshold (see the methodology) is not published, nor are counts it could be \
             worked out from. Such a cell is empty (CSV) or null (JSON, Parquet), and the last column, \
             suppressed_cells, lists the columns of that row withheld by this rule, separated by ';'. An empty \
             cell without that mark means 'not known'.",
        ),
    }
}

fn codebook<'a>(
    tables: &'a [Table],
    licence: &'a Licence,
    vocabularies: Option<&'a Vocabularies>,
    written: &BTreeSet<String>,
    streamed: &BTreeMap<String, Streamed>,
) -> Codebook<'a> {
    let mut names = BTreeSet::new();
    let docs = tables
        .iter()
        .map(|t| {
            for c in &t.columns {
                if let Some(v) = &c.vocabulary {
                    names.insert(v.clone());
                }
            }
            TableDoc {
                id: &t.id,
                title: &t.title,
                description: &t.description,
                rows: streamed.get(&t.id).map_or(t.rows.len() as u64, |s| s.rows),
                files: [csv_path(&t.id), json_path(&t.id), parquet_path(&t.id)]
                    .into_iter()
                    .filter(|p| written.contains(p.as_str()))
                    .collect(),
                columns: column_docs(t),
            }
        })
        .collect();
    let mut vocab = BTreeMap::new();
    for name in names {
        let entries = vocabularies
            .and_then(|v| v.get(&name))
            .map(|v| {
                v.entries
                    .iter()
                    .map(|e| VocabEntry {
                        code: &e.code,
                        ru: &e.ru,
                        en: &e.en,
                    })
                    .collect()
            })
            .unwrap_or_default();
        vocab.insert(name, entries);
    }
    Codebook {
        format: CODEBOOK_FORMAT,
        licence,
        suppression: suppression(),
        tables: docs,
        vocabularies: vocab,
    }
}

fn kind_text(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Text => "текст / text",
        ColumnKind::Integer => "целое / integer",
        ColumnKind::Date => "дата / date (YYYY, YYYY-MM, YYYY-MM-DD)",
        ColumnKind::Code => "код / code",
    }
}

/// Markdown table cells: no line breaks, no unescaped pipes.
fn md(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn codebook_markdown(book: &Codebook<'_>) -> String {
    let mut s = String::new();
    s.push_str("# Кодовая книга открытых данных / Open data codebook\n\n");
    s.push_str(&format!(
        "Лицензия / Licence: [{}]({}) ({})\n\n",
        md(&book.licence.name),
        book.licence.url,
        md(&book.licence.id)
    ));
    for terms in [&book.licence.ru, &book.licence.en].into_iter().flatten() {
        s.push_str(&format!("{}\n\n", md(terms)));
    }
    s.push_str("## Скрытые ячейки / Suppressed cells\n\n");
    s.push_str(&format!(
        "{}\n\n{}\n\n",
        book.suppression.explanation.ru, book.suppression.explanation.en
    ));
    for t in &book.tables {
        s.push_str(&format!(
            "## `{}`: {} / {}\n\n{}\n\n{}\n\n",
            t.id,
            md(&t.title.ru),
            md(&t.title.en),
            md(&t.description.ru),
            md(&t.description.en)
        ));
        s.push_str(&format!(
            "Строк / rows: {}. Файлы / files: {}\n\n",
            t.rows,
            t.files
                .iter()
                .map(|f| format!("`{f}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        s.push_str(
            "| столбец / column | тип / kind | словарь / vocabulary | описание | description |\n",
        );
        s.push_str("|---|---|---|---|---|\n");
        for c in &t.columns {
            s.push_str(&format!(
                "| `{}` | {} | {} | {}: {} | {}: {} |\n",
                c.id,
                kind_text(c.kind),
                c.vocabulary.map(|v| format!("`{v}`")).unwrap_or_default(),
                md(&c.label.ru),
                md(&c.description.ru),
                md(&c.label.en),
                md(&c.description.en),
            ));
        }
        s.push_str(&format!(
            "| `{SUPPRESSED_COLUMN}` | текст / text | | скрытые столбцы строки, через «;» | the row's suppressed columns, ';'-separated |\n\n"
        ));
    }
    for (name, entries) in &book.vocabularies {
        s.push_str(&format!("## Словарь / vocabulary `{name}`\n\n"));
        s.push_str("| код / code | русский | English |\n|---|---|---|\n");
        for e in entries {
            s.push_str(&format!("| `{}` | {} | {} |\n", e.code, md(e.ru), md(e.en)));
        }
        s.push('\n');
    }
    s
}

fn licence_text(l: &Licence) -> String {
    format!(
        "Данные этого выпуска (папка data/ и числа на страницах) распространяются по лицензии\n\
         {name} ({id}): {url}\n\
         {ru}\n\
         \n\
         The data of this release (the data/ folder and the numbers on the pages) are licensed under\n\
         {name} ({id}): {url}\n\
         {en}\n",
        name = l.name,
        id = l.id,
        url = l.url,
        ru =
            l.ru.as_deref()
                .unwrap_or("При использовании укажите источник."),
        en =
            l.en.as_deref()
                .unwrap_or("Please credit the source when you use them."),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// pubfast: rows given in shared batches of any size (and mixed with single
    /// rows) make the same CSV, JSON and Parquet bytes as rows given one by
    /// one, across several Parquet row groups.
    #[test]
    fn batches_write_the_same_bytes_as_rows() {
        let t = &sample()[0];
        let group_rows = 1000;
        let rows: Vec<Vec<Cell>> = (0..2 * group_rows + 777)
            .map(|i| match i % 3 {
                0 => vec![Cell::Text(format!("RU-{i}")), Cell::Int(i as u64)],
                1 => vec![Cell::Missing, Cell::Suppressed],
                _ => vec![Cell::Text("x, \"y\"".into()), Cell::Missing],
            })
            .collect();
        let write = |batched: bool| {
            let mut f = TableFiles::new(t, Vec::new(), Vec::new(), Some(Vec::new())).unwrap();
            f.group_rows = group_rows;
            let mut rest = &rows[..];
            let mut size = 1;
            while !rest.is_empty() {
                let n = size.min(rest.len());
                if batched && size % 2 == 0 {
                    f.push_batch(std::sync::Arc::new(rest[..n].to_vec()))
                        .unwrap();
                } else {
                    for r in &rest[..n] {
                        f.push(r.clone()).unwrap();
                    }
                }
                rest = &rest[n..];
                size = size * 3 + 1;
            }
            let (csv, json, parquet, n) = f.finish().unwrap();
            assert_eq!(n, rows.len() as u64);
            (csv, json, parquet.unwrap())
        };
        let (one, other) = (write(false), write(true));
        assert!(one.0 == other.0, "CSV differs");
        assert!(one.1 == other.1, "JSON differs");
        assert!(one.2 == other.2, "Parquet differs");
    }

    pub(crate) fn sample() -> Vec<Table> {
        let col = |id: &str, kind, vocabulary: Option<&str>| Column {
            id: id.into(),
            label: Text::new(format!("{id} ru"), format!("{id} en")),
            description: Text::new("описание", "description"),
            kind,
            vocabulary: vocabulary.map(Into::into),
        };
        vec![
            Table {
                id: "detentions-by-region".into(),
                title: Text::new("Задержания по регионам", "Detentions by region"),
                description: Text::new("д", "d"),
                columns: vec![
                    col("region", ColumnKind::Code, Some("regions")),
                    col("detentions", ColumnKind::Integer, None),
                ],
                rows: vec![
                    vec![Cell::Text("RU-MOW".into()), Cell::Int(12)],
                    vec![Cell::Text("RU-SPE".into()), Cell::Suppressed],
                    vec![Cell::Text("RU-AD, \"x\"".into()), Cell::Missing],
                ],
            },
            Table {
                id: "events".into(),
                title: Text::new("События", "Events"),
                description: Text::new("д", "d"),
                columns: vec![
                    col("id", ColumnKind::Text, None),
                    col("date", ColumnKind::Date, None),
                    col("detained", ColumnKind::Integer, None),
                ],
                rows: vec![
                    vec![
                        Cell::Text("e1".into()),
                        Cell::Text("2024-03".into()),
                        Cell::Int(3),
                    ],
                    vec![Cell::Text("e2".into()), Cell::Missing, Cell::Missing],
                ],
            },
        ]
    }

    fn get<'a>(files: &'a [(String, Vec<u8>)], path: &str) -> &'a [u8] {
        &files.iter().find(|(p, _)| p == path).unwrap().1
    }

    #[test]
    fn csv_json_mark_suppressed_cells_apart_from_missing_ones() {
        let files = files(&sample(), &Licence::default());
        let csv = String::from_utf8(get(&files, "data/detentions-by-region.csv").to_vec()).unwrap();
        assert_eq!(
            csv,
            "region,detentions,suppressed_cells\nRU-MOW,12,\nRU-SPE,,detentions\n\"RU-AD, \"\"x\"\"\",,\n"
        );
        let json: serde_json::Value =
            serde_json::from_slice(get(&files, "data/detentions-by-region.json")).unwrap();
        assert_eq!(
            json["rows"][1],
            serde_json::json!(["RU-SPE", null, "detentions"])
        );
        assert_eq!(json["rows"][2][2], "");
        assert_eq!(json["header"][2], SUPPRESSED_COLUMN);
        // Parquet only for the record's tables.
        let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert!(names.contains(&"data/events.parquet"));
        assert!(!names.contains(&"data/detentions-by-region.parquet"));
        let book: serde_json::Value = serde_json::from_slice(get(&files, CODEBOOK_JSON)).unwrap();
        let regions = book["vocabularies"]["regions"].as_array().unwrap();
        assert!(
            regions
                .iter()
                .any(|e| e["code"] == "RU-MOW" && e["en"] == "Moscow")
        );
        assert_eq!(book["licence"]["id"], "CC-BY-4.0");
        let md = String::from_utf8(get(&files, CODEBOOK_MD).to_vec()).unwrap();
        assert!(md.contains("`detentions`") && md.contains("Moscow"), "{md}");
        let licence = String::from_utf8(get(&files, LICENCE_FILE).to_vec()).unwrap();
        assert!(licence.contains("CC-BY-4.0"));
        // The same tables give the same bytes.
        assert_eq!(files, super::files(&sample(), &Licence::default()));
    }

    #[test]
    fn parquet_reads_back_with_nulls_where_the_record_is_silent() {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let files = files(&sample(), &Licence::default());
        let bytes = bytes::Bytes::copy_from_slice(get(&files, "data/events.parquet"));
        let reader = SerializedFileReader::new(bytes).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 2);
        let rows: Vec<String> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap().to_string())
            .collect();
        assert_eq!(
            rows,
            [
                "{id: \"e1\", date: \"2024-03\", detained: 3, suppressed_cells: \"\"}",
                "{id: \"e2\", date: null, detained: null, suppressed_cells: \"\"}"
            ]
        );
    }
}
