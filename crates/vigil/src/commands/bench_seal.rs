//! `vigil bench-seal` (hidden): the bare sealing rate of this machine, one
//! core, for reports the size the intake benchmark sends. bench/intake/run.sh
//! sets the intake's throughput beside it.

use std::time::{Duration, Instant};

use vigil_core::DeskIdentity;

use super::Result;

#[derive(clap::Args, Debug)]
pub struct BenchSealArgs {
    /// How long to seal, in seconds.
    #[arg(long, default_value_t = 3)]
    pub seconds: u64,
    /// The size of each report's text, in bytes (Cyrillic, two bytes a letter).
    #[arg(long, default_value_t = 1024)]
    pub bytes: usize,
}

pub fn run(args: &BenchSealArgs) -> Result {
    let recipients = DeskIdentity::generate().recipients();
    let text: String = "Задержан у метро, везут в ОВД. "
        .chars()
        .cycle()
        .scan(0, |len, c| {
            *len += c.len_utf8();
            (*len <= args.bytes).then_some(c)
        })
        .collect();
    // Shaped like the envelope the intake seals: a small JSON object.
    let envelope = serde_json::to_vec(&serde_json::json!({
        "v": 1, "text": text, "urgent": false, "contact": null,
        "lang": "ru", "channel": "api", "received": "2026-12-07",
    }))?;
    let budget = Duration::from_secs(args.seconds.max(1));
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    let mut sealed = 0u64;
    let mut bytes_out = 0usize;
    while start.elapsed() < budget {
        bytes_out += recipients.seal(&envelope)?.len();
        sealed += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu_us_each = match (cpu_start, thread_cpu_ns()) {
        (Some(a), Some(b)) if sealed > 0 => Some((b - a) as f64 / 1e3 / sealed as f64),
        _ => None,
    };
    let rate = sealed as f64 / secs;
    // intakefast: the other per-report key work the intake does besides
    // sealing (a receipt and the reply key derived from it, whose public
    // half goes into the sealed report), timed the same way for one second.
    let reply_start = thread_cpu_ns();
    let reply_wall = Instant::now();
    let mut replies = 0u64;
    while reply_wall.elapsed() < Duration::from_secs(1) {
        let receipt = vigil_core::Receipt::generate()?;
        let key = vigil_core::followup::ReplyKey::derive(&receipt)?;
        std::hint::black_box(key.recipient());
        replies += 1;
    }
    let reply_cpu_us = match (reply_start, thread_cpu_ns()) {
        (Some(a), Some(b)) if replies > 0 => Some((b - a) as f64 / 1e3 / replies as f64),
        _ => None,
    };
    println!(
        "{}",
        serde_json::json!({
            "sealed": sealed,
            "seconds": secs,
            "per_second_one_core": rate.round(),
            "microseconds_each": (1e6 / rate * 10.0).round() / 10.0,
            // CPU time, which a busy machine does not inflate the way it
            // inflates wall time; the one-core rate without other load.
            "cpu_microseconds_each": cpu_us_each.map(|us| (us * 10.0).round() / 10.0),
            "per_second_one_core_cpu": cpu_us_each.map(|us| (1e6 / us).round()),
            "envelope_bytes": envelope.len(),
            "sealed_bytes_each": bytes_out / usize::try_from(sealed.max(1)).unwrap_or(1),
            "reply_key_cpu_microseconds_each": reply_cpu_us.map(|us| (us * 10.0).round() / 10.0),
        })
    );
    Ok(())
}

/// CPU time this thread has run, in nanoseconds (Linux).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
