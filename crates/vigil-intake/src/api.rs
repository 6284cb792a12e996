//! The JSON API for reports, and its OpenAPI description.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use vigil_core::{Channel, Consent, Happened, Lang, ReportDetails, Whom};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::texts::texts;
use crate::{Intake, Submission, SubmitError};

/// The API description, committed and served as is.
pub const OPENAPI: &str = include_str!("../openapi.json");

// Wiped when dropped. The OpenAPI schema is generated from this type (see
// openapi.rs); its doc comments are the descriptions API users read.
/// A report, in the reporter's words.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportRequest {
    /// What happened, in the reporter's words: at least one character that is
    /// not white space (surrounding white space is trimmed).
    #[schema(
        min_length = 1,
        max_length = 20000,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    text: String,
    /// Someone is detained right now and needs a lawyer.
    #[serde(default)]
    #[schema(default = false)]
    urgent: bool,
    /// How the team can reach the reporter, if they wish; empty or null means
    /// none.
    #[schema(max_length = 500)]
    contact: Option<String>,
    /// The reporter's language, `ru` or `en`; answers and errors use it. Any
    /// other value, or none, means Russian: a report is never refused for its
    /// language.
    #[schema(examples("ru", "en"))]
    lang: Option<String>,
    // --- intakeform: the guided form's answers, all optional.
    /// What happened. `detained_now` makes the report urgent.
    #[schema(schema_with = crate::openapi::happened)]
    happened: Option<String>,
    /// Whom it happened to.
    #[schema(schema_with = crate::openapi::whom)]
    whom: Option<String>,
    /// Name or names, if the reporter wishes.
    #[schema(max_length = 300)]
    names: Option<String>,
    /// When, as a date or in words.
    #[schema(max_length = 300)]
    when: Option<String>,
    /// The region's ISO 3166-2 code from the record's regions vocabulary (the
    /// form's picker lists them); empty or null means none.
    #[schema(schema_with = crate::openapi::region)]
    region: Option<String>,
    /// The city or town.
    #[schema(max_length = 300)]
    city: Option<String>,
    /// A street, a metro station, an address.
    #[schema(max_length = 300)]
    place: Option<String>,
    /// The police station or court, if known.
    #[schema(max_length = 300)]
    station: Option<String>,
    /// Consent to publication: `none`, only in `counts`, or name and case `public`.
    #[schema(schema_with = crate::openapi::consent)]
    consent: Option<String>,
}

/// A choice outside its list: a 422 naming the field and what it takes.
fn bad_choice(field: &str, allowed: &[&str], lang: Lang) -> Response {
    let list = allowed.join(", ");
    let message = match lang {
        Lang::Ru => {
            format!("Поле {field} принимает одно из значений: {list}; или не указывайте его.")
        }
        Lang::En => format!("The field {field} takes one of: {list}; or leave it out."),
    };
    error(StatusCode::UNPROCESSABLE_ENTITY, "bad_choice", message)
}

impl ReportRequest {
    /// The guided answers, or the error for a choice outside its list.
    fn details(&self, lang: Lang) -> Result<ReportDetails, Box<Response>> {
        fn choice<T: Copy>(
            field: &str,
            value: Option<&str>,
            all: &[T],
            code: fn(T) -> &'static str,
            lang: Lang,
        ) -> Result<Option<T>, Box<Response>> {
            match value {
                None => Ok(None),
                Some(v) => all
                    .iter()
                    .copied()
                    .find(|c| code(*c) == v)
                    .map(Some)
                    .ok_or_else(|| {
                        let codes: Vec<&str> = all.iter().map(|c| code(*c)).collect();
                        Box::new(bad_choice(field, &codes, lang))
                    }),
            }
        }
        Ok(ReportDetails {
            happened: choice(
                "happened",
                self.happened.as_deref(),
                &Happened::ALL,
                Happened::code,
                lang,
            )?,
            whom: choice("whom", self.whom.as_deref(), &Whom::ALL, Whom::code, lang)?,
            names: self.names.clone(),
            when: self.when.clone(),
            region: self.region.clone(),
            city: self.city.clone(),
            place: self.place.clone(),
            station: self.station.clone(),
            consent: choice(
                "consent",
                self.consent.as_deref(),
                &Consent::ALL,
                Consent::code,
                lang,
            )?,
        })
    }
}

