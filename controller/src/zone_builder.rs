//! The pure functions from (policy, farm, membership, time) to the zones
//! muster publishes: the forward zone and its reverse zones.

use std::collections::BTreeMap;
use std::net::IpAddr;

use muster_dns::{RecordData, SoaFields, Zone, ZoneError};

use hickory_proto::rr::{Name, RecordType};
use tracing::warn;

use crate::farm::{Farm, Millis};
use crate::policy::{FixedData, MAX_PARTS, MemberRecord, Policy, ReverseZone, Spf};
use crate::spf;

/// The reconciler decides who is published; the zone shows it.
pub use crate::reconcile::Membership;

/// The membership a policy starts with: every host in its `role:`.
pub fn initial_membership(policy: &Policy) -> Membership {
    let mut members = Membership::new();
    for host in &policy.hosts {
        if let Some(role) = &host.role {
            members.entry(role.clone()).or_default().push(host.name.clone());
        }
    }
    members
}

/// Builds the forward zone: SOA and NS at the apex, every host's own
/// A/AAAA, each role's records over its members, each role's fallback
/// tier, the static records (the policy's and the API's), the aliases and
/// the SPF of the hosts that may send at `now` (when it cannot be written,
/// the one in `previous`, the zone published now, stays).
///
/// Fallback MX records are always published: their higher preference makes
/// senders use them only when every member fails. Fallback A/AAAA records
/// carry no preference, so they are published only where the role's
/// members publish no address of that type — an empty pool never means an
/// empty answer.
pub fn build_zone(
    policy: &Policy,
    farm: &Farm,
    members: &Membership,
    now: Millis,
    serial: u32,
    previous: Option<&Zone>,
) -> Result<Zone, ZoneError> {
    let mut zone = apex(policy, &policy.zone, serial)?;
    zone.set_secondaries(policy.secondaries.clone());

    let mut fqdns: BTreeMap<&str, Name> = BTreeMap::new();
    for host in farm.hosts.values() {
        let fqdn = host_name(&host.name, &policy.zone)?;
        for &ip in &host.addresses {
            zone.add(&fqdn, policy.ttl, address(ip))?;
        }
        fqdns.insert(&host.name, fqdn);
    }

    for (role_name, role) in &policy.roles {
        let member_hosts: Vec<(&Name, &[IpAddr])> = members
            .get(role_name)
            .into_iter()
            .flatten()
            .filter_map(|name| {
                Some((
                    fqdns.get(name.as_str())?,
                    farm.hosts.get(name)?.addresses.as_slice(),
                ))
            })
            .collect();
        for template in &role.records {
            for &(fqdn, ips) in &member_hosts {
                match template.kind {
                    MemberRecord::Mx { preference } => zone.add(
                        &template.owner,
                        template.ttl,
                        RecordData::Mx {
                            preference,
                            exchange: fqdn.clone(),
                        },
                    )?,
                    MemberRecord::A => {
                        for ip in ips.iter().filter(|ip| ip.is_ipv4()) {
                            zone.add(&template.owner, template.ttl, address(*ip))?;
                        }
                    }
                    MemberRecord::Aaaa => {
                        for ip in ips.iter().filter(|ip| ip.is_ipv6()) {
                            zone.add(&template.owner, template.ttl, address(*ip))?;
                        }
                    }
                }
            }
        }
        for fallback in &role.fallback {
            let data = match &fallback.data {
                FixedData::Mx { preference, exchange } => RecordData::Mx {
                    preference: *preference,
                    exchange: exchange.clone(),
                },
                FixedData::A(ip) => RecordData::A(*ip),
                FixedData::Aaaa(ip) => RecordData::Aaaa(*ip),
            };
            let is_address = !matches!(data, RecordData::Mx { .. });
            if is_address && zone.get(&fallback.owner, data.record_type()).is_some() {
                continue;
            }
            zone.add(&fallback.owner, fallback.ttl, data)?;
        }
    }

    for record in policy.records.iter().chain(&farm.records) {
        zone.add(&record.owner, record.ttl, record.data.clone())?;
    }
    for (alias, host) in &farm.aliases {
        let target = host_name(host, &policy.zone)?;
        zone.add(alias, policy.ttl, RecordData::Cname(target))?;
    }
    if let Some(spf) = &policy.spf {
        match spf.records(&policy.zone, spf::sender_addresses(spf, farm, now)) {
            Ok(records) => {
                for (owner, text) in records {
                    zone.add(&owner, spf.ttl, RecordData::txt(&text))?;
                }
            }
            // Fail static: hosts enrolled past what `muster check` saw
            // would make the record unusable (receivers answer PermError
            // past ten lookups), so the SPF published before stays.
            Err(too_big) => {
                warn!(reason = %too_big, "the SPF cannot list every sender; keeping the one published");
                for (owner, set) in previous.into_iter().flat_map(|p| spf_sets(p, spf, &policy.zone)) {
                    for data in &set.data {
                        zone.add(owner, set.ttl, data.clone())?;
                    }
                }
            }
        }
    }
    Ok(zone)
}

