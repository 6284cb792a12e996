//! `vigil publish` and `vigil verify`.

use std::path::{Path, PathBuf};

use vigil_core::Day;
use vigil_core::keys::ReleaseKey;

use super::Result;
use crate::config::Layout;
use crate::secrets;

pub async fn publish(data: &Path, out: Option<PathBuf>) -> Result {
    let layout = Layout::new(data);
    let desk = super::desk::open(&layout, None).await?;
    let passphrase = secrets::passphrase()?;
    let key = ReleaseKey::read(&layout.release_key(), &passphrase)?;
    let out = out.unwrap_or_else(|| layout.site());
    let r = vigil_public::publish(desk.store.as_ref(), &key, &out, Day::today()).await?;
    println!(
        "published {} files ({} reports) to {}, signed by {}",
        r.files,
        r.reports,
        r.dir.display(),
        r.public_key
    );
    Ok(())
}

pub fn verify(dir: &Path, key: Option<&str>) -> Result {
    let expected = match key {
        None => None,
        Some(k) => {
            let text = if Path::new(k).is_file() {
                std::fs::read_to_string(k)?
            } else {
                k.to_owned()
            };
            Some(vigil_core::keys::parse_public_key(&text).map_err(|e| format!("--key: {e}"))?)
        }
    };
    let v = vigil_public::verify(dir, expected.as_ref())?;
    println!(
        "OK: {} files match the manifest of {}, signed by {}",
        v.files, v.released, v.public_key
    );
    if !v.key_was_expected {
        println!(
            "note: no --key given; this proves the release is intact, not who signed it. \
             Compare the key above with the one the organisation publishes."
        );
    }
    Ok(())
}
