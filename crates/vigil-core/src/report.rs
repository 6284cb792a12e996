//! A report: one account as received from a reporter. On the intake it exists in
//! clear only in memory, between parsing the request and sealing it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::day::Day;
use crate::lang::Lang;
use crate::random::{self, RandomError};

/// The longest report text accepted, in characters. Long enough for a detailed
/// account; short enough that one request cannot fill a disk.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// The longest contact line accepted, in characters.
pub const MAX_CONTACT_CHARS: usize = 500;

/// How a report reached vigil.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The HTML form, which works without JavaScript.
    WebForm,
    /// The JSON API.
    Api,
    /// A messenger bot.
    Bot,
    /// A phone call entered by a hotline operator.
    Phone,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WebForm => "web_form",
            Channel::Api => "api",
            Channel::Bot => "bot",
            Channel::Phone => "phone",
        }
    }
}

/// What is sealed: the reporter's words and the few facts the intake learned with
/// them. Serialised as JSON inside the age envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEnvelope {
    /// Format version of this envelope.
    pub v: u32,
    pub text: String,
    /// The reporter says someone is detained right now and needs a lawyer.
    pub urgent: bool,
    /// How the team can reach the reporter, if they want to be reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    pub lang: Lang,
    pub channel: Channel,
    pub received: Day,
}

impl Drop for ReportEnvelope {
    fn drop(&mut self) {
        self.text.zeroize();
        if let Some(c) = self.contact.as_mut() {
            c.zeroize();
        }
    }
}

/// Why a submitted report was refused. Messages never echo the report back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the report text is empty")]
    EmptyText,
    #[error("the report text is longer than {max} characters")]
    TextTooLong { max: usize },
    #[error("the contact is longer than {max} characters")]
    ContactTooLong { max: usize },
}

impl ReportError {
    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::EmptyText => "empty_text",
            ReportError::TextTooLong { .. } => "text_too_long",
            ReportError::ContactTooLong { .. } => "contact_too_long",
        }
    }

    /// What the reporter should do, in their language.
    pub fn message(&self, lang: Lang) -> String {
        match (self, lang) {
            (ReportError::EmptyText, Lang::Ru) => {
                "Текст сообщения пуст. Опишите, что произошло, и отправьте снова.".into()
            }
            (ReportError::EmptyText, Lang::En) => {
                "The report text is empty. Describe what happened and send it again.".into()
            }
            (ReportError::TextTooLong { max }, Lang::Ru) => format!(
                "Текст длиннее {max} знаков. Сократите его или отправьте несколькими сообщениями."
            ),
            (ReportError::TextTooLong { max }, Lang::En) => format!(
                "The text is longer than {max} characters. Shorten it or send it as several reports."
            ),
            (ReportError::ContactTooLong { max }, Lang::Ru) => {
                format!("Контакт длиннее {max} знаков. Оставьте один короткий способ связи.")
            }
            (ReportError::ContactTooLong { max }, Lang::En) => format!(
                "The contact is longer than {max} characters. Leave one short way to reach you."
            ),
        }
    }
}

impl ReportEnvelope {
    /// Builds an envelope from what a reporter sent, checking it. Lengths count
    /// what was sent, as the API description says (JSON Schema cannot count
    /// after trimming); then surrounding whitespace is trimmed, and an empty
    /// contact counts as none.
    pub fn new(
        text: &str,
        urgent: bool,
        contact: Option<&str>,
        lang: Lang,
        channel: Channel,
        received: Day,
    ) -> Result<Self, ReportError> {
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(ReportError::TextTooLong {
                max: MAX_TEXT_CHARS,
            });
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(ReportError::EmptyText);
        }
        if contact.is_some_and(|c| c.chars().count() > MAX_CONTACT_CHARS) {
            return Err(ReportError::ContactTooLong {
                max: MAX_CONTACT_CHARS,
            });
        }
        let contact = contact.map(str::trim).filter(|c| !c.is_empty());
        Ok(ReportEnvelope {
            v: 1,
            text: text.to_owned(),
            urgent,
            contact: contact.map(str::to_owned),
            lang,
            channel,
            received,
        })
    }
}

