//! A pre-filter for scoring: the first units of the scoring order packed into
//! a few words per record, so that a candidate pair that cannot reach the kept
//! probability is ruled out without reading the records' rows, their name
//! values or their keys' strings (each a likely cache miss at a million
//! records). The filter only ever rules out a pair that the exact comparison
//! would leave at the same unit or sooner: for every unit it takes an upper
//! bound of what the exact level's bound would be (the exact value where the
//! packed words tell the level, the largest of the levels they leave possible
//! otherwise), so the pairs kept and their scores do not change.

use super::{Dataset, MISSING, RecordBounds, ScorePlan, Value, date_level, swap_below};
use crate::compare::ColumnKind;
use crate::date::PartialDate;
use crate::groups::Units;

/// At most this many units, one word of 64 bits each per record (a cache line).
const WORDS: usize = 8;

const TAG_SHIFT: u32 = 60;
const MISSING_TAG: u64 = 0;
const DATE: u64 = 1;
const YEAR: u64 = 2;
const EXACT: u64 = 3;
const NAME: u64 = 4;
/// The value is there but the packed word cannot tell its level (a name
/// given as an initial, or with several keys): the unit counts its best.
const UNKNOWN: u64 = 5;
/// A group's members' values, hashed: equal when all agree in full.
const GROUP: u64 = 6;
/// An identifier of at most 7 bytes, held whole: its length (3 bits) and bytes.
const SHORT: u64 = 7;
/// A text: how many words (4 bits) and a bit (of 56) per word.
const TEXT: u64 = 8;

/// A name's word: its key (24 bits), letters (26), length (6) and whether it
/// is a form of known given names (1).
const KEY_BITS: u32 = 24;
const LETTERS_AT: u32 = 24;
const LEN_AT: u32 = 50;
const CANON_AT: u32 = 56;

#[derive(Debug, Clone, Copy)]
struct Covered {
    /// The unit (a real column or a group).
    unit: usize,
    kind: ColumnKind,
    /// The level a given name or surname takes when written in the other's field.
    swapped: Option<u8>,
}

/// One record's words: one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u64; WORDS]);

pub(super) struct Quick {
    covered: Vec<Covered>,
    /// One line per record, in the order of the scoring layout.
    lines: Vec<Line>,
}

impl Quick {
    /// Packs the first `WORDS` units of the plan's order that the words can
    /// tell, for the records in `order` (the layout scoring reads in).
    pub(super) fn new(data: &Dataset, plan: &ScorePlan, units: &Units, order: &[u32]) -> Quick {
        let ncol = data.columns.len();
        let mut covered = Vec::new();
        for &c in plan.order.iter().take(WORDS) {
            let kind = units.list[c].kind;
            let swapped = kind
                .swapped_level()
                .filter(|_| c < ncol && data.swap_partner(c).is_some());
            covered.push(Covered {
                unit: c,
                kind,
                swapped,
            });
        }
        let mut lines = vec![Line([0; WORDS]); order.len()];
        for (line, &r) in lines.iter_mut().zip(order) {
            let row = &data.values[r as usize * ncol..(r as usize + 1) * ncol];
            for (w, cov) in line.0.iter_mut().zip(&covered) {
                *w = if cov.unit < ncol {
                    data.pack(row[cov.unit], cov.kind)
                } else {
                    data.pack_group(row, &units.members[cov.unit - ncol])
                };
            }
        }
        Quick { covered, lines }
    }

    /// Reads record `y`'s line, so that a batch of pairs waits for its
    /// second records' lines together rather than one after another.
    pub(super) fn touch(&self, y: usize) -> u64 {
        self.lines.get(y).map_or(0, |l| l.0[0])
    }

    /// How many units the filter looks at.
    pub(super) fn units(&self) -> usize {
        self.covered.len()
    }

    /// True when records `x` and `y` (positions in the layout) cannot reach
    /// the kept probability: the exact comparison would leave them too.
    pub(super) fn rules_out(
        &self,
        plan: &ScorePlan,
        bounds: &RecordBounds,
        x: usize,
        y: usize,
    ) -> bool {
        if self.covered.is_empty() {
            return false;
        }
        let (Some(wa), Some(wb)) = (self.lines.get(x), self.lines.get(y)) else {
            return false;
        };
        let (wa, wb) = (&wa.0, &wb.0);
        let mut bound = bounds.start;
        for ((cov, &a), &b) in self.covered.iter().zip(wa).zip(wb) {
            let q = upper(plan, bounds, cov, a, b);
            bound += q - bounds.best[cov.unit];
            if bound < plan.keep_weight {
                return true;
            }
        }
        false
    }
}

