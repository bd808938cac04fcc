//! Reverse-zone names: which zones cover an address block, and the owner
//! name of an address's PTR record inside one.
//!
//! IPv4 blocks of /8, /16 and /24 are zones of their own; blocks between
//! those sizes are served as the zones of the next longer octet boundary
//! (a /20 is sixteen /24 zones). Blocks longer than /24 follow RFC 2317:
//! the zone is `<first>-<prefix>.<c>.<b>.<a>.in-addr.arpa.`, and the
//! provider's /24 zone delegates it and publishes, for each address `n`,
//! `n.<c>.<b>.<a>.in-addr.arpa. CNAME n.<first>-<prefix>.<c>.<b>.<a>.in-addr.arpa.`.
//! IPv6 blocks are zones on nibble boundaries (RFC 3596 §2.5).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::Name;

use crate::policy::ReverseZone;

/// The zones (network, prefix, origin) that serve `network/prefix`, or why
/// the block cannot be served.
pub fn zones_for(network: IpAddr, prefix: u8) -> Result<Vec<(IpAddr, u8, Name)>, String> {
    match network {
        IpAddr::V4(v4) => v4_zones(v4, prefix),
        IpAddr::V6(v6) => v6_zone(v6, prefix).map(|z| vec![z]),
    }
}

fn v4_zones(network: Ipv4Addr, prefix: u8) -> Result<Vec<(IpAddr, u8, Name)>, String> {
    if !(8..=31).contains(&prefix) {
        return Err(format!(
            "an IPv4 reverse block is /8 to /31, not /{prefix}; a single address needs no zone of its own"
        ));
    }
    let bits = u32::from(network);
    if bits & !mask4(prefix) != 0 {
        let first = Ipv4Addr::from(bits & mask4(prefix));
        return Err(format!(
            "{network}/{prefix} has host bits set; the block is {first}/{prefix}"
        ));
    }
    if prefix > 24 {
        let [a, b, c, d] = network.octets();
        let origin = format!("{d}-{prefix}.{c}.{b}.{a}.in-addr.arpa.");
        return Ok(vec![(IpAddr::V4(network), prefix, name(&origin)?)]);
    }
    // The next octet boundary at or below the block: each zone is one
    // whole /8, /16 or /24.
    let zone_prefix = prefix.div_ceil(8) * 8;
    let count = 1u32 << (zone_prefix - prefix);
    let step = 1u32 << (32 - zone_prefix);
    (0..count)
        .map(|i| {
            let net = Ipv4Addr::from(bits + i * step);
            let octets = net.octets();
            let labels: Vec<String> = octets[..usize::from(zone_prefix / 8)]
                .iter()
                .rev()
                .map(u8::to_string)
                .collect();
            let origin = format!("{}.in-addr.arpa.", labels.join("."));
            Ok((IpAddr::V4(net), zone_prefix, name(&origin)?))
        })
        .collect()
}

fn v6_zone(network: Ipv6Addr, prefix: u8) -> Result<(IpAddr, u8, Name), String> {
    if prefix == 0 || prefix > 124 || !prefix.is_multiple_of(4) {
        return Err(format!(
            "an IPv6 reverse block ends on a nibble boundary (a multiple of 4, up to /124), not /{prefix}"
        ));
    }
    let bits = u128::from(network);
    let mask = u128::MAX << (128 - u32::from(prefix));
    if bits & !mask != 0 {
        let first = Ipv6Addr::from(bits & mask);
        return Err(format!(
            "{network}/{prefix} has host bits set; the block is {first}/{prefix}"
        ));
    }
    let nibbles = nibbles(network);
    let labels: Vec<String> = nibbles[..usize::from(prefix / 4)]
        .iter()
        .rev()
        .map(|n| format!("{n:x}"))
        .collect();
    let origin = format!("{}.ip6.arpa.", labels.join("."));
    Ok((IpAddr::V6(network), prefix, name(&origin)?))
}

fn mask4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn nibbles(ip: Ipv6Addr) -> Vec<u8> {
    ip.octets().iter().flat_map(|b| [b >> 4, b & 0xF]).collect()
}

