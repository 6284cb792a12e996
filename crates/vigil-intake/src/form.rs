//! The report form: plain HTML that works with JavaScript off, every field
//! labelled, its hint and its error beside it (aria-describedby).

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vigil_core::{Channel, Consent, Happened, Lang, ReportDetails, ReportError, Whom};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::texts::{OrgView, Texts, org_view, texts};
use crate::{Intake, Submission, SubmitError, regions};

/// One short answer of the guided form, as the page shows it.
struct FieldView<'a> {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    value: &'a str,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage<'a> {
    t: Texts,
    org: OrgView<'a>,
    error: Option<String>,
    /// The field the error is about, or "" for the whole form.
    field: &'static str,
    text: &'a str,
    contact: &'a str,
    urgent: bool,
    happened: &'a str,
    whom: &'a str,
    consent: &'a str,
    fields: Vec<FieldView<'a>>,
    regions: Vec<(&'static str, &'static str)>,
    happened_options: Vec<(&'static str, &'static str)>,
    whom_options: Vec<(&'static str, &'static str)>,
    consent_options: Vec<(&'static str, &'static str)>,
    /// browserseal: what the page's script needs to seal in the browser.
    seal: crate::browser_seal::SealView,
    // intakemerge: attachments (none when the intake takes no files).
    attachment_label: &'static str,
    attachment_hint: String,
    takes_files: bool,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage<'a> {
    t: Texts,
    org: OrgView<'a>,
    receipt: String,
    urgent: bool,
    /// browserseal: the page was sealed in the browser, so the server does not
    /// know whether it is urgent; the urgent notes are sent hidden and the
    /// page's script shows them.
    sealed_in_browser: bool,
}

#[derive(Deserialize)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

impl LangQuery {
    pub(crate) fn lang(self) -> Option<String> {
        self.lang
    }
}

fn render(template: &impl Template, status: StatusCode) -> Response {
    vigil_web::page(template.render(), status)
}

/// A report as the form sends it; wiped when dropped.
#[derive(Default, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ReportForm {
    #[serde(default)]
    text: String,
    urgent: Option<String>,
    contact: Option<String>,
    lang: Option<String>,
    happened: Option<String>,
    whom: Option<String>,
    names: Option<String>,
    when: Option<String>,
    region: Option<String>,
    city: Option<String>,
    place: Option<String>,
    station: Option<String>,
    consent: Option<String>,
}

fn s(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or_default()
}

impl ReportForm {
    /// The guided answers; a choice the form does not offer is ignored.
    fn details(&self) -> ReportDetails {
        ReportDetails {
            happened: self.happened.as_deref().and_then(Happened::from_code),
            whom: self.whom.as_deref().and_then(Whom::from_code),
            names: self.names.clone(),
            when: self.when.clone(),
            region: self.region.clone(),
            city: self.city.clone(),
            place: self.place.clone(),
            station: self.station.clone(),
            consent: self.consent.as_deref().and_then(Consent::from_code),
        }
    }
}

