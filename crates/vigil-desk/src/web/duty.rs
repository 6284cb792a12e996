//! The duty page (deskurgent): urgent reports on top with "I'm on it", who is
//! on duty now, time-to-acknowledge per report and its median per week.
//! Works without JavaScript and at phone width (duty lawyers use phones).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use vigil_core::{Lang, ReportId};
use zeroize::Zeroizing;

use super::{DeskWeb, LangQuery, SignedIn};
use crate::audit::AuditAction;
use crate::authz::Perm;
use crate::roster::{format_time, on_duty};
use crate::urgent::{WeekMedian, format_wait, medians_by_week};

pub(super) struct DutyTexts {
    pub lang: &'static str,
    pub title: &'static str,
    pub other_lang_name: &'static str,
    pub other_lang_code: &'static str,
    pub logout: &'static str,
    pub queue: &'static str,
    pub duty: &'static str,
    pub roster: &'static str,
    pub on_duty_now: &'static str,
    pub nobody_on_duty: &'static str,
    pub waiting: &'static str,
    pub none_waiting: &'static str,
    pub seen: &'static str,
    pub waiting_for: &'static str,
    pub alerted: &'static str,
    pub on_it: &'static str,
    pub unreadable: &'static str,
    pub contact: &'static str,
    pub acknowledged: &'static str,
    pub by: &'static str,
    pub time_to_ack: &'static str,
    pub week: &'static str,
    pub count: &'static str,
    pub median: &'static str,
    pub medians: &'static str,
    pub alerts_pending: &'static str,
    pub alerts_failed: &'static str,
    pub times_utc: &'static str,
    pub already: &'static str,
    pub form_expired: &'static str,
}

pub(super) fn texts(lang: Lang) -> DutyTexts {
    match lang {
        Lang::Ru => DutyTexts {
            lang: "ru",
            title: "vigil — дежурство",
            other_lang_name: "English",
            other_lang_code: "en",
            logout: "Выйти",
            queue: "Очередь",
            duty: "Дежурство",
            roster: "График",
            on_duty_now: "Сейчас дежурят (в порядке оповещения)",
            nobody_on_duty: "Сейчас никто не дежурит: срочные сообщения никому не оповещаются. Добавьте смену в график.",
            waiting: "Срочно: задержаны сейчас",
            none_waiting: "Срочных сообщений без ответа нет.",
            seen: "Пришло",
            waiting_for: "ждёт",
            alerted: "оповещено человек",
            on_it: "Беру на себя",
            unreadable: "Не удаётся открыть: сообщение запечатано другим ключом или повреждено.",
            contact: "Контакт",
            acknowledged: "Принятые срочные сообщения",
            by: "принял(а)",
            time_to_ack: "время до ответа",
            week: "Неделя",
            count: "Принято",
            median: "Медиана времени до ответа",
            medians: "Время до ответа по неделям",
            alerts_pending: "Оповещений ждут отправки",
            alerts_failed: "Оповещений не удалось доставить (см. журнал рабочего места)",
            times_utc: "Время — UTC.",
            already: "Это сообщение уже принято другим дежурным.",
            form_expired: "Форма устарела. Обновите страницу и нажмите кнопку ещё раз.",
        },
        Lang::En => DutyTexts {
            lang: "en",
            title: "vigil — duty",
            other_lang_name: "Русский",
            other_lang_code: "ru",
            logout: "Log out",
            queue: "Queue",
            duty: "Duty",
            roster: "Roster",
            on_duty_now: "On duty now (in alert order)",
            nobody_on_duty: "Nobody is on duty now: urgent reports alert no one. Add a shift to the roster.",
            waiting: "Urgent: detained now",
            none_waiting: "No urgent report is waiting.",
            seen: "Arrived",
            waiting_for: "waiting",
            alerted: "people alerted",
            on_it: "I'm on it",
            unreadable: "Cannot open: sealed to another key, or damaged.",
            contact: "Contact",
            acknowledged: "Acknowledged urgent reports",
            by: "by",
            time_to_ack: "time to acknowledge",
            week: "Week",
            count: "Acknowledged",
            median: "Median time to acknowledge",
            medians: "Time to acknowledge by week",
            alerts_pending: "Alerts waiting to be sent",
            alerts_failed: "Alerts that could not be delivered (see the desk's log)",
            times_utc: "Times are UTC.",
            already: "This report was already acknowledged by someone else.",
            form_expired: "The form has expired. Reload the page and press the button again.",
        },
    }
}

pub(super) struct Waiting {
    pub id: ReportId,
    pub seen: String,
    pub waiting: String,
    pub alerted: u32,
    pub text: Option<Zeroizing<String>>,
    pub contact: Option<Zeroizing<String>>,
}

pub(super) struct Acknowledged {
    pub id: ReportId,
    pub seen: String,
    pub by: String,
    pub wait: String,
}

pub(super) struct Median {
    pub week: String,
    pub acknowledged: usize,
    pub median: String,
}

#[derive(Template)]
#[template(path = "duty.html")]
struct DutyPage {
    t: DutyTexts,
    username: String,
    form_token: String,
    message: Option<&'static str>,
    on_duty: Option<Vec<String>>,
    waiting: Vec<Waiting>,
    acknowledged: Vec<Acknowledged>,
    medians: Vec<Median>,
    alerts_pending: u64,
    alerts_failed: u64,
}

