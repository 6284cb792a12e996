//! `vigil stats`: counts of the record by explicit rules (docs/methodology.md),
//! as a table for people, CSV for spreadsheets, or JSON for programs and the
//! public site. Runs on the clear counting fields: no passphrase needed.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};
pub use vigil_store::record::{CountQuery, CountRow, StatKey};
use vigil_store::{DeskStore, StoreError};

use crate::vocab::Vocabularies;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "table" => Some(Format::Table),
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error(
        "unknown key {0:?} for --by: use year, month, region, action-kind, event-kind, article, authorised, topic\n\
         неизвестный ключ {0:?} для --by"
    )]
    UnknownKey(String),
    #[error("--by names {0:?} twice")]
    Repeated(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn parse_keys(text: &str) -> Result<Vec<StatKey>, StatsError> {
    let mut keys = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let k = StatKey::parse(part).ok_or_else(|| StatsError::UnknownKey(part.to_owned()))?;
        if keys.contains(&k) {
            return Err(StatsError::Repeated(part.to_owned()));
        }
        keys.push(k);
    }
    Ok(keys)
}

/// The groups and the total of one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub by: Vec<StatKey>,
    pub rows: Vec<CountRow>,
    pub total: CountRow,
}

pub async fn compute(store: &dyn DeskStore, query: &CountQuery) -> Result<Stats, StatsError> {
    let (rows, total) = store.record_count_with_total(query).await?;
    Ok(Stats {
        by: query.by.clone(),
        rows,
        total,
    })
}

fn vocabulary_of(key: StatKey) -> Option<&'static str> {
    match key {
        StatKey::Region => Some("regions"),
        StatKey::ActionKind => Some("action_kinds"),
        StatKey::EventKind => Some("event_kinds"),
        StatKey::Article => Some("articles"),
        StatKey::Authorised => Some("authorised"),
        StatKey::Topic => Some("topics"),
        StatKey::Year | StatKey::Month => None,
    }
}

impl Stats {
    fn kinds(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self
            .rows
            .iter()
            .chain([&self.total])
            .flat_map(|r| r.events.keys())
            .collect();
        set.into_iter().cloned().collect()
    }

    fn counts_json(row: &CountRow) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("actions".into(), json!(row.actions));
        m.insert("detentions".into(), json!(row.detentions));
        m.insert("detentions_named".into(), json!(row.detentions_named));
        m.insert("detentions_reported".into(), json!(row.detentions_reported));
        m.insert("persons".into(), json!(row.persons));
        m.insert("events".into(), json!(row.events));
        m
    }

    /// `{"by": [...], "rows": [{KEY: VALUE, "actions": N, ...}], "total": {...},
    /// "labels": {KEY: {CODE: {"ru": ..., "en": ...}}}}`.
    pub fn to_json(&self, vocab: &Vocabularies) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut m = Map::new();
                for (k, v) in self.by.iter().zip(&r.keys) {
                    m.insert(k.name().into(), json!(v));
                }
                m.extend(Self::counts_json(r));
                Value::Object(m)
            })
            .collect();
        let mut labels = Map::new();
        for (i, k) in self.by.iter().enumerate() {
            let Some(v) = vocabulary_of(*k).and_then(|n| vocab.get(n)) else {
                continue;
            };
            let mut m = Map::new();
            for code in self.rows.iter().filter_map(|r| r.keys[i].as_ref()) {
                if let Some(e) = v.get(code) {
                    m.insert(code.clone(), json!({ "ru": e.ru, "en": e.en }));
                }
            }
            labels.insert(k.name().into(), Value::Object(m));
        }
        json!({
            "by": self.by.iter().map(|k| k.name()).collect::<Vec<_>>(),
            "rows": rows,
            "total": Value::Object(Self::counts_json(&self.total)),
            "labels": labels,
        })
    }

    fn header(&self) -> Vec<String> {
        let mut h: Vec<String> = self.by.iter().map(|k| k.name().to_owned()).collect();
        for c in [
            "actions",
            "detentions",
            "detentions_named",
            "detentions_reported",
            "persons",
        ] {
            h.push(c.into());
        }
        h.extend(self.kinds());
        h
    }

    fn cells(
        &self,
        row: &CountRow,
        kinds: &[String],
        label: &dyn Fn(usize, &str) -> String,
        total: bool,
    ) -> Vec<String> {
        let mut c: Vec<String> = if total {
            let mut t = vec!["total".to_owned()];
            t.extend(std::iter::repeat_n(
                String::new(),
                self.by.len().saturating_sub(1),
            ));
            t.truncate(self.by.len());
            t
        } else {
            row.keys
                .iter()
                .enumerate()
                .map(|(i, k)| k.as_deref().map_or_else(|| "?".to_owned(), |v| label(i, v)))
                .collect()
        };
        for n in [
            row.actions,
            row.detentions,
            row.detentions_named,
            row.detentions_reported,
            row.persons,
        ] {
            c.push(n.to_string());
        }
        for k in kinds {
            c.push(row.events.get(k).copied().unwrap_or(0).to_string());
        }
        c
    }

    pub fn to_csv(&self) -> String {
        let kinds = self.kinds();
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(self.header());
        let code = |_: usize, v: &str| v.to_owned();
        for r in &self.rows {
            let _ = w.write_record(self.cells(r, &kinds, &code, false));
        }
        if !self.by.is_empty() {
            let _ = w.write_record(self.cells(&self.total, &kinds, &code, true));
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }

    /// A table for a terminal, with Russian labels for vocabulary codes.
    pub fn to_table(&self, vocab: &Vocabularies) -> String {
        let kinds = self.kinds();
        let label = |i: usize, v: &str| -> String {
            vocabulary_of(self.by[i])
                .and_then(|n| vocab.get(n))
                .and_then(|voc| voc.get(v))
                .map_or_else(|| v.to_owned(), |e| e.ru.clone())
        };
        let mut lines = vec![self.header()];
        for r in &self.rows {
            lines.push(self.cells(r, &kinds, &label, false));
        }
        if !self.by.is_empty() {
            lines.push(self.cells(&self.total, &kinds, &label, true));
        } else {
            lines.push(self.cells(&self.total, &kinds, &label, false));
        }
        let widths: Vec<usize> = (0..lines[0].len())
            .map(|c| {
                lines
                    .iter()
                    .map(|l| l[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for l in &lines {
            for (c, cell) in l.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                let numeric = c >= self.by.len();
                if c > 0 {
                    out.push_str("  ");
                }
                if numeric {
                    let _ = write!(out, "{}{cell}", " ".repeat(pad));
                } else {
                    let _ = write!(out, "{cell}{}", " ".repeat(pad));
                }
            }
            out.push('\n');
        }
        out
    }
}
