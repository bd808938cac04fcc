//! Response rate limiting (RRL) for UDP, in the manner of Knot's and NSD's.
//!
//! A spoofed query makes us send an answer several times its size to the
//! address it names: a reflection attack. RRL counts answers per *key* —
//! the source prefix (/24 IPv4, /56 IPv6 by default), the response class
//! ([`ResponseClass`]) and a name (the question for positive answers, the
//! zone for the rest, so random names under one zone share a key) — in a
//! token bucket refilled at `responses_per_second` each second, holding at
//! most one second's worth. An answer over the limit is dropped, except every
//! `slip`-th, which goes out truncated and empty (TC=1): a real resolver
//! behind a spoofed prefix asks again over TCP, which cannot be spoofed.
//! TCP is never limited. Sources on the exempt list, and queries with a valid
//! server cookie ([`crate::cookie`]), are never limited.
//!
//! The buckets are one fixed table shared by every UDP thread: each bucket
//! is one `AtomicU64` (key tag, second stamp, tokens) updated with a
//! compare-and-swap, so there is no lock and no allocation per query. Two
//! keys landing on the same bucket take it from each other, each time with
//! a full bucket: a collision can let more through, never less. An
//! exhausted bucket is only read, so a flood from one prefix does not make
//! the UDP threads fight over its cache line.

use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use arc_swap::ArcSwap;

mod cidr;

pub use cidr::Cidr;
use cidr::masked;

use crate::answer::ReplyFacts;
use crate::cookie::CookieStatus;
use crate::wire::{HEADER_LEN, flags, rcode};

/// Responses per second per key when the policy says nothing: twice what
/// one busy resolver farm behind a /24 needs for one name with a 30 s TTL,
/// and low enough that a reflection flood is cut to a few kilobytes a second
/// per name (ARCHITECTURE.md: "Rate limiting").
pub const DEFAULT_RESPONSES_PER_SECOND: u32 = 100;
/// Every second limited answer is sent truncated (NSD's and BIND's default).
pub const DEFAULT_SLIP: u32 = 2;
/// Buckets in the table (a power of two): 512 KiB.
const TABLE_SIZE: usize = 1 << 16;

/// How rate limiting is set up (the policy's `rate_limit:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Answers per second per key; 0 turns rate limiting off.
    pub responses_per_second: u32,
    /// Every `slip`-th limited answer goes out truncated; 0 never, 1 always.
    pub slip: u32,
    /// IPv4 sources are grouped by this prefix length.
    pub ipv4_prefix: u8,
    /// IPv6 sources are grouped by this prefix length.
    pub ipv6_prefix: u8,
    /// Sources never limited.
    pub exempt: Vec<Cidr>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            responses_per_second: DEFAULT_RESPONSES_PER_SECOND,
            slip: DEFAULT_SLIP,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            exempt: Vec::new(),
        }
    }
}

impl RateLimitConfig {
    /// No rate limiting.
    pub fn off() -> Self {
        Self {
            responses_per_second: 0,
            ..Self::default()
        }
    }
}

/// The setting every UDP thread reads; a policy reload stores a new one.
pub type SharedRateLimit = Arc<ArcSwap<RateLimitConfig>>;

/// What kind of answer a reply is: each is limited apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseClass {
    /// Records in the answer section.
    Positive,
    /// The name does not exist.
    NxDomain,
    /// The name exists, the type does not (or the answer did not fit).
    NoData,
    /// A delegation below one of our zones.
    Referral,
    /// Any other RCODE: REFUSED, FORMERR, NOTIMP…
    Error,
}

impl ResponseClass {
    /// The class of a reply we wrote, from its header.
    pub fn of(reply: &[u8]) -> Self {
        let (Some(&word_lo), Some(&word_hi)) = (reply.get(3), reply.get(2)) else {
            return Self::Error;
        };
        let answers = reply.get(6..8).map_or(0, |b| u16::from_be_bytes([b[0], b[1]]));
        let authoritative = u16::from_be_bytes([word_hi, word_lo]) & flags::AA != 0;
        match word_lo & 0x0F {
            rcode::NOERROR if answers > 0 => Self::Positive,
            rcode::NOERROR if authoritative => Self::NoData,
            rcode::NOERROR => Self::Referral,
            rcode::NXDOMAIN => Self::NxDomain,
            _ => Self::Error,
        }
    }
}

/// What to do with a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it (under the limit, or rate limiting is off).
    Send,
    /// Send it: the source is on the exempt list.
    ExemptListed,
    /// Send it: the query had a valid server cookie.
    ExemptCookie,
    /// Over the limit: send nothing.
    Drop,
    /// Over the limit, and this one slips: send an empty truncated reply
    /// (or BADCOOKIE to a query with a client cookie).
    Slip,
}

