//! The set of zones served: which zone answers a name.
//!
//! A [`Catalog`] is as immutable as the [`Snapshot`]s it holds; the
//! publisher builds a new one for every change and swaps it in whole, so a
//! query sees one consistent set of zones. A zone whose content did not
//! change is the same `Arc<Snapshot>` in the old and the new catalog.
//!
//! Finding the zone of a name is a scan over the origins, longest first, each
//! a length check and one compare of the name's tail: no hashing, no
//! allocation. Sites serve one forward zone and a few reverse zones, where a
//! scan beats any index.

use std::sync::Arc;

use hickory_proto::rr::Name;

use crate::publish::PublishError;
use crate::snapshot::Snapshot;
use crate::tsig::TsigKey;

/// What [`crate::respond`] answers from: the zone that serves a name.
///
/// A [`Catalog`] serves all its zones; a lone [`Snapshot`] is a catalog of
/// its one zone (tests and tools that answer from one snapshot).
pub trait Zones {
    /// The zone serving `lower_qname` (lowercase wire form) and where its
    /// apex starts inside the name, or `None` when no zone served holds it.
    fn find(&self, lower_qname: &[u8]) -> Option<(&Snapshot, usize)>;

    /// The TSIG key named `lower_name` (lowercase wire form) that one of
    /// the zones' secondaries holds.
    fn tsig_key(&self, lower_name: &[u8]) -> Option<&Arc<TsigKey>>;
}

/// The zones served, each at one serial.
#[derive(Debug, Default)]
pub struct Catalog {
    /// In the order they were published (the controller lists its forward
    /// zone first).
    zones: Box<[Arc<Snapshot>]>,
    /// The same zones with their origins in lowercase wire form, longest
    /// origin first: the first whose origin ends a name is the closest
    /// enclosing zone (a child zone served beside its parent wins). The
    /// origin is kept beside the zone so a scan reads one array.
    by_depth: Box<[ByOrigin]>,
}

/// A zone with its origin in lowercase wire form.
#[derive(Debug)]
struct ByOrigin {
    origin: Box<[u8]>,
    snapshot: Arc<Snapshot>,
}

impl ByOrigin {
    fn new(snapshot: &Arc<Snapshot>) -> Self {
        Self {
            origin: snapshot.origin_wire().into(),
            snapshot: Arc::clone(snapshot),
        }
    }
}

impl Catalog {
    /// A catalog of `zones`, in that order; two zones with one origin are an
    /// error.
    pub fn try_new(zones: impl IntoIterator<Item = Arc<Snapshot>>) -> Result<Self, PublishError> {
        let zones: Box<[Arc<Snapshot>]> = zones.into_iter().collect();
        let mut by_depth: Vec<ByOrigin> = zones.iter().map(ByOrigin::new).collect();
        by_depth.sort_by(|a, b| (b.origin.len().cmp(&a.origin.len())).then_with(|| a.origin.cmp(&b.origin)));
        if let Some(pair) = by_depth.windows(2).find(|w| w[0].origin == w[1].origin) {
            return Err(PublishError::DuplicateOrigin {
                origin: pair[0].snapshot.zone().origin().to_string(),
            });
        }
        Ok(Self {
            zones,
            by_depth: by_depth.into(),
        })
    }

    /// The zone serving `lower_qname` (lowercase wire form, as
    /// [`crate::wire::NameBuf::as_bytes`] gives it) and the offset of the
    /// zone's apex inside the name: the zone with the longest origin that is
    /// a whole-label suffix of the name.
    #[inline]
    pub fn find(&self, lower_qname: &[u8]) -> Option<(&Snapshot, usize)> {
        self.by_depth
            .iter()
            .find_map(|z| apex_offset(lower_qname, &z.origin).map(|at| (&*z.snapshot, at)))
    }

    /// The zone at `origin`, if served.
    pub fn zone(&self, origin: &Name) -> Option<&Arc<Snapshot>> {
        self.zones.iter().find(|s| s.zone().origin() == origin)
    }

