//! `vigil link` on its own, for tests and benchmarks before the desk binary has it.

use clap::Parser;

#[derive(Parser)]
#[command(name = "vigil-link", about = "Find the same person across reports")]
struct Cli {
    #[command(flatten)]
    args: vigil_linkage::cli::LinkArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match vigil_linkage::cli::run(&cli.args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
