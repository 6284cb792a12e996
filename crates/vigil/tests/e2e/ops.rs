//! Operations: how the desk reaches the intake (no plain HTTP across the
//! network, no redirects, no ambient proxies), file permissions, `vigil verify`
//! on releases holding links or pipes, ports in use, half-made demo folders,
//! a forgotten `--data`, and unsafe intake configs.

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{
    BIN, Demo, PASS, World, copy_dir, demo_args, demo_command, post_json, succeeded, vigil,
};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn failed_with(out: &Output, parts: &[&str]) -> String {
    let err = stderr(out);
    assert!(!out.status.success(), "succeeded, expected a failure");
    for p in parts {
        assert!(err.contains(p), "{p:?} not in: {err}");
    }
    err
}

/// `vigil ARGS` under umask 000, so that only vigil's own modes protect what
/// it writes (the umask of whoever runs the tests must not hide a loose mode).
fn vigil_loose_umask(args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(BIN)
        .args(args)
        .env("VIGIL_PASSPHRASE", PASS)
        .env_remove("VIGIL_DATABASE_URL")
        .env_remove("VIGIL_DATA");
    c
}

/// A TCP listener that counts nothing but can say whether anyone connected.
fn trap() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

fn connected(l: &TcpListener) -> bool {
    l.set_nonblocking(true).unwrap();
    match l.accept() {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => panic!("{e}"),
    }
}

fn set_desk_config(w: &World, lines: &str) {
    fs::write(
        w.data().join("desk/desk.toml"),
        format!("version = 1\nlisten = \"127.0.0.1:0\"\nintake_token = \"{}\"\nsecure_cookies = false\n{lines}", super::TOKEN),
    )
    .unwrap();
}

// ---------------------------------------------------------------- the pull

#[tokio::test(flavor = "multi_thread")]
async fn the_pull_refuses_plain_http_across_the_network_and_ignores_proxy_variables() {
    let mut w = World::new();
    let intake = w.start_intake();
    let (status, _) = post_json(&intake, serde_json::json!({ "text": "one" })).await;
    assert_eq!(status, 201);

    // http:// to 127.0.0.1 is this machine: allowed. Proxy variables from the
    // environment point at a trap that must stay untouched.
    let (proxy_trap, proxy_addr) = trap();
    let proxy_url = format!("http://{proxy_addr}");
    let out = w
        .command(&["desk", "pull"])
        .env("HTTP_PROXY", &proxy_url)
        .env("http_proxy", &proxy_url)
        .env("HTTPS_PROXY", &proxy_url)
        .env("ALL_PROXY", &proxy_url)
        .env("all_proxy", &proxy_url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 new"));
    assert!(
        !connected(&proxy_trap),
        "the pull went through an ambient proxy"
    );
    // The test wrote desk.toml, token included, readable by all: a warning says so.
    let desk_toml = w.data().join("desk/desk.toml");
    fs::set_permissions(&desk_toml, fs::Permissions::from_mode(0o644)).unwrap();
    let out = w.run(&["desk", "pull"]);
    assert!(stderr(&out).contains("other users of this machine can read it"));
    fs::set_permissions(&desk_toml, fs::Permissions::from_mode(0o600)).unwrap();
    let out = w.run(&["desk", "pull"]);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));

    // http:// to another host is refused before any connection, naming the
    // setting and the fix; so is `vigil desk` (serve) at start.
    set_desk_config(&w, "intake_url = \"http://192.0.2.7:8080\"\n");
    for args in [&["desk", "pull"][..], &["desk"][..]] {
        failed_with(
            &w.run(args),
            &[
                "intake_url",
                "http://192.0.2.7:8080",
                "plain http://",
                "https://",
                ".onion",
            ],
        );
    }
    // A public name over http is refused the same way.
    set_desk_config(&w, "intake_url = \"http://intake.example.org\"\n");
    failed_with(&w.run(&["desk", "pull"]), &["intake_url", "plain http://"]);
    // Another scheme is refused.
    set_desk_config(&w, "intake_url = \"ftp://127.0.0.1/\"\n");
    failed_with(&w.run(&["desk", "pull"]), &["intake_url", "https://"]);
}

