//! `vigil demo`: all three zones on loopback with embedded storage, generated
//! keys, a demo account and demo reports sent through the real intake path.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vigil_core::keys::{self, ReleaseKey, SecretString};
use vigil_core::{Day, DeskIdentity};
use vigil_desk::Puller;
use vigil_desk::web::DeskWeb;
use vigil_store::DeskStore;
use zeroize::Zeroizing;

use super::{Result, shutdown_signal};
use crate::cli::DemoArgs;
use crate::config::{self, CONFIG_VERSION, DeskConfigFile, IntakeConfigFile, Layout, PublicConfig};
use vigil_record::import::{self, Mapping, Options, Quiet, Target};
use vigil_record::{RecordKey, Vocabularies};

/// The demo's own secrets, kept in its data folder so a second run reuses the
/// same keys. A real deployment never writes a passphrase to disk.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSecrets {
    passphrase: String,
    account: String,
    password: String,
    intake_token: String,
    /// The demo account's TOTP secret (base32), so a newcomer can pass the
    /// second factor with `vigil desk totp-code` instead of an app.
    #[serde(default)]
    totp_secret: Option<String>,
}

const DEMO_REPORTS: &[(&str, bool)] = &[
    (
        "Моего брата задержали у метро Пушкинская после одиночного пикета с плакатом «Нет войне». Везут в ОВД Тверской. Нужен адвокат.",
        true,
    ),
    (
        "Сегодня утром у нас дома прошёл обыск по делу о «фейках» (207.3 УК). Забрали телефоны и ноутбук, мужа увезли на допрос в СК.",
        false,
    ),
    (
        "Учительницу нашей школы уволили после того, как ученик записал её слова о войне на уроке и отправил в родительский чат.",
        false,
    ),
    (
        "Суд назначил штраф 30 000 рублей по статье 20.3.3 КоАП за пост во «ВКонтакте». Апелляцию будем подавать.",
        false,
    ),
    (
        "My friend was detained at a flower-laying at the Solovetsky Stone, now held at a police station in Meshchansky district.",
        true,
    ),
    (
        "Студентку отчислили из университета после задержания на акции 24 февраля. Есть копия приказа.",
        false,
    ),
];

/// The file that marks a folder as one `vigil demo` made.
const DEMO_SECRETS: &str = "demo-secrets.toml";

fn random_hex<const N: usize>() -> Result<String> {
    Ok(hex::encode(vigil_core::random::bytes::<N>()?))
}

/// A demo writes only into a new or empty folder, or one an earlier demo
/// made: never over a real deployment's configs.
fn refuse_foreign_folder(root: &Path) -> Result {
    let Ok(mut entries) = fs::read_dir(root) else {
        if root.exists() {
            return Err(format!(
                "demo: {} is not a folder: choose another with --data DIR",
                root.display()
            )
            .into());
        }
        return Ok(());
    };
    if entries.next().is_some() && !root.join(DEMO_SECRETS).exists() {
        return Err(format!(
            "demo: {} is not empty and no earlier `vigil demo` made it (it has no {DEMO_SECRETS}); \
             the demo would overwrite what is there: choose a new folder with --data DIR",
            root.display()
        )
        .into());
    }
    Ok(())
}

/// A folder an earlier demo left that cannot be resumed: say how to start over.
fn damaged(root: &Path, what: &str) -> String {
    format!(
        "demo: {what}; this demo folder cannot be resumed: remove {} and run `vigil demo` again \
         (or choose a new folder with --data DIR)",
        root.display()
    )
}

fn demo_secrets(root: &Path) -> Result<DemoSecrets> {
    let path = root.join(DEMO_SECRETS);
    if path.exists() {
        let text = fs::read_to_string(&path)?;
        let mut s: DemoSecrets = toml::from_str(&text)
            .map_err(|_| damaged(root, &format!("{} is damaged", path.display())))?;
        // A demo folder from before the second factor gets its TOTP secret now.
        if s.totp_secret.is_none() {
            s.totp_secret = Some(
                vigil_desk::totp::Secret::generate()?
                    .base32()
                    .as_str()
                    .to_owned(),
            );
            config::write_private(&path, toml::to_string_pretty(&s)?.as_bytes())?;
        }
        return Ok(s);
    }
    let s = DemoSecrets {
        passphrase: random_hex::<9>()?,
        account: "demo".into(),
        password: random_hex::<8>()?,
        intake_token: random_hex::<32>()?,
        totp_secret: Some(
            vigil_desk::totp::Secret::generate()?
                .base32()
                .as_str()
                .to_owned(),
        ),
    };
    config::write_private(&path, toml::to_string_pretty(&s)?.as_bytes())?;
    Ok(s)
}

