//! The receipt code a reporter gets back: 128 random bits, written in Crockford's
//! base32 so it can be read aloud over a phone and typed without confusion.
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

#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Receipt([u8; 16]);

impl Receipt {
    pub fn generate() -> Result<Self, RandomError> {
        Ok(Receipt(random::bytes()?))
    }
}

impl fmt::Debug for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Receipt(…)")
    }
}

/// Grouped by five for reading aloud: `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-X`.
impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = crockford().encode(&self.0);
        for (i, chunk) in s.as_bytes().chunks(5).enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            // The alphabet is ASCII, so every chunk is valid UTF-8.
            f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a receipt code has 26 letters and digits")]
pub struct ReceiptParseError;

impl FromStr for Receipt {
    type Err = ReceiptParseError;
    /// Accepts what a person types: any case, spaces or dashes, and the letters
    /// O, I and L that people confuse with 0 and 1.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let cleaned: String = s
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            })
            .collect();
        if cleaned.len() != ENCODING_CHARS {
            return Err(ReceiptParseError);
        }
        let bytes = crockford()
            .decode(cleaned.as_bytes())
            .map_err(|_| ReceiptParseError)?;
        let arr: [u8; 16] = bytes.try_into().map_err(|_| ReceiptParseError)?;
        Ok(Receipt(arr))
    }
}

fn crockford() -> data_encoding::Encoding {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("0123456789ABCDEFGHJKMNPQRSTVWXYZ");
    // Only the spec's own symbols are used, so building cannot fail; fall back to
    // the RFC alphabet rather than panic if it ever did.
    spec.encoding().unwrap_or(data_encoding::BASE32_NOPAD)
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
    use super::*;

    #[test]
    fn display_parse_round_trip_and_forgiving_input() {
        let r = Receipt::generate().unwrap();
        let shown = r.to_string();
        assert_eq!(shown.len(), 26 + 5);
        assert_eq!(shown.parse::<Receipt>().unwrap(), r);
        let typed = shown.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(typed.parse::<Receipt>().unwrap(), r);
        assert!("ABC".parse::<Receipt>().is_err());
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
