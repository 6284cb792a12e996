//! Generates the Russian evaluation set: `vigil-link-gen --records N --seed S --out FILE`.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "vigil-link-gen",
    about = "Generate Russian person records with known truth"
)]
struct Cli {
    /// How many records.
    #[arg(long, default_value_t = 2000)]
    records: usize,
    /// Seed; the same seed gives the same records.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output CSV (columns rec_id, entity_id, given_name, surname, patronymic, birth_date, city).
    #[arg(long)]
    out: PathBuf,
    /// Also write the records as a splink user would prepare them: Cyrillic in ICAO
    /// transliteration, ISO dates and a birth_year column.
    #[arg(long)]
    latin_out: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let records = vigil_linkage::generate::generate(cli.records, cli.seed);
    let mut result = vigil_linkage::cli::write_generated(&cli.out, &records, false);
    if let (Ok(()), Some(latin)) = (&result, &cli.latin_out) {
        result = vigil_linkage::cli::write_generated(latin, &records, true);
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
