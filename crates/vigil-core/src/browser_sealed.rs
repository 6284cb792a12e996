//! Reports sealed in the reporter's browser (browserseal, issue 13).
//!
//! With JavaScript on, the form page seals the reporter's answers itself, with
//! the `age` format to the desk's recipients, and posts only that age file: the
//! intake never holds the words in clear, not even in memory. What only the
//! server can add (the exact time of arrival, the reply key derived from the
//! receipt it makes, the channel, the day) it seals separately, in an outer
//! envelope that carries the browser's age file inside it. The desk opens both
//! and builds the same [`ReportEnvelope`] that a report sealed by the server
//! gives, field for field (see [`SealedInBrowser::open`]).
//!
//! Both layers are standard age files: an operator can open the outer one with
//! `age -d`, take its `report` field (base64) and open that with `age -d` too.

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::day::Day;
use crate::lang::Lang;
use crate::report::{Channel, Consent, Happened, ReportDetails, ReportEnvelope, ReportError, Whom};
use crate::seal::{DeskIdentity, SealError};

/// The `kind` of the outer envelope; a server-sealed [`ReportEnvelope`] has no `kind`.
pub const KIND: &str = "sealed_in_browser";

/// What the browser seals: the form's answers under the names the form posts
/// without JavaScript, so that the desk reads them exactly as the intake reads
/// the form (an unknown choice is ignored, lengths and whitespace are handled
/// by the same code). Wiped when dropped.
#[derive(Default, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct BrowserReport {
    /// Format version: 1.
    pub v: u32,
    #[serde(default)]
    pub text: String,
    /// The "detained right now" checkbox.
    #[serde(default)]
    pub urgent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub happened: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whom: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub station: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<String>,
}

impl BrowserReport {
    /// The guided answers, as the form handler reads them.
    fn details(&self) -> ReportDetails {
        ReportDetails {
            happened: self.happened.as_deref().and_then(Happened::from_code),
            whom: self.whom.as_deref().and_then(Whom::from_code),
            names: self.names.clone(),
            when: self.when.clone(),
            region: self.region.clone(),
            city: self.city.clone(),
            place: self.place.clone(),
            station: self.station.clone(),
            consent: self.consent.as_deref().and_then(Consent::from_code),
        }
    }

    /// The envelope the server would have sealed from the same answers. The
    /// page checks every rule before sealing; a report from an altered page
    /// that breaks one is still kept whole (it is already stored), with only
    /// whitespace trimmed, and the rule it broke is returned beside it.
    pub fn into_envelope(
        self,
        channel: Channel,
        received: Day,
    ) -> (ReportEnvelope, Option<ReportError>) {
        let lang = Lang::from_code(self.lang.as_deref());
        let urgent = self.urgent;
        let checked = ReportEnvelope::new(
            &self.text,
            urgent,
            self.contact.as_deref(),
            lang,
            channel,
            received,
        )
        .and_then(|e| e.with_details(self.details()));
        match checked {
            Ok(envelope) => (envelope, None),
            Err(broken) => {
                let details = self.details().trimmed();
                let contact = self
                    .contact
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned);
                let envelope = ReportEnvelope {
                    v: 1,
                    text: self.text.trim().to_owned(),
                    urgent: urgent || details.happened == Some(Happened::DetainedNow),
                    contact,
                    lang,
                    channel,
                    received,
                    details,
                    received_at: None,
                    reply_to: None,
                    reply_seed: None,
                    attachments: Vec::new(),
                };
                (envelope, Some(broken))
            }
        }
    }
}

/// What the intake seals around a report sealed in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedInBrowser {
    pub v: u32,
    /// Always [`KIND`].
    pub kind: String,
    pub channel: Channel,
    pub received: Day,
    /// When the intake received it, UTC, to the second (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// The age recipient derived from the receipt the intake gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// intake4: the reply key's seed instead of `reply_to` (see
    /// `ReportEnvelope::reply_seed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_seed: Option<String>,
    /// The browser's age file, base64 in the JSON.
    #[serde(with = "crate::sealed::b64")]
    pub report: Vec<u8>,
}

/// Only reads whether a sealed JSON document is the outer envelope.
#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    kind: Option<String>,
}

/// Whether opened JSON is a [`SealedInBrowser`] envelope rather than a report.
pub(crate) fn is_outer(clear: &[u8]) -> bool {
    serde_json::from_slice::<Probe>(clear).is_ok_and(|p| p.kind.as_deref() == Some(KIND))
}

impl Drop for SealedInBrowser {
    fn drop(&mut self) {
        if let Some(seed) = self.reply_seed.as_mut() {
            seed.zeroize();
        }
    }
}

