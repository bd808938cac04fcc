//! The SPF record that follows the sending pools.
//!
//! Every host that may send mail as the domain is listed: members of the
//! listed roles in any phase (arriving, serving, draining out — a draining
//! host still delivers its queue, a dead one may come back with one), and
//! hosts that left those roles less than `keep_after_leave` ago. A host
//! joining a listed role is listed from the moment it is given the role
//! and is published in the role's pool only once the record's TTL has
//! passed (see `reconcile`), so no receiver holds a cached SPF without it.
//!
//! Addresses are merged into CIDR blocks where whole blocks are covered.
//! A record longer than [`MAX_RECORD`] bytes is split into parts published
//! at `_spf1`, `_spf2`, … under the zone and included from the main record.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::Name;

use crate::farm::{Farm, Millis, millis};
use crate::policy::{Policy, Spf};

/// The longest SPF text muster publishes in one record, so that the TXT
/// answer stays within 512 bytes (RFC 7208 §3.4).
pub const MAX_RECORD: usize = 450;

/// RFC 7208 §4.6.4: at most 10 terms that cause DNS lookups.
pub const MAX_LOOKUPS: usize = 10;

/// The hosts the SPF lists, by name.
pub type Senders = BTreeSet<String>;

/// True when hosts in `role` send mail as the domain: the SPF lists them,
/// and they join the role's pool only once it has listed them for its TTL.
pub fn sends(policy: &Policy, role: Option<&str>) -> bool {
    policy
        .spf
        .as_ref()
        .is_some_and(|spf| role.is_some_and(|role| spf.roles.iter().any(|r| r == role)))
}

/// Every host that may be sending mail as the domain at `now`.
pub fn senders(spf: &Spf, farm: &Farm, now: Millis) -> Senders {
    let sends = |role: &str| spf.roles.iter().any(|r| r == role);
    let keep = millis(spf.keep_after_leave);
    let holding = farm
        .assignments
        .iter()
        .filter(|(_, a)| a.role.as_deref().is_some_and(sends))
        .map(|(host, _)| host.clone());
    let recently_left = farm
        .departures
        .iter()
        .filter(|((host, role), left)| sends(role) && now - **left < keep && farm.hosts.contains_key(host))
        .map(|((host, _), _)| host.clone());
    holding.chain(recently_left).collect()
}

/// Notes in `after` the roles each host left since `before`: a host whose
/// role changed, or that left the farm, left its old role at `now`; a host
/// back in a role it left is no longer departed from it. Departures older
/// than the SPF keeps them are forgotten (all of them without an SPF).
pub fn track_departures(spf: Option<&Spf>, before: &Farm, after: &mut Farm, now: Millis) {
    for (host, old) in &before.assignments {
        let Some(old_role) = &old.role else { continue };
        let new_role = after.assignments.get(host).and_then(|a| a.role.as_ref());
        if new_role != Some(old_role) {
            after.departures.insert((host.clone(), old_role.clone()), now);
        }
    }
    for (host, a) in &after.assignments {
        if let Some(role) = &a.role {
            after.departures.remove(&(host.clone(), role.clone()));
        }
    }
    let keep = spf.map_or(0, |s| millis(s.keep_after_leave));
    after.departures.retain(|_, left| now - *left < keep);
}

/// When the next listed departure expires (the SPF changes then with no
/// other change to the farm), if any.
pub fn next_expiry(spf: &Spf, farm: &Farm, now: Millis) -> Option<Millis> {
    let keep = millis(spf.keep_after_leave);
    farm.departures
        .iter()
        .filter(|((_, role), _)| spf.roles.contains(role))
        .map(|(_, left)| left.saturating_add(keep))
        .filter(|&end| end > now)
        .min()
}

/// The SPF records for `addresses`: the main record at the policy's owner
/// first, then any `_spfN` parts. `over_limit` is true when the record
/// needs more DNS lookups than RFC 7208 allows (receivers answer
/// PermError); `muster check` refuses policies that can get there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpfRecords {
    /// (owner, text) in publishing order.
    pub records: Vec<(Name, String)>,
    /// More than [`MAX_LOOKUPS`] lookups.
    pub over_limit: bool,
}

