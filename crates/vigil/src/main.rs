//! `vigil`: one binary for the three zones. This file only parses the command
//! line and dispatches; each command lives in `commands/`.

mod cli;
mod commands;
mod config;
mod logging;
mod secrets;

use std::process::ExitCode;

use clap::Parser;

/// importread: jemalloc instead of glibc's malloc. An import makes and frees
/// some twenty small strings per row on two threads; glibc's free lists
/// fragment over a large import (its coalescing and consolidation were about
/// a third of the reader's samples at 1,000,000 rows). Paired 1M imports:
/// reader 11.4 -> 6.8 CPU s, writer 13.3 -> 11.0, peak 181 -> 156 MiB
/// (docs/benchmarks.md, run 9).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    // Whatever vigil creates (keys, configs, databases, their -wal and -shm,
    // releases) is its owner's alone, whatever umask the shell had: set before
    // any thread or file exists. Zone code also sets explicit modes.
    rustix::process::umask(rustix::fs::Mode::RWXG | rustix::fs::Mode::RWXO);
    let cli = cli::Cli::parse();
    let runs_intake = matches!(cli.command, cli::Command::Intake(_) | cli::Command::Demo(_));
    logging::init(runs_intake);
    logging::withhold_panic_messages();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
