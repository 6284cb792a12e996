//! `vigil desk`: the team's zone: serve, pull, list, account.

use std::sync::Arc;
use std::time::Duration;

use vigil_core::DeskIdentity;
use vigil_desk::web::DeskWeb;
use vigil_desk::{Puller, open_queue};
use vigil_store::DeskStore;
use zeroize::Zeroizing;

use super::{Result, shutdown_signal};
use crate::cli::{DeskArgs, DeskCommand};
use crate::config::{self, DeskConfigFile, Layout};
use crate::secrets;

/// Seconds since 1970 (audit entries, codes).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub struct Desk {
    pub file: DeskConfigFile,
    pub store: Arc<dyn DeskStore>,
}

/// Reads the desk's config from a data folder that must exist.
pub fn load_config(
    layout: &Layout,
    config_path: Option<&std::path::Path>,
) -> Result<DeskConfigFile> {
    config::require_data_folder(&layout.root)?;
    let path = config_path.map_or_else(|| layout.desk_config(), std::path::Path::to_path_buf);
    let file: DeskConfigFile = config::load(&path, |c: &DeskConfigFile| c.version)?;
    if file.intake_token.is_some() && config::readable_by_others(&path) {
        eprintln!(
            "warning: {} holds intake_token and other users of this machine can read it: \
             chmod 600 it, or move the token to VIGIL_INTAKE_TOKEN",
            path.display()
        );
    }
    Ok(file)
}

/// Opens the desk's store (an SQLite file is created 0600 in a 0700 folder).
pub async fn open_store(layout: &Layout, file: &DeskConfigFile) -> Result<Arc<dyn DeskStore>> {
    let url = config::database_url(file.database_url.as_deref(), layout.default_desk_db());
    config::private_dir(&layout.desk_dir())?;
    config::prepare_sqlite_file(&url)
        .map_err(|e| format!("desk database: cannot create it 0600: {e}"))?;
    Ok(vigil_store::open_desk(&url).await?)
}

pub async fn open(layout: &Layout, config_path: Option<&std::path::Path>) -> Result<Desk> {
    let file = load_config(layout, config_path)?;
    let store = open_store(layout, &file).await?;
    Ok(Desk { file, store })
}

pub fn puller(file: &DeskConfigFile) -> Result<Puller> {
    let token = std::env::var("VIGIL_INTAKE_TOKEN")
        .ok()
        .or_else(|| file.intake_token.clone())
        .ok_or("no intake token: set intake_token in the desk config or VIGIL_INTAKE_TOKEN")?;
    let proxy = std::env::var("VIGIL_INTAKE_PROXY")
        .ok()
        .or_else(|| file.intake_proxy.clone());
    Ok(Puller::with_proxy(
        &file.intake_url,
        Zeroizing::new(token),
        proxy.as_deref(),
    )?)
}

/// Every intake the desk pulls from: `intake_url` (if set) and each of
/// `[[intakes]]`, with the URL named in any error.
pub fn pullers(file: &DeskConfigFile) -> Result<Vec<(String, Puller)>> {
    let mut out = Vec::new();
    if !file.intake_url.trim().is_empty() {
        out.push((file.intake_url.clone(), puller(file)?));
    }
    for (i, source) in file.intakes.iter().enumerate() {
        let p = Puller::with_proxy(
            &source.url,
            Zeroizing::new(source.token.clone()),
            source.proxy.as_deref(),
        )
        .map_err(|e| format!("desk config, [[intakes]] number {}: {e}", i + 1))?;
        out.push((source.url.clone(), p));
    }
    if out.is_empty() {
        return Err(
            "the desk config names no intake: set intake_url (and intake_token), or add \
             [[intakes]] with url and token"
                .into(),
        );
    }
    Ok(out)
}

pub fn open_identity(layout: &Layout) -> Result<DeskIdentity> {
    let passphrase = secrets::passphrase()?;
    Ok(vigil_core::keys::read_identity(
        &layout.identity(),
        &passphrase,
    )?)
}

/// deskcoding: gives the desk's pages the record key (made on first use,
/// sealed to the identity) and the vocabularies of the data folder.
pub fn open_record(layout: &Layout, identity: &DeskIdentity, web: &DeskWeb) -> Result {
    std::fs::create_dir_all(layout.desk_dir())?;
    let key = vigil_record::RecordKey::open_or_create(
        &layout.desk_dir().join(vigil_record::RECORD_KEY_FILE),
        identity,
    )?;
    web.coding
        .set_record(key, vigil_record::Vocabularies::load(&layout.root)?);
    Ok(())
}

