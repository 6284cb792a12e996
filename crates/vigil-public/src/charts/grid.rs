//! A grid map of Russia's regions: one square per region, placed roughly where
//! the region lies (west to east, north to south), as Russian data journalists
//! draw them. Every region is drawn, labelled with its short code, coloured by
//! its count in five steps, with a legend; a region the layout does not know
//! (an admin's own addition) goes on an extra row at the bottom.

use std::fmt::Write as _;

use super::{Labels, esc, open};

/// `(ISO code, column, row)`.
const LAYOUT: &[(&str, u32, u32)] = &[
    ("RU-MUR", 3, 0),
    ("RU-NEN", 6, 0),
    ("RU-YAN", 9, 0),
    ("RU-KYA", 11, 0),
    ("RU-SA", 13, 0),
    ("RU-MAG", 15, 0),
    ("RU-CHU", 16, 0),
    ("RU-KR", 2, 1),
    ("RU-ARK", 4, 1),
    ("RU-KO", 6, 1),
    ("RU-KHM", 9, 1),
    ("RU-TOM", 10, 1),
    ("RU-IRK", 12, 1),
    ("RU-KHA", 14, 1),
    ("RU-KAM", 16, 1),
    ("RU-SPE", 1, 2),
    ("RU-LEN", 2, 2),
    ("RU-VLG", 3, 2),
    ("RU-KOS", 4, 2),
    ("RU-KIR", 5, 2),
    ("RU-PER", 6, 2),
    ("RU-SVE", 7, 2),
    ("RU-TYU", 8, 2),
    ("RU-NVS", 9, 2),
    ("RU-KEM", 10, 2),
    ("RU-BU", 12, 2),
    ("RU-AMU", 13, 2),
    ("RU-SAK", 16, 2),
    ("RU-KGD", 0, 3),
    ("RU-PSK", 1, 3),
    ("RU-NGR", 2, 3),
    ("RU-TVE", 3, 3),
    ("RU-YAR", 4, 3),
    ("RU-IVA", 5, 3),
    ("RU-ME", 6, 3),
    ("RU-UD", 7, 3),
    ("RU-KGN", 8, 3),
    ("RU-OMS", 9, 3),
    ("RU-KK", 10, 3),
    ("RU-ZAB", 12, 3),
    ("RU-YEV", 13, 3),
    ("RU-PRI", 14, 3),
    ("RU-SMO", 1, 4),
    ("RU-MOW", 2, 4),
    ("RU-MOS", 3, 4),
    ("RU-VLA", 4, 4),
    ("RU-NIZ", 5, 4),
    ("RU-CU", 6, 4),
    ("RU-TA", 7, 4),
    ("RU-BA", 8, 4),
    ("RU-CHE", 9, 4),
    ("RU-ALT", 10, 4),
    ("RU-TY", 11, 4),
    ("RU-BRY", 1, 5),
    ("RU-KLU", 2, 5),
    ("RU-TUL", 3, 5),
    ("RU-RYA", 4, 5),
    ("RU-MO", 5, 5),
    ("RU-ULY", 6, 5),
    ("RU-SAM", 7, 5),
    ("RU-ORE", 8, 5),
    ("RU-AL", 10, 5),
    ("RU-KRS", 1, 6),
    ("RU-ORL", 2, 6),
    ("RU-LIP", 3, 6),
    ("RU-TAM", 4, 6),
    ("RU-PNZ", 5, 6),
    ("RU-SAR", 6, 6),
    ("RU-BEL", 1, 7),
    ("RU-VOR", 2, 7),
    ("RU-ROS", 3, 7),
    ("RU-VGG", 4, 7),
    ("RU-KL", 5, 7),
    ("UA-40", 0, 8),
    ("UA-43", 1, 8),
    ("RU-KDA", 2, 8),
    ("RU-AD", 3, 8),
    ("RU-STA", 4, 8),
    ("RU-AST", 5, 8),
    ("RU-KC", 2, 9),
    ("RU-KB", 3, 9),
    ("RU-SE", 4, 9),
    ("RU-IN", 5, 9),
    ("RU-CE", 6, 9),
    ("RU-DA", 7, 9),
];

const CELL: u32 = 34;
const COLS: u32 = 17;

/// Five fills, light to dark, and grey for none (good in greyscale print too).
const FILLS: [&str; 5] = ["#fde0c5", "#f9a77a", "#eb6a4a", "#c13434", "#7a0f1e"];
const NONE: &str = "#eeeeee";

