//! DNS cookies (RFC 7873) with the interoperable server cookie of RFC 9018.
//!
//! A client sends an 8-byte client cookie in EDNS option 10; the server
//! answers with it and a 16-byte server cookie: version 1, three reserved
//! bytes, a 32-bit timestamp and SipHash-2-4 (keyed by the server secret)
//! over client cookie | version | reserved | timestamp | client address.
//! A client that returns a server cookie we made for its address within
//! the last hour has proved it receives our answers at that address, so
//! it is not spoofing it: [`crate::rrl`] never limits it.
//!
//! The secret lives in [`CookieSecrets`] (current and previous), shared by
//! every listener through [`SharedCookieSecrets`]; rotating it is a swap.

use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwap;
use siphasher::sip::SipHasher24;

/// The EDNS option code of COOKIE (RFC 7873 §4).
pub const OPTION_CODE: u16 = 10;
/// Bytes of a client cookie.
pub const CLIENT_LEN: usize = 8;
/// Bytes of the server cookies we make (RFC 9018 §4.2).
pub const SERVER_LEN: usize = 16;
/// The option we write: client cookie and our server cookie, with its
/// code and length.
pub const OPTION_LEN: usize = 4 + CLIENT_LEN + SERVER_LEN;
/// A server cookie older than this is stale (RFC 9018 §4.3: one hour).
const MAX_AGE: u32 = 3600;
/// A server cookie from this far in the future still counts (clock skew
/// between instances sharing a secret; RFC 9018 §4.3: five minutes).
const MAX_AHEAD: u32 = 300;

/// The COOKIE option of a query, as sent.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cookie {
    /// The client cookie.
    pub client: [u8; CLIENT_LEN],
    server: [u8; 32],
    server_len: u8,
}

impl std::fmt::Debug for Cookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cookie({:02x?}, {:02x?})", self.client, self.server())
    }
}

impl Cookie {
    /// Reads an option's data: a client cookie of 8 bytes, optionally
    /// followed by a server cookie of 8 to 32 bytes. Any other length is
    /// malformed (RFC 7873 §5.2.2: FORMERR).
    pub fn parse(data: &[u8]) -> Option<Self> {
        let (client, server) = data.split_at_checked(CLIENT_LEN)?;
        if !(server.is_empty() || (8..=32).contains(&server.len())) {
            return None;
        }
        let mut cookie = Self {
            client: client.try_into().ok()?,
            server: [0; 32],
            server_len: server.len() as u8,
        };
        cookie.server[..server.len()].copy_from_slice(server);
        Some(cookie)
    }

    /// The server cookie the client returned; empty when it sent none.
    pub fn server(&self) -> &[u8] {
        &self.server[..usize::from(self.server_len)]
    }
}

/// What a query's cookie proves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CookieStatus {
    /// No COOKIE option (or cookies not checked).
    #[default]
    None,
    /// A client cookie only: the client's first query to us.
    ClientOnly,
    /// A server cookie we did not make for this client, or a stale one.
    Invalid,
    /// A server cookie we made for this client and address within the hour.
    Valid,
}

/// The secrets server cookies are made and checked with.
#[derive(Clone)]
pub struct CookieSecrets {
    current: [u8; 16],
    previous: Option<[u8; 16]>,
}

impl std::fmt::Debug for CookieSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CookieSecrets(..)")
    }
}

/// The secrets every listener reads; rotating them is a store.
pub type SharedCookieSecrets = Arc<ArcSwap<CookieSecrets>>;

impl CookieSecrets {
    /// Secrets with `current` in use and nothing older.
    pub fn new(current: [u8; 16]) -> Self {
        Self {
            current,
            previous: None,
        }
    }

    /// A fresh random secret.
    ///
    /// # Errors
    /// When the system has no randomness to give.
    pub fn random() -> std::io::Result<Self> {
        let mut secret = [0; 16];
        getrandom::getrandom(&mut secret)
            .map_err(|e| std::io::Error::other(format!("no randomness for a cookie secret: {e}")))?;
        Ok(Self::new(secret))
    }