#[test]
fn an_onion_intake_needs_a_socks5h_proxy_and_goes_through_it() {
    let w = World::new();
    let onion = "http://vigilintakexxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion";
    set_desk_config(&w, &format!("intake_url = \"{onion}\"\n"));
    failed_with(
        &w.run(&["desk", "pull"]),
        &["intake_proxy", "socks5h://127.0.0.1:9050"],
    );
    // socks5:// would resolve the name here, outside Tor; http proxies are refused.
    for bad in ["socks5://127.0.0.1:9050", "http://127.0.0.1:8118"] {
        set_desk_config(
            &w,
            &format!("intake_url = \"{onion}\"\nintake_proxy = \"{bad}\"\n"),
        );
        failed_with(&w.run(&["desk", "pull"]), &["intake_proxy", "socks5h://"]);
    }
    // Through a socks5h proxy, the request reaches the proxy (a SOCKS5
    // greeting, version byte 5) and no DNS lookup of the .onion name happens here.
    let (socks, addr) = trap();
    set_desk_config(
        &w,
        &format!("intake_url = \"{onion}\"\nintake_proxy = \"socks5h://{addr}\"\n"),
    );
    // The first connection the trap accepts is the desk's if it came; once the
    // pull is over, a connection of our own unblocks the trap either way.
    let greeting = std::thread::spawn(move || {
        let (mut conn, _) = socks.accept().unwrap();
        let mut first = [0u8; 1];
        conn.read_exact(&mut first).ok().map(|()| first[0])
    });
    let out = w.run(&["desk", "pull"]);
    assert!(!out.status.success());
    let _ = std::net::TcpStream::connect(&addr);
    assert_eq!(
        greeting.join().unwrap(),
        Some(5),
        "no SOCKS5 greeting reached the proxy: {}",
        stderr(&out)
    );
}

/// Answers every HTTP request on `l` with a redirect to `to`.
fn redirect_server(l: TcpListener, to: String) {
    raw_server(
        l,
        format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{to}/api/v1/desk/reports?limit=200\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    );
}

/// Answers every HTTP request on `l` with `answer`; counts the requests.
fn raw_server(l: TcpListener, answer: String) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for conn in l.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = conn.write_all(answer.as_bytes());
        }
    });
    count
}

#[test]
fn the_pull_reads_no_answer_larger_than_its_bound() {
    let w = World::new();
    let (l, addr) = trap();
    // A gigabyte announced, one byte sent: refused without reading, page after
    // smaller page, down to one report, then given up with a message.
    let requests = raw_server(
        l,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\nConnection: close\r\n\r\n{".to_owned(),
    );
    set_desk_config(&w, &format!("intake_url = \"http://{addr}\"\n"));
    failed_with(
        &w.run(&["desk", "pull"]),
        &["larger than the desk reads", "intake_url"],
    );
    // 200, 100, 50, 25, 12, 6, 3, 1.
    assert_eq!(requests.load(std::sync::atomic::Ordering::SeqCst), 8);
}

#[test]
fn the_pull_does_not_follow_a_redirect() {
    let w = World::new();
    let (elsewhere, elsewhere_addr) = trap();
    let (redirector, redirector_addr) = trap();
    redirect_server(redirector, elsewhere_addr);
    set_desk_config(&w, &format!("intake_url = \"http://{redirector_addr}\"\n"));
    failed_with(
        &w.run(&["desk", "pull"]),
        &["redirect", "HTTP 307", "intake_url"],
    );
    assert!(
        !connected(&elsewhere),
        "the desk followed the redirect (and sent its token there)"
    );
}

// ---------------------------------------------------------------- permissions

/// Every folder under `root` is 0700 and every file 0600; returns how many
/// of each it saw.
fn assert_private(root: &Path) -> (usize, usize) {
    let mut dirs = 0;
    let mut files = 0;
    let mut stack = vec![root.to_path_buf()];
    let mut loose = Vec::new();
    while let Some(dir) = stack.pop() {
        let mode = fs::symlink_metadata(&dir).unwrap().mode() & 0o7777;
        if mode != 0o700 {
            loose.push(format!("{} folder {mode:o}", dir.display()));
        }
        dirs += 1;
        for e in fs::read_dir(&dir).unwrap().flatten() {
            let m = fs::symlink_metadata(e.path()).unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
                let mode = m.mode() & 0o7777;
                if mode != 0o600 {
                    loose.push(format!("{} file {mode:o}", e.path().display()));
                }
            }
        }
    }
    assert!(loose.is_empty(), "not private: {loose:#?}");
    (dirs, files)
}

