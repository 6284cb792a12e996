//! Keeps other websites from acting through a desk user's browser.
//!
//! Two layers. Every state-changing request (anything but GET, HEAD, OPTIONS)
//! is refused when the browser says it comes from another origin: by
//! `Sec-Fetch-Site` (anything but `same-origin` or `none`), or else by an
//! `Origin` that is not this host. Requests with neither header (command-line
//! clients, old browsers) pass this layer and still need a form token: the
//! login form's is bound to a cookie, every other form's to the session.

use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Whether the browser's own headers place a request on another origin.
pub fn cross_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        // "null" (a sandboxed frame, a file), another scheme, or no Host.
        _ => true,
    }
}

const REFUSED: &str = "Запрос пришёл с другого сайта и отклонён. Откройте рабочее место по его адресу и повторите.\n\
                       The request came from another site and was refused. Open the desk at its own address and try again.\n";

/// Middleware: refuses state-changing requests from other origins.
pub async fn refuse_cross_origin(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && cross_origin(request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            REFUSED,
        )
            .into_response();
    }
    next.run(request).await
}

/// Tokens for the login form: an HMAC of the login cookie under a key that
/// lives only in this process, so a token is good only with its own cookie.
pub struct LoginForms {
    key: Zeroizing<[u8; 32]>,
}

impl LoginForms {
    pub fn new() -> Result<Self, vigil_core::random::RandomError> {
        Ok(LoginForms {
            key: Zeroizing::new(vigil_core::random::bytes::<32>()?),
        })
    }

    pub fn token_for(&self, cookie: &str) -> String {
        hex::encode(self.mac(cookie))
    }

    pub fn check(&self, cookie: Option<&str>, token: Option<&str>) -> bool {
        let (Some(cookie), Some(token)) = (cookie, token) else {
            return false;
        };
        let Ok(given) = hex::decode(token.trim()) else {
            return false;
        };
        bool::from(given.as_slice().ct_eq(&self.mac(cookie)))
    }

    fn mac(&self, cookie: &str) -> [u8; 32] {
        // HMAC takes a key of any length, so this cannot fail; an empty MAC
        // would only make every token wrong.
        match <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice()) {
            Ok(mut mac) => {
                mac.update(b"vigil desk login form\0");
                mac.update(cookie.as_bytes());
                mac.finalize().into_bytes().into()
            }
            Err(_) => [0u8; 32],
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8081"));
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins() {
        assert!(!cross_origin(&headers(&[])));
        assert!(!cross_origin(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(cross_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(!cross_origin(&headers(&[(
            "origin",
            "http://127.0.0.1:8081"
        )])));
        assert!(cross_origin(&headers(&[(
            "origin",
            "http://127.0.0.1:9999"
        )])));
        assert!(cross_origin(&headers(&[(
            "origin",
            "https://evil.example"
        )])));
        assert!(cross_origin(&headers(&[("origin", "null")])));
    }

    #[test]
    fn a_login_token_is_good_only_with_its_cookie() {
        let f = LoginForms::new().unwrap();
        let t = f.token_for("cookie-a");
        assert!(f.check(Some("cookie-a"), Some(&t)));
        assert!(!f.check(Some("cookie-b"), Some(&t)));
        assert!(!f.check(None, Some(&t)));
        assert!(!f.check(Some("cookie-a"), None));
        assert!(!f.check(Some("cookie-a"), Some("00")));
        assert!(!LoginForms::new().unwrap().check(Some("cookie-a"), Some(&t)));
    }
}
