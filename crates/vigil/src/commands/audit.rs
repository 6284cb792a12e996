//! `vigil audit verify`: checks the desk's audit log, a hash chain in the
//! desk's database (docs/desk.md, "The audit log").

use clap::{Args, Subcommand};

use super::Result;
use crate::cli::DataArg;
use crate::config::Layout;

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The desk's config file [default: DATA/desk/desk.toml].
    #[arg(long, global = true)]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Check that no entry was changed, removed or reordered; fails naming the
    /// first bad entry.
    Verify,
}

pub async fn run(args: AuditArgs) -> Result {
    let layout = Layout::new(&args.data.data);
    let desk = super::desk::open(&layout, args.config.as_deref()).await?;
    match args.command {
        AuditCommand::Verify => match vigil_desk::audit::verify(desk.store.as_ref()).await {
            Ok(n) => {
                println!("audit log intact: {n} entries, each chained to the one before");
                Ok(())
            }
            Err(vigil_desk::audit::VerifyError::Broken(b)) => Err(format!(
                "audit log BROKEN: {b}. Журнал действий ПОВРЕЖДЁН: запись изменена, удалена или переставлена в базе данных."
            )
            .into()),
            Err(e) => Err(e.into()),
        },
    }
}