/// The form page, filled with what the reporter sent (nothing they wrote is lost).
fn form_page<'a>(
    intake: &'a Intake,
    lang: Lang,
    form: &'a ReportForm,
    error: Option<String>,
    field: &'static str,
) -> FormPage<'a> {
    let t = texts(lang);
    let fields = vec![
        FieldView {
            name: "names",
            label: t.names_label,
            hint: t.names_hint,
            value: s(&form.names),
        },
        FieldView {
            name: "when",
            label: t.when_label,
            hint: t.when_hint,
            value: s(&form.when),
        },
        FieldView {
            name: "region",
            label: t.region_label,
            hint: "",
            value: s(&form.region),
        },
        FieldView {
            name: "city",
            label: t.city_label,
            hint: "",
            value: s(&form.city),
        },
        FieldView {
            name: "place",
            label: t.place_label,
            hint: t.place_hint,
            value: s(&form.place),
        },
        FieldView {
            name: "station",
            label: t.station_label,
            hint: t.station_hint,
            value: s(&form.station),
        },
    ];
    let mib = intake.config.max_attachment_bytes / (1024 * 1024);
    FormPage {
        attachment_label: lang.pick("Файлы", "Files"),
        attachment_hint: match lang {
            Lang::Ru => format!(
                "Фото, видео или документы (например, решение суда или фото протокола), вместе до {mib} МБ. Из фотографий JPEG и PNG удаляются место съёмки и модель телефона; из других файлов (видео, PDF) такие сведения не удаляются. Если отправка не удастся, файлы нужно будет приложить снова."
            ),
            Lang::En => format!(
                "Photos, videos or documents (a court decision, a photo of a police report), up to {mib} MiB together. Location and phone model are removed from JPEG and PNG photos; other files (videos, PDFs) keep theirs. If sending fails, the files must be attached again."
            ),
        },
        takes_files: intake.config.max_attachment_bytes > 0,
        org: org_view(&intake.config.organisation, lang),
        error,
        field,
        text: &form.text,
        contact: s(&form.contact),
        urgent: form.urgent.is_some(),
        happened: s(&form.happened),
        whom: s(&form.whom),
        consent: s(&form.consent),
        fields,
        regions: regions()
            .iter()
            .map(|r| (r.code.as_str(), r.name(lang)))
            .collect(),
        happened_options: Happened::ALL
            .iter()
            .map(|h| (h.code(), h.label(lang)))
            .collect(),
        whom_options: Whom::ALL
            .iter()
            .map(|w| (w.code(), w.label(lang)))
            .collect(),
        consent_options: Consent::ALL
            .iter()
            .map(|c| (c.code(), c.label(lang)))
            .collect(),
        seal: crate::browser_seal::seal_view(intake, lang),
        t,
    }
}

/// A query that does not parse (say, `lang` twice) shows the Russian form.
pub(crate) async fn show(
    State(intake): State<Arc<Intake>>,
    q: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    let lang = Lang::from_code(q.ok().and_then(|Query(q)| q.lang()).as_deref());
    let empty = ReportForm::default();
    crate::browser_seal::allow_scripts(render(
        &form_page(&intake, lang, &empty, None, ""),
        StatusCode::OK,
    ))
}

/// Parses the form's body, wiping the clear request once parsed. Parsed by hand
/// rather than with axum's `Form`, whose buffer nobody could wipe.
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, StatusCode> {
    let body = match body {
        Ok(b) => Zeroizing::new(Vec::from(b)),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(StatusCode::PAYLOAD_TOO_LARGE);
        }
        Err(_) => return Err(StatusCode::BAD_REQUEST),
    };
    serde_urlencoded::from_bytes(&body).map_err(|_| StatusCode::BAD_REQUEST)
}

/// The field a refusal is about, so the page can show it beside that field.
fn field_of(e: &ReportError) -> &'static str {
    match e {
        ReportError::EmptyText | ReportError::TextTooLong { .. } => "text",
        ReportError::ContactTooLong { .. } => "contact",
        ReportError::FieldTooLong { field, .. } => field,
        ReportError::UnknownRegion => "region",
        ReportError::AttachmentsTooLarge { .. }
        | ReportError::TooManyAttachments { .. }
        | ReportError::BrokenPhoto => "attachment",
    }
}

/// What to say about a body that never reached us whole: we cannot know the
/// language asked for, so Russian first and English after.
pub(crate) fn damaged(status: StatusCode) -> String {
    let (ru, en) = (texts(Lang::Ru), texts(Lang::En));
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("{} / {}", ru.too_large, en.too_large)
    } else {
        format!("{} / {}", ru.bad_form, en.bad_form)
    }
}