/// Bytes of JSON a report's words can take at most: `\u001f` for each byte of
/// a control character, plus room for the envelope's other fields.
fn json_worst_case(envelope: &ReportEnvelope) -> usize {
    6 * (envelope.text.len() + envelope.contact.as_ref().map_or(0, String::len)) + 256
}

impl ReportEnvelope {
    /// The envelope as the JSON that is sealed, in one buffer sized so that it
    /// never grows (each reallocation would leave an unwiped copy of the
    /// report behind), wiped when dropped.
    pub fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, serde_json::Error> {
        let mut out = Zeroizing::new(Vec::with_capacity(json_worst_case(self)));
        serde_json::to_writer(&mut *out, self)?;
        Ok(out)
    }
}

/// The identifier of a report as it travels from intake to desk: 128 random
/// bits, so that the desk can recognise a report it already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportId([u8; 16]);

impl ReportId {
    pub fn generate() -> Result<Self, RandomError> {
        Ok(ReportId(random::bytes()?))
    }
}

impl fmt::Display for ReportId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a report id is 32 hexadecimal digits")]
pub struct ReportIdError;

impl FromStr for ReportId {
    type Err = ReportIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(|_| ReportIdError)?;
        Ok(ReportId(out))
    }
}

impl Serialize for ReportId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReportId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> Day {
        "2024-03-01".parse().unwrap()
    }

    #[test]
    fn lengths_count_what_was_sent_before_trimming() {
        let padded = format!("{}я", "\u{a0}".repeat(MAX_CONTACT_CHARS));
        let r = ReportEnvelope::new("t", false, Some(&padded), Lang::Ru, Channel::Api, day());
        assert!(matches!(r, Err(ReportError::ContactTooLong { .. })));
        let padded = format!(" {}", "я".repeat(MAX_TEXT_CHARS));
        let r = ReportEnvelope::new(&padded, false, None, Lang::Ru, Channel::Api, day());
        assert!(matches!(r, Err(ReportError::TextTooLong { .. })));
    }

    #[test]
    fn trims_and_rejects_empty_text() {
        let e = ReportEnvelope::new("  \n\t ", false, None, Lang::Ru, Channel::Api, day());
        assert_eq!(e.unwrap_err(), ReportError::EmptyText);
        let ok = ReportEnvelope::new(
            "  задержан  ",
            true,
            Some("  "),
            Lang::Ru,
            Channel::Api,
            day(),
        )
        .unwrap();
        assert_eq!(ok.text, "задержан");
        assert_eq!(ok.contact, None);
    }

    #[test]
    fn rejects_overlong_text_by_characters_not_bytes() {
        let exactly = "я".repeat(MAX_TEXT_CHARS);
        assert!(ReportEnvelope::new(&exactly, false, None, Lang::Ru, Channel::Api, day()).is_ok());
        let over = "я".repeat(MAX_TEXT_CHARS + 1);
        let e = ReportEnvelope::new(&over, false, None, Lang::Ru, Channel::Api, day()).unwrap_err();
        assert_eq!(e.code(), "text_too_long");
        assert!(e.message(Lang::Ru).contains("20000"));
    }

    #[test]
    fn the_sealed_json_never_outgrows_its_first_buffer() {
        for text in ["\u{1}".repeat(MAX_TEXT_CHARS), "я".repeat(MAX_TEXT_CHARS)] {
            let e = ReportEnvelope::new(
                &text,
                true,
                Some(&"\u{1f}".repeat(MAX_CONTACT_CHARS)),
                Lang::Ru,
                Channel::Api,
                day(),
            )
            .unwrap();
            let json = e.to_json().unwrap();
            // A reallocation would have at least doubled the capacity.
            assert_eq!(json.capacity(), json_worst_case(&e));
            let back: ReportEnvelope = serde_json::from_slice(&json).unwrap();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn report_id_round_trips() {
        let id = ReportId::generate().unwrap();
        let back: ReportId = id.to_string().parse().unwrap();
        assert_eq!(id, back);
        assert!("xyz".parse::<ReportId>().is_err());
    }
}
