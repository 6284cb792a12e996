//! Replies by receipt: the status page and its JSON API. The receipt travels
//! only in request bodies (a POST form, JSON), never in a URL.
//!
//! Reading is the same work whatever the receipt: its keyed hash, its reply
//! key, one query, and opening what the query found. A wrong receipt finds
//! nothing, exactly as a receipt with no replies yet, and gets the same answer.
//! Adding to a receipt the intake does not know does the same sealing and
//! answers the same, but keeps nothing: a code that is well formed (the check
//! characters catch typos) yet unknown is a guess or an expired receipt.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vigil_core::followup::{MessageEnvelope, MessageError, ReplyKey, SealedMessage, Sender};
use vigil_core::receipt::ReceiptParseError;
use vigil_core::{Day, Lang, Receipt, ReportId};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::Intake;
use crate::api::{error, lang_of};
use crate::form::{LangQuery, damaged, parse};
use crate::texts::{OrgView, Texts, org_view, texts};

/// One message as the reporter reads it.
#[derive(Serialize)]
pub(crate) struct Shown {
    /// `team` or `you`.
    from: &'static str,
    day: String,
    text: String,
}

impl Drop for Shown {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

pub(crate) enum FollowupError {
    Receipt(ReceiptParseError),
    Message(MessageError),
    Unavailable,
}

impl FollowupError {
    fn code(&self) -> &'static str {
        match self {
            FollowupError::Receipt(ReceiptParseError::Length) => "receipt_length",
            FollowupError::Receipt(ReceiptParseError::Typo) => "receipt_typo",
            FollowupError::Message(e) => e.code(),
            FollowupError::Unavailable => "unavailable",
        }
    }

    fn message(&self, lang: Lang) -> String {
        let t = texts(lang);
        match self {
            FollowupError::Receipt(ReceiptParseError::Length) => t.receipt_length.into(),
            FollowupError::Receipt(ReceiptParseError::Typo) => t.receipt_typo.into(),
            FollowupError::Message(e) => e.message(lang),
            FollowupError::Unavailable => t.unavailable.into(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            FollowupError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

impl Intake {
    /// Every message of a receipt the reporter can read, oldest first.
    pub(crate) async fn read_messages(
        &self,
        receipt: &Receipt,
    ) -> Result<Vec<Shown>, FollowupError> {
        let hash = self.config.receipt_key.hash(receipt);
        let key = ReplyKey::derive(receipt).map_err(|_| FollowupError::Unavailable)?;
        let sealed = self.store.intake_messages(&hash).await.map_err(|e| {
            tracing::error!(error = %e, "follow-up: storage failed");
            FollowupError::Unavailable
        })?;
        Ok(sealed
            .iter()
            .filter_map(|m| {
                // One that will not open (damaged) is left out, not fatal.
                let opened = key.open(&m.sealed).ok()?;
                Some(Shown {
                    from: match m.from {
                        Sender::Team => "team",
                        Sender::Reporter => "you",
                    },
                    day: m.day.to_string(),
                    text: opened.text.clone(),
                })
            })
            .collect())
    }

    /// Seals a reporter's follow-up to the desk and to the receipt's reply key,
    /// and stores it for the desk if the receipt is known.
    pub(crate) async fn add_message(
        &self,
        receipt: &Receipt,
        text: &str,
    ) -> Result<(), FollowupError> {
        let now = time::OffsetDateTime::now_utc();
        let message = MessageEnvelope::new(text, Some(vigil_core::day::timestamp(now)))
            .map_err(FollowupError::Message)?;
        let key = ReplyKey::derive(receipt).map_err(|_| FollowupError::Unavailable)?;
        let to = self
            .config
            .recipients
            .and(&key.recipient())
            .map_err(|_| FollowupError::Unavailable)?;
        let sealed = message.seal(&to).map_err(|_| FollowupError::Unavailable)?;
        drop(message);
        let followup = SealedMessage {
            id: ReportId::generate().map_err(|_| FollowupError::Unavailable)?,
            receipt_hash: self.config.receipt_key.hash(receipt),
            from: Sender::Reporter,
            day: Day::from_date(now.date()),
            sealed,
        };
        // Stored or not (an unknown receipt), the answer is the same.
        self.store
            .intake_add_followup(&followup)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "follow-up: storage failed");
                FollowupError::Unavailable
            })?;
        Ok(())
    }
}

fn read_receipt(text: &str) -> Result<Receipt, FollowupError> {
    text.parse().map_err(FollowupError::Receipt)
}

// --- the page ---

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    t: Texts,
    org: OrgView<'a>,
    error: Option<String>,
    receipt_error: bool,
    text_error: bool,
    /// `None`: ask for the receipt; `Some`: the receipt's messages.
    messages: Option<Vec<Shown>>,
    receipt: &'a str,
    text: &'a str,
    sent: bool,
}

