//! One module per command.

pub mod audit;
pub mod bench_floor;
pub mod bench_load;
pub mod bench_seal;
mod demo;
mod desk;
pub mod import;
mod intake;
mod keygen;
mod release;
pub mod stats;
mod urgent;

use std::net::SocketAddr;

use tokio::net::TcpListener;

use crate::cli::{Cli, Command};

/// Errors reach the person as one clear line; the types below carry it.
pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub async fn run(cli: Cli) -> Result {
    match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Keygen { data, kdf } => keygen::run(&data.data, kdf.kdf_work_factor),
        Command::Intake(args) => intake::run(args).await,
        Command::Desk(args) => desk::run(args).await,
        Command::Publish { data, out } => release::publish(&data.data, out).await,
        Command::Verify {
            dir,
            key,
            data,
            previous,
        } => {
            let own_key = data.map(|d| crate::config::Layout::new(&d).release_public_key());
            let key = key.or_else(|| own_key.map(|p| p.display().to_string()));
            release::verify(&dir, key.as_deref(), previous.as_deref())
        }
        Command::Link(args) => Ok(vigil_linkage::cli::run(&args)?),
        Command::Import(args) => import::run(args).await,
        Command::Stats(args) => stats::run(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::BenchSeal(args) => bench_seal::run(&args),
        Command::BenchLoad(args) => bench_load::run(args).await,
        Command::BenchFloor(args) => bench_floor::run(args).await,
    }
}

/// Binds a zone's listening address, with an error that names the zone, the
/// address and the setting that changes it.
pub async fn bind(zone: &str, addr: SocketAddr, setting: &str) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "the address is already in use (another vigil, or another program, listens \
                 there): stop it, or choose another address with {setting}"
            ),
            std::io::ErrorKind::PermissionDenied => format!(
                "permission denied (ports below 1024 need privileges): choose a port from \
                 1024 up with {setting}"
            ),
            std::io::ErrorKind::AddrNotAvailable => {
                format!("this machine has no such address: choose one of its own with {setting}")
            }
            kind => format!("{kind}: check {setting}"),
        };
        format!("{zone}: cannot listen on {addr}: {why}").into()
    })
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