impl SealedInBrowser {
    /// `reply_seed`: the reply key's seed in hex (intake4; see
    /// `followup::ReplyKey::seed_hex`).
    pub fn new(
        channel: Channel,
        received: Day,
        received_at: String,
        reply_seed: String,
        report: Vec<u8>,
    ) -> Self {
        SealedInBrowser {
            v: 1,
            kind: KIND.to_owned(),
            channel,
            received,
            received_at: Some(received_at),
            reply_to: None,
            reply_seed: Some(reply_seed),
            report,
        }
    }

    /// Opens the browser's age file inside and joins the server's facts to it.
    pub fn open(&self, identity: &DeskIdentity) -> Result<ReportEnvelope, SealError> {
        if self.v != 1 || self.kind != KIND {
            return Err(SealError::Envelope);
        }
        let clear = identity.open(&self.report)?;
        let report: BrowserReport =
            serde_json::from_slice(&clear).map_err(|_| SealError::Envelope)?;
        if report.v != 1 {
            return Err(SealError::Envelope);
        }
        let (mut envelope, _broken) = report.into_envelope(self.channel, self.received);
        envelope.received_at = self.received_at.clone();
        envelope.reply_to = self.reply_to.clone();
        envelope.reply_seed = self.reply_seed.clone();
        Ok(envelope)
    }
}

/// Why the intake refused what a page posted as a report sealed in the browser.
/// The intake cannot read the report, so it checks the age file's shape: a
/// header of X25519 stanzas only, one per desk recipient, its MAC, and a
/// payload of whole encrypted chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AgeFileError {
    #[error("the body is not an age file (it must start with \"age-encryption.org/v1\")")]
    NotAge,
    #[error("the age file has a recipient stanza other than X25519")]
    NotX25519,
    #[error("the age file is sealed to {found} recipients, the desk has {expected}")]
    WrongRecipients { expected: usize, found: usize },
    #[error("the age file's header or payload is damaged or cut short")]
    Damaged,
}

impl AgeFileError {
    pub fn code(self) -> &'static str {
        match self {
            AgeFileError::NotAge => "not_age",
            AgeFileError::NotX25519 => "not_x25519",
            AgeFileError::WrongRecipients { .. } => "wrong_recipients",
            AgeFileError::Damaged => "damaged",
        }
    }

    /// What the reporter should do: a real page only posts a bad file when its
    /// script was damaged or altered on the way, so the way out is to reload,
    /// or to send without JavaScript (the server then seals).
    pub fn message(self, lang: Lang) -> String {
        let what = match self {
            AgeFileError::NotAge => lang.pick(
                "Сообщение пришло незашифрованным или не в формате age.",
                "The report did not arrive encrypted in the age format.",
            ),
            AgeFileError::NotX25519 => lang.pick(
                "Сообщение зашифровано не тем способом (нужны ключи X25519).",
                "The report was encrypted the wrong way (X25519 keys are needed).",
            ),
            AgeFileError::WrongRecipients { .. } => lang.pick(
                "Сообщение зашифровано не для ключей этой приёмной.",
                "The report was not encrypted to this intake's keys.",
            ),
            AgeFileError::Damaged => lang.pick(
                "Зашифрованное сообщение повреждено или обрезано.",
                "The encrypted report is damaged or cut short.",
            ),
        };
        let todo = lang.pick(
            "Ничего не сохранено. Обновите страницу и отправьте снова; если не получится, отключите JavaScript — форма работает и без него.",
            "Nothing was stored. Reload the page and send again; if that fails, turn JavaScript off: the form works without it.",
        );
        format!("{what} {todo}")
    }
}

const AGE_INTRO: &[u8] = b"age-encryption.org/v1\n";
/// Bytes of one encrypted payload chunk: 64 KiB of text and its 16-byte tag.
const CHUNK: usize = 64 * 1024 + 16;
/// A header line longer than this is not one age writes for X25519.
const MAX_LINE: usize = 128;

/// Base64 without padding of exactly 32 bytes, as age writes keys and MACs.
fn is_b64_32(s: &[u8]) -> bool {
    use base64::Engine;
    s.len() == 43
        && base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(s)
            .is_ok_and(|b| b.len() == 32)
}

/// The next header line (without its newline), moving `rest` past it.
fn next_line<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], AgeFileError> {
    let end = rest
        .iter()
        .take(MAX_LINE + 1)
        .position(|&b| b == b'\n')
        .ok_or(AgeFileError::Damaged)?;
    let (l, tail) = rest.split_at(end);
    *rest = &tail[1..];
    Ok(l)
}

