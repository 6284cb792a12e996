//! `vigil bench-floor` (hidden): the least an intake on this stack could do
//! for a report, served beside vigil's intake in bench/intake/run.sh so that
//! the throughput goal can be read against what the machine allows.
//!
//! intake8: per report it does only what no intake can skip: HTTP/1.1 on a
//! kept-alive connection (axum, no middleware), the JSON parsed, a receipt
//! drawn and its keyed hash taken, the body sealed exactly as vigil's intake
//! seals (`Recipients::seal`, ring's X25519 stanza), and the sealed report and
//! the receipt's hash committed durably to SQLite before the answer: one
//! thread gathers what has queued into one transaction (`synchronous = FULL`,
//! WAL, SQLite's own checkpoints), one table, one index (the receipt's hash,
//! which any intake must look up). No report id, no rate limits, no security
//! headers, no validation beyond "text is not blank", no reply key, no exact
//! time: everything vigil's intake does besides is left out, so this is a
//! floor, not a rival. Never a way to run an intake.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::sync::oneshot;
use vigil_core::Recipients;

use super::Result;

#[derive(clap::Args, Debug)]
pub struct BenchFloorArgs {
    /// Where to listen (loopback only).
    #[arg(long)]
    pub listen: SocketAddr,
    /// A folder for the floor's SQLite file (created; must not hold one).
    #[arg(long)]
    pub data: PathBuf,
    /// The age recipient (`age1…`) to seal to.
    #[arg(long)]
    pub recipient: String,
    /// Answer after this step, to see what each costs: `parse` (HTTP and
    /// the JSON only), `seal` (and the receipt and sealing), `store` (all).
    #[arg(long, value_enum, default_value_t = Step::Store)]
    pub stop_after: Step,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Parse,
    Seal,
    Store,
}

/// The most reports one transaction takes.
const MAX_BATCH: usize = 512;

type Job = (Vec<u8>, [u8; 32], oneshot::Sender<bool>);

struct Floor {
    stop_after: Step,
    recipients: Recipients,
    receipt_key: [u8; 32],
    writer: mpsc::Sender<Job>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    text: String,
    #[serde(default)]
    #[allow(dead_code)]
    urgent: bool,
    #[allow(dead_code)]
    lang: Option<String>,
}

pub async fn run(args: BenchFloorArgs) -> Result {
    if !args.listen.ip().is_loopback() {
        return Err("bench-floor listens on loopback addresses only".into());
    }
    let recipients = Recipients::parse(&args.recipient)?;
    std::fs::create_dir_all(&args.data)?;
    let path = args.data.join("floor.db");
    if path.exists() {
        return Err(format!(
            "{} exists: give bench-floor an empty folder",
            path.display()
        )
        .into());
    }
    let conn = rusqlite::Connection::open(&path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         CREATE TABLE reports (seq INTEGER PRIMARY KEY, receipt_hash BLOB NOT NULL UNIQUE, \
         sealed BLOB NOT NULL);",
    )?;
    let (writer, jobs) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("floor-writer".into())
        .spawn(move || write_loop(conn, &jobs))?;
    let floor = Arc::new(Floor {
        stop_after: args.stop_after,
        recipients,
        receipt_key: vigil_core::random::bytes()?,
        writer,
    });
    let app = Router::new()
        .route("/api/v1/reports", post(submit))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("bench-floor listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

async fn submit(State(floor): State<Arc<Floor>>, body: Bytes) -> Response {
    let report: Report = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    if report.text.trim().is_empty() {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    if floor.stop_after == Step::Parse {
        return created(&[0; 16]);
    }
    let Ok(receipt) = vigil_core::random::bytes::<16>() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&floor.receipt_key) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    mac.update(&receipt);
    let hash: [u8; 32] = mac.finalize().into_bytes().into();
    let Ok(sealed) = floor.recipients.seal(&body) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    if floor.stop_after == Step::Seal {
        drop(sealed);
        return created(&receipt);
    }
    let (done, stored) = oneshot::channel();
    if floor.writer.send((sealed, hash, done)).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    match stored.await {
        Ok(true) => created(&receipt),
        _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn created(receipt: &[u8; 16]) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "receipt": hex::encode(receipt) })),
    )
        .into_response()
}

/// Commits whatever has queued in one transaction, then answers each.
fn write_loop(mut conn: rusqlite::Connection, jobs: &mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = jobs.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let ok = commit(&mut conn, &batch).is_ok();
        for (_, _, done) in batch.drain(..) {
            let _ = done.send(ok);
        }
    }
}

fn commit(conn: &mut rusqlite::Connection, batch: &[Job]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    {
        let mut insert =
            tx.prepare_cached("INSERT INTO reports (receipt_hash, sealed) VALUES (?1, ?2)")?;
        for (sealed, hash, _) in batch {
            insert.execute(rusqlite::params![&hash[..], &sealed[..]])?;
        }
    }
    tx.commit()
}
