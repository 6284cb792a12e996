//! The domain core of vigil: what a report is, how it is sealed to the desk, how a
//! reporter's receipt is made and kept, and how a public release is signed.
//!
//! Nothing here does I/O beyond reading and writing key files, and nothing here
//! knows about HTTP; the zones (intake, desk, public) build on it.

pub mod attachment;
pub mod browser_sealed;
pub mod day;
pub mod followup;
pub mod keys;
pub mod lang;
pub mod random;
pub mod receipt;
pub mod release;
pub mod report;
pub mod seal;
pub mod sealed;
pub mod token;

pub use day::Day;
pub use lang::Lang;
pub use receipt::{Receipt, ReceiptKey};
pub use report::{
    Channel, Consent, Happened, ReportDetails, ReportEnvelope, ReportError, ReportId, Whom,
};
pub use seal::{DeskIdentity, Recipients, SealError};
pub use sealed::SealedReport;
