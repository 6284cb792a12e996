//! A mapping file says how a table's columns feed the record: which column
//! gives which field, how dates are written, how a cell holding several values
//! is split, and which spellings mean which vocabulary entry.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// The two shapes of table vigil imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TableKind {
    /// One row per protest action, with the number detained there.
    Actions,
    /// One row per person and event (lists of the detained, lists of cases).
    Events,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub version: u32,
    pub table: TableKind,
    /// Printed with the summary (a licence may require it).
    #[serde(default)]
    pub attribution: Option<String>,
    /// Field → column name in the file's header.
    pub columns: BTreeMap<String, String>,
    /// Fields whose column some tables of this kind lack.
    #[serde(default)]
    pub optional: Vec<String>,
    /// How dates are written, tried in order: patterns of DD, MM, YYYY.
    #[serde(default = "default_date_formats")]
    pub date_formats: Vec<String>,
    /// Field → separators that split one cell into several values.
    #[serde(default)]
    pub split: BTreeMap<String, Vec<String>>,
    /// Field → { spelling in the table → vocabulary code or known spelling }.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
    /// Field → value for every row, as `--set` gives it (`--set` wins).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

fn default_date_formats() -> Vec<String> {
    vec!["DD.MM.YYYY".into(), "YYYY-MM-DD".into()]
}

/// What a field holds, and so how a cell is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    TextList,
    Integer,
    Date,
    /// A year that the row's date must agree with.
    Year,
    Vocab(&'static str),
    VocabList(&'static str),
    Gender,
}

/// Every field a mapping may name, with what it holds and which table uses it.
pub const FIELDS: &[(&str, FieldKind, Option<TableKind>)] = &[
    ("date", FieldKind::Date, None),
    ("year", FieldKind::Year, None),
    ("region", FieldKind::Vocab("regions"), None),
    ("city", FieldKind::Text, None),
    ("action_kind", FieldKind::Vocab("action_kinds"), None),
    ("topic", FieldKind::Vocab("topics"), None),
    ("organiser", FieldKind::Text, None),
    ("authorised", FieldKind::Vocab("authorised"), None),
    ("verification", FieldKind::Vocab("verification"), None),
    ("links", FieldKind::TextList, None),
    // actions tables
    ("place", FieldKind::Text, Some(TableKind::Actions)),
    ("description", FieldKind::Text, Some(TableKind::Actions)),
    (
        "police_stations",
        FieldKind::TextList,
        Some(TableKind::Actions),
    ),
    ("detained", FieldKind::Integer, Some(TableKind::Actions)),
    ("source_row_id", FieldKind::Text, None),
    // events tables
    ("action", FieldKind::Text, Some(TableKind::Events)),
    ("name", FieldKind::Text, Some(TableKind::Events)),
    (
        "name_variants",
        FieldKind::TextList,
        Some(TableKind::Events),
    ),
    ("birth_date", FieldKind::Text, Some(TableKind::Events)),
    ("birth_year", FieldKind::Integer, Some(TableKind::Events)),
    ("gender", FieldKind::Gender, Some(TableKind::Events)),
    (
        "roles",
        FieldKind::VocabList("roles"),
        Some(TableKind::Events),
    ),
    (
        "consent",
        FieldKind::Vocab("consent"),
        Some(TableKind::Events),
    ),
    (
        "event_kind",
        FieldKind::Vocab("event_kinds"),
        Some(TableKind::Events),
    ),
    ("police_station", FieldKind::Text, Some(TableKind::Events)),
    ("court", FieldKind::Text, Some(TableKind::Events)),
    (
        "articles",
        FieldKind::VocabList("articles"),
        Some(TableKind::Events),
    ),
    (
        "trigger",
        FieldKind::Vocab("triggers"),
        Some(TableKind::Events),
    ),
    ("fine_rub", FieldKind::Integer, Some(TableKind::Events)),
    ("arrest_days", FieldKind::Integer, Some(TableKind::Events)),
    ("sentence", FieldKind::Text, Some(TableKind::Events)),
    ("notes", FieldKind::Text, Some(TableKind::Events)),
];

pub fn field_kind(name: &str) -> Option<(FieldKind, Option<TableKind>)> {
    FIELDS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, k, t)| (*k, *t))
}

/// Fields a table of each kind cannot do without.
pub fn required(table: TableKind) -> &'static [&'static str] {
    match table {
        TableKind::Actions => &["date", "region", "action_kind", "detained"],
        TableKind::Events => &["date", "event_kind"],
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mapping {path}: {message}")]
    Invalid { path: String, message: String },
}

impl Mapping {
    pub fn load(path: &Path) -> Result<Mapping, MappingError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MappingError::Invalid {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        Self::parse(&shown, &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Mapping, MappingError> {
        let invalid = |message: String| MappingError::Invalid {
            path: path.to_owned(),
            message,
        };
        let m: Mapping = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if m.version != 1 {
            return Err(invalid(format!(
                "version {} is not known; use version = 1",
                m.version
            )));
        }
        let known: Vec<&str> = FIELDS.iter().map(|(n, _, _)| *n).collect();
        let names = m
            .columns
            .keys()
            .chain(m.optional.iter())
            .chain(m.split.keys())
            .chain(m.values.keys())
            .chain(m.set.keys());
        for name in names {
            match field_kind(name) {
                None => {
                    return Err(invalid(format!(
                        "unknown field {name:?}; fields are: {}",
                        known.join(", ")
                    )));
                }
                Some((_, Some(t))) if t != m.table => {
                    return Err(invalid(format!(
                        "field {name:?} belongs to the other kind of table, not to table = {:?}",
                        m.table
                    )));
                }
                Some(_) => {}
            }
        }
        for f in &m.date_formats {
            if !f.contains("YYYY") {
                return Err(invalid(format!(
                    "date format {f:?} has no YYYY; write it with DD, MM and YYYY, for example DD.MM.YYYY"
                )));
            }
        }
        Ok(m)
    }
}
