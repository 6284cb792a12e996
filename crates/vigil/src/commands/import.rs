//! `vigil import`: brings a published table into the desk's record as a
//! mapping file describes it (see vigil-record's `import`).

use std::path::PathBuf;

use vigil_record::import::{self, Mapping, Options, Progress, Summary, Target};
use vigil_record::{RecordKey, Vocabularies};

use super::Result;
use crate::cli::DataArg;
use crate::config::Layout;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// The mapping: which column feeds which field (for example mappings/ovdinfo-events.toml).
    #[arg(long, value_name = "MAP.toml")]
    pub mapping: PathBuf,
    /// A value for a field the table lacks, for every row (repeatable): --set region=Москва
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub sets: Vec<String>,
    /// Read and check the table, print the report, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Rows per transaction (tests set a small one to kill an import midway).
    #[arg(long, hide = true, default_value_t = 10_000)]
    pub batch_rows: usize,
    /// The table (CSV, UTF-8, with a header row).
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
}

/// A progress bar on a terminal; nothing when stderr is not one.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn start(&self, total_bytes: u64) {
        self.0.set_length(total_bytes);
    }
    fn advance_to(&self, bytes: u64) {
        self.0.set_position(bytes);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn bar() -> Bar {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} импорт / import [{bar:30}] {bytes}/{total_bytes} {elapsed}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    Bar(bar)
}

fn print_summary(file: &str, s: &Summary, attribution: Option<&str>) {
    for e in &s.errors {
        println!("{file}: {e}");
    }
    let (imported_ru, imported_en) = if s.dry_run {
        ("будет импортировано", "would import")
    } else {
        ("импортировано", "imported")
    };
    println!(
        "{file}: прочитано строк {read}, {imported_ru} {imported}, уже были {held}, пропущено {skipped}\n\
         {file}: rows read {read}, {imported_en} {imported}, already held {held}, skipped {skipped}; \
         detentions in the valid rows {detentions}",
        read = s.rows_read,
        imported = s.imported,
        held = s.already_held,
        skipped = s.skipped,
        detentions = s.detentions,
    );
    if !s.new_spellings.is_empty() {
        println!("новые написания / new vocabulary spellings (kept as written):");
        for ((field, spelling), n) in &s.new_spellings {
            println!("  {field}: {spelling:?} ×{n}");
        }
    }
    if s.dry_run {
        println!("пробный прогон: ничего не изменено / dry run: nothing was changed");
    }
    if let Some(a) = attribution {
        println!("{a}");
    }
}

pub async fn run(args: ImportArgs) -> Result {
    let layout = Layout::new(&args.data.data);
    let mapping = Mapping::load(&args.mapping)?;
    let vocab = Vocabularies::load(&args.data.data)?;
    let options = Options {
        sets: args.sets.clone(),
        batch_rows: args.batch_rows.max(1),
        ..Options::default()
    };
    let progress = bar();
    let shown = args.file.display().to_string();
    let summary = if args.dry_run {
        import::import(&args.file, &mapping, &vocab, None, &options, &progress).await?
    } else {
        let identity = super::desk::open_identity(&layout)?;
        std::fs::create_dir_all(layout.desk_dir())?;
        let key = RecordKey::open_or_create(
            &layout.desk_dir().join(vigil_record::RECORD_KEY_FILE),
            &identity,
        )?;
        drop(identity);
        let store = super::stats::open_desk_store(&layout).await?;
        let target = Target {
            store: store.as_ref(),
            key: &key,
        };
        import::import(
            &args.file,
            &mapping,
            &vocab,
            Some(target),
            &options,
            &progress,
        )
        .await?
    };
    print_summary(&shown, &summary, mapping.attribution.as_deref());
    Ok(())
}
