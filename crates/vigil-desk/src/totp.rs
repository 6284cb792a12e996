//! The second factor: TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second
//! steps, one step of drift either way), which every authenticator app
//! speaks, and single-use recovery codes.
//!
//! The secret is sealed at rest the way reports are: to the desk identity
//! (age, x25519), so a copy of the database alone does not give codes; the
//! desk opens it in memory with the identity it already holds. A step that
//! let someone in is recorded in the store, so a code seen over a shoulder
//! (or replayed from a second desk process) is refused.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vigil_core::DeskIdentity;
use zeroize::Zeroizing;

pub const STEP_SECS: u64 = 30;
pub const DIGITS: u32 = 6;
pub const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODES: usize = 10;
const ISSUER: &str = "vigil";

#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("the operating system's random number generator failed")]
    Random,
    #[error("the second factor's secret could not be sealed or opened with the desk identity")]
    Seal,
}

/// A TOTP secret, zeroed when dropped.
pub struct Secret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl Secret {
    pub fn generate() -> Result<Secret, TotpError> {
        let bytes = vigil_core::random::bytes::<SECRET_BYTES>().map_err(|_| TotpError::Random)?;
        Ok(Secret(Zeroizing::new(bytes.to_vec())))
    }

    pub fn from_bytes(bytes: &[u8]) -> Secret {
        Secret(Zeroizing::new(bytes.to_vec()))
    }

    /// Base32 without padding, as apps take it typed in by hand.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0))
    }

    pub fn from_base32(text: &str) -> Option<Secret> {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .collect::<String>()
            .to_ascii_uppercase();
        data_encoding::BASE32_NOPAD
            .decode(clean.as_bytes())
            .ok()
            .map(|b| Secret(Zeroizing::new(b)))
    }

    /// The code for a 30-second step (RFC 4226's HOTP with the step as counter).
    pub fn code_at_step(&self, step: u64) -> u32 {
        // HMAC takes a key of any length; this cannot fail.
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.0) else {
            return u32::MAX;
        };
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[19] & 0x0f);
        let binary = u32::from_be_bytes([
            digest[offset] & 0x7f,
            digest[offset + 1],
            digest[offset + 2],
            digest[offset + 3],
        ]);
        binary % 10u32.pow(DIGITS)
    }

    /// The six-digit code for a moment (seconds since 1970).
    pub fn code_at(&self, unix: u64) -> String {
        format!("{:06}", self.code_at_step(unix / STEP_SECS))
    }

    /// The step whose code was typed, looking one step back and one ahead;
    /// `None` when it matches none. Compares in constant time.
    pub fn matching_step(&self, typed: &str, unix: u64) -> Option<u64> {
        let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
        if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = unix / STEP_SECS;
        let mut found = None;
        for step in [now.saturating_sub(1), now, now + 1] {
            let expected = format!("{:06}", self.code_at_step(step));
            if bool::from(expected.as_bytes().ct_eq(typed.as_bytes())) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://` URI an authenticator app reads from the QR code.
    pub fn uri(&self, username: &str) -> Zeroizing<String> {
        let label: String = username
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect();
        Zeroizing::new(format!(
            "otpauth://totp/{ISSUER}:{label}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
            self.base32().as_str()
        ))
    }

    /// Sealed to the desk identity, as reports are.
    pub fn seal(&self, identity: &DeskIdentity) -> Result<Vec<u8>, TotpError> {
        identity
            .recipients()
            .seal(self.base32().as_bytes())
            .map_err(|_| TotpError::Seal)
    }

    pub fn open(sealed: &[u8], identity: &DeskIdentity) -> Result<Secret, TotpError> {
        let text = identity.open(sealed).map_err(|_| TotpError::Seal)?;
        let text = std::str::from_utf8(&text).map_err(|_| TotpError::Seal)?;
        Secret::from_base32(text).ok_or(TotpError::Seal)
    }
}

/// The QR code of a URI as an SVG element (no JavaScript, no image request).
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::with_error_correction_level(uri, qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

/// Ten recovery codes, each 80 random bits written as four groups of four
/// base32 letters (`abcd-efgh-ijkl-mnop`).
pub fn recovery_codes() -> Result<Vec<Zeroizing<String>>, TotpError> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let bytes = vigil_core::random::bytes::<10>().map_err(|_| TotpError::Random)?;
            let text = data_encoding::BASE32_NOPAD
                .encode(&bytes)
                .to_ascii_lowercase();
            let groups: Vec<&str> = (0..4).filter_map(|i| text.get(i * 4..i * 4 + 4)).collect();
            Ok(Zeroizing::new(groups.join("-")))
        })
        .collect()
}

/// What the store keeps of a recovery code: SHA-256 over the username and the
/// code without dashes, spaces or case (80 random bits need no slow hash).
pub fn recovery_hash(username: &str, code: &str) -> [u8; 32] {
    let clean: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut h = Sha256::new();
    h.update(b"vigil-recovery-v1\0");
    h.update((username.len() as u64).to_be_bytes());
    h.update(username.as_bytes());
    h.update(clean.as_bytes());
    h.finalize().into()
}

/// Whether typed text looks like a recovery code rather than a TOTP code.
pub fn looks_like_recovery_code(typed: &str) -> bool {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 16
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// RFC 6238, appendix B (SHA-1 seed), cut to six digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let s = Secret::from_bytes(b"12345678901234567890");
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(s.code_at(t), code, "t={t}");
        }
    }

    #[test]
    fn one_step_of_drift_either_way_and_no_more() {
        let s = Secret::generate().unwrap();
        let t = 1_800_000_000;
        assert_eq!(s.matching_step(&s.code_at(t), t), Some(t / 30));
        assert_eq!(s.matching_step(&s.code_at(t - 30), t), Some(t / 30 - 1));
        assert_eq!(s.matching_step(&s.code_at(t + 30), t), Some(t / 30 + 1));
        assert_eq!(s.matching_step(&s.code_at(t - 60), t), None);
        assert_eq!(s.matching_step(&s.code_at(t + 60), t), None);
        assert_eq!(s.matching_step("12345", t), None);
        assert_eq!(s.matching_step("abcdef", t), None);
    }

    #[test]
    fn base32_uri_seal_and_recovery_codes() {
        let s = Secret::generate().unwrap();
        let again = Secret::from_base32(&s.base32().to_lowercase()).unwrap();
        assert_eq!(again.code_at(1000), s.code_at(1000));
        let uri = s.uri("ann");
        assert!(
            uri.starts_with("otpauth://totp/vigil:ann?secret="),
            "{}",
            *uri
        );
        assert!(qr_svg(&uri).unwrap().contains("<svg"));
        let id = DeskIdentity::generate();
        let sealed = s.seal(&id).unwrap();
        assert!(
            !sealed
                .windows(32)
                .any(|w| w == &s.base32().as_bytes()[..32])
        );
        assert_eq!(Secret::open(&sealed, &id).unwrap().code_at(5), s.code_at(5));
        assert!(Secret::open(&sealed, &DeskIdentity::generate()).is_err());
        let codes = recovery_codes().unwrap();
        assert_eq!(codes.len(), 10);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 19 && looks_like_recovery_code(c))
        );
        assert_eq!(
            recovery_hash("ann", &codes[0]),
            recovery_hash("ann", &codes[0].to_uppercase().replace('-', " "))
        );
        assert_ne!(
            recovery_hash("ann", &codes[0]),
            recovery_hash("bob", &codes[0])
        );
    }
}
