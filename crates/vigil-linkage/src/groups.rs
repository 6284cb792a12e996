//! Shared context: fields that move together are scored as one comparison.
//!
//! Fellegi–Sunter adds the evidence of each column as if the columns were
//! independent. Where they are not (the street, number, suburb and postcode of
//! one address; the date, place, police station and court of one action), two
//! strangers who share the context collect its evidence once per field and
//! outweigh different names and birth dates. Here such columns form a *group*:
//! the group gets one comparison level from how many of its members agree, with
//! its own m and u, and its members count nothing on their own. u of the group
//! comes from random pairs, so it is the chance that two strangers share the
//! context *as a whole*; term frequencies on the group's combined value make a
//! context many records share (a block of flats, a mass detention) count less.
//!
//! Groups come from the spec (`[groups]`) and, unless it says
//! `auto_groups = false`, from the data: two columns whose agreement among random
//! pairs is far more frequent together than apart (lift), or one column that
//! copies another, are grouped.

use crate::compare::ColumnKind;
use crate::engine::{Column, MISSING};

/// Labels of a group's levels, the weakest first.
pub const GROUP_LEVELS: &[&str] = &[
    "no member agrees",
    "less than half of the members agree",
    "half or more of the members agree, not all",
    "all members agree, some only in part",
    "all members agree",
];

/// Columns (real ones first, then one per group) and who belongs where.
#[derive(Debug, Clone, Default)]
pub struct Units {
    /// The real columns, then one pseudo-column of kind `Group` per group.
    pub list: Vec<Column>,
    /// How many of `list` are real columns.
    pub ncol: usize,
    /// Per group: its member columns.
    pub members: Vec<Vec<usize>>,
    /// Per real column: the group it is counted in.
    pub member_of: Vec<Option<usize>>,
    /// Per real column: the column it merely copies (it then counts nothing).
    pub copy_of: Vec<Option<usize>>,
    /// Per real column: an identity field (surname, patronymic) that strangers
    /// sharing a context also share (a household's surname at one address) is
    /// scored *given* that context: when the context unit agrees in full, the
    /// column's u is its chance among strangers who share the context, not
    /// among random pairs. `(context unit, u given it)`.
    pub given: Vec<Option<(usize, Vec<f64>)>>,
}

/// How far one member agrees: 0 not at all, 1 in part, 2 fully.
fn agreement(kind: ColumnKind, level: u8) -> u8 {
    let top = kind.levels().len() as u8 - 1;
    if level == top {
        2
    } else if level == 0 || (kind == ColumnKind::Given && level == 1) {
        0
    } else {
        1
    }
}

impl Units {
    /// No groups: every column counts on its own.
    pub fn plain(columns: &[Column]) -> Units {
        Units {
            list: columns.to_vec(),
            ncol: columns.len(),
            members: Vec::new(),
            member_of: vec![None; columns.len()],
            copy_of: vec![None; columns.len()],
            given: vec![None; columns.len()],
        }
    }