/// Builds the SPF text for `spf` in zone `zone` listing `addresses`.
pub fn records(spf: &Spf, zone: &Name, addresses: impl IntoIterator<Item = IpAddr>) -> SpfRecords {
    let terms = address_terms(addresses);
    let includes: Vec<String> = spf
        .include
        .iter()
        .map(|n| format!("include:{}", n.to_string().trim_end_matches('.')))
        .collect();
    let all = spf.all.term();
    let whole = text(terms.iter().chain(&includes), all);
    if whole.len() <= MAX_RECORD {
        return SpfRecords {
            records: vec![(spf.owner.clone(), whole)],
            over_limit: includes.len() > MAX_LOOKUPS,
        };
    }
    // Split the address terms into parts that each fit, then include them.
    let mut parts: Vec<Vec<&String>> = vec![Vec::new()];
    let mut len = text(std::iter::empty::<&String>(), "?all").len();
    for term in &terms {
        if len + term.len() + 1 > MAX_RECORD
            && let Some(last) = parts.last()
            && !last.is_empty()
        {
            parts.push(Vec::new());
            len = text(std::iter::empty::<&String>(), "?all").len();
        }
        if let Some(last) = parts.last_mut() {
            last.push(term);
        }
        len += term.len() + 1;
    }
    let part_names: Vec<Name> = (1..=parts.len())
        .filter_map(|i| {
            Name::from_ascii(format!("_spf{i}"))
                .ok()?
                .append_domain(zone)
                .ok()
        })
        .collect();
    let mut main_terms: Vec<String> = part_names
        .iter()
        .map(|n| format!("include:{}", n.to_string().trim_end_matches('.')))
        .collect();
    main_terms.extend(includes);
    let over_limit = main_terms.len() > MAX_LOOKUPS;
    let mut records = vec![(spf.owner.clone(), text(main_terms.iter(), all))];
    // A part says nothing of the addresses it does not list: the main
    // record's `all` decides.
    records.extend(
        part_names
            .into_iter()
            .zip(&parts)
            .map(|(owner, terms)| (owner, text(terms.iter().copied(), "?all"))),
    );
    SpfRecords { records, over_limit }
}

fn text<'a>(terms: impl Iterator<Item = &'a String>, all: &str) -> String {
    let mut out = String::from("v=spf1");
    for term in terms {
        out.push(' ');
        out.push_str(term);
    }
    out.push(' ');
    out.push_str(all);
    out
}

/// `ip4:`/`ip6:` terms covering exactly `addresses`, merged into the
/// largest aligned blocks they fill, IPv4 first, in address order.
pub fn address_terms(addresses: impl IntoIterator<Item = IpAddr>) -> Vec<String> {
    let mut v4 = BTreeSet::new();
    let mut v6 = BTreeSet::new();
    for ip in addresses {
        match ip {
            IpAddr::V4(ip) => v4.insert(u128::from(u32::from(ip))),
            IpAddr::V6(ip) => v6.insert(u128::from(ip)),
        };
    }
    let mut terms: Vec<String> = blocks(&v4, 32)
        .into_iter()
        .map(|(start, prefix)| {
            let ip = Ipv4Addr::from(u32::try_from(start).unwrap_or(u32::MAX));
            if prefix == 32 {
                format!("ip4:{ip}")
            } else {
                format!("ip4:{ip}/{prefix}")
            }
        })
        .collect();
    terms.extend(blocks(&v6, 128).into_iter().map(|(start, prefix)| {
        let ip = Ipv6Addr::from(start);
        if prefix == 128 {
            format!("ip6:{ip}")
        } else {
            format!("ip6:{ip}/{prefix}")
        }
    }));
    terms
}