/// A JSON error: a stable code for programs, a message for people.
pub(crate) fn error(status: StatusCode, code: &str, message: String) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

/// The language of error messages: the request's own `lang`, else the client's
/// Accept-Language, else Russian. The header is read, never kept.
pub(crate) fn lang_of(headers: &HeaderMap, requested: Option<&str>) -> Lang {
    if requested.is_some() {
        return Lang::from_code(requested);
    }
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|v| v.split(';').next().unwrap_or_default());
    Lang::from_code(accept)
}

/// What to tell the sender of JSON that did not parse. Nothing serde says is
/// passed on: its messages quote unknown field names and values, and a sender
/// may put a report's words in either.
fn malformed(e: &serde_json::Error, lang: Lang) -> String {
    let hint = lang.pick(
        "Ожидается JSON-объект вида {\"text\": \"...\", \"urgent\": false, \"contact\": \"...\", \"lang\": \"ru\"} (необязательные поля описаны в /api/v1/openapi.json)",
        "Expected a JSON object like {\"text\": \"...\", \"urgent\": false, \"contact\": \"...\", \"lang\": \"en\"} (the optional fields are in /api/v1/openapi.json)",
    );
    let serde_says = e.to_string();
    let what = if serde_says.starts_with("unknown field") {
        lang.pick(
            "неизвестное поле; допустимы text, urgent, contact, lang, happened, whom, names, when, region, city, place, station и consent",
            "an unknown field; allowed are text, urgent, contact, lang, happened, whom, names, when, region, city, place, station and consent",
        )
    } else if serde_says.starts_with("missing field") {
        lang.pick("нет поля text", "the field text is missing")
    } else if serde_says.starts_with("duplicate field") {
        lang.pick("поле повторяется", "a field is repeated")
    } else if e.classify() == serde_json::error::Category::Data {
        lang.pick("у поля неверный тип", "a field has the wrong type")
    } else {
        lang.pick("некорректный JSON", "malformed JSON")
    };
    format!(
        "{hint}: {what} ({} {}, {} {})",
        lang.pick("строка", "line"),
        e.line(),
        lang.pick("столбец", "column"),
        e.column()
    )
}

/// Reads a multipart body within the report's and the attachments' limits
/// (intakemerge).
pub(crate) async fn read_multipart(
    intake: &Intake,
    request: axum::extract::Request,
    boundary: &str,
) -> Result<crate::multipart::Parts, crate::multipart::MultipartError> {
    let limit = intake.config.max_body_bytes + intake.config.max_attachment_bytes + 16 * 1024;
    let (parts, body) = request.into_parts();
    let buf = crate::multipart::read_limited(body, &parts.headers, limit).await?;
    crate::multipart::parse(&buf, boundary)
}

pub(crate) async fn submit(
    State(intake): State<Arc<Intake>>,
    request: axum::extract::Request,
) -> Response {
    // What the JSON path needs of the headers is read here, so that they
    // are not copied for every report (intakefast).
    let header_lang = lang_of(request.headers(), None);
    // intakemerge: a report with files is multipart/form-data: the report's
    // JSON in a part named `report`, each file in a part named `attachment`.
    let Some(boundary) = crate::multipart::boundary(request.headers()) else {
        use axum::extract::FromRequest;
        let is_json = is_json(request.headers());
        let body = Bytes::from_request(request, &()).await;
        return submit_json(&intake, header_lang, is_json, body, Vec::new()).await;
    };
    let Some(_upload) = intake.upload_slot().await else {
        return busy(header_lang);
    };
    let parts = match read_multipart(&intake, request, &boundary).await {
        Ok(p) => p,
        Err(crate::multipart::MultipartError::TooLarge) => {
            let e = vigil_core::ReportError::AttachmentsTooLarge {
                max_mib: (intake.config.max_attachment_bytes / (1024 * 1024)) as u64,
            };
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                e.code(),
                e.message(header_lang),
            );
        }
        Err(crate::multipart::MultipartError::Malformed) => {
            let message = header_lang.pick(
                "Тело запроса не читается как multipart/form-data: нужна часть report с JSON сообщения и части attachment с файлами.",
                "The body does not read as multipart/form-data: send a part named report with the report's JSON and parts named attachment with the files.",
            );
            return error(
                StatusCode::BAD_REQUEST,
                "malformed_multipart",
                message.into(),
            );
        }
    };
    let mut report = None;
    let mut files = Vec::new();
    for f in parts.files {
        if f.field == "report" && report.is_none() {
            report = Some(Bytes::copy_from_slice(&f.bytes));
        } else if f.field == "attachment" {
            files.push(crate::Attachment {
                name: f.filename,
                media_type: f.content_type,
                bytes: f.bytes,
            });
        }
    }
    for f in parts.fields {
        if f.name == "report" && report.is_none() {
            report = Some(Bytes::copy_from_slice(f.value.as_bytes()));
        } else if f.name == "attachment" {
            // A part named attachment without a filename is a form field, not
            // a file: refused rather than silently dropped (the client meant a file).
            let message = header_lang.pick(
                "Часть attachment пришла без имени файла: отправьте каждый файл как файл (Content-Disposition с filename).",
                "A part named attachment came without a filename: send each file as a file (Content-Disposition with filename).",
            );
            return error(
                StatusCode::BAD_REQUEST,
                "malformed_multipart",
                message.into(),
            );
        }
    }
    let Some(report) = report else {
        let message = header_lang.pick(
            "Нет части report: пришлите JSON сообщения в части multipart с именем report.",
            "No part named report: send the report's JSON in a multipart part named report.",
        );
        return error(
            StatusCode::BAD_REQUEST,
            "malformed_multipart",
            message.into(),
        );
    };
    // The part named report is JSON whatever its own type says.
    submit_json(&intake, header_lang, true, Ok(report), files).await
}

