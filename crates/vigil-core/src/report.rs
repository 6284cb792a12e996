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
    /// The intake's Telegram bot (its webhook).
    Telegram,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WebForm => "web_form",
            Channel::Api => "api",
            Channel::Bot => "bot",
            Channel::Phone => "phone",
            Channel::Telegram => "telegram",
        }
    }

    /// How the desk names the channel, in its language.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Channel::WebForm => lang.pick("веб-форма", "web form"),
            Channel::Api => lang.pick("API", "API"),
            Channel::Bot => lang.pick("бот", "bot"),
            Channel::Phone => lang.pick("телефон", "phone"),
            Channel::Telegram => lang.pick("Telegram-бот", "Telegram bot"),
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
    // --- intakeform: the guided form's answers, the exact time, the reply key.
    // All default, so envelopes sealed before them still open.
    /// What the reporter said about the event, beyond the free text.
    #[serde(default, skip_serializing_if = "ReportDetails::is_empty")]
    pub details: ReportDetails,
    /// When the intake received it, UTC, to the second (RFC 3339). Only here,
    /// sealed: the intake keeps just the day in clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// The age recipient derived from the reporter's receipt: the desk seals
    /// its replies to it, so only the receipt's holder (through the intake)
    /// can read them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// intake4: the seed of the reply key (hex, see
    /// `followup::ReplyKey::seed`), which the intake puts here instead of
    /// `reply_to` so that it does no curve operation for it; the desk derives
    /// the recipient from it ([`ReportEnvelope::reply_recipient`]). Secret: it
    /// lives only inside the sealed report and is wiped with the envelope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_seed: Option<String>,
    /// intakemerge: the files sent with the report, in the order their bytes
    /// follow this envelope in the sealed stream (see `attachment`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::attachment::AttachmentInfo>,
}

impl Drop for ReportEnvelope {
    fn drop(&mut self) {
        self.text.zeroize();
        if let Some(c) = self.contact.as_mut() {
            c.zeroize();
        }
        if let Some(seed) = self.reply_seed.as_mut() {
            seed.zeroize();
        }
    }
}

/// What happened, as the reporter picks it on the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Happened {
    /// Someone is detained right now: the report is urgent.
    DetainedNow,
    DetainedEarlier,
    Fined,
    Charged,
    Searched,
    Other,
}

impl Happened {
    pub const ALL: [Happened; 6] = [
        Happened::DetainedNow,
        Happened::DetainedEarlier,
        Happened::Fined,
        Happened::Charged,
        Happened::Searched,
        Happened::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Happened::DetainedNow => "detained_now",
            Happened::DetainedEarlier => "detained_earlier",
            Happened::Fined => "fined",
            Happened::Charged => "charged",
            Happened::Searched => "searched",
            Happened::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.code() == code)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Happened::DetainedNow => lang.pick("Задержан(а) сейчас", "Detained right now"),
            Happened::DetainedEarlier => lang.pick("Был(а) задержан(а) раньше", "Detained earlier"),
            Happened::Fined => lang.pick("Штраф", "Fined"),
            Happened::Charged => lang.pick(
                "Обвинение или протокол",
                "Charged (administrative or criminal)",
            ),
            Happened::Searched => lang.pick("Обыск", "Searched"),
            Happened::Other => lang.pick("Другое", "Other"),
        }
    }
}

/// Whom it happened to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Whom {
    Myself,
    SomeoneElse,
}

impl Whom {
    pub const ALL: [Whom; 2] = [Whom::Myself, Whom::SomeoneElse];

    pub fn code(self) -> &'static str {
        match self {
            Whom::Myself => "myself",
            Whom::SomeoneElse => "someone_else",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.code() == code)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Whom::Myself => lang.pick("Со мной", "To me"),
            Whom::SomeoneElse => lang.pick("С другим человеком", "To someone else"),
        }
    }
}

/// Consent to publication, the codes of the record's consent vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Consent {
    /// Do not publish.
    None,
    /// Only inside counts.
    Counts,
    /// Name and case may be public.
    Public,
}

impl Consent {
    pub const ALL: [Consent; 3] = [Consent::None, Consent::Counts, Consent::Public];

    pub fn code(self) -> &'static str {
        match self {
            Consent::None => "none",
            Consent::Counts => "counts",
            Consent::Public => "public",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Consent::None => lang.pick("Не публиковать", "Do not publish"),
            Consent::Counts => lang.pick(
                "Только в общих подсчётах, без имени",
                "Only in counts, without a name",
            ),
            Consent::Public => lang.pick(
                "Можно публиковать имя и дело",
                "Name and case may be published",
            ),
        }
    }
}

/// The longest answer to one of the short questions, in characters.
pub const MAX_FIELD_CHARS: usize = 300;

/// The guided form's answers beyond the free text; every one is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub happened: Option<Happened>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whom: Option<Whom>,
    /// Name or names as the reporter writes them, if they wish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<String>,
    /// When, as written (a day from a date picker, or words).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// ISO 3166-2 code of the region (the record's regions vocabulary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// The place: a street, a metro station, an address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    /// The police station or court, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<Consent>,
}

