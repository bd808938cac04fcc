//! Aliases: a query at a name that owns a CNAME, for any other type, is
//! answered with the CNAME and the chase of its target inside the zone
//! (RFC 1034 §4.3.2 step 3a, RFC 2181 §10.1): every CNAME of the chain, then
//! the final name's RRset of the asked type. The RCODE and authority belong
//! to the end of the chain (RFC 6604): NXDOMAIN with the SOA when the final
//! name does not exist, NODATA (NOERROR with the SOA) when it lacks the
//! type. A chain that leaves the zone, enters a delegation, loops, or grows
//! past [`MAX_CHAIN`] ends where it is: the CNAMEs alone, NOERROR.
//!
//! A name with a CNAME beside other data (which the checks refuse, RFC
//! 2181 §10.1) still answers its own RRsets for their types; a chase passes
//! through such a name along its CNAME.
//!
//! Precomputed per alias, one answer per type present at the chain's end
//! plus one for every other type, because bodies compressed against their
//! own question cannot be joined at query time.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::{Name, RecordType};

use super::cut::Cuts;
use super::{Additional, Fallback, Layout, Prepared, glue, prepare, write_negative_soa, write_set};
use crate::wire::{name_to_wire, rcode, rtype};
use crate::zone::{RecordData, RecordSet, Zone};

/// The most CNAME records one answer carries.
pub(super) const MAX_CHAIN: usize = 8;

