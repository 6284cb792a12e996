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
    // Fail early on a wrong name, before AFL starts its fork server.
    if !vigil_fuzz::TARGETS.contains(&name.as_str()) {
        eprintln!(
            "vigil-fuzz-afl: no target {name:?}; the targets are {}",
            vigil_fuzz::TARGETS.join(", ")
        );
        return ExitCode::FAILURE;
    }
    // The target itself is built in the forked child, on its first input: a
    // fork keeps only the calling thread, so a store opened before the fork
    // would wait for ever on SQLite worker threads that are gone.
    let target = AssertUnwindSafe(RefCell::new(None::<Box<dyn vigil_fuzz::Target>>));
    afl::fuzz!(|data: &[u8]| {
        let mut slot = target.borrow_mut();
        if slot.is_none() {
            match vigil_fuzz::target(&name) {
                Ok(t) => *slot = Some(t),
                Err(e) => {
                    eprintln!("vigil-fuzz-afl: {e}");
                    std::process::abort();
                }
            }
        }
        if let Some(t) = slot.as_mut()
            && let Err(violation) = t.run(data)
        {
            eprintln!("vigil-fuzz-afl: {name}: {violation}");
            std::process::abort();
        }
    });
    ExitCode::SUCCESS
}