/// The buckets, shared by every UDP thread of a server.
pub struct RateTable {
    buckets: Box<[AtomicU64]>,
    hasher: foldhash::fast::RandomState,
}

impl std::fmt::Debug for RateTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RateTable({} buckets)", self.buckets.len())
    }
}

impl Default for RateTable {
    fn default() -> Self {
        Self::with_buckets(TABLE_SIZE)
    }
}

/// A UDP thread's own state: where it is in the slip cadence.
#[derive(Debug, Default)]
pub struct SlipCounter(u32);

impl RateTable {
    /// A table of `n` buckets (rounded up to a power of two).
    pub fn with_buckets(n: usize) -> Self {
        Self {
            buckets: (0..n.next_power_of_two()).map(|_| AtomicU64::new(0)).collect(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// Whether to send `reply` (just written for a UDP query from `peer`)
    /// at `now` (seconds): takes a token from its key's bucket.
    pub fn decide(
        &self,
        config: &RateLimitConfig,
        peer: IpAddr,
        reply: &[u8],
        facts: &ReplyFacts,
        now: u32,
        slips: &mut SlipCounter,
    ) -> Verdict {
        if config.responses_per_second == 0 {
            return Verdict::Send;
        }
        if facts.cookie == CookieStatus::Valid {
            return Verdict::ExemptCookie;
        }
        if config.exempt.iter().any(|block| block.contains(peer)) {
            return Verdict::ExemptListed;
        }
        let key = self.key(config, peer, reply, facts);
        if self.take(key, config.responses_per_second, now) {
            return Verdict::Send;
        }
        slips.0 = slips.0.wrapping_add(1);
        match config.slip {
            0 => Verdict::Drop,
            n if slips.0.is_multiple_of(n) => Verdict::Slip,
            _ => Verdict::Drop,
        }
    }

    /// The hash of (source prefix, class, name) of a reply.
    fn key(&self, config: &RateLimitConfig, peer: IpAddr, reply: &[u8], facts: &ReplyFacts) -> u64 {
        let class = ResponseClass::of(reply);
        let mut h = self.hasher.build_hasher();
        match peer.to_canonical() {
            ip @ IpAddr::V4(_) => h.write_u32(match masked(ip, config.ipv4_prefix) {
                IpAddr::V4(v4) => v4.into(),
                IpAddr::V6(_) => 0,
            }),
            ip @ IpAddr::V6(_) => h.write_u128(match masked(ip, config.ipv6_prefix) {
                IpAddr::V6(v6) => v6.into(),
                IpAddr::V4(_) => 0,
            }),
        }
        h.write_u8(class as u8);
        // Positive answers are limited per name asked; the rest per zone,
        // so that a flood of random names shares one bucket.
        let from = match (class, facts.apex_at) {
            (ResponseClass::Positive, _) => Some(0),
            (_, apex) => apex.map(usize::from),
        };
        let mut name = [0u8; 255];
        let len = from.map_or(0, |from| lowercase_qname(reply, from, &mut name));
        h.write(&name[..len]);
        h.finish()
    }

    /// Takes a token from `key`'s bucket; false when it is empty.
    fn take(&self, key: u64, rate: u32, now: u32) -> bool {
        let bucket = &self.buckets[(key as usize) & (self.buckets.len() - 1)];
        let tag = (key >> 32) as u32;
        let burst = rate.min(u32::from(u16::MAX)) as u16;
        let stamp = now as u16;
        for _ in 0..8 {
            let old = bucket.load(Relaxed);
            let (old_tag, old_stamp, old_tokens) = unpack(old);
            let tokens = if old_tag != tag || old == 0 {
                burst
            } else {
                let elapsed = u32::from(stamp.wrapping_sub(old_stamp));
                let refill = elapsed.saturating_mul(rate);
                (u32::from(old_tokens).saturating_add(refill)).min(u32::from(burst)) as u16
            };
            let allowed = tokens > 0;
            let new = pack(tag, stamp, tokens - u16::from(allowed));
            if new == old {
                return allowed;
            }
            if bucket.compare_exchange_weak(old, new, Relaxed, Relaxed).is_ok() {
                return allowed;
            }
        }
        // Fought over by every thread at once: let it through.
        true
    }
}

fn pack(tag: u32, stamp: u16, tokens: u16) -> u64 {
    (u64::from(tag) << 32) | (u64::from(stamp) << 16) | u64::from(tokens)
}

fn unpack(word: u64) -> (u32, u16, u16) {
    ((word >> 32) as u32, (word >> 16) as u16, word as u16)
}

/// Copies the question name of `reply` from its byte `from` on, in
/// lowercase, into `buf`; returns its length (0 when unreadable).
fn lowercase_qname(reply: &[u8], from: usize, buf: &mut [u8; 255]) -> usize {
    if reply.get(4..6) != Some(&[0, 1]) {
        return 0;
    }
    let mut at = HEADER_LEN;
    loop {
        match reply.get(at) {
            Some(0) => break,
            Some(&len) if len < 64 => at += 1 + usize::from(len),
            _ => return 0,
        }
    }
    let Some(name) = reply.get(HEADER_LEN + from..=at) else {
        return 0;
    };
    let len = name.len().min(buf.len());
    for (dst, src) in buf.iter_mut().zip(&name[..len]) {
        *dst = src.to_ascii_lowercase();
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(qname: &[u8], rcode: u8, aa: bool, answers: u16) -> Vec<u8> {
        let flags_hi = 0x80 | if aa { 0x04 } else { 0 };
        let mut m = vec![0x12, 0x34, flags_hi, rcode, 0, 1];
        m.extend_from_slice(&answers.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        m.extend_from_slice(qname);
        m.extend_from_slice(&[0, 1, 0, 1]);
        m
    }

    const WWW: &[u8] = b"\x03www\x05lists\x07example\x04test\x00";
    const MX: &[u8] = b"\x08smtp-out\x05lists\x07example\x04test\x00";
    const APEX_AT: Option<u8> = Some(4);

    fn facts() -> ReplyFacts {
        ReplyFacts {
            cookie: CookieStatus::None,
            apex_at: APEX_AT,
        }
    }

    fn config(rate: u32, slip: u32) -> RateLimitConfig {
        RateLimitConfig {
            responses_per_second: rate,
            slip,
            ..RateLimitConfig::default()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    /// Sends `n` replies from `peer` at `now`; returns the verdicts.
    fn run(
        table: &RateTable,
        config: &RateLimitConfig,
        peer: &str,
        r: &[u8],
        now: u32,
        n: usize,
    ) -> Vec<Verdict> {
        let mut slips = SlipCounter::default();
        (0..n)
            .map(|_| table.decide(config, ip(peer), r, &facts(), now, &mut slips))
            .collect()
    }

    fn sent(verdicts: &[Verdict]) -> usize {
        verdicts.iter().filter(|v| **v == Verdict::Send).count()
    }

    #[test]
    fn a_bucket_holds_one_second_and_refills_at_the_rate() {
        let table = RateTable::with_buckets(1024);
        let cfg = config(10, 0);
        let r = reply(WWW, 0, true, 1);
        assert_eq!(sent(&run(&table, &cfg, "192.0.2.1", &r, 100, 25)), 10);
        assert_eq!(
            sent(&run(&table, &cfg, "192.0.2.1", &r, 100, 5)),
            0,
            "same second"
        );
        assert_eq!(
            sent(&run(&table, &cfg, "192.0.2.1", &r, 101, 25)),
            10,
            "next second"
        );
        assert_eq!(
            sent(&run(&table, &cfg, "192.0.2.1", &r, 200, 25)),
            10,
            "a long pause fills it, no more"
        );
    }

    #[test]
    fn slip_answers_every_nth_limited_reply() {
        let table = RateTable::with_buckets(1024);
        let r = reply(WWW, 0, true, 1);
        let verdicts = run(&table, &config(1, 3), "192.0.2.1", &r, 7, 10);
        assert_eq!(verdicts[0], Verdict::Send);
        let over: Vec<_> = verdicts[1..].iter().map(|v| *v == Verdict::Slip).collect();
        assert_eq!(over, [false, false, true, false, false, true, false, false, true]);
        let always = run(&RateTable::with_buckets(8), &config(1, 1), "192.0.2.1", &r, 7, 5);
        assert!(always[1..].iter().all(|v| *v == Verdict::Slip));
        let never = run(&RateTable::with_buckets(8), &config(1, 0), "192.0.2.1", &r, 7, 5);
        assert!(never[1..].iter().all(|v| *v == Verdict::Drop));
    }

    #[test]
    fn sources_are_grouped_by_prefix() {
        let table = RateTable::with_buckets(1 << 12);
        let cfg = config(5, 0);
        let r = reply(WWW, 0, true, 1);
        assert_eq!(sent(&run(&table, &cfg, "192.0.2.1", &r, 1, 5)), 5);
        assert_eq!(sent(&run(&table, &cfg, "192.0.2.200", &r, 1, 5)), 0, "same /24");
        assert_eq!(sent(&run(&table, &cfg, "192.0.3.1", &r, 1, 5)), 5, "another /24");
        assert_eq!(sent(&run(&table, &cfg, "2001:db8:0:ff::1", &r, 1, 5)), 5);
        assert_eq!(
            sent(&run(&table, &cfg, "2001:db8:0:aa::1", &r, 1, 5)),
            0,
            "same /56"
        );
        assert_eq!(
            sent(&run(&table, &cfg, "2001:db8:0:100::1", &r, 1, 5)),
            5,
            "another /56"
        );
        assert_eq!(
            sent(&run(&table, &cfg, "::ffff:192.0.2.9", &r, 1, 5)),
            0,
            "IPv4-mapped is IPv4"
        );
    }

    #[test]
    fn classes_and_names_are_limited_apart() {
        let table = RateTable::with_buckets(1 << 12);
        let cfg = config(3, 0);
        let www = reply(WWW, 0, true, 1);
        let mx = reply(MX, 0, true, 1);
        assert_eq!(sent(&run(&table, &cfg, "192.0.2.1", &www, 1, 5)), 3);
        assert_eq!(
            sent(&run(&table, &cfg, "192.0.2.1", &mx, 1, 5)),
            3,
            "another name"
        );
        // Negative answers share one bucket per zone, whatever the name.
        let nx_a = reply(b"\x01a\x05lists\x07example\x04test\x00", 3, true, 0);
        let nx_b = reply(b"\x01b\x05LISTS\x07example\x04test\x00", 3, true, 0);
        let mut slips = SlipCounter::default();
        let mut decide = |r: &[u8]| {
            let f = ReplyFacts {
                apex_at: Some(2),
                ..facts()
            };
            table.decide(&cfg, ip("192.0.2.1"), r, &f, 1, &mut slips)
        };
        let verdicts: Vec<_> = [&nx_a, &nx_b, &nx_a, &nx_b]
            .into_iter()
            .map(|r| decide(r))
            .collect();
        assert_eq!(sent(&verdicts), 3);
        assert_eq!(ResponseClass::of(&nx_a), ResponseClass::NxDomain);
        assert_eq!(ResponseClass::of(&reply(WWW, 0, true, 0)), ResponseClass::NoData);
        assert_eq!(
            ResponseClass::of(&reply(WWW, 0, false, 0)),
            ResponseClass::Referral
        );
        assert_eq!(ResponseClass::of(&reply(WWW, 5, false, 0)), ResponseClass::Error);
        assert_eq!(ResponseClass::of(&[]), ResponseClass::Error);
    }

    #[test]
    fn exempt_sources_valid_cookies_and_off_are_never_limited() {
        let table = RateTable::with_buckets(64);
        let r = reply(WWW, 0, true, 1);
        let mut cfg = config(1, 0);
        cfg.exempt = vec!["127.0.0.0/8".parse().expect("cidr"), "::1".parse().expect("cidr")];
        let v = run(&table, &cfg, "127.9.9.9", &r, 1, 5);
        assert!(v.iter().all(|v| *v == Verdict::ExemptListed));
        assert!(
            run(&table, &cfg, "::1", &r, 1, 3)
                .iter()
                .all(|v| *v == Verdict::ExemptListed)
        );
        assert_eq!(sent(&run(&table, &cfg, "128.0.0.1", &r, 1, 3)), 1);
        let cookie = ReplyFacts {
            cookie: CookieStatus::Valid,
            apex_at: APEX_AT,
        };
        let mut slips = SlipCounter::default();
        let verdict = table.decide(&cfg, ip("128.0.0.1"), &r, &cookie, 1, &mut slips);
        assert_eq!(verdict, Verdict::ExemptCookie);
        assert_eq!(sent(&run(&table, &config(0, 2), "128.0.0.1", &r, 1, 100)), 100);
    }

    #[test]
    fn threads_share_the_buckets_without_losing_the_limit() {
        let table = Arc::new(RateTable::with_buckets(1024));
        let cfg = config(1000, 0);
        let r = reply(WWW, 0, true, 1);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let (table, cfg, r) = (Arc::clone(&table), cfg.clone(), r.clone());
                std::thread::spawn(move || sent(&run(&table, &cfg, "192.0.2.1", &r, 5, 2000)))
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
        // Contention may let a few through (fail open), never fewer.
        assert!((1000..1100).contains(&total), "{total} sent");
    }
}
