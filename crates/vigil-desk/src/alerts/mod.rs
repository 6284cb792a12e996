//! Alerts to the person on duty: a webhook (JSON POST), e-mail through an SMTP
//! relay, and a Telegram message through the Bot API.
//!
//! An alert carries no report content: only that urgent reports are waiting,
//! how many, and a link to the desk's duty page. Where an alert goes is
//! checked at start: https://, or plain http:// and SMTP only to this machine
//! (an SMTP relay on 127.0.0.1 carries it on with TLS), so that nothing about
//! the urgent line crosses a network in clear.

pub mod smtp;
pub mod telegram;
pub mod webhook;

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How long one delivery may take before it counts as failed.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The desk config's `[alerts]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// The desk's address as the team opens it; alerts link to its duty page.
    pub desk_url: String,
    /// Minutes an urgent report may wait unacknowledged before the next
    /// person in the shift's escalation order is alerted [default: 5].
    #[serde(default = "default_escalate_after")]
    pub escalate_after_minutes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram: Option<TelegramConfig>,
    /// Where each person on the roster is reached.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Contact>,
}

fn default_escalate_after() -> u32 {
    5
}

/// Every alert, for anyone, is also POSTed here as JSON (naming the person).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
}

/// A plain SMTP relay on this machine (postfix, msmtpd, ...), which carries
/// mail on with TLS.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    #[serde(default = "default_smtp_host")]
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// The sender address, for example `vigil@example.org`.
    pub from: String,
}

fn default_smtp_host() -> String {
    "127.0.0.1".into()
}
fn default_smtp_port() -> u16 {
    25
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The Bot API's base URL [default: https://api.telegram.org].
    #[serde(default = "default_telegram_api")]
    pub api_url: String,
    /// The bot's token. Env: VIGIL_TELEGRAM_TOKEN (preferred).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<String>,
}

fn default_telegram_api() -> String {
    "https://api.telegram.org".into()
}

/// How one desk account is reached: an e-mail address, a Telegram chat id.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram_chat_id: Option<String>,
}

/// The channels, as stored with each queued alert.
pub const WEBHOOK: &str = "webhook";
pub const EMAIL: &str = "email";
pub const TELEGRAM: &str = "telegram";

#[derive(Debug, thiserror::Error)]
pub enum AlertConfigError {
    #[error(
        "[alerts] {key} = {value:?}: {reason}; use https://…, or http:// only to 127.0.0.1 \
         (alerts must not cross a network in clear)"
    )]
    Url {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error(
        "[alerts.smtp] host = {0:?}: vigil speaks plain SMTP only to a relay on this machine \
         (127.0.0.1 or ::1), which carries mail on with TLS: run postfix or msmtpd locally and \
         point host at it"
    )]
    SmtpHost(String),
    #[error("[alerts] {key} = {value:?}: {reason}")]
    Address {
        key: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error(
        "[alerts] escalate_after_minutes = 0: choose 1 or more minutes before the next person \
         is alerted"
    )]
    Escalation,
    #[error(
        "[alerts.telegram] has no bot token: set VIGIL_TELEGRAM_TOKEN (or bot_token in the desk \
         config)"
    )]
    NoBotToken,
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

fn check_url(key: &'static str, value: &str) -> Result<(), AlertConfigError> {
    let bad = |reason| AlertConfigError::Url {
        key,
        value: value.to_owned(),
        reason,
    };
    let url = reqwest::Url::parse(value).map_err(|_| bad("not a URL"))?;
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback_host(host) => Ok(()),
        "http" => Err(bad("plain http:// to another machine")),
        _ => Err(bad("the scheme must be https://")),
    }
}

/// An address goes into an SMTP command: no line breaks, no angle brackets.
pub(crate) fn check_address(key: &'static str, value: &str) -> Result<(), AlertConfigError> {
    let bad = |reason| AlertConfigError::Address {
        key,
        value: value.chars().take(80).collect(),
        reason,
    };
    if value.len() > 254
        || value
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>')
    {
        return Err(bad("an e-mail address has no spaces, line breaks or <>"));
    }
    match value.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(()),
        _ => Err(bad("an e-mail address looks like name@example.org")),
    }
}

