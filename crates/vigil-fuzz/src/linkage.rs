//! The linkage CSV files and spec, through `vigil link` itself
//! (`vigil_linkage::cli::run`): spec parsing, CSV reading, blocking, scoring,
//! clustering and writing the clusters and pairs.
//!
//! - `linkage_csv`: the input is the CSV, read with a fixed spec. The first
//!   byte's low bit asks for the truth column (`entity_id`); a byte 0x1E
//!   splits the rest into two files, which are then linked instead of
//!   deduplicated.
//! - `linkage_spec`: the input is the spec, used on a fixed small CSV.
//!
//! Beyond "no panic": a refusal names the file it is about, so a person knows
//! what to fix, and a run that succeeds writes its clusters.

use std::fs;
use std::path::PathBuf;

use vigil_linkage::cli::LinkArgs;

use crate::{Outcome, SetupError, Target, Violation, ensure, excerpt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Csv,
    Spec,
}

/// The spec for `linkage_csv`: every kind of field, on the columns of
/// crates/vigil-linkage/testdata plus a text and an exact column.
pub const FIXED_SPEC: &str = r#"id = "rec_id"
threshold = 0.5
max_block = 50

[fields]
given_name = "given_name"
surname = "surname"
patronymic = "patronymic"
birth_date = "date"
city = "place"
note = "text"
doc = "exact"
"#;

/// The CSV for `linkage_spec`: a few records with the spelling mess of real
/// reports (Latin and Cyrillic, short names, partial dates).
pub const FIXED_CSV: &str = "rec_id,entity_id,given_name,surname,patronymic,birth_date,city,note,doc,full_name,year
r0,e1,Александра,Пебеленко,Игоревна,08.01.1969,Новосибирск,задержана у метро,A1,Пебеленко Александра Игоревна,1969
r1,e1,Саша,Пебеленко,,1969,Novosibirsk,detained at the metro,A1,Alexandra Pebelenko,1969
r2,e2,Жанна,Вершиненко,Викторовна,15.01.1977,Москва,штраф 20.3.3,B2,Вершиненко Жанна,1977
r3,e2,Zhanna,Vershinenko,Viktorovna,1977-01-15,Moscow,fine,B2,Zhanna Vershinenko,1977
r4,e3,Иван,Иванов,Петрович,01.1990,Санкт-Петербург,,C3,Иванов Иван Петрович,1990
r5,e4,Ivan,Ivanov,,,St Petersburg,обыск,,Ivan Ivanov,
";

pub struct LinkageTarget {
    part: Part,
    dir: tempfile::TempDir,
}

impl LinkageTarget {
    pub fn new(part: Part) -> Result<Self, SetupError> {
        let name = match part {
            Part::Csv => "linkage_csv",
            Part::Spec => "linkage_spec",
        };
        Ok(LinkageTarget {
            part,
            dir: crate::scratch_dir(name)?,
        })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Target for LinkageTarget {
    fn run(&mut self, data: &[u8]) -> Outcome {
        let spec = self.path("spec.toml");
        let first = self.path("a.csv");
        let second = self.path("b.csv");
        let out = self.path("clusters.csv");
        let pairs = self.path("pairs.csv");
        let _ = fs::remove_file(&out);
        let write = |path: &PathBuf, bytes: &[u8]| {
            fs::write(path, bytes).map_err(|e| Violation(format!("cannot write an input: {e}")))
        };
        let mut inputs = vec![first.clone()];
        let mut truth_column = None;
        match self.part {
            Part::Csv => {
                let Some((&flags, rest)) = data.split_first() else {
                    return Ok(());
                };
                if flags & 1 == 1 {
                    truth_column = Some("entity_id".to_owned());
                }
                write(&spec, FIXED_SPEC.as_bytes())?;
                match rest.iter().position(|&b| b == 0x1e) {
                    Some(at) => {
                        write(&first, &rest[..at])?;
                        write(&second, &rest[at + 1..])?;
                        inputs.push(second.clone());
                    }
                    None => write(&first, rest)?,
                }
            }
            Part::Spec => {
                write(&spec, data)?;
                write(&first, FIXED_CSV.as_bytes())?;
            }
        }
        let args = LinkArgs {
            spec: spec.clone(),
            input: inputs.clone(),
            out: Some(out.clone()),
            pairs: Some(pairs),
            truth_column,
            json: true,
            threshold: None,
            quiet: true,
        };
        match vigil_linkage::cli::run(&args) {
            Ok(()) => ensure(out.is_file(), || {
                format!(
                    "vigil link succeeded without writing clusters: {}",
                    excerpt(data)
                )
            }),
            Err(e) => {
                let message = e.to_string();
                let named = std::iter::once(&spec)
                    .chain(&inputs)
                    .any(|p| message.starts_with(&p.display().to_string()));
                ensure(named, || {
                    format!(
                        "a refusal that names no file: {message:?}; input {}",
                        excerpt(data)
                    )
                })
            }
        }
    }
}
