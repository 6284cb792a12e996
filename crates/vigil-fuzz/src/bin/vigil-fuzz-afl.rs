//! The AFL++ entry point: `vigil-fuzz-afl TARGET`, built by `cargo afl build`
//! (scripts/fuzz does it) and run under `afl-fuzz` in persistent mode. Run
//! outside AFL, it reads one input from standard input, which replays a crash.
//!
//! A panic in a target is a crash for AFL; a violation (a 5xx, a lost report,
//! ...) is made one too, by aborting after printing it.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(name) = std::env::args().nth(1) else {
        eprintln!(
            "usage: vigil-fuzz-afl TARGET (one of: {})",
            vigil_fuzz::TARGETS.join(", ")
        );
        return ExitCode::FAILURE;
    };
    let target = match vigil_fuzz::target(&name) {
        Ok(t) => AssertUnwindSafe(RefCell::new(t)),
        Err(e) => {
            eprintln!("vigil-fuzz-afl: {e}");
            return ExitCode::FAILURE;
        }
    };
    afl::fuzz!(|data: &[u8]| {
        if let Err(violation) = target.borrow_mut().run(data) {
            eprintln!("vigil-fuzz-afl: {name}: {violation}");
            std::process::abort();
        }
    });
    ExitCode::SUCCESS
}