impl Drop for ReportDetails {
    fn drop(&mut self) {
        for f in self.texts_mut() {
            f.zeroize();
        }
    }
}

/// The free-text answers by name, for checks and messages.
const DETAIL_FIELDS: [&str; 6] = ["names", "when", "region", "city", "place", "station"];

impl ReportDetails {
    pub fn is_empty(&self) -> bool {
        *self == ReportDetails::default()
    }

    fn texts_mut(&mut self) -> [&mut Option<String>; 6] {
        [
            &mut self.names,
            &mut self.when,
            &mut self.region,
            &mut self.city,
            &mut self.place,
            &mut self.station,
        ]
    }

    /// Checks lengths (before trimming, as sent), then trims every answer and
    /// drops the empty ones.
    pub fn checked(mut self) -> Result<Self, ReportError> {
        for (name, f) in DETAIL_FIELDS.iter().zip(self.texts_mut()) {
            if f.as_ref()
                .is_some_and(|v| v.chars().count() > MAX_FIELD_CHARS)
            {
                return Err(ReportError::FieldTooLong {
                    field: name,
                    max: MAX_FIELD_CHARS,
                });
            }
        }
        Ok(self.trimmed())
    }

    /// Trims every answer and drops the empty ones, without checking lengths
    /// (browserseal: the desk keeps whatever an altered page sealed).
    pub fn trimmed(mut self) -> Self {
        for f in self.texts_mut() {
            let trimmed = f
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned);
            if let Some(old) = f.as_mut() {
                old.zeroize();
            }
            *f = trimmed;
        }
        self
    }
}

/// A field's label for messages, in the reporter's language.
fn field_label(field: &str, lang: Lang) -> &'static str {
    match field {
        "names" => lang.pick("Имена", "Names"),
        "when" => lang.pick("Когда", "When"),
        "region" => lang.pick("Регион", "Region"),
        "city" => lang.pick("Город", "City"),
        "place" => lang.pick("Место", "Place"),
        "station" => lang.pick("Отдел полиции или суд", "Police station or court"),
        _ => lang.pick("Поле", "A field"),
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
    #[error("the answer {field} is longer than {max} characters")]
    FieldTooLong { field: &'static str, max: usize },
    #[error("the region is not one of the listed codes")]
    UnknownRegion,
    // intakemerge: attachments
    #[error("the attachments together are larger than {max_mib} MiB")]
    AttachmentsTooLarge { max_mib: u64 },
    #[error("more than {max} attachments")]
    TooManyAttachments { max: usize },
    #[error("a photo does not hold together as JPEG or PNG")]
    BrokenPhoto,
}

impl ReportError {
    /// A stable machine-readable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::EmptyText => "empty_text",
            ReportError::TextTooLong { .. } => "text_too_long",
            ReportError::ContactTooLong { .. } => "contact_too_long",
            ReportError::FieldTooLong { .. } => "field_too_long",
            ReportError::UnknownRegion => "unknown_region",
            ReportError::AttachmentsTooLarge { .. } => "attachments_too_large",
            ReportError::TooManyAttachments { .. } => "too_many_attachments",
            ReportError::BrokenPhoto => "broken_photo",
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
            (ReportError::FieldTooLong { field, max }, Lang::Ru) => format!(
                "Поле «{}» длиннее {max} знаков. Сократите его; подробности можно написать в тексте.",
                field_label(field, lang)
            ),
            (ReportError::FieldTooLong { field, max }, Lang::En) => format!(
                "The field \"{}\" is longer than {max} characters. Shorten it; details fit in the text.",
                field_label(field, lang)
            ),
            (ReportError::UnknownRegion, Lang::Ru) => {
                "Такого региона нет в списке. Выберите регион из списка или оставьте поле пустым."
                    .into()
            }
            (ReportError::UnknownRegion, Lang::En) => {
                "That region is not in the list. Pick one from the list or leave it empty.".into()
            }
            (ReportError::AttachmentsTooLarge { max_mib }, Lang::Ru) => format!(
                "Файлы вместе больше {max_mib} МБ. Ничего не сохранено. Отправьте меньше файлов или уменьшите их (например, снимите видео короче) и отправьте снова."
            ),
            (ReportError::AttachmentsTooLarge { max_mib }, Lang::En) => format!(
                "The files together are larger than {max_mib} MiB. Nothing was kept. Send fewer or smaller files (a shorter video, for example) and send again."
            ),
            (ReportError::TooManyAttachments { max }, Lang::Ru) => format!(
                "Можно приложить не больше {max} файлов. Ничего не сохранено. Отправьте остальные отдельным сообщением."
            ),
            (ReportError::TooManyAttachments { max }, Lang::En) => format!(
                "At most {max} files can be attached. Nothing was kept. Send the others in another report."
            ),
            (ReportError::BrokenPhoto, Lang::Ru) => {
                "Одна из фотографий повреждена (файл JPEG или PNG обрывается). Ничего не сохранено. Приложите её заново или другим файлом.".into()
            }
            (ReportError::BrokenPhoto, Lang::En) => {
                "One of the photos is damaged (the JPEG or PNG file is cut short). Nothing was kept. Attach it again or as another file.".into()
            }
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
            details: ReportDetails::default(),
            received_at: None,
            reply_to: None,
            reply_seed: None,
            attachments: Vec::new(),
        })
    }

    /// Whether the desk can reply: the report carries a reply key, as the
    /// recipient (`reply_to`, envelopes before intake4) or as its seed.
    pub fn can_reply(&self) -> bool {
        self.reply_to.is_some() || self.reply_seed.is_some()
    }

    /// The recipient (`age1…`) the desk seals its replies to: `reply_to`
    /// when the envelope has it, else derived from `reply_seed` (one x25519
    /// base-point multiplication, done here at the desk and not per report at
    /// the intake). `None` when the report has no reply key, or a damaged seed.
    pub fn reply_recipient(&self) -> Option<String> {
        if let Some(to) = &self.reply_to {
            return Some(to.clone());
        }
        let seed = self.reply_seed.as_deref()?;
        crate::followup::ReplyKey::from_seed_hex(seed)
            .ok()
            .map(|key| key.recipient())
    }

    /// Adds the guided form's answers, checked and trimmed. "Detained right
    /// now" makes the report urgent, whatever the checkbox said.
    pub fn with_details(mut self, details: ReportDetails) -> Result<Self, ReportError> {
        let details = details.checked()?;
        if details.happened == Some(Happened::DetainedNow) {
            self.urgent = true;
        }
        self.details = details;
        Ok(self)
    }
}

