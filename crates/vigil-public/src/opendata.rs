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
use std::sync::Arc;

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
    let mut out = Vec::new();
    for t in tables {
        out.push((csv_path(&t.id), csv(t)));
        out.push((json_path(&t.id), json(t)));
        if is_record_table(t) {
            // A table that cannot be encoded (never expected: the schema is
            // built from the same columns) is left out of Parquet only; its
            // CSV and JSON carry the same rows.
            if let Ok(bytes) = parquet(t) {
                out.push((parquet_path(&t.id), bytes));
            }
        }
    }
    let book = codebook(tables, licence, vocabularies, &out);
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

fn csv(t: &Table) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::with_capacity(64 * t.rows.len() + 256));
    let mut header: Vec<&str> = t.columns.iter().map(|c| c.id.as_str()).collect();
    header.push(SUPPRESSED_COLUMN);
    // Writing into a Vec cannot fail.
    let _ = w.write_record(&header);
    let mut record = csv::ByteRecord::new();
    for row in &t.rows {
        record.clear();
        for cell in row {
            match cell {
                Cell::Text(s) => record.push_field(s.as_bytes()),
                Cell::Int(n) => record.push_field(n.to_string().as_bytes()),
                Cell::Suppressed | Cell::Missing => record.push_field(b""),
            }
        }
        record.push_field(suppressed_marker(&t.columns, row).as_bytes());
        let _ = w.write_byte_record(&record);
    }
    w.into_inner().unwrap_or_default()
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

struct JsonRows<'a>(&'a Table);

impl Serialize for JsonRows<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.rows.iter().map(|cells| JsonRow {
            columns: &self.0.columns,
            cells,
        }))
    }
}

#[derive(Serialize)]
struct JsonTable<'a> {
    format: &'static str,
    id: &'a str,
    title: &'a Text,
    description: &'a Text,
    /// The ids of the row arrays' positions, the marker last.
    header: Vec<&'a str>,
    columns: Vec<ColumnDoc<'a>>,
    rows: JsonRows<'a>,
}

fn json(t: &Table) -> Vec<u8> {
    let mut header: Vec<&str> = t.columns.iter().map(|c| c.id.as_str()).collect();
    header.push(SUPPRESSED_COLUMN);
    let doc = JsonTable {
        format: TABLE_FORMAT,
        id: &t.id,
        title: &t.title,
        description: &t.description,
        header,
        columns: column_docs(t),
        rows: JsonRows(t),
    };
    // Compact: the record's tables have a row per event.
    let mut bytes = serde_json::to_vec(&doc).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Rows per Parquet row group: bounds the memory of one column's batch.
const ROW_GROUP: usize = 131_072;

fn parquet(t: &Table) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
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
    let mut writer = SerializedFileWriter::new(Vec::new(), schema, props)?;
    for rows in t.rows.chunks(ROW_GROUP) {
        let mut group = writer.next_row_group()?;
        let mut index = 0;
        while let Some(mut column) = group.next_column()? {
            let mut levels = Vec::with_capacity(rows.len());
            if index < t.columns.len() && t.columns[index].kind == ColumnKind::Integer {
                let mut values = Vec::with_capacity(rows.len());
                for row in rows {
                    match row.get(index) {
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
                    let text = if index == t.columns.len() {
                        Some(suppressed_marker(&t.columns, row))
                    } else {
                        match row.get(index) {
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
    }
    writer.into_inner()
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
    rows: usize,
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
    written: &[(String, Vec<u8>)],
) -> Codebook<'a> {
    let written: BTreeSet<&str> = written.iter().map(|(p, _)| p.as_str()).collect();
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
                rows: t.rows.len(),
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
         При использовании укажите источник.\n\
         \n\
         The data of this release (the data/ folder and the numbers on the pages) are licensed under\n\
         {name} ({id}): {url}\n\
         Please credit the source when you use them.\n",
        name = l.name,
        id = l.id,
        url = l.url
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
