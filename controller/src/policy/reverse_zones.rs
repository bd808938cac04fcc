//! `reverse:`: the reverse zones muster serves, each address block expanded
//! into its zones by [`crate::reverse::zones_for`] (octet zones, RFC 2317
//! classless zones, IPv6 nibble zones), with its secondaries.

use std::net::IpAddr;
use std::sync::Arc;

use muster_dns::Secondary;
use muster_dns::tsig::TsigKey;

use super::locate::YamlPath;
use super::raw::{RawReverse, Text};
use super::validate::Checker;
use super::{Policy, ReverseZone, secondaries};

pub(super) fn reverse(
    c: &mut Checker,
    raw: &[RawReverse],
    secondaries: &[Secondary],
    keys: &[Arc<TsigKey>],
) -> Vec<ReverseZone> {
    let at = YamlPath::root().key("reverse");
    // Each zone with the entry it came from, to name it when another overlaps.
    let mut zones: Vec<(usize, ReverseZone)> = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let entry_at = at.index(i);
        let (block, block_at, own) = match entry {
            RawReverse::Block(text) => (text, entry_at.clone(), None),
            RawReverse::Table(table) => (&table.block, entry_at.key("block"), table.secondaries.as_deref()),
        };
        let secondaries = match own {
            Some(list) => secondaries::secondaries(c, &entry_at.key("secondaries"), list, keys, false),
            None => secondaries.to_vec(),
        };
        let Some(found) = c.value(&block_at, expand(block)) else {
            continue;
        };
        for (network, prefix, origin) in found {
            let zone = ReverseZone {
                network,
                prefix,
                origin,
                secondaries: secondaries.clone(),
            };
            let clash = zones.iter().find(|(_, other)| overlap(other, &zone));
            if let Some((j, other)) = clash {
                let what = if other.origin == zone.origin {
                    format!("the zone {} is already served", zone.origin)
                } else {
                    format!(
                        "{}/{} (zone {}) overlaps {}/{} (zone {})",
                        zone.network, zone.prefix, zone.origin, other.network, other.prefix, other.origin
                    )
                };
                let message = format!(
                    "{what} by reverse[{j}]; an address's PTR must live in one zone: list each block once, \
                     and drop the smaller block inside a larger one"
                );
                c.report(&block_at, message);
                continue;
            }
            zones.push((i, zone));
        }
    }
    zones.into_iter().map(|(_, zone)| zone).collect()
}

/// Warns about every inventory address that lies in no reverse zone, when
/// the policy serves any: its PTR would be missing, and receivers that
/// check forward-confirmed reverse DNS distrust the sender.
pub(super) fn check(c: &mut Checker, policy: &Policy) {
    if policy.reverse.is_empty() {
        return;
    }
    let hosts_at = YamlPath::root().key("hosts");
    for (i, host) in policy.hosts.iter().enumerate() {
        for ip in &host.addresses {
            if policy.reverse.iter().any(|zone| zone.contains(*ip)) {
                continue;
            }
            c.warn(
                &hosts_at.index(i),
                format!(
                    "host \"{}\" has address {ip}, which lies in no block under reverse:, so muster serves no \
                     PTR for it and receivers cannot confirm its name; add its block to reverse: (and ask \
                     the address's provider to delegate it), or ignore this if the provider publishes the PTR",
                    host.name
                ),
            );
        }
    }
}

/// The zones of a block written `127.0.10.0/24`.
fn expand(text: &Text) -> Result<Vec<(IpAddr, u8, hickory_proto::rr::Name)>, String> {
    let text = text.as_str().trim();
    let usage = || {
        format!(
            "\"{text}\" is not an address block; write it as ADDRESS/PREFIX, like 127.0.10.0/24, \
             127.0.10.64/26 or fd00:10::/48"
        )
    };
    let (ip, prefix) = text.split_once('/').ok_or_else(usage)?;
    let ip: IpAddr = ip.trim().parse().map_err(|_| usage())?;
    let prefix: u8 = prefix.trim().parse().map_err(|_| usage())?;
    crate::reverse::zones_for(ip, prefix)
}

/// True when two zones' blocks share an address.
fn overlap(a: &ReverseZone, b: &ReverseZone) -> bool {
    a.contains(b.network) || b.contains(a.network)
}
