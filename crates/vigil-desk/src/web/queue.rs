//! The queue pages: reports a page of 50 at a time, urgent first, filtered by
//! urgency, coding status, region, day and channel, and searched over their
//! decrypted text in memory (crate::index). The search words travel in a POST
//! body, never in a URL, so they stay out of the browser's history.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vigil_core::{Channel, Day, Lang};
use zeroize::Zeroize;

use super::coding::{Choice, Tx, render, store_failed};
use super::{DeskWeb, SignedIn};
use crate::index::{Filter, Page, Status};

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
}

impl Drop for QueueParams {
    fn drop(&mut self) {
        self.q.zeroize();
    }
}

#[derive(Template)]
#[template(path = "coding/queue.html")]
struct QueuePage<'a> {
    t: Tx,
    username: String,
    form_token: String,
    page: Page,
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

async fn show(desk: &DeskWeb, current: crate::sessions::Current, p: QueueParams) -> Response {
    let lang = Lang::from_code(p.lang.as_deref());
    let t = Tx::new(lang);
    if let Err(e) = desk
        .coding
        .index
        .refresh(desk.store.as_ref(), &desk.identity)
        .await
    {
        return store_failed(&t, "queue", &e);
    }
    let mut errors = Vec::new();
    let filter = filter_of(&p, lang, &mut errors);
    let page = desk
        .coding
        .index
        .page(&filter, p.page.unwrap_or(0), PER_PAGE)
        .await;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    render(
        &QueuePage {
            t,
            username: current.username,
            form_token: current.form_token,
            page,
            errors,
            q: non_empty(&p.q).unwrap_or_default(),
            urgent: p.urgent.is_some(),
            status: non_empty(&p.status).unwrap_or_default(),
            region: non_empty(&p.region).unwrap_or_default(),
            day: non_empty(&p.day).unwrap_or_default(),
            channel: non_empty(&p.channel).unwrap_or_default(),
            regions: desk.coding.choices("regions", lang),
        },
        status,
    )
}

pub(super) async fn queue_get(
    State(desk): State<Arc<DeskWeb>>,
    SignedIn(current): SignedIn,
    Query(p): Query<QueueParams>,
) -> Response {
    show(&desk, current, p).await
}

/// The same page, with the filter (and search words) in the body.
pub(super) async fn queue_post(
    State(desk): State<Arc<DeskWeb>>,
    SignedIn(current): SignedIn,
    Form(p): Form<QueueParams>,
) -> Response {
    show(&desk, current, p).await
}
