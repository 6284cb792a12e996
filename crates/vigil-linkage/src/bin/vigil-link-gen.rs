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
    /// Output CSV (columns rec_id, entity_id, given_name, surname, patronymic, birth_date, city,
    /// and the shape's own columns).
    #[arg(long)]
    out: PathBuf,
    /// The shape: russian (the evaluation set), addresses (FEBRL-like, addresses shared by
    /// dozens), detentions (hundreds per protest action), families (households), common
    /// (the commonest names).
    #[arg(long, default_value = "russian")]
    shape: String,
    /// Also write the records as a splink user would prepare them: Cyrillic in ICAO
    /// transliteration, ISO dates and a birth_year column.
    #[arg(long)]
    latin_out: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if cli.shape != "russian" {
        let Some(table) = vigil_linkage::hard::generate_shape(&cli.shape, cli.records, cli.seed)
        else {
            eprintln!(
                "error: unknown shape {:?}; the shapes are {}",
                cli.shape,
                vigil_linkage::hard::SHAPES.join(", ")
            );
            return std::process::ExitCode::FAILURE;
        };
        return match vigil_linkage::cli::write_table(&cli.out, &table.header, &table.rows) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
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
