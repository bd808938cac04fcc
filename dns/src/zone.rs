//! The zone as data: what a snapshot is compiled from.
//!
//! A [`Zone`] is plain values — the origin, the SOA fields, the serial and a
//! set of records — with no wire format and no lookup structures. The
//! controller builds one from the policy and the assignments; [`crate::Snapshot`]
//! compiles it for serving; [`ZoneDiff`] compares two of them for IXFR.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use hickory_proto::rr::{Name, RecordType};

use crate::tsig::TsigKey;

/// The SOA fields other than the origin and the serial.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SoaFields {
    /// MNAME: the primary server.
    pub mname: Name,
    /// RNAME: the responsible mailbox, as a name.
    pub rname: Name,
    /// REFRESH seconds.
    pub refresh: u32,
    /// RETRY seconds.
    pub retry: u32,
    /// EXPIRE seconds.
    pub expire: u32,
    /// MINIMUM: the negative-caching TTL (RFC 2308).
    pub minimum: u32,
    /// The TTL of the SOA record itself.
    pub ttl: u32,
}

/// The data of one record: the types a list domain needs, and any other
/// type as opaque RDATA (RFC 3597).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A mail exchange.
    Mx {
        /// Lower is preferred.
        preference: u16,
        /// The exchange host (absolute).
        exchange: Name,
    },
    /// A name server: at the apex the zone's own, below it a delegation.
    Ns(Name),
    /// An alias: the owner is another name for `target` (RFC 1034 §3.6.2).
    Cname(Name),
    /// A pointer, as reverse zones publish (RFC 1035 §3.3.12).
    Ptr(Name),
    /// Text: one or more character-strings of at most 255 bytes each,
    /// which readers join without separators (RFC 7208 §3.3).
    Txt(Vec<Vec<u8>>),
    /// A service location (RFC 2782).
    Srv {
        /// Lower is tried first.
        priority: u16,
        /// Relative weight among equal priorities.
        weight: u16,
        /// The service's port.
        port: u16,
        /// The host (absolute); never a CNAME.
        target: Name,
    },
    /// Certification authority authorization (RFC 8659).
    Caa {
        /// Flags; 128 is "issuer critical".
        flags: u8,
        /// The property tag (`issue`, `issuewild`, `iodef`), letters and digits.
        tag: String,
        /// The property value, as bytes.
        value: Vec<u8>,
    },
    /// A DANE certificate association (RFC 6698).
    Tlsa {
        /// Certificate usage (0-3).
        usage: u8,
        /// Selector (0 full certificate, 1 public key).
        selector: u8,
        /// Matching type (0 exact, 1 SHA-256, 2 SHA-512).
        matching: u8,
        /// The association data.
        data: Vec<u8>,
    },
    /// Any other type, as opaque RDATA (RFC 3597 `TYPEnnn \# len hex`).
    Unknown {
        /// The type code.
        rtype: u16,
        /// The RDATA.
        data: Vec<u8>,
    },
}

impl RecordData {
    /// The record type of this data.
    pub fn record_type(&self) -> RecordType {
        match self {
            Self::A(_) => RecordType::A,
            Self::Aaaa(_) => RecordType::AAAA,
            Self::Mx { .. } => RecordType::MX,
            Self::Ns(_) => RecordType::NS,
            Self::Cname(_) => RecordType::CNAME,
            Self::Ptr(_) => RecordType::PTR,
            Self::Txt(_) => RecordType::TXT,
            Self::Srv { .. } => RecordType::SRV,
            Self::Caa { .. } => RecordType::CAA,
            Self::Tlsa { .. } => RecordType::TLSA,
            Self::Unknown { rtype, .. } => RecordType::from(*rtype),
        }
    }

    /// The name this record points at, whose addresses belong in the
    /// additional section (MX exchange, NS target, SRV target).
    pub fn target(&self) -> Option<&Name> {
        match self {
            Self::Mx { exchange, .. } => Some(exchange),
            Self::Ns(name) => Some(name),
            Self::Srv { target, .. } => Some(target),
            Self::A(_)
            | Self::Aaaa(_)
            | Self::Cname(_)
            | Self::Ptr(_)
            | Self::Txt(_)
            | Self::Caa { .. }
            | Self::Tlsa { .. }
            | Self::Unknown { .. } => None,
        }
    }

