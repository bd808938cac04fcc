//! Query counters for the DNS listeners, cheap enough for the UDP fast path.
//!
//! Every UDP worker thread owns one cache-line-aligned [`Block`] of counters
//! and is its only writer: a count is a relaxed load and a relaxed store of
//! the same word (a plain `add` on the machine, no locked instruction, no
//! line shared with another writer). TCP connections share one block and
//! use `fetch_add`: they are few and slow next to UDP. Readers sum the
//! blocks through a [`DnsStats`] handle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::cookie::CookieStatus;
use crate::wire::rtype;

/// The query types counted apart; the rest are [`QueryType::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryType {
    /// A.
    A,
    /// AAAA.
    Aaaa,
    /// MX.
    Mx,
    /// NS.
    Ns,
    /// SOA.
    Soa,
    /// ANY.
    Any,
    /// AXFR.
    Axfr,
    /// IXFR.
    Ixfr,
    /// Anything else, and queries without a readable question.
    Other,
}

impl QueryType {
    /// Every type, in the order [`DnsCounts::queries`] uses.
    pub const ALL: [Self; 9] = [
        Self::A,
        Self::Aaaa,
        Self::Mx,
        Self::Ns,
        Self::Soa,
        Self::Any,
        Self::Axfr,
        Self::Ixfr,
        Self::Other,
    ];

    /// The type of a numeric QTYPE.
    pub fn of(qtype: u16) -> Self {
        match qtype {
            rtype::A => Self::A,
            rtype::AAAA => Self::Aaaa,
            rtype::MX => Self::Mx,
            rtype::NS => Self::Ns,
            rtype::SOA => Self::Soa,
            rtype::ANY => Self::Any,
            rtype::AXFR => Self::Axfr,
            rtype::IXFR => Self::Ixfr,
            _ => Self::Other,
        }
    }

    /// The mnemonic (`AAAA`), or `other`.
    pub fn label(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Aaaa => "AAAA",
            Self::Mx => "MX",
            Self::Ns => "NS",
            Self::Soa => "SOA",
            Self::Any => "ANY",
            Self::Axfr => "AXFR",
            Self::Ixfr => "IXFR",
            Self::Other => "other",
        }
    }
}

/// The response codes counted apart; the rest are [`ResponseCode::Other`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseCode {
    /// 0.
    NoError,
    /// 3.
    NxDomain,
    /// 5.
    Refused,
    /// 1.
    FormErr,
    /// 4.
    NotImp,
    /// 2.
    ServFail,
    /// Anything else (NOTAUTH).
    Other,
}

impl ResponseCode {
    /// Every code, in the order [`DnsCounts::responses`] uses.
    pub const ALL: [Self; 7] = [
        Self::NoError,
        Self::NxDomain,
        Self::Refused,
        Self::FormErr,
        Self::NotImp,
        Self::ServFail,
        Self::Other,
    ];

    /// The code of a header's four RCODE bits.
    pub fn of(rcode: u8) -> Self {
        match rcode & 0x0F {
            0 => Self::NoError,
            1 => Self::FormErr,
            2 => Self::ServFail,
            3 => Self::NxDomain,
            4 => Self::NotImp,
            5 => Self::Refused,
            _ => Self::Other,
        }
    }

    /// The mnemonic (`NXDOMAIN`), or `other`.
    pub fn label(self) -> &'static str {
        match self {
            Self::NoError => "NOERROR",
            Self::NxDomain => "NXDOMAIN",
            Self::Refused => "REFUSED",
            Self::FormErr => "FORMERR",
            Self::NotImp => "NOTIMP",
            Self::ServFail => "SERVFAIL",
            Self::Other => "other",
        }
    }
}

