//! Answering one query from a snapshot: a pure function of bytes in, bytes out.
//!
//! Everything a plain query needs is decided here — authority, negative
//! answers, CNAME chases and referrals (precomputed by the snapshot), EDNS,
//! truncation, errors — so UDP, TCP and the fuzzer share it.
//! Zone transfers are handed back to the transport, which alone knows the
//! peer and can send several messages.

use crate::catalog::Zones;
use crate::snapshot::{Prepared, Snapshot};
use crate::tsig::{self, Signer, TsigError, TsigRecord, record::display_name, unix_now};
use crate::wire::{
    CLASS_IN, EDNS_PAYLOAD, HEADER_LEN, Malformed, PLAIN_UDP_LIMIT, Request, flags, opcode, rcode, rtype,
};

/// How the query arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Datagrams: answers are size-limited and may be truncated.
    Udp,
    /// A stream: answers up to 64 KiB.
    Tcp,
}

/// What to do with a packet.
#[derive(Debug)]
pub enum Outcome<'a> {
    /// Send the bytes written to `out`.
    Reply,
    /// A zone transfer request (AXFR or IXFR); the transport decides. A
    /// signed request comes with the [`Signer`] of its verified key, which
    /// must sign whatever answers it.
    Transfer(Box<Request<'a>>, Option<Signer>),
    /// A signed request whose TSIG failed: send the NOTAUTH written to
    /// `out`, and log why.
    Rejected(Box<Rejection>),
    /// Send nothing.
    Drop,
}

/// A signed request refused for its TSIG (RFC 8945 §5.2), for the log.
#[derive(Debug)]
pub struct Rejection {
    /// BADKEY, BADSIG or BADTIME.
    pub error: TsigError,
    /// The key the request named.
    pub key_name: String,
    /// The name asked about (for a transfer: the zone).
    pub qname: String,
    /// The type asked for.
    pub qtype: u16,
}

/// EDNS extended RCODE BADVERS (16), upper eight bits (RFC 6891 §6.1.3).
const BADVERS_UPPER: u8 = 1;

/// Answers `packet` from the zone of `zones` that holds its name (see
/// [`crate::Catalog::find`]), writing the reply into `out`. Names in no zone
/// served are refused. A transfer is handed back for the apex it names:
/// [`crate::Catalog::find`] gives the transport that zone again.
pub fn respond<'a, Z: Zones + ?Sized>(
    zones: &Z,
    packet: &'a [u8],
    transport: Transport,
    out: &mut Vec<u8>,
) -> Outcome<'a> {
    respond_at(zones, packet, transport, unix_now, out)
}

/// [`respond`] with the clock given: `now` (seconds since the epoch) is
/// read only for a signed request, to check its time and sign the answer.
pub fn respond_at<'a, Z: Zones + ?Sized>(
    zones: &Z,
    packet: &'a [u8],
    transport: Transport,
    now: impl FnOnce() -> u64,
    out: &mut Vec<u8>,
) -> Outcome<'a> {
    out.clear();
    let req = match Request::parse(packet) {
        Ok(req) => req,
        Err(Malformed::Drop) => return Outcome::Drop,
        Err(Malformed::FormErr { id, opcode, flags }) => {
            let word = flags::QR | (u16::from(opcode) << 11) | flags | u16::from(rcode::FORMERR);
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&word.to_be_bytes());
            out.extend_from_slice(&[0; 8]);
            return Outcome::Reply;
        }
    };
    if req.tsig_at.is_none() {
        return answer(zones, req, transport, 0, out);
    }
    match TsigRecord::find(packet) {
        Ok(Some(tsig)) => answer_signed(zones, packet, req, &tsig, transport, now(), out),
        // The parser checked the record already; this is not reached.
        _ => {
            write_error(out, &req, rcode::FORMERR, 0);
            Outcome::Reply
        }
    }
}

