//! The intake's JSON and form bodies, through the real router in-process
//! (`tower::ServiceExt::oneshot`) with a real SQLite store and real sealing.
//!
//! Input: the first byte chooses the route and headers (its low four bits, so
//! seeds can start with a readable `0`…`9`), the rest is the body (or, for the
//! form page, the query string).
//!
//! Beyond "no panic", every answer is checked: no 5xx; only the statuses the
//! API documents; JSON errors with a code and a message; no `<script` in any
//! page (the pages have none, so one would be the reporter's input
//! unescaped); the security headers on every answer. Then the store: a report
//! acknowledged to its sender is stored exactly once, opens with the desk's
//! identity to the words that were sent, and is found by its receipt; a
//! refused report leaves nothing behind.

use std::str::FromStr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;
use vigil_core::{DeskIdentity, Receipt, ReceiptKey, ReportId};
use vigil_intake::{DEFAULT_MAX_BODY_BYTES, Intake, IntakeConfig};
use vigil_store::IntakeStore;

use crate::{Outcome, SetupError, Target, Violation, ensure, excerpt};

/// The token the fuzzed desk API accepts.
const DESK_TOKEN: &str = "vigil-fuzz-desk-token";
/// A fixed receipt key, so the target can check receipts against the store.
const RECEIPT_KEY: [u8; 32] = [0x5a; 32];
/// Answers larger than this are a finding in themselves.
const MAX_ANSWER_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `POST /api/v1/reports` and the desk's `POST /api/v1/desk/ack`.
    Json,
    /// `POST /report` and `GET /?…`.
    Form,
}

pub struct IntakeTarget {
    channel: Channel,
    runtime: tokio::runtime::Runtime,
    router: Router,
    store: Arc<dyn IntakeStore>,
    identity: DeskIdentity,
    receipt_key: ReceiptKey,
    _dir: tempfile::TempDir,
}

/// What was asked, to know what the answer must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    ApiReport,
    DeskAck,
    FormReport,
    FormPage,
}

impl IntakeTarget {
    pub fn new(channel: Channel) -> Result<Self, SetupError> {
        let name = match channel {
            Channel::Json => "intake_json",
            Channel::Form => "intake_form",
        };
        let runtime = crate::runtime(name)?;
        let dir = crate::scratch_dir(name)?;
        let url = vigil_store::sqlite_url(&dir.path().join("intake.db"));
        let identity = DeskIdentity::generate();
        let recipients = identity.recipients();
        let (store, intake) = runtime.block_on(async {
            let store = vigil_store::open_intake(&url)
                .await
                .map_err(|e| SetupError::new(name, e))?;
            let mut config = IntakeConfig::new(
                recipients,
                ReceiptKey::from_bytes(RECEIPT_KEY),
                vigil_core::token::hash(DESK_TOKEN),
            );
            config.max_body_bytes = DEFAULT_MAX_BODY_BYTES;
            // Intake::new starts the writer task, so it must run inside the runtime.
            let intake = Intake::new(config, store.clone());
            Ok::<_, SetupError>((store, intake))
        })?;
        Ok(IntakeTarget {
            channel,
            runtime,
            router: vigil_intake::router(intake),
            store,
            identity,
            receipt_key: ReceiptKey::from_bytes(RECEIPT_KEY),
            _dir: dir,
        })
    }

