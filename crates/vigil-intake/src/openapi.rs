//! The OpenAPI description, generated from the code with utoipa: the report
//! request's schema comes from the type the API parses, the routes from the
//! annotations below. The generated document is committed as `openapi.json`
//! (served as is, and read by Schemathesis); a test fails when the two drift,
//! and `VIGIL_UPDATE_OPENAPI=1 cargo test -p vigil-intake openapi` rewrites it.

#![allow(dead_code)] // The annotated functions below exist only to carry their paths.

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{OpenApi, ToSchema};
use vigil_core::{Consent, Happened, Whom};

// --- the guided form's choices, as enums of what the code accepts ---

/// A nullable string that takes one of `codes`.
fn choice(codes: impl IntoIterator<Item = String>, description: &str) -> RefOr<Schema> {
    let values: Vec<Value> = codes
        .into_iter()
        .map(Value::String)
        .chain([Value::Null])
        .collect();
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .description(Some(description))
        .into()
}

pub(crate) fn happened() -> RefOr<Schema> {
    choice(
        Happened::ALL.iter().map(|h| h.code().to_owned()),
        "What happened. `detained_now` makes the report urgent.",
    )
}

pub(crate) fn whom() -> RefOr<Schema> {
    choice(
        Whom::ALL.iter().map(|w| w.code().to_owned()),
        "Whom it happened to.",
    )
}

pub(crate) fn consent() -> RefOr<Schema> {
    choice(
        Consent::ALL.iter().map(|c| c.code().to_owned()),
        "Consent to publication: none, only in counts, or name and case public.",
    )
}

/// The region: a code of the record's regions vocabulary (ISO 3166-2), the
/// same list the form's picker shows; empty means none.
pub(crate) fn region() -> RefOr<Schema> {
    choice(
        crate::regions()
            .iter()
            .map(|r| r.code.clone())
            .chain([String::new()]),
        "The region's ISO 3166-2 code from the record's regions vocabulary (the form's picker lists them with their names); empty or null means none. Any other value gets 422 unknown_region.",
    )
}

/// The answer to a report that was stored.
#[derive(Serialize, ToSchema)]
pub(crate) struct Receipt {
    /// The receipt, shown once: the only way back to this report.
    ///
    /// 128 random bits in Crockford base32 (26 characters) and 2 check
    /// characters that catch a typo, in seven groups of four.
    #[schema(
        pattern = "^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){6}$",
        example = "7K2Q-DW9X-HM4T-R1AC-8NPE-JF3V-BQ7M"
    )]
    receipt: String,
}

/// A refusal: a stable code for programs, a message for people.
#[derive(Serialize, ToSchema)]
pub(crate) struct Error {
    error: ErrorBody,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// Stable machine-readable code, for example empty_text, text_too_long,
    /// contact_too_long, field_too_long, bad_choice, unknown_region,
    /// receipt_length, receipt_typo, malformed_json, body_too_large,
    /// rate_limited, proof_required, busy, unavailable.
    code: String,
    /// What to fix, in the reporter's language.
    message: String,
}

// intakemerge
/// A report with files.
#[derive(ToSchema)]
#[allow(dead_code)]
pub(crate) struct ReportWithFiles {
    /// The report, as the `application/json` body would carry it.
    report: crate::api::ReportRequest,
    /// The files: photos, videos, documents.
    #[schema(value_type = Vec<String>, format = Binary, max_items = 10, required = false)]
    attachment: Vec<Vec<u8>>,
}

/// A proof-of-work challenge.
#[derive(Serialize, ToSchema)]
pub(crate) struct Challenge {
    /// Send `CHALLENGE:COUNTER` in the `Vigil-Proof` header, where
    /// SHA-256(`CHALLENGE:COUNTER`) starts with `bits` zero bits and COUNTER is
    /// a decimal number. Null when the intake asks for no proof.
    challenge: Option<String>,
    /// Leading zero bits asked for; 0 when no proof is asked.
    #[schema(minimum = 0, maximum = 24)]
    bits: u8,
    /// Seconds the challenge may be used.
    expires_in: u64,
}

// vigil_core::sealed::SealedReport
/// A sealed report as the desk pulls it.
#[derive(Serialize, ToSchema)]
pub(crate) struct SealedReport {
    /// The report's id, 32 hexadecimal digits.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    id: String,
    /// Keyed hash of the reporter's receipt, 64 hexadecimal digits.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    receipt_hash: String,
    /// The age file, base64.
    #[schema(content_encoding = "base64")]
    sealed: String,
    /// The day it came in, YYYY-MM-DD.
    #[schema(format = Date)]
    received: String,
}

