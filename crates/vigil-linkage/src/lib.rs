//! vigil's record-linkage engine: finds the same person across reports written in
//! Cyrillic and in any of the Latin transliterations, with short forms of given
//! names, either gender form of a surname, missing patronymics, partial dates and
//! typos. See `docs/linkage.md` for the approach.
//!
//! The core ([`engine`], [`names`], [`translit`], ...) does no I/O; [`cli`] is the
//! `vigil link` command built on it.

pub mod cli;
pub mod compare;
pub mod date;
pub mod engine;
pub mod eval;
pub mod generate;
pub mod groups;
pub mod hard;
pub mod names;
pub mod normalize;
pub mod spec;
pub mod translit;

pub use engine::{Contribution, Dataset, Linkage, Model, Progress, Quiet, ScoredPair};
pub use spec::{FieldKind, Spec};
