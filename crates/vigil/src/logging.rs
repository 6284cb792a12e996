//! Where log lines go and what they may say.
//!
//! A process that runs the intake logs as if its log would be seized with the
//! server: each line is stamped with the day only (a time of day would date a
//! report to within the desk's pull interval), and libraries (sqlx, hyper, …)
//! may only pass warnings and errors whatever `VIGIL_LOG` asks, so that no SQL
//! statement or connection event is ever printed. The intake's own code logs
//! no line per report or acknowledgement; the e2e test `intake_privacy` runs it
//! at `VIGIL_LOG=trace` and checks.

use std::fmt;

use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt as layer_fmt};

/// Stamps a line with the day (UTC), never the time of day.
struct DayOnly;

impl FormatTime for DayOnly {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        write!(w, "{}", vigil_core::Day::today())
    }
}

/// Starts logging to stderr. `runs_intake` is true for every command whose
/// process serves the intake (`vigil intake`, `vigil demo`).
pub fn init(runs_intake: bool) {
    let asked = EnvFilter::try_from_env("VIGIL_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let lines = layer_fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    if runs_intake {
        let libraries_warn_only =
            filter_fn(|meta| meta.target().starts_with("vigil") || *meta.level() <= Level::WARN);
        let layer = lines
            .with_timer(DayOnly)
            .with_filter(asked.and(libraries_warn_only));
        let _ = tracing_subscriber::registry().with(layer).try_init();
    } else {
        let _ = tracing_subscriber::registry()
            .with(lines.with_filter(asked))
            .try_init();
    }
}

/// Replaces Rust's default panic message, which prints the panic's payload:
/// a payload can quote whatever the code held (a receipt, a line of a report,
/// a name from an import). vigil prints and logs only where it happened.
pub fn withhold_panic_messages() {
    std::panic::set_hook(Box::new(|info| {
        let line = describe_panic(info.location());
        eprintln!("{line}");
        tracing::error!("{line}");
    }));
}

/// What a panic may say: the source location, never the payload.
fn describe_panic(location: Option<&std::panic::Location<'_>>) -> String {
    let place = location.map_or_else(
        || "an unknown place".to_owned(),
        |l| format!("{}:{}", l.file(), l.line()),
    );
    format!(
        "vigil: internal error at {place} (the message is withheld: it may quote report content; \
         please report this location)"
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::describe_panic;

    #[test]
    fn a_panic_is_described_by_its_place_not_its_payload() {
        let seen = Arc::new(Mutex::new(None::<String>));
        let store = Arc::clone(&seen);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut slot) = store.lock() {
                *slot = Some(describe_panic(info.location()));
            }
        }));
        let result = std::panic::catch_unwind(|| {
            panic!("receipt ABCD-EFGH and Иванов Иван");
        });
        std::panic::set_hook(previous);
        assert!(result.is_err());
        let line = seen.lock().unwrap().clone().expect("the hook ran");
        assert!(line.contains("logging.rs:"), "{line}");
        assert!(!line.contains("ABCD") && !line.contains("Иванов"), "{line}");
    }
}