/// Answers a signed request: NOTAUTH when its TSIG fails, else the answer
/// signed with its key (a transfer is signed by the transport).
fn answer_signed<'a, Z: Zones + ?Sized>(
    zones: &Z,
    packet: &'a [u8],
    req: Request<'a>,
    tsig: &TsigRecord<'_>,
    transport: Transport,
    now: u64,
    out: &mut Vec<u8>,
) -> Outcome<'a> {
    match tsig::verify_request(packet, tsig, |name| zones.tsig_key(name), now) {
        Ok(signer) => match answer(zones, req, transport, signer.key().signature_len(), out) {
            Outcome::Reply => {
                signer.sign(out, now);
                Outcome::Reply
            }
            Outcome::Transfer(req, _) => Outcome::Transfer(req, Some(signer)),
            other => other,
        },
        Err(rejected) => {
            write_error(out, &req, rcode::NOTAUTH, 0);
            if out.len() + tsig::rejection_len(tsig) <= size_limit(&req, transport) {
                tsig::append_rejection(out, &rejected, tsig, now);
            } else {
                // Only absurdly long names get here: TC sends the client to TCP.
                out[2] |= (flags::TC >> 8) as u8;
            }
            Outcome::Rejected(Box::new(Rejection {
                error: rejected.error,
                key_name: rejected.key_name,
                qname: display_name(req.qname_lower.as_bytes()),
                qtype: req.qtype,
            }))
        }
    }
}

/// Answers a parsed request; `reserve` bytes of the size limit are kept
/// for a TSIG record.
fn answer<'a, Z: Zones + ?Sized>(
    zones: &Z,
    req: Request<'a>,
    transport: Transport,
    reserve: usize,
    out: &mut Vec<u8>,
) -> Outcome<'a> {
    if req.edns.is_some_and(|e| e.version != 0) {
        write_error(out, &req, rcode::NOERROR, BADVERS_UPPER);
        return Outcome::Reply;
    }
    if req.opcode != opcode::QUERY {
        write_error(out, &req, rcode::NOTIMP, 0);
        return Outcome::Reply;
    }
    if req.qtype == rtype::OPT {
        write_error(out, &req, rcode::FORMERR, 0);
        return Outcome::Reply;
    }
    let Some((snapshot, apex_at)) = zones.find(req.qname_lower.as_bytes()) else {
        write_error(out, &req, rcode::REFUSED, 0);
        return Outcome::Reply;
    };
    if req.qclass != CLASS_IN {
        write_error(out, &req, rcode::REFUSED, 0);
        return Outcome::Reply;
    }
    if req.qtype == rtype::AXFR || req.qtype == rtype::IXFR {
        // Only the apex names a zone; below it we serve no zone to transfer.
        if apex_at != 0 {
            write_error(out, &req, rcode::NOTAUTH, 0);
            return Outcome::Reply;
        }
        return Outcome::Transfer(Box::new(req), None);
    }

    let limit = size_limit(&req, transport).saturating_sub(reserve);
    match snapshot.lookup(req.qname_lower.as_bytes()) {
        Some(entry) => match entry.answer(req.qtype) {
            Some(prepared) => write_prepared(out, &req, prepared, limit),
            None => write_negative(out, &req, snapshot, apex_at, rcode::NOERROR, limit),
        },
        // Not a name of ours: below a zone cut (a referral), or no name.
        None => match snapshot.referral_below(&req.qname_lower, apex_at) {
            Some(referral) => write_prepared(out, &req, referral, limit),
            None => write_negative(out, &req, snapshot, apex_at, rcode::NXDOMAIN, limit),
        },
    }
    Outcome::Reply
}

/// The largest reply the client can take over `transport`.
pub(crate) fn size_limit(req: &Request<'_>, transport: Transport) -> usize {
    match (transport, req.edns) {
        (Transport::Tcp, _) => usize::from(u16::MAX),
        (Transport::Udp, None) => PLAIN_UDP_LIMIT,
        (Transport::Udp, Some(edns)) => usize::from(edns.payload.clamp(512, EDNS_PAYLOAD)),
    }
}

