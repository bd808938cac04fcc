//! The TSIG record on the wire (RFC 8945 §4.2): reading one from a message
//! and writing one at the end of a message.

use crate::wire::{HEADER_LEN, read_rr, skip_name};

/// The TSIG record type.
pub const TSIG: u16 = 250;
/// Class ANY, the class of every TSIG record.
pub const CLASS_ANY: u16 = 255;

/// A domain name in lowercase, uncompressed wire form, on the stack.
#[derive(Clone, Copy)]
pub struct WireName {
    bytes: [u8; 255],
    len: u8,
}

impl WireName {
    /// The name's wire bytes, ending in the root label.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Reads a possibly compressed name at `at`; returns it and the offset
    /// after it in the message (after the first pointer, if any).
    pub fn read(p: &[u8], at: usize) -> Option<(Self, usize)> {
        let mut name = Self {
            bytes: [0; 255],
            len: 0,
        };
        let mut pos = at;
        let mut after = None;
        for _ in 0..128 {
            let len = usize::from(*p.get(pos)?);
            if len & 0xC0 == 0xC0 {
                let target = usize::from(u16::from_be_bytes([*p.get(pos)?, *p.get(pos + 1)?]) & 0x3FFF);
                after.get_or_insert(pos + 2);
                if target >= pos {
                    return None;
                }
                pos = target;
                continue;
            }
            if len > 63 {
                return None;
            }
            let n = usize::from(name.len);
            if n + 1 + len > 255 {
                return None;
            }
            let label = p.get(pos + 1..pos + 1 + len)?;
            name.bytes[n] = len as u8;
            for (dst, src) in name.bytes[n + 1..n + 1 + len].iter_mut().zip(label) {
                *dst = src.to_ascii_lowercase();
            }
            name.len = (n + 1 + len) as u8;
            pos += 1 + len;
            if len == 0 {
                return Some((name, after.unwrap_or(pos)));
            }
        }
        None
    }
}

impl std::fmt::Debug for WireName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&display_name(self.as_bytes()))
    }
}

/// A wire name in presentation form, for log lines.
pub fn display_name(wire: &[u8]) -> String {
    let mut out = String::new();
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        if len == 0 {
            break;
        }
        let label = wire.get(at + 1..at + 1 + usize::from(len)).unwrap_or_default();
        for &b in label {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("\\{b:03}"));
            }
        }
        out.push('.');
        at += 1 + usize::from(len);
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// A TSIG record read from a message, borrowing it.
#[derive(Clone, Copy, Debug)]
pub struct TsigRecord<'a> {
    /// Where the record starts: the message before it is what was signed.
    pub start: usize,
    /// The key's name (the record's owner).
    pub key_name: WireName,
    /// The algorithm's name.
    pub algorithm: WireName,
    /// Seconds since the epoch when it was signed (48 bits).
    pub time_signed: u64,
    /// Seconds of clock difference allowed.
    pub fudge: u16,
    /// The MAC.
    pub mac: &'a [u8],
    /// The message's ID when it was signed.
    pub original_id: u16,
    /// The TSIG error (0, or BADSIG/BADKEY/BADTIME…).
    pub error: u16,
    /// Other data (the server's time in a BADTIME answer).
    pub other: &'a [u8],
}

impl<'a> TsigRecord<'a> {
    /// Reads the TSIG record starting at `start`, whose RDATA is
    /// `p[rdata..end]`; `None` if it is malformed. The class must be ANY.
    pub fn parse(p: &'a [u8], start: usize, class: u16, rdata: usize, end: usize) -> Option<Self> {
        if class != CLASS_ANY {
            return None;
        }
        let (key_name, _) = WireName::read(p, start)?;
        let rd = p.get(..end)?;
        let (algorithm, mut at) = WireName::read(rd, rdata)?;
        let time = rd.get(at..at + 6)?;
        let time_signed = time.iter().fold(0u64, |t, &b| (t << 8) | u64::from(b));
        at += 6;
        let fudge = be16(rd, at)?;
        let mac_len = usize::from(be16(rd, at + 2)?);
        let mac = rd.get(at + 4..at + 4 + mac_len)?;
        at += 4 + mac_len;
        let original_id = be16(rd, at)?;
        let error = be16(rd, at + 2)?;
        let other_len = usize::from(be16(rd, at + 4)?);
        let other = rd.get(at + 6..at + 6 + other_len)?;
        (at + 6 + other_len == end).then_some(Self {
            start,
            key_name,
            algorithm,
            time_signed,
            fudge,
            mac,
            original_id,
            error,
            other,
        })
    }