    /// TXT data from one string, split into character-strings of at most
    /// 255 bytes (RFC 7208 §3.3: a long SPF or DKIM record is one string
    /// to its readers, who join the pieces without separators).
    pub fn txt(text: &str) -> Self {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Self::Txt(vec![Vec::new()]);
        }
        Self::Txt(bytes.chunks(255).map(<[u8]>::to_vec).collect())
    }

    /// Why this data cannot go on the wire, if it cannot.
    fn unencodable(&self) -> Option<&'static str> {
        match self {
            Self::Txt(strings) if strings.is_empty() => Some("TXT data needs at least one character-string"),
            Self::Txt(strings) if strings.iter().any(|s| s.len() > 255) => {
                Some("a TXT character-string is longer than 255 bytes")
            }
            Self::Caa { tag, .. }
                if tag.is_empty() || tag.len() > 255 || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                Some("a CAA tag is 1 to 255 letters and digits")
            }
            _ => None,
        }
    }

    /// This data with every name in it lowercase (owner case never
    /// matters to DNS, and the snapshot compares names as bytes).
    fn lowercase(self) -> Self {
        match self {
            Self::Mx { preference, exchange } => Self::Mx {
                preference,
                exchange: exchange.to_lowercase(),
            },
            Self::Ns(name) => Self::Ns(name.to_lowercase()),
            Self::Cname(name) => Self::Cname(name.to_lowercase()),
            Self::Ptr(name) => Self::Ptr(name.to_lowercase()),
            Self::Srv {
                priority,
                weight,
                port,
                target,
            } => Self::Srv {
                priority,
                weight,
                port,
                target: target.to_lowercase(),
            },
            other => other,
        }
    }
}

/// All records of one owner name and type. RFC 2181 §5.2: one TTL per set.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RecordSet {
    /// TTL of every record in the set.
    pub ttl: u32,
    /// The records, in canonical order, without duplicates.
    pub data: BTreeSet<RecordData>,
}

/// An owner name, lowercase, with a byte key that sorts canonically
/// (RFC 4034 §6.1): its labels from the root, each followed by a 0 byte.
/// Comparing keys is a `memcmp`, where `Name`'s `Ord` walks labels
/// case-insensitively; muster's labels (letters, digits, '-', '_', '*')
/// never hold a 0 byte.
#[derive(Clone, Debug)]
struct Owner {
    key: Box<[u8]>,
    name: Name,
}

impl Owner {
    fn new(name: &Name) -> Self {
        let name = name.to_lowercase();
        let mut key = Vec::with_capacity(name.len() + 1);
        for label in name.iter().rev() {
            key.extend_from_slice(label);
            key.push(0);
        }
        Self {
            key: key.into_boxed_slice(),
            name,
        }
    }
}

impl PartialEq for Owner {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for Owner {}

impl Ord for Owner {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key.cmp(&other.key)
    }
}

impl PartialOrd for Owner {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A zone's content at one serial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    origin: Name,
    serial: u32,
    soa: SoaFields,
    sets: BTreeMap<(Owner, RecordType), RecordSet>,
    secondaries: Vec<Secondary>,
}

/// A secondary: may transfer the zone and is sent NOTIFY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secondary {
    /// Where it is: transfers are allowed from this IP address, NOTIFY goes
    /// to this address and port.
    pub address: SocketAddr,
    /// When set, its transfers must be signed with this key, and NOTIFY to
    /// it is signed with it (RFC 8945).
    pub key: Option<Arc<TsigKey>>,
}

impl From<SocketAddr> for Secondary {
    /// A secondary known by its address only.
    fn from(address: SocketAddr) -> Self {
        Self { address, key: None }
    }
}

/// A record that cannot be part of the zone.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ZoneError {
    /// The owner name is not at or below the origin.
    #[error("{owner} is outside the zone {origin}")]
    OutOfZone {
        /// The offending owner.
        owner: String,
        /// The zone's origin.
        origin: String,
    },
    /// Names must be absolute (end in a dot).
    #[error("{0} is not an absolute name")]
    NotAbsolute(String),
    /// RDATA that cannot be encoded.
    #[error("{owner}: {why}")]
    BadData {
        /// The record's owner.
        owner: String,
        /// What is wrong with its data.
        why: &'static str,
    },
}

impl Zone {
    /// An empty zone (only its SOA) at `origin`.
    pub fn new(origin: &Name, serial: u32, soa: SoaFields) -> Result<Self, ZoneError> {
        if !origin.is_fqdn() {
            return Err(ZoneError::NotAbsolute(origin.to_string()));
        }
        Ok(Self {
            origin: origin.to_lowercase(),
            serial,
            soa,
            sets: BTreeMap::new(),
            secondaries: Vec::new(),
        })
    }

