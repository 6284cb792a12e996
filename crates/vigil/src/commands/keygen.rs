//! `vigil keygen`: the desk identity and the release signing key.

use std::path::Path;

use vigil_core::DeskIdentity;
use vigil_core::keys::{self, ExposeSecret, ReleaseKey, SecretString, WorkFactor};

use super::Result;
use crate::config::{self, Layout};
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
    write_public_parts(layout, &identity, &release)
}

/// Writes the public halves beside the keys (recipient.txt, release-key.pub),
/// 0600 like everything else in the data folder: the operator copies them
/// where they are needed.
pub fn write_public_parts(
    layout: &Layout,
    identity: &DeskIdentity,
    release: &ReleaseKey,
) -> Result<Generated> {
    let recipient = identity.recipient();
    config::write_private(&layout.recipient(), format!("{recipient}\n").as_bytes())?;
    let release_public_key = release.public_hex();
    config::write_private(
        &layout.release_public_key(),
        format!("{release_public_key}\n").as_bytes(),
    )?;
    Ok(Generated {
        recipient,
        release_public_key,
    })
}

pub fn run(data: &Path, work_factor: WorkFactor) -> Result {
    let layout = Layout::new(data);
    // Asked (and judged) first: a refused passphrase leaves no folder behind.
    let passphrase = secrets::new_passphrase()?;
    if !layout.root.exists() {
        config::private_dir(&layout.root)?;
    }
    config::private_dir(&layout.desk_dir())?;
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