/// One alias's chain: (owner wire, CNAME RRset) links from the alias on,
/// and the in-zone name it ends at, when it ends at one.
struct Chain<'z> {
    links: Vec<(Vec<u8>, &'z RecordSet)>,
    end: Option<(&'z Name, Vec<u8>)>,
}

/// The fallback answers of every alias that the zone answers for (not
/// below a cut), keyed by the alias's wire name. `exists` tells whether a
/// name (wire) exists in the zone, empty non-terminals included.
pub(super) fn chases(
    zone: &Zone,
    cuts: &Cuts,
    origin_wire: &[u8],
    exists: impl Fn(&[u8]) -> bool,
) -> Vec<(Vec<u8>, Fallback)> {
    let chains: Vec<Chain<'_>> = zone
        .sets()
        .filter(|(_, t, _)| *t == RecordType::CNAME)
        .filter_map(|(owner, _, _)| follow(zone, cuts, owner))
        .collect();
    if chains.is_empty() {
        return Vec::new();
    }

    // The RRsets at the ends of the chains, by end.
    let ends: BTreeSet<&[u8]> = chains
        .iter()
        .filter_map(|c| c.end.as_ref().map(|(_, wire)| wire.as_slice()))
        .collect();
    let mut at_end: BTreeMap<Vec<u8>, Vec<(RecordType, &RecordSet)>> = BTreeMap::new();
    for (owner, rtype, set) in zone.sets() {
        let wire = name_to_wire(owner);
        if ends.contains(wire.as_slice()) {
            at_end.entry(wire).or_default().push((rtype, set));
        }
    }

    chains
        .iter()
        .filter_map(|chain| {
            let owner_wire = chain.links.first()?.0.clone();
            let fallback = answers(zone, cuts, origin_wire, chain, &at_end, &exists);
            Some((owner_wire, fallback))
        })
        .collect()
}

/// Follows the chain from `owner`, if the zone answers for `owner`.
fn follow<'z>(zone: &'z Zone, cuts: &Cuts, owner: &'z Name) -> Option<Chain<'z>> {
    let mut links: Vec<(Vec<u8>, &RecordSet)> = Vec::new();
    let mut at = owner;
    loop {
        let wire = name_to_wire(at);
        if !zone.origin().zone_of(at) || cuts.covers(&wire) {
            // Out of the zone, or out of its authoritative data.
            break;
        }
        let Some(set) = zone.get(at, RecordType::CNAME) else {
            return Some(Chain {
                links,
                end: Some((at, wire)),
            });
        };
        if links.len() == MAX_CHAIN || links.iter().any(|(seen, _)| *seen == wire) {
            break;
        }
        let next = set.data.iter().find_map(|d| match d {
            RecordData::Cname(target) => Some(target),
            _ => None,
        });
        links.push((wire, set));
        match next {
            Some(target) => at = target,
            None => break,
        }
    }
    // The alias itself below a cut is the referral's business.
    (!links.is_empty()).then_some(Chain { links, end: None })
}

/// The answers at the alias that starts `chain`.
fn answers(
    zone: &Zone,
    cuts: &Cuts,
    origin_wire: &[u8],
    chain: &Chain<'_>,
    at_end: &BTreeMap<Vec<u8>, Vec<(RecordType, &RecordSet)>>,
    exists: &impl Fn(&[u8]) -> bool,
) -> Fallback {
    let qname = chain
        .links
        .first()
        .map_or(origin_wire, |(wire, _)| wire.as_slice());
    let write_links = |w: &mut crate::wire::Writer| {
        chain
            .links
            .iter()
            .fold(0u16, |n, (wire, set)| n.saturating_add(write_set(w, wire, set)))
    };
    let Some((_, end_wire)) = &chain.end else {
        let rest = prepare(
            qname,
            Layout::ANSWER,
            |w, _| [write_links(w), 0],
            |_| Additional::default(),
        );
        return Fallback {
            by_type: Vec::new(),
            rest,
        };
    };

    let mut by_type: Vec<(u16, Prepared)> = Vec::new();
    if end_wire.as_slice() == origin_wire {
        let soa = zone.soa();
        let answer = prepare(
            qname,
            Layout::ANSWER,
            |w, _| {
                let n = write_links(w);
                w.soa(end_wire, zone.serial(), soa, soa.ttl);
                [n.saturating_add(1), 0]
            },
            |_| Additional::default(),
        );
        by_type.push((rtype::SOA, answer));
    }
    for (rtype, set) in at_end.get(end_wire).into_iter().flatten() {
        let answer = prepare(
            qname,
            Layout::ANSWER,
            |w, _| {
                let n = write_links(w);
                [n.saturating_add(write_set(w, end_wire, set)), 0]
            },
            |w| glue(w, zone, cuts, set),
        );
        by_type.push(((*rtype).into(), answer));
    }

    let rcode = if exists(end_wire) {
        rcode::NOERROR
    } else {
        rcode::NXDOMAIN
    };
    let rest = prepare(
        qname,
        Layout {
            rcode,
            ..Layout::ANSWER
        },
        |w, _| {
            let n = write_links(w);
            write_negative_soa(w, zone, origin_wire);
            [n, 1]
        },
        |_| Additional::default(),
    );
    Fallback { by_type, rest }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::SoaFields;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).expect("name")
    }

    fn zone(aliases: &[(&str, &str)]) -> Zone {
        let soa = SoaFields {
            mname: name("ns.example."),
            rname: name("h.example."),
            refresh: 1,
            retry: 1,
            expire: 1,
            minimum: 1,
            ttl: 1,
        };
        let mut zone = Zone::new(&name("example."), 1, soa).expect("zone");
        for (owner, target) in aliases {
            zone.add(&name(owner), 60, RecordData::Cname(name(target)))
                .expect("cname");
        }
        zone
    }

    /// (links, end) of the chain from `owner`.
    fn chain(zone: &Zone, owner: &str) -> (usize, Option<Name>) {
        let cuts = Cuts::of(zone);
        let owner = zone
            .sets()
            .map(|(o, _, _)| o)
            .find(|o| **o == name(owner))
            .expect("an alias");
        let chain = follow(zone, &cuts, owner).expect("a chain");
        (chain.links.len(), chain.end.map(|(n, _)| n.clone()))
    }

    #[test]
    fn chains_end_at_a_name_outside_or_in_a_loop() {
        let z = zone(&[
            ("a.example.", "b.example."),
            ("b.example.", "c.example."),
            ("o.example.", "x.org."),
        ]);
        assert_eq!(chain(&z, "a.example."), (2, Some(name("c.example."))));
        assert_eq!(chain(&z, "o.example."), (1, None));
        let z = zone(&[("a.example.", "b.example."), ("b.example.", "a.example.")]);
        assert_eq!(chain(&z, "a.example."), (2, None));
        let z = zone(&[("self.example.", "self.example.")]);
        assert_eq!(chain(&z, "self.example."), (1, None));
    }

    #[test]
    fn chains_stop_after_max_chain_links() {
        let names: Vec<String> = (0..=MAX_CHAIN + 1).map(|i| format!("l{i}.example.")).collect();
        let pairs: Vec<(&str, &str)> = names.windows(2).map(|w| (w[0].as_str(), w[1].as_str())).collect();
        let z = zone(&pairs);
        assert_eq!(chain(&z, "l0.example."), (MAX_CHAIN, None));
        assert_eq!(
            chain(&z, "l1.example."),
            (MAX_CHAIN, Some(name(&names[MAX_CHAIN + 1])))
        );
    }
}
