//! `vigil demo`: all three zones on loopback with embedded storage, generated
//! keys, a demo account and demo reports sent through the real intake path.

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use vigil_core::Day;
use vigil_core::keys::{ReleaseKey, SecretString};
use vigil_desk::Puller;
use vigil_desk::web::DeskWeb;
use vigil_store::DeskStore;
use zeroize::Zeroizing;

use super::{Result, shutdown_signal};
use crate::cli::DemoArgs;
use crate::config::{self, CONFIG_VERSION, DeskConfigFile, IntakeConfigFile, Layout};

/// The demo's own secrets, kept in its data folder so a second run reuses the
/// same keys. A real deployment never writes a passphrase to disk.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoSecrets {
    passphrase: String,
    account: String,
    password: String,
    intake_token: String,
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

fn random_hex<const N: usize>() -> Result<String> {
    Ok(hex::encode(vigil_core::random::bytes::<N>()?))
}

fn demo_secrets(path: &std::path::Path) -> Result<(DemoSecrets, bool)> {
    if path.exists() {
        let text = fs::read_to_string(path)?;
        let s: DemoSecrets =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok((s, false));
    }
    let s = DemoSecrets {
        passphrase: random_hex::<9>()?,
        account: "demo".into(),
        password: random_hex::<8>()?,
        intake_token: random_hex::<32>()?,
    };
    config::write_private(path, toml::to_string_pretty(&s)?.as_bytes())?;
    Ok((s, true))
}

async fn send_demo_reports(intake: SocketAddr) -> Result {
    let client = reqwest::Client::new();
    for (text, urgent) in DEMO_REPORTS {
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

async fn publish(store: &dyn DeskStore, key: &ReleaseKey, site: &std::path::Path) -> Result {
    vigil_public::publish(store, key, site, Day::today()).await?;
    Ok(())
}

pub async fn run(args: DemoArgs) -> Result {
    let layout = Layout::new(&args.data);
    fs::create_dir_all(layout.intake_dir())?;
    fs::create_dir_all(layout.desk_dir())?;
    let (secrets, first_run) = demo_secrets(&layout.root.join("demo-secrets.toml"))?;
    let passphrase = SecretString::from(secrets.passphrase.clone());
    if !layout.identity().exists() {
        eprintln!("demo: generating the desk identity and release key…");
        super::keygen::generate(&layout, &passphrase, args.kdf.kdf_work_factor)?;
    }
    let identity = Arc::new(vigil_core::keys::read_identity(
        &layout.identity(),
        &passphrase,
    )?);
    let release_key = ReleaseKey::read(&layout.release_key(), &passphrase)?;

    // Bind first, so that port 0 works and the configs name the real addresses.
    let intake_listener = TcpListener::bind(args.intake_addr).await?;
    let desk_listener = TcpListener::bind(args.desk_addr).await?;
    let public_listener = TcpListener::bind(args.public_addr).await?;
    let intake_addr = intake_listener.local_addr()?;
    let desk_addr = desk_listener.local_addr()?;
    let public_addr = public_listener.local_addr()?;

    let intake_file = IntakeConfigFile {
        version: CONFIG_VERSION,
        listen: intake_addr,
        database_url: None,
        recipients: vec![identity.recipient()],
        desk_token_sha256: vigil_core::token::hash_hex(&secrets.intake_token),
        max_body_bytes: None,
        receipt_days: None,
        receipt_key_file: None,
    };
    config::save(&layout.intake_config(), &intake_file)?;
    let desk_file = DeskConfigFile {
        version: CONFIG_VERSION,
        listen: desk_addr,
        database_url: None,
        intake_url: format!("http://{intake_addr}"),
        intake_token: Some(secrets.intake_token.clone()),
        pull_interval_secs: args.pull_every,
        secure_cookies: false,
    };
    config::save(&layout.desk_config(), &desk_file)?;

    let intake = super::intake::build(&layout, &intake_file).await?;
    let desk = super::desk::open(&layout, None).await?;
    vigil_desk::accounts::put_account(desk.store.as_ref(), &secrets.account, &secrets.password)
        .await?;

    let site = layout.site();
    tokio::spawn(vigil_web::serve(
        intake_listener,
        vigil_intake::router(intake),
        shutdown_signal(),
    ));
    let web = DeskWeb::new(desk.store.clone(), identity, false)?;
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

    if first_run {
        send_demo_reports(intake_addr).await?;
    }
    let puller = Puller::new(
        &desk_file.intake_url,
        Zeroizing::new(secrets.intake_token.clone()),
    )?;
    puller.pull_all(desk.store.as_ref()).await?;
    publish(desk.store.as_ref(), &release_key, &site).await?;

    // Pull every few seconds; publish again whenever something new arrived.
    let release_public_key = release_key.public_hex();
    let store = desk.store.clone();
    let every = Duration::from_secs(args.pull_every.max(1));
    let site_for_loop: PathBuf = site.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match puller.pull_all(store.as_ref()).await {
                Ok(o) if o.new > 0 => {
                    tracing::info!(new = o.new, "demo: pulled reports; publishing again");
                    if let Err(e) = publish(store.as_ref(), &release_key, &site_for_loop).await {
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
