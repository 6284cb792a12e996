//! desk: the team's trusted workplace. It pulls sealed reports from the intake,
//! keeps them sealed at rest, and opens them only in memory with the desk
//! identity (itself kept encrypted with a passphrase).

pub mod accounts;
pub mod alerts;
pub mod audit;
pub mod authz;
pub mod clock;
pub mod csrf;
pub mod duplicates;
pub mod index;
pub mod lockout;
pub mod pull;
pub mod queue;
pub mod replies;
pub mod retention;
pub mod roster;
pub mod sessions;
pub mod totp;
pub mod urgent;
pub mod verifier;
pub mod web;

pub use pull::{PullError, PullOutcome, Puller};
pub use queue::{QueueItem, open_queue};
