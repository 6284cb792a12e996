//! The desk's queue and duplicate suggestions at scale (run by bench/desk/run.sh).
//!
//! `queue`: seals N reports (35,000 by default) into a fresh SQLite desk
//! database, serves the real desk router on 127.0.0.1:0, logs in over HTTP, and
//! times page views (plain, filtered, searched, paged) as a browser makes them;
//! the first view, which opens every report into the in-memory index, is timed
//! on its own.
//!
//! `persons`: stores N generated persons (100,000 by default; vigil-linkage's
//! generator) sealed with a record key, then times the duplicate suggestions
//! page over HTTP (read from the store, open, link, render).
//!
//! Usage: desk_bench queue [N] [VIEWS] | desk_bench persons [N] [RUNS]

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use vigil_core::{Channel, Day, DeskIdentity, Lang, ReportEnvelope, ReportId, SealedReport};
use vigil_desk::web::{DeskWeb, router};
use vigil_record::model::{Person, PersonIdentity};
use vigil_record::{Record, RecordKey, Vocabularies};

const USER: &str = "bench";
const PASSWORD: &str = "bench password, not for real use";

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024 / 1024);
    format!(
        "{cpu}, {cores} cores available, {mem} GiB RAM, {}",
        std::env::consts::OS
    )
}

fn stats(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    let p95 = times[((times.len() * 95).div_ceil(100))
        .saturating_sub(1)
        .min(times.len() - 1)];
    println!(
        "{name:<44} n={:<4} median {:>8.1} ms   p95 {:>8.1} ms   max {:>8.1} ms",
        times.len(),
        ms(median),
        ms(p95),
        ms(*times.last().unwrap())
    );
}

struct Server {
    base: String,
    client: reqwest::Client,
    session: String,
    /// The session's form token: every POST carries it (the queue's too).
    form_token: String,
    /// The account's second factor (deskmerge: every login needs a code).
    secret: vigil_desk::totp::Secret,
    web: Arc<DeskWeb>,
    _dir: tempfile::TempDir,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = vigil_store::open_desk(&vigil_store::sqlite_url(&dir.path().join("desk.db")))
        .await
        .unwrap();
    vigil_desk::accounts::put_account(store.as_ref(), USER, PASSWORD)
        .await
        .unwrap();
    // A verifier: sees report text and names, codes and merges.
    store.desk_set_role(USER, "verifier").await.unwrap();
    let identity = Arc::new(DeskIdentity::generate());
    let secret = vigil_desk::totp::Secret::generate().unwrap();
    store
        .desk_set_second_factor(USER, Some(&secret.seal(&identity).unwrap()), &[])
        .await
        .unwrap();
    let web = DeskWeb::new(store, identity, false).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(vigil_web::serve(
        listener,
        router(web.clone()),
        std::future::pending(),
    ));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Server {
        base,
        client,
        session: String::new(),
        form_token: String::new(),
        secret,
        web,
        _dir: dir,
    }
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

impl Server {
    async fn login(&mut self) {
        let r = self
            .client
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let cookie = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let html = r.text().await.unwrap();
        let token = html
            .split("name=\"form_token\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let r = self
            .client
            .post(format!("{}/login", self.base))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("username", USER),
                ("password", PASSWORD),
                ("form_token", &token),
            ]))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        // The second step: a TOTP code (a later login uses the next step's code,
        // since each code is good once).
        let half = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        let html = self
            .client
            .get(format!("{}{location}", self.base))
            .header("cookie", &half)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = html
            .split("name=\"form_token\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut r = None;
        for step in 0..3 {
            let answer = self
                .client
                .post(format!(
                    "{}{}",
                    self.base,
                    location.split('?').next().unwrap()
                ))
                .header("cookie", &half)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form(&[
                    ("code", &self.secret.code_at(now + 30 * step)),
                    ("form_token", &token),
                ]))
                .send()
                .await
                .unwrap();
            if answer.status() == 303 {
                r = Some(answer);
                break;
            }
        }
        let r = r.expect("the second factor was refused");
        self.session = r.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let (_, html) = self.get("/sessions").await;
        self.form_token = html
            .split("name=\"form_token\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_owned();
    }

    async fn get(&self, path: &str) -> (Duration, String) {
        let t = Instant::now();
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.session)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        let body = r.text().await.unwrap();
        (t.elapsed(), body)
    }

    async fn post(&self, path: &str, pairs: &[(&str, &str)]) -> (Duration, String) {
        let t = Instant::now();
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(
                &[pairs, &[("form_token", self.form_token.as_str())]].concat(),
            ))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        let body = r.text().await.unwrap();
        (t.elapsed(), body)
    }
}