fn names_under(root: &Path) -> Vec<String> {
    super::files_under(root)
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().display().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn keygen_intake_desk_and_demo_write_only_owner_only_files_and_folders() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let data_s = data.to_str().unwrap();
    succeeded(&mut vigil_loose_umask(&[
        "keygen",
        "--kdf-work-factor",
        "10",
        "--data",
        data_s,
    ]));
    let (_, files) = assert_private(&data);
    assert_eq!(files, 4, "{:?}", names_under(&data));

    // The configs are the operator's (written here as an operator would, 0600);
    // the intake then writes its receipt key and database with -wal and -shm.
    let recipient = fs::read_to_string(data.join("desk/recipient.txt")).unwrap();
    fs::create_dir(data.join("intake")).unwrap();
    fs::set_permissions(data.join("intake"), fs::Permissions::from_mode(0o700)).unwrap();
    let intake_toml = data.join("intake/intake.toml");
    fs::write(
        &intake_toml,
        format!(
            "version = 1\nlisten = \"127.0.0.1:0\"\nrecipients = [\"{}\"]\ndesk_token_sha256 = \"{}\"\n",
            recipient.trim(),
            vigil_core::token::hash_hex(super::TOKEN)
        ),
    )
    .unwrap();
    fs::set_permissions(&intake_toml, fs::Permissions::from_mode(0o600)).unwrap();
    let intake = Demo::start(
        &mut vigil_loose_umask(&["intake", "--data", data_s]),
        "intake listening on",
    );
    let url = intake.url("intake listening on");
    let (status, _) = post_json(&url, serde_json::json!({ "text": "one" })).await;
    assert_eq!(status, 201);
    let desk_toml = data.join("desk/desk.toml");
    fs::write(
        &desk_toml,
        format!(
            "version = 1\nintake_url = \"{url}\"\nintake_token = \"{}\"\n",
            super::TOKEN
        ),
    )
    .unwrap();
    fs::set_permissions(&desk_toml, fs::Permissions::from_mode(0o600)).unwrap();
    succeeded(&mut vigil_loose_umask(&["desk", "pull", "--data", data_s]));
    let names = names_under(&data);
    for expected in [
        "intake/intake.db",
        "intake/intake.db-wal",
        "intake/receipt.key",
        "desk/desk.db",
        "desk/identity.age",
        "desk/release-key.pub",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    assert_private(&data);
    drop(intake);

    // The demo, with every zone, the databases open and a release published.
    let demo = tmp.path().join("demo");
    let args = demo_args(&demo);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let running = Demo::start(&mut vigil_loose_umask(&args), "release key:");
    let names = names_under(&demo);
    for expected in [
        "demo-secrets.toml",
        "intake/intake.db-wal",
        "desk/desk.db-shm",
        "public/site/manifest.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing: {names:?}"
        );
    }
    let (dirs, files) = assert_private(&demo);
    assert!(dirs >= 5 && files >= 15, "{dirs} folders, {files} files");
    drop(running);
}

#[test]
fn a_loose_data_folder_from_an_older_vigil_is_tightened() {
    let w = World::new();
    fs::set_permissions(w.data().join("intake"), fs::Permissions::from_mode(0o755)).unwrap();
    let db = w.data().join("intake/intake.db");
    fs::write(&db, b"").unwrap();
    fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).unwrap();
    let receipt_key = w.data().join("intake/receipt.key");
    fs::write(&receipt_key, "00".repeat(32)).unwrap();
    fs::set_permissions(&receipt_key, fs::Permissions::from_mode(0o644)).unwrap();
    let mut running = Demo::start(&mut w.command(&["intake"]), "intake listening on");
    for path in [w.data().join("intake"), db, receipt_key] {
        let mode = fs::metadata(&path).unwrap().mode() & 0o777;
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode, want, "{}", path.display());
    }
    let _ = running.child.kill();
}