/// The SPF's record sets in `zone`: the one at its owner and its parts.
fn spf_sets<'z>(
    zone: &'z Zone,
    spf: &Spf,
    origin: &Name,
) -> impl Iterator<Item = (&'z Name, &'z muster_dns::RecordSet)> {
    let parts: Vec<Name> = (1..=MAX_PARTS)
        .filter_map(|n| Spf::part_owner(origin, n))
        .collect();
    let owner = spf.owner.clone();
    zone.sets()
        .filter(move |(name, rtype, _)| {
            *rtype == RecordType::TXT && (**name == owner || parts.contains(name))
        })
        .map(|(name, _, set)| (name, set))
}

/// Builds each reverse zone the policy lists: SOA and NS as the forward
/// zone's, and a PTR naming its host for every host address inside it —
/// every host the farm knows, alive or not (a PTR is a mapping, not a
/// pool), so each sender's name and address confirm each other.
pub fn build_reverse_zones(policy: &Policy, farm: &Farm) -> Result<Vec<Zone>, ZoneError> {
    policy
        .reverse
        .iter()
        .map(|reverse| reverse_zone(policy, reverse, farm))
        .collect()
}

fn reverse_zone(policy: &Policy, reverse: &ReverseZone, farm: &Farm) -> Result<Zone, ZoneError> {
    let mut zone = apex(policy, &reverse.origin, 0)?;
    zone.set_secondaries(reverse.secondaries.clone());
    for host in farm.hosts.values() {
        let target = host_name(&host.name, &policy.zone)?;
        for &ip in &host.addresses {
            // A child zone served beside this one (an RFC 2317 block inside
            // a /24) holds its own addresses.
            let in_child = policy.reverse.iter().any(|other| {
                other.origin != reverse.origin && reverse.origin.zone_of(&other.origin) && other.contains(ip)
            });
            if in_child {
                continue;
            }
            if let Some(owner) = reverse.ptr_owner(ip) {
                zone.add(&owner, policy.ttl, RecordData::Ptr(target.clone()))?;
            }
        }
    }
    Ok(zone)
}

/// A zone at `origin` holding only the policy's SOA fields and NS set.
fn apex(policy: &Policy, origin: &Name, serial: u32) -> Result<Zone, ZoneError> {
    let soa = SoaFields {
        mname: policy.soa.mname.clone(),
        rname: policy.soa.rname.clone(),
        refresh: policy.soa.refresh,
        retry: policy.soa.retry,
        expire: policy.soa.expire,
        minimum: policy.soa.minimum,
        ttl: policy.soa.ttl,
    };
    let mut zone = Zone::new(origin, serial, soa)?;
    for ns in &policy.nameservers {
        zone.add(origin, policy.ttl, RecordData::Ns(ns.clone()))?;
    }
    Ok(zone)
}

/// A host's own name, `<host>.<zone>`.
pub fn host_name(host: &str, zone: &Name) -> Result<Name, ZoneError> {
    Name::from_ascii(host)
        .and_then(|n| n.append_domain(zone))
        .map_err(|_| ZoneError::NotAbsolute(host.to_owned()))
}

fn address(ip: IpAddr) -> RecordData {
    match ip {
        IpAddr::V4(v4) => RecordData::A(v4),
        IpAddr::V6(v6) => RecordData::Aaaa(v6),
    }
}