/// The fewest aligned blocks (start, prefix) covering exactly `addrs`, in
/// a space of `bits`-bit addresses.
fn blocks(addrs: &BTreeSet<u128>, bits: u32) -> Vec<(u128, u32)> {
    // Runs of consecutive addresses, each cut into aligned blocks.
    let mut out = Vec::new();
    let mut iter = addrs.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.next_if(|&n| Some(n) == end.checked_add(1)).is_some() {
            end += 1;
        }
        let mut at = start;
        loop {
            // The largest block starting at `at` that is aligned and ends
            // within the run.
            let mut size_bits = at.trailing_zeros().min(bits);
            while size_bits > 0 && at + ((1u128 << size_bits) - 1) > end {
                size_bits -= 1;
            }
            out.push((at, bits - size_bits));
            let next = at + (1u128 << size_bits);
            if next > end || next == 0 {
                break;
            }
            at = next;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::policy::SpfAll;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().expect("ip")).collect()
    }

    fn spf(include: &[&str]) -> Spf {
        Spf {
            owner: Name::from_ascii("lists.example.test.").expect("name"),
            roles: vec!["smtp-out".to_owned()],
            include: include
                .iter()
                .map(|s| Name::from_ascii(s).expect("name"))
                .collect(),
            keep_after_leave: Duration::from_secs(5 * 86_400),
            all: SpfAll::Fail,
            ttl: 300,
        }
    }

    #[test]
    fn whole_blocks_merge_and_the_rest_stay_single() {
        let terms = address_terms(ips(&[
            "127.0.10.4",
            "127.0.10.5",
            "127.0.10.6",
            "127.0.10.7",
            "127.0.10.9",
            "127.0.10.10",
            "::1",
        ]));
        assert_eq!(
            terms,
            [
                "ip4:127.0.10.4/30",
                "ip4:127.0.10.9",
                "ip4:127.0.10.10",
                "ip6:::1"
            ]
        );
        // A run crossing a boundary is cut at it.
        assert_eq!(
            address_terms(ips(&["127.0.10.3", "127.0.10.4", "127.0.10.5"])),
            ["ip4:127.0.10.3", "ip4:127.0.10.4/31"]
        );
        let all: Vec<IpAddr> = (0..=255u8).map(|i| IpAddr::from([127, 0, 10, i])).collect();
        assert_eq!(address_terms(all), ["ip4:127.0.10.0/24"]);
    }

    #[test]
    fn a_short_record_is_one_text() {
        let zone = Name::from_ascii("lists.example.test.").expect("zone");
        let out = records(&spf(&["_spf.example.net."]), &zone, ips(&["127.0.10.1"]));
        assert_eq!(
            out.records,
            [(
                zone.clone(),
                "v=spf1 ip4:127.0.10.1 include:_spf.example.net -all".to_owned()
            )]
        );
        assert!(!out.over_limit);
    }

    #[test]
    fn a_long_record_is_split_into_included_parts_that_each_fit() {
        let zone = Name::from_ascii("lists.example.test.").expect("zone");
        // Every other address: nothing merges.
        let addrs: Vec<IpAddr> = (0..60u8).map(|i| IpAddr::from([127, 0, 10, i * 2])).collect();
        let out = records(&spf(&["_spf.example.net."]), &zone, addrs.clone());
        assert!(out.records.len() >= 3, "{:?}", out.records);
        let (main_owner, main) = &out.records[0];
        assert_eq!(main_owner, &zone);
        assert!(main.starts_with("v=spf1 include:_spf1.lists.example.test include:_spf2.lists.example.test"));
        assert!(main.ends_with("include:_spf.example.net -all"));
        let mut listed = 0;
        for (owner, text) in &out.records {
            assert!(text.len() <= MAX_RECORD, "{owner}: {} bytes", text.len());
            listed += text.matches("ip4:").count();
        }
        assert_eq!(listed, addrs.len());
        assert!(!out.over_limit);
    }

    #[test]
    fn too_many_lookups_are_reported() {
        let zone = Name::from_ascii("lists.example.test.").expect("zone");
        let includes: Vec<String> = (0..11).map(|i| format!("_spf.example{i}.net.")).collect();
        let includes: Vec<&str> = includes.iter().map(String::as_str).collect();
        assert!(records(&spf(&includes), &zone, ips(&["127.0.10.1"])).over_limit);
    }
}