/// Checks that `file` is a binary age file sealed to exactly `recipients`
/// X25519 recipients, without opening it (the intake cannot).
pub fn check_age_file(file: &[u8], recipients: usize) -> Result<(), AgeFileError> {
    let mut rest = file.strip_prefix(AGE_INTRO).ok_or(AgeFileError::NotAge)?;
    let mut line = || next_line(&mut rest);
    let (mut found, mut greased) = (0, 0);
    loop {
        let l = line()?;
        if let Some(mac) = l.strip_prefix(b"--- ") {
            if !is_b64_32(mac) {
                return Err(AgeFileError::Damaged);
            }
            break;
        }
        let args = l.strip_prefix(b"-> ").ok_or(AgeFileError::Damaged)?;
        let mut args = args.split(|&b| b == b' ');
        let kind = args.next().unwrap_or_default();
        if kind.ends_with(b"-grease") {
            // age's implementations add a random stanza that identities skip
            // (it keeps parsers honest); its body is up to 100 random bytes.
            greased += 1;
            if greased > 2 {
                return Err(AgeFileError::Damaged);
            }
            for _ in 0..4 {
                if line()?.len() < 64 {
                    break;
                }
            }
            continue;
        }
        if kind != b"X25519" {
            return Err(AgeFileError::NotX25519);
        }
        let (Some(share), None) = (args.next(), args.next()) else {
            return Err(AgeFileError::Damaged);
        };
        // The wrapped file key (32 bytes) fits on one body line.
        if !is_b64_32(share) || !is_b64_32(line()?) {
            return Err(AgeFileError::Damaged);
        }
        found += 1;
        if found > recipients {
            // Counting further would only read more of a sender's header.
            break;
        }
    }
    if found != recipients {
        return Err(AgeFileError::WrongRecipients {
            expected: recipients,
            found,
        });
    }
    // The payload: a 16-byte nonce, then chunks; only the last may be short,
    // and it holds at least one byte besides its tag (a report is never empty).
    let payload = rest.len().checked_sub(16).ok_or(AgeFileError::Damaged)?;
    let last = payload % CHUNK;
    if payload == 0 || (1..=16).contains(&last) {
        return Err(AgeFileError::Damaged);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::Recipients;

    fn day() -> Day {
        "2026-12-07".parse().unwrap()
    }

    fn browser_json(desk: &DeskIdentity, json: &str) -> Vec<u8> {
        desk.recipients().seal(json.as_bytes()).unwrap()
    }

    #[test]
    #[allow(clippy::field_reassign_with_default)]
    fn a_report_sealed_in_the_browser_opens_as_the_server_would_have_sealed_it() {
        let desk = DeskIdentity::generate();
        let inner = browser_json(
            &desk,
            r#"{"v":1,"text":"  Задержан у метро ","urgent":false,"contact":" ","lang":"en",
               "happened":"detained_now","whom":"someone_else","names":" Иван ","city":"",
               "region":"RU-MOW","consent":"counts","station":"ОВД Тверской"}    "#,
        );
        let receipt = crate::Receipt::generate().unwrap();
        let seed = crate::followup::ReplyKey::seed_hex(&receipt).unwrap();
        let outer = SealedInBrowser::new(
            Channel::WebForm,
            day(),
            "2026-12-07T05:00:00Z".into(),
            seed.to_string(),
            inner,
        );
        let sealed = desk
            .recipients()
            .seal(&serde_json::to_vec(&outer).unwrap())
            .unwrap();
        let opened = desk.open_envelope(&sealed).unwrap();

        let mut details = ReportDetails::default();
        details.happened = Some(Happened::DetainedNow);
        details.whom = Some(Whom::SomeoneElse);
        details.names = Some("Иван".into());
        details.region = Some("RU-MOW".into());
        details.station = Some("ОВД Тверской".into());
        details.consent = Some(Consent::Counts);
        let mut expected = ReportEnvelope::new(
            "Задержан у метро",
            false,
            None,
            Lang::En,
            Channel::WebForm,
            day(),
        )
        .unwrap()
        .with_details(details)
        .unwrap();
        expected.received_at = Some("2026-12-07T05:00:00Z".into());
        expected.reply_seed = Some(seed.to_string());
        assert_eq!(opened, expected);
        assert!(opened.urgent);
        // intake4: the desk derives the reply recipient from the seed, the
        // same one the reporter's receipt gives.
        let key = crate::followup::ReplyKey::derive(&receipt).unwrap();
        assert_eq!(opened.reply_recipient(), Some(key.recipient()));
        assert!(opened.can_reply());
    }

    #[test]
    fn an_outer_envelope_sealed_before_intake4_keeps_its_reply_to() {
        let desk = DeskIdentity::generate();
        let inner = browser_json(
            &desk,
            r#"{"v":1,"text":"Задержан","urgent":false,"lang":"ru"}"#,
        );
        let key = crate::followup::ReplyKey::derive(&crate::Receipt::generate().unwrap()).unwrap();
        // The JSON an intake wrote before intake4: `reply_to`, no seed.
        let old = format!(
            r#"{{"v":1,"kind":"{KIND}","channel":"web_form","received":"2026-12-07","reply_to":"{}","report":"{}"}}"#,
            key.recipient(),
            {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.encode(&inner)
            }
        );
        let sealed = desk.recipients().seal(old.as_bytes()).unwrap();
        let opened = desk.open_envelope(&sealed).unwrap();
        assert_eq!(opened.reply_seed, None);
        assert_eq!(opened.reply_recipient(), Some(key.recipient()));
    }

    #[test]
    #[allow(clippy::field_reassign_with_default)]
    fn an_altered_page_breaking_a_rule_still_gives_its_words() {
        let long = "я".repeat(crate::report::MAX_FIELD_CHARS + 1);
        let mut r = BrowserReport::default();
        r.v = 1;
        r.text = " t ".into();
        r.place = Some(long.clone());
        r.happened = Some("invented".into());
        let (e, broken) = r.into_envelope(Channel::WebForm, day());
        assert_eq!(e.text, "t");
        assert_eq!(e.details.place.as_deref(), Some(long.as_str()));
        assert_eq!(e.details.happened, None);
        assert_eq!(broken.map(|b| b.code()), Some("field_too_long"));
    }

    #[test]
    fn an_inner_file_sealed_to_another_key_does_not_open() {
        let desk = DeskIdentity::generate();
        let other = DeskIdentity::generate();
        let inner = browser_json(&other, r#"{"v":1,"text":"t"}"#);
        let outer = SealedInBrowser::new(Channel::WebForm, day(), "x".into(), "y".into(), inner);
        let sealed = desk
            .recipients()
            .seal(&serde_json::to_vec(&outer).unwrap())
            .unwrap();
        assert!(matches!(desk.open_envelope(&sealed), Err(SealError::Open)));
    }

    #[test]
    fn the_intake_accepts_only_well_formed_x25519_age_files() {
        let a = DeskIdentity::generate();
        let b = DeskIdentity::generate();
        let two = Recipients::parse(&format!("{}\n{}", a.recipient(), b.recipient())).unwrap();
        let good = two.seal(b"{\"v\":1,\"text\":\"t\"}").unwrap();
        assert_eq!(check_age_file(&good, 2), Ok(()));
        assert_eq!(
            check_age_file(&good, 1),
            Err(AgeFileError::WrongRecipients {
                expected: 1,
                found: 2
            })
        );
        assert_eq!(
            check_age_file(&good, 3),
            Err(AgeFileError::WrongRecipients {
                expected: 3,
                found: 2
            })
        );
        // A payload of several chunks, the last one short.
        let big = a.recipients().seal(&vec![b'x'; 3 * 64 * 1024 + 5]).unwrap();
        assert_eq!(check_age_file(&big, 1), Ok(()));
        // Clear text, armor, cut short, a flipped header byte.
        assert_eq!(
            check_age_file("Задержан".as_bytes(), 1),
            Err(AgeFileError::NotAge)
        );
        let armored =
            b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----\n";
        assert_eq!(check_age_file(armored, 1), Err(AgeFileError::NotAge));
        let one = a.recipients().seal(b"t").unwrap();
        let header_end = one.windows(4).position(|w| w == b"--- ").unwrap();
        assert_eq!(
            check_age_file(&one[..header_end + 20], 1),
            Err(AgeFileError::Damaged)
        );
        assert_eq!(
            check_age_file(&one[..one.len() - 1], 1),
            Err(AgeFileError::Damaged)
        );
        let mut bad = one.clone();
        bad[header_end + 10] = b'!';
        assert_eq!(check_age_file(&bad, 1), Err(AgeFileError::Damaged));
        // A passphrase (scrypt) stanza is not for the desk.
        let scrypt = b"age-encryption.org/v1\n-> scrypt c2FsdHNhbHRzYWx0c2FsdA 18\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
        assert_eq!(check_age_file(scrypt, 1), Err(AgeFileError::NotX25519));
        for e in [
            AgeFileError::NotAge,
            AgeFileError::NotX25519,
            AgeFileError::Damaged,
        ] {
            assert!(e.message(Lang::Ru).contains("Ничего не сохранено"));
            assert!(e.message(Lang::En).contains("Nothing was stored"));
        }
    }
}
