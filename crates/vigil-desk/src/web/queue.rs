//! The queue pages: reports a page of 50 at a time, urgent first, filtered by
//! urgency, coding status, region, day and channel, and searched over their
//! decrypted text in memory (crate::index). The search words travel in a POST
//! body, never in a URL, so they stay out of the browser's history.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;
use vigil_core::{Channel, Day, Lang};
use zeroize::Zeroize;

use super::coding::{Choice, Tx, render, store_failed};
use super::{DeskWeb, Forbidden, Nav, SignedIn};
use crate::authz::Perm;
use crate::index::{Filter, Page, Row, Status};
use crate::replies::conversations_of;

/// Reports on one queue page.
pub const PER_PAGE: usize = 50;

#[derive(Deserialize, Default)]
pub(super) struct QueueParams {
    lang: Option<String>,
    urgent: Option<String>,
    status: Option<String>,
    region: Option<String>,
    day: Option<String>,
    channel: Option<String>,
    q: Option<String>,
    page: Option<usize>,
    form_token: Option<String>,
}

impl Drop for QueueParams {
    fn drop(&mut self) {
        self.q.zeroize();
    }
}

/// A queue row with what the reader's role may see of it.
pub struct QueueRow {
    pub row: Row,
    /// The conversation with the reporter (only for roles that see report text).
    pub messages: Vec<crate::replies::Opened>,
    /// "received 12 min ago", or "".
    pub ago: String,
    /// A link to answer the reporter (the role may reply, the report carries a reply key).
    pub reply: bool,
}

#[derive(Template)]
#[template(path = "coding/queue.html")]
struct QueuePage<'a> {
    t: Tx,
    nav: Nav,
    page: Page,
    rows: Vec<QueueRow>,
    /// Whether this account sees report text (authz: ReadReportText).
    show_text: bool,
    errors: Vec<&'static str>,
    q: &'a str,
    urgent: bool,
    status: &'a str,
    region: &'a str,
    day: &'a str,
    channel: &'a str,
    regions: Vec<Choice>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub(super) fn channel_code(c: Option<Channel>) -> &'static str {
    c.map_or("unreadable", |c| c.as_str())
}

/// Reads the filter; what does not parse is left out and named in `errors`.
fn filter_of(p: &QueueParams, lang: Lang, errors: &mut Vec<&'static str>) -> Filter {
    let mut f = Filter {
        urgent_only: p.urgent.is_some(),
        search: non_empty(&p.q)
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect(),
        region: non_empty(&p.region).map(str::to_owned),
        ..Filter::default()
    };
    f.status = match non_empty(&p.status) {
        None => None,
        Some("coded") => Some(Status::Coded),
        Some("uncoded") => Some(Status::Uncoded),
        Some(_) => {
            errors.push(lang.pick(
                "Неизвестный статус: выберите «закодировано» или «не закодировано».",
                "Unknown status: choose coded or uncoded.",
            ));
            None
        }
    };
    if let Some(d) = non_empty(&p.day) {
        match d.parse::<Day>() {
            Ok(d) => f.day = Some(d),
            Err(_) => errors.push(lang.pick(
                "День получения не распознан: введите его как ГГГГ-ММ-ДД, например 2026-03-01.",
                "The day received was not understood: write it as YYYY-MM-DD, for example 2026-03-01.",
            )),
        }
    }
    f.channel = match non_empty(&p.channel) {
        None => None,
        Some("web_form") => Some(Some(Channel::WebForm)),
        Some("api") => Some(Some(Channel::Api)),
        Some("bot") => Some(Some(Channel::Bot)),
        Some("phone") => Some(Some(Channel::Phone)),
        Some("telegram") => Some(Some(Channel::Telegram)),
        Some("unreadable") => Some(None),
        Some(_) => {
            errors.push(lang.pick(
                "Неизвестный канал: выберите его из списка.",
                "Unknown channel: choose one from the list.",
            ));
            None
        }
    };
    f
}

async fn show(desk: &DeskWeb, signed_in: SignedIn, p: QueueParams) -> Result<Response, Forbidden> {
    signed_in.require(Perm::ReadQueue)?;
    let current = signed_in.0;
    let lang = Lang::from_code(p.lang.as_deref());
    let t = Tx::new(lang);
    // What a role may not see never reaches the page: an analyst gets the
    // rows (when, urgent, channel, coded, regions) without text or contact,
    // and cannot search the text either (a search would reveal it).
    let show_text = current.may(Perm::ReadReportText);
    let names = current.may(Perm::ReadNames);
    let may_reply = current.may(Perm::Reply);
    if let Err(e) = desk
        .coding
        .index
        .refresh(desk.store.as_ref(), &desk.identity)
        .await
    {
        return Ok(store_failed(&t, "queue", &e));
    }
    let mut errors = Vec::new();
    let mut filter = filter_of(&p, lang, &mut errors);
    if !show_text && !filter.search.is_empty() {
        filter.search.zeroize();
        filter.search.clear();
        errors.push(lang.pick(
            "Поиск по тексту сообщений вашей роли недоступен: фильтры ниже работают.",
            "Your role cannot search the reports' text: the filters below work.",
        ));
    }
    let now = OffsetDateTime::from_unix_timestamp(desk.clock.unix_seconds())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let mut page = desk
        .coding
        .index
        .page(&filter, p.page.unwrap_or(0), PER_PAGE, now)
        .await;
    let mut conversations = if show_text {
        let receipts: HashSet<[u8; 32]> = page.rows.iter().map(|r| r.receipt_hash).collect();
        match conversations_of(desk.store.as_ref(), &desk.identity, &receipts).await {
            Ok(c) => c,
            Err(e) => return Ok(store_failed(&t, "queue", &e)),
        }
    } else {
        HashMap::new()
    };
    let rows = std::mem::take(&mut page.rows)
        .into_iter()
        .map(|mut row| {
            if !show_text {
                row.excerpt.zeroize();
                row.excerpt = None;
            }
            if !names || !show_text {
                row.contact.zeroize();
                row.contact = None;
            }
            QueueRow {
                messages: conversations.remove(&row.receipt_hash).unwrap_or_default(),
                ago: crate::index::ago(row.minutes_ago, t.lang),
                reply: may_reply && row.can_reply,
                row,
            }
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(render(
        &QueuePage {
            nav: Nav::of(&current, lang),
            t,
            page,
            rows,
            show_text,
            errors,
            q: if show_text {
                non_empty(&p.q).unwrap_or_default()
            } else {
                ""
            },
            urgent: p.urgent.is_some(),
            status: non_empty(&p.status).unwrap_or_default(),
            region: non_empty(&p.region).unwrap_or_default(),
            day: non_empty(&p.day).unwrap_or_default(),
            channel: non_empty(&p.channel).unwrap_or_default(),
            regions: desk.coding.choices("regions", lang),
        },
        status,
    ))
}

pub(super) async fn queue_get(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Query(p): Query<QueueParams>,
) -> Result<Response, Forbidden> {
    show(&desk, signed_in, p).await
}

/// The same page, with the filter (and search words) in the body.
pub(super) async fn queue_post(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Form(p): Form<QueueParams>,
) -> Result<Response, Forbidden> {
    // It changes nothing, but it carries search words: only this desk's own form.
    if !signed_in.0.form_token_matches(p.form_token.as_deref()) {
        return Ok(super::coding::form_expired(Tx::new(Lang::from_code(
            p.lang.as_deref(),
        ))));
    }
    show(&desk, signed_in, p).await
}
