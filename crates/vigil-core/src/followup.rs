//! Replies by receipt (intakeform): the team's answers and the reporter's
//! follow-ups, both sealed so that a seized intake cannot read them.
//!
//! The reply key is derived from the receipt (HKDF-SHA-256 to an x25519 age
//! identity). At submission the intake puts the key's seed (`reply_seed`;
//! before intake4 its public half, `reply_to`) into the sealed report, and
//! the desk derives the public half from it; the desk seals each reply to it and to the desk's own
//! recipient; the intake, holding only a keyed hash of the receipt, can open a
//! reply only when the reporter types the receipt in again. A reporter's
//! follow-up is sealed to the desk's recipients and to the same reply key, so
//! that the reporter can read back what they sent.

use std::str::FromStr;

use age::x25519;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::day::Day;
use crate::receipt::Receipt;
use crate::report::ReportId;
use crate::seal::{Recipients, SealError};

/// The longest follow-up or reply, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;

/// The receipt holder's key for the team's replies.
pub struct ReplyKey(x25519::Identity);

impl ReplyKey {
    /// Derives the key from a receipt; the same receipt always gives the same key.
    pub fn derive(receipt: &Receipt) -> Result<Self, SealError> {
        Self::from_seed(&*Self::seed(receipt)?)
    }

    /// intake4: the 32 secret bytes the key is made from (HKDF-SHA-256 of the
    /// receipt). The intake seals them in the report instead of the key's
    /// public half, so that the curve operation that makes `reply_to` runs at
    /// the desk (see [`crate::ReportEnvelope::reply_recipient`]), not once per
    /// report on the intake's hot path.
    pub fn seed(receipt: &Receipt) -> Result<Zeroizing<[u8; 32]>, SealError> {
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"vigil reply key v1"), receipt.secret());
        let mut secret = Zeroizing::new([0u8; 32]);
        hk.expand(b"age x25519 identity", &mut secret[..])
            .map_err(|_| SealError::Seal)?;
        Ok(secret)
    }

    /// The seed as the sealed envelope carries it (hex).
    pub fn seed_hex(receipt: &Receipt) -> Result<Zeroizing<String>, SealError> {
        Ok(Zeroizing::new(hex::encode(&Self::seed(receipt)?[..])))
    }

    /// The key from its seed (see [`ReplyKey::seed`]).
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, SealError> {
        let hrp = bech32::Hrp::parse("age-secret-key-").map_err(|_| SealError::Seal)?;
        let mut text = Zeroizing::new(
            bech32::encode::<bech32::Bech32>(hrp, &seed[..]).map_err(|_| SealError::Seal)?,
        );
        text.make_ascii_uppercase();
        let identity = x25519::Identity::from_str(&text).map_err(|_| SealError::Seal)?;
        Ok(ReplyKey(identity))
    }

    /// The key from its seed in hex, as a sealed envelope carries it.
    pub fn from_seed_hex(seed: &str) -> Result<Self, SealError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(seed.trim(), &mut bytes[..]).map_err(|_| SealError::Envelope)?;
        Self::from_seed(&bytes)
    }

    /// The public half, `age1…`, that replies are sealed to.
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }

    /// Opens a message sealed to this key.
    pub fn open(&self, sealed: &[u8]) -> Result<MessageEnvelope, SealError> {
        let clear = Zeroizing::new(age::decrypt(&self.0, sealed).map_err(|_| SealError::Open)?);
        serde_json::from_slice(&clear).map_err(|_| SealError::Envelope)
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sender {
    /// The team, from the desk.
    Team,
    /// The reporter, through the intake.
    Reporter,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Team => "team",
            Sender::Reporter => "reporter",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "team" => Some(Sender::Team),
            "reporter" => Some(Sender::Reporter),
            _ => None,
        }
    }
}

/// What is sealed in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageEnvelope {
    pub v: u32,
    pub text: String,
    /// UTC, to the second (RFC 3339); sealed, like a report's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl Drop for MessageEnvelope {
    fn drop(&mut self) {
        self.text.zeroize();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the message is empty")]
    Empty,
    #[error("the message is longer than {MAX_MESSAGE_CHARS} characters")]
    TooLong,
}

