//! A zone compiled for answering: every answer precomputed as wire bytes.
//!
//! A [`Snapshot`] is immutable. For each owner name (and every ancestor up to
//! the apex, so empty non-terminals exist) it holds, per record type, the
//! answer, authority and additional sections already encoded with name
//! compression, laid out as if the question name sat at offset 12 — where the
//! query's own question name will sit, with the same length whatever its case.
//! Answering a query is then a hash lookup and two copies.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use hickory_proto::rr::{Name, RecordType};

use crate::wire::{HEADER_LEN, Writer, name_to_wire, rtype};
use crate::zone::{RecordData, Zone, ZoneDiff};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Precomputed sections of one positive answer.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// Answer, authority and additional sections, compressed against a
    /// question at offset 12.
    pub(crate) body: Box<[u8]>,
    /// Answer record count.
    pub(crate) answers: u16,
    /// Bytes of `body` taken by the answer and authority sections: an answer
    /// that cannot carry them is truncated.
    pub(crate) required: usize,
    /// After each additional RRset: (end offset in `body`, records so far).
    /// Additional data is dropped whole RRsets at a time from the end
    /// (RFC 2181 §9: no TC for missing additional data).
    pub(crate) additional_cuts: Box<[(usize, u16)]>,
}

/// Everything known about one owner name.
#[derive(Debug, Default)]
pub(crate) struct NameEntry {
    /// (type, answer), in type order.
    pub(crate) sets: Vec<(u16, Prepared)>,
}

impl NameEntry {
    pub(crate) fn get(&self, qtype: u16) -> Option<&Prepared> {
        self.sets.iter().find(|(t, _)| *t == qtype).map(|(_, p)| p)
    }

    /// The answer to a query of type ANY: one RRset (RFC 8482 §4.1), the SOA
    /// at the apex, otherwise the first in type order.
    pub(crate) fn any(&self) -> Option<&Prepared> {
        self.get(rtype::SOA).or_else(|| self.sets.first().map(|(_, p)| p))
    }
}

/// A zone ready to serve, at one serial.
#[derive(Debug)]
pub struct Snapshot {
    zone: Zone,
    origin_wire: Box<[u8]>,
    names: FastMap<Box<[u8]>, NameEntry>,
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
        let mut names: FastMap<Box<[u8]>, NameEntry> = FastMap::default();

        // Owners and their ancestors up to the apex: empty non-terminals are
        // names too (RFC 8020), they answer NODATA.
        names.entry(origin_wire.clone()).or_default();
        for (owner, _, _) in zone.sets() {
            let mut name = owner.clone();
            while name.num_labels() >= zone.origin().num_labels() {
                names.entry(name_to_wire(&name).into()).or_default();
                if name.num_labels() == 0 {
                    break;
                }
                name = name.base_name();
            }
        }

        let soa = zone.soa();
        let apex_soa = prepare(
            &origin_wire,
            |w, qname| {
                w.soa(qname, zone.serial(), soa, soa.ttl);
                1
            },
            |_| Vec::new(),
        );
        if let Some(apex) = names.get_mut(&origin_wire) {
            apex.sets.push((rtype::SOA, apex_soa));
        }
        for (owner, rtype, set) in zone.sets() {
            let owner_wire = name_to_wire(owner);
            let prepared = prepare(
                &owner_wire,
                |w, qname| {
                    for data in &set.data {
                        w.record(qname, set.ttl, data);
                    }
                    set.data.len() as u16
                },
                |w| glue(w, &zone, set.data.iter().filter_map(RecordData::target)),
            );
            if let Some(entry) = names.get_mut(owner_wire.as_slice()) {
                entry.sets.push((rtype.into(), prepared));
            }
        }
        for entry in names.values_mut() {
            entry.sets.sort_by_key(|(t, _)| *t);
        }

        let mut neg = Writer::new();
        neg.soa_tail(zone.serial(), soa, soa.ttl.min(soa.minimum), false);

        Self {
            origin_wire,
            names,
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

    pub(crate) fn negative_soa(&self) -> &[u8] {
        &self.negative_soa
    }
}

/// Encodes the sections that follow a question for `qname`: `answer` writes
/// the answer records and returns their count, `additional` writes the
/// additional records and returns the cut points.
fn prepare(
    qname: &[u8],
    answer: impl FnOnce(&mut Writer, &[u8]) -> u16,
    additional: impl FnOnce(&mut Writer) -> Vec<(usize, u16)>,
) -> Prepared {
    let mut w = Writer::new();
    w.bytes(&[0; HEADER_LEN]);
    w.learn_name(qname, HEADER_LEN);
    w.bytes(qname);
    w.bytes(&[0; 4]);
    let start = w.len();
    let answers = answer(&mut w, qname);
    let required = w.len() - start;
    let cuts = additional(&mut w);
    let bytes = w.into_bytes();
    Prepared {
        body: bytes[start..].into(),
        answers,
        required,
        additional_cuts: cuts.into_iter().map(|(end, n)| (end - start, n)).collect(),
    }
}

/// Writes the addresses of every distinct target (all MX exchanges, all NS
/// names) that the zone has, one RRset at a time; returns the cut points.
fn glue<'z>(w: &mut Writer, zone: &'z Zone, targets: impl Iterator<Item = &'z Name>) -> Vec<(usize, u16)> {
    let mut cuts = Vec::new();
    let mut count = 0u16;
    let mut seen = BTreeSet::new();
    for target in targets {
        if !seen.insert(target) {
            continue;
        }
        let target_wire = name_to_wire(target);
        for addr_type in [RecordType::A, RecordType::AAAA] {
            if let Some(set) = zone.get(target, addr_type) {
                for data in &set.data {
                    w.record(&target_wire, set.ttl, data);
                    count += 1;
                }
                cuts.push((w.len(), count));
            }
        }
    }
    cuts
}
