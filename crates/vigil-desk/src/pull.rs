//! Pulling sealed reports from the intake.
//!
//! The order of the steps is what makes a pull safe to interrupt anywhere:
//! fetch, commit to the desk's store, and only then acknowledge. A crash before
//! the commit leaves the reports on the intake; a crash after it leaves them on
//! both, and the next pull stores them again as no-ops (the report id is unique)
//! before acknowledging. Nothing is lost and nothing is duplicated.
//!
//! The connection itself is held to a narrow path: `https://`, or plain
//! `http://` only to this machine or to an `.onion` address (Tor encrypts that
//! hop); no redirects, so a hijacked or misconfigured intake cannot send the
//! token elsewhere; and no proxy from the environment (`HTTPS_PROXY`, ...),
//! only the one the desk config names (`socks5h://`, for Tor).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use vigil_core::followup::{ExchangeRequest, ExchangeResponse, SealedMessage, Sender};
use vigil_core::sealed::{AckRequest, AckResponse, PullResponse};
use vigil_core::{ReportId, SealedReport};
use vigil_store::{DeskStore, StoreError};
use zeroize::Zeroizing;

/// Reports asked for in one request.
const PAGE: u32 = 200;
/// A bound on one pull, so a misbehaving intake cannot keep the desk looping.
const MAX_PAGES: usize = 10_000;
/// The most the desk reads of one answer, so a seized or misbehaving intake
/// cannot fill the desk's memory. A page that does not fit is asked for again
/// with half as many reports; one report (at most 4 MiB of body, sealed and
/// encoded) always fits.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(
        "intake_url {url:?}: plain http:// to a host other than this machine would carry the \
         desk token and the sealed reports unencrypted across the network; use https://…, or \
         the intake's .onion address (http:// is fine there: Tor encrypts it) with \
         intake_proxy = \"socks5h://127.0.0.1:9050\" in the desk config"
    )]
    PlainHttp { url: String },
    #[error(
        "intake_url {url:?}: {reason}; expected https://HOST, http://127.0.0.1:PORT or \
         http://….onion (see docs/zones.md)"
    )]
    BadUrl { url: String, reason: String },
    #[error(
        "intake_url {url:?}: an .onion address is reachable only through Tor: set \
         intake_proxy = \"socks5h://127.0.0.1:9050\" (Tor's SOCKS port) in the desk config"
    )]
    OnionNeedsProxy { url: String },
    #[error(
        "intake_proxy {proxy:?}: only socks5h://HOST:PORT is accepted (with socks5h, Tor \
         resolves the intake's name, so no DNS query about it leaves this machine)"
    )]
    BadProxy { proxy: String },
    #[error(
        "the intake answered with a redirect (HTTP {status}); the desk does not follow \
         redirects, so that its token goes only to the address it was given: set intake_url \
         to the intake's own address"
    )]
    Redirect { status: u16 },
    #[error("cannot reach the intake at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(
        "the intake refused the desk's token (HTTP 401): check intake_token in the desk config"
    )]
    Unauthorised,
    #[error("the intake answered HTTP {status}")]
    Status { status: u16 },
    #[error("the intake's answer is not what the desk expects: {0}")]
    BadAnswer(String),
    #[error(
        "the intake's answer is larger than the desk reads ({MAX_ANSWER_BYTES} bytes), \
         even for one report: check that intake_url names a vigil intake"
    )]
    TooLarge,
    #[error("the desk's store failed: {0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PullOutcome {
    /// Reports stored for the first time.
    pub new: u64,
    /// Reports the intake confirmed it purged.
    pub acknowledged: u64,
    /// The team's replies the intake took (intakeform).
    pub replies_taken: u64,
    /// Reporters' follow-ups stored for the first time (intakeform).
    pub followups: u64,
}

/// The replies sent in one exchange, in bytes of sealed text: well under what
/// the intake reads in one (4 MiB), after base64 and JSON.
const EXCHANGE_BYTES: usize = 1024 * 1024;
/// The replies looked at in one pull; the rest wait for the next.
const REPLIES_PER_PULL: u32 = 1000;
/// A bound on the exchanges of one pull.
const MAX_EXCHANGES: usize = 1000;

/// Talks to one intake with the desk's token.
#[derive(Clone)]
pub struct Puller {
    client: reqwest::Client,
    base: String,
    token: Arc<Zeroizing<String>>,
}

