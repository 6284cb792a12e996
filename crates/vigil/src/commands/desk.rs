//! `vigil desk`: the team's zone: serve, pull, list, account.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
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

pub async fn open(layout: &Layout, config_path: Option<&std::path::Path>) -> Result<Desk> {
    let path = config_path.map_or_else(|| layout.desk_config(), std::path::Path::to_path_buf);
    let file: DeskConfigFile = config::load(&path, |c: &DeskConfigFile| c.version)?;
    let url = config::database_url(file.database_url.as_deref(), layout.default_desk_db());
    std::fs::create_dir_all(layout.desk_dir())?;
    let store = vigil_store::open_desk(&url).await?;
    Ok(Desk { file, store })
}

pub fn puller(file: &DeskConfigFile) -> Result<Puller> {
    let token = std::env::var("VIGIL_INTAKE_TOKEN")
        .ok()
        .or_else(|| file.intake_token.clone())
        .ok_or("no intake token: set intake_token in the desk config or VIGIL_INTAKE_TOKEN")?;
    Ok(Puller::new(&file.intake_url, Zeroizing::new(token))?)
}

pub fn open_identity(layout: &Layout) -> Result<DeskIdentity> {
    let passphrase = secrets::passphrase()?;
    Ok(vigil_core::keys::read_identity(
        &layout.identity(),
        &passphrase,
    )?)
}

pub async fn run(args: DeskArgs) -> Result {
    let layout = Layout::new(&args.data.data);
    let desk = open(&layout, args.config.as_deref()).await?;
    match args.command.unwrap_or(DeskCommand::Serve { listen: None }) {
        DeskCommand::Serve { listen } => {
            let identity = Arc::new(open_identity(&layout)?);
            puller(&desk.file)?.spawn_every(
                desk.store.clone(),
                Duration::from_secs(desk.file.pull_interval_secs.max(1)),
            );
            let web = DeskWeb::new(desk.store.clone(), identity, desk.file.secure_cookies)?;
            let listener = TcpListener::bind(listen.unwrap_or(desk.file.listen)).await?;
            println!("desk listening on http://{}", listener.local_addr()?);
            vigil_web::serve(listener, vigil_desk::web::router(web), shutdown_signal()).await?;
        }
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