    /// Every zone served, in the order published.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Arc<Snapshot>> + ExactSizeIterator {
        self.zones.iter()
    }

    /// How many zones are served.
    pub fn len(&self) -> usize {
        self.zones.len()
    }

    /// True when no zone is served (every query is refused).
    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }
}

impl Zones for Catalog {
    #[inline]
    fn find(&self, lower_qname: &[u8]) -> Option<(&Snapshot, usize)> {
        Catalog::find(self, lower_qname)
    }

    fn tsig_key(&self, lower_name: &[u8]) -> Option<&Arc<TsigKey>> {
        self.zones.iter().find_map(|zone| zone.tsig_key(lower_name))
    }
}

impl Zones for Snapshot {
    #[inline]
    fn find(&self, lower_qname: &[u8]) -> Option<(&Snapshot, usize)> {
        apex_offset(lower_qname, self.origin_wire()).map(|at| (self, at))
    }

    fn tsig_key(&self, lower_name: &[u8]) -> Option<&Arc<TsigKey>> {
        self.zone()
            .secondaries()
            .iter()
            .filter_map(|s| s.key.as_ref())
            .find(|key| key.name_wire() == lower_name)
    }
}

impl From<Snapshot> for Catalog {
    /// A catalog of one zone.
    fn from(snapshot: Snapshot) -> Self {
        let snapshot = Arc::new(snapshot);
        Self {
            by_depth: Box::new([ByOrigin::new(&snapshot)]),
            zones: Box::new([snapshot]),
        }
    }
}

