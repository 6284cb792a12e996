//! Rate limits per client, in memory only.
//!
//! A client is known by a keyed hash (HMAC-SHA-256, cut to 128 bits) of its
//! address. The key is random, lives only in this process, and is replaced
//! every [`ROTATE`]: the buckets go with it, so nothing here can link a
//! client's requests across two periods, and nothing is ever written anywhere.
//! The address itself is hashed and dropped at once.
//!
//! Behind a reverse proxy or a Tor onion service every connection comes from
//! the proxy, so the peer address says nothing about the reporter. The source
//! of the address is therefore configurable ([`ClientAddress`]): `None` turns
//! per-client limits off (proof-of-work and the sealing cap still apply),
//! `Header` reads the address a trusted proxy puts in a header.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
pub use axum::http::HeaderName;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroize;

/// How often the hashing key (and with it every bucket) is replaced.
pub const ROTATE: Duration = Duration::from_secs(60 * 60);
/// The most clients tracked at once (about 64 bytes each). Past it, clients
/// with a full bucket are forgotten; if none is, new clients pass untracked:
/// an adversary with this many addresses defeats per-address limits anyway,
/// and refusing every newcomer would shut out the reporters.
const MAX_CLIENTS: usize = 100_000;

/// Where the client's address comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAddress {
    /// No per-client limits (behind a proxy or an onion service that passes
    /// no address on).
    None,
    /// The TCP peer: only when clients connect to the intake directly.
    Peer,
    /// The first address in this header, set by a trusted proxy (for
    /// example `X-Real-IP`). A client can forge it only if it can reach the
    /// intake past the proxy.
    Header(HeaderName),
}

/// How many reports a client may send: `burst` at once, then one every
/// `3600 / per_hour` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_hour: u32,
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_hour: 30,
            burst: 10,
        }
    }
}

/// What the limiter says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Too many; the client may try again after this many seconds.
    Limited {
        retry_after: u64,
    },
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct Period {
    /// `None` only while the OS generator fails; then nobody is limited.
    key: Option<[u8; 32]>,
    started: Instant,
    buckets: HashMap<[u8; 16], Bucket>,
}

impl Drop for Period {
    fn drop(&mut self) {
        if let Some(key) = self.key.as_mut() {
            key.zeroize();
        }
    }
}

pub struct Limiter {
    source: ClientAddress,
    rate: RateLimit,
    period: Mutex<Period>,
}

impl Limiter {
    pub fn new(source: ClientAddress, rate: RateLimit, now: Instant) -> Self {
        Limiter {
            source,
            rate,
            period: Mutex::new(Period {
                key: vigil_core::random::bytes().ok(),
                started: now,
                buckets: HashMap::new(),
            }),
        }
    }

    /// Whether this client may send one more report now. `now` is passed in
    /// so that tests can move the clock.
    pub fn check(&self, headers: &HeaderMap, peer: Option<SocketAddr>, now: Instant) -> Verdict {
        let Some(address) = self.address(headers, peer) else {
            return Verdict::Allowed;
        };
        if self.rate.burst == 0 {
            return Verdict::Allowed;
        }
        let mut period = self.period.lock().unwrap_or_else(PoisonError::into_inner);
        if period.key.is_none() || now.saturating_duration_since(period.started) >= ROTATE {
            match vigil_core::random::bytes() {
                Ok(key) => {
                    *period = Period {
                        key: Some(key),
                        started: now,
                        buckets: HashMap::new(),
                    };
                }
                // Keep the old key, if any, rather than stop limiting; retried
                // at the next request.
                Err(_) => tracing::warn!("could not make a key for the rate limiter"),
            }
        }
        let Some(key) = period.key else {
            return Verdict::Allowed;
        };
        let client = client_hash(&key, address);
        let burst = f64::from(self.rate.burst);
        let per_second = f64::from(self.rate.per_hour.max(1)) / 3600.0;
        if period.buckets.len() >= MAX_CLIENTS && !period.buckets.contains_key(&client) {
            period.buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < burst
            });
            if period.buckets.len() >= MAX_CLIENTS {
                return Verdict::Allowed;
            }
        }
        let bucket = period.buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refill = now.saturating_duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Verdict::Allowed
        } else {
            let wait = ((1.0 - bucket.tokens) / per_second).ceil();
            // Bounded by 3600 s, since per_hour is at least one.
            let retry_after = if wait.is_finite() && wait > 0.0 {
                wait as u64
            } else {
                1
            };
            Verdict::Limited { retry_after }
        }
    }

    fn address(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        match &self.source {
            ClientAddress::None => None,
            ClientAddress::Peer => peer.map(|p| p.ip()),
            ClientAddress::Header(name) => headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok()),
        }
    }
}

