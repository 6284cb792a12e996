//! Sealing reports to the desk with the `age` format (x25519 recipients).
//!
//! The intake holds only recipients (public keys); the desk holds the identity.
//! A sealed report is a standard age file, so an operator can also open one with
//! the `age` or `rage` command-line tools.

use std::io::Write;
use std::str::FromStr;

use age::x25519;
use zeroize::Zeroizing;

use crate::report::ReportEnvelope;

mod ring_x25519;
use ring_x25519::RingRecipient;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("line {line}: not an age x25519 recipient (they start with \"age1\")")]
    BadRecipient { line: usize },
    #[error("no recipients given: the intake needs the desk's public recipient to seal reports")]
    NoRecipients,
    #[error("sealing failed")]
    Seal,
    #[error("this report was not sealed to this desk identity, or it is damaged")]
    Open,
    #[error("the opened report is not a vigil report envelope")]
    Envelope,
}

/// The public keys that every report is sealed to.
///
/// intake4: each is held twice, as the age crate's recipient (its text form,
/// and [`Recipients::seal_with_age_crate`], the benchmark's baseline) and as
/// a [`RingRecipient`], which makes the same X25519 stanza with ring's faster
/// curve arithmetic; every seal uses the second.
#[derive(Clone)]
pub struct Recipients {
    age: Vec<x25519::Recipient>,
    ring: Vec<RingRecipient>,
}

impl Recipients {
    fn of(age: Vec<x25519::Recipient>) -> Result<Self, SealError> {
        let ring = age
            .iter()
            .map(RingRecipient::of)
            .collect::<Option<Vec<_>>>()
            .ok_or(SealError::Seal)?;
        Ok(Recipients { age, ring })
    }

    fn encryptor(&self) -> Result<age::Encryptor, SealError> {
        age::Encryptor::with_recipients(self.ring.iter().map(|r| r as &dyn age::Recipient))
            .map_err(|_| SealError::Seal)
    }
}

impl Recipients {
    /// Parses recipients, one per line, ignoring blank lines and `#` comments
    /// (the layout of an age recipients file).
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let r = x25519::Recipient::from_str(line)
                .map_err(|_| SealError::BadRecipient { line: i + 1 })?;
            out.push(r);
        }
        if out.is_empty() {
            return Err(SealError::NoRecipients);
        }
        Recipients::of(out)
    }

    /// These recipients and one more (`age1…`), for a message that the
    /// desk and a receipt's holder must both be able to open.
    pub fn and(&self, extra: &str) -> Result<Recipients, SealError> {
        let extra = x25519::Recipient::from_str(extra.trim())
            .map_err(|_| SealError::BadRecipient { line: 1 })?;
        let mut all = self.age.clone();
        all.push(extra);
        Recipients::of(all)
    }

    /// How many recipients every report is sealed to.
    pub fn len(&self) -> usize {
        self.age.len()
    }

    /// Never true: [`Recipients::parse`] refuses an empty list.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty()
    }

    /// The recipients as `age1…` strings, for a page that seals in the browser.
    pub fn to_strings(&self) -> Vec<String> {
        self.age.iter().map(ToString::to_string).collect()
    }

    /// Seals to every recipient (X25519 stanzas made with ring, see
    /// `ring_x25519`); a standard age file.
    pub fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        Self::seal_with(self.encryptor()?, plaintext)
    }

    /// The same, with the age crate's own X25519 recipients: the "bare age
    /// sealing" that `vigil bench-seal` measures as the throughput goal's
    /// baseline, and the reference the tests compare with.
    pub fn seal_with_age_crate(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let encryptor =
            age::Encryptor::with_recipients(self.age.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|_| SealError::Seal)?;
        Self::seal_with(encryptor, plaintext)
    }

    fn seal_with(encryptor: age::Encryptor, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(plaintext.len() + 256);
        let mut writer = encryptor
            .wrap_output(&mut out)
            .map_err(|_| SealError::Seal)?;
        writer.write_all(plaintext).map_err(|_| SealError::Seal)?;
        writer.finish().map_err(|_| SealError::Seal)?;
        Ok(out)
    }

    /// Seals a report envelope; the clear JSON is wiped from memory afterwards.
    pub fn seal_envelope(&self, envelope: &ReportEnvelope) -> Result<Vec<u8>, SealError> {
        let json = envelope.to_json().map_err(|_| SealError::Seal)?;
        self.seal(&json)
    }

    /// Seals a report with its files (intakemerge): the envelope and each
    /// file are written into the one age stream in frames (see
    /// `attachment`), never gathered in a clear buffer. Without files it is
    /// [`Recipients::seal_envelope`].
    pub fn seal_report(
        &self,
        envelope: &ReportEnvelope,
        files: &[&[u8]],
    ) -> Result<Vec<u8>, SealError> {
        if files.is_empty() {
            return self.seal_envelope(envelope);
        }
        let encryptor = self.encryptor()?;
        let total: usize = files.iter().map(|f| f.len() + 8).sum();
        let mut out = Vec::with_capacity(total + 64 * 1024);
        let mut writer = encryptor
            .wrap_output(&mut out)
            .map_err(|_| SealError::Seal)?;
        crate::attachment::write_framed(&mut writer, envelope, files)?;
        writer.finish().map_err(|_| SealError::Seal)?;
        Ok(out)
    }
}

