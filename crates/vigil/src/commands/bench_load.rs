//! `vigil bench-load` (hidden): a small HTTP load generator for
//! bench/intake/run.sh where oha is not installed. Each of N clients keeps
//! one connection and sends the same POST back to back until the time is up;
//! the output is the part of oha's JSON the script reads.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::Result;

#[derive(clap::Args, Debug)]
pub struct BenchLoadArgs {
    /// The URL to POST to (loopback only).
    #[arg(long)]
    pub url: String,
    /// The file whose bytes are the body of every request.
    #[arg(long)]
    pub body: std::path::PathBuf,
    #[arg(long, default_value = "application/json")]
    pub content_type: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
}

pub async fn run(args: BenchLoadArgs) -> Result {
    let url = reqwest::Url::parse(&args.url)?;
    if !matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        return Err(
            "bench-load sends only to loopback addresses (127.0.0.1, localhost, [::1])".into(),
        );
    }
    let body = bytes_of(&args.body)?;
    let deadline = Instant::now() + Duration::from_secs(args.seconds.max(1));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients.max(1) {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(1)
            .build()?;
        let (url, body, ctype) = (url.clone(), body.clone(), args.content_type.clone());
        tasks.push(tokio::spawn(async move {
            let mut t = Tally {
                latencies_us: Vec::new(),
                statuses: BTreeMap::new(),
                errors: BTreeMap::new(),
            };
            while Instant::now() < deadline {
                let sent = Instant::now();
                let answer = client
                    .post(url.clone())
                    .header(reqwest::header::CONTENT_TYPE, &ctype)
                    .body(body.clone())
                    .send()
                    .await;
                match answer {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let _ = r.bytes().await;
                        let us = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                        t.latencies_us.push(us);
                        *t.statuses.entry(status).or_default() += 1;
                    }
                    Err(e) => {
                        let kind = if e.is_connect() {
                            "connect"
                        } else if e.is_timeout() {
                            "timeout"
                        } else {
                            "other"
                        };
                        *t.errors.entry(kind.to_owned()).or_default() += 1;
                    }
                }
            }
            t
        }));
    }
    let mut all = Tally {
        latencies_us: Vec::new(),
        statuses: BTreeMap::new(),
        errors: BTreeMap::new(),
    };
    for task in tasks {
        let t = task.await?;
        all.latencies_us.extend(t.latencies_us);
        for (k, v) in t.statuses {
            *all.statuses.entry(k).or_default() += v;
        }
        for (k, v) in t.errors {
            *all.errors.entry(k).or_default() += v;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let pct = |p: f64| {
        let n = all.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let i = ((p * n as f64).ceil() as usize).clamp(1, n) - 1;
        f64::from(all.latencies_us[i]) / 1e6
    };
    let statuses: BTreeMap<String, u64> = all
        .statuses
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "tool": "vigil bench-load",
            "summary": { "total": elapsed, "requests": all.latencies_us.len() },
            "latencyPercentiles": { "p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99) },
            "statusCodeDistribution": statuses,
            "errorDistribution": all.errors,
        })
    );
    Ok(())
}

fn bytes_of(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()).into())
}