/// What response rate limiting did with an answer it did not simply send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitAction {
    /// Over the limit: nothing sent.
    Dropped,
    /// Over the limit: an empty truncated reply sent instead (a slip).
    Slipped,
    /// Over the limit, with a client cookie: BADCOOKIE and a fresh server
    /// cookie sent instead (a slip).
    BadCookie,
    /// Sent unlimited: the source is on the exempt list.
    ExemptListed,
    /// Sent unlimited: the query had a valid server cookie.
    ExemptCookie,
}

impl RateLimitAction {
    /// Every action, in the order [`DnsCounts::rate_limit`] uses.
    pub const ALL: [Self; 5] = [
        Self::Dropped,
        Self::Slipped,
        Self::BadCookie,
        Self::ExemptListed,
        Self::ExemptCookie,
    ];

    /// The label in `/metrics`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Dropped => "dropped",
            Self::Slipped => "slipped",
            Self::BadCookie => "badcookie",
            Self::ExemptListed => "exempt_listed",
            Self::ExemptCookie => "exempt_cookie",
        }
    }
}

/// The cookie outcomes counted: what a query's COOKIE option proved.
pub const COOKIE_STATUSES: [CookieStatus; 3] = [
    CookieStatus::ClientOnly,
    CookieStatus::Valid,
    CookieStatus::Invalid,
];

/// The label of a cookie outcome in `/metrics`.
pub fn cookie_label(status: CookieStatus) -> &'static str {
    match status {
        CookieStatus::None => "none",
        CookieStatus::ClientOnly => "client_only",
        CookieStatus::Valid => "valid",
        CookieStatus::Invalid => "invalid",
    }
}

fn cookie_index(status: CookieStatus) -> Option<usize> {
    COOKIE_STATUSES.iter().position(|s| *s == status)
}

const QTYPES: usize = QueryType::ALL.len();
const ACTIONS: usize = RateLimitAction::ALL.len();
const COOKIES: usize = COOKIE_STATUSES.len();
const RCODES: usize = ResponseCode::ALL.len();

/// One writer's counters, alone on its cache lines.
#[repr(align(64))]
#[derive(Debug, Default)]
struct Block {
    queries: [AtomicU64; QTYPES],
    responses: [AtomicU64; RCODES],
    dropped: AtomicU64,
    rate_limit: [AtomicU64; ACTIONS],
    cookies: [AtomicU64; COOKIES],
}

/// Totals summed over every listener.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsCounts {
    /// Queries answered, by [`QueryType::ALL`] index.
    pub queries: [u64; QTYPES],
    /// Answers sent, by [`ResponseCode::ALL`] index.
    pub responses: [u64; RCODES],
    /// Packets dropped unanswered (no full header, or a response).
    pub dropped: u64,
    /// Answers rate limiting held back or let through unlimited, by
    /// [`RateLimitAction::ALL`] index.
    pub rate_limit: [u64; ACTIONS],
    /// Queries with a COOKIE option, by [`COOKIE_STATUSES`] index.
    pub cookies: [u64; COOKIES],
}

impl DnsCounts {
    /// Queries per type, labelled.
    pub fn queries_by_type(&self) -> impl Iterator<Item = (QueryType, u64)> + '_ {
        QueryType::ALL.into_iter().zip(self.queries)
    }

    /// Rate limiting's actions, labelled.
    pub fn rate_limit_by_action(&self) -> impl Iterator<Item = (RateLimitAction, u64)> + '_ {
        RateLimitAction::ALL.into_iter().zip(self.rate_limit)
    }

    /// Queries with cookies by what the cookie proved, labelled.
    pub fn cookies_by_status(&self) -> impl Iterator<Item = (CookieStatus, u64)> + '_ {
        COOKIE_STATUSES.into_iter().zip(self.cookies)
    }

    /// Answers per response code, labelled.
    pub fn responses_by_code(&self) -> impl Iterator<Item = (ResponseCode, u64)> + '_ {
        ResponseCode::ALL.into_iter().zip(self.responses)
    }
}

/// A cheap, cloneable handle on the counters of one DNS server.
#[derive(Clone, Debug)]
pub struct DnsStats {
    blocks: Arc<[Block]>,
}

