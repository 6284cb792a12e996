//! Releases as a reader checks them (issue 10): the standard `minisign` and
//! `ssh-keygen -Y verify` tools accept a published release and refuse a
//! changed one; `vigil verify` names the first bad file and checks the chain
//! to the previous release; a release shows what changed in the numbers.

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use super::{World, copy_dir, post_json};

fn tool(program: &str, args: &[&str], dir: &Path, stdin_file: Option<&Path>) -> Output {
    let mut c = Command::new(program);
    c.args(args).current_dir(dir);
    if let Some(f) = stdin_file {
        c.stdin(Stdio::from(fs::File::open(f).unwrap()));
    }
    c.output()
        .unwrap_or_else(|e| panic!("{program} is not installed ({e}); scripts/test installs it"))
}

fn minisign(release: &Path) -> Output {
    tool(
        "minisign",
        &["-V", "-m", "manifest.json", "-p", "minisign.pub"],
        release,
        None,
    )
}

fn ssh_keygen(release: &Path) -> Output {
    tool(
        "ssh-keygen",
        &[
            "-Y",
            "verify",
            "-f",
            "allowed_signers",
            "-I",
            "vigil-release",
            "-n",
            "vigil-release",
            "-s",
            "manifest.json.sshsig",
        ],
        release,
        Some(&release.join("manifest.json")),
    )
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `vigil verify DIR [--previous PREV]` with the desk's key.
fn verify(w: &World, dir: &Path, previous: Option<&Path>) -> Output {
    let key = w.data().join("desk/release-key.pub");
    let mut args = vec![
        "verify".to_owned(),
        dir.display().to_string(),
        "--key".into(),
        key.display().to_string(),
    ];
    if let Some(p) = previous {
        args.extend(["--previous".into(), p.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = super::vigil(&args).output().unwrap();
    w.record(&out);
    out
}

/// What a damaged copy's error must say, and how to damage it.
type Damage<'a> = (&'a str, &'a dyn Fn(&Path));

fn publish(w: &World, out: &Path) {
    w.run_ok(&["publish", "--out", out.to_str().unwrap()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn minisign_and_ssh_keygen_verify_a_release_and_refuse_a_changed_one() {
    let mut w = World::new();
    let intake = w.start_intake();
    post_json(&intake, serde_json::json!({ "text": "one" })).await;
    w.run_ok(&["desk", "pull"]);
    let site = w.dir.path().join("site");
    publish(&w, &site);

    let out = minisign(&site);
    assert!(out.status.success(), "minisign: {}", text(&out));
    assert!(
        text(&out).contains("Trusted comment: vigil release of"),
        "{}",
        text(&out)
    );
    let out = ssh_keygen(&site);
    assert!(out.status.success(), "ssh-keygen: {}", text(&out));
    assert!(
        text(&out).contains("Good \"vigil-release\" signature"),
        "{}",
        text(&out)
    );

    // One byte of the manifest changed: both tools refuse it.
    let changed = w.dir.path().join("changed");
    copy_dir(&site, &changed);
    let manifest = changed.join("manifest.json");
    let mut bytes = fs::read(&manifest).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x01;
    fs::write(&manifest, bytes).unwrap();
    assert!(!minisign(&changed).status.success());
    assert!(!ssh_keygen(&changed).status.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_names_the_bad_file_and_checks_the_chain_and_changes_are_listed() {
    let mut w = World::new();
    let intake = w.start_intake();
    post_json(&intake, serde_json::json!({ "text": "one" })).await;
    w.run_ok(&["desk", "pull"]);
    let site = w.dir.path().join("site");
    publish(&w, &site);
    let first = w.dir.path().join("first");
    copy_dir(&site, &first);
    let first_changes: Value =
        serde_json::from_slice(&fs::read(site.join("changes.json")).unwrap()).unwrap();
    assert!(first_changes.get("previous_manifest").is_none());

    // A second report, a second release in the same place: it chains to the
    // first and lists the changed count.
    post_json(&intake, serde_json::json!({ "text": "two" })).await;
    w.run_ok(&["desk", "pull"]);
    publish(&w, &site);
    let out = verify(&w, &site, Some(&first));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("chain: follows the release of"),
        "{}",
        text(&out)
    );
    let changes: Value =
        serde_json::from_slice(&fs::read(site.join("changes.json")).unwrap()).unwrap();
    let first_hash =
        vigil_core::release::sha256_hex(&fs::read(first.join("manifest.json")).unwrap());
    assert_eq!(changes["previous_manifest"], first_hash.as_str());
    let table = changes["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "reports-by-day")
        .unwrap();
    assert_eq!(table["status"], "changed", "{changes}");
    assert_eq!(table["examples"][0]["before"], "1", "{changes}");
    assert_eq!(table["examples"][0]["after"], "2", "{changes}");
    let page = fs::read_to_string(site.join("changes.html")).unwrap();
    assert!(page.contains("What changed in the numbers") && page.contains("Что изменилось"));

    // Each kind of damage fails, naming the file.
    let cases: [Damage<'_>; 4] = [
        ("data/reports-by-day.csv: changed", &|d: &Path| {
            fs::write(d.join("data/reports-by-day.csv"), "day,reports\n").unwrap()
        }),
        ("data/reports-by-day.json: missing", &|d: &Path| {
            fs::remove_file(d.join("data/reports-by-day.json")).unwrap()
        }),
        ("data/extra.csv: not in the manifest", &|d: &Path| {
            fs::write(d.join("data/extra.csv"), "a\n1\n").unwrap()
        }),
        ("manifest.json.minisig", &|d: &Path| {
            let p = d.join("manifest.json.minisig");
            let s = fs::read_to_string(&p).unwrap();
            fs::write(&p, s.replacen("vigil release of", "vigil release on", 1)).unwrap()
        }),
    ];
    for (expected, damage) in cases {
        let copy = w.dir.path().join("damaged");
        let _ = fs::remove_dir_all(&copy);
        copy_dir(&site, &copy);
        damage(&copy);
        let out = verify(&w, &copy, None);
        assert!(!out.status.success(), "{expected}: passed");
        assert!(text(&out).contains(expected), "{expected}: {}", text(&out));
    }

    // The chain: a wrong previous (the second release as its own previous),
    // a first release given a previous, and a damaged previous all fail.
    let out = verify(&w, &site, Some(&site));
    assert!(!out.status.success());
    assert!(text(&out).contains("broken chain"), "{}", text(&out));
    let out = verify(&w, &first, Some(&first));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("names no previous release"),
        "{}",
        text(&out)
    );
    fs::write(first.join("index.html"), "<p>rewritten</p>").unwrap();
    let out = verify(&w, &site, Some(&first));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("previous release") && text(&out).contains("index.html"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_record_gives_the_same_bytes() {
    let mut w = World::new();
    let intake = w.start_intake();
    post_json(&intake, serde_json::json!({ "text": "one" })).await;
    w.run_ok(&["desk", "pull"]);
    let (a, b) = (w.dir.path().join("a"), w.dir.path().join("b"));
    let day = |d: &Path| {
        let m: Value = serde_json::from_slice(&fs::read(d.join("manifest.json")).unwrap()).unwrap();
        m["released"].clone()
    };
    publish(&w, &a);
    publish(&w, &b);
    if day(&a) != day(&b) {
        // The day turned between the two builds: build both again.
        fs::remove_dir_all(&a).unwrap();
        fs::remove_dir_all(&b).unwrap();
        publish(&w, &a);
        publish(&w, &b);
    }
    let files = super::files_under(&a);
    assert!(files.len() > 10, "{files:?}");
    for f in files {
        let rel = f.strip_prefix(&a).unwrap();
        assert_eq!(
            fs::read(&f).unwrap(),
            fs::read(b.join(rel)).unwrap(),
            "{} differs between two builds",
            rel.display()
        );
    }
}