/// The demo account's current code, read from the demo's own secrets file.
/// Only a folder `vigil demo` made has one: a real desk's TOTP secrets are
/// sealed to the desk identity and never printed.
pub fn totp_code(root: &Path) -> Result<String> {
    let path = root.join(DEMO_SECRETS);
    if !path.exists() {
        return Err(format!(
            "{} is not a demo folder (it has no {DEMO_SECRETS}): `vigil desk totp-code` works only \
             for `vigil demo`; a real account's code comes from its authenticator app",
            root.display()
        )
        .into());
    }
    let s: DemoSecrets = toml::from_str(&fs::read_to_string(&path)?)
        .map_err(|_| damaged(root, &format!("{} is damaged", path.display())))?;
    let secret = s
        .totp_secret
        .as_deref()
        .and_then(vigil_desk::totp::Secret::from_base32)
        .ok_or_else(|| damaged(root, "the demo's TOTP secret is missing"))?;
    Ok(secret.code_at(super::desk::unix_now()))
}

/// Makes the demo account an admin whose second factor is the demo's secret.
async fn demo_account(
    store: &dyn DeskStore,
    identity: &DeskIdentity,
    secrets: &DemoSecrets,
) -> Result<vigil_desk::totp::Secret> {
    vigil_desk::accounts::set_account(
        store,
        super::desk::unix_now(),
        vigil_desk::audit::COMMAND_LINE,
        &secrets.account,
        Some(&secrets.password),
        Some(vigil_desk::authz::Role::Admin),
    )
    .await?;
    let secret = secrets
        .totp_secret
        .as_deref()
        .and_then(vigil_desk::totp::Secret::from_base32)
        .ok_or("demo: the demo's TOTP secret is missing: remove the demo folder and run `vigil demo` again")?;
    let enrolled = store
        .desk_account_info(&secrets.account)
        .await?
        .is_some_and(|a| a.totp_sealed.is_some());
    if !enrolled {
        store
            .desk_set_second_factor(&secrets.account, Some(&secret.seal(identity)?), &[])
            .await?;
    }
    Ok(secret)
}

/// Reads the demo's keys, or makes whichever is missing: a first run that was
/// stopped halfway through resumes here.
fn demo_keys(
    layout: &Layout,
    passphrase: &SecretString,
    work_factor: vigil_core::keys::WorkFactor,
) -> Result<(DeskIdentity, ReleaseKey)> {
    let root = &layout.root;
    let open_failed = |e: vigil_core::keys::KeyError| damaged(root, &e.to_string());
    let identity = if layout.identity().exists() {
        keys::read_identity(&layout.identity(), passphrase).map_err(open_failed)?
    } else {
        eprintln!("demo: generating the desk identity…");
        let identity = DeskIdentity::generate();
        keys::write_identity(&layout.identity(), &identity, passphrase, work_factor)?;
        identity
    };
    let release = if layout.release_key().exists() {
        ReleaseKey::read(&layout.release_key(), passphrase).map_err(open_failed)?
    } else {
        eprintln!("demo: generating the release key…");
        let release = ReleaseKey::generate()?;
        release.write(&layout.release_key(), passphrase, work_factor)?;
        release
    };
    super::keygen::write_public_parts(layout, &identity, &release)?;
    Ok((identity, release))
}

async fn send_demo_reports(intake: SocketAddr, reports: &[(&str, bool)]) -> Result {
    let client = reqwest::Client::builder().no_proxy().build()?;
    for (text, urgent) in reports {
        let lang = if text.is_ascii() { "en" } else { "ru" };
        let response = client
            .post(format!("http://{intake}/api/v1/reports"))
            .json(&serde_json::json!({ "text": text, "urgent": urgent, "lang": lang }))
            .send()
            .await?;
        if response.status() != reqwest::StatusCode::CREATED {
            return Err(format!(
                "the demo intake refused a demo report: HTTP {}",
                response.status()
            )
            .into());
        }
    }
    Ok(())
}

