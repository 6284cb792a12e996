//! Sealing in the reporter's browser (browserseal, issue 13).
//!
//! The form page loads two scripts, both served from here and allowed by
//! their SHA-256 in the page's Content-Security-Policy (with the same hash as
//! Subresource Integrity on the tag): the vendored npm package
//! `age-encryption` (pinned, see scripts/vendor-age-js) and `seal.js`, our
//! own. With them the page checks the answers, seals them with age to the
//! desk's recipients and posts only the age file to `POST /report/sealed`.
//! The intake checks the file's shape (it cannot open it), then seals what
//! only it knows (the time of arrival, the reply key of the receipt it makes)
//! around it, and stores that like any report. With JavaScript off, or where
//! the scripts cannot run, the form posts to `/report` and the server seals.

use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};
use vigil_core::browser_sealed::{AgeFileError, SealedInBrowser, check_age_file};
use vigil_core::followup::ReplyKey;
use vigil_core::report::{MAX_CONTACT_CHARS, MAX_FIELD_CHARS, MAX_TEXT_CHARS};
use vigil_core::{Channel, Day, Lang, Receipt, ReportError, ReportId};
use vigil_store::SealedReport;

use crate::Intake;
use crate::api::error;
use crate::form::LangQuery;
use crate::pow::ProofError;
use crate::texts::texts;

/// The vendored bundle, byte for byte as scripts/vendor-age-js builds it.
pub const AGE_JS: &[u8] = include_bytes!("../static/age-encryption-0.3.1.js");
/// Where the page loads it from (the version in the name: caches never mix two).
pub const AGE_JS_PATH: &str = "/static/age-encryption-0.3.1.js";
/// The bundle's pinned SHA-256 (`HEX  NAME`), written by scripts/vendor-age-js.
pub const AGE_JS_PIN: &str = include_str!("../static/age-encryption-0.3.1.js.sha256");
/// The page's own script: checks, seals and posts the form.
pub const SEAL_JS: &[u8] = include_bytes!("../static/seal.js");
pub const SEAL_JS_PATH: &str = "/static/seal.js";

/// The scripts' hashes, as SRI and CSP write them (`sha256-BASE64`).
struct Hashes {
    age: String,
    seal: String,
    /// The form page's policy: the page's two scripts and nothing else, and
    /// requests only to this intake.
    csp: HeaderValue,
}

fn sri(bytes: &[u8]) -> String {
    format!("sha256-{}", B64.encode(Sha256::digest(bytes)))
}

static HASHES: LazyLock<Hashes> = LazyLock::new(|| {
    let (age, seal) = (sri(AGE_JS), sri(SEAL_JS));
    let csp = format!(
        "default-src 'none'; script-src '{age}' '{seal}'; connect-src 'self'; style-src 'self'; \
         img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    );
    Hashes {
        age,
        seal,
        // Base64 and the fixed words are visible ASCII: this always parses.
        csp: HeaderValue::from_str(&csp).unwrap_or(HeaderValue::from_static("default-src 'none'")),
    }
});

/// Gives a response that shows the form page the policy that lets its two
/// scripts run (the shared middleware keeps a policy a handler has set).
pub(crate) fn allow_scripts(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HASHES.csp.clone());
    response
}

/// What the form page needs to seal in the browser: the scripts' integrity,
/// the desk's recipients, the limits, and every message the script may show,
/// in the page's language (the script itself holds no words).
pub(crate) struct SealView {
    pub age_src: &'static str,
    pub age_integrity: &'static str,
    pub seal_src: &'static str,
    pub seal_integrity: &'static str,
    pub recipients: String,
    pub max_text: usize,
    pub max_contact: usize,
    pub max_field: usize,
    /// Where the page gets a proof-of-work challenge, if the intake asks for one.
    pub challenge_url: Option<&'static str>,
    /// `data-*` attribute name (after `data-msg-`) and message.
    pub messages: Vec<(String, String)>,
}

