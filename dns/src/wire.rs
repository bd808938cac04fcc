//! DNS wire format: the few pieces muster needs, written for the query path.
//!
//! [`Request::parse`] reads a query without allocating; [`Writer`] encodes
//! records with name compression. hickory-proto is used for names and types
//! and, in tests, as an independent parser of what we write.

use std::collections::HashMap;

use hickory_proto::rr::Name;

use crate::cookie::{self, Cookie};
use crate::tsig::TsigRecord;
use crate::tsig::record::TSIG;
use crate::zone::{RecordData, SoaFields};

/// Fixed DNS header length.
pub const HEADER_LEN: usize = 12;
/// Header flag bits (RFC 1035 §4.1.1, RFC 4035 §3.2).
pub mod flags {
    /// Response.
    pub const QR: u16 = 0x8000;
    /// Authoritative answer.
    pub const AA: u16 = 0x0400;
    /// Truncated.
    pub const TC: u16 = 0x0200;
    /// Recursion desired.
    pub const RD: u16 = 0x0100;
    /// Checking disabled.
    pub const CD: u16 = 0x0010;
}
/// Opcodes.
pub mod opcode {
    /// Standard query.
    pub const QUERY: u8 = 0;
    /// Zone change notification (RFC 1996).
    pub const NOTIFY: u8 = 4;
}
/// Response codes.
pub mod rcode {
    /// No error.
    pub const NOERROR: u8 = 0;
    /// Format error.
    pub const FORMERR: u8 = 1;
    /// Server failure.
    pub const SERVFAIL: u8 = 2;
    /// Name does not exist.
    pub const NXDOMAIN: u8 = 3;
    /// Not implemented.
    pub const NOTIMP: u8 = 4;
    /// Refused.
    pub const REFUSED: u8 = 5;
    /// Not authoritative for the zone (RFC 2136 §2.2; RFC 5936 §2.2.1).
    pub const NOTAUTH: u8 = 9;
}
/// Record types used on the wire.
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Name server.
    pub const NS: u16 = 2;
    /// Canonical name (alias).
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// Domain name pointer.
    pub const PTR: u16 = 12;
    /// Mail exchange.
    pub const MX: u16 = 15;
    /// Text strings.
    pub const TXT: u16 = 16;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// Service location.
    pub const SRV: u16 = 33;
    /// EDNS(0) pseudo-record.
    pub const OPT: u16 = 41;
    /// Delegation signer: held by the parent side of a zone cut (RFC 4035 §3.1.4.1).
    pub const DS: u16 = 43;
    /// DANE certificate association.
    pub const TLSA: u16 = 52;
    /// Incremental transfer.
    pub const IXFR: u16 = 251;
    /// Full transfer.
    pub const AXFR: u16 = 252;
    /// Any type (answered minimally, RFC 8482).
    pub const ANY: u16 = 255;
    /// Certification authority authorization.
    pub const CAA: u16 = 257;
}
/// Class IN.
pub const CLASS_IN: u16 = 1;
/// The EDNS UDP payload muster advertises and caps answers at (DNS flag day 2020).
pub const EDNS_PAYLOAD: u16 = 1232;
/// Largest UDP answer without EDNS (RFC 1035 §4.2.1).
pub const PLAIN_UDP_LIMIT: usize = 512;

/// The EDNS(0) part of a query (RFC 6891).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    /// Requestor's UDP payload size.
    pub payload: u16,
    /// EDNS version; only 0 exists.
    pub version: u8,
    /// DNSSEC OK bit, copied back (RFC 3225).
    pub dnssec_ok: bool,
    /// The COOKIE option (RFC 7873), when the query had one.
    pub cookie: Option<Cookie>,
}

/// Why a packet cannot be answered normally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// Not worth an answer: too short for a header, or itself a response.
    Drop,
    /// Answer FORMERR with this header information.
    FormErr {
        /// Query ID.
        id: u16,
        /// Query opcode.
        opcode: u8,
        /// Query RD and CD bits.
        flags: u16,
    },
}

/// A parsed query, borrowing the packet.
#[derive(Debug)]
pub struct Request<'a> {
    /// Query ID.
    pub id: u16,
    /// The query's flags word.
    pub flags: u16,
    /// The opcode.
    pub opcode: u8,
    /// The question name exactly as sent (case preserved).
    pub qname: &'a [u8],
    /// The question name in lowercase wire form.
    pub qname_lower: NameBuf,
    /// Question type.
    pub qtype: u16,
    /// Question class.
    pub qclass: u16,
    /// EDNS, when the query had an OPT record.
    pub edns: Option<Edns>,
    /// For IXFR: the serial in the query's authority SOA (RFC 1995 §3).
    pub ixfr_serial: Option<u32>,
    /// Where the TSIG record starts, when the query is signed (RFC 8945);
    /// [`TsigRecord::at`] reads it (only signed queries pay for that).
    pub tsig_at: Option<usize>,
}