    /// The TSIG record starting at `start` (where [`crate::wire::Request`]
    /// found it), if one is there.
    pub fn at(p: &'a [u8], start: usize) -> Option<Self> {
        let (end, rtype, class, _, rdata, _) = read_rr(p, start)?;
        (rtype == TSIG).then(|| Self::parse(p, start, class, rdata, end))?
    }

    /// Finds the TSIG record of a whole message (a response, or a request
    /// read by a test): `Ok(None)` when it has none, `Err` when the message
    /// is malformed or its TSIG record is not the last one.
    pub fn find(p: &'a [u8]) -> Result<Option<Self>, Misplaced> {
        let count = |i: usize| be16(p, 4 + 2 * i).map(usize::from).ok_or(Misplaced);
        let (qd, an, ns, ar) = (count(0)?, count(1)?, count(2)?, count(3)?);
        let mut at = HEADER_LEN;
        for _ in 0..qd {
            at = skip_name(p, at).ok_or(Misplaced)? + 4;
        }
        let total = an + ns + ar;
        for i in 0..total {
            let (end, rtype, class, _, rdata, _) = read_rr(p, at).ok_or(Misplaced)?;
            if rtype == TSIG {
                if i + 1 != total || ar == 0 {
                    return Err(Misplaced);
                }
                return Self::parse(p, at, class, rdata, end).map(Some).ok_or(Misplaced);
            }
            at = end;
        }
        Ok(None)
    }
}

/// A message that is malformed, or whose TSIG record is malformed or not
/// the last record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Misplaced;

/// What goes into a TSIG record's RDATA besides the names.
pub struct TsigFields<'a> {
    /// Seconds since the epoch.
    pub time_signed: u64,
    /// Seconds of clock difference allowed.
    pub fudge: u16,
    /// The MAC (empty in an unsigned error answer).
    pub mac: &'a [u8],
    /// The message's ID.
    pub original_id: u16,
    /// The TSIG error.
    pub error: u16,
    /// Other data.
    pub other: &'a [u8],
}

/// Appends a TSIG record to `message` and counts it in ARCOUNT.
pub fn append(message: &mut Vec<u8>, key_name: &[u8], algorithm: &[u8], fields: &TsigFields<'_>) {
    message.extend_from_slice(key_name);
    message.extend_from_slice(&TSIG.to_be_bytes());
    message.extend_from_slice(&CLASS_ANY.to_be_bytes());
    message.extend_from_slice(&0u32.to_be_bytes());
    let rdlen = algorithm.len() + 16 + fields.mac.len() + fields.other.len();
    message.extend_from_slice(&(rdlen as u16).to_be_bytes());
    message.extend_from_slice(algorithm);
    message.extend_from_slice(&time_bytes(fields.time_signed));
    message.extend_from_slice(&fields.fudge.to_be_bytes());
    message.extend_from_slice(&(fields.mac.len() as u16).to_be_bytes());
    message.extend_from_slice(fields.mac);
    message.extend_from_slice(&fields.original_id.to_be_bytes());
    message.extend_from_slice(&fields.error.to_be_bytes());
    message.extend_from_slice(&(fields.other.len() as u16).to_be_bytes());
    message.extend_from_slice(fields.other);
    if let Some(count) = message.get_mut(10..12) {
        let n = u16::from_be_bytes([count[0], count[1]]).wrapping_add(1);
        count.copy_from_slice(&n.to_be_bytes());
    }
}

/// The bytes a TSIG record takes with these names and sizes.
pub fn record_len(key_name: &[u8], algorithm: &[u8], mac_len: usize, other_len: usize) -> usize {
    key_name.len() + 10 + algorithm.len() + 16 + mac_len + other_len
}

/// A time as the 48-bit field TSIG carries.
pub fn time_bytes(time: u64) -> [u8; 6] {
    let b = time.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

fn be16(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]))
}