// ---------------------------------------------------------------- verify

#[tokio::test(flavor = "multi_thread")]
async fn verify_fails_on_a_symlink_or_a_pipe_in_a_release_naming_it() {
    let mut w = World::new();
    let intake = w.start_intake();
    post_json(&intake, serde_json::json!({ "text": "one" })).await;
    w.run_ok(&["desk", "pull"]);
    let site = w.dir.path().join("site");
    w.run_ok(&["publish", "--out", site.to_str().unwrap()]);
    let key = w.data().join("desk/release-key.pub");
    let key_s = key.to_str().unwrap();
    assert!(w.verify(site.to_str().unwrap(), key_s).status.success());
    // The release folder itself may be reached through a link (a web root
    // swapped by a link, for example); only what is inside must be plain.
    let via_link = w.dir.path().join("current");
    std::os::unix::fs::symlink(&site, &via_link).unwrap();
    assert!(w.verify(via_link.to_str().unwrap(), key_s).status.success());

    let fresh = |name: &str| -> PathBuf {
        let copy = w.dir.path().join(name);
        copy_dir(&site, &copy);
        copy
    };
    // A file replaced by a link to an identical copy outside the release:
    // the bytes match today, but the target can change after verification.
    let outside = w.dir.path().join("outside");
    copy_dir(&site, &outside);
    let a = fresh("file-link");
    fs::remove_file(a.join("index.html")).unwrap();
    std::os::unix::fs::symlink(outside.join("index.html"), a.join("index.html")).unwrap();
    failed_with(
        &w.verify(a.to_str().unwrap(), key_s),
        &["index.html: a symbolic link", "regular files"],
    );
    // A folder replaced by a link to an identical folder.
    let b = fresh("folder-link");
    fs::remove_dir_all(b.join("data")).unwrap();
    std::os::unix::fs::symlink(outside.join("data"), b.join("data")).unwrap();
    failed_with(
        &w.verify(b.to_str().unwrap(), key_s),
        &["  data: a symbolic link"],
    );
    // A named pipe, in place of a signed file and as an extra entry: verify
    // must not block reading it.
    let c = fresh("fifo");
    fs::remove_file(c.join("data/reports-by-day.csv")).unwrap();
    for fifo in ["data/reports-by-day.csv", "extra"] {
        succeeded(Command::new("mkfifo").arg(c.join(fifo)));
    }
    let err = failed_with(
        &w.verify(c.to_str().unwrap(), key_s),
        &[
            "data/reports-by-day.csv: a named pipe (FIFO)",
            "extra: a named pipe (FIFO)",
        ],
    );
    assert!(!err.contains("index.html"), "{err}");
    // The manifest itself as a link.
    let d = fresh("manifest-link");
    fs::remove_file(d.join("manifest.json")).unwrap();
    std::os::unix::fs::symlink(outside.join("manifest.json"), d.join("manifest.json")).unwrap();
    failed_with(
        &w.verify(d.to_str().unwrap(), key_s),
        &["manifest.json: a symbolic link"],
    );
}

// ---------------------------------------------------------------- ports, demo