/// Counters no listener writes: all zero (an API without DNS listeners,
/// in tests).
impl Default for DnsStats {
    fn default() -> Self {
        Self::new(0)
    }
}

impl DnsStats {
    /// Counters for `udp_writers` UDP workers and the TCP listeners.
    pub(crate) fn new(udp_writers: usize) -> Self {
        Self {
            blocks: (0..=udp_writers).map(|_| Block::default()).collect(),
        }
    }

    /// The counters of UDP worker `index`; the caller must be its only
    /// writer (each worker thread is given its own index).
    pub(crate) fn udp_writer(&self, index: usize) -> UdpCounter {
        debug_assert!(
            index + 1 < self.blocks.len(),
            "UDP writer {index} was not allocated"
        );
        UdpCounter {
            stats: self.clone(),
            index: index.min(self.blocks.len().saturating_sub(2)),
        }
    }

    /// The counters every TCP connection shares.
    pub(crate) fn tcp_writer(&self) -> TcpCounter {
        TcpCounter { stats: self.clone() }
    }

    /// The totals now.
    pub fn counts(&self) -> DnsCounts {
        let mut total = DnsCounts::default();
        for block in self.blocks.iter() {
            for (sum, c) in total.queries.iter_mut().zip(&block.queries) {
                *sum += c.load(Relaxed);
            }
            for (sum, c) in total.responses.iter_mut().zip(&block.responses) {
                *sum += c.load(Relaxed);
            }
            total.dropped += block.dropped.load(Relaxed);
            for (sum, c) in total.rate_limit.iter_mut().zip(&block.rate_limit) {
                *sum += c.load(Relaxed);
            }
            for (sum, c) in total.cookies.iter_mut().zip(&block.cookies) {
                *sum += c.load(Relaxed);
            }
        }
        total
    }
}

/// Adds one to a counter only this thread writes: no locked instruction.
fn bump_owned(counter: &AtomicU64) {
    counter.store(counter.load(Relaxed).wrapping_add(1), Relaxed);
}

/// The counting end held by one UDP worker thread; not `Clone`, so the
/// block has one writer.
#[derive(Debug)]
pub(crate) struct UdpCounter {
    stats: DnsStats,
    index: usize,
}

impl UdpCounter {
    fn block(&self) -> &Block {
        &self.stats.blocks[self.index]
    }

    /// Counts one answer: its question's type and its RCODE.
    pub(crate) fn answered(&self, qtype: QueryType, reply: &[u8]) {
        let block = self.block();
        bump_owned(&block.queries[qtype as usize]);
        bump_owned(&block.responses[reply_rcode(reply) as usize]);
    }

    /// Counts one packet left unanswered.
    pub(crate) fn dropped(&self) {
        bump_owned(&self.block().dropped);
    }

    /// Counts what rate limiting did with one answer.
    pub(crate) fn rate_limited(&self, action: RateLimitAction) {
        bump_owned(&self.block().rate_limit[action as usize]);
    }

    /// Counts what one query's cookie proved (nothing without a cookie).
    pub(crate) fn cookie(&self, status: CookieStatus) {
        if let Some(i) = cookie_index(status) {
            bump_owned(&self.block().cookies[i]);
        }
    }
}

/// The counting end shared by TCP connections.
#[derive(Clone, Debug)]
pub(crate) struct TcpCounter {
    stats: DnsStats,
}

impl TcpCounter {
    fn block(&self) -> &Block {
        &self.stats.blocks[self.stats.blocks.len() - 1]
    }

    /// Counts one answer (a transfer counts once, however many messages).
    pub(crate) fn answered(&self, qtype: QueryType, reply: &[u8]) {
        let block = self.block();
        block.queries[qtype as usize].fetch_add(1, Relaxed);
        block.responses[reply_rcode(reply) as usize].fetch_add(1, Relaxed);
    }

