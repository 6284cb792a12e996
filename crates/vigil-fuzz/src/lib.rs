//! Fuzz targets for every parser in vigil that takes input from outside: the
//! intake's JSON and form bodies (through the real router, with a real SQLite
//! store), the desk's pull answers, the zones' config files, release
//! manifests, sealed report envelopes, and the linkage CSV and spec.
//!
//! Each target takes raw bytes and either returns `Ok(())`, returns a
//! [`Violation`] (the input was handled without a crash, but wrongly: a 5xx,
//! a lost report, an unescaped script), or panics (a crash in the parser).
//! The same targets run under AFL++ (`scripts/fuzz`, the `afl` feature) and
//! in `cargo test -p vigil-fuzz` on the committed seeds, saved crashes and
//! generated inputs (see docs/fuzzing.md).

pub mod config_files;
pub mod desk_pull;
pub mod envelope;
pub mod generate;
pub mod intake;
pub mod linkage;
pub mod release;

use std::fmt;
use std::path::Path;

/// An input that a target handled without crashing, but wrongly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation(pub String);

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Violation {}

pub type Outcome = Result<(), Violation>;

/// Returns a violation with `message` unless `ok`.
pub(crate) fn ensure(ok: bool, message: impl FnOnce() -> String) -> Outcome {
    if ok {
        Ok(())
    } else {
        Err(Violation(message()))
    }
}

/// Why a target could not be set up. Not a finding: the machine lacks
/// something (a temporary folder, a runtime).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up fuzz target {target}: {reason}")]
pub struct SetupError {
    pub target: &'static str,
    pub reason: String,
}

impl SetupError {
    pub(crate) fn new(target: &'static str, reason: impl fmt::Display) -> Self {
        SetupError {
            target,
            reason: reason.to_string(),
        }
    }
}

/// A fuzz target with whatever it keeps between inputs (a runtime, a store,
/// keys), so that AFL's persistent mode does not pay for them on every input.
pub trait Target {
    fn run(&mut self, data: &[u8]) -> Outcome;
}

/// Every target, by the name `scripts/fuzz` and the seed folders use.
pub const TARGETS: &[&str] = &[
    "intake_json",
    "intake_form",
    "desk_pull",
    "intake_config",
    "desk_config",
    "release_manifest",
    "sealed_envelope",
    "linkage_csv",
    "linkage_spec",
];

/// Builds the target of that name.
pub fn target(name: &str) -> Result<Box<dyn Target>, SetupError> {
    Ok(match name {
        "intake_json" => Box::new(intake::IntakeTarget::new(intake::Channel::Json)?),
        "intake_form" => Box::new(intake::IntakeTarget::new(intake::Channel::Form)?),
        "desk_pull" => Box::new(desk_pull::DeskPullTarget::new()?),
        "intake_config" => Box::new(config_files::ConfigTarget::new(config_files::Zone::Intake)?),
        "desk_config" => Box::new(config_files::ConfigTarget::new(config_files::Zone::Desk)?),
        "release_manifest" => Box::new(release::ReleaseTarget::new()?),
        "sealed_envelope" => Box::new(envelope::EnvelopeTarget::new()),
        "linkage_csv" => Box::new(linkage::LinkageTarget::new(linkage::Part::Csv)?),
        "linkage_spec" => Box::new(linkage::LinkageTarget::new(linkage::Part::Spec)?),
        _ => {
            return Err(SetupError {
                target: "unknown",
                reason: format!("no target {name:?}; the targets are {}", TARGETS.join(", ")),
            });
        }
    })
}

/// A temporary folder for a target's files, in memory (/dev/shm) where the
/// machine has it: the stores fsync every commit, and on tmpfs that is free.
pub(crate) fn scratch_dir(target: &'static str) -> Result<tempfile::TempDir, SetupError> {
    let shm = Path::new("/dev/shm");
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix("vigil-fuzz-");
        b
    };
    let in_memory = if shm.is_dir() {
        builder.tempdir_in(shm).ok()
    } else {
        None
    };
    match in_memory {
        Some(dir) => Ok(dir),
        None => builder.tempdir().map_err(|e| SetupError::new(target, e)),
    }
}

/// A single-threaded Tokio runtime: inputs run one at a time, and the intake's
/// writer task runs whenever the runtime is driven.
pub(crate) fn runtime(target: &'static str) -> Result<tokio::runtime::Runtime, SetupError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SetupError::new(target, e))
}

/// Shortens an input or answer for a violation message.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(300).collect();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}
