//! The command line: the public contract of `vigil` (see README.md).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "vigil",
    version,
    about = "Intake, desk and public release for documenting politically motivated persecution"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct DataArg {
    /// The data folder: one subfolder per zone (intake/, desk/, public/).
    /// Without it, ./vigil-data, which must exist (keygen makes it).
    #[arg(long, env = "VIGIL_DATA", default_value = crate::config::DEFAULT_DATA, global = true)]
    pub data: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct KdfArg {
    /// scrypt work factor (log2 N) for new key files. Leave unset for about a
    /// second of work on this machine; tests set a small one.
    #[arg(long, hide = true, value_parser = clap::value_parser!(u8).range(10..=22))]
    pub kdf_work_factor: Option<u8>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start intake, desk and public site on 127.0.0.1 with demo data.
    Demo(DemoArgs),
    /// Create the desk identity (age, x25519) and the release signing key, both encrypted with a passphrase.
    Keygen {
        #[command(flatten)]
        data: DataArg,
        #[command(flatten)]
        kdf: KdfArg,
    },
    /// Run the intake zone (report form, JSON API, desk pull API).
    Intake(IntakeArgs),
    /// Run the desk zone, or one of its commands.
    Desk(DeskArgs),
    /// Build a signed static release of the desk's data.
    Publish {
        #[command(flatten)]
        data: DataArg,
        /// Where to write the release (a new or empty folder, or an earlier release).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Bring a table (CSV) into the desk's record as a mapping file describes it.
    Import(crate::commands::import::ImportArgs),
    /// Count the desk's record: actions, detentions, persons, events by kind.
    Stats(crate::commands::stats::StatsArgs),
    /// Find the same person across records (duplicate detection and linkage).
    Link(vigil_linkage::cli::LinkArgs),
    /// The desk's audit log: `vigil audit verify --data DIR` checks its hash chain.
    Audit(crate::commands::audit::AuditArgs),
    /// Check a release: its signatures, every file, and its chain to the previous release.
    Verify {
        /// The release folder.
        dir: PathBuf,
        /// The expected release public key (64 hex digits, or a file holding it).
        /// Without it, only integrity is proven, not who signed.
        #[arg(long)]
        key: Option<String>,
        /// A desk's data folder: without --key, expect its DATA/desk/release-key.pub.
        #[arg(long)]
        data: Option<PathBuf>,
        /// The release this one follows: it must verify with the same key, and
        /// this release's manifest must name its manifest's SHA-256 (the chain).
        #[arg(long)]
        previous: Option<PathBuf>,
    },
    /// How many 1 KiB reports one core seals per second (bench/intake).
    #[command(hide = true, name = "bench-seal")]
    BenchSeal(crate::commands::bench_seal::BenchSealArgs),
    /// A small loopback HTTP load generator (bench/intake, when oha is absent).
    #[command(hide = true, name = "bench-load")]
    BenchLoad(crate::commands::bench_load::BenchLoadArgs),
    /// The least an intake could do for a report here (bench/intake's floor).
    #[command(hide = true, name = "bench-floor")]
    BenchFloor(crate::commands::bench_floor::BenchFloorArgs),
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// The demo's data folder (created if missing; reused if it holds an earlier demo).
    #[arg(long, default_value = "vigil-demo")]
    pub data: PathBuf,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub intake_addr: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub desk_addr: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:8082")]
    pub public_addr: SocketAddr,
    /// Seconds between the desk's pulls from the intake.
    #[arg(long, default_value_t = 3)]
    pub pull_every: u64,
    #[command(flatten)]
    pub kdf: KdfArg,
}

#[derive(Args, Debug)]
pub struct IntakeArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The intake's config file [default: DATA/intake/intake.toml].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Listen here instead of the config's `listen`.
    #[arg(long, env = "VIGIL_INTAKE_LISTEN")]
    pub listen: Option<SocketAddr>,
}

#[derive(Args, Debug)]
pub struct DeskArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The desk's config file [default: DATA/desk/desk.toml].
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<DeskCommand>,
}

#[derive(Subcommand, Debug)]
pub enum DeskCommand {
    /// Serve the desk's web pages and pull from the intake regularly (the default).
    Serve {
        /// Listen here instead of the config's `listen`.
        #[arg(long, env = "VIGIL_DESK_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Pull sealed reports from the intake once.
    Pull,
    /// Print the decrypted queue, urgent detentions first.
    List {
        /// One JSON array, for programs.
        #[arg(long)]
        json: bool,
    },
    /// Create a desk account (needs --role), or change its role and/or password.
    /// The password is read from VIGIL_ACCOUNT_PASSWORD or a prompt; with only
    /// --role for an existing account, just the role changes.
    Account {
        username: String,
        /// admin, coordinator, duty_lawyer, verifier or analyst.
        #[arg(long)]
        role: Option<vigil_desk::authz::Role>,
    },
    /// Print the demo account's current second-factor code (only in a folder
    /// `vigil demo` made; a real desk's secrets never leave the authenticator app).
    TotpCode,
    /// The duty roster: list the shifts (the default), add or remove one.
    Roster {
        #[command(subcommand)]
        command: Option<RosterCommand>,
    },
    /// Delete uncoded reports and closed cases older than [retention] in the desk config allows.
    Purge {
        /// Only list what would go (kinds, ids and days), deleting nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Answer a reporter: the reply's text is read from stdin, sealed to the
    /// report's receipt key, and handed to the intake at the next pull.
    Reply {
        /// The report's id, as `vigil desk list` shows it.
        report: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RosterCommand {
    /// Print every shift with its people in alert order (times UTC).
    List,
    /// Add a shift, or replace the one with the same --id.
    Add {
        /// Start, UTC: YYYY-MM-DDTHH:MM.
        #[arg(long)]
        from: String,
        /// End, UTC: YYYY-MM-DDTHH:MM.
        #[arg(long)]
        to: String,
        /// Account names in alert order, separated by commas: anna,boris.
        #[arg(long)]
        people: String,
        /// The shift's id [default: made from its start].
        #[arg(long)]
        id: Option<String>,
    },
    /// Remove a shift by its id.
    Remove { id: String },
}
