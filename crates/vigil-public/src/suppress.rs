//! The small-number rule (docs/methodology.md, "Small numbers"): a count broken
//! down by a person's attributes (gender, age group, role, and any cross-table
//! of them) that is above zero and below `k` is withheld (primary suppression),
//! and further cells are withheld (complementary suppression) until no withheld
//! cell can be worked out from the published cells and totals.
//!
//! A table is a set of cells and the sums that tie them (a row and its total, a
//! column and its total). A withheld cell is recoverable when the published
//! numbers determine it exactly: when its unit vector lies in the row space of
//! the sums restricted to the withheld cells. That is checked exactly, in
//! integers, after the usual "never one withheld cell alone in a sum" pass.

/// The smallest `k` vigil accepts: below it suppression protects nobody.
pub const MIN_K: u64 = 3;
/// The default `k` (config `public.k`).
pub const DEFAULT_K: u64 = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KError {
    #[error(
        "public.k = {0}: порог должен быть не меньше 3 / the threshold must be at least 3 (default 5): \
         smaller counts identify people"
    )]
    TooSmall(u64),
}

/// Checks a configured threshold.
pub fn check_k(k: u64) -> Result<u64, KError> {
    if k < MIN_K {
        Err(KError::TooSmall(k))
    } else {
        Ok(k)
    }
}

/// One sum: the cells (by index) with coefficient +1 add up to the cell with
/// coefficient -1 (a total), i.e. `Σ coef·value = 0`.
pub type Sum = Vec<(usize, i64)>;

/// Cells and their sums. `suppress` returns which cells to withhold.
#[derive(Debug, Clone)]
pub struct Grid {
    pub values: Vec<u64>,
    pub sums: Vec<Sum>,
}

impl Grid {
    /// A cross-table of `rows × cols` with a total column, a total row and the
    /// grand total. Cell `(r, c)` is at `r * (cols + 1) + c`; `c == cols` is
    /// the row's total, `r == rows` the column's total.
    pub fn cross(values: &[Vec<u64>]) -> Grid {
        let rows = values.len();
        let cols = values.first().map_or(0, Vec::len);
        let w = cols + 1;
        let mut cells = vec![0u64; (rows + 1) * w];
        for (r, row) in values.iter().enumerate() {
            for (c, v) in row.iter().enumerate().take(cols) {
                cells[r * w + c] = *v;
                cells[r * w + cols] += *v;
                cells[rows * w + c] += *v;
                cells[rows * w + cols] += *v;
            }
        }
        let mut sums = Vec::new();
        for r in 0..=rows {
            let mut s: Sum = (0..cols).map(|c| (r * w + c, 1)).collect();
            s.push((r * w + cols, -1));
            sums.push(s);
        }
        for c in 0..=cols {
            let mut s: Sum = (0..rows).map(|r| (r * w + c, 1)).collect();
            s.push((rows * w + c, -1));
            sums.push(s);
        }
        Grid {
            values: cells,
            sums,
        }
    }

    /// A list of counts and their total: cell `n` is the total.
    pub fn list(values: &[u64]) -> Grid {
        let mut cells = values.to_vec();
        cells.push(values.iter().sum());
        let n = values.len();
        let mut s: Sum = (0..n).map(|i| (i, 1)).collect();
        s.push((n, -1));
        Grid {
            values: cells,
            sums: vec![s],
        }
    }

    /// Which cells to withhold under threshold `k`.
    pub fn suppress(&self, k: u64) -> Vec<bool> {
        let mut hidden: Vec<bool> = self.values.iter().map(|&v| v > 0 && v < k).collect();
        // Bounded: each pass withholds at least one more cell or stops.
        for _ in 0..=self.values.len() {
            let mut changed = false;
            for s in &self.sums {
                if s.iter().filter(|(i, _)| hidden[*i]).count() == 1 {
                    changed |= self.hide_partner(s, &mut hidden);
                }
            }
            if changed {
                continue;
            }
            let Some(cell) = recoverable(self, &hidden).into_iter().next() else {
                break;
            };
            // Withhold one more cell in a sum that holds the recoverable one.
            let mut any = false;
            for s in self
                .sums
                .iter()
                .filter(|s| s.iter().any(|(i, _)| *i == cell))
            {
                if self.hide_partner(s, &mut hidden) {
                    any = true;
                    break;
                }
            }
            if !any {
                break;
            }
        }
        hidden
    }

    /// Withholds the smallest published cell of a sum (a positive one if any).
    fn hide_partner(&self, s: &Sum, hidden: &mut [bool]) -> bool {
        let pick = s
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| !hidden[*i])
            .min_by_key(|i| (self.values[*i] == 0, self.values[*i], *i));
        match pick {
            Some(i) => {
                hidden[i] = true;
                true
            }
            None => false,
        }
    }
}

