//! Persons: a list to find one by name, a person's page, merging two persons
//! (non-destructive: a merge record lists what moved) and undoing a merge, and
//! duplicate suggestions from the linkage engine with its explanation.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vigil_core::{Day, Lang};
use vigil_record::Record;
use vigil_record::model::{Event, Person};
use vigil_store::StoreError;
use vigil_store::coding::MergeRow;
use vigil_store::record::EventsOf;
use zeroize::Zeroize;

use super::coding::{Tx, checked_form, event_summary, new_id, problem, render, store_failed};
use super::{DeskWeb, Nav, SignedIn};
use crate::audit::AuditAction;
use crate::authz::Perm;
use crate::duplicates::{Refresh, Suggestions};
use crate::index::fold;

const PER_PAGE: usize = 50;

fn no_record_key(t: Tx) -> Response {
    let message = t
        .pick(
            "Ключ записи не открыт: перезапустите `vigil desk` с паролем рабочего места.",
            "The record key is not open: restart `vigil desk` with the desk passphrase.",
        )
        .to_owned();
    problem(t, StatusCode::SERVICE_UNAVAILABLE, message)
}

/// Every person not merged away, opened.
async fn open_persons(desk: &DeskWeb) -> Result<Vec<Person>, String> {
    let Some(access) = desk.coding.record() else {
        return Err("no record key".into());
    };
    let rows = desk
        .store
        .record_persons()
        .await
        .map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(Person::from_row(row, &access.key).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

pub struct PersonLine {
    pub id: String,
    pub name: String,
    pub variants: String,
    pub birth_year: String,
    pub region: String,
}

impl Drop for PersonLine {
    fn drop(&mut self) {
        self.name.zeroize();
        self.variants.zeroize();
    }
}

fn line(desk: &DeskWeb, p: &Person, lang: Lang) -> PersonLine {
    PersonLine {
        id: p.id.clone(),
        name: p.identity.name.clone(),
        variants: p.identity.variants.join("; "),
        birth_year: p
            .identity
            .birth_year
            .map(|y| y.to_string())
            .unwrap_or_default(),
        region: p
            .region
            .as_deref()
            .map(|r| desk.coding.label("regions", r, lang))
            .unwrap_or_default(),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ListParams {
    lang: Option<String>,
    q: Option<String>,
    page: Option<usize>,
    /// Attach buttons for this report.
    report: Option<String>,
    form_token: Option<String>,
}

impl Drop for ListParams {
    fn drop(&mut self) {
        self.q.zeroize();
    }
}

#[derive(Template)]
#[template(path = "coding/persons.html")]
struct ListPage {
    t: Tx,
    nav: Nav,
    q: String,
    report: String,
    persons: Vec<PersonLine>,
    matched: usize,
    page: usize,
    pages: usize,
}

async fn list(desk: &DeskWeb, current: crate::sessions::Current, p: ListParams) -> Response {
    let lang = Lang::from_code(p.lang.as_deref());
    let t = Tx::new(lang);
    if desk.coding.record().is_none() {
        return no_record_key(t);
    }
    let persons = match open_persons(desk).await {
        Ok(p) => p,
        Err(e) => return store_failed(&t, "persons", &e),
    };
    let words: Vec<String> = fold(p.q.as_deref().unwrap_or(""))
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let hits: Vec<&Person> = persons
        .iter()
        .filter(|person| {
            if words.is_empty() {
                return true;
            }
            let mut text = fold(&person.identity.name);
            for v in &person.identity.variants {
                text.push(' ');
                text.push_str(&fold(v));
            }
            text.push(' ');
            text.push_str(&person.id);
            let ok = words.iter().all(|w| text.contains(w.as_str()));
            text.zeroize();
            ok
        })
        .collect();
    let pages = hits.len().div_ceil(PER_PAGE).max(1);
    let page = p.page.unwrap_or(0).min(pages - 1);
    let lines = hits
        .iter()
        .skip(page * PER_PAGE)
        .take(PER_PAGE)
        .map(|person| line(desk, person, lang))
        .collect();
    render(
        &ListPage {
            t,
            nav: Nav::of(&current, lang),
            q: p.q.clone().unwrap_or_default(),
            report: p
                .report
                .clone()
                .filter(|r| r.parse::<vigil_core::ReportId>().is_ok())
                .unwrap_or_default(),
            persons: lines,
            matched: hits.len(),
            page,
            pages,
        },
        StatusCode::OK,
    )
}

pub(super) async fn list_get(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Query(p): Query<ListParams>,
) -> Response {
    if let Err(no) = signed_in.require(Perm::ReadNames) {
        return no.into_response();
    }
    let current = signed_in.0;
    list(&desk, current, p).await
}

/// The same list, the name searched for in the body (out of the browser's history).
pub(super) async fn list_post(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    axum::Form(p): axum::Form<ListParams>,
) -> Response {
    if let Err(no) = signed_in.require(Perm::ReadNames) {
        return no.into_response();
    }
    let current = signed_in.0;
    // It changes nothing, but it carries a name: only this desk's own form.
    if !current.form_token_matches(p.form_token.as_deref()) {
        return form_expired(Tx::new(Lang::from_code(p.lang.as_deref())));
    }
    list(&desk, current, p).await
}

#[derive(Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

pub struct MergeLine {
    pub id: String,
    pub kept_id: String,
    pub kept_name: String,
    pub merged_id: String,
    pub merged_name: String,
    pub day: Day,
    pub editor: String,
    pub undone: Option<(Day, String)>,
}

#[derive(Template)]
#[template(path = "coding/person.html")]
struct PersonPage {
    t: Tx,
    nav: Nav,
    person: PersonLine,
    gender: String,
    roles: String,
    consent: String,
    events: Vec<(String, String)>,
    /// The merge that merged this person away, if any.
    merged_into: Option<MergeLine>,
    merges: Vec<MergeLine>,
}

async fn merge_lines(
    desk: &DeskWeb,
    merges: Vec<MergeRow>,
) -> Result<Vec<MergeLine>, vigil_record::record::RecordError> {
    let Some(access) = desk.coding.record() else {
        return Ok(Vec::new());
    };
    let record = Record {
        store: desk.store.as_ref(),
        key: &access.key,
    };
    let mut names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for m in merges {
        for id in [&m.kept_id, &m.merged_id] {
            if !names.contains_key(id) {
                let name = record
                    .person(id)
                    .await?
                    .map(|p| p.identity.name.clone())
                    .unwrap_or_default();
                names.insert(id.clone(), name);
            }
        }
        out.push(MergeLine {
            kept_name: names.get(&m.kept_id).cloned().unwrap_or_default(),
            merged_name: names.get(&m.merged_id).cloned().unwrap_or_default(),
            id: m.id,
            kept_id: m.kept_id,
            merged_id: m.merged_id,
            day: m.day,
            editor: m.editor,
            undone: m.undone,
        });
    }
    Ok(out)
}

pub(super) async fn person_get(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    if let Err(no) = signed_in.require(Perm::ReadNames) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(q.lang.as_deref());
    let t = Tx::new(lang);
    let Some(access) = desk.coding.record() else {
        return no_record_key(t);
    };
    let record = Record {
        store: desk.store.as_ref(),
        key: &access.key,
    };
    let person = match record.person(&id).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            let m = t.pick("Такого человека нет.", "No such person.").to_owned();
            return problem(t, StatusCode::NOT_FOUND, m);
        }
        Err(e) => return store_failed(&t, "person", &e),
    };
    let events: Vec<Event> = match record.events(EventsOf::Person(&id)).await {
        Ok(e) => e,
        Err(e) => return store_failed(&t, "person", &e),
    };
    let merges = match desk.store.record_merges().await {
        Ok(m) => m
            .into_iter()
            .filter(|m| m.kept_id == id || m.merged_id == id)
            .collect(),
        Err(e) => return store_failed(&t, "person", &e),
    };
    let merges = match merge_lines(&desk, merges).await {
        Ok(m) => m,
        Err(e) => return store_failed(&t, "person", &e),
    };
    let merged_into = merges
        .iter()
        .find(|m| m.merged_id == id && m.undone.is_none())
        .map(|m| MergeLine {
            id: m.id.clone(),
            kept_id: m.kept_id.clone(),
            kept_name: m.kept_name.clone(),
            merged_id: m.merged_id.clone(),
            merged_name: m.merged_name.clone(),
            day: m.day,
            editor: m.editor.clone(),
            undone: None,
        });
    let c = &desk.coding;
    render(
        &PersonPage {
            gender: match person.gender.as_deref() {
                Some("female") => lang.pick("женский", "female").to_owned(),
                Some("male") => lang.pick("мужской", "male").to_owned(),
                Some(other) => other.to_owned(),
                None => String::new(),
            },
            roles: person
                .roles
                .iter()
                .map(|r| c.label("roles", r, lang))
                .collect::<Vec<_>>()
                .join(", "),
            consent: c.label("consent", &person.consent, lang),
            person: line(&desk, &person, lang),
            events: events
                .iter()
                .map(|e| (e.id.clone(), event_summary(c, e, lang)))
                .collect(),
            merged_into,
            merges,
            nav: Nav::of(&current, lang),
            t,
        },
        StatusCode::OK,
    )
}

fn form_expired(t: Tx) -> Response {
    let message = t
        .pick(
            "Форма устарела. Вернитесь назад, обновите страницу и отправьте снова.",
            "The form has expired. Go back, reload the page and send it again.",
        )
        .to_owned();
    problem(t, StatusCode::FORBIDDEN, message)
}

pub(super) async fn merge_post(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    body: Bytes,
) -> Response {
    if let Err(no) = signed_in.require(Perm::Merge) {
        return no.into_response();
    }
    let current = signed_in.0;
    let (f, lang) = match checked_form(&current, &body) {
        Ok(checked) => checked,
        Err(expired) => return expired.into_response(),
    };
    let t = Tx::new(lang);
    let (kept, merged) = (f.get("kept").to_owned(), f.get("merged").to_owned());
    if kept.is_empty() || merged.is_empty() {
        let m = t
            .pick(
                "Укажите обоих: кого оставить и кого присоединить к нему.",
                "Give both: the person to keep and the person to merge into them.",
            )
            .to_owned();
        return problem(t, StatusCode::BAD_REQUEST, m);
    }
    let Ok(id) = new_id("m") else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let merge = MergeRow {
        id,
        kept_id: kept.clone(),
        merged_id: merged,
        day: Day::today(),
        editor: current.username.clone(),
        undone: None,
    };
    match desk.store.record_merge(&merge).await {
        Ok(_) => {
            desk.audit(
                &current.username,
                AuditAction::MergePersons,
                &[&merge.id, &merge.kept_id, &merge.merged_id],
            )
            .await;
            Redirect::to(&format!("/persons/{kept}?lang={}", t.lang)).into_response()
        }
        Err(StoreError::NotFound) => {
            let m = t
                .pick(
                    "Нет человека с таким номером. Проверьте номера и попробуйте снова.",
                    "No person has that id. Check the ids and try again.",
                )
                .to_owned();
            problem(t, StatusCode::NOT_FOUND, m)
        }
        Err(StoreError::Conflict) => {
            let m = t
                .pick(
                    "Объединить нельзя: это один и тот же человек, или один из них уже присоединён к другому (сначала отмените то объединение).",
                    "Cannot merge: these are the same person, or one of them is merged into another already (undo that merge first).",
                )
                .to_owned();
            problem(t, StatusCode::CONFLICT, m)
        }
        Err(e) => store_failed(&t, "merge", &e),
    }
}

pub(super) async fn unmerge_post(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(no) = signed_in.require(Perm::Merge) {
        return no.into_response();
    }
    let current = signed_in.0;
    let (f, lang) = match checked_form(&current, &body) {
        Ok(checked) => checked,
        Err(expired) => return expired.into_response(),
    };
    let t = Tx::new(lang);
    match desk
        .store
        .record_unmerge(&id, &current.username, Day::today())
        .await
    {
        Ok(()) => {
            desk.audit(&current.username, AuditAction::UnmergePersons, &[&id])
                .await;
            let back = f.opt("back").filter(|b| b.starts_with("/persons/"));
            let to = back.unwrap_or_else(|| "/merges".to_owned());
            Redirect::to(&format!("{to}?lang={}", t.lang)).into_response()
        }
        Err(StoreError::NotFound) => {
            let m = t
                .pick("Такого объединения нет.", "No such merge.")
                .to_owned();
            problem(t, StatusCode::NOT_FOUND, m)
        }
        Err(StoreError::Conflict) => {
            let m = t
                .pick(
                    "Отменить нельзя: объединение уже отменено, или оставленный человек с тех пор присоединён к другому (сначала отмените то объединение).",
                    "Cannot undo: the merge is undone already, or the kept person was merged into another since (undo that merge first).",
                )
                .to_owned();
            problem(t, StatusCode::CONFLICT, m)
        }
        Err(e) => store_failed(&t, "unmerge", &e),
    }
}

#[derive(Template)]
#[template(path = "coding/merges.html")]
struct MergesPage {
    t: Tx,
    nav: Nav,
    merges: Vec<MergeLine>,
}

pub(super) async fn merges_get(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Query(q): Query<LangQuery>,
) -> Response {
    if let Err(no) = signed_in.require(Perm::Merge) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(q.lang.as_deref());
    let t = Tx::new(lang);
    if desk.coding.record().is_none() {
        return no_record_key(t);
    }
    let merges = match desk.store.record_merges().await {
        Ok(m) => m,
        Err(e) => return store_failed(&t, "merges", &e),
    };
    match merge_lines(&desk, merges).await {
        Ok(merges) => render(
            &MergesPage {
                t,
                nav: Nav::of(&current, lang),
                merges,
            },
            StatusCode::OK,
        ),
        Err(e) => store_failed(&t, "merges", &e),
    }
}

pub struct SuggestionLine {
    pub a: PersonLine,
    pub b: PersonLine,
    pub percent: String,
    pub why: Vec<(String, &'static str, String)>,
}

#[derive(Template)]
#[template(path = "coding/duplicates.html")]
struct DuplicatesPage {
    t: Tx,
    nav: Nav,
    compared: usize,
    suggestions: Vec<SuggestionLine>,
}

/// Suggestions shown on one page.
const SHOWN: usize = 100;

/// Above this many persons new or edited since the last view, every
/// person is read at once instead of one by one.
const READ_ONE_BY_ONE: usize = 200;

/// The persons and the suggested pairs among them, with how they were
/// found: every view asks the store what changed (each person's id and
/// version; a person coded, edited, merged or imported since is seen), opens
/// only what is new, and runs the engine only when persons were added or
/// edited (duplicates.rs, `Suggestions::update_to`).
pub async fn duplicates(desk: &Arc<DeskWeb>) -> Result<(Arc<Suggestions>, Refresh), String> {
    if desk.coding.record().is_none() {
        return Err("no record key".into());
    }
    let cache = &desk.coding.suggestions;
    let mut turn = cache.turn().await;
    let store = desk.store.as_ref();
    let previous = cache.last();
    let keys = store
        .record_person_versions()
        .await
        .map_err(|e| e.to_string())?;
    let unknown = Suggestions::unknown(previous.as_deref(), &keys);
    let mut rows = Vec::new();
    if previous.is_some() && unknown.len() <= READ_ONE_BY_ONE {
        for id in &unknown {
            if let Some(row) = store.record_person(id).await.map_err(|e| e.to_string())? {
                rows.push(row);
            }
        }
    } else {
        rows = store.record_persons().await.map_err(|e| e.to_string())?;
    }
    let mut keys = Some(keys);
    for _ in 0..2 {
        let web = desk.clone();
        let mut prepared = turn.take();
        let (previous, these, read) = (previous.clone(), keys.take(), std::mem::take(&mut rows));
        let (found, prepared, read) = tokio::task::spawn_blocking(move || {
            let access = web.coding.record().ok_or("no record key")?;
            let region = |r: &str| web.coding.label("regions", r, Lang::Ru);
            let these = these.unwrap_or_else(|| {
                read.iter()
                    .map(|r| (r.id.clone(), r.stamp.version))
                    .collect()
            });
            Suggestions::update_to(
                previous.as_ref(),
                &mut prepared,
                these,
                &read,
                &access.key,
                &region,
            )
            .map(|found| (found, prepared, read))
            .map_err(|_| "a person could not be opened with the record key")
        })
        .await
        .map_err(|_| "linkage was interrupted".to_owned())??;
        *turn = prepared;
        drop(read);
        if let Some((next, how)) = found {
            cache.keep(next.clone());
            return Ok((next, how));
        }
        // A person changed between the two reads: read them all, as they are now.
        rows = store.record_persons().await.map_err(|e| e.to_string())?;
    }
    Err("the persons kept changing while they were read".into())
}

/// Prepares the suggestions in the background (at start), so that the first
/// view finds them ready, or waits only for the rest of this work.
pub fn warm_suggestions(desk: Arc<DeskWeb>) {
    tokio::spawn(async move {
        if let Err(e) = duplicates(&desk).await {
            tracing::warn!(error = %e, "duplicate suggestions could not be prepared at start");
        }
    });
}

pub(super) async fn duplicates_get(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Query(q): Query<LangQuery>,
) -> Response {
    if let Err(no) = signed_in.require(Perm::Merge) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(q.lang.as_deref());
    let t = Tx::new(lang);
    if desk.coding.record().is_none() {
        return no_record_key(t);
    }
    let found = match duplicates(&desk).await {
        Ok((found, _)) => found,
        Err(e) => return store_failed(&t, "duplicates", &e),
    };
    let persons = &found.persons;
    let lines = found
        .pairs
        .iter()
        .take(SHOWN)
        .filter_map(|s| {
            let (a, b) = (persons.get(s.a)?, persons.get(s.b)?);
            Some(SuggestionLine {
                a: line(&desk, a, lang),
                b: line(&desk, b, lang),
                percent: format!("{:.0}", s.probability * 100.0),
                why: s
                    .why
                    .iter()
                    .map(|w| {
                        (
                            crate::duplicates::field_label(&w.field, lang).to_owned(),
                            crate::duplicates::how_label(w.how, lang),
                            format!("{:+.1}", w.bits),
                        )
                    })
                    .collect(),
            })
        })
        .collect();
    render(
        &DuplicatesPage {
            t,
            nav: Nav::of(&current, lang),
            compared: persons.len(),
            suggestions: lines,
        },
        StatusCode::OK,
    )
}