#[test]
fn a_port_in_use_names_zone_and_address_and_writes_nothing() {
    let (busy, busy_addr) = trap();
    let tmp = tempfile::tempdir().unwrap();
    for (flag, zone) in [
        ("--intake-addr", "demo intake"),
        ("--desk-addr", "demo desk"),
        ("--public-addr", "demo public site"),
    ] {
        let demo = tmp.path().join(format!("demo{flag}"));
        let mut args = demo_args(&demo);
        let i = args.iter().position(|a| a == flag).unwrap();
        args[i + 1] = busy_addr.clone();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = vigil(&args).output().unwrap();
        failed_with(
            &out,
            &[
                &format!("{zone}: cannot listen on {busy_addr}"),
                "already in use",
                flag,
            ],
        );
        assert!(!demo.exists(), "{} was written", demo.display());
    }
    // An existing empty folder stays empty.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let mut args = demo_args(&empty);
    args[4] = busy_addr.clone();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(!vigil(&args).output().unwrap().status.success());
    assert_eq!(fs::read_dir(&empty).unwrap().count(), 0);

    // The zones one by one: the intake and the desk open no store.
    let w = World::new();
    failed_with(
        &w.run(&["intake", "--listen", &busy_addr]),
        &[&format!("intake: cannot listen on {busy_addr}"), "--listen"],
    );
    set_desk_config(&w, "intake_url = \"http://127.0.0.1:9\"\n");
    failed_with(
        &w.run(&["desk", "serve", "--listen", &busy_addr]),
        &[&format!("desk: cannot listen on {busy_addr}"), "--listen"],
    );
    let names = names_under(&w.data());
    assert!(
        !names
            .iter()
            .any(|n| n.contains(".db") || n.contains("receipt.key")),
        "{names:?}"
    );
    drop(busy);
}

async fn demo_report_count(demo: &Demo, data: &Path) -> usize {
    let public = super::get_text(&format!("{}/en/index.html", demo.public())).await;
    let out = succeeded(
        vigil(&["desk", "list", "--json", "--data", data.to_str().unwrap()])
            .env("VIGIL_PASSPHRASE", demo.passphrase()),
    );
    let queue: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        public.contains(&format!("Reports in total: {}", queue.len())),
        "{public}"
    );
    queue.len()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_demo_resumes_a_half_made_folder_and_never_doubles_the_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let first = Demo::spawn(&data);
    assert_eq!(demo_report_count(&first, &data).await, 6);
    drop(first);

    // Run again on a finished folder: the same six, not twelve.
    let again = Demo::spawn(&data);
    assert_eq!(demo_report_count(&again, &data).await, 6);
    drop(again);

    // A first run stopped after its keys, before its stores and reports (what
    // a failure at start-up used to leave): the next run finishes the job.
    for f in ["intake/intake.db", "desk/desk.db"] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(data.join(format!("{f}{suffix}")));
        }
    }
    fs::remove_dir_all(data.join("public")).unwrap();
    // ...and one stopped between its two keys.
    fs::remove_file(data.join("desk/release-key.age")).unwrap();
    fs::remove_file(data.join("desk/release-key.pub")).unwrap();
    let resumed = Demo::spawn(&data);
    assert_eq!(demo_report_count(&resumed, &data).await, 6);
    succeeded(vigil(&["verify", "--data", data.to_str().unwrap()]).arg(data.join("public/site")));
    drop(resumed);

    // A damaged secrets file, or a key the demo's passphrase does not open,
    // cannot be resumed: refused with the fix.
    let secrets = fs::read(data.join("demo-secrets.toml")).unwrap();
    fs::write(data.join("demo-secrets.toml"), "passphrase = ").unwrap();
    failed_with(
        &demo_command(&data).output().unwrap(),
        &[
            "demo-secrets.toml is damaged",
            "cannot be resumed",
            "remove",
            "--data",
        ],
    );
    fs::write(data.join("demo-secrets.toml"), secrets).unwrap();
    fs::write(data.join("desk/identity.age"), "age-encryption.org/v1\n").unwrap();
    failed_with(
        &demo_command(&data).output().unwrap(),
        &["identity.age", "cannot be resumed", "remove"],
    );
    // Without its secrets file, the folder is not one a demo can reuse.
    fs::remove_file(data.join("demo-secrets.toml")).unwrap();
    failed_with(
        &demo_command(&data).output().unwrap(),
        &["no earlier `vigil demo` made it", "--data"],
    );
}

#[test]
fn the_demo_never_writes_over_a_real_data_folder() {
    let w = World::new();
    let before = fs::read(w.data().join("intake/intake.toml")).unwrap();
    failed_with(
        &demo_command(&w.data()).output().unwrap(),
        &["no earlier `vigil demo` made it", "--data"],
    );
    assert_eq!(
        fs::read(w.data().join("intake/intake.toml")).unwrap(),
        before
    );
}