    fn request(&self, flags: u8, body: &[u8]) -> Option<(Route, Request<Body>)> {
        let english = flags & 0b1000 != 0;
        let mut builder = Request::builder();
        let route = match (self.channel, flags & 1) {
            (Channel::Json, 0) => {
                builder = builder.method("POST").uri("/api/v1/reports");
                let content_type = match (flags >> 1) & 0b11 {
                    0 => Some("application/json"),
                    1 => Some("application/json; charset=utf-8"),
                    2 => Some("text/plain; charset=utf-8"),
                    _ => None,
                };
                if let Some(ct) = content_type {
                    builder = builder.header(header::CONTENT_TYPE, ct);
                }
                if english {
                    builder = builder.header(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,ru;q=0.5");
                }
                Route::ApiReport
            }
            (Channel::Json, _) => {
                let token = if english { "not-the-token" } else { DESK_TOKEN };
                builder = builder
                    .method("POST")
                    .uri("/api/v1/desk/ack")
                    .header(header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(header::CONTENT_TYPE, "application/json");
                Route::DeskAck
            }
            (Channel::Form, 0) => {
                builder = builder.method("POST").uri("/report");
                let content_type = match (flags >> 1) & 0b11 {
                    0 => Some("application/x-www-form-urlencoded"),
                    1 => Some("application/x-www-form-urlencoded; charset=UTF-8"),
                    2 => Some("multipart/form-data; boundary=vigil"),
                    _ => None,
                };
                if let Some(ct) = content_type {
                    builder = builder.header(header::CONTENT_TYPE, ct);
                }
                Route::FormReport
            }
            (Channel::Form, _) => {
                // Only what an HTTP client can put in a request line reaches the
                // router; hyper refuses the rest before any vigil code runs.
                let query = std::str::from_utf8(body).ok()?;
                builder = builder.method("GET").uri(format!("/?{query}"));
                Route::FormPage
            }
        };
        let body = match route {
            Route::FormPage => Body::empty(),
            _ => Body::from(body.to_vec()),
        };
        builder.body(body).ok().map(|r| (route, r))
    }

    async fn exchange(&self, route: Route, request: Request<Body>, body: &[u8]) -> Outcome {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .map_err(|e| Violation(format!("the router failed: {e}")))?;
        let status = response.status();
        let headers = response.headers().clone();
        let answer = axum::body::to_bytes(response.into_body(), MAX_ANSWER_BYTES)
            .await
            .map_err(|e| Violation(format!("the answer could not be read: {e}")))?;
        let answer_text = String::from_utf8_lossy(&answer);
        let show = || {
            format!(
                "{route:?} answered {status} to {}: {}",
                excerpt(body),
                excerpt(&answer)
            )
        };

        ensure(!status.is_server_error(), || format!("5xx: {}", show()))?;
        ensure(
            headers.contains_key(header::CONTENT_SECURITY_POLICY),
            || format!("no Content-Security-Policy: {}", show()),
        )?;
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        // The pages hold no script but the form's own two (browserseal: served
        // by the intake, `<script defer src="/static/…" integrity=…>`), so any
        // other one in a page is the input unescaped.
        let page = answer_text.to_lowercase();
        ensure(
            !content_type.starts_with("text/html")
                || page.matches("<script").count()
                    == page.matches("<script defer src=\"/static/").count(),
            || format!("a page holds <script (input unescaped?): {}", show()),
        )?;

        let mut receipt = None;
        match route {
            Route::ApiReport => {
                // The statuses the OpenAPI document promises, and no other.
                let documented = [201, 400, 413, 415, 422];
                ensure(documented.contains(&status.as_u16()), || {
                    format!("undocumented status: {}", show())
                })?;
                ensure(content_type.starts_with("application/json"), || {
                    format!("not JSON ({content_type}): {}", show())
                })?;
                let json: Value = serde_json::from_slice(&answer)
                    .map_err(|_| Violation(format!("answer is not JSON: {}", show())))?;
                if status == StatusCode::CREATED {
                    let text = json["receipt"].as_str().unwrap_or_default();
                    receipt = Some(Receipt::from_str(text).map_err(|_| {
                        Violation(format!("201 without a readable receipt: {}", show()))
                    })?);
                } else {
                    error_shape(&json, &show)?;
                }
            }
            Route::DeskAck => {
                ensure(content_type.starts_with("application/json"), || {
                    format!("not JSON ({content_type}): {}", show())
                })?;
                let json: Value = serde_json::from_slice(&answer)
                    .map_err(|_| Violation(format!("answer is not JSON: {}", show())))?;
                if status == StatusCode::OK {
                    ensure(json["acknowledged"].is_u64(), || {
                        format!("200 without a count: {}", show())
                    })?;
                } else {
                    error_shape(&json, &show)?;
                }
            }
            Route::FormReport | Route::FormPage => {
                if status == StatusCode::OK || route == Route::FormReport {
                    ensure(content_type.starts_with("text/html"), || {
                        format!("not HTML ({content_type}): {}", show())
                    })?;
                }
                if route == Route::FormReport && status == StatusCode::OK {
                    let text = answer_text
                        .split("id=\"receipt\">")
                        .nth(1)
                        .and_then(|rest| rest.split('<').next())
                        .unwrap_or_default();
                    receipt = Some(Receipt::from_str(text).map_err(|_| {
                        Violation(format!("200 without a readable receipt: {}", show()))
                    })?);
                }
            }
        }
        self.check_store(route, receipt.as_ref(), body, &show).await
    }

    /// A report acknowledged to its sender is stored exactly once, sealed to
    /// the desk, opens to what was sent and matches its receipt; a refused one
    /// leaves nothing. Everything pending is then acknowledged, as the desk
    /// would, so the store stays small.
    async fn check_store(
        &self,
        route: Route,
        receipt: Option<&Receipt>,
        body: &[u8],
        show: &dyn Fn() -> String,
    ) -> Outcome {
        let pending = self
            .store
            .intake_pending(500)
            .await
            .map_err(|e| Violation(format!("the store failed: {e}")))?;
        let ids: Vec<ReportId> = pending.iter().map(|r| r.id).collect();
        let checked = (|| {
            let Some(receipt) = receipt else {
                return ensure(pending.is_empty(), || {
                    format!(
                        "{} report(s) stored for a refused input: {}",
                        pending.len(),
                        show()
                    )
                });
            };
            ensure(pending.len() == 1, || {
                format!(
                    "{} reports stored for one receipt: {}",
                    pending.len(),
                    show()
                )
            })?;
            let stored = &pending[0];
            ensure(
                stored.receipt_hash == self.receipt_key.hash(receipt),
                || format!("the stored report does not match its receipt: {}", show()),
            )?;
            let envelope = self.identity.open_envelope(&stored.sealed).map_err(|e| {
                Violation(format!("a stored report does not open ({e}): {}", show()))
            })?;
            if route == Route::ApiReport {
                let sent: Value = serde_json::from_slice(body).unwrap_or_default();
                let text = sent["text"].as_str().unwrap_or_default();
                ensure(envelope.text == text.trim(), || {
                    format!("the sealed text is not what was sent: {}", show())
                })?;
                ensure(
                    envelope.urgent == (sent["urgent"] == Value::Bool(true)),
                    || format!("the urgent flag was changed: {}", show()),
                )?;
                ensure(envelope.channel == vigil_core::Channel::Api, || {
                    format!("wrong channel: {}", show())
                })?;
            } else {
                ensure(envelope.channel == vigil_core::Channel::WebForm, || {
                    format!("wrong channel: {}", show())
                })?;
            }
            Ok(())
        })();
        if !ids.is_empty() {
            self.store
                .intake_acknowledge(&ids)
                .await
                .map_err(|e| Violation(format!("the store failed: {e}")))?;
        }
        checked
    }
}

/// `{"error": {"code": "...", "message": "..."}}`, as the API documents.
fn error_shape(json: &Value, show: &dyn Fn() -> String) -> Outcome {
    let code = json["error"]["code"].as_str().unwrap_or_default();
    let message = json["error"]["message"].as_str().unwrap_or_default();
    ensure(!code.is_empty() && !message.is_empty(), || {
        format!("an error without code and message: {}", show())
    })
}

impl Target for IntakeTarget {
    fn run(&mut self, data: &[u8]) -> Outcome {
        let Some((&flags, body)) = data.split_first() else {
            return Ok(());
        };
        let Some((route, request)) = self.request(flags, body) else {
            return Ok(());
        };
        self.runtime.block_on(self.exchange(route, request, body))
    }
}
