//! A zone compiled for answering: every answer precomputed as wire bytes.
//!
//! A [`Snapshot`] is immutable. For each owner name (and every ancestor up to
//! the apex, so empty non-terminals exist) it holds, per record type, the
//! answer, authority and additional sections already encoded with name
//! compression, laid out as if the question name sat at offset 12 — where the
//! query's own question name will sit, with the same length whatever its case.
//! Answering a query is then a hash lookup and two copies.
//!
//! Two kinds of names answer more than their own RRsets, and hold those
//! answers precomputed too ([`Fallback`]): a name that owns a CNAME holds the
//! chase of its chain for every type ([`cname`]), and a zone cut holds its
//! referral ([`cut`]). Names below a cut are not in the map at all: a query
//! for one finds its cut among the question's suffixes and gets a referral
//! written without compression, which is right after any question.

mod cname;
mod cut;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use hickory_proto::rr::{Name, RecordType};

use crate::wire::{HEADER_LEN, NameBuf, Writer, flags, name_to_wire, rcode, rtype};
use crate::zone::{RecordData, RecordSet, Zone, ZoneDiff};
use cut::Cuts;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Precomputed sections of one reply.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Answer, authority and additional sections, compressed against a
    /// question at offset 12 (or not compressed at all, for referrals below
    /// a cut, which follow questions of any length).
    pub(crate) body: Box<[u8]>,
    /// Answer record count.
    pub(crate) answers: u16,
    /// Authority record count.
    pub(crate) authority: u16,
    /// Header flags besides QR, RD and CD: AA, or nothing for a referral.
    pub(crate) flags: u16,
    /// The RCODE.
    pub(crate) rcode: u8,
    /// Bytes of `body` that must fit (the answer and authority sections, and
    /// a referral's in-domain glue): an answer that cannot carry them is
    /// truncated.
    pub(crate) required: usize,
    /// After each additional RRset: (end offset in `body`, records so far).
    /// Additional data is dropped whole RRsets at a time from the end
    /// (RFC 2181 §9: no TC for missing additional data).
    pub(crate) additional_cuts: Box<[(usize, u16)]>,
}

/// Everything known about one owner name. As small as a `Vec`: the map's
/// buckets stay the size they were before aliases and cuts.
#[derive(Debug, Default)]
pub(crate) struct NameEntry {
    /// (type, answer) for the name's own RRsets, in type order.
    pub(crate) sets: Box<[(u16, Prepared)]>,
    /// What the name answers for other types, when that is not NODATA.
    pub(crate) other: Option<Box<Fallback>>,
}

/// A [`NameEntry`] while the snapshot is compiled.
#[derive(Default)]
struct Building {
    sets: Vec<(u16, Prepared)>,
    other: Option<Box<Fallback>>,
}

/// The answers of a name for the types it owns no RRset of: the chase of
/// its CNAME, or the referral of the zone cut it is.
#[derive(Debug)]
pub(crate) struct Fallback {
    /// Answers for particular types: a CNAME chain ending at an RRset of
    /// that type, or the parent side's NODATA for DS at a cut.
    pub(crate) by_type: Vec<(u16, Prepared)>,
    /// The answer to every other type.
    pub(crate) rest: Prepared,
}

impl NameEntry {
    /// The answer to a query of `qtype` at this name; `None` is NODATA.
    #[inline]
    pub(crate) fn answer(&self, qtype: u16) -> Option<&Prepared> {
        if qtype == rtype::ANY {
            return self.any();
        }
        if let Some(p) = self.get(qtype) {
            return Some(p);
        }
        let other = self.other.as_deref()?;
        Some(
            other
                .by_type
                .iter()
                .find(|(t, _)| *t == qtype)
                .map_or(&other.rest, |(_, p)| p),
        )
    }

    #[inline]
    fn get(&self, qtype: u16) -> Option<&Prepared> {
        self.sets.iter().find(|(t, _)| *t == qtype).map(|(_, p)| p)
    }

    /// The answer to a query of type ANY: one RRset (RFC 8482 §4.1) — the
    /// SOA at the apex, the CNAME at an alias, otherwise the first in type
    /// order — or a cut's referral.
    fn any(&self) -> Option<&Prepared> {
        self.get(rtype::SOA)
            .or_else(|| self.get(rtype::CNAME))
            .or_else(|| self.sets.first().map(|(_, p)| p))
            .or_else(|| self.other.as_deref().map(|o| &o.rest))
    }
}

/// A zone ready to serve, at one serial.
#[derive(Debug)]
pub struct Snapshot {
    zone: Zone,
    origin_wire: Box<[u8]>,
    names: FastMap<Box<[u8]>, NameEntry>,
    /// Topmost zone cut -> its referral without compression, for the names
    /// below it (which are not in `names`). Empty in most zones.
    below_cuts: FastMap<Box<[u8]>, Prepared>,
    /// SOA type..RDATA with uncompressed names and the negative TTL
    /// min(SOA TTL, MINIMUM) (RFC 2308 §3); its owner is written as a pointer
    /// to the apex inside the question name.
    negative_soa: Box<[u8]>,
    history: Vec<Arc<ZoneDiff>>,
}

