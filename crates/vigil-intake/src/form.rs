//! The report form: plain HTML that works with JavaScript off.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vigil_core::{Channel, Lang};

use crate::texts::{Texts, texts};
use crate::{Intake, SubmitError};

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage<'a> {
    t: Texts,
    error: Option<String>,
    text: &'a str,
    contact: &'a str,
    urgent: bool,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    t: Texts,
    receipt: String,
    urgent: bool,
}

#[derive(Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

fn render(template: &impl Template, status: StatusCode) -> Response {
    vigil_web::page(template.render(), status)
}

pub(crate) async fn show(Query(q): Query<LangQuery>) -> Response {
    let page = FormPage {
        t: texts(Lang::from_code(q.lang.as_deref())),
        error: None,
        text: "",
        contact: "",
        urgent: false,
    };
    render(&page, StatusCode::OK)
}

#[derive(Deserialize)]
pub(crate) struct ReportForm {
    #[serde(default)]
    text: String,
    urgent: Option<String>,
    contact: Option<String>,
    lang: Option<String>,
}

pub(crate) async fn submit(
    State(intake): State<Arc<Intake>>,
    form: Result<Form<ReportForm>, FormRejection>,
) -> Response {
    let Form(form) = match form {
        Ok(f) => f,
        Err(rejection) => {
            // The body never reached us whole: we cannot know the language asked
            // for, so answer in Russian first and English after.
            let too_large = rejection.status() == StatusCode::PAYLOAD_TOO_LARGE;
            let (ru, en) = (texts(Lang::Ru), texts(Lang::En));
            let message = if too_large {
                format!("{} / {}", ru.too_large, en.too_large)
            } else {
                format!("{} / {}", ru.bad_form, en.bad_form)
            };
            let page = FormPage {
                t: ru,
                error: Some(message),
                text: "",
                contact: "",
                urgent: false,
            };
            let status = if too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            return render(&page, status);
        }
    };
    let lang = Lang::from_code(form.lang.as_deref());
    let urgent = form.urgent.is_some();
    let contact = form.contact.as_deref();
    match intake
        .submit(&form.text, urgent, contact, lang, Channel::WebForm)
        .await
    {
        Ok(receipt) => render(
            &ReceiptPage {
                t: texts(lang),
                receipt: receipt.to_string(),
                urgent,
            },
            StatusCode::OK,
        ),
        Err(e) => {
            // Give the reporter their words back so nothing they wrote is lost.
            let (message, status) = match e {
                SubmitError::Invalid(e) => (e.message(lang), StatusCode::UNPROCESSABLE_ENTITY),
                SubmitError::Unavailable => (
                    texts(lang).unavailable.to_owned(),
                    StatusCode::SERVICE_UNAVAILABLE,
                ),
            };
            let page = FormPage {
                t: texts(lang),
                error: Some(message),
                text: &form.text,
                contact: contact.unwrap_or_default(),
                urgent,
            };
            render(&page, status)
        }
    }
}
