//! `vigil keygen`: the desk identity and the release signing key.

use std::fs;
use std::path::Path;

use vigil_core::DeskIdentity;
use vigil_core::keys::{self, ExposeSecret, ReleaseKey, SecretString, WorkFactor};

use super::Result;
use crate::config::Layout;
use crate::secrets;

pub struct Generated {
    pub recipient: String,
    pub release_public_key: String,
}

/// Writes both keys encrypted to `passphrase`; refuses to overwrite either,
/// and refuses a weak passphrase before writing anything.
pub fn generate(
    layout: &Layout,
    passphrase: &SecretString,
    work_factor: WorkFactor,
) -> Result<Generated> {
    secrets::check_passphrase(passphrase.expose_secret())?;
    for path in [layout.identity(), layout.release_key()] {
        if path.exists() {
            return Err(format!(
                "{}: already exists; refusing to overwrite a key (move it away first)",
                path.display()
            )
            .into());
        }
    }
    let identity = DeskIdentity::generate();
    keys::write_identity(&layout.identity(), &identity, passphrase, work_factor)?;
    let release = ReleaseKey::generate()?;
    release.write(&layout.release_key(), passphrase, work_factor)?;
    let recipient = identity.recipient();
    fs::write(layout.recipient(), format!("{recipient}\n"))?;
    let release_public_key = release.public_hex();
    fs::write(
        layout.release_public_key(),
        format!("{release_public_key}\n"),
    )?;
    Ok(Generated {
        recipient,
        release_public_key,
    })
}

pub fn run(data: &Path, work_factor: WorkFactor) -> Result {
    let layout = Layout::new(data);
    let passphrase = secrets::new_passphrase()?;
    let g = generate(&layout, &passphrase, work_factor)?;
    println!(
        "desk identity:   {} (encrypted with the passphrase)",
        layout.identity().display()
    );
    println!(
        "release key:     {} (encrypted with the passphrase)",
        layout.release_key().display()
    );
    println!("recipient:       {}", g.recipient);
    println!("release pub key: {}", g.release_public_key);
    println!();
    println!(
        "Put the recipient into the intake's config (recipients = [\"{}\"]).",
        g.recipient
    );
    println!(
        "Publish the release public key where journalists can find it: `vigil verify DIR --key KEY` checks releases against it."
    );
    Ok(())
}