fn tag(t: u64) -> u64 {
    t << TAG_SHIFT
}

impl Dataset {
    /// Packs one value of a covered column into its word.
    fn pack(&self, v: Value, kind: ColumnKind) -> u64 {
        let word = match v {
            Value::Missing => return tag(MISSING_TAG),
            Value::Date(d) => {
                let m = d.month.map_or(0, |m| u64::from(m) + 1);
                let day = d.day.map_or(0, |x| u64::from(x) + 1);
                tag(DATE) | (u64::from(d.year) << 18) | (m << 9) | day
            }
            Value::Year(y) => tag(YEAR) | u64::from(y),
            Value::Exact(x) => {
                let text = self.interner.get(x).as_bytes();
                if text.len() <= 7 {
                    let mut bytes = [0u8; 8];
                    bytes[..text.len()].copy_from_slice(text);
                    return tag(SHORT) | ((text.len() as u64) << 56) | u64::from_le_bytes(bytes);
                }
                let len = text.len() as u64;
                tag(EXACT) | (len.min(0xFF_FFFF) << 32) | u64::from(x)
            }
            Value::Name(id) => {
                let n = &self.names[id as usize];
                let key = n.keys[0];
                let len = self.interner.get(key).len() as u64;
                if n.only_initial || n.n != 1 || len == 0 || len >= 64 || key >> KEY_BITS != 0 {
                    return tag(UNKNOWN);
                }
                // Letters as `Interner` holds them (bit `byte % 64`), folded to
                // 26 bits: one bit per Latin letter, so the bound is the same
                // for keys of Latin letters and never lower for others.
                let all = self.interner.letters[key as usize];
                let low = (1u64 << 26) - 1;
                let letters = (all & low) | ((all >> 26) & low) | (all >> 52);
                let canon = u64::from(!self.canon_sets[n.canon as usize].is_empty());
                tag(NAME)
                    | (canon << CANON_AT)
                    | (len << LEN_AT)
                    | (letters << LETTERS_AT)
                    | u64::from(key)
            }
            Value::Text(t) => {
                let words = &self.texts[t as usize];
                if words.is_empty() || words.len() > 15 {
                    return tag(UNKNOWN);
                }
                let mask = words.iter().fold(0u64, |m, &w| {
                    m | 1 << (super::mix(0x7E47, u64::from(w), 0) % 56)
                });
                tag(TEXT) | ((words.len() as u64) << 56) | mask
            }
        };
        // A kind of value the column does not compare this way: unknown.
        let fits = match kind {
            ColumnKind::Date => word >> TAG_SHIFT == DATE,
            ColumnKind::Year | ColumnKind::Sex => word >> TAG_SHIFT == YEAR,
            ColumnKind::Exact => matches!(word >> TAG_SHIFT, EXACT | SHORT),
            ColumnKind::Text => word >> TAG_SHIFT == TEXT,
            _ => word >> TAG_SHIFT == NAME,
        };
        if fits { word } else { tag(UNKNOWN) }
    }

    /// Packs a record's values of a group's members: a hash of the values
    /// whose full agreement is one token (a name's key, a full date, an
    /// identifier); unknown when a member is missing or cannot be told so.
    fn pack_group(&self, row: &[Value], members: &[usize]) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = super::FastHasher::default();
        for &m in members {
            let token = match row[m] {
                Value::Name(id) => {
                    let n = &self.names[id as usize];
                    if n.only_initial || n.n != 1 {
                        return tag(UNKNOWN);
                    }
                    u64::from(n.keys[0])
                }
                Value::Date(d) if d.precision() == crate::date::Precision::Day => {
                    (u64::from(d.year) << 16)
                        | (u64::from(d.month.unwrap_or(0)) << 8)
                        | u64::from(d.day.unwrap_or(0))
                }
                Value::Exact(x) => u64::from(x),
                Value::Year(y) => u64::from(y),
                // A text agrees in full only when its words are the same.
                Value::Text(t) => {
                    let mut th = super::FastHasher::default();
                    self.texts[t as usize].hash(&mut th);
                    th.finish()
                }
                _ => return tag(UNKNOWN),
            };
            token.hash(&mut h);
        }
        tag(GROUP) | (h.finish() >> 8)
    }
}

