//! The receipt code a reporter gets back: 128 random bits, written in Crockford's
//! base32 so it can be read aloud over a phone and typed without confusion.
//! The alphabet has no I, L, O or U, and reading accepts O for 0 and I or L
//! for 1, so no two look-alikes mean different things. Two check characters
//! (10 bits) follow, so that a code mistyped or misheard over a phone is caught
//! as a typo, with a message that says so, instead of quietly finding nothing.
//! Shown as seven groups of four: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
//!
//! The intake keeps only a keyed hash of it (HMAC-SHA-256 under a per-intake
//! secret). With 128 bits of entropy nobody can guess a receipt, so a slow
//! password hash would only slow every submission down without adding safety;
//! the key means a seized database alone cannot even confirm a receipt.

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::random::{self, RandomError};

const ENCODING_CHARS: usize = 26; // ceil(128 / 5)
const CHECK_CHARS: usize = 2;
const SYMBOLS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Receipt([u8; 16]);

impl Receipt {
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Receipt(random::bytes()?))
    }

    /// The secret itself, for deriving the reply key.
    pub(crate) fn secret(&self) -> &[u8; 16] {
        &self.0
    }

    /// The two check characters: the first 10 bits of a SHA-256 of the code.
    fn check(&self) -> [u8; CHECK_CHARS] {
        use sha2::Digest;
        let digest = Sha256::new()
            .chain_update(b"vigil receipt check v1\0")
            .chain_update(self.0)
            .finalize();
        let bits = (u16::from(digest[0]) << 2) | (u16::from(digest[1]) >> 6);
        [
            SYMBOLS[usize::from(bits >> 5)],
            SYMBOLS[usize::from(bits & 31)],
        ]
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receipt(…)")
    }
}

/// Grouped by four for reading aloud: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`
/// (26 characters of code, 2 of check).
impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = crockford().encode(&self.0).into_bytes();
        s.extend_from_slice(&self.check());
        for (i, chunk) in s.chunks(4).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            // The alphabet is ASCII, so every chunk is valid UTF-8.
            f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptParseError {
    #[error("a receipt code has 28 letters and digits")]
    Length,
    /// The right length, but a character is wrong: a typo.
    #[error("the receipt code has a typo: a character is wrong")]
    Typo,
}

impl FromStr for Receipt {
    type Err = ReceiptParseError;
    /// Accepts what a person types: any case, spaces or dashes of any kind,
    /// and the letters O, I and L that people confuse with 0 and 1. Codes of
    /// 26 characters, given out before the check characters, still read.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let cleaned: String = s
            .chars()
            .filter(|c| {
                !c.is_whitespace()
                    && !matches!(
                        c,
                        '-' | '\u{2010}'
                            | '\u{2011}'
                            | '\u{2012}'
                            | '\u{2013}'
                            | '\u{2014}'
                            | '\u{2212}'
                    )
            })
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            })
            .collect();
        // Only ASCII can be a receipt; anything else is a typo (and must never
        // be split at a byte that is not a character's start).
        if !cleaned.is_ascii() {
            return Err(ReceiptParseError::Typo);
        }
        let (code, check) = match cleaned.len() {
            n if n == ENCODING_CHARS + CHECK_CHARS => cleaned.split_at(ENCODING_CHARS),
            ENCODING_CHARS => (cleaned.as_str(), ""),
            _ => return Err(ReceiptParseError::Length),
        };
        let bytes = crockford()
            .decode(code.as_bytes())
            .map_err(|_| ReceiptParseError::Typo)?;
        let arr: [u8; 16] = bytes.try_into().map_err(|_| ReceiptParseError::Length)?;
        let receipt = Receipt(arr);
        if !check.is_empty() && check.as_bytes() != receipt.check() {
            return Err(ReceiptParseError::Typo);
        }
        Ok(receipt)
    }
}

/// Built once (intakefast: building its tables on every receipt shown was
/// measurable under load).
fn crockford() -> &'static data_encoding::Encoding {
    static CROCKFORD: std::sync::LazyLock<data_encoding::Encoding> =
        std::sync::LazyLock::new(|| {
            let mut spec = data_encoding::Specification::new();
            spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
            // Only the spec's own symbols are used, so building cannot fail;
            // fall back to the RFC alphabet rather than panic if it ever did.
            spec.encoding().unwrap_or(data_encoding::BASE32_NOPAD)
        });
    &CROCKFORD
}

/// The intake's secret for hashing receipts.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ReceiptKey([u8; 32]);

impl ReceiptKey {
    pub fn generate() -> Result<Self, RandomError> {
        Ok(ReceiptKey(random::bytes()?))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ReceiptKey(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The only form in which a receipt is ever stored.
    pub fn hash(&self, receipt: &Receipt) -> [u8; 32] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.0) {
            Ok(m) => m,
            Err(_) => return [0u8; 32],
        };
        mac.update(b"vigil receipt v1\0");
        mac.update(&receipt.0);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_ascii_is_a_typo_not_a_panic() {
        // 26 bytes fall inside a four-byte character here (Schemathesis found it).
        let odd = "00000\u{80}\u{80}\u{80}\u{80}\u{80}\u{80}\u{800}\u{10000}\u{10000}";
        assert_eq!(odd.parse::<Receipt>().err(), Some(ReceiptParseError::Typo));
        assert!("Ж".repeat(28).parse::<Receipt>().is_err());
    }

    use super::*;

    #[test]
    fn display_parse_round_trip_and_forgiving_input() {
        let r = Receipt::generate().unwrap();
        let shown = r.to_string();
        assert_eq!(shown.len(), 28 + 6);
        assert!(shown.split('-').all(|g| g.len() == 4));
        assert!(!shown.contains(['I', 'L', 'O', 'U']));
        assert_eq!(shown.parse::<Receipt>().unwrap(), r);
        let typed = shown.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(typed.parse::<Receipt>().unwrap(), r);
        assert_eq!(
            shown.replace('-', "\u{2011}").parse::<Receipt>().unwrap(),
            r
        );
        // A code given out before the check characters still reads.
        let legacy = crockford().encode(&r.0);
        assert_eq!(legacy.parse::<Receipt>().unwrap(), r);
        assert_eq!("ABC".parse::<Receipt>(), Err(ReceiptParseError::Length));
    }

    #[test]
    fn a_mistyped_character_is_caught_as_a_typo() {
        let mut caught = 0;
        for _ in 0..200 {
            let r = Receipt::generate().unwrap();
            let mut shown = r.to_string().into_bytes();
            // Change one character of the code part to another symbol.
            shown[5] = if shown[5] == b'7' { b'8' } else { b'7' };
            let typo = String::from_utf8(shown).unwrap();
            if typo.parse::<Receipt>() == Err(ReceiptParseError::Typo) {
                caught += 1;
            }
        }
        // 10 check bits miss about one typo in a thousand.
        assert!(caught >= 195, "{caught}");
    }

    #[test]
    fn hash_depends_on_key_and_receipt() {
        let (k1, k2) = (
            ReceiptKey::generate().unwrap(),
            ReceiptKey::generate().unwrap(),
        );
        let (r1, r2) = (Receipt::generate().unwrap(), Receipt::generate().unwrap());
        assert_eq!(k1.hash(&r1), k1.hash(&r1.clone()));
        assert_ne!(k1.hash(&r1), k1.hash(&r2));
        assert_ne!(k1.hash(&r1), k2.hash(&r1));
    }

    #[test]
    fn debug_never_shows_the_code() {
        let r = Receipt::generate().unwrap();
        assert!(!format!("{r:?}").contains(&r.to_string()[..5]));
    }
}
