//! The roster page (deskurgent): shifts with their escalation order; a
//! coordinator or admin adds and removes shifts. No JavaScript.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use vigil_core::Lang;

use super::{DeskWeb, LangQuery, SignedIn};
use crate::audit::AuditAction;
use crate::authz::Perm;
use crate::roster::{format_time, new_shift, on_duty};

pub(super) struct RosterTexts {
    pub lang: &'static str,
    pub title: &'static str,
    pub other_lang_name: &'static str,
    pub other_lang_code: &'static str,
    pub logout: &'static str,
    pub queue: &'static str,
    pub duty: &'static str,
    pub roster: &'static str,
    pub shifts: &'static str,
    pub none: &'static str,
    pub now: &'static str,
    pub remove: &'static str,
    pub add: &'static str,
    pub starts: &'static str,
    pub ends: &'static str,
    pub people: &'static str,
    pub people_hint: &'static str,
    pub save: &'static str,
    pub times_utc: &'static str,
    pub form_expired: &'static str,
}

fn texts(lang: Lang) -> RosterTexts {
    match lang {
        Lang::Ru => RosterTexts {
            lang: "ru",
            title: "vigil — график дежурств",
            other_lang_name: "English",
            other_lang_code: "en",
            logout: "Выйти",
            queue: "Очередь",
            duty: "Дежурство",
            roster: "График",
            shifts: "Смены",
            none: "Смен нет: срочные сообщения никому не оповещаются.",
            now: "идёт сейчас",
            remove: "Удалить",
            add: "Добавить смену",
            starts: "Начало (UTC)",
            ends: "Конец (UTC)",
            people: "Дежурные по порядку оповещения",
            people_hint: "Имена учётных записей через запятую: первый получает оповещение сразу, следующий — если никто не ответил за отведённые минуты.",
            save: "Сохранить",
            times_utc: "Время — UTC, в виде ГГГГ-ММ-ДДTЧЧ:ММ.",
            form_expired: "Форма устарела. Обновите страницу и отправьте её ещё раз.",
        },
        Lang::En => RosterTexts {
            lang: "en",
            title: "vigil — duty roster",
            other_lang_name: "Русский",
            other_lang_code: "ru",
            logout: "Log out",
            queue: "Queue",
            duty: "Duty",
            roster: "Roster",
            shifts: "Shifts",
            none: "No shifts: urgent reports alert no one.",
            now: "on now",
            remove: "Remove",
            add: "Add a shift",
            starts: "Starts (UTC)",
            ends: "Ends (UTC)",
            people: "People on duty, in alert order",
            people_hint: "Account names separated by commas: the first is alerted at once, the next if nobody answered within the set minutes.",
            save: "Save",
            times_utc: "Times are UTC, written YYYY-MM-DDTHH:MM.",
            form_expired: "The form has expired. Reload the page and send it again.",
        },
    }
}

pub(super) struct ShiftView {
    pub id: String,
    pub starts: String,
    pub ends: String,
    pub people: String,
    pub now: bool,
}

#[derive(Template)]
#[template(path = "roster.html")]
struct RosterPage {
    t: RosterTexts,
    username: String,
    form_token: String,
    /// Whether the forms to change the roster are shown (authz: ManageRoster).
    edit: bool,
    error: Option<String>,
    shifts: Vec<ShiftView>,
    /// What was typed, shown again after a refusal.
    starts: String,
    ends: String,
    people: String,
}

#[derive(Default)]
struct Typed {
    starts: String,
    ends: String,
    people: String,
}

async fn page(
    desk: &DeskWeb,
    lang: Lang,
    current: crate::sessions::Current,
    error: Option<String>,
    typed: Typed,
    status: StatusCode,
) -> Response {
    let shifts = match desk.store.duty_shifts().await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "roster page: storage failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let now = desk.clock.unix_seconds();
    let current_id = on_duty(&shifts, now).map(|s| s.id.clone());
    let page = RosterPage {
        t: texts(lang),
        edit: current.may(Perm::ManageRoster),
        username: current.username,
        form_token: current.form_token,
        error,
        shifts: shifts
            .iter()
            .filter(|s| s.ends > now - 7 * 24 * 3600)
            .map(|s| ShiftView {
                id: s.id.clone(),
                starts: format_time(s.starts).replace('T', " "),
                ends: format_time(s.ends).replace('T', " "),
                people: s.people.join(", "),
                now: current_id.as_deref() == Some(s.id.as_str()),
            })
            .collect(),
        starts: typed.starts,
        ends: typed.ends,
        people: typed.people,
    };
    vigil_web::page(page.render(), status)
}

async fn roster(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Query(q): Query<LangQuery>,
) -> Response {
    // Who is on duty when: for everyone who takes duty; changing it is
    // for coordinators and admins.
    if let Err(no) = signed_in.require(Perm::Acknowledge) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(q.lang.as_deref());
    page(&desk, lang, current, None, Typed::default(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct AddForm {
    #[serde(default)]
    starts: String,
    #[serde(default)]
    ends: String,
    #[serde(default)]
    people: String,
    form_token: Option<String>,
    lang: Option<String>,
}

async fn add(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Form(form): Form<AddForm>,
) -> Response {
    if let Err(no) = signed_in.require(Perm::ManageRoster) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(form.lang.as_deref());
    let typed = Typed {
        starts: form.starts.chars().take(40).collect(),
        ends: form.ends.chars().take(40).collect(),
        people: form.people.chars().take(1000).collect(),
    };
    if !current.form_token_matches(form.form_token.as_deref()) {
        let message = texts(lang).form_expired.to_owned();
        return page(
            &desk,
            lang,
            current,
            Some(message),
            typed,
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let shift = match new_shift(None, &form.starts, &form.ends, &form.people) {
        Ok(s) => s,
        Err(e) => {
            return page(
                &desk,
                lang,
                current,
                Some(e.to_string()),
                typed,
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    match desk.store.duty_put_shift(&shift).await {
        Ok(()) => {
            desk.audit(&current.username, AuditAction::RosterChanged, &[&shift.id])
                .await;
            Redirect::to(&format!("/roster?lang={}", lang.code())).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "roster: storage failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

#[derive(Deserialize)]
struct RemoveForm {
    #[serde(default)]
    shift: String,
    form_token: Option<String>,
    lang: Option<String>,
}

async fn remove(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Form(form): Form<RemoveForm>,
) -> Response {
    if let Err(no) = signed_in.require(Perm::ManageRoster) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(form.lang.as_deref());
    if !current.form_token_matches(form.form_token.as_deref()) {
        let message = texts(lang).form_expired.to_owned();
        return page(
            &desk,
            lang,
            current,
            Some(message),
            Typed::default(),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    match desk.store.duty_delete_shift(&form.shift).await {
        Ok(removed) => {
            if removed {
                desk.audit(
                    &current.username,
                    AuditAction::RosterChanged,
                    &[&form.shift, "removed"],
                )
                .await;
            }
            Redirect::to(&format!("/roster?lang={}", lang.code())).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "roster: storage failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

pub(super) fn routes() -> Router<Arc<DeskWeb>> {
    Router::new()
        .route("/roster", get(roster))
        .route("/roster/add", post(add))
        .route("/roster/remove", post(remove))
}