fn unpack_date(w: u64) -> PartialDate {
    let field = |x: u64| (x != 0).then(|| (x - 1) as u8);
    PartialDate {
        year: ((w >> 18) & 0xFFFF) as u16,
        month: field((w >> 9) & 0x1FF),
        day: field(w & 0x1FF),
    }
}

/// An upper bound of `plan.upper(unit, level)` for the exact level of the pair.
fn upper(plan: &ScorePlan, bounds: &RecordBounds, cov: &Covered, a: u64, b: u64) -> f64 {
    let c = cov.unit;
    let (ta, tb) = (a >> TAG_SHIFT, b >> TAG_SHIFT);
    if ta == MISSING_TAG || tb == MISSING_TAG {
        return plan.upper(c, MISSING);
    }
    if ta == UNKNOWN || tb == UNKNOWN {
        return bounds.best[c];
    }
    let level = |l: u8| bounds.upper(plan, c, l);
    if ta == SHORT || tb == SHORT {
        return identifier_upper(a, b, level);
    }
    if ta != tb {
        // Values of two kinds are not compared (the exact level is missing).
        return plan.upper(c, MISSING);
    }
    match ta {
        DATE => level(date_level(&unpack_date(a), &unpack_date(b))),
        YEAR => {
            let (x, y) = ((a & 0xFFFF) as u16, (b & 0xFFFF) as u16);
            level(if cov.kind == ColumnKind::Sex {
                u8::from(x == y)
            } else {
                match x.abs_diff(y) {
                    0 => 2,
                    1 => 1,
                    _ => 0,
                }
            })
        }
        EXACT => {
            if a as u32 == b as u32 {
                level(2)
            } else if ((a >> 32) & 0xFF_FFFF).abs_diff((b >> 32) & 0xFF_FFFF) > 1 {
                // Lengths more than one apart are more than one edit apart.
                level(0)
            } else {
                level(0).max(level(1))
            }
        }
        TEXT => {
            let mask = (1u64 << 56) - 1;
            if a & b & mask == 0 {
                // No word in common.
                level(0)
            } else if a == b {
                (0..=3).map(level).fold(f64::NEG_INFINITY, f64::max)
            } else {
                // Not the same words (their count or bits differ).
                (0..=2).map(level).fold(f64::NEG_INFINITY, f64::max)
            }
        }
        GROUP => {
            if a == b {
                // All members agree in full, or (rarely) the hashes meet.
                bounds.best[c]
            } else {
                let top = (cov.kind.levels().len() - 1) as u8;
                (0..top).map(level).fold(f64::NEG_INFINITY, f64::max)
            }
        }
        _ => name_upper(plan, bounds, cov, a, b),
    }
}

/// The bound for two identifiers, one of them held whole: exact when both are.
fn identifier_upper(a: u64, b: u64, level: impl Fn(u8) -> f64) -> f64 {
    let len = |w: u64| match w >> TAG_SHIFT {
        SHORT => (w >> 56) & 7,
        _ => (w >> 32) & 0xFF_FFFF,
    };
    if len(a).abs_diff(len(b)) > 1 {
        // Lengths more than one apart are more than one edit apart.
        return level(0);
    }
    if a >> TAG_SHIFT != SHORT || b >> TAG_SHIFT != SHORT {
        return level(0).max(level(1));
    }
    let bytes = |w: u64| {
        let all = w.to_le_bytes();
        let mut out = [0u8; 7];
        out.copy_from_slice(&all[..7]);
        (out, len(w) as usize)
    };
    let ((x, lx), (y, ly)) = (bytes(a), bytes(b));
    let (x, y) = (&x[..lx], &y[..ly]);
    level(if x == y {
        2
    } else {
        u8::from(super::at_most_one_edit(x, y))
    })
}