    /// The secrets after a rollover to `next`: cookies made with the one in
    /// use until now stay valid (for their hour) and new ones use `next`
    /// (RFC 9018 §5).
    pub fn rolled(&self, next: [u8; 16]) -> Self {
        Self {
            current: next,
            previous: Some(self.current),
        }
    }

    /// [`Self::rolled`] to the current secret of `fresh`.
    pub fn rolled_from(&self, fresh: &Self) -> Self {
        self.rolled(fresh.current)
    }

    /// Our server cookie for `client` at `ip`, stamped `now` (Unix seconds,
    /// modulo 2^32).
    pub fn server_cookie(&self, client: &[u8; CLIENT_LEN], ip: IpAddr, now: u32) -> [u8; SERVER_LEN] {
        let mut cookie = [0; SERVER_LEN];
        cookie[0] = 1;
        cookie[4..8].copy_from_slice(&now.to_be_bytes());
        let hash = hash(&self.current, client, &cookie[..8], ip);
        cookie[8..].copy_from_slice(&hash);
        cookie
    }

    /// What `cookie`, sent from `ip`, proves at `now`.
    pub fn check(&self, cookie: &Cookie, ip: IpAddr, now: u32) -> CookieStatus {
        let server = cookie.server();
        if server.is_empty() {
            return CookieStatus::ClientOnly;
        }
        if server.len() != SERVER_LEN || server[0] != 1 {
            return CookieStatus::Invalid;
        }
        let stamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
        if !fresh(stamp, now) {
            return CookieStatus::Invalid;
        }
        if self.made(cookie, ip) {
            CookieStatus::Valid
        } else {
            CookieStatus::Invalid
        }
    }

    /// True when `cookie`'s server part is ours (current or previous secret)
    /// for `ip`, whatever its age.
    fn made(&self, cookie: &Cookie, ip: IpAddr) -> bool {
        let server = cookie.server();
        let Some((head, mac)) = server.split_at_checked(8) else {
            return false;
        };
        let ours = |secret: &[u8; 16]| hash(secret, &cookie.client, head, ip) == mac;
        ours(&self.current) || self.previous.as_ref().is_some_and(ours)
    }
}

/// Whether a cookie stamped `stamp` is usable at `now`: at most an hour old
/// and at most five minutes ahead, in serial-number arithmetic (the
/// timestamp wraps in 2106).
fn fresh(stamp: u32, now: u32) -> bool {
    let age = now.wrapping_sub(stamp);
    age <= MAX_AGE || stamp.wrapping_sub(now) <= MAX_AHEAD
}

