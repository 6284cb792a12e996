//! `vigil`: one binary for the three zones. This file only parses the command
//! line and dispatches; each command lives in `commands/`.

mod cli;
mod commands;
mod config;
mod logging;
mod secrets;

use std::process::ExitCode;

use clap::Parser;

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