pub(crate) async fn submit(
    State(intake): State<Arc<Intake>>,
    query: Result<Query<LangQuery>, QueryRejection>,
    request: axum::extract::Request,
) -> Response {
    // intakemerge: a form with files comes as multipart; its language is in
    // the query too, so that a refusal before the body is read speaks it.
    let query_lang = query.ok().and_then(|Query(q)| q.lang());
    let mut files = Vec::new();
    let mut _upload = None;
    let body = if let Some(boundary) = crate::multipart::boundary(request.headers()) {
        let lang = Lang::from_code(query_lang.as_deref());
        let refuse = |intake: &Intake, message: String, status: StatusCode| {
            let empty = ReportForm::default();
            render(
                &form_page(intake, lang, &empty, Some(message), "attachment"),
                status,
            )
        };
        let Some(slot) = intake.upload_slot().await else {
            return refuse(
                &intake,
                texts(lang).busy.to_owned(),
                StatusCode::SERVICE_UNAVAILABLE,
            );
        };
        _upload = Some(slot);
        match crate::api::read_multipart(&intake, request, &boundary).await {
            Ok(parts) => {
                files = parts.files;
                let pairs: Vec<(&str, &str)> = parts
                    .fields
                    .iter()
                    .map(|f| (f.name.as_str(), f.value.as_str()))
                    .collect();
                let encoded =
                    Zeroizing::new(serde_urlencoded::to_string(&pairs).unwrap_or_default());
                Ok(Bytes::copy_from_slice(encoded.as_bytes()))
            }
            Err(crate::multipart::MultipartError::TooLarge) => {
                let e = ReportError::AttachmentsTooLarge {
                    max_mib: (intake.config.max_attachment_bytes / (1024 * 1024)) as u64,
                };
                return refuse(&intake, e.message(lang), StatusCode::PAYLOAD_TOO_LARGE);
            }
            Err(crate::multipart::MultipartError::Malformed) => {
                return refuse(
                    &intake,
                    damaged(StatusCode::BAD_REQUEST),
                    StatusCode::BAD_REQUEST,
                );
            }
        }
    } else {
        use axum::extract::FromRequest;
        Bytes::from_request(request, &()).await
    };
    let form: ReportForm = match parse(body) {
        Ok(f) => f,
        Err(status) => {
            let empty = ReportForm::default();
            let page = form_page(&intake, Lang::Ru, &empty, Some(damaged(status)), "");
            return crate::browser_seal::allow_scripts(render(&page, status));
        }
    };
    let lang = Lang::from_code(form.lang.as_deref());
    let details = form.details();
    let urgent = form.urgent.is_some() || details.happened == Some(Happened::DetainedNow);
    let submission = Submission {
        text: &form.text,
        urgent,
        contact: form.contact.as_deref(),
        details,
        lang,
    };
    let files = files
        .into_iter()
        .map(|f| crate::Attachment {
            name: f.filename,
            media_type: f.content_type,
            bytes: f.bytes,
        })
        .collect();
    match intake
        .submit_with_files(submission, files, Channel::WebForm)
        .await
    {
        Ok(receipt) => receipt_response(&intake, lang, &receipt, urgent, false),
        Err(e) => {
            // Give the reporter their words back so nothing they wrote is lost.
            let (message, field, status) = match e {
                SubmitError::Invalid(e) => (
                    e.message(lang),
                    field_of(&e),
                    crate::api::invalid_status(&e),
                ),
                SubmitError::Busy => (
                    texts(lang).busy.to_owned(),
                    "",
                    StatusCode::SERVICE_UNAVAILABLE,
                ),
                SubmitError::Unavailable => (
                    texts(lang).unavailable.to_owned(),
                    "",
                    StatusCode::SERVICE_UNAVAILABLE,
                ),
            };
            crate::browser_seal::allow_scripts(render(
                &form_page(&intake, lang, &form, Some(message), field),
                status,
            ))
        }
    }
}

/// The receipt page, shown once: no browser or proxy cache keeps a copy.
pub(crate) fn receipt_response(
    intake: &Intake,
    lang: Lang,
    receipt: &vigil_core::Receipt,
    urgent: bool,
    sealed_in_browser: bool,
) -> Response {
    let mut response = render(
        &ReceiptPage {
            t: texts(lang),
            org: org_view(&intake.config.organisation, lang),
            receipt: receipt.to_string(),
            urgent,
            sealed_in_browser,
        },
        StatusCode::OK,
    );
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}
