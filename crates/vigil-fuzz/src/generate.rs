//! Deterministic inputs for `cargo test`: the committed seeds, mutated the way
//! a fuzzer would (bit flips, cuts, copies, splices, and tokens that matter to
//! each format), from a fixed seed, so that CI runs the targets on the same few
//! hundred inputs every time without AFL.

/// A small, fast generator (SplitMix64); the same seed gives the same inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// A seed for a target's name, so each target gets its own sequence.
    pub fn for_target(name: &str, seed: u64) -> Self {
        let mixed = name.bytes().fold(seed ^ 0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Rng(mixed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Tokens worth inserting into each target's inputs.
pub fn dictionary(target: &str) -> Vec<&'static str> {
    const COMMON: &[&str] = &[
        "\0",
        "\r\n",
        "\n",
        "\"",
        "'",
        "\\",
        "<script>alert(1)</script>",
        "%",
        "&",
        "=",
        "+",
        "\u{feff}",
        "\u{202e}",
        "\u{ffff}",
        "😀",
        "й",
        "Ё",
        "\t",
        " ",
        "-1",
        "0",
        "1e999",
        "18446744073709551616",
        "9223372036854775807",
        "-9223372036854775808",
        "NaN",
        "null",
    ];
    const JSON: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"text\":",
        "\"urgent\":",
        "\"contact\":",
        "\"lang\":",
        "\"ids\":",
        "true",
        "false",
        "\"\\ud800\"",
        "\"\\u0000\"",
        "\"en\"",
        "\"ru\"",
        "\"reports\":",
        "\"id\":",
        "\"receipt_hash\":",
        "\"sealed\":",
        "\"received\":",
        "\"2024-02-29\"",
        "\"0000-01-01\"",
        "\"+10000-01-01\"",
        "\"00000000000000000000000000000000\"",
        "\"YWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\"",
        "\"====\"",
        "1.5",
        "-0",
    ];
    const FORM: &[&str] = &[
        "text=",
        "&urgent=on",
        "&contact=",
        "&lang=en",
        "&lang=ru",
        "%FF",
        "%00",
        "%D0%B9",
        "%3Cscript%3E",
        "+",
        "&&",
        "==",
        "text[]=",
        "lang=%E0%A4",
    ];
    const TOML: &[&str] = &[
        "version = 1\n",
        "version = 2\n",
        "listen = \"127.0.0.1:0\"\n",
        "listen = \"[::1]:8080\"\n",
        "database_url = \"sqlite:/tmp/x.db\"\n",
        "recipients = []\n",
        "desk_token_sha256 = \"\"\n",
        "max_body_bytes = -1\n",
        "intake_url = \"http://127.0.0.1:1\"\n",
        "intake_token = \"t\"\n",
        "pull_interval_secs = 0\n",
        "secure_cookies = false\n",
        "[table]\n",
        "[[array]]\n",
        "'''",
        "\"\"\"",
        "inf",
        "nan",
        "1979-05-27T07:32:00Z",
        "0x10",
        "1_000",
        "= ",
        "#",
        "threshold = 0.5\n",
        "max_block = 2\n",
        "[fields]\n",
        "id = \"rec_id\"\n",
        "a = \"person_name\"\n",
        "b = \"year\"\n",
        "c = \"exact\"\n",
        "threshold = 1e-300\n",
    ];
    const CSV: &[&str] = &[
        ",",
        "\"",
        "\"\"",
        "\r\n",
        "\n",
        "rec_id",
        "entity_id",
        "given_name",
        "surname",
        "date",
        "31.02.2001",
        "00.00.0000",
        "2024-13-45",
        "1969",
        "9999999999",
        "0",
        "ё",
        "Ё",
        "Александр",
        "Alexander",
        "Aleksandr",
        "ская",
        "-",
        ".",
        "  ",
        "Санкт-Петербург",
    ];
    const MANIFEST: &[&str] = &[
        "{",
        "}",
        "\"format\":",
        "\"vigil-release-v1\"",
        "\"released\":",
        "\"public_key\":",
        "\"files\":",
        "\"../outside.txt\"",
        "\"/etc/passwd\"",
        "\"./index.html\"",
        "\"data//reports.csv\"",
        "\"index.html/\"",
        "\"\"",
        "\n--sig--\n",
    ];
    match target {
        "intake_json" | "desk_pull" | "sealed_envelope" => [COMMON, JSON].concat(),
        "intake_form" => [COMMON, FORM].concat(),
        "intake_config" | "desk_config" | "linkage_spec" => [COMMON, TOML].concat(),
        "linkage_csv" => [COMMON, CSV].concat(),
        "release_manifest" => [COMMON, JSON, MANIFEST].concat(),
        _ => COMMON.to_vec(),
    }
}

/// One input made from the seeds: a seed with one to four mutations.
pub fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], dictionary: &[&str]) -> Vec<u8> {
    let mut out = if seeds.is_empty() {
        Vec::new()
    } else {
        seeds[rng.below(seeds.len())].clone()
    };
    for _ in 0..1 + rng.below(4) {
        // Keep the first byte (the mode) more often than not.
        let start = usize::from(!out.is_empty() && rng.below(4) != 0);
        let len = out.len();
        let at = start + rng.below(len.saturating_sub(start) + 1);
        match rng.below(9) {
            0 if at < len => out[at] ^= 1 << rng.below(8),
            1 if at < len => out[at] = rng.next_u64() as u8,
            2 => {
                let token = dictionary[rng.below(dictionary.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            3 if at < len => {
                let end = (at + 1 + rng.below(16)).min(len);
                out.drain(at..end);
            }
            4 if at < len => {
                let end = (at + 1 + rng.below(32)).min(len);
                let chunk = out[at..end].to_vec();
                let repeat = 1 + rng.below(8);
                for _ in 0..repeat {
                    out.splice(at..at, chunk.iter().copied());
                }
            }
            5 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            6 => out.truncate(at),
            7 if at < len => {
                // A byte that matters to parsers: quotes, separators, high bits.
                const SPECIAL: &[u8] = b"\"',;:=[]{}<>\\\n\r\t\x00\x1e\x7f\x80\xc0\xd0\xff";
                out[at] = SPECIAL[rng.below(SPECIAL.len())];
            }
            _ => {
                let token = dictionary[rng.below(dictionary.len())].as_bytes();
                let end = (at + token.len()).min(len);
                out.splice(at..end, token.iter().copied());
            }
        }
    }
    out.truncate(256 * 1024);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let seeds = vec![b"0{\"text\": \"hello\"}".to_vec()];
        let dict = dictionary("intake_json");
        let a: Vec<_> = {
            let mut r = Rng::for_target("intake_json", 1);
            (0..50).map(|_| mutate(&mut r, &seeds, &dict)).collect()
        };
        let mut r = Rng::for_target("intake_json", 1);
        let b: Vec<_> = (0..50).map(|_| mutate(&mut r, &seeds, &dict)).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|x| x != &seeds[0]));
    }
}