    /// Columns grouped as `groups` says (each a set of column indices, named).
    pub fn grouped(columns: &[Column], groups: Vec<(String, Vec<usize>)>) -> Units {
        let mut units = Units::plain(columns);
        for (name, members) in groups {
            if members.len() < 2 {
                continue;
            }
            let g = units.members.len();
            for &c in &members {
                units.member_of[c] = Some(g);
            }
            units.list.push(Column {
                name,
                kind: ColumnKind::Group,
                field: usize::MAX,
            });
            units.members.push(members);
        }
        units
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The level of group `g` from its members' levels in a row of real columns.
    pub fn group_level(&self, g: usize, columns_row: &[u8]) -> u8 {
        let (mut present, mut full, mut any) = (0u32, 0u32, 0u32);
        for &c in &self.members[g] {
            let l = columns_row[c];
            if l == MISSING {
                continue;
            }
            present += 1;
            match agreement(self.list[c].kind, l) {
                2 => {
                    full += 1;
                    any += 1;
                }
                1 => any += 1,
                _ => {}
            }
        }
        if present == 0 {
            MISSING
        } else if full == present {
            4
        } else if any == present {
            3
        } else if any * 2 >= present {
            2
        } else if any > 0 {
            1
        } else {
            0
        }
    }

    /// The u of unit `c` at level `l` in a pair whose unit levels are `row`:
    /// the u given the context where the column has one and the context
    /// agrees in full (then `true`), else `u[c][l]`.
    pub fn u_of(&self, u: &[Vec<f64>], row: &[u8], c: usize, l: u8) -> (f64, bool) {
        if let Some(Some((ctx, given))) = self.given.get(c) {
            let top = self.list[*ctx].kind.levels().len() - 1;
            if row.get(*ctx).is_some_and(|&x| usize::from(x) == top) {
                return (given[l as usize], true);
            }
        }
        (u[c][l as usize], false)
    }

    /// Turns a row of real-column levels into a row of unit levels: members of
    /// a group become missing (they count through the group), and so do copies
    /// of another column (they count nothing); groups are added.
    pub fn unit_row(&self, columns_row: &[u8], out: &mut Vec<u8>) {
        out.clear();
        for (c, &l) in columns_row.iter().enumerate() {
            let counted = self.member_of[c].is_none() && self.copy_of[c].is_none();
            out.push(if counted { l } else { MISSING });
        }
        for g in 0..self.members.len() {
            out.push(self.group_level(g, columns_row));
        }
    }
}

/// Whether a pair looks like two different persons whatever else they share:
/// their given names disagree and so does a date (where the records have
/// them). True matches rarely pass (a given name swapped into the surname field
/// still leaves the birth date agreeing); strangers who share an address, a
/// household or a protest action do.
pub fn stranger(columns: &[Column], row: &[u8]) -> bool {
    let mut has_given = false;
    let mut given_differs = false;
    let mut has_date = false;
    let mut date_differs = false;
    for (c, col) in columns.iter().enumerate() {
        let l = row[c];
        match col.kind {
            ColumnKind::Given => {
                has_given = true;
                given_differs |= l != MISSING && agreement(col.kind, l) == 0;
            }
            ColumnKind::Date | ColumnKind::Year => {
                has_date = true;
                date_differs |= l != MISSING && l == 0;
            }
            _ => {}
        }
    }
    (!has_given || given_differs) && (!has_date || date_differs)
}

/// Columns that the data may put in a group: everything but the parts of a
/// person's name and the sex column, which say who a person is, not where they
/// were. A surname moves with an address or an action in the data (a household
/// shares it; relatives are detained together), but it is an identity field:
/// absorbed into the context's group, it stops telling siblings apart from one
/// person's reports and loses its term frequency. A spec's `[groups]` may still
/// name any column.
pub fn groupable(kind: ColumnKind) -> bool {
    !matches!(
        kind,
        ColumnKind::Given
            | ColumnKind::Surname
            | ColumnKind::Patronymic
            | ColumnKind::Sex
            | ColumnKind::Group
    )
}

/// Agreement counts for finding dependence: among stranger pairs drawn at
/// random, and among stranger pairs drawn from records with the same value of
/// column `i`.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Stranger pairs with both values present, per column.
    pub present: Vec<u64>,
    /// ... of which agreeing fully, per column.
    pub agree: Vec<u64>,
    /// Pairs seen, strangers or not.
    pub pairs: u64,
    /// ... of which strangers.
    pub strangers: u64,
    /// Stranger pairs per column and level (levels of every kind fit in 8).
    pub levels: Vec<[u64; 8]>,
}

impl Tally {
    pub fn new(ncol: usize) -> Tally {
        Tally {
            present: vec![0; ncol],
            agree: vec![0; ncol],
            pairs: 0,
            strangers: 0,
            levels: vec![[0; 8]; ncol],
        }
    }

    /// Adds one pair's row of column levels, if the pair is a stranger pair.
    pub fn add(&mut self, columns: &[Column], row: &[u8]) {
        self.pairs += 1;
        if !stranger(columns, row) {
            return;
        }
        self.strangers += 1;
        for (c, col) in columns.iter().enumerate() {
            let l = row[c];
            if l == MISSING {
                continue;
            }
            self.present[c] += 1;
            self.agree[c] += u64::from(agreement(col.kind, l) == 2);
            if let Some(x) = self.levels[c].get_mut(l as usize) {
                *x += 1;
            }
        }
    }

    fn rate(&self, c: usize) -> Option<f64> {
        (self.present[c] > 0).then(|| self.agree[c] as f64 / self.present[c] as f64)
    }
}

/// Agreeing at least this many times as often as at random makes two columns
/// dependent.
pub const LIFT: f64 = 4.0;
/// Fewest stranger pairs agreeing on both before dependence is believed.
pub const SEEN: u64 = 5;
/// Among strangers who share one column's value, the other must agree at least
/// this often: a few true matches that pass for strangers (a swapped name and a
/// mistyped date) agree on everything, and must not make a rare agreement look
/// dependent.
pub const MIN_RATE: f64 = 0.1;

/// Records that share an identifier are mostly the same person; a column is
/// context only where at least this share of the pairs sharing its value are
/// strangers.
pub const CONTEXT_SHARE: f64 = 0.2;

/// Whether a column is context rather than an identifier, from the pairs that
/// share its values.
pub fn is_context(given: &Tally) -> bool {
    given.pairs > 0 && given.strangers as f64 >= CONTEXT_SHARE * given.pairs as f64
}

/// The columns that depend on column `i`: among strangers who share `i`'s
/// value (`given`), agreement on `j` is at least [`LIFT`] times its rate among
/// random strangers (`random`). None where `i` behaves like an identifier
/// (few of the pairs sharing its value are strangers).
pub fn dependent_on(columns: &[Column], i: usize, random: &Tally, given: &Tally) -> Vec<usize> {
    if !is_context(given) {
        return Vec::new();
    }
    (0..columns.len())
        .filter(|&j| j != i && groupable(columns[j].kind))
        .filter(|&j| {
            let (Some(base), Some(cond)) = (random.rate(j), given.rate(j)) else {
                return false;
            };
            given.agree[j] >= SEEN && cond >= (LIFT * base).max(MIN_RATE)
        })
        .collect()
}

