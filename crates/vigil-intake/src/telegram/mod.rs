//! The Telegram channel: a webhook that asks the form's questions one at a
//! time with buttons, then seals the report through [`Intake::submit`] like
//! every other channel and answers with the receipt.
//!
//! What it keeps: unfinished conversations, in memory only, keyed by a keyed
//! hash of the chat id (the key is made at start and never written), wiped
//! when they end or expire. The chat id is used to answer and then dropped: it
//! is never stored with a report, in the database or in a log. What Telegram
//! itself sees is another matter: docs/threat-model.md says it plainly.

mod client;
mod conversation;
mod texts;
mod update;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vigil_core::{Channel, Happened, Lang, Receipt};
use zeroize::{Zeroize, Zeroizing};

use self::client::BotApi;
use self::conversation::{Conversation, Input, Outcome, Reply};
use self::texts::bot_texts;
use self::update::{Message, Update};
use crate::limits::{ClientAddress, Limiter, RateLimit, Verdict};
use crate::texts::texts;
use crate::{Intake, Submission, SubmitError};

/// The Bot API's address unless the config names another (tests name a fake).
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";
/// Minutes without an answer after which a conversation is forgotten.
pub const DEFAULT_CONVERSATION_MINUTES: u32 = 30;
/// Unfinished conversations held at once; past it, new ones are refused.
pub const DEFAULT_MAX_CONVERSATIONS: usize = 1000;
/// The header in which Telegram sends the webhook's secret token.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// The longest message Telegram delivers, in characters; anything longer did
/// not come from Telegram.
const MAX_MESSAGE_CHARS: usize = 4096;
/// Bytes of answers all unfinished conversations may hold together (a
/// conversation holds at most about 90 KB: a 20,000-character account and
/// the short answers). Past it, new words are refused until some end.
const MAX_HELD_BYTES: usize = 16 * 1024 * 1024;
/// How often expired conversations are wiped even if nobody writes.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The `[telegram]` settings as read from the config, before they are checked.
pub struct TelegramSettings {
    pub bot_token: Zeroizing<String>,
    /// The last part of the webhook's path, `/telegram/{webhook_secret}`.
    pub webhook_secret: Zeroizing<String>,
    /// What Telegram sends in `X-Telegram-Bot-Api-Secret-Token`
    /// (setWebhook's `secret_token`).
    pub secret_token: Zeroizing<String>,
    pub api_base: String,
    pub conversation_minutes: u32,
    pub max_conversations: usize,
}

/// The checked settings, with the Bot API client ready.
pub struct TelegramConfig {
    webhook_secret_hash: [u8; 32],
    secret_token_hash: [u8; 32],
    api: BotApi,
    expiry: Duration,
    max_conversations: usize,
    /// Keys the chat-id hash; made at start, never written anywhere.
    chat_key: Zeroizing<[u8; 32]>,
}