/// The step of a count: 0 is none; otherwise 1..=5 by share of the largest.
fn step(v: u64, max: u64) -> usize {
    if v == 0 || max == 0 {
        return 0;
    }
    let s = (v.saturating_mul(5)).div_ceil(max);
    usize::try_from(s).unwrap_or(5).clamp(1, 5)
}

fn short(code: &str) -> &str {
    match code {
        // Crimea and Sevastopol keep Ukrainian ISO codes (numbers): name them.
        "UA-43" => "CRI",
        "UA-40" => "SEV",
        _ => code.rsplit('-').next().unwrap_or(code),
    }
}

/// `regions`: every region to draw, as `(code, name, count)`.
pub fn grid_map(l: &Labels<'_>, regions: &[(String, String, u64)], legend_none: &str) -> String {
    let max = regions.iter().map(|r| r.2).max().unwrap_or(0);
    let mut extra = 0u32;
    let mut placed: Vec<(u32, u32, &(String, String, u64))> = Vec::new();
    for r in regions {
        match LAYOUT.iter().find(|(c, _, _)| *c == r.0) {
            Some((_, x, y)) => placed.push((*x, *y, r)),
            None => {
                placed.push((extra % COLS, 10 + extra / COLS, r));
                extra += 1;
            }
        }
    }
    let rows = placed.iter().map(|p| p.1).max().unwrap_or(0) + 1;
    let width = COLS * CELL + 8;
    let map_h = rows * CELL;
    let height = map_h + 56;
    let mut out = String::new();
    open(&mut out, l, width, height);
    for (x, y, (code, name, v)) in &placed {
        let s = step(*v, max);
        let fill = if s == 0 { NONE } else { FILLS[s - 1] };
        let text_class = if s >= 3 { "gl dark" } else { "gl" };
        let px = 4 + x * CELL;
        let py = y * CELL;
        let _ = write!(
            out,
            "<g><title>{}: {v}</title><rect x=\"{px}\" y=\"{py}\" width=\"{w}\" height=\"{w}\" fill=\"{fill}\" stroke=\"#555\" stroke-width=\"0.5\"/>\
             <text class=\"{text_class}\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
            esc(name),
            px + CELL / 2 - 1,
            py + CELL / 2 + 3,
            esc(short(code)),
            w = CELL - 2,
        );
    }
    // Legend: grey for none, then each step's lower bound.
    let ly = map_h + 14;
    let _ = write!(
        out,
        "<rect x=\"4\" y=\"{ly}\" width=\"14\" height=\"14\" fill=\"{NONE}\" stroke=\"#555\" stroke-width=\"0.5\"/>\
         <text class=\"tick\" x=\"22\" y=\"{}\">{}</text>",
        ly + 11,
        esc(legend_none)
    );
    for (i, fill) in FILLS.iter().enumerate() {
        let i64_ = u64::try_from(i).unwrap_or(0);
        let low = if max == 0 { 0 } else { (max * i64_) / 5 + 1 };
        let high = (max * (i64_ + 1)) / 5;
        let x = 90 + u32::try_from(i).unwrap_or(0) * 96;
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{ly}\" width=\"14\" height=\"14\" fill=\"{fill}\" stroke=\"#555\" stroke-width=\"0.5\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{}\">{low}–{high}</text>",
            x + 18,
            ly + 11
        );
    }
    let _ = write!(
        out,
        "<text class=\"axis\" x=\"4\" y=\"{}\">{}</text></svg>",
        ly + 34,
        esc(l.value_axis)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_square_has_its_own_place() {
        let mut seen = std::collections::HashSet::new();
        for (code, x, y) in LAYOUT {
            assert!(*x < COLS, "{code}");
            assert!(seen.insert((x, y)), "{code} overlaps another region");
        }
        assert_eq!(LAYOUT.len(), 85);
    }

    #[test]
    fn steps_cover_zero_to_max() {
        assert_eq!(step(0, 100), 0);
        assert_eq!(step(1, 100), 1);
        assert_eq!(step(100, 100), 5);
        assert_eq!(step(41, 100), 3);
    }

    #[test]
    fn unknown_regions_get_a_row_and_all_are_labelled() {
        let l = Labels {
            id: "m",
            title: "t",
            desc: "d",
            value_axis: "detentions",
            category_axis: "region",
        };
        let svg = grid_map(
            &l,
            &[
                ("RU-MOW".into(), "Москва".into(), 1462),
                ("XX-NEW".into(), "New".into(), 0),
            ],
            "none",
        );
        assert!(svg.contains(">MOW</text>") && svg.contains(">NEW</text>"));
        assert!(svg.contains("<title>Москва: 1462</title>"));
        assert!(svg.contains(FILLS[4]));
    }
}