/// SipHash-2-4 over client cookie | version, reserved, timestamp | address.
fn hash(secret: &[u8; 16], client: &[u8; CLIENT_LEN], head: &[u8], ip: IpAddr) -> [u8; 8] {
    let mut h = SipHasher24::new_with_key(secret);
    h.write(client);
    h.write(head);
    match ip.to_canonical() {
        IpAddr::V4(v4) => h.write(&v4.octets()),
        IpAddr::V6(v6) => h.write(&v6.octets()),
    }
    // RFC 9018's vectors read the 64-bit result as bytes in little-endian
    // order, as the reference implementation writes it.
    h.finish().to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn secret(s: &str) -> CookieSecrets {
        CookieSecrets::new(hex(s).try_into().expect("16 bytes"))
    }

    fn client(s: &str) -> [u8; 8] {
        hex(s).try_into().expect("8 bytes")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    /// RFC 9018 Appendix A: every server cookie the examples hand out.
    #[test]
    fn makes_the_rfc_9018_cookies() {
        let cases = [
            // A.1: learning a new server cookie.
            (
                "e5e973e5a6b2a43f48e7dc849e37bfcf",
                "2464c4abcf10c957",
                "198.51.100.100",
                1_559_731_985,
                "010000005cf79f111f8130c3eee29480",
            ),
            // A.2: the same client, a renewed cookie.
            (
                "e5e973e5a6b2a43f48e7dc849e37bfcf",
                "2464c4abcf10c957",
                "198.51.100.100",
                1_559_734_385,
                "010000005cf7a871d4a564a1442aca77",
            ),
            // A.3: another client, a renewed cookie.
            (
                "e5e973e5a6b2a43f48e7dc849e37bfcf",
                "fc93fc62807ddb86",
                "203.0.113.203",
                1_559_734_700,
                "010000005cf7a9acf73a7810aca2381e",
            ),
            // A.4: IPv6, after the secret was rolled over.
            (
                "445536bcd2513298075a5d379663c962",
                "22681ab97d52c298",
                "2001:db8:220:1:59de:d0f4:8769:82b8",
                1_559_741_961,
                "010000005cf7c609a6bb79d16625507a",
            ),
        ];
        for (key, c, addr, now, want) in cases {
            let got = secret(key).server_cookie(&client(c), ip(addr), now);
            assert_eq!(got.to_vec(), hex(want), "{addr} at {now}");
        }
    }

    /// RFC 9018 Appendix A: the cookies the clients return are recognised,
    /// reserved bytes and an old secret included, and not from elsewhere.
    #[test]
    fn recognises_the_rfc_9018_returned_cookies() {
        let a3 = Cookie::parse(&hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5")).expect("cookie");
        let keys = secret("e5e973e5a6b2a43f48e7dc849e37bfcf");
        assert!(keys.made(&a3, ip("203.0.113.203")));
        assert!(!keys.made(&a3, ip("203.0.113.204")));
        // Made 1 h 52 min before the reply: too old to exempt anyone.
        assert_eq!(
            keys.check(&a3, ip("203.0.113.203"), 1_559_734_700),
            CookieStatus::Invalid
        );

        let a4 = Cookie::parse(&hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8")).expect("cookie");
        let client6 = ip("2001:db8:220:1:59de:d0f4:8769:82b8");
        let old = secret("dd3bdf9344b678b185a6f5cb60fca715");
        let new = hex("445536bcd2513298075a5d379663c962").try_into().expect("16");
        assert!(!CookieSecrets::new(new).made(&a4, client6));
        let rolled = old.rolled(new);
        assert!(rolled.made(&a4, client6), "the previous secret still counts");
        assert_eq!(rolled.check(&a4, client6, 1_559_741_961), CookieStatus::Valid);
    }

    #[test]
    fn a_cookie_is_valid_for_an_hour_and_five_minutes_early() {
        let keys = secret("e5e973e5a6b2a43f48e7dc849e37bfcf");
        let c = client("2464c4abcf10c957");
        let from = ip("127.0.0.1");
        let t = 1_700_000_000u32;
        let mut option = c.to_vec();
        option.extend_from_slice(&keys.server_cookie(&c, from, t));
        let cookie = Cookie::parse(&option).expect("cookie");
        for (now, want) in [
            (t, CookieStatus::Valid),
            (t + 3600, CookieStatus::Valid),
            (t + 3601, CookieStatus::Invalid),
            (t - 300, CookieStatus::Valid),
            (t - 301, CookieStatus::Invalid),
        ] {
            assert_eq!(keys.check(&cookie, from, now), want, "at {now}");
        }
        assert_eq!(keys.check(&cookie, ip("127.0.0.2"), t), CookieStatus::Invalid);
        assert!(fresh(u32::MAX - 100, 1000), "across the wrap");
        let only = Cookie::parse(&c).expect("cookie");
        assert_eq!(keys.check(&only, from, t), CookieStatus::ClientOnly);
        let forty = Cookie::parse(&[7; 40]).expect("cookie");
        assert_eq!(keys.check(&forty, from, t), CookieStatus::Invalid);
    }

    #[test]
    fn only_the_lengths_rfc_7873_allows_parse() {
        for len in 0..=48 {
            let ok = len == 8 || (16..=40).contains(&len);
            assert_eq!(Cookie::parse(&vec![1; len]).is_some(), ok, "{len} bytes");
        }
    }
}