    /// Adds one record. Adding the same record twice keeps one; records of
    /// one set with different TTLs get the smallest (RFC 2181 §5.2).
    pub fn add(&mut self, owner: &Name, ttl: u32, data: RecordData) -> Result<(), ZoneError> {
        if !owner.is_fqdn() {
            return Err(ZoneError::NotAbsolute(owner.to_string()));
        }
        if !self.origin.zone_of(owner) {
            return Err(ZoneError::OutOfZone {
                owner: owner.to_string(),
                origin: self.origin.to_string(),
            });
        }
        if let Some(why) = data.unencodable() {
            return Err(ZoneError::BadData {
                owner: owner.to_string(),
                why,
            });
        }
        let key = (Owner::new(owner), data.record_type());
        let data = data.lowercase();
        let set = self.sets.entry(key).or_insert_with(|| RecordSet {
            ttl,
            data: BTreeSet::new(),
        });
        set.ttl = set.ttl.min(ttl);
        set.data.insert(data);
        Ok(())
    }

    /// Allows `secondaries` to transfer the zone and sends them NOTIFY.
    pub fn set_secondaries<S: Into<Secondary>>(&mut self, secondaries: impl IntoIterator<Item = S>) {
        self.secondaries = secondaries.into_iter().map(Into::into).collect();
    }

    /// Sets the serial (the controller owns serial policy).
    pub fn set_serial(&mut self, serial: u32) {
        self.serial = serial;
    }

    /// The origin, lowercase and absolute.
    pub fn origin(&self) -> &Name {
        &self.origin
    }

    /// The SOA serial.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The SOA fields.
    pub fn soa(&self) -> &SoaFields {
        &self.soa
    }

    /// Secondaries: transfer allowed, NOTIFY sent.
    pub fn secondaries(&self) -> &[Secondary] {
        &self.secondaries
    }

    /// Every record set, ordered by owner (DNSSEC canonical order) and type.
    pub fn sets(&self) -> impl Iterator<Item = (&Name, RecordType, &RecordSet)> {
        self.sets
            .iter()
            .map(|((owner, rtype), set)| (&owner.name, *rtype, set))
    }

    /// One record set.
    pub fn get(&self, owner: &Name, rtype: RecordType) -> Option<&RecordSet> {
        self.sets.get(&(Owner::new(owner), rtype))
    }

    /// True when the two zones publish the same records and SOA fields,
    /// whatever their serials.
    pub fn same_content(&self, other: &Zone) -> bool {
        self.origin == other.origin && self.soa == other.soa && self.sets == other.sets
    }

    /// Every record as (owner, ttl, data), SOA excluded.
    pub fn records(&self) -> impl Iterator<Item = (&Name, u32, &RecordData)> {
        self.sets
            .iter()
            .flat_map(|((owner, _), set)| set.data.iter().map(move |d| (&owner.name, set.ttl, d)))
    }
}

/// What changed between two versions of a zone, for IXFR (RFC 1995).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneDiff {
    /// The older version's serial and SOA.
    pub from_serial: u32,
    /// The older SOA fields.
    pub from_soa: SoaFields,
    /// The newer version's serial.
    pub to_serial: u32,
    /// The newer SOA fields.
    pub to_soa: SoaFields,
    /// Records in the old version and not in the new one.
    pub removed: Vec<(Name, u32, RecordData)>,
    /// Records in the new version and not in the old one.
    pub added: Vec<(Name, u32, RecordData)>,
}

impl ZoneDiff {
    /// The difference from `old` to `new`. A TTL change counts as a removal
    /// and an addition, as IXFR needs.
    pub fn between(old: &Zone, new: &Zone) -> Self {
        let as_set = |z: &Zone| -> BTreeSet<(Name, u32, RecordData)> {
            z.records()
                .map(|(n, ttl, d)| (n.clone(), ttl, d.clone()))
                .collect()
        };
        let (before, after) = (as_set(old), as_set(new));
        Self {
            from_serial: old.serial,
            from_soa: old.soa.clone(),
            to_serial: new.serial,
            to_soa: new.soa.clone(),
            removed: before.difference(&after).cloned().collect(),
            added: after.difference(&before).cloned().collect(),
        }
    }

    /// How many records the diff carries (to bound the history's size).
    pub fn len(&self) -> usize {
        self.removed.len() + self.added.len() + 2
    }

    /// True when nothing but the serial changed.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

/// RFC 1982 serial-number arithmetic.
pub mod serial {
    /// True when `a` is strictly newer than `b` in RFC 1982 order.
    pub fn is_newer(a: u32, b: u32) -> bool {
        a != b && (a.wrapping_sub(b) as i32) > 0
    }

    /// The serial after `current`, preferring `clock` (Unix seconds) when that
    /// is newer, so serials read as times yet never go backwards.
    pub fn next(current: u32, clock: u32) -> u32 {
        if is_newer(clock, current) {
            clock
        } else {
            current.wrapping_add(1)
        }
    }
}