impl<'a> StatusPage<'a> {
    fn new(intake: &'a Intake, lang: Lang) -> Self {
        StatusPage {
            t: texts(lang),
            org: org_view(&intake.config.organisation, lang),
            error: None,
            receipt_error: false,
            text_error: false,
            messages: None,
            receipt: "",
            text: "",
            sent: false,
        }
    }
}

fn render(page: &StatusPage<'_>, status: StatusCode) -> Response {
    let mut response = vigil_web::page(page.render(), status);
    // A page with replies on it is not kept by the browser or anything between.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

pub(crate) async fn status_form(
    State(intake): State<Arc<Intake>>,
    q: Result<Query<LangQuery>, QueryRejection>,
) -> Response {
    let lang = Lang::from_code(q.ok().and_then(|Query(q)| q.lang()).as_deref());
    render(&StatusPage::new(&intake, lang), StatusCode::OK)
}

#[derive(Default, Deserialize, Zeroize, ZeroizeOnDrop)]
pub(crate) struct StatusForm {
    #[serde(default)]
    receipt: String,
    #[serde(default)]
    text: String,
    lang: Option<String>,
}

/// Shows a receipt's messages, or the receipt form again with its error.
async fn show(intake: &Intake, form: &StatusForm, lang: Lang, sent: bool) -> Response {
    let mut page = StatusPage::new(intake, lang);
    let receipt = match read_receipt(&form.receipt) {
        Ok(r) => r,
        Err(e) => {
            page.error = Some(e.message(lang));
            page.receipt_error = true;
            page.receipt = &form.receipt;
            return render(&page, e.status());
        }
    };
    match intake.read_messages(&receipt).await {
        Ok(messages) => {
            page.messages = Some(messages);
            page.receipt = &form.receipt;
            page.sent = sent;
            render(&page, StatusCode::OK)
        }
        Err(e) => {
            page.error = Some(e.message(lang));
            page.receipt = &form.receipt;
            render(&page, e.status())
        }
    }
}

pub(crate) async fn status(
    State(intake): State<Arc<Intake>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let form: StatusForm = match parse(body) {
        Ok(f) => f,
        Err(code) => {
            let mut page = StatusPage::new(&intake, Lang::Ru);
            page.error = Some(damaged(code));
            return render(&page, code);
        }
    };
    let lang = Lang::from_code(form.lang.as_deref());
    show(&intake, &form, lang, false).await
}

pub(crate) async fn add_message(
    State(intake): State<Arc<Intake>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let form: StatusForm = match parse(body) {
        Ok(f) => f,
        Err(code) => {
            let mut page = StatusPage::new(&intake, Lang::Ru);
            page.error = Some(damaged(code));
            return render(&page, code);
        }
    };
    let lang = Lang::from_code(form.lang.as_deref());
    let receipt = match read_receipt(&form.receipt) {
        Ok(r) => r,
        Err(_) => return show(&intake, &form, lang, false).await,
    };
    match intake.add_message(&receipt, &form.text).await {
        Ok(()) => show(&intake, &form_copy(&form), lang, true).await,
        Err(e) => {
            // The reporter's words come back with the error beside them.
            let mut page = StatusPage::new(&intake, lang);
            page.messages = intake.read_messages(&receipt).await.ok();
            page.error = Some(e.message(lang));
            page.text_error = matches!(e, FollowupError::Message(_));
            page.receipt = &form.receipt;
            page.text = &form.text;
            render(&page, e.status())
        }
    }
}

fn form_copy(form: &StatusForm) -> StatusForm {
    StatusForm {
        receipt: form.receipt.clone(),
        text: String::new(),
        lang: form.lang.clone(),
    }
}

// --- the JSON API ---

// Wiped when dropped. The OpenAPI schemas are generated from these types.
/// Which report's messages to read.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FollowupRequest)]
pub(crate) struct ReadRequest {
    /// The receipt code as the reporter has it; case, spaces and dashes do
    /// not matter, and O, I and L read as 0, 1 and 1.
    #[schema(format = "vigil-receipt")]
    receipt: String,
    /// `ru` or `en`, for error messages; anything else means Russian.
    #[schema(examples("ru", "en"))]
    lang: Option<String>,
}

/// Information to add to a report, or an answer to the team.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FollowupMessageRequest)]
pub(crate) struct AddRequest {
    /// The receipt code as the reporter has it (see FollowupRequest).
    #[schema(format = "vigil-receipt")]
    receipt: String,
    /// The message: at least one character that is not white space
    /// (surrounding white space is trimmed), at most 10,000 as sent.
    #[schema(
        min_length = 1,
        max_length = 10000,
        pattern = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
    )]
    text: String,
    /// `ru` or `en`, for error messages; anything else means Russian.
    #[schema(examples("ru", "en"))]
    lang: Option<String>,
}