/// Letters, digits, `_` and `-`: what Telegram allows in a secret token, and
/// what a URL path carries unchanged.
fn is_token_text(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Whether a Bot API base is one the bot may send reporters' answers to:
/// HTTPS, or plain HTTP only on loopback (a test's fake).
fn is_safe_api_base(base: &str) -> bool {
    if base.starts_with("https://") {
        return true;
    }
    let Some(rest) = base.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

impl TelegramConfig {
    /// Checks the settings; the error names the key and says what to fix.
    pub fn new(settings: TelegramSettings) -> Result<Self, String> {
        let token = settings.bot_token.trim();
        if token.is_empty() || token.contains(char::is_whitespace) || token.contains('/') {
            return Err(
                "telegram bot token: empty or malformed; give the token BotFather printed \
                 (digits, a colon and letters), in the file named by bot_token_file or in \
                 VIGIL_TELEGRAM_BOT_TOKEN"
                    .into(),
            );
        }
        let secret = settings.webhook_secret.trim();
        if secret.len() < 32 || secret.len() > 256 || !is_token_text(secret) {
            return Err(
                "telegram webhook_secret: give 32 to 256 letters, digits, _ or - \
                 (for example `openssl rand -hex 32`); it is the last part of the webhook's \
                 address, /telegram/WEBHOOK_SECRET"
                    .into(),
            );
        }
        let header = settings.secret_token.trim();
        if header.len() < 32 || header.len() > 256 || !is_token_text(header) {
            return Err(
                "telegram secret_token: give 32 to 256 letters, digits, _ or - \
                 (for example `openssl rand -hex 32`), and the same to setWebhook's secret_token"
                    .into(),
            );
        }
        if !is_safe_api_base(&settings.api_base) {
            return Err(format!(
                "telegram api_base: {:?} is neither https:// nor a loopback http:// address; \
                 leave it out for {DEFAULT_API_BASE}",
                settings.api_base
            ));
        }
        if !(1..=24 * 60).contains(&settings.conversation_minutes) {
            return Err(format!(
                "telegram conversation_minutes: {} is out of range; give 1 to 1440 \
                 (default {DEFAULT_CONVERSATION_MINUTES})",
                settings.conversation_minutes
            ));
        }
        if settings.max_conversations == 0 {
            return Err(format!(
                "telegram max_conversations: give at least 1 (default {DEFAULT_MAX_CONVERSATIONS})"
            ));
        }
        let chat_key = vigil_core::random::bytes::<32>()
            .map_err(|e| format!("telegram: no randomness for the chat key: {e}"))?;
        Ok(TelegramConfig {
            webhook_secret_hash: Sha256::digest(secret.as_bytes()).into(),
            secret_token_hash: Sha256::digest(header.as_bytes()).into(),
            api: BotApi::new(&settings.api_base, token)?,
            expiry: Duration::from_secs(u64::from(settings.conversation_minutes) * 60),
            max_conversations: settings.max_conversations,
            chat_key: Zeroizing::new(chat_key),
        })
    }

    /// Both secrets, compared in constant time and both always compared, so
    /// that neither the answer nor its timing tells which one was wrong.
    fn admits(&self, path_secret: &[u8], header: &[u8]) -> bool {
        let path: [u8; 32] = Sha256::digest(path_secret).into();
        let head: [u8; 32] = Sha256::digest(header).into();
        let ok = path.ct_eq(&self.webhook_secret_hash) & head.ct_eq(&self.secret_token_hash);
        ok.into()
    }
}

/// A keyed hash of a chat id: the only form in which a chat is remembered.
type ChatKey = [u8; 32];

/// The bot's state inside the intake.
pub(crate) struct Bot {
    config: TelegramConfig,
    conversations: Mutex<HashMap<ChatKey, Conversation>>,
    /// Replies the Bot API did not take; the only thing logged about them.
    failed_calls: AtomicU64,
    /// Reports sealed per chat, under the intake's `[abuse]` rate (the
    /// per-address limit cannot serve: every update comes from Telegram).
    limiter: Limiter,
}

/// What to do once the conversation map is unlocked.
enum Next {
    Send(Vec<Reply>),
    Submit(Conversation),
}

impl Bot {
    pub(crate) fn new(config: TelegramConfig, rate: RateLimit) -> Self {
        Bot {
            config,
            conversations: Mutex::new(HashMap::new()),
            failed_calls: AtomicU64::new(0),
            limiter: Limiter::new(ClientAddress::Peer, rate, Instant::now()),
        }
    }

    /// Whether this chat may seal one more report now. The limiter knows a
    /// client by a keyed hash of an address under a key it rotates, so the
    /// chat id is given to it as an address (in the /64 it keys by), in a
    /// limiter of the bot's own, apart from web clients'.
    fn limited(&self, chat_id: i64, now: Instant) -> Option<u64> {
        let prefix = u128::from(u64::from_be_bytes(chat_id.to_be_bytes())) << 64;
        let as_address = SocketAddr::new(IpAddr::V6(Ipv6Addr::from(prefix)), 0);
        match self.limiter.check(&HeaderMap::new(), Some(as_address), now) {
            Verdict::Allowed => None,
            Verdict::Limited { retry_after } => Some(retry_after),
        }
    }

    fn chat_key(&self, chat_id: i64) -> ChatKey {
        // HMAC takes keys of any length, so this cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(self.config.chat_key.as_ref())
        else {
            return [0u8; 32];
        };
        mac.update(b"vigil telegram chat v1\0");
        mac.update(&chat_id.to_le_bytes());
        mac.finalize().into_bytes().into()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ChatKey, Conversation>> {
        // A panic while holding the lock leaves plain data behind; go on with it.
        self.conversations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets (and wipes) every conversation idle for longer than the expiry.
    fn sweep(&self, now: Instant) {
        let expiry = self.config.expiry;
        self.lock()
            .retain(|_, c| now.saturating_duration_since(c.last_seen) < expiry);
    }

    /// How many conversations are held (for tests).
    #[cfg(test)]
    fn held(&self) -> usize {
        self.lock().len()
    }

    fn failed(&self) {
        let n = self.failed_calls.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(failed_so_far = n, "telegram: a Bot API call failed");
    }

    async fn send(&self, chat_id: i64, replies: &[Reply]) {
        for reply in replies {
            if self.config.api.send(chat_id, reply).await.is_err() {
                self.failed();
            }
        }
    }

    /// Handles one update. Every answer goes out through the Bot API; the
    /// webhook's own answer is always an empty 200.
    async fn handle(&self, intake: &Intake, update: Update, now: Instant) {
        if let Some(query) = update.callback_query {
            if self.config.api.answer_callback(&query.id).await.is_err() {
                self.failed();
            }
            let Some(message) = &query.message else {
                return;
            };
            if !message.chat.is_private() {
                return self.refuse_group(message).await;
            }
            let data = query.data.as_deref().unwrap_or_default();
            self.step(intake, message.chat.id, Input::Button(data), now)
                .await;
        } else if let Some(message) = update.message {
            if !message.chat.is_private() {
                return self.refuse_group(&message).await;
            }
            match message.text.as_deref() {
                Some(text) => {
                    self.step(intake, message.chat.id, Input::Text(text), now)
                        .await
                }
                None => self.not_text(message.chat.id, now).await,
            }
        } else if let Some(message) = update.edited_message
            && message.chat.is_private()
        {
            let lang = self.lang_of(message.chat.id);
            let note = plain(bot_texts(lang).edited);
            self.send(message.chat.id, &[note]).await;
        }
    }

    /// The language of a chat's conversation, Russian if it has none.
    fn lang_of(&self, chat_id: i64) -> Lang {
        let key = self.chat_key(chat_id);
        self.lock().get(&key).map(|c| c.lang).unwrap_or_default()
    }

    async fn refuse_group(&self, message: &Message) {
        let text = format!(
            "{}\n\n{}",
            bot_texts(Lang::Ru).group,
            bot_texts(Lang::En).group
        );
        self.send(message.chat.id, &[plain(&text)]).await;
    }

    /// A sticker, photo or voice message: say so and ask the question again.
    async fn not_text(&self, chat_id: i64, now: Instant) {
        self.sweep(now);
        let key = self.chat_key(chat_id);
        let replies = {
            let mut map = self.lock();
            match map.get_mut(&key) {
                Some(c) => {
                    c.last_seen = now;
                    vec![plain(bot_texts(c.lang).not_text), c.ask()]
                }
                None => vec![plain(bot_texts(Lang::Ru).not_text)],
            }
        };
        self.send(chat_id, &replies).await;
    }

    /// A refusal for a message longer than Telegram allows, or one that would
    /// take the conversations' memory past its budget.
    fn too_much(
        &self,
        map: &HashMap<ChatKey, Conversation>,
        key: ChatKey,
        input: Input<'_>,
    ) -> Option<Reply> {
        let Input::Text(text) = input else {
            return None;
        };
        let lang = map.get(&key).map(|c| c.lang).unwrap_or_default();
        if text.chars().count() > MAX_MESSAGE_CHARS {
            let t = bot_texts(lang);
            return Some(plain(
                &t.too_long.replace("{max}", &MAX_MESSAGE_CHARS.to_string()),
            ));
        }
        let held: usize = map.values().map(Conversation::held_bytes).sum();
        (held + text.len() > MAX_HELD_BYTES).then(|| {
            plain(&format!(
                "{}\n\n{}",
                bot_texts(Lang::Ru).full,
                bot_texts(Lang::En).full
            ))
        })
    }

    /// Starts a conversation if there is room.
    fn start(
        &self,
        map: &mut HashMap<ChatKey, Conversation>,
        key: ChatKey,
        now: Instant,
        restarted: bool,
    ) -> Vec<Reply> {
        if map.len() >= self.config.max_conversations {
            let text = format!(
                "{}\n\n{}",
                bot_texts(Lang::Ru).full,
                bot_texts(Lang::En).full
            );
            return vec![plain(&text)];
        }
        let c = Conversation::new(now);
        let replies = c.greeting(restarted);
        map.insert(key, c);
        replies
    }

    async fn step(&self, intake: &Intake, chat_id: i64, input: Input<'_>, now: Instant) {
        self.sweep(now);
        let key = self.chat_key(chat_id);
        let command = match input {
            Input::Text(t) => command_of(t).unwrap_or_default(),
            Input::Button(_) => "",
        };
        let input = match input {
            Input::Text(_) if !command.is_empty() => Input::Text(command),
            other => other,
        };
        let next = {
            let mut map = self.lock();
            match (command, input) {
                _ if let Some(refusal) = self.too_much(&map, key, input) => {
                    Next::Send(vec![refusal])
                }
                ("/start", _) => {
                    map.remove(&key);
                    Next::Send(self.start(&mut map, key, now, false))
                }
                ("/cancel", _) | (_, Input::Button("cancel")) => {
                    let lang = map.remove(&key).map(|c| c.lang).unwrap_or_default();
                    Next::Send(vec![plain(bot_texts(lang).cancelled)])
                }
                _ => match map.get_mut(&key) {
                    None => match input {
                        Input::Button(_) => Next::Send(vec![plain(bot_texts(Lang::Ru).ended)]),
                        Input::Text(_) => Next::Send(self.start(&mut map, key, now, true)),
                    },
                    Some(c) => {
                        c.last_seen = now;
                        match c.handle(input) {
                            Outcome::Reply(replies) => Next::Send(replies),
                            Outcome::Submit => match map.remove(&key) {
                                Some(c) => Next::Submit(c),
                                None => Next::Send(Vec::new()),
                            },
                        }
                    }
                },
            }
        };
        match next {
            Next::Send(replies) => self.send(chat_id, &replies).await,
            Next::Submit(conversation) => self.submit(intake, chat_id, key, conversation).await,
        }
    }

    /// Seals the report first, then answers: a Bot API that fails after the
    /// seal loses no report (the reporter can ask for nothing more, but the
    /// team has it).
    async fn submit(&self, intake: &Intake, chat_id: i64, key: ChatKey, c: Conversation) {
        let lang = c.lang;
        if let Some(retry_after) = self.limited(chat_id, Instant::now()) {
            let minutes = retry_after.div_ceil(60).max(1).to_string();
            let note = plain(&bot_texts(lang).limited.replace("{minutes}", &minutes));
            let summary = c.ask();
            self.lock().entry(key).or_insert(c);
            return self.send(chat_id, &[note, summary]).await;
        }
        let urgent = c.details.happened == Some(Happened::DetainedNow);
        let submission = Submission {
            text: &c.text,
            urgent,
            contact: c.contact.as_deref(),
            details: c.details.clone(),
            lang,
        };
        let problem = match intake.submit(submission, Channel::Telegram).await {
            Ok(receipt) => {
                drop(c);
                let reply = receipt_reply(intake, lang, &receipt, urgent);
                return self.send(chat_id, &[reply]).await;
            }
            Err(SubmitError::Invalid(e)) => e.message(lang),
            Err(SubmitError::Busy) => texts(lang).busy.to_owned(),
            Err(SubmitError::Unavailable) => texts(lang).unavailable.to_owned(),
        };
        // Nothing was kept: give the conversation back so "Send" can be pressed again.
        let summary = c.ask();
        self.lock().entry(key).or_insert(c);
        self.send(chat_id, &[plain(&texts::escape(&problem)), summary])
            .await;
    }
}

/// A command as typed, without the bot's name ("/start@vigil_bot") or a
/// deep-link payload ("/start campaign"); `None` for anything else, so that
/// an answer which merely starts with a slash stays an answer.
fn command_of(text: &str) -> Option<&str> {
    let text = text.trim();
    let mut words = text.split_whitespace();
    let first = words.next()?;
    let command = first.split('@').next()?;
    let known = matches!(
        command,
        "/start" | "/cancel" | "/lang" | "/back" | "/skip" | "/help"
    );
    (known && (words.next().is_none() || command == "/start")).then_some(command)
}

fn plain(text: &str) -> Reply {
    Reply {
        text: text.to_owned(),
        keyboard: Vec::new(),
    }
}

/// The receipt as the form's receipt page gives it, with "what happens next".
fn receipt_reply(intake: &Intake, lang: Lang, receipt: &Receipt, urgent: bool) -> Reply {
    // The form's texts are written for HTML pages: escaped here, since a
    // stray `&` or `<` would make Telegram refuse the whole message.
    let t = texts(lang);
    let e = texts::escape;
    let org = &intake.config.organisation;
    let mut text = format!(
        "<b>{}</b>\n{}\n<code>{receipt}</code>\n\n{}\n",
        e(t.received_title),
        e(t.receipt_intro),
        e(t.receipt_keep)
    );
    if urgent {
        text.push_str(&format!("\n<b>{}</b>\n", e(t.urgent_note)));
    }
    text.push_str(&format!(
        "\n<b>{}</b>\n• {}\n• {}\n• {}",
        e(t.next_title),
        e(t.next_who),
        e(t.next_when),
        e(t.next_detained)
    ));
    if let Some(phone) = &org.phone {
        text.push_str(&format!(" {}: {}.", e(t.hotline), e(phone)));
    }
    text.push_str(&format!(
        "\n• {}\n\n<i>{}</i>",
        e(t.next_status),
        bot_texts(lang).after_receipt
    ));
    Reply {
        text,
        keyboard: Vec::new(),
    }
}

/// Wipes expired conversations every minute, for as long as the intake runs.
pub(crate) fn spawn_sweeper(intake: &Arc<Intake>) {
    if intake.telegram.is_none() {
        return;
    }
    let intake: Weak<Intake> = Arc::downgrade(intake);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            let Some(intake) = intake.upgrade() else {
                return;
            };
            if let Some(bot) = &intake.telegram {
                bot.sweep(Instant::now());
            }
        }
    });
}

/// `/telegram/{secret}`, any method: anything but a POST carrying both
/// secrets gets exactly the 404 of an unknown address.
pub(crate) async fn webhook(
    State(intake): State<Arc<Intake>>,
    method: Method,
    secret: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let admitted = match (&intake.telegram, &secret) {
        (Some(bot), Ok(Path(secret))) => {
            let header = headers
                .get(SECRET_HEADER)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            bot.config.admits(secret.as_bytes(), header) && method == Method::POST
        }
        _ => false,
    };
    let Some(bot) = intake.telegram.as_ref().filter(|_| admitted) else {
        return crate::not_found::not_found(State(intake.clone()), headers).await;
    };
    // Telegram sends an update again until it gets a 2xx; one it cannot
    // deliver whole or we cannot read would come back for ever, so it is
    // taken and dropped.
    let Ok(body) = body.map(|b| Zeroizing::new(Vec::from(b))) else {
        return StatusCode::OK.into_response();
    };
    let update: Result<Update, _> = serde_json::from_slice(&body);
    drop(body);
    if let Ok(update) = update {
        bot.handle(&intake, update, Instant::now()).await;
    }
    StatusCode::OK.into_response()
}

impl Drop for TelegramConfig {
    fn drop(&mut self) {
        self.webhook_secret_hash.zeroize();
        self.secret_token_hash.zeroize();
    }
}

#[cfg(test)]
mod tests;