/// The withheld cells that the published cells and the sums determine exactly.
pub fn recoverable(grid: &Grid, hidden: &[bool]) -> Vec<usize> {
    let vars: Vec<usize> = (0..grid.values.len()).filter(|i| hidden[*i]).collect();
    if vars.is_empty() {
        return Vec::new();
    }
    let col = |cell: usize| vars.iter().position(|v| *v == cell);
    let rows: Vec<Vec<i128>> = grid
        .sums
        .iter()
        .map(|s| {
            let mut r = vec![0i128; vars.len()];
            for (cell, coef) in s {
                if let Some(c) = col(*cell) {
                    r[c] += i128::from(*coef);
                }
            }
            r
        })
        .filter(|r| r.iter().any(|x| *x != 0))
        .collect();
    let base = rank(rows.clone());
    vars.iter()
        .enumerate()
        .filter(|(c, _)| {
            let mut with = rows.clone();
            let mut unit = vec![0i128; vars.len()];
            unit[*c] = 1;
            with.push(unit);
            rank(with) == base
        })
        .map(|(_, cell)| *cell)
        .collect()
}

/// The rank of an integer matrix, by fraction-free elimination.
fn rank(mut m: Vec<Vec<i128>>) -> usize {
    let cols = m.first().map_or(0, Vec::len);
    let mut r = 0;
    for c in 0..cols {
        let Some(p) = (r..m.len()).find(|i| m[*i][c] != 0) else {
            continue;
        };
        m.swap(r, p);
        let pivot = m[r].clone();
        for (i, row) in m.iter_mut().enumerate() {
            if i == r || row[c] == 0 {
                continue;
            }
            let (a, b) = (pivot[c], row[c]);
            for (x, y) in row.iter_mut().zip(&pivot) {
                *x = *x * a - y * b;
            }
            let g = row.iter().fold(0i128, |g, x| gcd(g, x.abs()));
            if g > 1 {
                for x in row.iter_mut() {
                    *x /= g;
                }
            }
        }
        r += 1;
    }
    r
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn k_below_three_is_refused() {
        assert_eq!(check_k(2), Err(KError::TooSmall(2)));
        assert_eq!(check_k(3), Ok(3));
        assert!(KError::TooSmall(2).to_string().contains("at least 3"));
    }

    #[test]
    fn a_small_cell_and_a_partner_are_withheld() {
        // Row 0: 2 and 10 (total 12); row 1: 7 and 9 (16).
        let g = Grid::cross(&[vec![2, 10], vec![7, 9]]);
        let hidden = g.suppress(5);
        assert!(hidden[0], "the 2 is below k");
        assert!(recoverable(&g, &hidden).is_empty());
        // Its row and its column each hold a second withheld cell.
        let in_row = [0, 1, 2].iter().filter(|i| hidden[**i]).count();
        let in_col = [0, 3, 6].iter().filter(|i| hidden[**i]).count();
        assert!(in_row >= 2 && in_col >= 2, "{hidden:?}");
    }

    #[test]
    fn nothing_small_nothing_withheld() {
        let g = Grid::cross(&[vec![5, 10], vec![0, 9]]);
        assert!(g.suppress(5).iter().all(|h| !h));
    }

    #[test]
    fn a_list_withholds_two() {
        let g = Grid::list(&[1, 20, 30]);
        let hidden = g.suppress(5);
        assert_eq!(hidden, vec![true, true, false, false]);
        assert!(recoverable(&g, &hidden).is_empty());
    }

    #[test]
    fn recoverable_finds_a_lone_cell() {
        let g = Grid::list(&[1, 20, 30]);
        assert_eq!(recoverable(&g, &[true, false, false, false]), vec![0]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn no_withheld_cell_is_recoverable(
            rows in 1usize..5,
            cols in 1usize..5,
            cells in proptest::collection::vec(0u64..12, 16),
            k in 3u64..7,
        ) {
            let values: Vec<Vec<u64>> = (0..rows)
                .map(|r| (0..cols).map(|c| cells[r * 4 + c]).collect())
                .collect();
            let g = Grid::cross(&values);
            let hidden = g.suppress(k);
            // Every small cell is withheld ...
            for (i, v) in g.values.iter().enumerate() {
                if *v > 0 && *v < k {
                    prop_assert!(hidden[i], "cell {i} = {v} published");
                }
            }
            // ... and none can be worked out from what is published.
            prop_assert!(recoverable(&g, &hidden).is_empty(), "{values:?} {hidden:?}");
        }
    }
}
