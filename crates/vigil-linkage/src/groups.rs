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

    /// Turns a row of real-column levels into a row of unit levels: members of
    /// a group become missing (they count through the group), groups are added.
    pub fn unit_row(&self, columns_row: &[u8], out: &mut Vec<u8>) {
        out.clear();
        for (c, &l) in columns_row.iter().enumerate() {
            out.push(if self.member_of[c].is_some() {
                MISSING
            } else {
                l
            });
        }
        for g in 0..self.members.len() {
            out.push(self.group_level(g, columns_row));
        }
    }
}

/// Pairs of columns whose agreement depends on each other among random pairs
/// (`columns_rows`: the real-column levels of random pairs, row by row).
/// Only context-like kinds are considered: names and the sex column are left to
/// the model (relatives' names are the subject of the comparison itself).
/// Random pairs include a few true matches, which agree on everything; in a
/// small file they would make any two rare agreements look dependent. So where
/// the records have names, only pairs whose names do not agree are counted:
/// strangers, whose agreement is what shared context inflates.
pub fn dependent_pairs(columns: &[Column], columns_rows: &[u8]) -> Vec<(usize, usize)> {
    let ncol = columns.len();
    let eligible = |k: ColumnKind| {
        matches!(
            k,
            ColumnKind::Place
                | ColumnKind::Text
                | ColumnKind::Exact
                | ColumnKind::Date
                | ColumnKind::Year
        )
    };
    let mut out = Vec::new();
    if ncol == 0 {
        return out;
    }
    let names: Vec<usize> = (0..ncol)
        .filter(|&c| matches!(columns[c].kind, ColumnKind::Given | ColumnKind::Surname))
        .collect();
    for i in 0..ncol {
        for j in i + 1..ncol {
            if !eligible(columns[i].kind) || !eligible(columns[j].kind) {
                continue;
            }
            let (ti, tj) = (
                columns[i].kind.levels().len() as u8 - 1,
                columns[j].kind.levels().len() as u8 - 1,
            );
            let (mut n, mut ai, mut aj, mut both) = (0u64, 0u64, 0u64, 0u64);
            for row in columns_rows.chunks(ncol) {
                if names
                    .iter()
                    .any(|&c| row[c] != MISSING && agreement(columns[c].kind, row[c]) > 0)
                {
                    continue;
                }
                let (li, lj) = (row[i], row[j]);
                if li == MISSING || lj == MISSING {
                    continue;
                }
                n += 1;
                let (xi, xj) = (li == ti, lj == tj);
                ai += u64::from(xi);
                aj += u64::from(xj);
                both += u64::from(xi && xj);
            }
            // Agreeing together at least LIFT times as often as independence
            // predicts, seen often enough to tell.
            const LIFT: f64 = 4.0;
            const SEEN: u64 = 5;
            if both >= SEEN && (both as f64) * (n as f64) >= LIFT * (ai as f64) * (aj as f64) {
                out.push((i, j));
            }
        }
    }
    out
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
            col("street", ColumnKind::Exact),
            col("postcode", ColumnKind::Exact),
            col("birth", ColumnKind::Exact),
        ];
        // 1,000 random pairs: street and postcode agree together 20 times; birth
        // dates agree 10 times, independently of the rest.
        let mut rows = Vec::new();
        for k in 0..1000 {
            let shared = k % 50 == 0;
            let birth = k % 100 == 7;
            rows.extend([
                2 * u8::from(shared),
                2 * u8::from(shared),
                2 * u8::from(birth),
            ]);
        }
        assert_eq!(dependent_pairs(&columns, &rows), vec![(0, 1)]);
        let groups = join(&columns, &[(0, 1)]);
        assert_eq!(groups, vec![("street+postcode".to_string(), vec![0, 1])]);
    }
}
