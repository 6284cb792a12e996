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
    // A spinner with the time spent, on a terminal only (indicatif draws
    // nothing when stderr is not one, so scripts and logs stay clean).
    let spinner = indicatif::ProgressBar::new_spinner();
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} публикация / publishing {msg} {elapsed}")
    {
        spinner.set_style(style);
    }
    spinner.set_message(out.display().to_string());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let r = vigil_public::publish(desk.store.as_ref(), &key, &out, Day::today()).await;
    spinner.finish_and_clear();
    let r = r?;
    println!(
        "published {} files ({} reports) to {}, signed by {}",
        r.files,
        r.reports,
        r.dir.display(),
        r.public_key
    );
    match &r.previous {
        Some(p) => println!(
            "follows the previous release (manifest SHA-256 {p}); {} table(s) changed, see changes.html",
            r.tables_changed
        ),
        None => println!("the first release of its chain"),
    }
    Ok(())
}

pub fn verify(dir: &Path, key: Option<&str>, previous: Option<&Path>) -> Result {
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
    let v = match previous {
        None => vigil_public::verify(dir, expected.as_ref())?,
        Some(p) => vigil_public::verify_chain(dir, p, expected.as_ref())?,
    };
    println!(
        "OK: {} files match the manifest of {}, signed by {}",
        v.files, v.released, v.public_key
    );
    println!("manifest SHA-256: {}", v.manifest_sha256);
    match (&v.previous_checked, &v.previous) {
        (Some(before), _) => println!(
            "chain: follows the release of {} (manifest SHA-256 {}), which also verifies",
            before.released, before.manifest_sha256
        ),
        (None, Some(hash)) => {
            println!("chain: names the previous manifest {hash}; give --previous DIR to check it")
        }
        (None, None) => println!("chain: the first release of its chain"),
    }
    if !v.key_was_expected {
        println!(
            "note: no --key given; this proves the release is intact, not who signed it. \
             Compare the key above with the one the organisation publishes."
        );
    }
    Ok(())
}
