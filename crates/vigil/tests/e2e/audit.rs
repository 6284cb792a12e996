//! Gaps the issue 8 audit found on a running build (docs/threat-model.md,
//! "Issue 8: where each finding stands").

use super::vigil;

/// "Nothing was written", says a refused passphrase: not even the data folder
/// or its `desk` subfolder (they were made before the passphrase was judged).
#[test]
fn a_refused_passphrase_leaves_no_folder_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = vigil(&["keygen", "--kdf-work-factor", "10", "--data"])
        .arg(&data)
        .env("VIGIL_PASSPHRASE", "a")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a weak passphrase was accepted");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!data.exists(), "a refused keygen made {}", data.display());
}