/// A lowercase wire-format name on the stack.
#[derive(Clone)]
pub struct NameBuf {
    bytes: [u8; 255],
    len: u8,
    label_starts: [u8; 128],
    labels: u8,
}

impl std::fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NameBuf({:?})", self.as_bytes())
    }
}

impl NameBuf {
    /// The name's wire bytes, ending in the root label.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// True when this name is `suffix` or below it (`suffix` in lowercase wire form).
    pub fn is_at_or_below(&self, suffix: &[u8]) -> bool {
        self.suffix_offset(suffix).is_some()
    }

    /// Where `suffix` starts inside this name, if it is a whole-label suffix.
    pub fn suffix_offset(&self, suffix: &[u8]) -> Option<usize> {
        let len = usize::from(self.len);
        let start = len.checked_sub(suffix.len())?;
        let on_boundary = self.label_starts[..usize::from(self.labels)]
            .iter()
            .any(|&s| usize::from(s) == start);
        (on_boundary && &self.bytes[start..len] == suffix).then_some(start)
    }

    /// The name's whole-label suffixes with their offsets, longest (the
    /// name itself, at 0) first, down to the root label.
    pub fn suffixes(&self) -> impl Iterator<Item = (usize, &[u8])> {
        let bytes = self.as_bytes();
        self.label_starts[..usize::from(self.labels)]
            .iter()
            .map(move |&s| {
                let s = usize::from(s);
                (s, &bytes[s..])
            })
    }
}