pub(crate) fn seal_view(intake: &Intake, lang: Lang) -> SealView {
    let mut messages = vec![
        (
            "text-empty".to_owned(),
            ReportError::EmptyText.message(lang),
        ),
        (
            "text-long".to_owned(),
            ReportError::TextTooLong {
                max: MAX_TEXT_CHARS,
            }
            .message(lang),
        ),
        (
            "contact-long".to_owned(),
            ReportError::ContactTooLong {
                max: MAX_CONTACT_CHARS,
            }
            .message(lang),
        ),
        (
            "region".to_owned(),
            ReportError::UnknownRegion.message(lang),
        ),
    ];
    for field in ["names", "when", "city", "place", "station"] {
        messages.push((
            format!("{field}-long"),
            ReportError::FieldTooLong {
                field,
                max: MAX_FIELD_CHARS,
            }
            .message(lang),
        ));
    }
    let say = |key: &str, ru: &'static str, en: &'static str| {
        (key.to_owned(), lang.pick(ru, en).to_owned())
    };
    messages.extend([
        say(
            "ready",
            "Ваш браузер зашифрует сообщение перед отправкой.",
            "Your browser encrypts the report before sending it.",
        ),
        say(
            "sealing",
            "Шифруем сообщение в вашем браузере и отправляем…",
            "Encrypting the report in your browser and sending it…",
        ),
        say(
            "working",
            "Готовим отправку: браузер решает небольшую задачу против спама, это займёт несколько секунд…",
            "Getting ready to send: your browser is solving a small anti-spam puzzle; this takes a few seconds…",
        ),
        say(
            "network",
            "Не удалось связаться с сервером. Ничего не отправлено; ваш текст остался на странице. Проверьте связь и нажмите «Отправить» снова.",
            "Could not reach the server. Nothing was sent; your text is still on the page. Check the connection and press Send again.",
        ),
    ]);
    SealView {
        age_src: AGE_JS_PATH,
        age_integrity: &HASHES.age,
        seal_src: SEAL_JS_PATH,
        seal_integrity: &HASHES.seal,
        recipients: intake.config.recipients.to_strings().join(" "),
        max_text: MAX_TEXT_CHARS,
        max_contact: MAX_CONTACT_CHARS,
        max_field: MAX_FIELD_CHARS,
        challenge_url: intake.guard.pow.is_some().then_some("/api/v1/challenge"),
        messages,
    }
}

fn script(bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // The name carries the version and the tag the hash: safe to keep.
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response()
}

pub(crate) async fn age_js() -> Response {
    script(AGE_JS)
}

pub(crate) async fn seal_js() -> Response {
    script(SEAL_JS)
}

/// Why a report sealed in the browser was not taken.
#[derive(Debug)]
pub enum SealedSubmitError {
    Refused(AgeFileError),
    Busy,
    Unavailable,
}

impl Intake {
    /// Takes a report the reporter's browser sealed: checks the age file's
    /// shape, seals the time of arrival and the receipt's reply key around
    /// it, and returns the receipt once it is durably stored.
    pub async fn submit_sealed_in_browser(
        &self,
        report: Vec<u8>,
    ) -> Result<Receipt, SealedSubmitError> {
        check_age_file(&report, self.config.recipients.len())
            .map_err(SealedSubmitError::Refused)?;
        let _slot = self.sealing_slot().await.ok_or(SealedSubmitError::Busy)?;
        let now = time::OffsetDateTime::now_utc();
        let received = Day::from_date(now.date());
        let unavailable = |_| SealedSubmitError::Unavailable;
        let receipt = Receipt::generate().map_err(unavailable)?;
        // intake4: the reply key's seed, not its public half (no curve
        // operation here; the desk derives the recipient).
        let mut reply_seed =
            ReplyKey::seed_hex(&receipt).map_err(|_| SealedSubmitError::Unavailable)?;
        let outer = SealedInBrowser::new(
            Channel::WebForm,
            received,
            vigil_core::day::timestamp(now),
            std::mem::take(&mut *reply_seed),
            report,
        );
        let json = zeroize::Zeroizing::new(
            serde_json::to_vec(&outer).map_err(|_| SealedSubmitError::Unavailable)?,
        );
        drop(outer);
        let sealed = self
            .config
            .recipients
            .seal(&json)
            .map_err(|_| SealedSubmitError::Unavailable)?;
        let stored = SealedReport {
            id: ReportId::generate().map_err(unavailable)?,
            receipt_hash: self.config.receipt_key.hash(&receipt),
            sealed,
            received,
        };
        self.writer
            .store(stored)
            .await
            .map_err(|_| SealedSubmitError::Unavailable)?;
        Ok(receipt)
    }
}