/// Whether `host` (as a URL writes it) is this machine.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// Checks the intake URL and the proxy against the rules above; returns the
/// proxy to use, if any.
pub fn check_intake_url(
    intake_url: &str,
    proxy: Option<&str>,
) -> Result<Option<reqwest::Proxy>, PullError> {
    let bad = |reason: &str| PullError::BadUrl {
        url: intake_url.to_owned(),
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(intake_url).map_err(|e| bad(&e.to_string()))?;
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "a user or password in the URL is not used; the desk sends its token instead",
        ));
    }
    let onion = host
        .trim_end_matches('.')
        .to_ascii_lowercase()
        .ends_with(".onion");
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) || onion => {}
        "http" => {
            return Err(PullError::PlainHttp {
                url: intake_url.to_owned(),
            });
        }
        _ => {
            return Err(bad(
                "the scheme must be https:// (or http:// on loopback or .onion)",
            ));
        }
    }
    let proxy = match proxy.map(str::trim).filter(|p| !p.is_empty()) {
        None if onion => {
            return Err(PullError::OnionNeedsProxy {
                url: intake_url.to_owned(),
            });
        }
        None => None,
        Some(p) => {
            let refused = || PullError::BadProxy {
                proxy: p.to_owned(),
            };
            let parsed = reqwest::Url::parse(p).map_err(|_| refused())?;
            if parsed.scheme() != "socks5h" || parsed.host_str().is_none() {
                return Err(refused());
            }
            Some(reqwest::Proxy::all(p).map_err(|_| refused())?)
        }
    };
    Ok(proxy)
}

impl Puller {
    /// A puller for `intake_url`, with no proxy.
    pub fn new(intake_url: &str, token: Zeroizing<String>) -> Result<Self, PullError> {
        Self::with_proxy(intake_url, token, None)
    }

    /// A puller for `intake_url`, through `proxy` (`socks5h://HOST:PORT`) if
    /// given. Refuses a URL or proxy that breaks the rules above.
    pub fn with_proxy(
        intake_url: &str,
        token: Zeroizing<String>,
        proxy: Option<&str>,
    ) -> Result<Self, PullError> {
        let proxy = check_intake_url(intake_url, proxy)?;
        // no_proxy() first: it clears the proxies read from the environment,
        // and the one given explicitly is added after it.
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(proxy) = proxy {
            builder = builder.proxy(proxy);
        }
        let client = builder.build().map_err(|e| PullError::Unreachable {
            url: intake_url.into(),
            reason: e.to_string(),
        })?;
        Ok(Puller {
            client,
            base: intake_url.trim_end_matches('/').to_owned(),
            token: Arc::new(token),
        })
    }

    fn unreachable(&self, e: reqwest::Error) -> PullError {
        PullError::Unreachable {
            url: self.base.clone(),
            reason: e.without_url().to_string(),
        }
    }

    fn check(status: reqwest::StatusCode) -> Result<(), PullError> {
        match status.as_u16() {
            200..=299 => Ok(()),
            300..=399 => Err(PullError::Redirect {
                status: status.as_u16(),
            }),
            401 => Err(PullError::Unauthorised),
            s => Err(PullError::Status { status: s }),
        }
    }

    /// Step 1: fetch the oldest pending reports, without changing anything.
    pub async fn fetch(&self, limit: u32) -> Result<Vec<SealedReport>, PullError> {
        let response = self
            .client
            .get(format!("{}/api/v1/desk/reports?limit={limit}", self.base))
            .bearer_auth(self.token.as_str())
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        Self::check(response.status())?;
        let bytes = self.read_bounded(response).await?;
        let body: PullResponse =
            serde_json::from_slice(&bytes).map_err(|e| PullError::BadAnswer(e.to_string()))?;
        Ok(body.reports)
    }

