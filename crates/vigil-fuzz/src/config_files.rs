//! The zones' config files (`intake.toml`, `desk.toml`), read by the same
//! code the `vigil` binary runs: its `config.rs` is compiled into this crate
//! as it is (the binary has no library to depend on), so the types, serde
//! attributes, version check and error messages are the real ones.
//!
//! After the parse, the intake's values go through the checks `vigil intake`
//! makes before it starts (recipients, the desk token's hash). A config that
//! loads must also survive `save` then `load` unchanged: `vigil demo` writes
//! these files and the zones read them back.

#[allow(dead_code, unused_imports)]
#[path = "../../vigil/src/config.rs"]
mod vigil_config;

use std::path::PathBuf;

use vigil_config::{ConfigError, DeskConfigFile, IntakeConfigFile};

use crate::{Outcome, SetupError, Target, Violation, ensure, excerpt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Intake,
    Desk,
}

pub struct ConfigTarget {
    zone: Zone,
    dir: tempfile::TempDir,
}

impl ConfigTarget {
    pub fn new(zone: Zone) -> Result<Self, SetupError> {
        let name = match zone {
            Zone::Intake => "intake_config",
            Zone::Desk => "desk_config",
        };
        Ok(ConfigTarget {
            zone,
            dir: crate::scratch_dir(name)?,
        })
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// Loads, then saves and loads again; the second load must give the same.
fn round_trip<T>(
    path: &std::path::Path,
    copy: &std::path::Path,
    version: fn(&T) -> u32,
    data: &[u8],
) -> Result<Option<T>, Violation>
where
    T: serde::Serialize + for<'de> serde::Deserialize<'de> + std::fmt::Debug,
{
    let loaded = match vigil_config::load::<T>(path, version) {
        Ok(v) => v,
        Err(e) => {
            // Every refusal names the file, so a person knows what to fix.
            let message = e.to_string();
            ensure(message.starts_with(&path.display().to_string()), || {
                format!("an error that does not name the file: {message}")
            })?;
            ensure(
                std::str::from_utf8(data).is_err() || !matches!(e, ConfigError::Read { .. }),
                || format!("a readable file was reported unreadable: {message}"),
            )?;
            return Ok(None);
        }
    };
    vigil_config::save(copy, &loaded).map_err(|e| {
        Violation(format!(
            "a config that loads cannot be saved ({e}): {}",
            excerpt(data)
        ))
    })?;
    let again = vigil_config::load::<T>(copy, version).map_err(|e| {
        Violation(format!(
            "a saved config does not load again ({e}): {}",
            excerpt(data)
        ))
    })?;
    ensure(format!("{loaded:?}") == format!("{again:?}"), || {
        format!(
            "a config changed when saved and loaded: {loaded:?} became {again:?}; input {}",
            excerpt(data)
        )
    })?;
    Ok(Some(loaded))
}

impl Target for ConfigTarget {
    fn run(&mut self, data: &[u8]) -> Outcome {
        let path = self.file("zone.toml");
        let copy = self.file("saved.toml");
        std::fs::write(&path, data)
            .map_err(|e| Violation(format!("cannot write the input file: {e}")))?;
        match self.zone {
            Zone::Intake => {
                let Some(file) = round_trip::<IntakeConfigFile>(&path, &copy, |c| c.version, data)?
                else {
                    return Ok(());
                };
                // What `vigil intake` checks before it serves.
                let _ = vigil_core::Recipients::parse(&file.recipients.join("\n"));
                let _ = vigil_core::token::parse_hash(&file.desk_token_sha256);
            }
            Zone::Desk => {
                let _ = round_trip::<DeskConfigFile>(&path, &copy, |c| c.version, data)?;
            }
        }
        Ok(())
    }
}