/// Whether the body is declared as JSON.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"))
}

async fn submit_json(
    intake: &Intake,
    header_lang: Lang,
    is_json: bool,
    body: Result<Bytes, BytesRejection>,
    files: Vec<crate::Attachment>,
) -> Response {
    let body = match body {
        // Taken out of the shared buffer (no copy when it is the only owner)
        // so that the clear request is wiped once parsed.
        Ok(b) => Zeroizing::new(Vec::from(b)),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let message = header_lang.pick(
                "Тело запроса слишком большое. Сократите текст сообщения.",
                "The request body is too large. Shorten the report text.",
            );
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                message.into(),
            );
        }
        Err(r) => {
            let message = header_lang.pick(
                "Тело запроса пришло не полностью. Отправьте сообщение снова.",
                "The request body did not arrive whole. Send the report again.",
            );
            return error(r.status(), "bad_body", message.into());
        }
    };
    if !is_json {
        let message = header_lang.pick(
            "Отправьте JSON с заголовком Content-Type: application/json.",
            "Send JSON with the header Content-Type: application/json.",
        );
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_json",
            message.into(),
        );
    }
    let request: ReportRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                malformed(&e, header_lang),
            );
        }
    };
    drop(body);
    // The request's own `lang`, else the headers' (as `lang_of`).
    let lang = match request.lang.as_deref() {
        Some(code) => Lang::from_code(Some(code)),
        None => header_lang,
    };
    let details = match request.details(lang) {
        Ok(d) => d,
        Err(response) => return *response,
    };
    let submission = Submission {
        text: &request.text,
        urgent: request.urgent,
        contact: request.contact.as_deref(),
        details,
        lang,
    };
    match intake
        .submit_with_files(submission, files, Channel::Api)
        .await
    {
        // Written directly rather than through a JSON map: a receipt is
        // letters, digits and dashes, nothing to escape (intakefast).
        Ok(receipt) => (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/json")],
            format!("{{\"receipt\":\"{receipt}\"}}"),
        )
            .into_response(),
        Err(SubmitError::Invalid(e)) => error(invalid_status(&e), e.code(), e.message(lang)),
        Err(SubmitError::Busy) => busy(lang),
        Err(SubmitError::Unavailable) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            texts(lang).unavailable.into(),
        ),
    }
}

/// 413 for files over the limit (as when the body itself is), else 422.
pub(crate) fn invalid_status(e: &vigil_core::ReportError) -> StatusCode {
    match e {
        vigil_core::ReportError::AttachmentsTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Every sealing slot is taken: a 503 that asks to come back shortly.
fn busy(lang: Lang) -> Response {
    let mut response = error(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        texts(lang).busy.into(),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("10"));
    response
}

pub(crate) async fn openapi() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        OPENAPI,
    )
        .into_response()
}
