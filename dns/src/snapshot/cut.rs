//! Zone cuts: an NS RRset below the apex delegates its name and everything
//! under it (RFC 1034 §4.2.1). Queries there get a referral — AA clear,
//! NOERROR, no answer, the cut's NS RRset in authority, glue in additional
//! (RFC 1034 §4.3.2 step 3b) — except DS at the cut itself, which the parent
//! side holds (RFC 4035 §3.1.4.1): NODATA, authoritatively.
//!
//! The cut's own name holds a referral compressed against it; every name
//! below shares one written with whole names (it must follow questions of
//! any length), so it is larger and truncates sooner over plain UDP.

use std::collections::{BTreeMap, BTreeSet};

use hickory_proto::rr::{Name, RecordType};

use super::{
    Additional, Fallback, Layout, Prepared, prepare, suffixes, write_addresses, write_negative_soa, write_set,
};
use crate::wire::{name_to_wire, rcode, rtype};
use crate::zone::{RecordData, Zone};

/// The topmost zone cuts of a zone (a cut below another is only data
/// below the outer one).
pub(super) struct Cuts {
    /// Lowercase wire name -> name.
    tops: BTreeMap<Vec<u8>, Name>,
}

impl Cuts {
    pub(super) fn of(zone: &Zone) -> Self {
        let origin = zone.origin();
        let all: BTreeMap<Vec<u8>, &Name> = zone
            .sets()
            .filter(|(owner, t, _)| *t == RecordType::NS && *owner != origin)
            .map(|(owner, _, _)| (name_to_wire(owner), owner))
            .collect();
        let tops = all
            .iter()
            .filter(|(wire, _)| !suffixes(wire).skip(1).any(|s| all.contains_key(s)))
            .map(|(wire, name)| (wire.clone(), (*name).clone()))
            .collect();
        Self { tops }
    }

    /// The cut at or above `wire`, if any.
    fn enclosing<'w>(&self, wire: &'w [u8]) -> Option<&'w [u8]> {
        if self.tops.is_empty() {
            return None;
        }
        suffixes(wire).find(|s| self.tops.contains_key(*s))
    }

    /// True when `wire` is a cut or lies below one: not authoritative data.
    pub(super) fn covers(&self, wire: &[u8]) -> bool {
        self.enclosing(wire).is_some()
    }

    /// True when `wire` lies below a cut (not at it).
    pub(super) fn strictly_below(&self, wire: &[u8]) -> bool {
        self.enclosing(wire).is_some_and(|cut| cut.len() < wire.len())
    }

    /// Every cut as (wire, name).
    pub(super) fn iter(&self) -> impl Iterator<Item = (&[u8], &Name)> {
        self.tops.iter().map(|(wire, name)| (wire.as_slice(), name))
    }
}

/// What the cut's own name answers: the referral for every type but DS.
pub(super) fn fallback(zone: &Zone, origin_wire: &[u8], cut_wire: &[u8], cut: &Name) -> Fallback {
    let ds_nodata = prepare(
        cut_wire,
        Layout::ANSWER,
        |w, _| {
            write_negative_soa(w, zone, origin_wire);
            [0, 1]
        },
        |_| Additional::default(),
    );
    let rest = referral(zone, cut_wire, cut, true).unwrap_or_else(|| {
        // Unreachable: a cut is a name with an NS RRset.
        prepare(cut_wire, REFERRAL, |_, _| [0, 0], |_| Additional::default())
    });
    Fallback {
        by_type: vec![(rtype::DS, ds_nodata)],
        rest,
    }
}

const REFERRAL: Layout = Layout {
    flags: 0,
    rcode: rcode::NOERROR,
    compress: true,
};

/// The referral to `cut`, compressed against a question for the cut itself
/// when `compress`, otherwise with whole names, to follow any question.
pub(super) fn referral(zone: &Zone, cut_wire: &[u8], cut: &Name, compress: bool) -> Option<Prepared> {
    let ns = zone.get(cut, RecordType::NS)?;
    Some(prepare(
        cut_wire,
        Layout { compress, ..REFERRAL },
        |w, _| [0, write_set(w, cut_wire, ns)],
        |w| {
            // RFC 9471: glue for name servers below the cut (in-domain)
            // must fit or the reply is truncated; the rest of the zone's
            // (sibling glue) is dropped when it does not fit.
            let targets: BTreeSet<&Name> = ns.data.iter().filter_map(RecordData::target).collect();
            let (in_domain, sibling): (Vec<&Name>, Vec<&Name>) = targets
                .into_iter()
                .filter(|t| zone.origin().zone_of(t))
                .partition(|t| cut.zone_of(t));
            let mut extra = Additional::default();
            let mut count = 0;
            for target in in_domain {
                write_addresses(
                    w,
                    zone,
                    target,
                    &name_to_wire(target),
                    &mut count,
                    &mut extra.cuts,
                );
            }
            extra.must_fit = extra.cuts.len();
            for target in sibling {
                // Glue below another cut is still the zone's to give.
                write_addresses(
                    w,
                    zone,
                    target,
                    &name_to_wire(target),
                    &mut count,
                    &mut extra.cuts,
                );
            }
            extra
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::SoaFields;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).expect("name")
    }

    fn wire(s: &str) -> Vec<u8> {
        name_to_wire(&name(s))
    }

    #[test]
    fn only_topmost_cuts_below_the_apex_count() {
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
        for (owner, target) in [
            ("example.", "ns.example."),
            ("sub.example.", "ns.sub.example."),
            ("in.sub.example.", "ns.x."),
        ] {
            zone.add(&name(owner), 60, RecordData::Ns(name(target)))
                .expect("ns");
        }
        let cuts = Cuts::of(&zone);
        let all: Vec<&[u8]> = cuts.iter().map(|(w, _)| w).collect();
        assert_eq!(all, vec![wire("sub.example.").as_slice()]);
        assert!(!cuts.covers(&wire("example.")));
        assert!(!cuts.covers(&wire("xsub.example.")), "whole labels only");
        assert!(cuts.covers(&wire("sub.example.")));
        assert!(!cuts.strictly_below(&wire("sub.example.")));
        assert!(cuts.strictly_below(&wire("ns.sub.example.")));
        assert!(cuts.strictly_below(&wire("a.in.sub.example.")));
    }
}