const WORDS: &[&str] = &[
    "задержали",
    "у",
    "метро",
    "пикет",
    "полиция",
    "ОВД",
    "сына",
    "дочь",
    "штраф",
    "суд",
    "адвокат",
    "протокол",
    "20.3.3",
    "плакат",
    "акция",
    "вечером",
    "утром",
    "на",
    "площади",
    "увезли",
    "в",
    "отдел",
    "нужна",
    "помощь",
    "телефон",
    "забрали",
];

async fn queue(n: usize, views: usize) {
    let mut s = start().await;
    let recipients = s.web.identity.recipients();
    let t = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    let mut seed: u64 = 7;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    for i in 0..n {
        let words: Vec<&str> = (0..(20 + next() % 80))
            .map(|_| WORDS[next() % WORDS.len()])
            .collect();
        let mut text = words.join(" ");
        if i % 1000 == 500 {
            text.push_str(" редкоеслово");
        }
        let day: Day = format!("2026-02-{:02}", 1 + i % 28).parse().unwrap();
        let channel = [Channel::WebForm, Channel::Api, Channel::Bot, Channel::Phone][next() % 4];
        let env =
            ReportEnvelope::new(&text, next() % 20 == 0, None, Lang::Ru, channel, day).unwrap();
        batch.push(SealedReport {
            id: ReportId::generate().unwrap(),
            receipt_hash: [0; 32],
            sealed: recipients.seal_envelope(&env).unwrap(),
            received: day,
        });
        if batch.len() == 1000 {
            s.web.store.desk_store_pulled(&batch).await.unwrap();
            batch.clear();
        }
    }
    s.web.store.desk_store_pulled(&batch).await.unwrap();
    println!(
        "sealed and stored {n} reports in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    s.login().await;
    let (first, html) = s.get("/").await;
    assert!(
        html.contains(&format!("/ {n} ")),
        "the queue holds every report"
    );
    println!(
        "first view (opens every report into the index): {:.2} s",
        first.as_secs_f64()
    );
    let mut plain = Vec::new();
    let mut filtered = Vec::new();
    let mut searched = Vec::new();
    let mut paged = Vec::new();
    for i in 0..views {
        plain.push(s.get("/").await.0);
        let day = format!("2026-02-{:02}", 1 + i % 28);
        filtered.push(
            s.get(&format!(
                "/?status=uncoded&channel=phone&day={day}&urgent=on"
            ))
            .await
            .0,
        );
        let (d, html) = s.post("/", &[("q", "редкоеслово")]).await;
        // Every thousandth report, from the 500th, has the rare word.
        assert!(n <= 500 || html.contains(&format!("Найдено: {} /", (n + 499) / 1000)));
        searched.push(d);
        let page = (i * 37 % (n / 50).max(1)).to_string();
        paged.push(
            s.post("/", &[("q", "задержали отдел"), ("page", &page)])
                .await
                .0,
        );
    }
    println!("machine: {}", machine());
    stats("queue, first page, no filter", plain);
    stats(
        "queue, four filters (status, channel, day, urgent)",
        filtered,
    );
    stats("queue, search (one rare word)", searched);
    stats("queue, search (two words) + a deep page", paged);
}

async fn persons(n: usize, runs: usize) {
    let s = {
        let mut s = start().await;
        s.login().await;
        s
    };
    let key = RecordKey::generate().unwrap();
    let vocab = Vocabularies::built_in().unwrap();
    let regions: Vec<String> = vocab
        .get("regions")
        .unwrap()
        .entries
        .iter()
        .map(|e| e.code.clone())
        .collect();
    let t = Instant::now();
    let generated = vigil_linkage::generate::generate(n, 11);
    let record = Record {
        store: s.web.store.as_ref(),
        key: &key,
    };
    let today: Day = "2026-03-01".parse().unwrap();
    for (c, chunk) in generated.chunks(5000).enumerate() {
        let persons: Vec<Person> = chunk
            .iter()
            .enumerate()
            .map(|(i, r)| Person {
                id: format!("p-{c:03}-{i:05}"),
                identity: PersonIdentity {
                    name: format!("{} {} {}", r.given_name, r.patronymic, r.surname),
                    birth_year: r.birth_date.get(..4).and_then(|y| y.parse().ok()),
                    ..PersonIdentity::default()
                },
                gender: None,
                region: Some(regions[(r.city.len() * 7 + i) % 8].clone()),
                roles: vec![],
                consent: "none".into(),
                origin: None,
            })
            .collect();
        record
            .add(&persons, &[], &[], &[], "bench", today)
            .await
            .unwrap();
    }
    println!(
        "generated and stored {n} persons (sealed) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    s.web.coding.set_record(key, vocab);
    let access = s.web.coding.record().unwrap();
    let record = Record {
        store: s.web.store.as_ref(),
        key: &access.key,
    };
    println!("machine: {}", machine());
    // deskfast: the first view after start opens and links everyone; later
    // views reuse that while nothing changed, drop the pairs of a merged
    // person, and link again (opening only what is new) after an edit.
    let view = |what: &'static str| {
        let s = &s;
        async move {
            let (d, html) = s.get("/persons/duplicates").await;
            assert!(html.contains("Possible duplicates") || html.contains("Возможные дубли"));
            println!("  {what}: {:.0} ms", d.as_secs_f64() * 1000.0);
            (d, html)
        }
    };
    let (first, html) = view("first view after start (reads, opens, links all)").await;
    assert!(html.contains(&format!("{n})")), "every person compared");
    let mut unchanged = Vec::new();
    for _ in 0..runs {
        unchanged.push(view("a view, nothing changed").await.0);
    }
    let mut merged = Vec::new();
    let mut edited = Vec::new();
    for k in 0..runs {
        // A merge of a suggested pair, as the page's button makes it.
        let (found, _) = vigil_desk::web::coding::duplicates(&s.web).await.unwrap();
        let pair = &found.pairs[k];
        let merge = vigil_store::coding::MergeRow {
            id: format!("m-bench-{k}"),
            kept_id: found.persons[pair.a].id.clone(),
            merged_id: found.persons[pair.b].id.clone(),
            day: today,
            editor: "bench".into(),
            undone: None,
        };
        s.web.store.record_merge(&merge).await.unwrap();
        drop(found);
        merged.push(view("a view after a merge").await.0);
        // A person coded from a report: new, so everyone is linked again.
        let person = Person {
            id: format!("p-new-{k}"),
            identity: PersonIdentity {
                name: format!("Новикова Анна Сергеевна {k}"),
                birth_year: Some(1990),
                ..PersonIdentity::default()
            },
            gender: None,
            region: Some(regions[k % 8].clone()),
            roles: vec![],
            consent: "none".into(),
            origin: None,
        };
        record
            .add(&[person], &[], &[], &[], "bench", today)
            .await
            .unwrap();
        edited.push(view("a view after a person was added").await.0);
    }
    let t = Instant::now();
    let (found, how) = vigil_desk::web::coding::duplicates(&s.web).await.unwrap();
    println!(
        "{} persons, {} suggested pairs (in-process call, {how:?}: {:.3} s)",
        found.persons.len(),
        found.pairs.len(),
        t.elapsed().as_secs_f64()
    );
    // The kept suggestions against the same persons linked from scratch.
    let rows = s.web.store.record_persons().await.unwrap();
    let region = |r: &str| s.web.coding.label("regions", r, vigil_core::Lang::Ru);
    let t = Instant::now();
    let (scratch, _) =
        vigil_desk::duplicates::Suggestions::update(None, &mut None, &rows, &access.key, &region)
            .unwrap();
    let pairs =
        |x: &vigil_desk::duplicates::Suggestions| -> std::collections::HashSet<(String, String)> {
            x.pairs
                .iter()
                .map(|p| {
                    let (a, b) = (&x.persons[p.a].id, &x.persons[p.b].id);
                    (a.min(b).clone(), a.max(b).clone())
                })
                .collect()
        };
    let (kept, fresh) = (pairs(&found), pairs(&scratch));
    println!(
        "from scratch: {} pairs in {:.2} s (in process); kept: {}; in both: {}",
        fresh.len(),
        t.elapsed().as_secs_f64(),
        kept.len(),
        kept.intersection(&fresh).count()
    );
    stats("duplicates page, first view after start", vec![first]);
    stats("duplicates page, nothing changed", unchanged);
    stats("duplicates page, after a merge", merged);
    stats("duplicates page, after a person was added", edited);
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map_or("queue", String::as_str);
    let n = args.get(2).and_then(|s| s.parse().ok());
    let runs = args.get(3).and_then(|s| s.parse().ok());
    match what {
        "queue" => queue(n.unwrap_or(35_000), runs.unwrap_or(30)).await,
        "persons" => persons(n.unwrap_or(100_000), runs.unwrap_or(3)).await,
        other => panic!("unknown benchmark {other:?}: use queue or persons"),
    }
}
