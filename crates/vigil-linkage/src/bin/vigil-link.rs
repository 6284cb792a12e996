//! `vigil link` on its own, for tests and benchmarks before the desk binary has it.

use clap::Parser;

/// linkdet3: jemalloc, as the main `vigil` binary (whose `vigil link` is this
/// command) uses. Linkage allocates and frees buffers of hundreds of MB stage
/// by stage (block entries, found pairs, layouts); glibc hands each back to the
/// kernel and the next is zeroed page by page again (`clear_page` was 11 % of
/// the samples at 1,000,000 detentions).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