/// The client's pseudonym for this period. An IPv6 client is known by its
/// /64, which one subscriber usually holds whole.
fn client_hash(key: &[u8; 32], address: IpAddr) -> [u8; 16] {
    let canonical: [u8; 16] = match address {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_ipv6_mapped().octets(),
            None => {
                let mut o = v6.octets();
                o[8..].fill(0);
                o
            }
        },
    };
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(key) {
        Ok(m) => m,
        // HMAC takes a key of any length; this branch cannot be reached.
        Err(_) => return [0; 16],
    };
    mac.update(&canonical);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// The abuse settings of an intake: whom to limit, how much, and how hard
/// the API's proof-of-work is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbuseConfig {
    pub client_address: ClientAddress,
    pub rate: RateLimit,
    /// Leading zero bits the API's proof-of-work must have; 0 turns it off.
    pub api_pow_bits: u8,
}

impl Default for AbuseConfig {
    fn default() -> Self {
        AbuseConfig {
            client_address: ClientAddress::None,
            rate: RateLimit::default(),
            api_pow_bits: 0,
        }
    }
}

/// The header an API client sends its solved challenge in.
pub const PROOF_HEADER: &str = "vigil-proof";

/// What an intake needs to turn a flood away before a report is read.
pub(crate) struct Guard {
    pub(crate) limiter: Limiter,
    pub(crate) pow: Option<crate::pow::Pow>,
}

impl Guard {
    pub(crate) fn new(config: &AbuseConfig) -> Self {
        Guard {
            limiter: Limiter::new(config.client_address.clone(), config.rate, Instant::now()),
            pow: (config.api_pow_bits > 0).then(|| crate::pow::Pow::new(config.api_pow_bits)),
        }
    }
}

/// Middleware on the routes that take a report: the API's proof-of-work,
/// then the client's rate limit. The refusals are in the sender's language;
/// the form's repeats the sender's words so that nothing they wrote is lost.
pub(crate) async fn guard(
    axum::extract::State(intake): axum::extract::State<std::sync::Arc<crate::Intake>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::StatusCode;
    let api = request.uri().path().starts_with("/api/");
    // browserseal: the form sealed in the browser posts there and reads JSON
    // (its proof-of-work is checked by its handler, in the reporter's words).
    let sealed = request.uri().path() == crate::browser_seal::SEALED_PATH;
    let lang = if sealed {
        crate::browser_seal::lang_of_query(request.uri())
    } else {
        crate::api::lang_of(request.headers(), None)
    };
    if api && let Some(pow) = &intake.guard.pow {
        let proof = request
            .headers()
            .get(PROOF_HEADER)
            .and_then(|v| v.to_str().ok());
        if let Err(e) = pow.verify(proof) {
            return crate::api::error(StatusCode::FORBIDDEN, e.code(), e.message(lang).into());
        }
    }
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    match intake
        .guard
        .limiter
        .check(request.headers(), peer, Instant::now())
    {
        Verdict::Allowed => next.run(request).await,
        Verdict::Limited { retry_after } if api || sealed => {
            let mut r = crate::api::error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                limited_message(lang, retry_after),
            );
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after.into());
            r
        }
        Verdict::Limited { retry_after } => form_limited(&intake, request, retry_after).await,
    }
}