// vigil_core::sealed::PullResponse
/// The intake's answer to a pull.
#[derive(Serialize, ToSchema)]
pub(crate) struct PullResponse {
    reports: Vec<SealedReport>,
}

// vigil_core::sealed::AckRequest
/// The ids of reports the desk has stored durably.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AckRequest {
    #[schema(inline, value_type = Vec<String>)]
    ids: Vec<String>,
}

// vigil_core::sealed::AckResponse
/// How many of the acknowledged reports were purged.
#[derive(Serialize, ToSchema)]
pub(crate) struct AckResponse {
    acknowledged: u64,
}

#[utoipa::path(
    post,
    path = "/api/v1/reports",
    operation_id = "createReport",
    summary = "Send a report",
    params(
        ("Vigil-Proof" = Option<String>, Header,
         description = "CHALLENGE:COUNTER, a solved challenge from GET /api/v1/challenge; needed only when the intake asks for proof-of-work")
    ),
    description = "A report alone is sent as `application/json`. A report with files (photos, videos, documents) is sent as `multipart/form-data`: the same JSON in a part named `report`, each file in a part named `attachment` (at most 10, 20 MiB together by default). Each file is sealed in the report's own age stream, never stored in clear; location and camera metadata are removed from JPEG and PNG photos before sealing, and the SHA-256 of the original travels sealed with it.",
    request_body(
        content(
            (crate::api::ReportRequest = "application/json",
             example = json!({"text": "Моего брата задержали у метро Пушкинская, везут в ОВД Тверской.", "urgent": true, "contact": "Signal +7 900 000-00-00", "lang": "ru", "happened": "detained_now", "whom": "someone_else", "region": "RU-MOW", "station": "ОВД Тверской", "consent": "counts"})),
            (ReportWithFiles = "multipart/form-data"),
        )
    ),
    responses(
        (status = 201, description = "The sealed report is durably stored. Keep the receipt: it is the only way back to this report.", body = Receipt),
        (status = 400, description = "Malformed JSON, an unknown field, or a field of the wrong type.", body = Error),
        (status = 403, description = "The intake asks for proof-of-work and the Vigil-Proof header is missing, forged, expired, unsolved or already used.", body = Error),
        (status = 413, description = "The body is larger than the intake accepts (64 KiB by default, code body_too_large), or the files together are over the intake's limit (20 MiB by default, code attachments_too_large).", body = Error),
        (status = 415, description = "The body is sent neither as application/json nor as multipart/form-data.", body = Error),
        (status = 422, description = "The text is empty or too long (empty_text, text_too_long), the contact or another answer is too long (contact_too_long, field_too_long), a choice is outside its list (bad_choice), the region is not in the vocabulary (unknown_region), more than 10 files (too_many_attachments), or a photo is damaged (broken_photo).", body = Error),
        (status = 429, description = "Too many reports from this client (code `rate_limited`, with a Retry-After header); nothing was kept.", body = Error),
        (status = 503, description = "The report could not be stored (code `unavailable`), or the intake is busy (code `busy`, with a Retry-After header); nothing was kept. Try again.", body = Error),
    )
)]
fn create_report() {}

/// The messages of one report, oldest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct Messages {
    messages: Vec<Message>,
}

/// One message as the reporter reads it.
#[derive(Serialize, ToSchema)]
pub(crate) struct Message {
    /// `team`: a reply from the team; `you`: what the reporter added.
    #[schema(inline)]
    from: MessageFrom,
    /// The day it was written, YYYY-MM-DD.
    #[schema(format = Date)]
    day: String,
    text: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MessageFrom {
    Team,
    You,
}

/// A follow-up was taken.
#[derive(Serialize, ToSchema)]
pub(crate) struct Sent {
    /// Always true.
    sent: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/followup",
    operation_id = "readFollowup",
    summary = "Read the team's replies to a report",
    description = "The receipt travels in the body, never in a URL. A receipt the intake does not know gets the same answer, after the same work, as one with no replies: an empty list.",
    request_body(content = crate::followup::ReadRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The messages, oldest first: the team's replies and what the reporter added.", body = Messages),
        (status = 400, description = "Malformed JSON, an unknown field, or a field of the wrong type.", body = Error),
        (status = 413, description = "The body is larger than the intake accepts (64 KiB by default).", body = Error),
        (status = 422, description = "The receipt does not have 28 letters and digits (receipt_length), or its check characters show a typo (receipt_typo).", body = Error),
        (status = 503, description = "Storage failed (code `unavailable`); try again.", body = Error),
    )
)]
fn read_followup() {}

