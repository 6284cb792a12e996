//! What the web pages of every zone share: strict security headers, one small
//! stylesheet (no JavaScript anywhere), and serving with limits on time,
//! connections and memory, and graceful shutdown.
//!
//! Nothing here logs requests: request logs are where IP addresses and user
//! agents would leak.

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

mod serve;
pub use serve::{Limits, serve, serve_with};

/// The one stylesheet, served at `/static/style.css` by every zone.
pub const STYLESHEET: &str = include_str!("style.css");

/// No scripts, no frames, no third parties: pages work the same with
/// JavaScript off (Tor Browser's safest level) and leak nothing to others.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // Room for the headers below at once rather than growing the map twice
    // (measurable per report under load; intakefast).
    h.reserve(8);
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    // A page that runs its own hashed scripts (the intake's form, which seals
    // in the browser) sets a policy of its own; every other page gets this one.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(h, header::CONTENT_SECURITY_POLICY, CSP);
    }
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        // A shared computer must not keep what a reporter saw.
        set(h, header::CACHE_CONTROL, "no-store");
    }
    response
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

/// Answers with a rendered page, or a bare 500 if rendering failed (the
/// template error is logged; it names a template, never its data).
pub fn page<E: std::fmt::Display>(rendered: Result<String, E>, status: StatusCode) -> Response {
    match rendered {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Adds the stylesheet route and the security headers to a zone's router.
pub fn harden(router: Router) -> Router {
    router
        .route("/static/style.css", get(stylesheet))
        .layer(middleware::from_fn(security_headers))
}
