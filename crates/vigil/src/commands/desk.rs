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
        let puller = puller(&file)?;
        let identity = Arc::new(open_identity(&layout)?);
        let store = open_store(&layout, &file).await?;
        puller.spawn_every(
            store.clone(),
            Duration::from_secs(file.pull_interval_secs.max(1)),
        );
        let web = DeskWeb::new(store, identity.clone(), file.secure_cookies)?;
        open_record(&layout, &identity, &web)?;
        println!("desk listening on http://{}", listener.local_addr()?);
        vigil_web::serve(listener, vigil_desk::web::router(web), shutdown_signal()).await?;
        return Ok(());
    }
    let desk = open(&layout, args.config.as_deref()).await?;
    match command {
        DeskCommand::Serve { .. } => {}
        DeskCommand::Pull => {
            let outcome = puller(&desk.file)?.pull_all(desk.store.as_ref()).await?;
            println!(
                "pulled: {} new, {} acknowledged by the intake",
                outcome.new, outcome.acknowledged
            );
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
                }
            }
        }
        DeskCommand::Account { username } => {
            let password = secrets::new_password()?;
            vigil_desk::accounts::put_account(desk.store.as_ref(), &username, &password).await?;
            println!("account {username:?} saved");
        }
    }
    Ok(())
}