#[utoipa::path(
    post,
    path = "/api/v1/followup/messages",
    operation_id = "addFollowup",
    summary = "Add information to a report, or answer the team",
    description = "Sealed to the desk and to the receipt's reply key. A receipt the intake does not know gets the same answer, and nothing is kept.",
    params(
        ("Vigil-Proof" = Option<String>, Header,
         description = "CHALLENGE:COUNTER, a solved challenge from GET /api/v1/challenge; needed only when the intake asks for proof-of-work")
    ),
    request_body(content = crate::followup::AddRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Received.", body = Sent),
        (status = 400, description = "Malformed JSON, an unknown field, or a field of the wrong type.", body = Error),
        (status = 403, description = "The intake asks for proof-of-work and the Vigil-Proof header is missing, forged, expired, unsolved or already used.", body = Error),
        (status = 413, description = "The body is larger than the intake accepts (64 KiB by default).", body = Error),
        (status = 422, description = "The text is empty or too long (empty_text, text_too_long), or the receipt is malformed (receipt_length, receipt_typo).", body = Error),
        (status = 429, description = "Too many messages from this client (code `rate_limited`, with a Retry-After header); nothing was kept.", body = Error),
        (status = 503, description = "Storage failed (code `unavailable`); try again.", body = Error),
    )
)]
fn add_followup() {}

#[utoipa::path(
    get,
    path = "/api/v1/challenge",
    operation_id = "challenge",
    summary = "A proof-of-work challenge to solve before sending a report",
    responses(
        (status = 200, description = "A challenge (or none, when no proof is asked)", body = Challenge),
        (status = 503, description = "No challenge could be made; try again.", body = Error),
    )
)]
fn challenge() {}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    summary = "This description",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
fn openapi_json() {}

#[utoipa::path(
    get,
    path = "/api/v1/desk/reports",
    operation_id = "deskPull",
    summary = "For the desk: sealed reports not yet acknowledged, oldest first",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "At most this many (default 100); fewer when their sealed bytes together would pass 32 MiB (at least one is always sent)")),
    responses(
        (status = 200, description = "Sealed reports; they stay until acknowledged", body = PullResponse),
        (status = 400, description = "A query parameter other than limit, or a limit that is not a whole number.", body = Error),
        (status = 401, description = "No desk token, or a wrong one.", body = Error),
        (status = 503, description = "The intake's storage failed; try again.", body = Error),
    ),
    security(("desk_token" = []))
)]
fn desk_pull() {}

#[utoipa::path(
    post,
    path = "/api/v1/desk/ack",
    operation_id = "deskAcknowledge",
    summary = "For the desk: purge reports it has stored durably",
    request_body(content = AckRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "How many were purged", body = AckResponse),
        (status = 400, description = "Not {\"ids\": [...]}.", body = Error),
        (status = 401, description = "No desk token, or a wrong one.", body = Error),
        (status = 503, description = "The intake's storage failed; try again.", body = Error),
    ),
    security(("desk_token" = []))
)]
fn desk_acknowledge() {}

// vigil_core::followup::SealedMessage
/// A message sealed on one side for the other: a team reply (to the receipt's
/// reply key) or a reporter's follow-up (to the desk and the reply key).
#[derive(Serialize, ToSchema)]
pub(crate) struct SealedMessage {
    /// 32 hexadecimal digits; a message sent twice is stored once.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    id: String,
    /// Keyed hash of the receipt of the report it belongs to.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    receipt_hash: String,
    #[schema(inline)]
    from: Sender,
    /// The day it was written, YYYY-MM-DD.
    #[schema(format = Date)]
    day: String,
    /// The age file, base64.
    #[schema(content_encoding = "base64")]
    sealed: String,
}

// vigil_core::followup::Sender
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Sender {
    Team,
    Reporter,
}

// vigil_core::followup::ExchangeRequest
/// The desk's side of an exchange: replies to hand over and the follow-ups
/// it has stored durably.
#[derive(Serialize, ToSchema)]
pub(crate) struct ExchangeRequest {
    #[serde(default)]
    replies: Vec<SealedMessage>,
    /// Ids of follow-ups the desk has stored.
    #[serde(default)]
    #[schema(inline, value_type = Vec<String>)]
    delivered: Vec<String>,
}

