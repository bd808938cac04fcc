//! Answering one query from a snapshot: a pure function of bytes in, bytes out.
//!
//! Everything a plain query needs is decided here — authority, negative
//! answers, CNAME chases and referrals (precomputed by the snapshot), EDNS,
//! truncation, errors — so UDP, TCP and the fuzzer share it.
//! Zone transfers are handed back to the transport, which alone knows the
//! peer and can send several messages.

use std::net::{IpAddr, Ipv4Addr};

use crate::catalog::Zones;
use crate::cookie::{self, CookieSecrets, CookieStatus};
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
/// EDNS extended RCODE BADCOOKIE (23, RFC 7873 §8): header bits and upper eight bits.
const BADCOOKIE: (u8, u8) = (23 & 0xF, 23 >> 4);

/// Who sent a query, as far as the answer depends on it.
#[derive(Clone, Copy, Debug)]
pub struct Client<'s> {
    /// How the query arrived.
    pub transport: Transport,
    /// The source address.
    pub addr: IpAddr,
    /// Now, in seconds since the Unix epoch (modulo 2^32), for cookies.
    pub now: u32,
    /// The cookie secrets; without them COOKIE options are checked for
    /// form only and no cookie is returned.
    pub cookies: Option<&'s CookieSecrets>,
}

impl Client<'_> {
    /// A client of whom nothing is known (no cookies answered).
    pub fn anonymous(transport: Transport) -> Self {
        Self {
            transport,
            addr: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            now: 0,
            cookies: None,
        }
    }
}

/// What the rate limiter needs to know of a reply besides its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplyFacts {
    /// What the query's cookie proved.
    pub cookie: CookieStatus,
    /// Where the apex of the zone that answered starts in the question
    /// name; `None` when no zone did.
    pub apex_at: Option<u8>,
}

/// Answers `packet` from the zone of `zones` that holds its name (see
/// [`crate::Catalog::find`]), writing the reply into `out`. Names in no zone
/// served are refused. A transfer is handed back for the apex it names:
/// [`crate::Catalog::find`] gives the transport that zone again.
/// No cookie is returned: [`respond_to`] does that.
pub fn respond<'a, Z: Zones + ?Sized>(
    zones: &Z,
    packet: &'a [u8],
    transport: Transport,
    out: &mut Vec<u8>,
) -> Outcome<'a> {
    respond_to(zones, packet, &Client::anonymous(transport), out).0
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
    respond_with_clock(zones, packet, &Client::anonymous(transport), now, out).0
}

/// [`respond`] for a known client: a query with a COOKIE option gets its
/// client cookie back with a fresh server cookie (RFC 7873 §5.2, RFC 9018),
/// and the facts say what the cookie proved.
pub fn respond_to<'a, Z: Zones + ?Sized>(
    zones: &Z,
    packet: &'a [u8],
    client: &Client<'_>,
    out: &mut Vec<u8>,
) -> (Outcome<'a>, ReplyFacts) {
    respond_with_clock(zones, packet, client, unix_now, out)
}

/// [`respond_to`] with the clock for TSIG given.
fn respond_with_clock<'a, Z: Zones + ?Sized>(
    zones: &Z,
    packet: &'a [u8],
    client: &Client<'_>,
    now: impl FnOnce() -> u64,
    out: &mut Vec<u8>,
) -> (Outcome<'a>, ReplyFacts) {
    out.clear();
    let req = match Request::parse(packet) {
        Ok(req) => req,
        Err(Malformed::Drop) => return (Outcome::Drop, ReplyFacts::default()),
        Err(Malformed::FormErr { id, opcode, flags }) => {
            let word = flags::QR | (u16::from(opcode) << 11) | flags | u16::from(rcode::FORMERR);
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&word.to_be_bytes());
            out.extend_from_slice(&[0; 8]);
            return (Outcome::Reply, ReplyFacts::default());
        }
    };
    let mut facts = ReplyFacts::default();
    if let Some(start) = req.tsig_at {
        // A signed request: its key decides. No cookie goes with the answer,
        // which its MAC covers whole.
        let outcome = match TsigRecord::at(packet, start) {
            Some(tsig) => answer_signed(
                zones,
                packet,
                req,
                &tsig,
                client.transport,
                now(),
                out,
                &mut facts,
            ),
            // The parser checked the record already; this is not reached.
            None => {
                write_error(out, &req, rcode::FORMERR, 0);
                Outcome::Reply
            }
        };
        return (outcome, facts);
    }
    let sign = client.cookies.zip(req.edns.and_then(|e| e.cookie));
    if let Some((secrets, cookie)) = sign {
        facts.cookie = secrets.check(&cookie, client.addr, client.now);
    }
    let reserve = if sign.is_some() { cookie::OPTION_LEN } else { 0 };
    let outcome = answer(zones, req, client.transport, reserve, out, &mut facts);
    if let (Outcome::Reply, Some((secrets, cookie))) = (&outcome, sign) {
        append_cookie(out, secrets, &cookie.client, client);
    }
    (outcome, facts)
}

