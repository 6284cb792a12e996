//! The desk's record, without HTTP: persons, protest actions, events, cases and
//! their sources ([`model`]); the controlled vocabularies, as data files with
//! Russian and English labels ([`vocab`]); the key that seals identifying fields
//! ([`key`]); importing published tables ([`import`]); and counting the record
//! by explicit rules ([`stats`], docs/methodology.md).
//!
//! The store (vigil-store) keeps the rows; this crate is where a person's name
//! is sealed before it reaches the store and opened after it leaves it, so the
//! desk's web pages and the public statistics build on these types.

pub mod date;
pub mod import;
pub mod key;
pub mod model;
pub mod record;
pub mod stats;
pub mod vocab;

pub use date::{PartialDate, Precision};
pub use key::RecordKey;
pub use record::Record;
pub use vocab::Vocabularies;

/// The record key's file inside the desk's folder.
pub const RECORD_KEY_FILE: &str = "record-key.age";