/// "Too many reports from your address; wait N minutes", in one language.
pub(crate) fn limited_message(lang: vigil_core::Lang, retry_after: u64) -> String {
    let minutes = retry_after.div_ceil(60).max(1);
    match lang {
        vigil_core::Lang::Ru => format!(
            "С вашего адреса пришло слишком много сообщений подряд. Ничего не сохранено. Отправьте снова через {minutes} мин."
        ),
        vigil_core::Lang::En => format!(
            "Too many reports came from your address in a row. Nothing was kept. Send it again in {minutes} min."
        ),
    }
}

#[derive(askama::Template)]
#[template(path = "limited.html")]
struct LimitedPage<'a> {
    t: crate::texts::Texts,
    org: crate::texts::OrgView<'a>,
    message: String,
    /// Where the form posts again: the report form or the status page's.
    action: &'static str,
    followup: bool,
    text: String,
    contact: String,
    /// The other fields sent (the guided answers, or the receipt), carried
    /// along unchanged so that sending again later loses nothing.
    kept: Vec<(String, String)>,
}

/// The form's refusal: read the body (within the intake's limit) only to give
/// the reporter back their words, wiped once the page is rendered.
async fn form_limited(
    intake: &crate::Intake,
    request: axum::extract::Request,
    retry_after: u64,
) -> axum::response::Response {
    use askama::Template;
    use zeroize::Zeroizing;
    let followup = request.uri().path() == "/status/message";
    // The report form is multipart (it takes files, intakemerge): its text
    // fields are given back; the files are not (a browser cannot refill a
    // file input), and the page says to attach them again.
    let fields: Vec<(String, String)> =
        if let Some(boundary) = crate::multipart::boundary(request.headers()) {
            // Read within the same bound on uploads as an accepted report.
            let slot = intake.upload_slot().await;
            let parts = match slot {
                Some(_) => crate::api::read_multipart(intake, request, &boundary).await,
                None => Err(crate::multipart::MultipartError::TooLarge),
            };
            match parts {
                Ok(parts) => parts
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), f.value.to_string()))
                    .collect(),
                Err(_) => Vec::new(),
            }
        } else {
            let limit = intake.config.max_body_bytes;
            let body = axum::body::to_bytes(request.into_body(), limit)
                .await
                .map(|b| Zeroizing::new(Vec::from(b)))
                .unwrap_or_default();
            serde_urlencoded::from_bytes(&body).unwrap_or_default()
        };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let lang = vigil_core::Lang::from_code(Some(&field("lang")));
    let kept: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "text" | "contact" | "lang"))
        .cloned()
        .collect();
    let mut page = LimitedPage {
        t: crate::texts::texts(lang),
        org: crate::texts::org_view(&intake.config.organisation, lang),
        message: limited_message(lang, retry_after),
        action: if followup {
            "/status/message"
        } else {
            "/report"
        },
        followup,
        text: field("text"),
        contact: field("contact"),
        kept,
    };
    let mut fields = fields;
    for (k, v) in &mut fields {
        k.zeroize();
        v.zeroize();
    }
    let mut response = vigil_web::page(page.render(), axum::http::StatusCode::TOO_MANY_REQUESTS);
    page.text.zeroize();
    page.contact.zeroize();
    for (k, v) in &mut page.kept {
        k.zeroize();
        v.zeroize();
    }
    response
        .headers_mut()
        .insert(axum::http::header::RETRY_AFTER, retry_after.into());
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn peer(ip: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(ip.parse().unwrap(), 40000))
    }

    fn limiter(source: ClientAddress, now: Instant) -> Limiter {
        Limiter::new(
            source,
            RateLimit {
                per_hour: 60,
                burst: 3,
            },
            now,
        )
    }

    #[test]
    fn a_burst_passes_then_the_client_waits_for_a_token() {
        let t0 = Instant::now();
        let l = limiter(ClientAddress::Peer, t0);
        let h = HeaderMap::new();
        for _ in 0..3 {
            assert_eq!(l.check(&h, peer("203.0.113.7"), t0), Verdict::Allowed);
        }
        assert_eq!(
            l.check(&h, peer("203.0.113.7"), t0),
            Verdict::Limited { retry_after: 60 }
        );
        // Another client is not affected, nor the same one a port later.
        assert_eq!(l.check(&h, peer("203.0.113.8"), t0), Verdict::Allowed);
        // One a minute comes back.
        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(l.check(&h, peer("203.0.113.7"), t1), Verdict::Allowed);
        assert!(matches!(
            l.check(&h, peer("203.0.113.7"), t1),
            Verdict::Limited { .. }
        ));
    }

    #[test]
    fn an_ipv6_client_is_known_by_its_64_and_mapped_v4_as_v4() {
        let t0 = Instant::now();
        let l = limiter(ClientAddress::Peer, t0);
        let h = HeaderMap::new();
        for i in 0..3 {
            let ip = format!("2001:db8:1:2::{i}");
            assert_eq!(l.check(&h, peer(&ip), t0), Verdict::Allowed);
        }
        assert!(matches!(
            l.check(&h, peer("2001:db8:1:2:ffff::9"), t0),
            Verdict::Limited { .. }
        ));
        for _ in 0..3 {
            assert_eq!(l.check(&h, peer("198.51.100.1"), t0), Verdict::Allowed);
        }
        assert!(matches!(
            l.check(&h, peer("::ffff:198.51.100.1"), t0),
            Verdict::Limited { .. }
        ));
    }

    #[test]
    fn rotation_replaces_the_key_and_forgets_every_client() {
        let t0 = Instant::now();
        let l = limiter(ClientAddress::Peer, t0);
        let h = HeaderMap::new();
        for _ in 0..4 {
            l.check(&h, peer("203.0.113.7"), t0);
        }
        let key_before = l.period.lock().unwrap().key;
        let later = t0 + ROTATE;
        assert_eq!(l.check(&h, peer("203.0.113.7"), later), Verdict::Allowed);
        let period = l.period.lock().unwrap();
        assert_ne!(period.key, key_before);
        assert_eq!(period.buckets.len(), 1);
    }

    #[test]
    fn the_header_source_reads_the_first_address_and_none_limits_nobody() {
        let t0 = Instant::now();
        let l = limiter(
            ClientAddress::Header(HeaderName::from_static("x-real-ip")),
            t0,
        );
        let mut h = HeaderMap::new();
        h.insert("x-real-ip", "192.0.2.1, 10.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(l.check(&h, peer("127.0.0.1"), t0), Verdict::Allowed);
        }
        assert!(matches!(
            l.check(&h, peer("127.0.0.2"), t0),
            Verdict::Limited { .. }
        ));
        // No header: not limited (the proxy is trusted to set it).
        assert_eq!(
            l.check(&HeaderMap::new(), peer("127.0.0.1"), t0),
            Verdict::Allowed
        );
        let none = limiter(ClientAddress::None, t0);
        for _ in 0..10 {
            assert_eq!(none.check(&h, peer("192.0.2.1"), t0), Verdict::Allowed);
        }
    }

    #[test]
    fn no_address_is_kept_in_clear() {
        let t0 = Instant::now();
        let l = limiter(ClientAddress::Peer, t0);
        l.check(&HeaderMap::new(), peer("203.0.113.7"), t0);
        let period = l.period.lock().unwrap();
        for k in period.buckets.keys() {
            assert!(!k.windows(4).any(|w| w == [203, 0, 113, 7]));
        }
    }
}