/// OVD-Info's 2013 table (data/ovdinfo/README.md), built into the binary so
/// the demo has real numbers from any folder.
const OVDINFO_2013: &[u8] = include_bytes!("../../../../data/ovdinfo/detentions_2013.csv");
const OVDINFO_MAPPING: &str = include_str!("../../../../mappings/ovdinfo-events.toml");
/// The attribution the table's licence requires, on the site and in the open data.
pub const OVDINFO_ATTRIBUTION: &str = "Data: OVD-Info, CC BY 3.0";

/// Imports the 2013 table into the demo's record (a second run adds nothing).
async fn import_demo_table(layout: &Layout, store: &dyn DeskStore, key: &RecordKey) -> Result {
    let dir = layout.root.join("demo-data");
    config::private_dir(&dir)?;
    let file = dir.join("ovdinfo-detentions_2013.csv");
    fs::write(&file, OVDINFO_2013)?;
    let mapping = Mapping::parse("mappings/ovdinfo-events.toml", OVDINFO_MAPPING)?;
    let vocab = Vocabularies::load(&layout.root)?;
    let summary = import::import(
        &file,
        &mapping,
        &vocab,
        Some(Target { store, key }),
        &Options::default(),
        &Quiet,
    )
    .await?;
    eprintln!(
        "demo: OVD-Info's 2013 table: {} rows read, {} imported, {} already held ({OVDINFO_ATTRIBUTION})",
        summary.rows_read, summary.imported, summary.already_held
    );
    Ok(())
}

async fn publish(
    store: &dyn DeskStore,
    key: &ReleaseKey,
    record_key: &RecordKey,
    root: &Path,
    site: &Path,
) -> Result {
    let vocab = Vocabularies::load(root)?;
    let public = PublicConfig {
        k: None,
        attributions: vec![OVDINFO_ATTRIBUTION.to_owned()],
        ..PublicConfig::default()
    };
    super::release::publish_record(store, record_key, &vocab, &public, key, site, Day::today())
        .await?;
    Ok(())
}