    /// Counts one message left unanswered (the connection is closed).
    pub(crate) fn dropped(&self) {
        self.block().dropped.fetch_add(1, Relaxed);
    }

    /// Counts what one query's cookie proved (nothing without a cookie).
    pub(crate) fn cookie(&self, status: CookieStatus) {
        if let Some(i) = cookie_index(status) {
            self.block().cookies[i].fetch_add(1, Relaxed);
        }
    }
}

/// The RCODE of a reply we wrote.
fn reply_rcode(reply: &[u8]) -> ResponseCode {
    reply.get(3).map_or(ResponseCode::Other, |b| ResponseCode::of(*b))
}

/// The QTYPE of the question of a message we wrote (one uncompressed
/// question right after the header); [`QueryType::Other`] without one
/// (FORMERR answers carry no question).
pub(crate) fn reply_qtype(reply: &[u8]) -> QueryType {
    const HEADER: usize = 12;
    if reply.get(4..6) != Some(&[0, 1]) {
        return QueryType::Other;
    }
    let mut at = HEADER;
    loop {
        match reply.get(at) {
            Some(0) => break,
            Some(&len) if len < 64 => at += 1 + usize::from(len),
            _ => return QueryType::Other,
        }
    }
    match reply.get(at + 1..at + 3) {
        Some(&[hi, lo]) => QueryType::of(u16::from_be_bytes([hi, lo])),
        _ => QueryType::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(qname: &[u8], qtype: u16, rcode: u8) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x84, rcode, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(qname);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m
    }

    const NAME: &[u8] = b"\x03www\x05lists\x07example\x04test\x00";

    #[test]
    fn reads_the_question_type_of_a_reply() {
        assert_eq!(reply_qtype(&reply(NAME, rtype::MX, 0)), QueryType::Mx);
        assert_eq!(reply_qtype(&reply(b"\x00", rtype::SOA, 0)), QueryType::Soa);
        assert_eq!(reply_qtype(&reply(NAME, 99, 0)), QueryType::Other);
    }

    #[test]
    fn a_reply_without_a_readable_question_is_other() {
        let formerr = [0x12, 0x34, 0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(reply_qtype(&formerr), QueryType::Other);
        let cut = &reply(NAME, rtype::A, 0)[..20];
        assert_eq!(reply_qtype(cut), QueryType::Other);
        let pointer = reply(b"\xC0\x0C", rtype::A, 0);
        assert_eq!(reply_qtype(&pointer), QueryType::Other);
        assert_eq!(reply_qtype(&[]), QueryType::Other);
    }

    #[test]
    fn sums_every_writer() {
        let stats = DnsStats::new(2);
        let (w0, w1, tcp) = (stats.udp_writer(0), stats.udp_writer(1), stats.tcp_writer());
        w0.answered(QueryType::A, &reply(NAME, rtype::A, 0));
        w1.answered(QueryType::A, &reply(NAME, rtype::A, 3));
        w1.dropped();
        tcp.answered(QueryType::Axfr, &reply(b"\x00", rtype::AXFR, 5));
        tcp.dropped();
        let counts = stats.counts();
        let by_type: Vec<_> = counts.queries_by_type().filter(|(_, n)| *n > 0).collect();
        assert_eq!(by_type, [(QueryType::A, 2), (QueryType::Axfr, 1)]);
        let by_code: Vec<_> = counts.responses_by_code().filter(|(_, n)| *n > 0).collect();
        assert_eq!(
            by_code,
            [
                (ResponseCode::NoError, 1),
                (ResponseCode::NxDomain, 1),
                (ResponseCode::Refused, 1)
            ]
        );
        assert_eq!(counts.dropped, 2);
    }

    #[test]
    fn blocks_do_not_share_cache_lines() {
        assert_eq!(std::mem::align_of::<Block>(), 64);
        assert_eq!(std::mem::size_of::<Block>() % 64, 0);
    }
}