// vigil_core::followup::ExchangeResponse
/// The intake's side: the replies it now holds (only those whose receipt it
/// knows), and follow-ups waiting for the desk.
#[derive(Serialize, ToSchema)]
pub(crate) struct ExchangeResponse {
    #[schema(inline, value_type = Vec<String>)]
    stored: Vec<String>,
    followups: Vec<SealedMessage>,
}

#[utoipa::path(
    post,
    path = "/api/v1/desk/messages",
    operation_id = "deskExchange",
    summary = "For the desk: hand over replies, confirm follow-ups, take new follow-ups",
    request_body(content = ExchangeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "What the intake stored and what waits for the desk", body = ExchangeResponse),
        (status = 400, description = "Not {\"replies\": [...], \"delivered\": [...]}.", body = Error),
        (status = 401, description = "No desk token, or a wrong one.", body = Error),
        (status = 413, description = "More than 4 MiB in one exchange.", body = Error),
        (status = 503, description = "The intake's storage failed; try again.", body = Error),
    ),
    security(("desk_token" = []))
)]
fn desk_exchange() {}

#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "health",
    summary = "Whether the intake is serving",
    responses((status = 200, description = "`ok`", content_type = "text/plain", body = String))
)]
fn health() {}

struct DeskToken;

impl utoipa::Modify for DeskToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "desk_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The desk's pull token (its SHA-256 is in the intake's config).",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "vigil intake API",
        version = "1",
        description = "Report politically motivated persecution. Every report is sealed to the desk's key on receipt; no IP address or user agent is stored. Error messages are in Russian unless the request's `lang` is `en` or Accept-Language asks for English. A receipt never appears in a URL: the follow-up endpoints take it in the body. The desk's pull API (under /api/v1/desk/) needs the desk's token."
    ),
    paths(create_report, read_followup, add_followup, challenge, openapi_json, desk_pull, desk_acknowledge, desk_exchange, health),
    components(schemas(ReportWithFiles, Receipt, Error, ErrorBody, Challenge, Messages, Message, Sent, SealedReport, PullResponse, AckRequest, AckResponse, SealedMessage, ExchangeRequest, ExchangeResponse)),
    modifiers(&DeskToken)
)]
struct ApiDoc;

/// The description as JSON, as committed in `openapi.json`.
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    // The licence and contact utoipa copies from Cargo.toml say nothing to API users.
    doc.info.license = None;
    doc.info.contact = None;
    let mut json = doc.to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use std::collections::BTreeSet;

    #[test]
    fn the_committed_openapi_json_is_what_the_code_generates() {
        let generated = super::document();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        if std::env::var_os("VIGIL_UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(path).unwrap();
        assert!(
            committed == generated,
            "crates/vigil-intake/openapi.json differs from what the code generates; run \
             VIGIL_UPDATE_OPENAPI=1 cargo test -p vigil-intake openapi and commit the file"
        );
        assert_eq!(crate::api::OPENAPI, generated);
    }

    fn keys(v: &serde_json::Value) -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    /// The desk's wire types live in vigil-core; their documented shapes must
    /// name the same fields as what the intake really sends and takes.
    #[test]
    fn the_desk_schemas_name_the_fields_of_the_wire_types() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        let schema = |name: &str| doc["components"]["schemas"][name]["properties"].clone();
        let report = vigil_core::SealedReport {
            id: vigil_core::ReportId::generate().unwrap(),
            receipt_hash: [7; 32],
            sealed: vec![1, 2, 3],
            received: vigil_core::Day::today(),
        };
        let pulled = serde_json::to_value(vigil_core::sealed::PullResponse {
            reports: vec![report],
        })
        .unwrap();
        assert_eq!(keys(&pulled), keys(&schema("PullResponse")));
        assert_eq!(keys(&pulled["reports"][0]), keys(&schema("SealedReport")));
        let id = pulled["reports"][0]["id"].as_str().unwrap();
        assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()));
        let ack =
            serde_json::to_value(vigil_core::sealed::AckResponse { acknowledged: 1 }).unwrap();
        assert_eq!(keys(&ack), keys(&schema("AckResponse")));
        let request: vigil_core::sealed::AckRequest =
            serde_json::from_value(serde_json::json!({ "ids": [id] })).unwrap();
        assert_eq!(request.ids.len(), 1);
        assert_eq!(
            keys(&serde_json::json!({"ids": []})),
            keys(&schema("AckRequest"))
        );
    }
}