impl AlertsConfig {
    /// Refuses a section that would send alerts in clear or could not work,
    /// naming the key and the fix.
    pub fn check(&self, telegram_token: Option<&str>) -> Result<(), AlertConfigError> {
        check_url("desk_url", &self.desk_url).or_else(|e| match e {
            // The link is only text in the alert; any http(s) address will do.
            AlertConfigError::Url {
                reason: "plain http:// to another machine",
                ..
            } => Ok(()),
            e => Err(e),
        })?;
        if self.escalate_after_minutes == 0 {
            return Err(AlertConfigError::Escalation);
        }
        if let Some(w) = &self.webhook {
            check_url("webhook.url", &w.url)?;
        }
        if let Some(s) = &self.smtp {
            if !is_loopback_host(&s.host) {
                return Err(AlertConfigError::SmtpHost(s.host.clone()));
            }
            check_address("smtp.from", &s.from)?;
        }
        if let Some(t) = &self.telegram {
            check_url("telegram.api_url", &t.api_url)?;
            if telegram_token.is_none() && t.bot_token.is_none() {
                return Err(AlertConfigError::NoBotToken);
            }
        }
        for p in &self.people {
            if let Some(e) = &p.email {
                check_address("people.email", e)?;
            }
            if let Some(chat) = &p.telegram_chat_id
                && (chat.is_empty()
                    || !chat
                        .trim_start_matches('-')
                        .chars()
                        .all(|c| c.is_ascii_digit()))
            {
                return Err(AlertConfigError::Address {
                    key: "people.telegram_chat_id",
                    value: chat.chars().take(40).collect(),
                    reason: "a Telegram chat id is a number, for example 123456789",
                });
            }
        }
        Ok(())
    }

    /// The channels that reach `username`, in the order they are tried.
    pub fn channels_for(&self, username: &str) -> Vec<&'static str> {
        let contact = self.people.iter().find(|p| p.username == username);
        let mut channels = Vec::new();
        if self.webhook.is_some() {
            channels.push(WEBHOOK);
        }
        if self.smtp.is_some() && contact.is_some_and(|c| c.email.is_some()) {
            channels.push(EMAIL);
        }
        if self.telegram.is_some() && contact.is_some_and(|c| c.telegram_chat_id.is_some()) {
            channels.push(TELEGRAM);
        }
        channels
    }

    pub fn duty_link(&self) -> String {
        format!("{}/duty", self.desk_url.trim_end_matches('/'))
    }
}

/// What every alert says, in Russian first and English: a count and a link,
/// nothing from any report.
pub fn alert_text(waiting: u64, link: &str) -> String {
    format!(
        "vigil: срочно — ждут ответа сообщения о задержании: {waiting}. Откройте дежурную страницу: {link}\n\
         vigil: urgent — detention reports waiting for an answer: {waiting}. Open the duty page: {link}"
    )
}

pub const ALERT_SUBJECT: &str = "vigil: срочно / urgent";

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("no {0} address is configured for this person")]
    NoAddress(&'static str),
    #[error("the channel is not configured")]
    NotConfigured,
    #[error("timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Io(std::io::ErrorKind),
    #[error("HTTP request failed: {0}")]
    Http(String),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("the SMTP server answered {0} to {1}")]
    Smtp(u16, &'static str),
    #[error("the SMTP server's answer is not SMTP")]
    SmtpGarbled,
}

/// Sends alerts through the configured channels.
pub struct Sender {
    config: AlertsConfig,
    telegram_token: Option<zeroize::Zeroizing<String>>,
    http: reqwest::Client,
}