/// Identity fields that a context may explain: surnames and patronymics
/// (relatives share them, and relatives share addresses and actions).
pub fn identity(kind: ColumnKind) -> bool {
    matches!(kind, ColumnKind::Surname | ColumnKind::Patronymic)
}

/// Whether identity column `j` depends on a context: among strangers who share
/// the context (`given`), `j` agrees at least [`LIFT`] times as often as among
/// random strangers. Then its u given the context, level by level (smoothed).
pub fn identity_given(
    columns: &[Column],
    j: usize,
    random: &Tally,
    given: &Tally,
) -> Option<(f64, Vec<f64>)> {
    let base = random.rate(j)?;
    let cond = given.rate(j)?;
    if given.agree[j] < SEEN || cond < (LIFT * base).max(MIN_RATE) {
        return None;
    }
    let nl = columns[j].kind.levels().len();
    let total: u64 = given.levels[j].iter().take(nl).sum();
    let u = (0..nl)
        .map(|l| (given.levels[j][l] as f64 + 0.5) / (total as f64 + 0.5 * nl as f64))
        .collect();
    Some((cond, u))
}

/// Joins pairs into groups (connected sets of columns), each sorted; the name
/// lists the members.
pub fn join(columns: &[Column], pairs: &[(usize, usize)]) -> Vec<(String, Vec<usize>)> {
    let mut root: Vec<usize> = (0..columns.len()).collect();
    fn find(root: &mut [usize], x: usize) -> usize {
        let mut x = x;
        while root[x] != x {
            root[x] = root[root[x]];
            x = root[x];
        }
        x
    }
    for &(a, b) in pairs {
        let (ra, rb) = (find(&mut root, a), find(&mut root, b));
        if ra != rb {
            root[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for c in 0..columns.len() {
        let r = find(&mut root, c);
        groups.entry(r).or_default().push(c);
    }
    groups
        .into_values()
        .filter(|m| m.len() >= 2)
        .map(|m| {
            let name = m
                .iter()
                .map(|&c| columns[c].name.as_str())
                .collect::<Vec<_>>()
                .join("+");
            (name, m)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: ColumnKind) -> Column {
        Column {
            name: name.into(),
            kind,
            field: 0,
        }
    }

    #[test]
    fn group_levels_follow_how_many_members_agree() {
        let columns = vec![
            col("street", ColumnKind::Text),
            col("postcode", ColumnKind::Exact),
            col("suburb", ColumnKind::Place),
            col("name", ColumnKind::Surname),
        ];
        let units = Units::grouped(&columns, vec![("address".into(), vec![0, 1, 2])]);
        assert_eq!(units.len(), 5);
        assert_eq!(units.group_level(0, &[3, 2, 2, 0]), 4);
        assert_eq!(units.group_level(0, &[2, 2, 2, 0]), 3);
        assert_eq!(units.group_level(0, &[0, 2, 2, 0]), 2);
        assert_eq!(units.group_level(0, &[0, 0, 1, 0]), 1);
        assert_eq!(units.group_level(0, &[0, 0, 0, 4]), 0);
        assert_eq!(
            units.group_level(0, &[MISSING, MISSING, MISSING, 4]),
            MISSING
        );
        let mut row = Vec::new();
        units.unit_row(&[3, 2, 0, 4], &mut row);
        assert_eq!(row, vec![MISSING, MISSING, MISSING, 4, 2]);
    }

    #[test]
    fn dependence_is_found_in_fields_that_move_together_only() {
        let columns = vec![
            col("given", ColumnKind::Given),
            col("street", ColumnKind::Exact),
            col("postcode", ColumnKind::Exact),
            col("birth", ColumnKind::Date),
        ];
        // Strangers (different given names and dates): at random, postcodes agree
        // 1 in 50; among those who share a street, 4 in 5.
        let mut random = Tally::new(4);
        let mut given = Tally::new(4);
        for k in 0..1000 {
            random.add(&columns, &[0, 0, 2 * u8::from(k % 50 == 0), 0]);
            given.add(&columns, &[0, 2, 2 * u8::from(k % 5 != 0), 0]);
        }
        assert_eq!(dependent_on(&columns, 1, &random, &given), vec![2]);
        // A column whose shared values belong mostly to one person is an
        // identifier, not context.
        let mut id = given.clone();
        for _ in 0..5000 {
            id.add(&columns, &[6, 2, 2, 5]);
        }
        assert!(dependent_on(&columns, 1, &random, &id).is_empty());
        // The same counts from pairs that are not strangers are not counted.
        let mut matches = Tally::new(4);
        for _ in 0..1000 {
            matches.add(&columns, &[6, 2, 2, 5]);
        }
        assert_eq!(matches.present, vec![0, 0, 0, 0]);
        let groups = join(&columns, &[(1, 2)]);
        assert_eq!(groups, vec![("street+postcode".to_string(), vec![1, 2])]);
    }
}