/// Answers a signed request: NOTAUTH when its TSIG fails, else the answer
/// signed with its key (a transfer is signed by the transport).
#[allow(clippy::too_many_arguments)]
fn answer_signed<'a, Z: Zones + ?Sized>(
    zones: &Z,
    packet: &'a [u8],
    req: Request<'a>,
    tsig: &TsigRecord<'_>,
    transport: Transport,
    now: u64,
    out: &mut Vec<u8>,
    facts: &mut ReplyFacts,
) -> Outcome<'a> {
    match tsig::verify_request(packet, tsig, |name| zones.tsig_key(name), now) {
        Ok(signer) => match answer(zones, req, transport, signer.key().signature_len(), out, facts) {
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

/// The reply to a query the rate limiter holds back but answers anyway
/// (a slip): no records, TC set so a real resolver asks again over TCP —
/// or, when the query had a client cookie and `bad_cookie`, BADCOOKIE with
/// a fresh server cookie, so it asks again over UDP with that cookie and
/// is no longer limited (RFC 7873 §5.2.3, §5.2.4). `false` when `packet`
/// is not a query this can be written for: send the reply as it is.
pub fn write_slip(packet: &[u8], client: &Client<'_>, bad_cookie: bool, out: &mut Vec<u8>) -> bool {
    let Ok(req) = Request::parse(packet) else {
        return false;
    };
    out.clear();
    let cookie = client.cookies.zip(req.edns.and_then(|e| e.cookie));
    match cookie {
        Some(_) if bad_cookie => write_error(out, &req, BADCOOKIE.0, BADCOOKIE.1),
        _ => {
            write_head(out, &req, flags::TC, rcode::NOERROR, [0, 0, 0]);
            write_opt(out, &req, 0);
        }
    }
    if let Some((secrets, cookie)) = cookie {
        append_cookie(out, secrets, &cookie.client, client);
    }
    true
}

/// Appends our COOKIE option to the OPT record that ends `out` (every
/// reply to a query with EDNS ends with it, option-less).
fn append_cookie(out: &mut Vec<u8>, secrets: &CookieSecrets, client_cookie: &[u8; 8], client: &Client<'_>) {
    let len = out.len();
    let ends_with_opt = len >= HEADER_LEN + OPT_LEN
        && out[len - OPT_LEN] == 0
        && out[len - OPT_LEN + 1..len - OPT_LEN + 3] == rtype::OPT.to_be_bytes()
        && out[len - 2..] == [0, 0];
    if !ends_with_opt {
        return;
    }
    let data_len = (cookie::OPTION_LEN as u16).to_be_bytes();
    out[len - 2..].copy_from_slice(&data_len);
    out.extend_from_slice(&cookie::OPTION_CODE.to_be_bytes());
    out.extend_from_slice(&((cookie::CLIENT_LEN + cookie::SERVER_LEN) as u16).to_be_bytes());
    out.extend_from_slice(client_cookie);
    out.extend_from_slice(&secrets.server_cookie(client_cookie, client.addr, client.now));
}

/// Answers a parsed request; `reserve` bytes of the size limit are kept
/// for what is appended afterwards (a TSIG record, a cookie).
fn answer<'a, Z: Zones + ?Sized>(
    zones: &Z,
    req: Request<'a>,
    transport: Transport,
    reserve: usize,
    out: &mut Vec<u8>,
    facts: &mut ReplyFacts,
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
    facts.apex_at = u8::try_from(apex_at).ok();
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