impl MessageError {
    pub fn code(self) -> &'static str {
        match self {
            MessageError::Empty => "empty_text",
            MessageError::TooLong => "text_too_long",
        }
    }

    pub fn message(self, lang: crate::Lang) -> String {
        match self {
            MessageError::Empty => lang
                .pick(
                    "Сообщение пустое. Напишите, что хотите добавить, и отправьте снова.",
                    "The message is empty. Write what you want to add and send it again.",
                )
                .into(),
            MessageError::TooLong => match lang {
                crate::Lang::Ru => format!(
                    "Сообщение длиннее {MAX_MESSAGE_CHARS} знаков. Сократите его или отправьте частями."
                ),
                crate::Lang::En => format!(
                    "The message is longer than {MAX_MESSAGE_CHARS} characters. Shorten it or send it in parts."
                ),
            },
        }
    }
}

impl MessageEnvelope {
    /// Checks and trims a message's text (length counted as sent).
    pub fn new(text: &str, at: Option<String>) -> Result<Self, MessageError> {
        if text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(MessageError::TooLong);
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(MessageError::Empty);
        }
        Ok(MessageEnvelope {
            v: 1,
            text: text.to_owned(),
            at,
        })
    }

    /// Seals the message to the given recipients (the clear JSON is wiped).
    pub fn seal(&self, to: &Recipients) -> Result<Vec<u8>, SealError> {
        let mut json = Zeroizing::new(Vec::with_capacity(6 * self.text.len() + 128));
        serde_json::to_writer(&mut *json, self).map_err(|_| SealError::Seal)?;
        to.seal(&json)
    }
}

/// A sealed message as both zones store it and the pull connection carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedMessage {
    /// 128 random bits, so that a message pushed or pulled twice is stored once.
    pub id: ReportId,
    /// The keyed hash of the receipt of the report it belongs to.
    #[serde(with = "crate::sealed::hex32")]
    pub receipt_hash: [u8; 32],
    pub from: Sender,
    pub day: Day,
    #[serde(with = "crate::sealed::b64")]
    pub sealed: Vec<u8>,
}

/// The desk's side of one exchange on the pull connection: replies to hand
/// over, and the reporters' follow-ups it has stored durably since the last one.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    #[serde(default)]
    pub replies: Vec<SealedMessage>,
    #[serde(default)]
    pub delivered: Vec<ReportId>,
}

/// The intake's side: which replies it now holds (replies to receipts it does
/// not know are not kept, so another intake can take them), and follow-ups
/// waiting for the desk.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ExchangeResponse {
    pub stored: Vec<ReportId>,
    pub followups: Vec<SealedMessage>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::DeskIdentity;

    #[test]
    fn the_reply_key_follows_the_receipt_and_opens_what_is_sealed_to_it() {
        let receipt = Receipt::generate().unwrap();
        let key = ReplyKey::derive(&receipt).unwrap();
        let again = ReplyKey::derive(&receipt.to_string().parse().unwrap()).unwrap();
        assert_eq!(key.recipient(), again.recipient());
        let other = ReplyKey::derive(&Receipt::generate().unwrap()).unwrap();
        assert_ne!(key.recipient(), other.recipient());

        let desk = DeskIdentity::generate();
        let to = Recipients::parse(&format!("{}\n{}", desk.recipient(), key.recipient())).unwrap();
        let message = MessageEnvelope::new("  Адвокат выехал  ", None).unwrap();
        let sealed = message.seal(&to).unwrap();
        assert_eq!(again.open(&sealed).unwrap().text, "Адвокат выехал");
        assert!(other.open(&sealed).is_err());
        assert!(desk.open(&sealed).is_ok());
    }

    #[test]
    fn empty_and_overlong_messages_are_refused() {
        assert_eq!(MessageEnvelope::new(" \n", None), Err(MessageError::Empty));
        let long = "я".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            MessageEnvelope::new(&long, None),
            Err(MessageError::TooLong)
        );
    }
}