/// The bound for two names (or places) that each have one key and more than an initial.
fn name_upper(plan: &ScorePlan, bounds: &RecordBounds, cov: &Covered, a: u64, b: u64) -> f64 {
    let c = cov.unit;
    let kind = cov.kind;
    let level = |l: u8| bounds.upper(plan, c, l);
    let top = (kind.levels().len() - 1) as u8;
    let key = |w: u64| w & ((1 << KEY_BITS) - 1);
    if key(a) == key(b) {
        return level(top);
    }
    let canon = |w: u64| (w >> CANON_AT) & 1;
    let (ca, cb) = (canon(a), canon(b));
    let mut possible: [u8; 4] = [MISSING; 4];
    if kind == ColumnKind::Given && ca != 0 && cb != 0 {
        // Two known names: a form of one another (6) or two people (0).
        possible[0] = 0;
        possible[1] = 6;
    } else {
        let len = |w: u64| ((w >> LEN_AT) & 63) as f64;
        let (lx, ly) = (len(a), len(b));
        let letters = |w: u64| (w >> LETTERS_AT) & ((1 << 26) - 1);
        let (mx, my) = (letters(a), letters(b));
        // The same bound as `Interner::similarity_bound`.
        let only_x = f64::from((mx & !my).count_ones());
        let only_y = f64::from((my & !mx).count_ones());
        let m = (lx - only_x).min(ly - only_y).max(0.0);
        let jaro = (m / lx + m / ly + 1.0) / 3.0;
        let bound = 0.6 * jaro + 0.4 + 1e-9;
        let (low, steps): (u8, &[(f64, u8)]) = match kind {
            ColumnKind::Given => (1, &[(0.80, 4), (0.92, 5)]),
            ColumnKind::Surname => (0, &[(0.80, 3), (0.92, 4)]),
            ColumnKind::Patronymic => (0, &[(0.88, 2)]),
            _ => (0, &[(0.88, 1)]),
        };
        possible[0] = low;
        for (k, &(at, l)) in steps.iter().enumerate() {
            if bound >= at {
                possible[k + 1] = l;
            }
        }
    }
    let mut q = f64::NEG_INFINITY;
    let mut below_swap = false;
    for &l in possible.iter().filter(|&&l| l != MISSING) {
        q = q.max(level(l));
        below_swap |= l < swap_below(kind);
    }
    if let Some(s) = cov.swapped
        && below_swap
    {
        q = q.max(level(s));
    }
    q
}

#[cfg(test)]
mod tests {
    use super::super::tests::small_detentions_linked;
    use super::super::{KEEP_PROBABILITY, Patterns, probability, split_pair};
    use super::*;

    /// Every candidate pair the packed values rule out scores below the kept
    /// probability in full, and so does every pair the first record's own
    /// bound rules out; the filter does rule out most strangers.
    #[test]
    fn packed_values_rule_out_only_pairs_full_scoring_leaves() {
        let (data, linkage, pairs) = small_detentions_linked();
        let (model, tf) = (&linkage.model, &linkage.tf);
        let units = &model.units;
        let plan = ScorePlan::new(model, tf, &Patterns::new(units.len()));
        let order: Vec<u32> = (0..data.len() as u32).collect();
        let quick = Quick::new(&data, &plan, units, &order);
        assert!(quick.units() >= 4, "{}", quick.units());
        let mut bounds = RecordBounds::new(&plan);
        let (mut ruled_out, mut kept) = (0, 0);
        for &p in &pairs {
            let (a, b) = split_pair(p);
            let (a, b) = (a as usize, b as usize);
            let row = data.unit_levels(units, a, b);
            let w = plan.prior
                + (0..row.len())
                    .map(|c| data.bits(model, tf, &row, c, a, b))
                    .sum::<f64>();
            bounds.set(&plan, tf, a);
            assert!(w <= bounds.start + 1e-9, "{w} > {}", bounds.start);
            let keep = probability(w) >= KEEP_PROBABILITY;
            kept += usize::from(keep);
            if quick.rules_out(&plan, &bounds, a, b) {
                ruled_out += 1;
                assert!(!keep, "pair {a} {b} ruled out at weight {w}");
            }
        }
        assert!(kept > 100, "{kept}");
        assert!(
            ruled_out * 2 > pairs.len(),
            "{ruled_out} of {}",
            pairs.len()
        );
    }
}