pub async fn run(args: DemoArgs) -> Result {
    let layout = Layout::new(&args.data);
    refuse_foreign_folder(&layout.root)?;
    // Bind every port before anything is written: a port in use leaves the
    // folder as it was. Binding first also makes port 0 work, and the configs
    // name the real addresses.
    let intake_listener = super::bind("demo intake", args.intake_addr, "--intake-addr").await?;
    let desk_listener = super::bind("demo desk", args.desk_addr, "--desk-addr").await?;
    let public_listener =
        super::bind("demo public site", args.public_addr, "--public-addr").await?;
    let intake_addr = intake_listener.local_addr()?;
    let desk_addr = desk_listener.local_addr()?;
    let public_addr = public_listener.local_addr()?;
    // The demo serves plain HTTP: only on loopback.
    config::check_secure_cookies(false, desk_addr)?;

    config::private_dir(&layout.root)?;
    config::private_dir(&layout.intake_dir())?;
    config::private_dir(&layout.desk_dir())?;
    let secrets = demo_secrets(&layout.root)?;
    let passphrase = SecretString::from(secrets.passphrase.clone());
    let (identity, release_key) = demo_keys(&layout, &passphrase, args.kdf.kdf_work_factor)?;
    let record_key = Arc::new(RecordKey::open_or_create(
        &layout.desk_dir().join(vigil_record::RECORD_KEY_FILE),
        &identity,
    )?);
    let identity = Arc::new(identity);

    let intake_file = IntakeConfigFile {
        version: CONFIG_VERSION,
        listen: intake_addr,
        database_url: None,
        recipients: vec![identity.recipient()],
        desk_token_sha256: vigil_core::token::hash_hex(&secrets.intake_token),
        max_body_bytes: None,
        receipt_days: None,
        receipt_key_file: None,
        behind_tls_proxy: false,
        organisation: None,
        telegram: None,
        abuse: None,
        attachments: None,
    };
    config::save(&layout.intake_config(), &intake_file)?;
    let desk_file = DeskConfigFile {
        version: CONFIG_VERSION,
        listen: desk_addr,
        database_url: None,
        intake_url: format!("http://{intake_addr}"),
        intake_token: Some(secrets.intake_token.clone()),
        intake_proxy: None,
        pull_interval_secs: args.pull_every,
        secure_cookies: false,
        alerts: None,
        retention: None,
        intakes: Vec::new(),
        public: PublicConfig {
            k: None,
            attributions: vec![OVDINFO_ATTRIBUTION.to_owned()],
            ..PublicConfig::default()
        },
    };
    config::save(&layout.desk_config(), &desk_file)?;

    let intake = super::intake::build(&layout, &intake_file).await?;
    let desk = super::desk::open(&layout, None).await?;
    let totp = demo_account(desk.store.as_ref(), &identity, &secrets).await?;

    let site = layout.site();
    tokio::spawn(vigil_web::serve(
        intake_listener,
        vigil_intake::router(intake),
        shutdown_signal(),
    ));
    // The urgent line: urgent demo reports go on top of the duty page.
    super::urgent::spawn_urgent_line(&desk_file, desk.store.clone(), identity.clone())?;
    let web = DeskWeb::new(desk.store.clone(), identity.clone(), false)?;
    super::desk::open_record(&layout, &identity, &web)?;
    tokio::spawn(vigil_web::serve(
        desk_listener,
        vigil_desk::web::router(web),
        shutdown_signal(),
    ));
    tokio::spawn(vigil_web::serve(
        public_listener,
        vigil_public::site_router(site.clone()),
        shutdown_signal(),
    ));

    // Send the demo reports an earlier run did not get to send (all of them
    // on a first run, none once a run got through): first move whatever an
    // earlier run left on the intake to the desk, then count what the desk holds.
    let puller = Puller::new(
        &desk_file.intake_url,
        Zeroizing::new(secrets.intake_token.clone()),
    )?;
    puller.pull_all(desk.store.as_ref()).await?;
    let held = desk.store.desk_reports().await?.len();
    send_demo_reports(intake_addr, DEMO_REPORTS.get(held..).unwrap_or_default()).await?;
    puller.pull_all(desk.store.as_ref()).await?;
    import_demo_table(&layout, desk.store.as_ref(), &record_key).await?;
    publish(
        desk.store.as_ref(),
        &release_key,
        &record_key,
        &layout.root,
        &site,
    )
    .await?;

    // Pull every few seconds; publish again whenever something new arrived.
    let release_public_key = release_key.public_hex();
    let store = desk.store.clone();
    let every = Duration::from_secs(args.pull_every.max(1));
    let site_for_loop: PathBuf = site.clone();
    let root_for_loop: PathBuf = layout.root.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match puller.pull_all(store.as_ref()).await {
                Ok(o) if o.new > 0 => {
                    tracing::info!(new = o.new, "demo: pulled reports; publishing again");
                    if let Err(e) = publish(
                        store.as_ref(),
                        &release_key,
                        &record_key,
                        &root_for_loop,
                        &site_for_loop,
                    )
                    .await
                    {
                        tracing::warn!(error = %e, "demo: publishing failed");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "demo: pull failed; will retry"),
            }
        }
    });

    println!("vigil demo is running (Ctrl-C stops it)");
    println!("  intake:  http://{intake_addr}/   (report form; JSON API at /api/v1/reports)");
    println!(
        "  desk:    http://{desk_addr}/   (account: {} / password: {})",
        secrets.account, secrets.password
    );
    println!(
        "  second factor for {}: TOTP secret {} (add it to an authenticator app, or open {}),\n           \
         or print the current code: vigil desk totp-code --data {}",
        secrets.account,
        totp.base32().as_str(),
        totp.uri(&secrets.account).as_str(),
        layout.root.display()
    );
    println!("  public:  http://{public_addr}/   (signed release, rebuilt after each pull)");
    println!("  data:    {}", layout.root.display());
    println!(
        "  desk passphrase: {}   (for: VIGIL_PASSPHRASE=… vigil desk list --data {})",
        secrets.passphrase,
        layout.root.display()
    );
    println!("  release key: {release_public_key}");
    shutdown_signal().await;
    println!("vigil demo stopped");
    Ok(())
}
