//! deskfast: the export of the coded record. `GET /export` lists the tables
//! (persons, events, actions, cases) with a CSV and a JSON button each; each
//! button is a POST carrying the session's form token, so a download is a
//! deliberate act that no other site can start. Every download is written to
//! the audit log first (kind `export`, subjects: the table, the format and
//! the row count, never content); no entry, no file.
//!
//! What a download holds depends on the account: the coded fields (ids,
//! vocabulary codes, dates, places, articles, amounts, verification) for
//! every role that may export; what the record keeps sealed (names,
//! spellings, birth dates, contacts, notes, descriptions, case titles, links)
//! only for accounts that may read names (`Perm::ReadNames`): an analyst gets
//! the coded fields alone unless an admin granted names.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use vigil_core::Lang;
use vigil_record::model::{Action, Case, Event, Person};
use vigil_record::{PartialDate, RecordKey};
use zeroize::Zeroize;

use super::coding::{Tx, checked_form, problem, render, store_failed};
use super::{DeskWeb, Nav, SignedIn};
use crate::audit::{self, AuditAction};
use crate::authz::Perm;

pub(super) fn routes() -> Router<Arc<DeskWeb>> {
    Router::new().route("/export", get(page).post(download))
}

/// The tables one can export, in the page's order.
const TABLES: [&str; 4] = ["persons", "events", "actions", "cases"];

#[derive(Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

/// One table on the page: what every exporter gets, and what only an
/// account that may read names gets besides (`None` for the others).
pub struct TableLine {
    pub code: &'static str,
    pub label: &'static str,
    pub coded: &'static str,
    pub sealed: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "export/page.html")]
struct ExportPage {
    t: Tx,
    nav: Nav,
    tables: Vec<TableLine>,
    names: bool,
}

fn table_line(t: &Tx, code: &'static str, names: bool) -> TableLine {
    let (label, coded, sealed) = match code {
        "persons" => (
            t.pick("Люди", "Persons"),
            t.pick(
                "номер, пол, регион, роли, согласие на публикацию",
                "id, gender, region, roles, consent to publication",
            ),
            t.pick(
                "имя, варианты написания, дата и год рождения, контакты, заметки",
                "name, spellings, birth date and year, contacts, notes",
            ),
        ),
        "events" => (
            t.pick("События", "Events"),
            t.pick(
                "номер, человек, акция, дело, вид, дата, место, статьи, повод, штраф, арест, приговор, проверка",
                "id, person, action, case, kind, date, place, articles, trigger, fine, arrest, sentence, verification",
            ),
            t.pick("заметки, ссылки", "notes, links"),
        ),
        "actions" => (
            t.pick("Акции", "Protest actions"),
            t.pick(
                "номер, дата, регион, город, вид, тема, организатор, согласование, проверка, отделы полиции",
                "id, date, region, city, kind, topic, organiser, authorised, verification, police stations",
            ),
            t.pick("место, описание, ссылки", "place, description, links"),
        ),
        _ => (
            t.pick("Дела", "Cases"),
            t.pick(
                "номер, человек, число событий",
                "id, person, number of events",
            ),
            t.pick("название, заметки", "title, notes"),
        ),
    };
    TableLine {
        code,
        label,
        coded,
        sealed: names.then_some(sealed),
    }
}

async fn page(signed_in: SignedIn, Query(q): Query<LangQuery>) -> Response {
    if let Err(no) = signed_in.require(Perm::Export) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(q.lang.as_deref());
    let t = Tx::new(lang);
    let names = current.may(Perm::ReadNames);
    let tables = TABLES.iter().map(|c| table_line(&t, c, names)).collect();
    render(
        &ExportPage {
            nav: Nav::of(&current, lang),
            t,
            tables,
            names,
        },
        StatusCode::OK,
    )
}

/// One cell of an exported table.
pub enum Cell {
    Empty,
    Text(String),
    Number(i64),
}

impl Drop for Cell {
    fn drop(&mut self) {
        if let Cell::Text(s) = self {
            s.zeroize();
        }
    }
}

fn text(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(s.to_owned())
    }
}

fn opt(s: Option<&str>) -> Cell {
    s.map_or(Cell::Empty, text)
}

fn list(items: &[String]) -> Cell {
    text(&items.join("; "))
}

fn num(n: Option<i64>) -> Cell {
    n.map_or(Cell::Empty, Cell::Number)
}

fn date(d: PartialDate) -> [Cell; 2] {
    match d.start {
        Some(_) => [Cell::Text(d.to_string()), text(d.precision.as_str())],
        None => [Cell::Empty, text(d.precision.as_str())],
    }
}

