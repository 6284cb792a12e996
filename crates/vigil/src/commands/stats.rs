//! `vigil stats`: counts of the desk's record by the rules in
//! docs/methodology.md. Reads only clear counting fields: no passphrase.

use std::sync::Arc;

use vigil_core::Day;
use vigil_record::Vocabularies;
use vigil_record::stats::{self, CountQuery, Format};
use vigil_store::DeskStore;

use super::Result;
use crate::cli::DataArg;
use crate::config::{self, DeskConfigFile, Layout};

#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Break the counts down by these keys: year, month, region, action-kind,
    /// event-kind, article, authorised, topic (comma-separated).
    #[arg(long, value_name = "KEY[,KEY...]", default_value = "")]
    pub by: String,
    /// Only records dated on or after this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub from: Option<String>,
    /// Only records dated on or before this day (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub to: Option<String>,
    /// table (for people), csv or json.
    #[arg(long, default_value = "table")]
    pub format: String,
}

/// The desk's store: the desk config's database if there is a config, else
/// the default SQLite file (import and stats need no intake or web settings).
pub async fn open_desk_store(layout: &Layout) -> Result<Arc<dyn DeskStore>> {
    let path = layout.desk_config();
    let from_file = if path.exists() {
        config::load(&path, |c: &DeskConfigFile| c.version)?.database_url
    } else {
        None
    };
    let url = config::database_url(from_file.as_deref(), layout.default_desk_db());
    std::fs::create_dir_all(layout.desk_dir())?;
    Ok(vigil_store::open_desk(&url).await?)
}

fn day(flag: &str, text: Option<&str>) -> Result<Option<Day>> {
    text.map(|t| {
        t.parse::<Day>().map_err(|_| {
            format!("{flag} {t:?}: нужна дата вида ГГГГ-ММ-ДД / expected a date YYYY-MM-DD, for example 2022-02-24").into()
        })
    })
    .transpose()
}

pub async fn run(args: StatsArgs) -> Result {
    let layout = Layout::new(&args.data.data);
    let format = Format::parse(&args.format)
        .ok_or_else(|| format!("--format {:?}: use table, csv or json", args.format))?;
    let query = CountQuery {
        by: stats::parse_keys(&args.by)?,
        from: day("--from", args.from.as_deref())?,
        to: day("--to", args.to.as_deref())?,
    };
    let vocab = Vocabularies::load(&args.data.data)?;
    let store = open_desk_store(&layout).await?;
    let result = stats::compute(store.as_ref(), &query).await?;
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&result.to_json(&vocab))?),
        Format::Csv => print!("{}", result.to_csv()),
        Format::Table => print!("{}", result.to_table(&vocab)),
    }
    Ok(())
}