/// `POST /report/sealed?lang=…`: the body is the age file. Answers with the
/// receipt page (the same page the form without JavaScript gives) or a JSON
/// error whose message the page shows.
pub(crate) async fn submit(
    State(intake): State<Arc<Intake>>,
    q: Result<Query<LangQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let lang = Lang::from_code(q.ok().and_then(|Query(q)| q.lang()).as_deref());
    let t = texts(lang);
    // The same proof-of-work as the API's, when the intake asks for one
    // ([abuse] api_pow_bits); the form without JavaScript is asked none and
    // relies on the rate limits.
    if let Some(pow) = &intake.guard.pow {
        let proof = headers
            .get(crate::limits::PROOF_HEADER)
            .and_then(|v| v.to_str().ok());
        if let Err(e) = pow.verify(proof) {
            return error(StatusCode::FORBIDDEN, e.code(), proof_refused(e, lang));
        }
    }
    let body = match body {
        Ok(b) => Vec::from(b),
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                t.too_large.into(),
            );
        }
        Err(r) => return error(r.status(), "bad_body", t.bad_form.into()),
    };
    match intake.submit_sealed_in_browser(body).await {
        Ok(receipt) => crate::form::receipt_response(&intake, lang, &receipt, false, true),
        Err(SealedSubmitError::Refused(e)) => {
            error(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.message(lang))
        }
        Err(SealedSubmitError::Busy) => {
            error(StatusCode::SERVICE_UNAVAILABLE, "busy", t.busy.into())
        }
        Err(SealedSubmitError::Unavailable) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            t.unavailable.into(),
        ),
    }
}

/// Where the page posts a report sealed in the browser (behind the abuse guard).
pub const SEALED_PATH: &str = "/report/sealed";

/// The two scripts' routes.
pub(crate) fn scripts() -> axum::Router<Arc<Intake>> {
    use axum::routing::get;
    axum::Router::new()
        .route(AGE_JS_PATH, get(age_js))
        .route(SEAL_JS_PATH, get(seal_js))
}

/// The page's language from `?lang=` (the sealed post carries it in its URL).
pub(crate) fn lang_of_query(uri: &axum::http::Uri) -> Lang {
    let lang = uri.query().and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "lang")
            .map(|(_, v)| v)
    });
    Lang::from_code(lang)
}

/// A refused proof of work, said to a reporter (the API's messages speak to
/// programmers): the page solves a new one when Send is pressed again.
fn proof_refused(e: ProofError, lang: Lang) -> String {
    let why = match e {
        ProofError::Expired => lang.pick(
            "Проверка против спама устарела.",
            "The anti-spam check has expired.",
        ),
        _ => lang.pick(
            "Проверка против спама не пройдена.",
            "The anti-spam check did not pass.",
        ),
    };
    let todo = lang.pick(
        "Ничего не сохранено; ваш текст остался на странице. Нажмите «Отправить» ещё раз.",
        "Nothing was stored; your text is still on the page. Press Send again.",
    );
    format!("{why} {todo}")
}

/// The pinned hash of the vendored bundle, as hex.
pub fn pinned_age_js_sha256() -> &'static str {
    AGE_JS_PIN.split_whitespace().next().unwrap_or_default()
}

#[cfg(test)]
mod tests;
