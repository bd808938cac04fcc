//! Checks `hosts:`: names, addresses, the roles each host may hold and
//! starts in, and labels.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hickory_proto::rr::Name;

use super::locate::YamlPath;
use super::raw::RawHost;
use super::validate::{Checker, Ctx};
use super::{Host, values};

pub(super) fn hosts(c: &mut Checker, ctx: &Ctx, raw: Vec<RawHost>) -> Vec<Host> {
    let at = YamlPath::root().key("hosts");
    let mut hosts: Vec<Host> = Vec::with_capacity(raw.len());
    // Host name -> index of its first entry.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw_host) in raw.into_iter().enumerate() {
        let host_at = at.index(i);
        let Some(host) = host(c, ctx, &host_at, raw_host) else {
            continue;
        };
        match seen.get(&host.name) {
            Some(first) => c.report(
                &host_at.key("name"),
                format!(
                    "host \"{}\" is listed twice (first as hosts[{first}]); host names must be unique",
                    host.name
                ),
            ),
            None => {
                seen.insert(host.name.clone(), i);
            }
        }
        hosts.push(host);
    }
    hosts
}

fn host(c: &mut Checker, ctx: &Ctx, at: &YamlPath, raw: RawHost) -> Option<Host> {
    let name = c.value(&at.key("name"), values::host_label(raw.name.as_str()));
    let fqdn = name.as_ref().and_then(|name| {
        let fqdn = Name::from_labels([name.as_bytes()]).and_then(|label| label.append_name(&ctx.zone));
        let fqdn = fqdn.map_err(|_| format!("host name \"{name}\" is too long once the zone is added"));
        c.value(&at.key("name"), fqdn)
    });
    let shown = name.clone().unwrap_or_else(|| raw.name.as_str().to_owned());

    let single = raw
        .address
        .as_ref()
        .and_then(|address| c.value(&at.key("address"), values::ip(address.as_str())));
    let listed = c.each(&at.key("addresses"), &raw.addresses, values::ip);
    c.unique(&at.key("addresses"), &listed, |ip| {
        format!("address {ip} is listed twice")
    });
    let mut addresses: Vec<IpAddr> = single.into_iter().collect();
    for (i, ip) in listed {
        if single == Some(ip) {
            let message = format!("address {ip} is already given by address; list it once");
            c.report(&at.key("addresses").index(i), message);
        }
        if !addresses.contains(&ip) {
            addresses.push(ip);
        }
    }
    if raw.is_static && raw.address.is_none() && raw.addresses.is_empty() {
        c.report(
            at,
            format!("static host \"{shown}\" needs an address (address: or addresses:), since no agent will report one"),
        );
    }

    let roles_at = at.key("roles");
    let mut eligible: Vec<String> = Vec::new();
    for (i, role) in raw.roles.iter().enumerate() {
        let role = role.as_str();
        if !ctx.role_ref(c, &roles_at.index(i), role, || {
            format!("host \"{shown}\" may hold role \"{role}\"")
        }) {
            continue;
        }
        if eligible.iter().any(|earlier| earlier == role) {
            c.report(&roles_at.index(i), format!("role \"{role}\" is listed twice"));
        } else {
            eligible.push(role.to_owned());
        }
    }

    let role = raw.role.as_ref().map(|role| role.as_str().to_owned());
    if let Some(role) = &role {
        let role_at = at.key("role");
        let defined = ctx.role_ref(c, &role_at, role, || {
            format!("host \"{shown}\" has role \"{role}\"")
        });
        let listed = raw.roles.iter().any(|eligible| eligible.as_str() == role);
        if defined && !raw.roles.is_empty() && !listed {
            c.report(
                &role_at,
                format!(
                    "host \"{shown}\" starts in role \"{role}\" but its roles ({}) do not include it; \
                     add {role} to roles or start it in one of them",
                    eligible.join(", ")
                ),
            );
        }
    }

    let labels_at = at.key("labels");
    c.unique_keys(&labels_at, &raw.labels.0, "label");
    let mut labels = BTreeMap::new();
    for (key, value) in raw.labels.0 {
        if key.trim().is_empty() {
            c.report_key(&labels_at, &key, 0, "a label needs a non-empty name".to_owned());
        }
        labels.entry(key).or_insert(value.0);
    }

    Some(Host {
        name: name?,
        fqdn: fqdn?,
        addresses,
        eligible,
        role,
        is_static: raw.is_static,
        labels,
    })
}