/// A table ready to write: its column names and rows of cells.
pub struct Table {
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

fn persons_table(persons: &[Person], names: bool) -> Table {
    let mut columns = vec!["id", "gender", "region", "roles", "consent"];
    if names {
        columns.extend([
            "name",
            "variants",
            "birth_date",
            "birth_year",
            "contacts",
            "notes",
        ]);
    }
    let rows = persons
        .iter()
        .map(|p| {
            let mut row = vec![
                text(&p.id),
                opt(p.gender.as_deref()),
                opt(p.region.as_deref()),
                list(&p.roles),
                text(&p.consent),
            ];
            if names {
                let i = &p.identity;
                row.extend([
                    text(&i.name),
                    list(&i.variants),
                    opt(i.birth_date.as_deref()),
                    num(i.birth_year.map(i64::from)),
                    list(&i.contacts),
                    opt(i.notes.as_deref()),
                ]);
            }
            row
        })
        .collect();
    Table { columns, rows }
}

fn events_table(events: &[Event], names: bool) -> Table {
    let mut columns = vec![
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
        "articles",
        "trigger",
        "fine_rub",
        "arrest_days",
        "sentence",
        "verification",
    ];
    if names {
        columns.extend(["notes", "links"]);
    }
    let rows = events
        .iter()
        .map(|e| {
            let [day, precision] = date(e.date);
            let mut row = vec![
                text(&e.id),
                opt(e.person_id.as_deref()),
                opt(e.action_id.as_deref()),
                opt(e.case_id.as_deref()),
                text(&e.kind),
                day,
                precision,
                opt(e.region.as_deref()),
                opt(e.city.as_deref()),
                opt(e.police_station.as_deref()),
                opt(e.court.as_deref()),
                list(&e.articles),
                opt(e.trigger.as_deref()),
                num(e.fine_rub),
                num(e.arrest_days),
                opt(e.sentence.as_deref()),
                text(&e.verification),
            ];
            if names {
                row.extend([opt(e.details.notes.as_deref()), list(&e.details.links)]);
            }
            row
        })
        .collect();
    Table { columns, rows }
}

fn actions_table(actions: &[Action], names: bool) -> Table {
    let mut columns = vec![
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
        "police_stations",
    ];
    if names {
        columns.extend(["place", "description", "links"]);
    }
    let rows = actions
        .iter()
        .map(|a| {
            let [day, precision] = date(a.date);
            let mut row = vec![
                text(&a.id),
                day,
                precision,
                opt(a.region.as_deref()),
                opt(a.city.as_deref()),
                text(&a.kind),
                opt(a.topic.as_deref()),
                opt(a.organiser.as_deref()),
                opt(a.authorised.as_deref()),
                text(&a.verification),
                list(&a.stations),
            ];
            if names {
                row.extend([
                    opt(a.details.place.as_deref()),
                    opt(a.details.description.as_deref()),
                    list(&a.details.links),
                ]);
            }
            row
        })
        .collect();
    Table { columns, rows }
}

fn cases_table(cases: &[(Case, i64)], names: bool) -> Table {
    let mut columns = vec!["id", "person_id", "events"];
    if names {
        columns.extend(["title", "notes"]);
    }
    let rows = cases
        .iter()
        .map(|(c, events)| {
            let mut row = vec![text(&c.id), text(&c.person_id), Cell::Number(*events)];
            if names {
                row.extend([text(&c.details.title), opt(c.details.notes.as_deref())]);
            }
            row
        })
        .collect();
    Table { columns, rows }
}

/// Why a table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] vigil_store::StoreError),
    #[error(transparent)]
    Model(#[from] vigil_record::model::ModelError),
}

/// Reads and opens one whole table of the record; `names` adds what the
/// record keeps sealed. Persons merged into another are left out (their
/// events name the person they were merged into).
pub async fn read_table(
    desk: &DeskWeb,
    key: &RecordKey,
    table: &str,
    names: bool,
) -> Result<Table, ExportError> {
    let store = desk.store.as_ref();
    Ok(match table {
        "persons" => {
            let mut persons = Vec::new();
            for row in store.record_persons().await? {
                persons.push(Person::from_row(&row, key)?);
            }
            persons_table(&persons, names)
        }
        "events" => {
            let mut events = Vec::new();
            for row in store.record_all_events().await? {
                events.push(Event::from_row(&row, key)?);
            }
            events_table(&events, names)
        }
        "actions" => {
            let mut actions = Vec::new();
            for row in store.record_all_actions().await? {
                actions.push(Action::from_row(&row, key)?);
            }
            actions_table(&actions, names)
        }
        _ => {
            // The store keeps no list of cases: every case the desk makes
            // comes with its first event, so the events name them all.
            let mut count: BTreeMap<String, i64> = BTreeMap::new();
            for row in store.record_all_events().await? {
                if let Some(c) = row.case_id {
                    *count.entry(c).or_default() += 1;
                }
            }
            let mut cases = Vec::new();
            for (id, events) in count {
                if let Some(row) = store.record_case(&id).await? {
                    cases.push((Case::from_row(&row, key)?, events));
                }
            }
            cases_table(&cases, names)
        }
    })
}

/// A CSV cell: quoted when it must be (RFC 4180), and a cell a spreadsheet
/// would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return first)
/// is prefixed with `'` so that it stays text.
fn csv_cell(out: &mut String, cell: &Cell) {
    match cell {
        Cell::Empty => {}
        Cell::Number(n) => out.push_str(&n.to_string()),
        Cell::Text(s) => {
            let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
            let quote = formula || s.contains([',', '"', '\n', '\r']);
            if quote {
                out.push('"');
            }
            if formula {
                out.push('\'');
            }
            for ch in s.chars() {
                if ch == '"' {
                    out.push('"');
                }
                out.push(ch);
            }
            if quote {
                out.push('"');
            }
        }
    }
}

pub fn to_csv(table: &Table) -> String {
    let mut out = table.columns.join(",");
    out.push_str("\r\n");
    for row in &table.rows {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_cell(&mut out, cell);
        }
        out.push_str("\r\n");
    }
    out
}