/// The most acknowledged reports listed (newest first); medians cover all.
const ACKNOWLEDGED_SHOWN: usize = 50;

async fn page(
    desk: &DeskWeb,
    lang: Lang,
    username: String,
    form_token: String,
    message: Option<&'static str>,
    status: StatusCode,
) -> Response {
    match build(desk, lang, username, form_token, message).await {
        Ok(page) => vigil_web::page(page.render(), status),
        Err(e) => {
            tracing::error!(error = %e, "duty page: storage failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

async fn build(
    desk: &DeskWeb,
    lang: Lang,
    username: String,
    form_token: String,
    message: Option<&'static str>,
) -> Result<DutyPage, vigil_store::StoreError> {
    let now = desk.clock.unix_seconds();
    let urgent = desk.store.urgent_reports(false).await?;
    let shifts = desk.store.duty_shifts().await?;
    let (alerts_pending, alerts_failed) = desk.store.alert_backlog().await?;
    let open_ids: Vec<ReportId> = urgent
        .iter()
        .filter(|u| u.acked_at.is_none())
        .map(|u| u.report_id)
        .collect();
    let mut sealed = std::collections::HashMap::new();
    if !open_ids.is_empty() {
        for r in desk.store.desk_reports().await? {
            if open_ids.contains(&r.id) {
                sealed.insert(r.id, r.sealed);
            }
        }
    }
    let mut waiting = Vec::new();
    let mut acknowledged = Vec::new();
    for u in &urgent {
        match (&u.acked_by, u.acked_at) {
            (Some(by), Some(at)) => acknowledged.push(Acknowledged {
                id: u.report_id,
                seen: format_time(u.seen).replace('T', " "),
                by: by.clone(),
                wait: format_wait(at - u.seen, lang),
            }),
            _ => {
                let envelope = sealed
                    .get(&u.report_id)
                    .and_then(|s| desk.identity.open_envelope(s).ok());
                waiting.push(Waiting {
                    id: u.report_id,
                    seen: format_time(u.seen).replace('T', " "),
                    waiting: format_wait(now - u.seen, lang),
                    alerted: u.alerted,
                    text: envelope.as_ref().map(|e| Zeroizing::new(e.text.clone())),
                    contact: envelope
                        .as_ref()
                        .and_then(|e| e.contact.clone())
                        .map(Zeroizing::new),
                });
            }
        }
    }
    acknowledged.reverse();
    acknowledged.truncate(ACKNOWLEDGED_SHOWN);
    let medians = medians_by_week(&urgent)
        .into_iter()
        .map(|m: WeekMedian| Median {
            week: m.week,
            acknowledged: m.acknowledged,
            median: format_wait(m.median_seconds, lang),
        })
        .collect();
    Ok(DutyPage {
        t: texts(lang),
        username,
        form_token,
        message,
        on_duty: on_duty(&shifts, now).map(|s| s.people.clone()),
        waiting,
        acknowledged,
        medians,
        alerts_pending,
        alerts_failed,
    })
}

async fn duty(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Query(q): Query<LangQuery>,
) -> Response {
    // The duty page shows urgent reports' text and contacts: for those who
    // may acknowledge (every role but analyst).
    if let Err(no) = signed_in.require(Perm::Acknowledge) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(q.lang.as_deref());
    page(
        &desk,
        lang,
        current.username,
        current.form_token,
        None,
        StatusCode::OK,
    )
    .await
}

#[derive(Deserialize)]
struct AckForm {
    #[serde(default)]
    report: String,
    form_token: Option<String>,
    lang: Option<String>,
}

async fn acknowledge(
    State(desk): State<Arc<DeskWeb>>,
    signed_in: SignedIn,
    Form(form): Form<AckForm>,
) -> Response {
    if let Err(no) = signed_in.require(Perm::Acknowledge) {
        return no.into_response();
    }
    let current = signed_in.0;
    let lang = Lang::from_code(form.lang.as_deref());
    let t = texts(lang);
    if !current.form_token_matches(form.form_token.as_deref()) {
        return page(
            &desk,
            lang,
            current.username,
            current.form_token,
            Some(t.form_expired),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let Ok(report) = form.report.trim().parse::<ReportId>() else {
        return page(
            &desk,
            lang,
            current.username,
            current.form_token,
            Some(t.already),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let at = desk.clock.unix_seconds();
    match desk
        .store
        .urgent_acknowledge(report, &current.username, at)
        .await
    {
        Ok(true) => {
            desk.audit(
                &current.username,
                AuditAction::Acknowledge,
                &[&report.to_string()],
            )
            .await;
            Redirect::to(&format!("/duty?lang={}", lang.code())).into_response()
        }
        Ok(false) => {
            page(
                &desk,
                lang,
                current.username,
                current.form_token,
                Some(t.already),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = %e, "acknowledge: storage failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

pub(super) fn routes() -> Router<Arc<DeskWeb>> {
    Router::new()
        .route("/duty", get(duty))
        .route("/duty/ack", post(acknowledge))
        .merge(super::roster::routes())
}