fn name(text: &str) -> Result<Name, String> {
    Name::from_ascii(text).map_err(|e| format!("{text}: {e}"))
}

impl ReverseZone {
    /// True when `ip` lies in this zone's block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => u32::from(ip) & mask4(self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX << (128 - u32::from(self.prefix));
                u128::from(ip) & mask == u128::from(net)
            }
            _ => false,
        }
    }

    /// The owner of `ip`'s PTR record in this zone, when the zone holds it.
    pub fn ptr_owner(&self, ip: IpAddr) -> Option<Name> {
        if !self.contains(ip) {
            return None;
        }
        let text = match ip {
            // RFC 2317: the last octet under the classless zone's origin.
            IpAddr::V4(v4) if self.prefix > 24 => format!("{}.{}", v4.octets()[3], self.origin),
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                format!("{d}.{c}.{b}.{a}.in-addr.arpa.")
            }
            IpAddr::V6(v6) => {
                let labels: Vec<String> = nibbles(v6).iter().rev().map(|n| format!("{n:x}")).collect();
                format!("{}.ip6.arpa.", labels.join("."))
            }
        };
        Name::from_ascii(text).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(block: &str) -> ReverseZone {
        let (ip, prefix) = block.split_once('/').expect("block");
        let (network, prefix, origin) = zones_for(ip.parse().expect("ip"), prefix.parse().expect("prefix"))
            .expect("zones")
            .remove(0);
        ReverseZone {
            network,
            prefix,
            origin,
            secondaries: Vec::new(),
        }
    }

    #[test]
    fn octet_blocks_are_one_zone_each() {
        let z = zone("127.0.10.0/24");
        assert_eq!(z.origin.to_string(), "10.0.127.in-addr.arpa.");
        let owner = z.ptr_owner("127.0.10.7".parse().expect("ip")).expect("inside");
        assert_eq!(owner.to_string(), "7.10.0.127.in-addr.arpa.");
        assert!(z.ptr_owner("127.0.11.7".parse().expect("ip")).is_none());
        assert_eq!(zone("10.0.0.0/8").origin.to_string(), "10.in-addr.arpa.");
    }

    #[test]
    fn blocks_between_octets_become_the_zones_of_the_next_octet() {
        let zones = zones_for("127.0.16.0".parse().expect("ip"), 22).expect("zones");
        let origins: Vec<String> = zones.iter().map(|(_, _, o)| o.to_string()).collect();
        assert_eq!(
            origins,
            [
                "16.0.127.in-addr.arpa.",
                "17.0.127.in-addr.arpa.",
                "18.0.127.in-addr.arpa.",
                "19.0.127.in-addr.arpa."
            ]
        );
    }

    #[test]
    fn classless_blocks_follow_rfc_2317() {
        let z = zone("127.0.10.64/26");
        assert_eq!(z.origin.to_string(), "64-26.10.0.127.in-addr.arpa.");
        let owner = z.ptr_owner("127.0.10.70".parse().expect("ip")).expect("inside");
        assert_eq!(owner.to_string(), "70.64-26.10.0.127.in-addr.arpa.");
        assert!(z.ptr_owner("127.0.10.130".parse().expect("ip")).is_none());
    }

    #[test]
    fn ipv6_blocks_are_nibble_zones() {
        let z = zone("fd00:10::/32");
        assert_eq!(z.origin.to_string(), "0.1.0.0.0.0.d.f.ip6.arpa.");
        let owner = z.ptr_owner("fd00:10::1".parse().expect("ip")).expect("inside");
        assert!(owner.to_string().starts_with("1.0.0.0."));
        assert!(owner.to_string().ends_with(".0.1.0.0.0.0.d.f.ip6.arpa."));
        assert_eq!(owner.num_labels(), 34);
    }

    #[test]
    fn bad_blocks_say_why() {
        assert!(
            zones_for("127.0.10.1".parse().expect("ip"), 24)
                .expect_err("refused")
                .contains("127.0.10.0/24")
        );
        assert!(
            zones_for("fd00::".parse().expect("ip"), 30)
                .expect_err("refused")
                .contains("nibble")
        );
        assert!(zones_for("127.0.0.0".parse().expect("ip"), 4).is_err());
    }
}