/// The JSON body, wiped once parsed, or the error to send.
fn json_body<T: for<'de> Deserialize<'de>>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    example: &str,
) -> Result<T, Box<Response>> {
    let lang = lang_of(headers, None);
    let body = match body {
        Ok(b) => Zeroizing::new(Vec::from(b)),
        Err(r) => {
            let status = r.status();
            return Err(Box::new(error(status, "bad_body", damaged(status))));
        }
    };
    serde_json::from_slice(&body).map_err(|_| {
        let message = match lang {
            Lang::Ru => format!("Ожидается JSON-объект вида {example}"),
            Lang::En => format!("Expected a JSON object like {example}"),
        };
        Box::new(error(StatusCode::BAD_REQUEST, "malformed_json", message))
    })
}

fn failed(e: &FollowupError, lang: Lang) -> Response {
    error(e.status(), e.code(), e.message(lang))
}

pub(crate) async fn api_messages(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request: ReadRequest = match json_body(&headers, body, r#"{"receipt": "XXXX-XXXX-…"}"#) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let lang = lang_of(&headers, request.lang.as_deref());
    let result = match read_receipt(&request.receipt) {
        Ok(receipt) => intake.read_messages(&receipt).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(messages) => {
            let mut response = Json(serde_json::json!({ "messages": messages })).into_response();
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(e) => failed(&e, lang),
    }
}

pub(crate) async fn api_add_message(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request: AddRequest = match json_body(
        &headers,
        body,
        r#"{"receipt": "XXXX-XXXX-…", "text": "..."}"#,
    ) {
        Ok(r) => r,
        Err(response) => return *response,
    };
    let lang = lang_of(&headers, request.lang.as_deref());
    let result = match read_receipt(&request.receipt) {
        Ok(receipt) => intake.add_message(&receipt, &request.text).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => (
            StatusCode::CREATED,
            Json(serde_json::json!({ "sent": true })),
        )
            .into_response(),
        Err(e) => failed(&e, lang),
    }
}
