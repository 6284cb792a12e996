//! `vigil bench-load` (hidden): a small HTTP load generator for
//! bench/intake/run.sh where oha is not installed. Each of N clients keeps
//! one connection and sends the same POST back to back until the time is up;
//! the output is the part of oha's JSON the script reads.
//!
//! It shares the machine with the intake it measures, so it is made cheap
//! (intakefast): one thread runs every client (no wake-ups across threads),
//! the request is built once, and the answer is read with a minimal
//! HTTP/1.1 parser (status, Content-Length or chunked, Connection: close)
//! instead of a full client.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<&'static str, u64>,
}

impl Tally {
    fn absorb(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }
}

pub async fn run(args: BenchLoadArgs) -> Result {
    let url = reqwest::Url::parse(&args.url)?;
    let host = match url.host_str() {
        Some(h @ ("127.0.0.1" | "localhost" | "[::1]")) => h.to_owned(),
        _ => {
            return Err(
                "bench-load sends only to loopback addresses (127.0.0.1, localhost, [::1])".into(),
            );
        }
    };
    if url.scheme() != "http" {
        return Err("bench-load speaks plain http:// only (loopback)".into());
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let address = match host.as_str() {
        "[::1]" => format!("[::1]:{port}"),
        _ => format!("127.0.0.1:{port}"),
    };
    let body = bytes_of(&args.body)?;
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {}\r\nContent-Length: {}\r\nAccept: */*\r\n\r\n",
        args.content_type,
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let clients = args.clients.max(1);
    let seconds = args.seconds.max(1);
    // Every client on one thread of its own runtime: the generator's cost is
    // then its syscalls and little else, and it takes at most one core.
    let (all, elapsed) = std::thread::spawn(move || -> Result<(Tally, f64)> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let request: std::sync::Arc<[u8]> = request.into();
            let start = Instant::now();
            let deadline = start + Duration::from_secs(seconds);
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..clients {
                tasks.spawn(client(address.clone(), request.clone(), deadline));
            }
            let mut all = Tally::default();
            while let Some(t) = tasks.join_next().await {
                all.absorb(t?);
            }
            Ok((all, start.elapsed().as_secs_f64()))
        })
    })
    .join()
    .map_err(|_| "the load generator's thread failed")??;
    let mut all = all;
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

/// One client: one keep-alive connection (a new one when the server closes
/// it), POSTs back to back until the deadline.
async fn client(address: String, request: std::sync::Arc<[u8]>, deadline: Instant) -> Tally {
    let mut t = Tally::default();
    let mut buf = vec![0u8; 16 * 1024];
    let mut stream: Option<TcpStream> = None;
    while Instant::now() < deadline {
        let sent = Instant::now();
        let s = match stream.take() {
            Some(s) => s,
            None => match TcpStream::connect(&address).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    s
                }
                Err(_) => {
                    *t.errors.entry("connect").or_default() += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        match exchange(s, &request, &mut buf).await {
            Ok((status, s)) => {
                let us = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                t.latencies_us.push(us);
                *t.statuses.entry(status).or_default() += 1;
                stream = s;
            }
            Err(kind) => {
                *t.errors.entry(kind).or_default() += 1;
            }
        }
    }
    t
}

/// Sends one request and reads its answer; the stream comes back unless the
/// server said it closes the connection.
async fn exchange(
    mut s: TcpStream,
    request: &[u8],
    buf: &mut [u8],
) -> std::result::Result<(u16, Option<TcpStream>), &'static str> {
    s.write_all(request).await.map_err(|_| "other")?;
    let mut filled = 0;
    let head_end = loop {
        if filled == buf.len() {
            return Err("other");
        }
        let n = s.read(&mut buf[filled..]).await.map_err(|_| "other")?;
        if n == 0 {
            return Err("other");
        }
        filled += n;
        if let Some(i) = find(&buf[..filled], b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = std::str::from_utf8(&buf[..head_end]).map_err(|_| "other")?;
    let status: u16 = head
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or("other")?;
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        }
    }
    // The body is read and dropped: the benchmark needs only the status.
    let mut have = filled - head_end;
    if let Some(len) = length {
        while have < len {
            let n = s.read(buf).await.map_err(|_| "other")?;
            if n == 0 {
                return Err("other");
            }
            have += n;
        }
    } else if chunked {
        // Enough for the short answers the intake sends: read until the
        // last chunk's empty line.
        let mut tail = buf[head_end..filled].to_vec();
        while find(&tail, b"0\r\n\r\n").is_none() {
            let n = s.read(buf).await.map_err(|_| "other")?;
            if n == 0 {
                return Err("other");
            }
            tail.extend_from_slice(&buf[..n]);
        }
    } else {
        close = true;
    }
    Ok((status, (!close).then_some(s)))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn bytes_of(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()).into())
}