impl Snapshot {
    /// Compiles `zone`. `history` holds the diffs that lead up to it, oldest first.
    pub fn compile(zone: Zone, history: Vec<Arc<ZoneDiff>>) -> Self {
        let origin_wire: Box<[u8]> = name_to_wire(zone.origin()).into();
        let cuts = Cuts::of(&zone);
        let mut names: FastMap<Box<[u8]>, Building> = FastMap::default();

        // Owners and their ancestors up to the apex: empty non-terminals are
        // names too (RFC 8020), they answer NODATA. Names below a cut are
        // not ours to answer.
        names.entry(origin_wire.clone()).or_default();
        for (owner, _, _) in zone.sets() {
            let wire = name_to_wire(owner);
            if cuts.strictly_below(&wire) {
                continue;
            }
            for suffix in suffixes(&wire).take_while(|s| s.len() >= origin_wire.len()) {
                if !names.contains_key(suffix) {
                    names.insert(suffix.into(), Building::default());
                }
            }
        }

        let soa = zone.soa();
        let apex_soa = prepare(
            &origin_wire,
            Layout::ANSWER,
            |w, qname| {
                w.soa(qname, zone.serial(), soa, soa.ttl);
                [1, 0]
            },
            |_| Additional::default(),
        );
        if let Some(apex) = names.get_mut(&origin_wire) {
            apex.sets.push((rtype::SOA, apex_soa));
        }
        for (owner, rtype, set) in zone.sets() {
            let owner_wire = name_to_wire(owner);
            if cuts.covers(&owner_wire) {
                continue;
            }
            let prepared = prepare(
                &owner_wire,
                Layout::ANSWER,
                |w, qname| [write_set(w, qname, set), 0],
                |w| glue(w, &zone, &cuts, set),
            );
            if let Some(entry) = names.get_mut(owner_wire.as_slice()) {
                entry.sets.push((rtype.into(), prepared));
            }
        }

        let mut below_cuts = FastMap::default();
        for (cut_wire, cut_name) in cuts.iter() {
            if let Some(entry) = names.get_mut(cut_wire) {
                entry.other = Some(Box::new(cut::fallback(&zone, &origin_wire, cut_wire, cut_name)));
            }
            if let Some(referral) = cut::referral(&zone, cut_wire, cut_name, false) {
                below_cuts.insert(cut_wire.into(), referral);
            }
        }
        for (owner_wire, fallback) in cname::chases(&zone, &cuts, &origin_wire, |w| names.contains_key(w)) {
            if let Some(entry) = names.get_mut(owner_wire.as_slice()) {
                entry.other = Some(Box::new(fallback));
            }
        }

        let names = names
            .into_iter()
            .map(|(name, mut entry)| {
                entry.sets.sort_by_key(|(t, _)| *t);
                let entry = NameEntry {
                    sets: entry.sets.into_boxed_slice(),
                    other: entry.other,
                };
                (name, entry)
            })
            .collect();

        let mut neg = Writer::new();
        neg.soa_tail(zone.serial(), soa, soa.ttl.min(soa.minimum), false);

        Self {
            origin_wire,
            names,
            below_cuts,
            negative_soa: neg.into_bytes().into(),
            history,
            zone,
        }
    }

    /// The zone this snapshot serves.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    /// The SOA serial every answer from this snapshot carries.
    pub fn serial(&self) -> u32 {
        self.zone.serial()
    }

    /// The diffs leading to this snapshot, oldest first (for IXFR).
    pub fn history(&self) -> &[Arc<ZoneDiff>] {
        &self.history
    }

    pub(crate) fn origin_wire(&self) -> &[u8] {
        &self.origin_wire
    }

    pub(crate) fn lookup(&self, lower_qname: &[u8]) -> Option<&NameEntry> {
        self.names.get(lower_qname)
    }

    /// The referral for a name that is not in the map because it lies
    /// below a zone cut; `apex_at` is where the apex starts in `qname`.
    #[inline(always)]
    pub(crate) fn referral_below(&self, qname: &NameBuf, apex_at: usize) -> Option<&Prepared> {
        if self.below_cuts.is_empty() {
            return None;
        }
        self.find_referral_below(qname, apex_at)
    }

    #[inline(never)]
    fn find_referral_below(&self, qname: &NameBuf, apex_at: usize) -> Option<&Prepared> {
        qname
            .suffixes()
            .skip(1)
            .take_while(|(at, _)| *at < apex_at)
            .find_map(|(_, suffix)| self.below_cuts.get(suffix))
    }

    pub(crate) fn negative_soa(&self) -> &[u8] {
        &self.negative_soa
    }
}

