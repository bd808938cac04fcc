//! `rate_limit:`: response rate limiting of DNS answers over UDP.
//!
//! ```yaml
//! rate_limit: { responses_per_second: 100, slip: 2, ipv4_prefix: 24, ipv6_prefix: 56, exempt: [127.0.0.0/8] }
//! ```
//!
//! Every key may be left out (the defaults are muster-dns's, see
//! [`RateLimitConfig::default`]); `responses_per_second: 0` turns it off.

use super::locate::YamlPath;
use super::raw::RawRateLimit;
use super::validate::Checker;
use super::{Cidr, RateLimitConfig, values};

/// The highest rate accepted: a bucket holds one second of answers in 16 bits.
const MAX_RATE: u64 = 10_000;
/// Knot's and NSD's bound on slip.
const MAX_SLIP: u64 = 100;

/// Checks `rate_limit:`; the defaults when it is absent.
pub(super) fn rate_limit(c: &mut Checker, raw: Option<&RawRateLimit>) -> RateLimitConfig {
    let defaults = RateLimitConfig::default();
    let Some(raw) = raw else { return defaults };
    let at = YamlPath::root().key("rate_limit");
    let rate = |text: &str| {
        values::integer(text, 0, MAX_RATE).map(|n| n as u32).map_err(|e| {
            format!("{e} (answers per second per source prefix and name; 0 turns rate limiting off)")
        })
    };
    let slip = |text: &str| {
        values::integer(text, 0, MAX_SLIP)
            .map(|n| n as u32)
            .map_err(|e| format!("{e} (every Nth limited answer goes out truncated; 0 never, 1 always)"))
    };
    let v4 = |text: &str| values::integer(text, 8, 32).map(|n| n as u8);
    let v6 = |text: &str| values::integer(text, 16, 128).map(|n| n as u8);
    let exempt_at = at.key("exempt");
    let exempt = c.each(&exempt_at, &raw.exempt, exempt_block);
    c.unique(&exempt_at, &exempt, |block| format!("{block} is listed twice"));
    RateLimitConfig {
        responses_per_second: c
            .field(
                &at,
                "responses_per_second",
                raw.responses_per_second.as_ref(),
                rate,
            )
            .unwrap_or(defaults.responses_per_second),
        slip: c
            .field(&at, "slip", raw.slip.as_ref(), slip)
            .unwrap_or(defaults.slip),
        ipv4_prefix: c
            .field(&at, "ipv4_prefix", raw.ipv4_prefix.as_ref(), v4)
            .unwrap_or(defaults.ipv4_prefix),
        ipv6_prefix: c
            .field(&at, "ipv6_prefix", raw.ipv6_prefix.as_ref(), v6)
            .unwrap_or(defaults.ipv6_prefix),
        exempt: exempt.into_iter().map(|(_, block)| block).collect(),
    }
}

/// An exempt block: `127.0.0.0/8`, `2001:db8::/32` or one address; bits set
/// past the prefix are an error (`10.1.2.3/16` is probably a typo).
fn exempt_block(text: &str) -> Result<Cidr, String> {
    let block: Cidr = text
        .parse()
        .map_err(|e| format!("exempt: {e}; write an address or a block like 127.0.0.0/8"))?;
    let (ip, _) = text.trim().split_once('/').unwrap_or((text.trim(), ""));
    let written: std::net::IpAddr = ip
        .parse()
        .map_err(|_| format!("exempt: \"{ip}\" is not an address"))?;
    if !block.to_string().starts_with(&format!("{written}/")) {
        return Err(format!(
            "exempt: {} has bits set past its prefix; write {block}",
            text.trim()
        ));
    }
    Ok(block)
}
