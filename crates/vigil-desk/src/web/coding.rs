//! Coding reports into the record: from a report's page a verifier creates or
//! attaches a person, a protest action, events and a case, with vocabulary
//! pickers (plain `<select>`, no JavaScript) and a verification status; the
//! report becomes a source of all it supports. An operator enters a report
//! taken by phone. Records are written through vigil_record's API, so edits
//! keep their history and identifying fields are sealed with the record key.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vigil_core::{Channel, Day, Lang, ReportEnvelope, ReportId, SealedReport};
use vigil_record::model::{
    Action, ActionDetails, Case, CaseDetails, Event, EventDetails, Person, PersonIdentity,
};
use vigil_record::{PartialDate, Record, RecordKey, Vocabularies};
use vigil_store::StoreError;
use vigil_store::coding::{ActionFilter, SupportRow, Supported};
use vigil_store::record::{ActionCount, RecordBatch, SourceRow};
use zeroize::Zeroize;

pub use super::persons::{duplicates, warm_suggestions};
use super::{DeskWeb, Forbidden, Nav, SignedIn};
use crate::audit::AuditAction;
use crate::authz::Perm;
use crate::index::{Opened, ReportIndex};

/// The record key and vocabularies, once the desk has opened them.
pub struct RecordAccess {
    pub key: RecordKey,
    pub vocab: Vocabularies,
}

/// The coding pages' state inside [`DeskWeb`].
pub struct Coding {
    pub index: ReportIndex,
    record: OnceLock<RecordAccess>,
    built_in: Option<Vocabularies>,
    /// deskfast: the last duplicate suggestions, kept between views.
    pub suggestions: crate::duplicates::SuggestionCache,
}

impl Default for Coding {
    fn default() -> Self {
        Self::new()
    }
}

impl Coding {
    pub fn new() -> Self {
        Coding {
            index: ReportIndex::new(),
            record: OnceLock::new(),
            built_in: Vocabularies::built_in().ok(),
            suggestions: crate::duplicates::SuggestionCache::new(),
        }
    }

    /// Gives the pages the record key and the vocabularies (the desk's data
    /// folder's extensions included). Only the first call counts.
    pub fn set_record(&self, key: RecordKey, vocab: Vocabularies) {
        let _ = self.record.set(RecordAccess { key, vocab });
    }

    pub fn record(&self) -> Option<&RecordAccess> {
        self.record.get()
    }

    pub fn vocab(&self) -> Option<&Vocabularies> {
        self.record
            .get()
            .map(|r| &r.vocab)
            .or(self.built_in.as_ref())
    }