// ---------------------------------------------------------------- --data

#[test]
fn a_forgotten_data_folder_says_how_to_give_one() {
    let cwd = tempfile::tempdir().unwrap();
    for args in [
        &["desk", "list"][..],
        &["desk", "pull"][..],
        &["desk"][..],
        &["intake"][..],
        &["publish"][..],
    ] {
        let out = vigil(args).current_dir(cwd.path()).output().unwrap();
        let err = failed_with(
            &out,
            &["no data folder was given", "--data DIR", "VIGIL_DATA"],
        );
        assert!(!err.contains("entity not found"), "{err}");
    }
    // Nothing was created in its place.
    assert_eq!(fs::read_dir(cwd.path()).unwrap().count(), 0);
    // A demo folder next to it is suggested.
    fs::create_dir(cwd.path().join("vigil-demo")).unwrap();
    let out = vigil(&["desk", "list"])
        .current_dir(cwd.path())
        .output()
        .unwrap();
    failed_with(&out, &["--data vigil-demo"]);

    // A folder given but missing, and one without the zone's config.
    let missing = cwd.path().join("nowhere");
    let out = vigil(&["desk", "list", "--data", missing.to_str().unwrap()])
        .output()
        .unwrap();
    failed_with(&out, &["nowhere does not exist", "--data"]);
    let out = vigil(&["intake"])
        .env("VIGIL_DATA", cwd.path().join("vigil-demo"))
        .output()
        .unwrap();
    failed_with(&out, &["intake.toml: not found", "--data"]);
}

// ---------------------------------------------------------------- intake config

#[test]
fn an_unsafe_intake_config_is_refused_at_start_with_the_fix() {
    let w = World::new();
    let path = w.data().join("intake/intake.toml");
    let good = fs::read_to_string(&path).unwrap();
    let replace = |from: &str, to: &str| {
        assert!(good.contains(from), "{good}");
        fs::write(&path, good.replacen(from, to, 1)).unwrap();
    };
    let recipients_line = good
        .lines()
        .find(|l| l.starts_with("recipients"))
        .unwrap()
        .to_owned();
    let hash_line = good
        .lines()
        .find(|l| l.starts_with("desk_token_sha256"))
        .unwrap()
        .to_owned();

    replace(&recipients_line, "recipients = []");
    failed_with(
        &w.run(&["intake"]),
        &["recipients is empty", "recipient.txt"],
    );
    replace(&hash_line, "desk_token_sha256 = \"\"");
    failed_with(
        &w.run(&["intake"]),
        &["desk_token_sha256 is empty", "sha256sum"],
    );
    let empty_hash = vigil_core::token::hash_hex("");
    replace(&hash_line, &format!("desk_token_sha256 = \"{empty_hash}\""));
    failed_with(&w.run(&["intake"]), &["desk_token_sha256 is empty"]);
    for limit in ["0", "100", "1000000000"] {
        fs::write(&path, format!("{good}max_body_bytes = {limit}\n")).unwrap();
        failed_with(&w.run(&["intake"]), &["max_body_bytes", "4096..=4194304"]);
    }
    replace("127.0.0.1:0", "0.0.0.0:0");
    failed_with(
        &w.run(&["intake"]),
        &["0.0.0.0:0", "plain HTTP", "behind_tls_proxy = true"],
    );
    // The --listen override is checked the same way.
    fs::write(&path, &good).unwrap();
    failed_with(
        &w.run(&["intake", "--listen", "0.0.0.0:0"]),
        &["behind_tls_proxy = true"],
    );
    // Nothing was created by any refused start.
    assert!(!w.data().join("intake/intake.db").exists());
    assert!(!w.data().join("intake/receipt.key").exists());

    // Said explicitly, a non-loopback listen starts.
    fs::write(
        &path,
        format!(
            "{}behind_tls_proxy = true\n",
            good.replacen("127.0.0.1:0", "0.0.0.0:0", 1)
        ),
    )
    .unwrap();
    let running = Demo::start(&mut w.command(&["intake"]), "intake listening on");
    drop(running);
}
