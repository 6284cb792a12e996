//! The tables of a release: what the pages show, what the open data holds and
//! what the codebook describes, in one shape. The site builder produces them
//! (already suppressed where the rules say so); the open-data writers turn the
//! same tables into CSV, JSON and Parquet, so pages and files cannot disagree.

use serde::Serialize;

/// A text a person reads, in both languages of the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub ru: String,
    pub en: String,
}

impl Text {
    pub fn new(ru: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            ru: ru.into(),
            en: en.into(),
        }
    }
}

/// What a column holds, for the codebook and the typed formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Free text (a place, a public name).
    Text,
    /// A count or an amount.
    Integer,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, as precise as the record is.
    Date,
    /// A code from a vocabulary (`vocabulary` names it).
    Code,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The column's name in CSV, JSON and Parquet (`snake_case`, ASCII).
    pub id: String,
    pub label: Text,
    pub description: Text,
    pub kind: ColumnKind,
    /// The vocabulary a `Code` column draws from (`regions`, `event_kinds`, ...).
    pub vocabulary: Option<String>,
}

/// One cell. `Suppressed` is a count withheld by the small-number rule (see
/// docs/methodology.md); `Missing` is what the record does not say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Int(u64),
    Suppressed,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Table {
    /// File stem of its open-data files, e.g. `detentions-by-month`.
    pub id: String,
    pub title: Text,
    pub description: Text,
    pub columns: Vec<Column>,
    /// Each row has one cell per column, in order.
    pub rows: Vec<Vec<Cell>>,
}