/// Where `origin` starts in `name` when it is a whole-label suffix of it
/// (both lowercase wire form). Bytes that are not a well-formed name never
/// match past their end and never panic.
#[inline]
fn apex_offset(name: &[u8], origin: &[u8]) -> Option<usize> {
    let start = name.len().checked_sub(origin.len())?;
    if name[start..] != *origin {
        return None;
    }
    let mut at = 0;
    while at < start {
        at += 1 + usize::from(name[at]);
    }
    (at == start).then_some(start)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::wire::name_to_wire;
    use crate::zone::{RecordData, SoaFields, Zone};

    fn name(s: &str) -> Name {
        Name::from_ascii(s).expect("valid name")
    }

    fn snapshot(origin: &str, serial: u32) -> Arc<Snapshot> {
        Arc::new(compiled(origin, serial))
    }

    fn compiled(origin: &str, serial: u32) -> Snapshot {
        let soa = SoaFields {
            mname: name("ns1.lists.example.test."),
            rname: name("hostmaster.lists.example.test."),
            refresh: 3600,
            retry: 600,
            expire: 86_400,
            minimum: 300,
            ttl: 3600,
        };
        let mut zone = Zone::new(&name(origin), serial, soa).expect("zone");
        zone.add(&name(origin), 300, RecordData::A(Ipv4Addr::LOCALHOST))
            .expect("record");
        Snapshot::compile(zone, Vec::new())
    }

    /// The lowercase wire form a query's name arrives in.
    fn lower(s: &str) -> Vec<u8> {
        name_to_wire(&name(s))
    }

    fn found(catalog: &Catalog, qname: &str) -> Option<(String, usize)> {
        catalog
            .find(&lower(qname))
            .map(|(s, at)| (s.zone().origin().to_string(), at))
    }

    fn farm() -> Catalog {
        Catalog::try_new([
            snapshot("lists.example.test.", 1),
            snapshot("10.0.127.in-addr.arpa.", 2),
            snapshot("0-26.10.0.127.in-addr.arpa.", 3),
        ])
        .expect("catalog")
    }

    #[test]
    fn the_longest_origin_that_ends_the_name_serves_it() {
        let c = farm();
        assert_eq!(
            found(&c, "5.0-26.10.0.127.in-addr.arpa."),
            Some(("0-26.10.0.127.in-addr.arpa.".into(), 2)),
            "the RFC 2317 child wins over its parent"
        );
        assert_eq!(
            found(&c, "0-26.10.0.127.in-addr.arpa."),
            Some(("0-26.10.0.127.in-addr.arpa.".into(), 0))
        );
        assert_eq!(
            found(&c, "70.10.0.127.in-addr.arpa."),
            Some(("10.0.127.in-addr.arpa.".into(), 3))
        );
        assert_eq!(
            found(&c, "www.lists.example.test."),
            Some(("lists.example.test.".into(), 4))
        );
        // The order given does not matter.
        let reversed = Catalog::try_new(farm().iter().rev().cloned()).expect("catalog");
        assert_eq!(
            found(&reversed, "5.0-26.10.0.127.in-addr.arpa."),
            Some(("0-26.10.0.127.in-addr.arpa.".into(), 2))
        );
    }

    #[test]
    fn case_is_ignored_through_the_lowered_name() {
        let c = farm();
        let packet = query("WwW.LiStS.ExAmPlE.TeSt.");
        let mixed = crate::wire::Request::parse(&packet).expect("parses");
        let (zone, at) = c.find(mixed.qname_lower.as_bytes()).expect("found");
        assert_eq!(zone.zone().origin(), &name("lists.example.test."));
        assert_eq!(at, 4);
        assert_eq!(
            found(&c, "X.10.0.127.IN-ADDR.ARPA."),
            Some(("10.0.127.in-addr.arpa.".into(), 2))
        );
    }

    #[test]
    fn names_in_no_zone_find_nothing() {
        let c = farm();
        for qname in [
            "example.org.",
            ".",
            "test.",
            "example.test.",
            "0.127.in-addr.arpa.",
            // A tail that matches bytes but not labels.
            "xlists.example.test.",
            "110.0.127.in-addr.arpa.",
        ] {
            assert_eq!(found(&c, qname), None, "{qname}");
        }
        assert_eq!(
            Catalog::default()
                .find(&lower("lists.example.test."))
                .map(|(_, at)| at),
            None
        );
        assert_eq!(c.find(&[]).map(|(_, at)| at), None);
        assert_eq!(c.find(&[3, b'a']).map(|(_, at)| at), None);
    }

    #[test]
    fn a_lone_snapshot_is_a_catalog_of_one() {
        let s = snapshot("lists.example.test.", 1);
        assert_eq!(
            Zones::find(&*s, &lower("a.lists.example.test.")).map(|(_, at)| at),
            Some(2)
        );
        assert!(Zones::find(&*s, &lower("example.org.")).is_none());
        let c = Catalog::from(compiled("lists.example.test.", 1));
        assert_eq!(c.len(), 1);
        assert_eq!(found(&c, "a.lists.example.test.").map(|(_, at)| at), Some(2));
    }

    #[test]
    fn two_zones_with_one_origin_are_refused() {
        let err = Catalog::try_new([
            snapshot("lists.example.test.", 1),
            snapshot("LISTS.example.test.", 2),
        ])
        .expect_err("duplicate");
        assert_eq!(
            err,
            PublishError::DuplicateOrigin {
                origin: "lists.example.test.".into()
            }
        );
    }

    #[test]
    fn zones_are_read_by_origin_and_in_publish_order() {
        let c = farm();
        assert_eq!(c.len(), 3);
        let origins: Vec<String> = c.iter().map(|s| s.zone().origin().to_string()).collect();
        assert_eq!(
            origins,
            [
                "lists.example.test.",
                "10.0.127.in-addr.arpa.",
                "0-26.10.0.127.in-addr.arpa."
            ]
        );
        let reverse = c.zone(&name("10.0.127.in-addr.arpa.")).expect("served");
        assert_eq!(reverse.serial(), 2);
        assert!(c.zone(&name("example.org.")).is_none());
    }

    fn query(qname: &str) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in qname.trim_end_matches('.').split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        q
    }
}
