//! The desk's pull API. Only the desk, with its token, may pull sealed reports
//! and acknowledge them; a report leaves the intake only after that
//! acknowledgement, so an interrupted pull loses nothing.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use vigil_core::followup::{ExchangeRequest, ExchangeResponse};
use vigil_core::sealed::{AckRequest, AckResponse, PullResponse};

use crate::Intake;
use crate::api::error;

/// The most reports handed out in one pull.
const MAX_PULL: u32 = 500;
/// The most sealed bytes handed out in one pull (at least one report goes
/// whatever its size): reports with files are large (intakemerge).
const MAX_PULL_BYTES: u64 = 32 * 1024 * 1024;

fn authorised(intake: &Intake, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| vigil_core::token::matches(token, &intake.config.desk_token_hash))
}

fn unauthorised() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unauthorised",
        "This API is for the desk; send its token as Authorization: Bearer TOKEN.".into(),
    )
}

fn store_failed(e: vigil_store::StoreError) -> Response {
    tracing::error!(error = %e, "desk API: storage failed");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "The intake's storage failed; try again.".into(),
    )
}

#[derive(Deserialize)]
pub(crate) struct PullQuery {
    limit: Option<u32>,
}

pub(crate) async fn pull(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    query: Result<Query<PullQuery>, QueryRejection>,
) -> Response {
    if !authorised(&intake, &headers) {
        return unauthorised();
    }
    // axum's own rejection text quotes the query; ours never does.
    let Ok(Query(q)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "The only query parameter is limit, a whole number from 1 to 500.".into(),
        );
    };
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PULL);
    match intake
        .store
        .intake_pending_within(limit, MAX_PULL_BYTES)
        .await
    {
        Ok(reports) => Json(PullResponse { reports }).into_response(),
        Err(e) => store_failed(e),
    }
}

pub(crate) async fn acknowledge(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&intake, &headers) {
        return unauthorised();
    }
    let request: AckRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "Expected {\"ids\": [\"<32 hex digits>\", ...]}".into(),
            );
        }
    };
    match intake.store.intake_acknowledge(&request.ids).await {
        // Nothing is logged here: a line per acknowledgement would date the
        // reports it purged to within the desk's pull interval.
        Ok(acknowledged) => {
            // The purged ciphertext is zeroed in the database pages (SQLite's
            // secure_delete); truncating the WAL removes its last copies.
            if let Err(e) = intake.store.intake_checkpoint().await {
                tracing::warn!(error = %e, "could not truncate the intake's write-ahead log; upkeep retries hourly");
            }
            Json(AckResponse { acknowledged }).into_response()
        }
        Err(e) => store_failed(e),
    }
}

/// The most bytes of one exchange the intake reads: the desk sends replies in
/// batches well under it. Read only after the token is checked.
const MAX_EXCHANGE_BYTES: usize = 4 * 1024 * 1024;
/// Follow-ups handed out in one exchange.
const FOLLOWUPS_PER_EXCHANGE: u32 = 200;

/// intakeform: replies by receipt, on the pull connection. The desk hands over
/// the team's replies (kept only where this intake knows the receipt) and
/// confirms the follow-ups it has stored; the intake answers with the replies
/// it now holds and the follow-ups still waiting.
pub(crate) async fn exchange(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if !authorised(&intake, &headers) {
        return unauthorised();
    }
    let Ok(bytes) = axum::body::to_bytes(body, MAX_EXCHANGE_BYTES).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "An exchange is at most {MAX_EXCHANGE_BYTES} bytes; send fewer replies at once."
            ),
        );
    };
    let request: ExchangeRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                "Expected {\"replies\": [sealed messages], \"delivered\": [ids]}".into(),
            );
        }
    };
    if let Err(e) = intake
        .store
        .intake_followups_delivered(&request.delivered)
        .await
    {
        return store_failed(e);
    }
    let stored = match intake.store.intake_put_replies(&request.replies).await {
        Ok(s) => s,
        Err(e) => return store_failed(e),
    };
    match intake
        .store
        .intake_pending_followups(FOLLOWUPS_PER_EXCHANGE)
        .await
    {
        Ok(followups) => Json(ExchangeResponse { stored, followups }).into_response(),
        Err(e) => store_failed(e),
    }
}
