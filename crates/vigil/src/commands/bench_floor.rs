//! `vigil bench-floor` (hidden): the least an intake on this stack could do
//! for a report, served beside vigil's intake in bench/intake/run.sh so that
//! the throughput goal can be read against what the machine allows.
//!
//! intake8: per report it does only what no intake can skip: HTTP/1.1 on a
//! kept-alive connection (vigil-web's server, the intake's, without any
//! middleware), the JSON parsed, a receipt drawn and its keyed hash taken
//! (`ReceiptKey::hash`), the body sealed exactly as vigil's intake seals
//! (`Recipients::seal`, ring's X25519 stanza), and the sealed report stored
//! durably before the answer. No rate limits, no security headers, no checks
//! beyond "text is not blank", no reply key, no exact time: everything else
//! vigil's intake does is left out, so this is a floor, not a rival. Never a
//! way to run an intake.
//!
//! Two stores (`--storage`):
//! - `minimal`: one thread gathers what has queued into one transaction
//!   (`synchronous = FULL`, WAL, SQLite's own checkpoints) into one table
//!   with one index, the receipt's hash, which any intake must look up;
//! - `intake`: the intake's own store and commit pipeline (vigil-store's
//!   writer, syncer and checkpoint threads, its schema with the report id the
//!   desk pulls by), so that the floor and the intake differ only in the work
//!   done per request.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::oneshot;
use vigil_core::{Day, Receipt, ReceiptKey, Recipients, ReportId, SealedReport};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

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
    /// Where reports go: `minimal` (one table, one index, a plain commit) or
    /// `intake` (the intake's own store and commit pipeline).
    #[arg(long, value_enum, default_value_t = Storage::Minimal)]
    pub storage: Storage,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Parse,
    Seal,
    Store,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storage {
    Minimal,
    Intake,
}

/// The most reports one transaction takes (minimal store).
const MAX_BATCH: usize = 512;
/// The file the floor stores into, in `--data`.
const MINIMAL_FILE: &str = "floor.db";
const INTAKE_FILE: &str = "intake.db";

type Job = (Vec<u8>, [u8; 32], oneshot::Sender<bool>);

enum Sink {
    Minimal(mpsc::Sender<Job>),
    /// The store is kept so that its threads live as long as the floor.
    Intake(
        vigil_store::ReportQueue,
        #[allow(dead_code)] Arc<dyn vigil_store::IntakeStore>,
    ),
}

struct Floor {
    stop_after: Step,
    recipients: Recipients,
    receipt_key: ReceiptKey,
    sink: Sink,
}

/// The intake API's fields; wiped when dropped, as the intake's are.
#[derive(serde::Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct Report {
    text: String,
    #[serde(default)]
    urgent: bool,
    lang: Option<String>,
}

pub async fn run(args: BenchFloorArgs) -> Result {
    if !args.listen.ip().is_loopback() {
        return Err("bench-floor listens on loopback addresses only".into());
    }
    let recipients = Recipients::parse(&args.recipient)?;
    std::fs::create_dir_all(&args.data)?;
    for name in [MINIMAL_FILE, INTAKE_FILE] {
        let path = args.data.join(name);
        if path.exists() {
            return Err(format!(
                "{} exists: give bench-floor an empty folder",
                path.display()
            )
            .into());
        }
    }
    let sink = match args.storage {
        Storage::Minimal => {
            let conn = rusqlite::Connection::open(args.data.join(MINIMAL_FILE))?;
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 CREATE TABLE reports (seq INTEGER PRIMARY KEY, \
                 receipt_hash BLOB NOT NULL UNIQUE, sealed BLOB NOT NULL);",
            )?;
            let (writer, jobs) = mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("floor-writer".into())
                .spawn(move || write_loop(conn, &jobs))?;
            Sink::Minimal(writer)
        }
        Storage::Intake => {
            let url = vigil_store::sqlite_url(&args.data.join(INTAKE_FILE));
            let store = vigil_store::open_intake(&url).await?;
            let queue = store
                .intake_report_queue()
                .ok_or("the intake's store has no commit pipeline here")?;
            Sink::Intake(queue, store)
        }
    };
    let floor = Arc::new(Floor {
        stop_after: args.stop_after,
        recipients,
        receipt_key: ReceiptKey::generate()?,
        sink,
    });
    let app = Router::new()
        .route("/api/v1/reports", post(submit))
        .with_state(floor);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("bench-floor listening on http://{}", listener.local_addr()?);
    vigil_web::serve(listener, app, std::future::pending()).await?;
    Ok(())
}

async fn submit(State(floor): State<Arc<Floor>>, body: Bytes) -> Response {
    // The clear body is wiped once sealed, as the intake wipes its own.
    let body = Zeroizing::new(Vec::from(body));
    let report: Report = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    if report.text.trim().is_empty() {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    }
    drop(report);
    if floor.stop_after == Step::Parse {
        return created("-");
    }
    let Ok(receipt) = Receipt::generate() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let hash = floor.receipt_key.hash(&receipt);
    let Ok(sealed) = floor.recipients.seal(&body) else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    drop(body);
    if floor.stop_after == Step::Seal {
        return created(&receipt.to_string());
    }
    let stored = match &floor.sink {
        Sink::Minimal(writer) => {
            let (done, stored) = oneshot::channel();
            if writer.send((sealed, hash, done)).is_err() {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            matches!(stored.await, Ok(true))
        }
        Sink::Intake(queue, _) => {
            let Ok(id) = ReportId::generate() else {
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            };
            let report = SealedReport {
                id,
                receipt_hash: hash,
                sealed,
                received: Day::from_date(time::OffsetDateTime::now_utc().date()),
            };
            queue.store(report).await.is_ok()
        }
    };
    if stored {
        created(&receipt.to_string())
    } else {
        StatusCode::SERVICE_UNAVAILABLE.into_response()
    }
}

fn created(receipt: &str) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "receipt": receipt })),
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
