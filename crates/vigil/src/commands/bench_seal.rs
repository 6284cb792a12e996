//! `vigil bench-seal` (hidden): the bare sealing rate of this machine, one
//! core, for reports the size the intake benchmark sends. bench/intake/run.sh
//! sets the intake's throughput beside it.
//!
//! intake4: two rates. The age crate's own X25519 sealing (`age::x25519`,
//! the "bare age sealing rate") stays the goal's baseline, in the
//! fields `per_second_one_core*` and `cpu_microseconds_each`; the intake's
//! own sealing (the same age file, its X25519 stanzas made with ring) is in
//! the `intake_*` fields, never in place of the baseline.

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
    // Alternated in slices of a tenth of the budget, so that both see the
    // same load from the rest of the machine.
    let mut age_crate = Timed::default();
    let mut ours = Timed::default();
    let mut bytes_out = 0usize;
    for _ in 0..10 {
        bytes_out += age_crate.run(budget / 10, || {
            recipients.seal_with_age_crate(&envelope).map(|s| s.len())
        })?;
        ours.run(budget / 10, || recipients.seal(&envelope).map(|s| s.len()))?;
    }
    let sealed = age_crate.count;
    let secs = age_crate.wall.as_secs_f64();
    let cpu_us_each = age_crate.cpu_us_each();
    let ours_cpu_us_each = ours.cpu_us_each();
    let rate = sealed as f64 / secs;
    // intakefast: the other per-report key work besides sealing: a receipt
    // and the reply key's public half derived from it (what the intake did
    // per report before intake4, and what the desk now does when it needs
    // the recipient), and (intake4) what the intake does now: a receipt and
    // the key's seed only.
    let mut reply = Timed::default();
    reply.run(Duration::from_millis(500), || {
        let receipt = vigil_core::Receipt::generate()?;
        let key = vigil_core::followup::ReplyKey::derive(&receipt)?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(key.recipient().len())
    })?;
    let mut seed = Timed::default();
    seed.run(Duration::from_millis(500), || {
        let receipt = vigil_core::Receipt::generate()?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
            vigil_core::followup::ReplyKey::seed_hex(&receipt)?.len(),
        )
    })?;
    let round = |us: Option<f64>| us.map(|us| (us * 10.0).round() / 10.0);
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
            "reply_key_cpu_microseconds_each": round(reply.cpu_us_each()),
            "reply_seed_cpu_microseconds_each": round(seed.cpu_us_each()),
            // The intake's own sealing (ring's X25519 stanzas), beside the
            // baseline above: not the goal's baseline.
            "intake_sealed": ours.count,
            "intake_cpu_microseconds_each": round(ours_cpu_us_each),
            "intake_per_second_one_core_cpu": ours_cpu_us_each.map(|us| (1e6 / us).round()),
        })
    );
    Ok(())
}

/// How many runs, in how much wall and CPU time.
#[derive(Default)]
struct Timed {
    count: u64,
    wall: Duration,
    cpu_ns: Option<u64>,
}

impl Timed {
    /// Runs `f` over and over for `budget`; returns the sum of its sizes.
    fn run<E>(
        &mut self,
        budget: Duration,
        mut f: impl FnMut() -> std::result::Result<usize, E>,
    ) -> std::result::Result<usize, E> {
        let cpu = thread_cpu_ns();
        let start = Instant::now();
        let mut bytes = 0;
        while start.elapsed() < budget {
            bytes += std::hint::black_box(f()?);
            self.count += 1;
        }
        self.wall += start.elapsed();
        self.cpu_ns = match (self.cpu_ns.or(Some(0)), cpu, thread_cpu_ns()) {
            (Some(sum), Some(a), Some(b)) => Some(sum + (b - a)),
            _ => None,
        };
        Ok(bytes)
    }

    fn cpu_us_each(&self) -> Option<f64> {
        (self.count > 0).then_some(())?;
        Some(self.cpu_ns? as f64 / 1e3 / self.count as f64)
    }
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