/// `{"table": ..., "columns": [...], "rows": [{column: value, ...}, ...]}`,
/// an empty cell as `null`.
pub fn to_json(name: &str, table: &Table) -> String {
    let rows: Vec<serde_json::Value> = table
        .rows
        .iter()
        .map(|row| {
            let mut object = serde_json::Map::new();
            for (column, cell) in table.columns.iter().zip(row) {
                let value = match cell {
                    Cell::Empty => serde_json::Value::Null,
                    Cell::Text(s) => serde_json::Value::String(s.clone()),
                    Cell::Number(n) => serde_json::Value::from(*n),
                };
                object.insert((*column).to_owned(), value);
            }
            serde_json::Value::Object(object)
        })
        .collect();
    serde_json::json!({
        "table": name,
        "columns": table.columns,
        "rows": rows,
    })
    .to_string()
}

fn bad_request(t: Tx) -> Response {
    let m = t
        .pick(
            "Выберите таблицу (люди, события, акции, дела) и формат (CSV или JSON) на странице выгрузки.",
            "Choose a table (persons, events, actions, cases) and a format (CSV or JSON) on the export page.",
        )
        .to_owned();
    problem(t, StatusCode::BAD_REQUEST, m)
}

async fn download(State(desk): State<Arc<DeskWeb>>, signed_in: SignedIn, body: Bytes) -> Response {
    if let Err(no) = signed_in.require(Perm::Export) {
        return no.into_response();
    }
    let current = signed_in.0;
    let (f, lang) = match checked_form(&current, &body) {
        Ok(checked) => checked,
        Err(expired) => return expired.into_response(),
    };
    let t = Tx::new(lang);
    let Some(table) = TABLES.into_iter().find(|x| *x == f.get("table")) else {
        return bad_request(t);
    };
    let format = match f.get("format") {
        "csv" => "csv",
        "json" => "json",
        _ => return bad_request(t),
    };
    let Some(access) = desk.coding.record() else {
        let m = t
            .pick(
                "Ключ записи не открыт: перезапустите `vigil desk` с паролем рабочего места.",
                "The record key is not open: restart `vigil desk` with the desk passphrase.",
            )
            .to_owned();
        return problem(t, StatusCode::SERVICE_UNAVAILABLE, m);
    };
    let names = current.may(Perm::ReadNames);
    let data = match read_table(&desk, &access.key, table, names).await {
        Ok(d) => d,
        Err(e) => return store_failed(&t, "export", &e),
    };
    let rows = data.rows.len().to_string();
    let scope = if names { "with_names" } else { "coded" };
    // The entry first: an export that cannot be logged is not given.
    if let Err(e) = audit::record(
        desk.store.as_ref(),
        desk.clock.unix(),
        &current.username,
        AuditAction::Export,
        &[table, format, scope, &format!("rows={rows}")],
    )
    .await
    {
        return store_failed(&t, "export audit", &e);
    }
    let (body, content_type) = match format {
        "csv" => (to_csv(&data), "text/csv; charset=utf-8"),
        _ => (to_json(table, &data), "application/json"),
    };
    let file = format!(
        "attachment; filename=\"vigil-{table}-{}.{format}\"",
        vigil_core::Day::today()
    );
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&file) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_keeps_formulas_as_text() {
        let table = Table {
            columns: vec!["a", "b", "c"],
            rows: vec![vec![
                Cell::Text("=HYPERLINK(\"x\")".into()),
                Cell::Text("one, two\nthree".into()),
                Cell::Number(-5),
            ]],
        };
        assert_eq!(
            to_csv(&table),
            "a,b,c\r\n\"'=HYPERLINK(\"\"x\"\")\",\"one, two\nthree\",-5\r\n"
        );
    }
}
