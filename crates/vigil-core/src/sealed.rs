//! A sealed report as the intake stores it, the desk pulls it over the wire,
//! and the desk keeps it at rest.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::day::Day;
use crate::report::ReportId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedReport {
    pub id: ReportId,
    /// Keyed hash of the reporter's receipt; lets the desk answer the reporter
    /// later without ever knowing the receipt.
    #[serde(with = "hex32")]
    pub receipt_hash: [u8; 32],
    /// The age file, base64 on the wire.
    #[serde(with = "b64")]
    pub sealed: Vec<u8>,
    pub received: Day,
}

/// The intake's answer to a desk pull.
#[derive(Debug, Serialize, Deserialize)]
pub struct PullResponse {
    pub reports: Vec<SealedReport>,
}

/// What the desk sends once it has stored pulled reports durably.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AckRequest {
    pub ids: Vec<ReportId>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AckResponse {
    pub acknowledged: u64,
}

pub(crate) mod hex32 {
    use super::*;
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

pub(crate) mod b64 {
    use super::*;
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        B64.decode(s).map_err(serde::de::Error::custom)
    }
}
