//! Files sent with a report (intakemerge), sealed in the same age stream as
//! the report itself, so no file is ever stored or sent in clear.
//!
//! The plaintext inside the age file is then framed instead of bare JSON:
//!
//! ```text
//! vigil-report-framed-v1\n
//! u32 (big-endian) length, the report envelope's JSON (its `attachments`
//!     lists name, type, size and SHA-256 of each file, in order)
//! for each file: u64 (big-endian) length, the file's bytes
//! ```
//!
//! A report without files is sealed as bare JSON, as before, and a framed
//! report opens with the standard `age` tool too (the frame is simple to
//! read). The SHA-256 is of the file as the reporter sent it, before its
//! metadata was stripped, so the team can match it against a copy found
//! elsewhere; `size` is of the stored (stripped) bytes.

use std::io::Write;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::report::ReportEnvelope;
use crate::seal::SealError;

/// The first bytes of a framed plaintext (a bare JSON envelope starts with `{`).
pub const FRAMED_MAGIC: &[u8] = b"vigil-report-framed-v1\n";
/// The longest file name kept, in characters; longer ones are cut.
pub const MAX_NAME_CHARS: usize = 200;

/// What the desk learns about one file before opening it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentInfo {
    /// The file's name as sent (path parts removed, cut to 200 characters).
    pub name: String,
    /// The declared media type, as sent (never trusted to open the file).
    #[serde(rename = "type")]
    pub media_type: String,
    /// Bytes stored, after metadata was stripped.
    pub size: u64,
    /// SHA-256 of the original, as sent, in hex.
    pub sha256: String,
    /// Whether location and camera metadata were removed (JPEG and PNG).
    #[serde(default)]
    pub stripped: bool,
}

/// Writes the framed plaintext of a report and its files into `out` (an age
/// stream writer): nothing is gathered in one clear buffer.
pub fn write_framed(
    out: &mut dyn Write,
    envelope: &ReportEnvelope,
    files: &[&[u8]],
) -> Result<(), SealError> {
    let json = envelope.to_json().map_err(|_| SealError::Seal)?;
    let len = u32::try_from(json.len()).map_err(|_| SealError::Seal)?;
    out.write_all(FRAMED_MAGIC).map_err(|_| SealError::Seal)?;
    out.write_all(&len.to_be_bytes())
        .map_err(|_| SealError::Seal)?;
    out.write_all(&json).map_err(|_| SealError::Seal)?;
    for file in files {
        let len = u64::try_from(file.len()).map_err(|_| SealError::Seal)?;
        out.write_all(&len.to_be_bytes())
            .map_err(|_| SealError::Seal)?;
        out.write_all(file).map_err(|_| SealError::Seal)?;
    }
    Ok(())
}

/// A report opened: its envelope and its files' bytes, in the envelope's order.
pub type OpenedReport = (ReportEnvelope, Vec<Zeroizing<Vec<u8>>>);

/// Reads a plaintext, framed or bare JSON: the envelope and the files' bytes.
pub fn read_plaintext(clear: &[u8]) -> Result<OpenedReport, SealError> {
    let Some(rest) = clear.strip_prefix(FRAMED_MAGIC) else {
        let envelope = serde_json::from_slice(clear).map_err(|_| SealError::Envelope)?;
        return Ok((envelope, Vec::new()));
    };
    let (len, rest) = take_len::<4>(rest)?;
    let json = rest.get(..len).ok_or(SealError::Envelope)?;
    let envelope: ReportEnvelope = serde_json::from_slice(json).map_err(|_| SealError::Envelope)?;
    let mut rest = &rest[len..];
    let mut files = Vec::with_capacity(envelope.attachments.len());
    for _ in &envelope.attachments {
        let (len, after) = take_len::<8>(rest)?;
        let bytes = after.get(..len).ok_or(SealError::Envelope)?;
        files.push(Zeroizing::new(bytes.to_vec()));
        rest = &after[len..];
    }
    if !rest.is_empty() {
        return Err(SealError::Envelope);
    }
    Ok((envelope, files))
}

fn take_len<const N: usize>(bytes: &[u8]) -> Result<(usize, &[u8]), SealError> {
    let head: [u8; N] = bytes
        .get(..N)
        .and_then(|h| h.try_into().ok())
        .ok_or(SealError::Envelope)?;
    let mut wide = [0u8; 8];
    wide[8 - N..].copy_from_slice(&head);
    let len = usize::try_from(u64::from_be_bytes(wide)).map_err(|_| SealError::Envelope)?;
    Ok((len, &bytes[N..]))
}

/// A file name as kept: the last path part, control characters removed, at
/// most [`MAX_NAME_CHARS`] characters; "file" when nothing is left.
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Channel, Day, DeskIdentity, Lang};

    fn info(name: &str, size: usize) -> AttachmentInfo {
        AttachmentInfo {
            name: name.into(),
            media_type: "image/jpeg".into(),
            size: size as u64,
            sha256: "00".repeat(32),
            stripped: true,
        }
    }

    #[test]
    fn a_framed_report_opens_with_its_files_in_order_and_bare_json_still_opens() {
        let desk = DeskIdentity::generate();
        let mut envelope = ReportEnvelope::new(
            "Фото протокола",
            false,
            None,
            Lang::Ru,
            Channel::WebForm,
            Day::today(),
        )
        .unwrap();
        let a = b"first file".to_vec();
        let b = vec![7u8; 70_000];
        envelope.attachments = vec![info("a.jpg", a.len()), info("b.bin", b.len())];
        let sealed = desk.recipients().seal_report(&envelope, &[&a, &b]).unwrap();
        let (opened, files) = desk.open_report(&sealed).unwrap();
        assert_eq!(opened, envelope);
        assert_eq!(files.len(), 2);
        assert_eq!(&files[0][..], &a[..]);
        assert_eq!(&files[1][..], &b[..]);
        // Every caller of open_envelope reads a framed report as before.
        assert_eq!(desk.open_envelope(&sealed).unwrap().text, "Фото протокола");
        // A report without files is bare JSON inside age, as before.
        envelope.attachments.clear();
        let bare = desk.recipients().seal_report(&envelope, &[]).unwrap();
        assert_eq!(desk.open(&bare).unwrap()[0], b'{');
        assert!(desk.open_report(&bare).unwrap().1.is_empty());
    }

    #[test]
    fn a_cut_or_padded_frame_is_refused() {
        let mut envelope =
            ReportEnvelope::new("t", false, None, Lang::En, Channel::Api, Day::today()).unwrap();
        envelope.attachments = vec![info("a", 3)];
        let mut clear = Vec::new();
        write_framed(&mut clear, &envelope, &[b"abc"]).unwrap();
        assert!(read_plaintext(&clear).is_ok());
        assert!(read_plaintext(&clear[..clear.len() - 1]).is_err());
        let mut longer = clear.clone();
        longer.push(0);
        assert!(read_plaintext(&longer).is_err());
    }

    #[test]
    fn names_lose_their_paths_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\me\\IMG_1.jpg"), "IMG_1.jpg");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\u{0}b\nc.png"), "abc.png");
        assert_eq!(clean_name("   "), "file");
        assert_eq!(clean_name(&"я".repeat(300)).chars().count(), MAX_NAME_CHARS);
    }
}