pub async fn run(args: DeskArgs) -> Result {
    let layout = Layout::new(&args.data.data);
    let command = args.command.unwrap_or(DeskCommand::Serve { listen: None });
    if let DeskCommand::Serve { listen } = command {
        let file = load_config(&layout, args.config.as_deref())?;
        let listen = listen.unwrap_or(file.listen);
        config::check_secure_cookies(file.secure_cookies, listen)?;
        // Bind before the store is opened: a port in use writes nothing.
        let listener = super::bind(
            "desk",
            listen,
            "--listen (or VIGIL_DESK_LISTEN, or listen in the desk config)",
        )
        .await?;
        let pullers = pullers(&file)?;
        let identity = Arc::new(open_identity(&layout)?);
        let store = open_store(&layout, &file).await?;
        for (_, puller) in pullers {
            puller.spawn_every(
                store.clone(),
                Duration::from_secs(file.pull_interval_secs.max(1)),
            );
        }
        super::urgent::spawn_urgent_line(&file, store.clone(), identity.clone())?;
        let web = DeskWeb::new(store, identity.clone(), file.secure_cookies)?;
        open_record(&layout, &identity, &web)?;
        // deskfast: duplicate suggestions ready before the first view.
        vigil_desk::web::coding::warm_suggestions(web.clone());
        println!("desk listening on http://{}", listener.local_addr()?);
        vigil_web::serve(listener, vigil_desk::web::router(web), shutdown_signal()).await?;
        return Ok(());
    }
    if let DeskCommand::TotpCode = command {
        // Reads only the demo's own secrets file: no config, store or passphrase.
        println!("{}", super::demo::totp_code(&layout.root)?);
        return Ok(());
    }
    let desk = open(&layout, args.config.as_deref()).await?;
    match command {
        DeskCommand::Serve { .. } => {}
        DeskCommand::Pull => {
            let mut failed = None;
            for (url, puller) in pullers(&desk.file)? {
                // One intake down must not keep the others' reports away.
                match puller.pull_all(desk.store.as_ref()).await {
                    Ok(outcome) => println!(
                        "{url}: pulled {} new, {} acknowledged by the intake; {} replies handed over, {} follow-ups new",
                        outcome.new, outcome.acknowledged, outcome.replies_taken, outcome.followups
                    ),
                    Err(e) => {
                        eprintln!("{url}: {e}");
                        failed = Some(format!("pulling from {url} failed: {e}"));
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        DeskCommand::Reply { report } => {
            let identity = open_identity(&layout)?;
            let id: vigil_core::ReportId = report.parse().map_err(|_| {
                format!("{report:?} is not a report id (32 hexadecimal digits, as `vigil desk list` shows)")
            })?;
            let mut text = Zeroizing::new(String::new());
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
            let reply = vigil_desk::replies::write_reply(
                desk.store.as_ref(),
                &identity,
                &id,
                &text,
                time::OffsetDateTime::now_utc(),
            )
            .await?;
            super::urgent::cli_audit(
                &desk,
                vigil_desk::audit::AuditAction::Reply,
                &[&id.to_string(), &reply.to_string()],
            )
            .await?;
            println!("reply {reply} to report {id} saved; the next pull hands it to the intake");
        }
        DeskCommand::List { json } => {
            let identity = open_identity(&layout)?;
            let items = open_queue(desk.store.as_ref(), &identity).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&items)?);
            } else if items.is_empty() {
                println!("no reports");
            } else {
                for item in &items {
                    let flag = if item.urgent { "URGENT " } else { "" };
                    let channel = item.channel.map_or("?", |c| c.as_str());
                    println!("{flag}{} {} via {channel}", item.received, item.id);
                    match &item.text {
                        Some(text) => {
                            for line in text.lines() {
                                println!("    {line}");
                            }
                        }
                        None => println!("    (cannot open: sealed to another key, or damaged)"),
                    }
                    if let Some(c) = &item.contact {
                        println!("    contact: {c}");
                    }
                    for m in &item.messages {
                        let text = m.text.as_deref().unwrap_or("(cannot open)");
                        println!(
                            "    [{} {}] {}",
                            m.from,
                            m.day,
                            text.replace('\n', "\n        ")
                        );
                    }
                }
            }
        }
        DeskCommand::Account { username, role } => {
            let exists = desk.store.desk_account(&username).await?.is_some();
            // An existing account given only a role keeps its password.
            let password =
                if exists && role.is_some() && std::env::var_os("VIGIL_ACCOUNT_PASSWORD").is_none()
                {
                    None
                } else {
                    if !exists && role.is_none() {
                        return Err(vigil_desk::accounts::AccountError::NeedsRole(username).into());
                    }
                    Some(secrets::new_password()?)
                };
            let change = vigil_desk::accounts::set_account(
                desk.store.as_ref(),
                unix_now(),
                vigil_desk::audit::COMMAND_LINE,
                &username,
                password.as_deref().map(String::as_str),
                role,
            )
            .await?;
            let role = desk
                .store
                .desk_account_info(&username)
                .await?
                .map(|a| a.role)
                .unwrap_or_default();
            match change {
                vigil_desk::accounts::AccountChange::Created => println!(
                    "account {username:?} created with role {role}; it sets up its second factor at first login"
                ),
                vigil_desk::accounts::AccountChange::Updated => {
                    println!(
                        "account {username:?} saved (role {role}); its open sessions end when the desk restarts or an admin revokes them"
                    )
                }
            }
        }
        // Answered before the store is opened (below).
        DeskCommand::TotpCode => {}
        DeskCommand::Roster { command } => super::urgent::roster(&desk, command).await?,
        DeskCommand::Purge { dry_run } => super::urgent::purge(&desk, dry_run).await?,
    }
    Ok(())
}