    /// A vocabulary's entries as choices in the page's language.
    pub fn choices(&self, name: &str, lang: Lang) -> Vec<Choice> {
        self.vocab()
            .and_then(|v| v.get(name))
            .map(|v| {
                v.entries
                    .iter()
                    .map(|e| Choice {
                        code: e.code.clone(),
                        label: match lang {
                            Lang::Ru => e.ru.clone(),
                            Lang::En => e.en.clone(),
                        },
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A code's label in the page's language (the code itself if unknown).
    pub fn label(&self, name: &str, code: &str, lang: Lang) -> String {
        self.vocab()
            .and_then(|v| v.get(name))
            .and_then(|v| v.get(code))
            .map_or_else(
                || code.to_owned(),
                |e| match lang {
                    Lang::Ru => e.ru.clone(),
                    Lang::En => e.en.clone(),
                },
            )
    }
}

#[derive(Debug, Clone)]
pub struct Choice {
    pub code: String,
    pub label: String,
}

/// The page's language for templates: `t.pick("по-русски", "in English")`.
pub struct Tx {
    pub l: Lang,
    pub lang: &'static str,
    pub title: &'static str,
    pub other_lang_code: &'static str,
    pub other_lang_name: &'static str,
}

impl Tx {
    pub fn new(l: Lang) -> Self {
        Tx {
            l,
            lang: l.code(),
            title: l.pick("vigil — рабочее место", "vigil — desk"),
            other_lang_code: l.pick("en", "ru"),
            other_lang_name: l.pick("English", "Русский"),
        }
    }

    pub fn pick(&self, ru: &'static str, en: &'static str) -> &'static str {
        self.l.pick(ru, en)
    }

    /// The channels a queue filter offers: code and label.
    pub fn channels(&self) -> Vec<(&'static str, &'static str)> {
        [
            Some(Channel::WebForm),
            Some(Channel::Api),
            Some(Channel::Bot),
            Some(Channel::Phone),
            Some(Channel::Telegram),
            None,
        ]
        .into_iter()
        .map(|c| (super::queue::channel_code(c), self.channel(&c)))
        .collect()
    }

    pub fn channel(&self, c: &Option<Channel>) -> &'static str {
        match c {
            Some(c) => c.label(self.l),
            None => self.pick("не открывается", "unreadable"),
        }
    }
}

pub fn render(template: &impl Template, status: StatusCode) -> Response {
    vigil_web::page(template.render(), status)
}

#[derive(Template)]
#[template(path = "coding/problem.html")]
struct ProblemPage {
    t: Tx,
    message: String,
}

pub fn problem(t: Tx, status: StatusCode, message: String) -> Response {
    render(&ProblemPage { t, message }, status)
}

/// A storage failure: logged (with where, never what), and "try again later".
pub fn store_failed(t: &Tx, what: &'static str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, page = what, "desk coding: storage failed");
    problem(
        Tx::new(t.l),
        StatusCode::SERVICE_UNAVAILABLE,
        t.pick(
            "Хранилище сейчас недоступно. Попробуйте позже; если не поможет, сообщите администратору.",
            "Storage is unavailable right now. Try again later; if that does not help, tell your admin.",
        )
        .to_owned(),
    )
}

fn no_record_key(t: Tx) -> Response {
    let message = t
        .pick(
            "Ключ записи не открыт: рабочее место запущено без него. Перезапустите `vigil desk` с паролем рабочего места.",
            "The record key is not open: the desk was started without it. Restart `vigil desk` with the desk passphrase.",
        )
        .to_owned();
    problem(t, StatusCode::SERVICE_UNAVAILABLE, message)
}

/// A form's fields, repeated names kept (a multiple `<select>`, checkboxes).
/// Wiped when dropped: they carry names.
#[derive(Default)]
pub struct Fields(Vec<(String, String)>);

impl Drop for Fields {
    fn drop(&mut self) {
        for (k, v) in &mut self.0 {
            k.zeroize();
            v.zeroize();
        }
    }
}

impl Fields {
    pub fn parse(body: &[u8]) -> Self {
        Fields(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed ("" if absent).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.trim())
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        Some(self.get(name))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// Whether `name` has the value `value` (to keep a choice selected).
    pub fn is(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }
}

/// Reads a date as written: `YYYY-MM-DD` (day), `YYYY-MM` (month), `YYYY`
/// (year), or nothing (unknown). Day-first forms (`DD.MM.YYYY`) too.
pub fn parse_date(text: &str) -> Option<PartialDate> {
    let text = text.trim();
    if text.is_empty() {
        return Some(PartialDate::UNKNOWN);
    }
    ["YYYY-MM-DD", "DD.MM.YYYY", "YYYY-MM", "MM.YYYY", "YYYY"]
        .iter()
        .find_map(|p| PartialDate::parse_with(text, p))
}

pub fn show_date(d: &PartialDate) -> String {
    match d.start {
        None => "?".to_owned(),
        Some(day) => {
            let s = day.to_string();
            match d.precision {
                vigil_record::Precision::Day => s,
                vigil_record::Precision::Month => s.chars().take(7).collect(),
                vigil_record::Precision::Year => s.chars().take(4).collect(),
                vigil_record::Precision::Unknown => "?".to_owned(),
            }
        }
    }
}

/// A new record's id: a kind letter and 128 random bits.
pub fn new_id(kind: &str) -> Result<String, vigil_core::random::RandomError> {
    Ok(format!(
        "{kind}-{}",
        hex::encode(vigil_core::random::bytes::<16>()?)
    ))
}

/// The source a report is as the record names it.
pub fn report_source_id(id: ReportId) -> String {
    format!("report-{id}")
}

#[derive(Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

// ---------------------------------------------------------------------------
// A report taken by phone.

#[derive(Template)]
#[template(path = "coding/phone.html")]
struct PhonePage {
    t: Tx,
    nav: Nav,
    error: Option<String>,
    prev: Fields,
}

pub(super) async fn phone_form(
    signed_in: SignedIn,
    Query(q): Query<LangQuery>,
) -> Result<Response, Forbidden> {
    signed_in.require(Perm::Code)?;
    let current = signed_in.0;
    let lang = Lang::from_code(q.lang.as_deref());
    let t = Tx::new(lang);
    Ok(render(
        &PhonePage {
            t,
            nav: Nav::of(&current, lang),
            error: None,
            prev: Fields::default(),
        },
        StatusCode::OK,
    ))
}

/// A posted form whose form token is not the session's (answered with the
/// "form expired" page in the form's language).
pub(super) struct Expired(Lang);

impl IntoResponse for Expired {
    fn into_response(self) -> Response {
        form_expired(Tx::new(self.0))
    }
}

/// A posted form whose form token is the session's: its fields and its page
/// language.
pub(super) fn checked_form(
    current: &crate::sessions::Current,
    body: &[u8],
) -> Result<(Fields, Lang), Expired> {
    let f = Fields::parse(body);
    let lang = Lang::from_code(Some(f.get("lang")));
    if !current.form_token_matches(Some(f.get("form_token"))) {
        return Err(Expired(lang));
    }
    Ok((f, lang))
}

pub(super) fn form_expired(t: Tx) -> Response {
    let message = t
        .pick(
            "Форма устарела. Вернитесь назад, обновите страницу и отправьте снова.",
            "The form has expired. Go back, reload the page and send it again.",
        )
        .to_owned();
    problem(t, StatusCode::FORBIDDEN, message)
}

pub(super) async fn phone_save(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    body: Bytes,
) -> Result<Response, Forbidden> {
    signed_in.require(Perm::Code)?;
    Ok(phone_save_checked(&desk, signed_in.0, body).await)
}

async fn phone_save_checked(
    desk: &DeskWeb,
    current: crate::sessions::Current,
    body: Bytes,
) -> Response {
    let (f, lang) = match checked_form(&current, &body) {
        Ok(checked) => checked,
        Err(expired) => return expired.into_response(),
    };
    let t = Tx::new(lang);
    let reporter_lang = Lang::from_code(Some(f.get("reporter_lang")));
    let today = Day::today();
    let contact = f.opt("contact");
    let envelope = match ReportEnvelope::new(
        f.get("text"),
        f.get("urgent") == "on",
        contact.as_deref(),
        reporter_lang,
        Channel::Phone,
        today,
    ) {
        Ok(e) => e,
        Err(e) => {
            return render(
                &PhonePage {
                    t,
                    nav: Nav::of(&current, lang),
                    error: Some(e.message(lang)),
                    prev: f,
                },
                StatusCode::BAD_REQUEST,
            );
        }
    };
    let sealed = match desk.identity.recipients().seal_envelope(&envelope) {
        Ok(s) => s,
        Err(e) => return store_failed(&t, "phone report", &e),
    };
    let (Ok(id), Ok(receipt_hash)) = (ReportId::generate(), vigil_core::random::bytes::<32>())
    else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    // A phone report has no receipt: the hash is of nothing anyone holds.
    let report = SealedReport {
        id,
        receipt_hash,
        sealed,
        received: today,
    };
    if let Err(e) = desk.store.desk_store_pulled(&[report]).await {
        return store_failed(&t, "phone report", &e);
    }
    desk.audit(
        &current.username,
        AuditAction::EnterReport,
        &[&id.to_string()],
    )
    .await;
    Redirect::to(&format!("/reports/{id}?lang={}", t.lang)).into_response()
}

// ---------------------------------------------------------------------------
// A report's page: the report, what it supports, and the coding forms.

/// A record a report supports, as its page lists it.
pub struct SupportedRow {
    pub entity: String,
    pub id: String,
    pub summary: String,
    pub link: Option<String>,
}

pub struct PersonChoice {
    pub id: String,
    pub name: String,
}

pub struct ActionRowView {
    pub id: String,
    pub summary: String,
}

#[derive(Template)]
#[template(path = "coding/report.html")]
struct ReportPage {
    t: Tx,
    nav: Nav,
    report: Opened,
    // deskmerge: what the old queue showed, by role.
    show_text: bool,
    details: Vec<(&'static str, String)>,
    messages: Vec<crate::replies::Opened>,
    reply: bool,
    supported: Vec<SupportedRow>,
    persons: Vec<PersonChoice>,
    actions: Vec<ActionRowView>,
    found_actions: Option<Vec<ActionRowView>>,
    error: Option<String>,
    /// Which form `prev` belongs to: `person`, `action` or `event`.
    which: &'static str,
    prev: Fields,
    search: ActionSearch,
    regions: Vec<Choice>,
    genders: Vec<Choice>,
    roles: Vec<Choice>,
    consent: Vec<Choice>,
    action_kinds: Vec<Choice>,
    topics: Vec<Choice>,
    authorised: Vec<Choice>,
    verification: Vec<Choice>,
    event_kinds: Vec<Choice>,
    articles: Vec<Choice>,
    triggers: Vec<Choice>,
}

impl ReportPage {
    /// The previous value of a field of this form, if the page shows it again.
    fn v(&self, form: &str, name: &str) -> &str {
        if self.which == form {
            self.prev.get(name)
        } else {
            ""
        }
    }

    fn sel(&self, form: &str, name: &str, value: &str) -> bool {
        self.which == form && self.prev.is(name, value)
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ActionSearch {
    lang: Option<String>,
    a_from: Option<String>,
    a_to: Option<String>,
    a_region: Option<String>,
}

fn genders(lang: Lang) -> Vec<Choice> {
    [("female", "женский", "female"), ("male", "мужской", "male")]
        .into_iter()
        .map(|(code, ru, en)| Choice {
            code: code.into(),
            label: lang.pick(ru, en).into(),
        })
        .collect()
}

fn parse_report_id(id: &str) -> Option<ReportId> {
    id.parse().ok()
}

fn not_found(t: Tx) -> Response {
    let message = t
        .pick(
            "Такого сообщения нет. Откройте его из очереди.",
            "No such report. Open it from the queue.",
        )
        .to_owned();
    problem(t, StatusCode::NOT_FOUND, message)
}

/// Everything a report page shows; `error`, `which` and `prev` when a form is shown again.
#[allow(clippy::too_many_arguments)]
async fn report_page(
    desk: &DeskWeb,
    current: crate::sessions::Current,
    id: ReportId,
    lang: Lang,
    search: ActionSearch,
    error: Option<String>,
    which: &'static str,
    prev: Fields,
) -> Response {
    let t = Tx::new(lang);
    if let Err(e) = desk
        .coding
        .index
        .refresh(desk.store.as_ref(), &desk.identity)
        .await
    {
        return store_failed(&t, "report", &e);
    }
    let Some(mut report) = desk.coding.index.get(id).await else {
        return not_found(t);
    };
    if which.is_empty() {
        // Opened to read (a form shown again is the same opening).
        desk.audit(
            &current.username,
            AuditAction::OpenReport,
            &[&id.to_string()],
        )
        .await;
    }
    // What a role may not see never reaches the page (authz.rs).
    let show_text = current.may(Perm::ReadReportText);
    let names = current.may(Perm::ReadNames);
    if !show_text {
        report.text.zeroize();
        report.text = None;
    }
    if !names || !show_text {
        report.contact.zeroize();
        report.contact = None;
    }
    let details = if show_text {
        crate::queue::detail_lines(&report.details, t.lang)
            .into_iter()
            .filter(|(label, _)| names || *label != lang.pick("Имена", "Names"))
            .collect()
    } else {
        Vec::new()
    };
    let messages = if show_text {
        let receipts = std::collections::HashSet::from([report.receipt_hash]);
        match crate::replies::conversations_of(desk.store.as_ref(), &desk.identity, &receipts).await
        {
            Ok(mut c) => c.remove(&report.receipt_hash).unwrap_or_default(),
            Err(e) => return store_failed(&t, "report", &e),
        }
    } else {
        Vec::new()
    };
    let reply = report.can_reply && current.may(Perm::Reply);
    let Some(access) = desk.coding.record() else {
        return no_record_key(t);
    };
    let record = Record {
        store: desk.store.as_ref(),
        key: &access.key,
    };
    let supported = match desk.store.record_supported_by(&report_source_id(id)).await {
        Ok(s) => s,
        Err(e) => return store_failed(&t, "report", &e),
    };
    let mut rows = Vec::new();
    let mut persons = Vec::new();
    let mut actions = Vec::new();
    for Supported { entity, id } in supported {
        let (summary, link) = match entity.as_str() {
            "person" => match record.person(&id).await {
                Ok(Some(p)) => {
                    if !names {
                        // An analyst sees that a person is coded, not who.
                        (String::new(), None)
                    } else {
                        persons.push(PersonChoice {
                            id: p.id.clone(),
                            name: p.identity.name.clone(),
                        });
                        (p.identity.name.clone(), Some(format!("/persons/{id}")))
                    }
                }
                Ok(None) => (String::new(), None),
                Err(e) => return store_failed(&t, "report", &e),
            },
            "action" => match record.action(&id).await {
                Ok(Some(a)) => {
                    let s = action_summary(&desk.coding, &a, lang);
                    actions.push(ActionRowView {
                        id: a.id.clone(),
                        summary: s.clone(),
                    });
                    (s, None)
                }
                Ok(None) => (String::new(), None),
                Err(e) => return store_failed(&t, "report", &e),
            },
            "event" => match record.event(&id).await {
                Ok(Some(e)) => (
                    event_summary(&desk.coding, &e, lang),
                    e.person_id
                        .filter(|_| names)
                        .map(|p| format!("/persons/{p}")),
                ),
                Ok(None) => (String::new(), None),
                Err(e) => return store_failed(&t, "report", &e),
            },
            _ => (String::new(), None),
        };
        rows.push(SupportedRow {
            entity,
            id,
            summary,
            link,
        });
    }
    let found_actions = if search.a_from.is_some()
        || search.a_to.is_some()
        || search.a_region.is_some()
    {
        let day = |s: &Option<String>| s.as_deref().and_then(parse_date).and_then(|d| d.start);
        let filter = ActionFilter {
            from: day(&search.a_from),
            to: day(&search.a_to),
            region: search.a_region.clone().filter(|r| !r.is_empty()),
            limit: 50,
        };
        match desk.store.record_find_actions(&filter).await {
            Ok(found) => Some(
                found
                    .iter()
                    .filter_map(|row| vigil_record::model::Action::from_row(row, &access.key).ok())
                    .map(|a| ActionRowView {
                        summary: action_summary(&desk.coding, &a, lang),
                        id: a.id,
                    })
                    .collect(),
            ),
            Err(e) => return store_failed(&t, "report", &e),
        }
    } else {
        None
    };
    let c = &desk.coding;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render(
        &ReportPage {
            report,
            show_text,
            details,
            messages,
            reply,
            supported: rows,
            persons,
            actions,
            found_actions,
            error,
            which,
            prev,
            search,
            regions: c.choices("regions", lang),
            genders: genders(lang),
            roles: c.choices("roles", lang),
            consent: c.choices("consent", lang),
            action_kinds: c.choices("action_kinds", lang),
            topics: c.choices("topics", lang),
            authorised: c.choices("authorised", lang),
            verification: c.choices("verification", lang),
            event_kinds: c.choices("event_kinds", lang),
            articles: c.choices("articles", lang),
            triggers: c.choices("triggers", lang),
            nav: Nav::of(&current, lang),
            t,
        },
        status,
    )
}

pub fn action_summary(c: &Coding, a: &Action, lang: Lang) -> String {
    let region = a
        .region
        .as_deref()
        .map(|r| c.label("regions", r, lang))
        .unwrap_or_default();
    let mut s = format!(
        "{} · {} · {}",
        show_date(&a.date),
        c.label("action_kinds", &a.kind, lang),
        region
    );
    if let Some(place) = &a.details.place {
        s.push_str(" · ");
        s.push_str(place);
    }
    s
}

pub fn event_summary(c: &Coding, e: &Event, lang: Lang) -> String {
    let mut s = format!(
        "{} · {} · {}",
        show_date(&e.date),
        c.label("event_kinds", &e.kind, lang),
        c.label("verification", &e.verification, lang)
    );
    for a in &e.articles {
        s.push_str(" · ");
        s.push_str(a);
    }
    s
}

pub(super) async fn report_get(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(search): Query<ActionSearch>,
) -> Result<Response, Forbidden> {
    signed_in.require(Perm::ReadQueue)?;
    let current = signed_in.0;
    let lang = Lang::from_code(search.lang.as_deref());
    let Some(id) = parse_report_id(&id) else {
        return Ok(not_found(Tx::new(lang)));
    };
    Ok(report_page(
        &desk,
        current,
        id,
        lang,
        search,
        None,
        "",
        Fields::default(),
    )
    .await)
}

/// What a coding form asks for when it is wrong: shown above the forms.
struct Invalid(String);

fn invalid(lang: Lang, ru: &str, en: &str) -> Invalid {
    Invalid(match lang {
        Lang::Ru => ru.to_owned(),
        Lang::En => en.to_owned(),
    })
}

/// A value that must be a code of a vocabulary (empty allowed when `optional`).
fn code_of(
    desk: &DeskWeb,
    f: &Fields,
    field: &str,
    vocab: &str,
    optional: bool,
    lang: Lang,
) -> Result<Option<String>, Invalid> {
    let value = f.get(field);
    if value.is_empty() {
        return if optional {
            Ok(None)
        } else {
            Err(Invalid(format!(
                "{} «{field}»",
                lang.pick("Выберите значение в поле", "Choose a value in the field")
            )))
        };
    }
    let known = desk
        .coding
        .vocab()
        .and_then(|v| v.get(vocab))
        .and_then(|v| v.get(value))
        .is_some();
    if known {
        Ok(Some(value.to_owned()))
    } else {
        Err(Invalid(format!(
            "{} «{field}»",
            lang.pick(
                "Значение не из словаря, выберите его из списка в поле",
                "The value is not in the vocabulary; choose one from the list in the field"
            )
        )))
    }
}

fn codes_of(
    desk: &DeskWeb,
    f: &Fields,
    field: &str,
    vocab: &str,
    lang: Lang,
) -> Result<Vec<String>, Invalid> {
    let values = f.all(field);
    let v = desk.coding.vocab().and_then(|v| v.get(vocab));
    for value in &values {
        if v.and_then(|v| v.get(value)).is_none() {
            return Err(Invalid(format!(
                "{} «{field}»",
                lang.pick(
                    "Значение не из словаря, выберите его из списка в поле",
                    "The value is not in the vocabulary; choose one from the list in the field"
                )
            )));
        }
    }
    Ok(values)
}

fn number(f: &Fields, field: &str, lang: Lang) -> Result<Option<i64>, Invalid> {
    let v = f.get(field);
    if v.is_empty() {
        return Ok(None);
    }
    v.replace([' ', '\u{a0}'], "")
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| {
            Invalid(format!(
                "{} «{field}»",
                lang.pick(
                    "Нужно целое неотрицательное число в поле",
                    "A whole number, zero or more, is needed in the field"
                )
            ))
        })
}

fn date_field(f: &Fields, field: &str, lang: Lang) -> Result<PartialDate, Invalid> {
    parse_date(f.get(field)).ok_or_else(|| {
        Invalid(format!(
            "{} «{field}»",
            lang.pick(
                "Дата не распознана: пишите ГГГГ-ММ-ДД, ГГГГ-ММ или ГГГГ (точность — по написанному) в поле",
                "The date was not understood: write YYYY-MM-DD, YYYY-MM or YYYY (the precision follows what is written) in the field"
            )
        ))
    })
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Writes the report's source row (once; again changes nothing).
async fn ensure_source(desk: &DeskWeb, id: ReportId, today: Day) -> Result<String, StoreError> {
    let source_id = report_source_id(id);
    let batch = RecordBatch {
        sources: vec![SourceRow {
            id: source_id.clone(),
            kind: "report".into(),
            report_id: Some(id.to_string()),
            file_sha256: None,
            sealed: None,
            added: today,
        }],
        ..RecordBatch::default()
    };
    desk.store.record_write(&batch).await?;
    Ok(source_id)
}

/// Why a coding form's work stopped short of writing.
enum Coded {
    Invalid(Invalid),
    Failed(String),
}

impl From<Invalid> for Coded {
    fn from(i: Invalid) -> Self {
        Coded::Invalid(i)
    }
}

fn failed(e: impl std::fmt::Display) -> Coded {
    Coded::Failed(e.to_string())
}

/// What a coding form wrote: the region coded (for the queue's filter) and
/// the ids of the records written.
type Written = Result<(Option<String>, Vec<String>), Coded>;

/// One checked coding form, as its work sees it: the desk, the form's fields,
/// the report's source row (already written) and who codes it, when.
struct CodingForm {
    desk: Arc<DeskWeb>,
    f: Arc<Fields>,
    lang: Lang,
    editor: String,
    today: Day,
    source_id: String,
}

impl CodingForm {
    /// The record, through the key the desk opened.
    fn record(&self) -> Result<Record<'_>, Coded> {
        let access = self
            .desk
            .coding
            .record()
            .ok_or_else(|| Coded::Failed("no record key".into()))?;
        Ok(Record {
            store: self.desk.store.as_ref(),
            key: &access.key,
        })
    }

    fn invalid(&self, ru: &str, en: &str) -> Coded {
        invalid(self.lang, ru, en).into()
    }

    /// The form's `field` as an entry of the vocabulary `vocab`.
    fn code(&self, field: &str, vocab: &str, optional: bool) -> Result<Option<String>, Invalid> {
        code_of(&self.desk, &self.f, field, vocab, optional, self.lang)
    }

    fn codes(&self, field: &str, vocab: &str) -> Result<Vec<String>, Invalid> {
        codes_of(&self.desk, &self.f, field, vocab, self.lang)
    }

    fn number(&self, field: &str) -> Result<Option<i64>, Invalid> {
        number(&self.f, field, self.lang)
    }

    fn date(&self, field: &str) -> Result<PartialDate, Invalid> {
        date_field(&self.f, field, self.lang)
    }

    /// Where the report's content came from, for a record written from it.
    fn origin(&self) -> Option<vigil_store::record::Origin> {
        Some(vigil_store::record::Origin {
            source_id: self.source_id.clone(),
            row: None,
        })
    }

    /// Makes the report a source of a record already held.
    async fn support(&self, entity: &str, id: &str, region: Option<String>) -> Written {
        let support = SupportRow {
            source_id: self.source_id.clone(),
            entity: entity.into(),
            entity_id: id.to_owned(),
        };
        self.desk
            .store
            .record_add_supports(&[support])
            .await
            .map_err(failed)?;
        Ok((region, vec![id.to_owned()]))
    }
}

/// Runs one coding form: checks the session's form token, writes the report's
/// source, does the work, and answers with the report page (again, with the
/// form's values, if it was wrong).
async fn code_form<F, Fut>(
    desk: Arc<DeskWeb>,
    signed_in: SignedIn,
    id: String,
    body: Bytes,
    which: &'static str,
    work: F,
) -> Result<Response, Forbidden>
where
    F: FnOnce(CodingForm) -> Fut,
    Fut: std::future::Future<Output = Written>,
{
    signed_in.require(Perm::Code)?;
    let current = signed_in.0;
    Ok(code_form_checked(desk, current, id, body, which, work).await)
}

async fn code_form_checked<F, Fut>(
    desk: Arc<DeskWeb>,
    current: crate::sessions::Current,
    id: String,
    body: Bytes,
    which: &'static str,
    work: F,
) -> Response
where
    F: FnOnce(CodingForm) -> Fut,
    Fut: std::future::Future<Output = Written>,
{
    let (f, lang) = match checked_form(&current, &body) {
        Ok((f, lang)) => (Arc::new(f), lang),
        Err(expired) => return expired.into_response(),
    };
    let t = Tx::new(lang);
    let Some(id) = parse_report_id(&id) else {
        return not_found(t);
    };
    if let Err(e) = desk
        .coding
        .index
        .refresh(desk.store.as_ref(), &desk.identity)
        .await
    {
        return store_failed(&t, "coding", &e);
    }
    if desk.coding.index.get(id).await.is_none() {
        return not_found(t);
    }
    if desk.coding.record().is_none() {
        return no_record_key(t);
    }
    let today = Day::today();
    let source_id = match ensure_source(&desk, id, today).await {
        Ok(s) => s,
        Err(e) => return store_failed(&t, "coding", &e),
    };
    let form = CodingForm {
        desk: desk.clone(),
        f: f.clone(),
        lang,
        editor: current.username.clone(),
        today,
        source_id,
    };
    match work(form).await {
        Ok((region, created)) => {
            desk.coding.index.mark_coded(id, region.as_deref()).await;
            // Ids and kinds only: the report, what kind of record, which records.
            let report = id.to_string();
            let mut subjects: Vec<&str> = vec![&report, which];
            subjects.extend(created.iter().map(String::as_str));
            desk.audit(&current.username, AuditAction::Edit, &subjects)
                .await;
            Redirect::to(&format!("/reports/{id}?lang={}#supports", t.lang)).into_response()
        }
        Err(Coded::Invalid(Invalid(message))) => {
            let prev = Arc::try_unwrap(f).unwrap_or_default();
            report_page(
                &desk,
                current,
                id,
                lang,
                ActionSearch::default(),
                Some(message),
                which,
                prev,
            )
            .await
        }
        Err(Coded::Failed(e)) => store_failed(&t, "coding", &e),
    }
}

pub(super) async fn code_person(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Forbidden> {
    code_form(desk, signed_in, id, body, "person", |c| async move {
        let record = c.record()?;
        let existing = c.f.get("existing");
        if !existing.is_empty() {
            let Some(person) = record.person(existing).await.map_err(failed)? else {
                return Err(c.invalid(
                    "Нет человека с таким номером. Найдите его в списке людей.",
                    "No person has that id. Find them in the list of persons.",
                ));
            };
            return c.support("person", &person.id, person.region.clone()).await;
        }
        let name = c.f.get("name");
        if name.is_empty() {
            return Err(c.invalid(
                "Впишите имя так, как оно написано в сообщении, или номер уже известного человека.",
                "Write the name as the report writes it, or the id of a person already known.",
            ));
        }
        let birth_year = c.number("birth_year")?;
        if let Some(y) = birth_year
            && !(1900..=2030).contains(&y)
        {
            return Err(c.invalid(
                "Год рождения должен быть между 1900 и 2030.",
                "The birth year must be between 1900 and 2030.",
            ));
        }
        let gender = match c.f.get("gender") {
            "" => None,
            g @ ("female" | "male") => Some(g.to_owned()),
            _ => {
                return Err(c.invalid("Выберите пол из списка.", "Choose a gender from the list."));
            }
        };
        let region = c.code("region", "regions", true)?;
        let roles = c.codes("roles", "roles")?;
        let consent = c
            .code("consent", "consent", true)?
            .unwrap_or_else(|| "none".into());
        let pid = new_id("p").map_err(|_| failed("random"))?;
        let person = Person {
            id: pid,
            identity: PersonIdentity {
                name: name.to_owned(),
                variants: lines(c.f.get("variants")),
                birth_date: None,
                birth_year: birth_year.and_then(|y| i32::try_from(y).ok()),
                contacts: Vec::new(),
                notes: c.f.opt("notes"),
            },
            gender,
            region: region.clone(),
            roles,
            consent,
            origin: c.origin(),
        };
        let created = vec![person.id.clone()];
        record
            .add(&[person], &[], &[], &[], &c.editor, c.today)
            .await
            .map_err(failed)?;
        Ok((region, created))
    })
    .await
}

pub(super) async fn code_action(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Forbidden> {
    code_form(desk, signed_in, id, body, "action", |c| async move {
        let record = c.record()?;
        let existing = c.f.get("existing");
        if !existing.is_empty() {
            let Some(action) = record.action(existing).await.map_err(failed)? else {
                return Err(c.invalid(
                    "Нет акции с таким номером. Найдите её поиском по дате и региону.",
                    "No protest action has that id. Find it by date and region.",
                ));
            };
            return c.support("action", &action.id, action.region.clone()).await;
        }
        let date = c.date("date")?;
        let region = c.code("region", "regions", true)?;
        let kind = c.code("kind", "action_kinds", false)?.unwrap_or_default();
        let topic = c.code("topic", "topics", true)?;
        let authorised = c.code("authorised", "authorised", true)?;
        let verification = c
            .code("verification", "verification", true)?
            .unwrap_or_else(|| "unverified".into());
        let detained = c.number("detained")?;
        let aid = new_id("a").map_err(|_| failed("random"))?;
        let created = vec![aid.clone()];
        let action = Action {
            id: aid.clone(),
            date,
            region: region.clone(),
            city: c.f.opt("city"),
            kind,
            topic,
            organiser: c.f.opt("organiser"),
            authorised,
            verification,
            details: ActionDetails {
                place: c.f.opt("place"),
                description: c.f.opt("description"),
                links: lines(c.f.get("links")),
            },
            stations: lines(c.f.get("stations")),
            origin: c.origin(),
        };
        record
            .add(&[], &[action], &[], &[], &c.editor, c.today)
            .await
            .map_err(failed)?;
        if let Some(n) = detained {
            let batch = RecordBatch {
                counts: vec![ActionCount {
                    action_id: aid,
                    source_id: c.source_id.clone(),
                    detained: n.unsigned_abs(),
                }],
                ..RecordBatch::default()
            };
            c.desk.store.record_write(&batch).await.map_err(failed)?;
        }
        Ok((region, created))
    })
    .await
}

pub(super) async fn code_event(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Forbidden> {
    code_form(desk, signed_in, id, body, "event", |c| async move {
        let record = c.record()?;
        let person_id = c.f.opt("person");
        if let Some(p) = &person_id
            && record.person(p).await.map_err(failed)?.is_none()
        {
            return Err(c.invalid("Нет человека с таким номером.", "No person has that id."));
        }
        let action_id = c.f.opt("action");
        if let Some(a) = &action_id
            && record.action(a).await.map_err(failed)?.is_none()
        {
            return Err(c.invalid(
                "Нет акции с таким номером.",
                "No protest action has that id.",
            ));
        }
        let kind = c.code("kind", "event_kinds", false)?.unwrap_or_default();
        let date = c.date("date")?;
        let region = c.code("region", "regions", true)?;
        let articles = c.codes("articles", "articles")?;
        let trigger = c.code("trigger", "triggers", true)?;
        let verification = c
            .code("verification", "verification", true)?
            .unwrap_or_else(|| "unverified".into());
        let (fine_rub, arrest_days) = (c.number("fine_rub"), c.number("arrest_days"));
        let (fine_rub, arrest_days) = (fine_rub?, arrest_days?);
        let mut cases = Vec::new();
        let case_title = c.f.get("case_title");
        let mut case_id = c.f.opt("case");
        if !case_title.is_empty() {
            let Some(person) = &person_id else {
                return Err(c.invalid(
                    "Дело ведётся об одном человеке: выберите человека, чтобы открыть дело.",
                    "A case is about one person: choose the person to open a case.",
                ));
            };
            let cid = new_id("c").map_err(|_| failed("random"))?;
            cases.push(Case {
                id: cid.clone(),
                person_id: person.clone(),
                details: CaseDetails {
                    title: case_title.to_owned(),
                    notes: None,
                },
            });
            case_id = Some(cid);
        } else if let Some(id) = &case_id
            && c.desk
                .store
                .record_case(id)
                .await
                .map_err(failed)?
                .is_none()
        {
            return Err(c.invalid("Нет дела с таким номером.", "No case has that id."));
        }
        let eid = new_id("e").map_err(|_| failed("random"))?;
        let mut created = vec![eid.clone()];
        created.extend(cases.iter().map(|c| c.id.clone()));
        let event = Event {
            id: eid,
            person_id,
            action_id,
            case_id,
            kind,
            date,
            region: region.clone(),
            city: c.f.opt("city"),
            police_station: c.f.opt("police_station"),
            court: c.f.opt("court"),
            articles,
            trigger,
            fine_rub,
            arrest_days,
            sentence: c.f.opt("sentence"),
            verification,
            details: EventDetails {
                notes: c.f.opt("notes"),
                links: lines(c.f.get("links")),
            },
            origin: c.origin(),
        };
        record
            .add(&[], &[], &cases, &[event], &c.editor, c.today)
            .await
            .map_err(failed)?;
        Ok((region, created))
    })
    .await
}

/// Persons by id for a page (`None` for an id not held).
pub async fn persons_by_id(
    desk: &DeskWeb,
    key: &RecordKey,
    ids: &[String],
) -> Result<HashMap<String, Person>, vigil_record::record::RecordError> {
    let record = Record {
        store: desk.store.as_ref(),
        key,
    };
    let mut out = HashMap::new();
    for id in ids {
        if let Some(p) = record.person(id).await? {
            out.insert(id.clone(), p);
        }
    }
    Ok(out)
}

/// The queue and coding routes, merged into the desk's router.
pub(super) fn routes() -> axum::Router<Arc<DeskWeb>> {
    use axum::routing::{get, post};

    use super::{persons, queue};
    axum::Router::new()
        .route("/", get(queue::queue_get).post(queue::queue_post))
        .route("/reports/new", get(phone_form).post(phone_save))
        .route("/reports/{id}", get(report_get))
        .route("/reports/{id}/person", post(code_person))
        .route("/reports/{id}/action", post(code_action))
        .route("/reports/{id}/event", post(code_event))
        .route("/persons", get(persons::list_get).post(persons::list_post))
        .route("/persons/duplicates", get(persons::duplicates_get))
        .route("/persons/merge", post(persons::merge_post))
        .route("/persons/{id}", get(persons::person_get))
        .route("/merges", get(persons::merges_get))
        .route("/merges/{id}/undo", post(persons::unmerge_post))
}