/// Bytes of JSON a report's words can take at most: `\u001f` for each byte of
/// a control character, plus room for the envelope's other fields.
fn json_worst_case(envelope: &ReportEnvelope) -> usize {
    let d = &envelope.details;
    let details: usize = [&d.names, &d.when, &d.region, &d.city, &d.place, &d.station]
        .iter()
        .map(|f| f.as_ref().map_or(0, String::len))
        .sum();
    let extras = envelope.received_at.as_ref().map_or(0, String::len)
        + envelope.reply_to.as_ref().map_or(0, String::len)
        + envelope.reply_seed.as_ref().map_or(0, String::len);
    6 * (envelope.text.len() + envelope.contact.as_ref().map_or(0, String::len) + details)
        + extras
        + 512
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
    #[allow(clippy::field_reassign_with_default)]
    fn details_are_checked_trimmed_and_detained_now_is_urgent() {
        let mut details = ReportDetails::default();
        details.happened = Some(Happened::DetainedNow);
        details.names = Some("  Иван Петров ".into());
        details.city = Some("   ".into());
        details.consent = Some(Consent::Counts);
        let e = ReportEnvelope::new("t", false, None, Lang::Ru, Channel::WebForm, day())
            .unwrap()
            .with_details(details)
            .unwrap();
        assert!(e.urgent);
        assert_eq!(e.details.names.as_deref(), Some("Иван Петров"));
        assert_eq!(e.details.city, None);
        let mut long = ReportDetails::default();
        long.station = Some("я".repeat(MAX_FIELD_CHARS + 1));
        let err = ReportEnvelope::new("t", false, None, Lang::Ru, Channel::WebForm, day())
            .unwrap()
            .with_details(long)
            .unwrap_err();
        assert_eq!(err.code(), "field_too_long");
        assert!(err.message(Lang::Ru).contains("Отдел полиции или суд"));
    }

    #[test]
    fn an_envelope_sealed_before_the_new_fields_still_opens() {
        let old = r#"{"v":1,"text":"задержан","urgent":true,"lang":"ru","channel":"web_form","received":"2024-03-01"}"#;
        let e: ReportEnvelope = serde_json::from_str(old).unwrap();
        assert!(e.details.is_empty());
        assert_eq!(e.received_at, None);
        assert_eq!(e.reply_to, None);
        // And the new fields are left out of the JSON when empty.
        let json = e.to_json().unwrap();
        assert!(!String::from_utf8_lossy(&json).contains("details"));
    }

    #[test]
    fn the_reply_recipient_comes_from_the_seed_and_a_damaged_seed_gives_none() {
        let receipt = crate::Receipt::generate().unwrap();
        let key = crate::followup::ReplyKey::derive(&receipt).unwrap();
        let mut e = ReportEnvelope::new("t", false, None, Lang::Ru, Channel::Api, day()).unwrap();
        assert!(!e.can_reply());
        assert_eq!(e.reply_recipient(), None);
        e.reply_seed = Some(
            crate::followup::ReplyKey::seed_hex(&receipt)
                .unwrap()
                .to_string(),
        );
        assert!(e.can_reply());
        assert_eq!(e.reply_recipient(), Some(key.recipient()));
        for damaged in ["", "zz", "00", &"0".repeat(66)] {
            e.reply_seed = Some(damaged.to_owned());
            assert_eq!(e.reply_recipient(), None, "{damaged:?}");
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
