//! The pure function from (policy, membership) to the zone muster publishes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use muster_dns::{RecordData, SoaFields, Zone, ZoneError};

use hickory_proto::rr::Name;

use crate::policy::{FixedData, MemberRecord, Policy};

/// Which hosts are published in each role right now: role -> host names.
/// Hosts not listed (draining, dead, unassigned) publish only their own
/// address records.
pub type Membership = BTreeMap<String, Vec<String>>;

/// Every host's addresses by host name: the inventory plus enrolled agents.
pub type Addresses = BTreeMap<String, Vec<IpAddr>>;

/// The addresses the policy's inventory gives.
pub fn inventory_addresses(policy: &Policy) -> Addresses {
    policy
        .hosts
        .iter()
        .map(|h| (h.name.clone(), h.addresses.clone()))
        .collect()
}

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

/// Builds the zone: SOA and NS at the apex, every host's own A/AAAA, each
/// role's records over its members, and each role's fallback tier.
///
/// Fallback MX records are always published: their higher preference makes
/// senders use them only when every member fails. Fallback A/AAAA records
/// carry no preference, so they are published only where the role's
/// members publish no address of that type — an empty pool never means an
/// empty answer.
pub fn build_zone(
    policy: &Policy,
    addresses: &Addresses,
    members: &Membership,
    serial: u32,
) -> Result<Zone, ZoneError> {
    let soa = SoaFields {
        mname: policy.soa.mname.clone(),
        rname: policy.soa.rname.clone(),
        refresh: policy.soa.refresh,
        retry: policy.soa.retry,
        expire: policy.soa.expire,
        minimum: policy.soa.minimum,
        ttl: policy.soa.ttl,
    };
    let mut zone = Zone::new(&policy.zone, serial, soa)?;
    zone.set_secondaries(policy.secondaries.clone());
    for ns in &policy.nameservers {
        zone.add(&policy.zone, policy.ttl, RecordData::Ns(ns.clone()))?;
    }

    let mut fqdns: BTreeMap<&str, Name> = BTreeMap::new();
    for (name, ips) in addresses {
        let fqdn = Name::from_ascii(name)
            .and_then(|n| n.append_domain(&policy.zone))
            .map_err(|_| ZoneError::NotAbsolute(name.clone()))?;
        for &ip in ips {
            zone.add(&fqdn, policy.ttl, address(ip))?;
        }
        fqdns.insert(name, fqdn);
    }

    for (role_name, role) in &policy.roles {
        let member_hosts: Vec<(&Name, &[IpAddr])> = members
            .get(role_name)
            .into_iter()
            .flatten()
            .filter_map(|name| Some((fqdns.get(name.as_str())?, addresses.get(name)?.as_slice())))
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
    Ok(zone)
}

fn address(ip: IpAddr) -> RecordData {
    match ip {
        IpAddr::V4(v4) => RecordData::A(v4),
        IpAddr::V6(v6) => RecordData::Aaaa(v6),
    }
}