/// Writes the header and the question as asked; returns nothing, the caller
/// fills the sections and counts.
pub(crate) fn write_head(
    out: &mut Vec<u8>,
    req: &Request<'_>,
    extra_flags: u16,
    rcode: u8,
    counts: [u16; 3],
) {
    let word = flags::QR
        | (u16::from(req.opcode) << 11)
        | (req.flags & (flags::RD | flags::CD))
        | extra_flags
        | u16::from(rcode & 0xF);
    let additional = counts[2] + u16::from(req.edns.is_some());
    out.extend_from_slice(&req.id.to_be_bytes());
    out.extend_from_slice(&word.to_be_bytes());
    for c in [1, counts[0], counts[1], additional] {
        out.extend_from_slice(&c.to_be_bytes());
    }
    out.extend_from_slice(req.qname);
    out.extend_from_slice(&req.qtype.to_be_bytes());
    out.extend_from_slice(&req.qclass.to_be_bytes());
}

/// Appends our OPT record when the query had one.
pub(crate) fn write_opt(out: &mut Vec<u8>, req: &Request<'_>, ext_rcode: u8) {
    if let Some(edns) = req.edns {
        out.push(0);
        out.extend_from_slice(&rtype::OPT.to_be_bytes());
        out.extend_from_slice(&EDNS_PAYLOAD.to_be_bytes());
        out.push(ext_rcode);
        out.push(0);
        let do_bit: u16 = if edns.dnssec_ok { 0x8000 } else { 0 };
        out.extend_from_slice(&do_bit.to_be_bytes());
        out.extend_from_slice(&0u16.to_be_bytes());
    }
}

const OPT_LEN: usize = 11;

/// An error or refusal: the question echoed, no records, not authoritative.
pub(crate) fn write_error(out: &mut Vec<u8>, req: &Request<'_>, rcode: u8, ext_rcode: u8) {
    out.clear();
    write_head(out, req, 0, rcode, [0, 0, 0]);
    write_opt(out, req, ext_rcode);
}

/// A precomputed reply: its sections, less whatever additional RRsets do
/// not fit, or TC alone when its required part does not fit.
fn write_prepared(out: &mut Vec<u8>, req: &Request<'_>, p: &Prepared, limit: usize) {
    let fixed = HEADER_LEN + req.question_len() + if req.edns.is_some() { OPT_LEN } else { 0 };
    if fixed + p.required > limit {
        write_head(out, req, p.flags | flags::TC, p.rcode, [0, 0, 0]);
        write_opt(out, req, 0);
        return;
    }
    let (end, additional) = p
        .additional_cuts
        .iter()
        .rev()
        .find(|(end, _)| fixed + end <= limit)
        .copied()
        .unwrap_or((p.required, 0));
    write_head(out, req, p.flags, p.rcode, [p.answers, p.authority, additional]);
    out.extend_from_slice(&p.body[..end]);
    write_opt(out, req, 0);
}

fn write_negative(
    out: &mut Vec<u8>,
    req: &Request<'_>,
    snapshot: &Snapshot,
    apex_at: usize,
    rcode: u8,
    limit: usize,
) {
    let fixed = HEADER_LEN + req.question_len() + if req.edns.is_some() { OPT_LEN } else { 0 };
    // A long question plus an SOA with long names can pass 512 bytes.
    if fixed + 2 + snapshot.negative_soa().len() > limit {
        write_head(out, req, flags::AA | flags::TC, rcode, [0, 0, 0]);
        write_opt(out, req, 0);
        return;
    }
    write_head(out, req, flags::AA, rcode, [0, 1, 0]);
    let pointer = 0xC000 | (HEADER_LEN + apex_at) as u16;
    out.extend_from_slice(&pointer.to_be_bytes());
    out.extend_from_slice(snapshot.negative_soa());
    write_opt(out, req, 0);
}
