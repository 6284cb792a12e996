//! intakeform: the page that answers a reporter. It shows the report and the
//! conversation so far, and seals a reply to the report's receipt key; the
//! next pull hands it to the intake.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vigil_core::{Lang, ReportId};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{DeskWeb, SignedIn, render};
use crate::audit::AuditAction;
use crate::authz::Perm;
use crate::queue::{QueueItem, open_one};
use crate::replies::{ReplyError, write_reply};

struct ReplyTexts {
    lang: &'static str,
    title: &'static str,
    back: &'static str,
    report: &'static str,
    conversation: &'static str,
    team: &'static str,
    reporter: &'static str,
    your_reply: &'static str,
    hint: &'static str,
    send: &'static str,
    unreadable: &'static str,
}

fn texts(lang: Lang) -> ReplyTexts {
    match lang {
        Lang::Ru => ReplyTexts {
            lang: "ru",
            title: "Ответ автору сообщения",
            back: "К очереди",
            report: "Сообщение",
            conversation: "Переписка",
            team: "Команда",
            reporter: "Автор сообщения",
            your_reply: "Ваш ответ",
            hint: "Автор прочитает ответ на странице «Ответы по коду» после следующей выгрузки с приёмной. Ответ шифруется: приёмная не может его прочитать.",
            send: "Отправить ответ",
            unreadable: "Не удаётся открыть этим ключом.",
        },
        Lang::En => ReplyTexts {
            lang: "en",
            title: "Reply to the reporter",
            back: "Back to the queue",
            report: "Report",
            conversation: "Conversation",
            team: "Team",
            reporter: "Reporter",
            your_reply: "Your reply",
            hint: "The reporter reads it on the \u{201c}Replies by code\u{201d} page after the next pull from the intake. It is sealed: the intake cannot read it.",
            send: "Send the reply",
            unreadable: "Cannot be opened with this key.",
        },
    }
}

#[derive(Template)]
#[template(path = "reply.html")]
struct ReplyPage<'a> {
    t: ReplyTexts,
    item: &'a QueueItem,
    form_token: &'a str,
    error: Option<String>,
    text: &'a str,
}

#[derive(Deserialize)]
pub(super) struct LangQuery {
    lang: Option<String>,
}

#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub(super) struct ReplyForm {
    #[serde(default)]
    text: String,
    form_token: Option<String>,
    lang: Option<String>,
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "desk reply: storage failed");
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

async fn page(
    desk: &DeskWeb,
    id: &str,
    lang: Lang,
    form_token: &str,
    error: Option<String>,
    text: &str,
    status: StatusCode,
) -> Response {
    // One report opened, not the whole queue (a flood holds tens of thousands).
    let now = time::OffsetDateTime::from_unix_timestamp(desk.clock.unix_seconds())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let found = match id.parse::<ReportId>() {
        Ok(report) => match open_one(desk.store.as_ref(), &desk.identity, &report, now).await {
            Ok(found) => found,
            Err(e) => return unavailable(e),
        },
        Err(_) => None,
    };
    let Some(item) = &found else {
        return (
            StatusCode::NOT_FOUND,
            lang.pick(
                "Такого сообщения нет на рабочем месте.",
                "There is no such report on this desk.",
            ),
        )
            .into_response();
    };
    render(
        &ReplyPage {
            t: texts(lang),
            item,
            form_token,
            error,
            text,
        },
        status,
    )
}

pub(super) async fn show(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    // The page shows the report and its conversation: for those who may reply.
    if let Err(no) = signed_in.require(Perm::Reply) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(q.lang.as_deref());
    page(
        &desk,
        &id,
        lang,
        &current.form_token,
        None,
        "",
        StatusCode::OK,
    )
    .await
}

pub(super) async fn send(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Response {
    if let Err(no) = signed_in.require(Perm::Reply) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(form.lang.as_deref());
    if !current.form_token_matches(form.form_token.as_deref()) {
        let message = lang.pick(
            "Форма устарела. Обновите страницу и отправьте ответ снова (текст сохранён ниже).",
            "The form has expired. Reload the page and send the reply again (your text is kept below).",
        );
        return page(
            &desk,
            &id,
            lang,
            &current.form_token,
            Some(message.into()),
            &form.text,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let Ok(report) = id.parse::<ReportId>() else {
        return page(
            &desk,
            &id,
            lang,
            &current.form_token,
            None,
            "",
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    let now = time::OffsetDateTime::now_utc();
    match write_reply(
        desk.store.as_ref(),
        &desk.identity,
        &report,
        &form.text,
        now,
    )
    .await
    {
        Ok(message) => {
            desk.audit(
                &current.username,
                AuditAction::Reply,
                &[&report.to_string(), &message.to_string()],
            )
            .await;
            Redirect::to(&format!("/?lang={}#r-{report}", lang.code())).into_response()
        }
        Err(ReplyError::Store(e)) => unavailable(e),
        Err(e) => {
            let message = match &e {
                ReplyError::Message(m) => m.message(lang),
                other => other.to_string(),
            };
            page(
                &desk,
                &id,
                lang,
                &current.form_token,
                Some(message),
                &form.text,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