    /// Reads an answer's body, refusing more than `MAX_ANSWER_BYTES`.
    async fn read_bounded(&self, mut response: reqwest::Response) -> Result<Vec<u8>, PullError> {
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(PullError::TooLarge);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.unreachable(e))? {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(PullError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// Step 3: tell the intake these reports are durable here and may be purged.
    pub async fn acknowledge(&self, ids: &[ReportId]) -> Result<u64, PullError> {
        let response = self
            .client
            .post(format!("{}/api/v1/desk/ack", self.base))
            .bearer_auth(self.token.as_str())
            .json(&AckRequest { ids: ids.to_vec() })
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        Self::check(response.status())?;
        let bytes = self.read_bounded(response).await?;
        let body: AckResponse =
            serde_json::from_slice(&bytes).map_err(|e| PullError::BadAnswer(e.to_string()))?;
        Ok(body.acknowledged)
    }

    /// One exchange of messages on the pull connection (intakeform).
    async fn exchange_once(
        &self,
        request: &ExchangeRequest,
    ) -> Result<ExchangeResponse, PullError> {
        let response = self
            .client
            .post(format!("{}/api/v1/desk/messages", self.base))
            .bearer_auth(self.token.as_str())
            .json(request)
            .send()
            .await
            .map_err(|e| self.unreachable(e))?;
        Self::check(response.status())?;
        let bytes = self.read_bounded(response).await?;
        serde_json::from_slice(&bytes).map_err(|e| PullError::BadAnswer(e.to_string()))
    }

    /// Replies by receipt: hands the team's waiting replies to the intake
    /// (it keeps those whose receipt it knows), then stores the reporters'
    /// follow-ups and confirms them, in the same order as reports (store,
    /// then confirm), so an interruption loses none and repeats none.
    pub async fn exchange(&self, store: &dyn DeskStore) -> Result<PullOutcome, PullError> {
        let mut outcome = PullOutcome::default();
        let mut batches: Vec<Vec<SealedMessage>> = Vec::new();
        let mut size = 0;
        for reply in store.desk_unpushed_replies(REPLIES_PER_PULL).await? {
            size += reply.sealed.len();
            match batches.last_mut() {
                Some(batch) if size <= EXCHANGE_BYTES => batch.push(reply),
                _ => {
                    size = reply.sealed.len();
                    batches.push(vec![reply]);
                }
            }
        }
        let mut batches = batches.into_iter();
        let mut delivered = Vec::new();
        for _ in 0..MAX_EXCHANGES {
            let replies = batches.next().unwrap_or_default();
            let sent_replies = !replies.is_empty();
            let answer = self
                .exchange_once(&ExchangeRequest {
                    replies,
                    delivered: std::mem::take(&mut delivered),
                })
                .await?;
            outcome.replies_taken += store.desk_mark_pushed(&answer.stored).await?;
            // Whatever an intake claims, what comes from it is the reporter's.
            let followups: Vec<SealedMessage> = answer
                .followups
                .into_iter()
                .map(|mut m| {
                    m.from = Sender::Reporter;
                    m
                })
                .collect();
            if !followups.is_empty() {
                outcome.followups += store.desk_add_messages(&followups).await?;
                delivered = followups.iter().map(|m| m.id).collect();
            }
            if delivered.is_empty() && !sent_replies && batches.len() == 0 {
                break;
            }
        }
        Ok(outcome)
    }

    /// Pulls until the intake has nothing pending.
    pub async fn pull_all(&self, store: &dyn DeskStore) -> Result<PullOutcome, PullError> {
        let mut outcome = PullOutcome::default();
        let mut page = PAGE;
        for _ in 0..MAX_PAGES {
            let reports = match self.fetch(page).await {
                Err(PullError::TooLarge) if page > 1 => {
                    page /= 2;
                    continue;
                }
                other => other?,
            };
            if reports.is_empty() {
                break;
            }
            // Step 2: commit before acknowledging.
            outcome.new += store.desk_store_pulled(&reports).await?;
            let ids: Vec<ReportId> = reports.iter().map(|r| r.id).collect();
            outcome.acknowledged += self.acknowledge(&ids).await?;
        }
        let messages = self.exchange(store).await?;
        outcome.replies_taken = messages.replies_taken;
        outcome.followups = messages.followups;
        Ok(outcome)
    }

    /// Pulls every `interval` until the process ends. Failures are logged
    /// (without any report data) and retried at the next tick.
    pub fn spawn_every(self, store: Arc<dyn DeskStore>, interval: Duration) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match self.pull_all(store.as_ref()).await {
                    Ok(o) if o.new > 0 || o.followups > 0 || o.replies_taken > 0 => tracing::info!(
                        new = o.new,
                        followups = o.followups,
                        replies = o.replies_taken,
                        "pulled from intake"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pull from intake failed; will retry"),
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn allowed(url: &str, proxy: Option<&str>) -> bool {
        check_intake_url(url, proxy).is_ok()
    }

    #[test]
    fn plain_http_only_to_this_machine_or_an_onion() {
        assert!(allowed("https://intake.example.org", None));
        assert!(allowed("https://192.0.2.7:8443/", None));
        assert!(allowed("http://127.0.0.1:8080", None));
        assert!(allowed("http://127.8.9.10:8080", None));
        assert!(allowed("http://[::1]:8080", None));
        assert!(allowed("http://[::ffff:127.0.0.1]:8080", None));
        assert!(allowed("http://localhost:8080", None));
        for url in [
            "http://192.0.2.7:8080",
            "http://intake.example.org",
            "http://[2001:db8::1]/",
            "http://localhost.example.org/",
            "http://127.0.0.1.nip.io/",
        ] {
            assert!(
                matches!(
                    check_intake_url(url, None),
                    Err(PullError::PlainHttp { .. })
                ),
                "{url}"
            );
        }
        for url in [
            "ftp://127.0.0.1/",
            "intake.example.org",
            "https://u:p@intake.example.org",
        ] {
            assert!(
                matches!(check_intake_url(url, None), Err(PullError::BadUrl { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn an_onion_goes_only_through_a_socks5h_proxy() {
        let onion = "http://abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefab.onion";
        assert!(matches!(
            check_intake_url(onion, None),
            Err(PullError::OnionNeedsProxy { .. })
        ));
        assert!(allowed(onion, Some("socks5h://127.0.0.1:9050")));
        for proxy in [
            "socks5://127.0.0.1:9050",
            "http://127.0.0.1:8118",
            "127.0.0.1:9050",
        ] {
            assert!(
                matches!(
                    check_intake_url(onion, Some(proxy)),
                    Err(PullError::BadProxy { .. })
                ),
                "{proxy}"
            );
        }
    }
}