/// The desk's private identity. The x25519 secret inside is wiped on drop.
pub struct DeskIdentity(x25519::Identity);

impl DeskIdentity {
    pub fn generate() -> Self {
        DeskIdentity(x25519::Identity::generate())
    }

    /// The public recipient, `age1…`, to configure on the intake.
    pub fn recipient(&self) -> String {
        self.0.to_public().to_string()
    }

    pub fn recipients(&self) -> Recipients {
        // One valid age recipient always has its 32 bytes.
        Recipients::of(vec![self.0.to_public()]).unwrap_or_else(|_| Recipients {
            age: vec![self.0.to_public()],
            ring: Vec::new(),
        })
    }

    /// The identity in age's text form (`AGE-SECRET-KEY-1…`), for writing into
    /// an encrypted identity file, or handing to the `age` tool in memory.
    /// Never write it to disk in clear outside a test.
    pub fn secret_text(&self) -> Zeroizing<String> {
        use age::secrecy::ExposeSecret;
        Zeroizing::new(self.0.to_string().expose_secret().to_owned())
    }

    pub(crate) fn from_secret_text(text: &str) -> Option<Self> {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
            .and_then(|l| x25519::Identity::from_str(l).ok())
            .map(DeskIdentity)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        age::decrypt(&self.0, sealed)
            .map(Zeroizing::new)
            .map_err(|_| SealError::Open)
    }

    /// Opens a sealed report, whether the intake sealed it or the reporter's
    /// browser did (then the intake's outer envelope carries the browser's age
    /// file, and both are opened and joined: see [`crate::browser_sealed`]),
    /// and whether it was sealed bare or framed with files.
    pub fn open_envelope(&self, sealed: &[u8]) -> Result<ReportEnvelope, SealError> {
        self.open_report(sealed).map(|(envelope, _)| envelope)
    }

    /// The report's envelope and its files' bytes, in the envelope's order.
    pub fn open_report(&self, sealed: &[u8]) -> Result<crate::attachment::OpenedReport, SealError> {
        let clear = self.open(sealed)?;
        if crate::browser_sealed::is_outer(&clear) {
            let outer: crate::browser_sealed::SealedInBrowser =
                serde_json::from_slice(&clear).map_err(|_| SealError::Envelope)?;
            // A report sealed in the browser carries no files.
            return outer.open(self).map(|envelope| (envelope, Vec::new()));
        }
        crate::attachment::read_plaintext(&clear)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, Day, Lang};

    #[test]
    fn sealed_envelope_opens_only_with_the_right_identity() {
        let desk = DeskIdentity::generate();
        let other = DeskIdentity::generate();
        let env = ReportEnvelope::new(
            "Задержан у метро",
            true,
            None,
            Lang::Ru,
            Channel::Api,
            Day::today(),
        )
        .unwrap();
        let sealed = desk.recipients().seal_envelope(&env).unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1"));
        assert!(
            !sealed
                .windows(6)
                .any(|w| w == "Задержан".as_bytes()[..6].as_ref())
        );
        assert_eq!(desk.open_envelope(&sealed).unwrap(), env);
        assert!(matches!(other.open(&sealed), Err(SealError::Open)));
    }

    #[test]
    fn what_we_seal_opens_with_the_age_crate_for_every_recipient() {
        // intake4: the stanzas are ring's, the file is age's; the age crate's
        // own identity opens it, for each of several recipients, and the
        // age crate's own sealing opens the same way.
        let desk = DeskIdentity::generate();
        let second = DeskIdentity::generate();
        let reply = x25519::Identity::generate();
        let to = Recipients::parse(&format!("{}\n{}", desk.recipient(), second.recipient()))
            .unwrap()
            .and(&reply.to_public().to_string())
            .unwrap();
        assert_eq!(to.len(), 3);
        let clear = "Задержан у метро, везут в ОВД. ".repeat(40);
        for sealed in [
            to.seal(clear.as_bytes()).unwrap(),
            to.seal_with_age_crate(clear.as_bytes()).unwrap(),
        ] {
            assert_eq!(&desk.open(&sealed).unwrap()[..], clear.as_bytes());
            assert_eq!(&second.open(&sealed).unwrap()[..], clear.as_bytes());
            assert_eq!(age::decrypt(&reply, &sealed).unwrap(), clear.as_bytes());
            assert!(DeskIdentity::generate().open(&sealed).is_err());
            let stanzas = sealed
                .split(|b| *b == b'\n')
                .filter(|l| l.starts_with(b"-> X25519 "))
                .count();
            assert_eq!(stanzas, 3);
        }
    }

    #[test]
    fn recipients_file_parsing_names_the_bad_line() {
        let desk = DeskIdentity::generate();
        let text = format!("# desk\n\n{}\nnot-a-key\n", desk.recipient());
        match Recipients::parse(&text) {
            Err(SealError::BadRecipient { line }) => assert_eq!(line, 4),
            _ => panic!("expected a bad recipient error"),
        }
        assert!(matches!(
            Recipients::parse("# nothing\n"),
            Err(SealError::NoRecipients)
        ));
        assert!(Recipients::parse(&desk.recipient()).is_ok());
    }
}
