//! Unit properties of the host choice's index against a full scan.

use std::borrow::Cow;

use proptest::prelude::*;

use super::Row;
use super::choice::{Candidate, Movable};
use crate::farm::{Assignment, HostRecord};

/// Roles that can be wanted; one more (number 3) is held but no
/// longer declared.
const WANTED_ROLES: usize = 3;
const HELD_ROLES: usize = 4;

fn host(i: usize) -> HostRecord {
    HostRecord::new(format!("h{i:03}"), Vec::new())
}

/// Host `i`: the role it holds, its load, and the wanted roles it fits
/// (a bit each).
type Spec = (Option<usize>, u8, u8);

fn spec() -> impl Strategy<Value = Spec> {
    (proptest::option::of(0..HELD_ROLES), 0u8..3, 0u8..8)
}

/// One move: the wanted role and each held role's surplus (`None`: may
/// not give a host now).
fn request() -> impl Strategy<Value = (usize, Vec<Option<i64>>)> {
    (
        0..WANTED_ROLES,
        proptest::collection::vec(proptest::option::of(-2i64..3), HELD_ROLES),
    )
}

/// The rule `Movable::choose` implements, by looking at every host.
fn by_looking_at_every_host(
    list: &[Candidate<'_>],
    taken: &[bool],
    fits: &dyn Fn(usize) -> bool,
    role: usize,
    surplus: &[Option<i64>],
) -> Option<usize> {
    list.iter()
        .enumerate()
        .filter(|(i, c)| !taken[*i] && c.role != Some(role) && fits(*i))
        .filter_map(|(i, c)| {
            let s = match c.role {
                None => 0,
                Some(from) => surplus[from]?,
            };
            Some((i, c, s))
        })
        .min_by(|x, y| {
            x.1.rank
                .cmp(&y.1.rank)
                .then(y.2.cmp(&x.2))
                .then(x.1.load.total_cmp(&y.1.load))
        })
        .map(|(i, _, _)| i)
}

proptest! {
    #[test]
    fn choose_takes_the_host_a_full_scan_would(
        specs in proptest::collection::vec(spec(), 0..40),
        requests in proptest::collection::vec(request(), 1..30),
    ) {
        let hosts: Vec<HostRecord> = (0..specs.len()).map(host).collect();
        let rows: Vec<Row<'_>> = hosts
            .iter()
            .map(|h| Row { host: h, assignment: Cow::Owned(Assignment::active(None, 0)), alive: true, obs: None })
            .collect();
        let candidates = || -> Vec<Candidate<'_>> {
            rows.iter()
                .zip(&specs)
                .map(|(row, &(role, load, _))| Candidate {
                    row,
                    role,
                    rank: role.map_or(0, |r| if r == 1 { 1 } else { 2 }),
                    load: f64::from(load),
                })
                .collect()
        };
        let reference = candidates();
        let mut taken = vec![false; reference.len()];
        let fits_index = |i: usize, role: usize| specs[i].2 & (1 << role) != 0;
        let mut movable = Movable::new(candidates(), HELD_ROLES, WANTED_ROLES);
        for (role, surplus) in requests {
            let expected = by_looking_at_every_host(&reference, &taken, &|i| fits_index(i, role), role, &surplus);
            let fits = |c: &Candidate<'_>| {
                let i = hosts.iter().position(|h| std::ptr::eq(h, c.row.host)).expect("a listed host");
                fits_index(i, role)
            };
            let got = movable
                .choose(role, fits, |from| surplus[from])
                .map(|c| hosts.iter().position(|h| std::ptr::eq(h, c.row.host)).expect("a listed host"));
            prop_assert_eq!(got, expected);
            if let Some(i) = expected {
                taken[i] = true;
            }
        }
    }
}
