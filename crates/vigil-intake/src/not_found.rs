//! A wrong address: people (browsers, which ask for HTML) get a page in their
//! language with a way back to the form; programs get the API's JSON error.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::Intake;
use crate::api::{error, lang_of};
use crate::texts::{OrgView, Texts, org_view, texts};

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    t: Texts,
    org: OrgView<'a>,
}

/// Whether the client prefers HTML: browsers list `text/html` in Accept,
/// API clients send `application/json` or nothing.
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

fn answer(intake: &Intake, headers: &HeaderMap, status: StatusCode) -> Response {
    if wants_html(headers) {
        let lang = lang_of(headers, None);
        let page = NotFoundPage {
            t: texts(lang),
            org: org_view(&intake.config.organisation, lang),
        };
        return vigil_web::page(page.render(), status);
    }
    let (code, message) = if status == StatusCode::METHOD_NOT_ALLOWED {
        (
            "method_not_allowed",
            "Этот адрес не принимает такой метод; см. /api/v1/openapi.json. / This address does not take that method; see /api/v1/openapi.json.",
        )
    } else {
        (
            "not_found",
            "Нет такой страницы; API описан в /api/v1/openapi.json. / No such page; the API is described at /api/v1/openapi.json.",
        )
    };
    error(status, code, message.into())
}

pub(crate) async fn not_found(State(intake): State<Arc<Intake>>, headers: HeaderMap) -> Response {
    answer(&intake, &headers, StatusCode::NOT_FOUND)
}

/// A known address with the wrong method (say, a browser reloading
/// `/report` with GET): people get the same page, programs a 405.
pub(crate) async fn method_not_allowed(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
) -> Response {
    answer(&intake, &headers, StatusCode::METHOD_NOT_ALLOWED)
}
