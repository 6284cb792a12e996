//! The report form: plain HTML that works with JavaScript off.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vigil_core::{Channel, Lang};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

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

/// A query that does not parse (say, `lang` twice) shows the Russian form.
pub(crate) async fn show(q: Result<Query<LangQuery>, QueryRejection>) -> Response {
    let lang = q.ok().and_then(|Query(q)| q.lang);
    let page = FormPage {
        t: texts(Lang::from_code(lang.as_deref())),
        error: None,
        text: "",
        contact: "",
        urgent: false,
    };
    render(&page, StatusCode::OK)
}

/// A report as the form sends it; wiped when dropped.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ReportForm {
    #[serde(default)]
    text: String,
    urgent: Option<String>,
    contact: Option<String>,
    lang: Option<String>,
}

/// Parses the form's body, wiping the clear request once parsed. Parsed by hand
/// rather than with axum's `Form`, whose buffer nobody could wipe.
fn parse(body: Result<Bytes, BytesRejection>) -> Result<ReportForm, StatusCode> {
    let body = match body {
        Ok(b) => Zeroizing::new(Vec::from(b)),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(StatusCode::PAYLOAD_TOO_LARGE);
        }
        Err(_) => return Err(StatusCode::BAD_REQUEST),
    };
    serde_urlencoded::from_bytes(&body).map_err(|_| StatusCode::BAD_REQUEST)
}

pub(crate) async fn submit(
    State(intake): State<Arc<Intake>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let form = match parse(body) {
        Ok(f) => f,
        Err(status) => {
            // The body never reached us whole: we cannot know the language asked
            // for, so answer in Russian first and English after.
            let too_large = status == StatusCode::PAYLOAD_TOO_LARGE;
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
                SubmitError::Busy => (texts(lang).busy.to_owned(), StatusCode::SERVICE_UNAVAILABLE),
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