/// Reads a big-endian u16 at `at`.
fn u16_at(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

fn u32_at(p: &[u8], at: usize) -> Option<u32> {
    let b = p.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The first COOKIE option among an OPT record's options (RFC 7873 §5.2:
/// later ones are ignored). A malformed cookie is an error (FORMERR, §5.2.2);
/// options cut short end the list.
fn opt_cookie(mut options: &[u8]) -> Result<Option<Cookie>, ()> {
    while let (Some(code), Some(len)) = (u16_at(options, 0), u16_at(options, 2)) {
        let Some(data) = options.get(4..4 + usize::from(len)) else {
            break;
        };
        if code == cookie::OPTION_CODE {
            return Cookie::parse(data).map(Some).ok_or(());
        }
        options = &options[4 + usize::from(len)..];
    }
    Ok(None)
}

/// Skips a possibly compressed name starting at `at`; returns the offset after it.
pub(crate) fn skip_name(p: &[u8], mut at: usize) -> Option<usize> {
    for _ in 0..128 {
        let len = *p.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xC0 == 0xC0 => return (at + 2 <= p.len()).then_some(at + 2),
            l if l & 0xC0 == 0 => at += 1 + usize::from(l),
            _ => return None,
        }
    }
    None
}

/// Skips one resource record; returns (offset after it, type, class, ttl, rdata range).
pub(crate) fn read_rr(p: &[u8], at: usize) -> Option<(usize, u16, u16, u32, usize, usize)> {
    let after_name = skip_name(p, at)?;
    let rtype = u16_at(p, after_name)?;
    let class = u16_at(p, after_name + 2)?;
    let ttl = u32_at(p, after_name + 4)?;
    let rdlen = usize::from(u16_at(p, after_name + 8)?);
    let rdata = after_name + 10;
    let end = rdata.checked_add(rdlen)?;
    (end <= p.len()).then_some((end, rtype, class, ttl, rdata, end))
}

impl<'a> Request<'a> {
    /// Parses a query. Anything a server should not answer normally comes
    /// back as [`Malformed`].
    pub fn parse(p: &'a [u8]) -> Result<Self, Malformed> {
        if p.len() < HEADER_LEN {
            return Err(Malformed::Drop);
        }
        let id = u16::from_be_bytes([p[0], p[1]]);
        let word = u16::from_be_bytes([p[2], p[3]]);
        if word & flags::QR != 0 {
            return Err(Malformed::Drop);
        }
        let opcode = ((word >> 11) & 0xF) as u8;
        let formerr = Malformed::FormErr {
            id,
            opcode,
            flags: word & (flags::RD | flags::CD),
        };
        let count = |i: usize| u16::from_be_bytes([p[4 + 2 * i], p[5 + 2 * i]]);
        let (qd, an, ns, ar) = (count(0), count(1), count(2), count(3));
        // A query has no answers; NOTIFY (its SOA) and UPDATE (its
        // prerequisites) may, and get NOTIMP rather than FORMERR.
        if qd != 1 || (an != 0 && opcode == opcode::QUERY) {
            return Err(formerr);
        }

        // The question name: plain labels only (a pointer here can only
        // point backwards into the header).
        let mut name = NameBuf {
            bytes: [0; 255],
            len: 0,
            label_starts: [0; 128],
            labels: 0,
        };
        let mut at = HEADER_LEN;
        loop {
            let len = usize::from(*p.get(at).ok_or(formerr)?);
            if len & 0xC0 != 0 || len > 63 {
                return Err(formerr);
            }
            let n = usize::from(name.len);
            if n + 1 + len > 255 {
                return Err(formerr);
            }
            let label = p.get(at + 1..at + 1 + len).ok_or(formerr)?;
            name.label_starts[usize::from(name.labels)] = n as u8;
            name.labels += 1;
            name.bytes[n] = len as u8;
            for (dst, src) in name.bytes[n + 1..n + 1 + len].iter_mut().zip(label) {
                *dst = src.to_ascii_lowercase();
            }
            name.len = (n + 1 + len) as u8;
            at += 1 + len;
            if len == 0 {
                break;
            }
        }
        let qname = &p[HEADER_LEN..at];
        let qtype = u16_at(p, at).ok_or(formerr)?;
        let qclass = u16_at(p, at + 2).ok_or(formerr)?;
        at += 4;

        for _ in 0..an {
            at = read_rr(p, at).ok_or(formerr)?.0;
        }

        // Authority: only IXFR carries something we read (the client's SOA).
        let mut ixfr_serial = None;
        for _ in 0..ns {
            let (end, rtype, _, _, rdata, rdend) = read_rr(p, at).ok_or(formerr)?;
            if qtype == rtype::IXFR && rtype == rtype::SOA {
                let after_names = skip_name(p, skip_name(p, rdata).ok_or(formerr)?).ok_or(formerr)?;
                if after_names + 20 > rdend {
                    return Err(formerr);
                }
                ixfr_serial = u32_at(p, after_names);
            }
            at = end;
        }

        // Additional: at most one OPT, owned by the root (RFC 6891 §6.1.1).
        let mut edns = None;
        let mut tsig_at = None;
        for i in 0..ar {
            let rr_start = at;
            let (end, rtype, class, ttl, rdata, rdend) = read_rr(p, at).ok_or(formerr)?;
            // TSIG only as the last record (RFC 8945 §5.1).
            if rtype == TSIG {
                if i + 1 != ar {
                    return Err(formerr);
                }
                TsigRecord::parse(p, rr_start, class, rdata, end).ok_or(formerr)?;
                tsig_at = Some(rr_start);
            } else if rtype == rtype::OPT {
                if edns.is_some() || p[rr_start] != 0 {
                    return Err(formerr);
                }
                edns = Some(Edns {
                    payload: class,
                    version: ((ttl >> 16) & 0xFF) as u8,
                    dnssec_ok: ttl & 0x8000 != 0,
                    cookie: opt_cookie(&p[rdata..rdend]).map_err(|()| formerr)?,
                });
            }
            at = end;
        }
        if qtype == rtype::IXFR && ixfr_serial.is_none() {
            return Err(formerr);
        }

        Ok(Self {
            id,
            flags: word,
            opcode,
            qname,
            qname_lower: name,
            qtype,
            qclass,
            edns,
            ixfr_serial,
            tsig_at,
        })
    }

    /// Bytes of the question section as sent (name, type, class).
    pub fn question_len(&self) -> usize {
        self.qname.len() + 4
    }
}

/// Converts a name to lowercase wire bytes.
pub fn name_to_wire(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1);
    for label in name.to_lowercase().iter() {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

/// Writes DNS messages with name compression (RFC 1035 §4.1.4).
pub struct Writer {
    buf: Vec<u8>,
    /// Lowercase wire suffix -> offset of its first occurrence.
    known: HashMap<Vec<u8>, u16>,
    /// False for bytes that will be copied to another position, where no
    /// compression pointer could stay right.
    compress: bool,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self {
            buf: Vec::with_capacity(512),
            known: HashMap::new(),
            compress: true,
        }
    }

    /// An empty writer that writes every name whole: what it writes holds
    /// no compression pointer, so it may be copied after any question.
    pub fn uncompressed() -> Self {
        Self {
            compress: false,
            ..Self::new()
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The message.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The message so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// Appends a u16.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Appends a u32.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// Overwrites a u16 written earlier.
    pub fn patch_u16(&mut self, at: usize, v: u16) {
        self.buf[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    /// Continues a message whose header and question (`qname` at offset 12,
    /// possibly empty) are already in `head`.
    pub fn after_question(head: Vec<u8>, qname: &[u8]) -> Self {
        let mut w = Self {
            buf: head,
            known: HashMap::new(),
            compress: true,
        };
        if !qname.is_empty() {
            w.learn_name(qname, HEADER_LEN);
        }
        w
    }

    /// Writes a name in lowercase wire form, compressed against names
    /// written before (unless the writer is [`Writer::uncompressed`]).
    pub fn name(&mut self, wire: &[u8]) {
        if !self.compress {
            self.bytes(wire);
            return;
        }
        let mut at = 0;
        while wire[at] != 0 {
            let suffix = &wire[at..];
            if let Some(&ptr) = self.known.get(suffix) {
                self.u16(0xC000 | ptr);
                return;
            }
            let here = self.buf.len();
            if here < 0x3FFF {
                self.known.insert(suffix.to_vec(), here as u16);
            }
            let len = usize::from(wire[at]);
            self.buf.extend_from_slice(&wire[at..at + 1 + len]);
            at += 1 + len;
        }
        self.buf.push(0);
    }

    /// Remembers that `wire` sits at `offset` without writing it (a name in
    /// the question written by someone else).
    pub fn learn_name(&mut self, wire: &[u8], offset: usize) {
        if !self.compress {
            return;
        }
        let mut at = 0;
        while wire[at] != 0 && offset + at < 0x3FFF {
            self.known
                .entry(wire[at..].to_vec())
                .or_insert((offset + at) as u16);
            at += 1 + usize::from(wire[at]);
        }
    }

    /// Writes one record.
    pub fn record(&mut self, owner: &[u8], ttl: u32, data: &RecordData) {
        self.name(owner);
        self.u16(data.record_type().into());
        self.u16(CLASS_IN);
        self.u32(ttl);
        let len_at = self.buf.len();
        self.u16(0);
        match data {
            RecordData::A(ip) => self.bytes(&ip.octets()),
            RecordData::Aaaa(ip) => self.bytes(&ip.octets()),
            RecordData::Mx { preference, exchange } => {
                self.u16(*preference);
                self.name(&name_to_wire(exchange));
            }
            // RFC 3597 §4: names in the RDATA of RFC 1035 types may be
            // compressed; in any later type (SRV) they must not be.
            RecordData::Ns(name) | RecordData::Cname(name) | RecordData::Ptr(name) => {
                self.name(&name_to_wire(name));
            }
            RecordData::Txt(strings) => {
                for s in strings {
                    // Zone::add keeps each string within 255 bytes.
                    self.buf.push(u8::try_from(s.len()).unwrap_or(u8::MAX));
                    self.bytes(&s[..s.len().min(255)]);
                }
            }
            RecordData::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                self.u16(*priority);
                self.u16(*weight);
                self.u16(*port);
                self.bytes(&name_to_wire(target));
            }
            RecordData::Caa { flags, tag, value } => {
                self.buf.push(*flags);
                self.buf.push(u8::try_from(tag.len()).unwrap_or(u8::MAX));
                self.bytes(&tag.as_bytes()[..tag.len().min(255)]);
                self.bytes(value);
            }
            RecordData::Tlsa {
                usage,
                selector,
                matching,
                data,
            } => {
                self.bytes(&[*usage, *selector, *matching]);
                self.bytes(data);
            }
            RecordData::Unknown { data, .. } => self.bytes(data),
        }
        let rdlen = self.buf.len() - len_at - 2;
        self.patch_u16(len_at, rdlen as u16);
    }

    /// Writes the SOA record with compressed names.
    pub fn soa(&mut self, owner: &[u8], serial: u32, soa: &SoaFields, ttl: u32) {
        self.name(owner);
        self.soa_tail(serial, soa, ttl, true);
    }

    /// Writes an SOA record's type, class, TTL and RDATA (after its owner);
    /// names compressed when `compress`, plain for templates copied elsewhere.
    pub fn soa_tail(&mut self, serial: u32, soa: &SoaFields, ttl: u32, compress: bool) {
        self.u16(rtype::SOA);
        self.u16(CLASS_IN);
        self.u32(ttl);
        let len_at = self.buf.len();
        self.u16(0);
        for name in [&soa.mname, &soa.rname] {
            let wire = name_to_wire(name);
            if compress {
                self.name(&wire);
            } else {
                self.bytes(&wire);
            }
        }
        for v in [serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
            self.u32(v);
        }
        let rdlen = self.buf.len() - len_at - 2;
        self.patch_u16(len_at, rdlen as u16);
    }
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}