impl Sender {
    pub fn new(
        config: AlertsConfig,
        telegram_token: Option<zeroize::Zeroizing<String>>,
    ) -> Result<Self, SendError> {
        let telegram_token = telegram_token.or_else(|| {
            config
                .telegram
                .as_ref()
                .and_then(|t| t.bot_token.clone())
                .map(zeroize::Zeroizing::new)
        });
        // No proxies from the environment and no redirects: an alert goes
        // only where the config says.
        let http = reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| SendError::Http(e.without_url().to_string()))?;
        Ok(Sender {
            config,
            telegram_token,
            http,
        })
    }

    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    /// Sends one alert to `username` by `channel`.
    pub async fn send(&self, username: &str, channel: &str, waiting: u64) -> Result<(), SendError> {
        let link = self.config.duty_link();
        let text = alert_text(waiting, &link);
        let contact = self.config.people.iter().find(|p| p.username == username);
        match channel {
            WEBHOOK => {
                let w = self
                    .config
                    .webhook
                    .as_ref()
                    .ok_or(SendError::NotConfigured)?;
                webhook::send(&self.http, &w.url, username, waiting, &link, &text).await
            }
            EMAIL => {
                let s = self.config.smtp.as_ref().ok_or(SendError::NotConfigured)?;
                let to = contact
                    .and_then(|c| c.email.as_deref())
                    .ok_or(SendError::NoAddress("e-mail"))?;
                tokio::time::timeout(SEND_TIMEOUT, smtp::send(s, to, ALERT_SUBJECT, &text))
                    .await
                    .map_err(|_| SendError::Timeout)?
            }
            TELEGRAM => {
                let t = self
                    .config
                    .telegram
                    .as_ref()
                    .ok_or(SendError::NotConfigured)?;
                let token = self
                    .telegram_token
                    .as_ref()
                    .ok_or(SendError::NotConfigured)?;
                let chat = contact
                    .and_then(|c| c.telegram_chat_id.as_deref())
                    .ok_or(SendError::NoAddress("Telegram"))?;
                telegram::send(&self.http, &t.api_url, token, chat, &text).await
            }
            _ => Err(SendError::NotConfigured),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> AlertsConfig {
        toml::from_str(
            r#"
            desk_url = "https://desk.example.org"
            [webhook]
            url = "https://hooks.example.org/vigil"
            [smtp]
            from = "vigil@example.org"
            [[people]]
            username = "anna"
            email = "anna@example.org"
            "#,
        )
        .unwrap()
    }

    #[test]
    fn channels_follow_the_config_and_the_contacts() {
        let c = config();
        assert!(c.check(None).is_ok());
        assert_eq!(c.channels_for("anna"), vec![WEBHOOK, EMAIL]);
        assert_eq!(c.channels_for("boris"), vec![WEBHOOK]);
        assert_eq!(c.escalate_after_minutes, 5);
    }

    #[test]
    fn nothing_goes_out_in_clear() {
        let mut c = config();
        c.webhook = Some(WebhookConfig {
            url: "http://hooks.example.org/".into(),
        });
        assert!(matches!(c.check(None), Err(AlertConfigError::Url { .. })));
        c.webhook = Some(WebhookConfig {
            url: "http://127.0.0.1:9/".into(),
        });
        assert!(c.check(None).is_ok());
        c.smtp = Some(SmtpConfig {
            host: "smtp.example.org".into(),
            port: 25,
            from: "vigil@example.org".into(),
        });
        assert!(matches!(c.check(None), Err(AlertConfigError::SmtpHost(_))));
    }

    #[test]
    fn addresses_cannot_smuggle_smtp_commands() {
        assert!(check_address("k", "anna@example.org").is_ok());
        for bad in ["anna@example.org>\r\nRCPT TO:<x@y", "no-at", "a b@c", "@c"] {
            assert!(check_address("k", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_text_is_a_count_and_a_link() {
        let t = alert_text(3, "https://desk/duty");
        assert!(t.contains(": 3.") && t.contains("https://desk/duty"));
    }
}