/// The header fields of a precomputed reply, and whether its names may be
/// compressed against the question.
#[derive(Clone, Copy)]
struct Layout {
    flags: u16,
    rcode: u8,
    compress: bool,
}

impl Layout {
    /// Authoritative data: AA, NOERROR.
    const ANSWER: Self = Self {
        flags: flags::AA,
        rcode: rcode::NOERROR,
        compress: true,
    };
}

/// The additional section written after the answer and authority.
#[derive(Default)]
struct Additional {
    /// (end offset in the writer, records so far) after each RRset.
    cuts: Vec<(usize, u16)>,
    /// How many leading RRsets must fit, or the reply is truncated.
    must_fit: usize,
}

/// Encodes the sections that follow a question for `qname`: `sections`
/// writes the answer and authority records and returns their counts,
/// `additional` writes the additional records.
fn prepare(
    qname: &[u8],
    layout: Layout,
    sections: impl FnOnce(&mut Writer, &[u8]) -> [u16; 2],
    additional: impl FnOnce(&mut Writer) -> Additional,
) -> Prepared {
    let mut w = if layout.compress {
        Writer::new()
    } else {
        Writer::uncompressed()
    };
    w.bytes(&[0; HEADER_LEN]);
    w.learn_name(qname, HEADER_LEN);
    w.bytes(qname);
    w.bytes(&[0; 4]);
    let start = w.len();
    let [answers, authority] = sections(&mut w, qname);
    let mut required = w.len() - start;
    let extra = additional(&mut w);
    if let Some(&(end, _)) = extra.must_fit.checked_sub(1).and_then(|i| extra.cuts.get(i)) {
        required = end - start;
    }
    let bytes = w.into_bytes();
    Prepared {
        body: bytes[start..].into(),
        answers,
        authority,
        flags: layout.flags,
        rcode: layout.rcode,
        required,
        additional_cuts: extra.cuts.into_iter().map(|(end, n)| (end - start, n)).collect(),
    }
}

/// Writes every record of `set` at `owner`; returns how many.
fn write_set(w: &mut Writer, owner: &[u8], set: &RecordSet) -> u16 {
    for data in &set.data {
        w.record(owner, set.ttl, data);
    }
    u16::try_from(set.data.len()).unwrap_or(u16::MAX)
}

/// Writes the SOA of a negative answer: the apex's, with the TTL
/// min(SOA TTL, MINIMUM) (RFC 2308 §3).
fn write_negative_soa(w: &mut Writer, zone: &Zone, origin_wire: &[u8]) {
    let soa = zone.soa();
    w.soa(origin_wire, zone.serial(), soa, soa.ttl.min(soa.minimum));
}

/// Writes the addresses (A, then AAAA) of every distinct target of `set`
/// (MX exchanges, NS names, SRV targets) that the zone answers for — not
/// glue below a cut — one RRset at a time.
fn glue(w: &mut Writer, zone: &Zone, cuts: &Cuts, set: &RecordSet) -> Additional {
    let mut extra = Additional::default();
    let mut count = 0u16;
    let mut seen = BTreeSet::new();
    for target in set.data.iter().filter_map(RecordData::target) {
        if !seen.insert(target) {
            continue;
        }
        let target_wire = name_to_wire(target);
        if cuts.covers(&target_wire) {
            continue;
        }
        write_addresses(w, zone, target, &target_wire, &mut count, &mut extra.cuts);
    }
    extra
}

/// Writes `target`'s A then AAAA RRset, recording a cut after each.
fn write_addresses(
    w: &mut Writer,
    zone: &Zone,
    target: &Name,
    target_wire: &[u8],
    count: &mut u16,
    cuts: &mut Vec<(usize, u16)>,
) {
    for addr_type in [RecordType::A, RecordType::AAAA] {
        if let Some(set) = zone.get(target, addr_type) {
            *count = count.saturating_add(write_set(w, target_wire, set));
            cuts.push((w.len(), *count));
        }
    }
}

/// The whole-label suffixes of a lowercase wire name, longest (the name
/// itself) first, down to the root label.
fn suffixes(wire: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut at = Some(0usize);
    std::iter::from_fn(move || {
        let start = at?;
        let rest = wire.get(start..).filter(|r| !r.is_empty())?;
        at = match rest.first() {
            Some(&len) if len != 0 => Some(start + 1 + usize::from(len)),
            _ => None,
        };
        Some(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_run_from_the_name_to_the_root() {
        let wire = name_to_wire(&Name::from_ascii("a.bc.").expect("name"));
        let all: Vec<&[u8]> = suffixes(&wire).collect();
        assert_eq!(
            all,
            vec![&b"\x01a\x02bc\x00"[..], &b"\x02bc\x00"[..], &b"\x00"[..]]
        );
        assert_eq!(suffixes(&[0]).count(), 1);
        assert_eq!(suffixes(&[]).count(), 0);
    }
}
