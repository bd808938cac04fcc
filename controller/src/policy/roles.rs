//! Checks `roles:`: role names, their record templates, fallback records and
//! drain settings.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::locate::YamlPath;
use super::raw::{Entries, RawDrain, RawRecord, RawRole, Text};
use super::validate::{Checker, Ctx};
use super::{Drain, DrainUntil, FallbackRecord, FixedData, MemberRecord, RecordTemplate, Role, values};

/// How long a member may take to drain when the policy does not say.
const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(600);

const PRIORITY_NOT_MX: &str = "priority is only for MX records; remove it or change type to MX";

/// The record types a role can publish.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Type {
    Mx,
    A,
    Aaaa,
}

pub(super) fn roles(c: &mut Checker, ctx: &Ctx, raw: Entries<RawRole>) -> BTreeMap<String, Role> {
    let at = YamlPath::root().key("roles");
    if raw.0.is_empty() {
        c.report(
            &at,
            "roles is empty; define at least one role (like `spare: { min: 0 }`)",
        );
    }
    c.unique_keys(&at, &raw.0, "role");
    let mut roles = BTreeMap::new();
    for (name, raw_role) in raw.0 {
        if let Err(message) = values::role_name(&name) {
            c.report_key(&at, &name, 0, message);
        }
        let role = role(c, ctx, &at.key(&name), name.clone(), raw_role);
        roles.entry(name).or_insert(role);
    }
    roles
}

fn role(c: &mut Checker, ctx: &Ctx, at: &YamlPath, name: String, raw: RawRole) -> Role {
    let min = |text: &str| values::integer(text, 0, u64::from(u32::MAX)).map(|n| n as u32);
    let records_at = at.key("records");
    let fallback_at = at.key("fallback");
    let records = raw.records.iter().enumerate();
    let fallback = raw.fallback.iter().enumerate();
    let min = c.field(at, "min", raw.min.as_ref(), min).unwrap_or(0);
    let publish_max = publish_max(c, at, raw.publish_max.as_ref(), min);
    Role {
        min,
        records: records
            .filter_map(|(i, rec)| template(c, ctx, &records_at.index(i), rec))
            .collect(),
        fallback: fallback
            .filter_map(|(i, rec)| fixed(c, ctx, &fallback_at.index(i), rec))
            .collect(),
        drain: drain(c, &at.key("drain"), &raw.drain.unwrap_or_default()),
        probes: super::probes::probes(c, &at.key("probes"), &raw.probes),
        labels: labels(c, &at.key("labels"), &raw.labels),
        publish_max,
        name,
    }
}

/// `publish_max: N`: at least 1; below `min` it is allowed but odd (the
/// pool keeps members it never publishes), so a warning.
fn publish_max(c: &mut Checker, at: &YamlPath, text: Option<&Text>, min: u32) -> Option<u32> {
    let parse = |text: &str| {
        values::integer(text, 1, u64::from(u32::MAX))
            .map(|n| n as u32)
            .map_err(|e| {
                format!(
                    "{e}; publish_max is how many members the role's records list at most (remove it for all)"
                )
            })
    };
    let max = c.field(at, "publish_max", text, parse)?;
    if max < min {
        c.warn(
            &at.key("publish_max"),
            format!(
                "publish_max {max} is below min {min}: the pool keeps {min} members but only {max} are ever \
                 published, so the others hold the role without getting its traffic; raise publish_max to \
                 at least {min} or lower min"
            ),
        );
    }
    Some(max)
}

/// The labels a host needs for automation to give it the role.
fn labels(c: &mut Checker, at: &YamlPath, raw: &Entries<Text>) -> BTreeMap<String, String> {
    c.unique_keys(at, &raw.0, "label");
    raw.0
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
        .collect()
}

/// A record each member publishes: its data comes from the member.
fn template(c: &mut Checker, ctx: &Ctx, at: &YamlPath, raw: &RawRecord) -> Option<RecordTemplate> {
    let (owner, kind, ttl) = common(c, ctx, at, raw);
    let what = "a role's records take their data from each member host";
    if raw.target.is_some() {
        c.report(
            &at.key("target"),
            format!("target is for fallback records: {what}; remove target or move this record to fallback"),
        );
    }
    if raw.address.is_some() {
        c.report(
            &at.key("address"),
            format!(
                "address is for fallback records: {what}; remove address or move this record to fallback"
            ),
        );
    }
    let kind = kind?;
    if kind != Type::Mx && raw.priority.is_some() {
        c.report(&at.key("priority"), PRIORITY_NOT_MX);
    }
    let kind = match kind {
        Type::Mx => MemberRecord::Mx {
            preference: priority(c, at, raw)?,
        },
        Type::A => MemberRecord::A,
        Type::Aaaa => MemberRecord::Aaaa,
    };
    Some(RecordTemplate {
        owner: owner?,
        kind,
        ttl,
    })
}

/// A record of the fallback tier: its data is written out.
fn fixed(c: &mut Checker, ctx: &Ctx, at: &YamlPath, raw: &RawRecord) -> Option<FallbackRecord> {
    let (owner, kind, ttl) = common(c, ctx, at, raw);
    let label = raw.name.as_str();
    let data = match kind? {
        Type::Mx => {
            if raw.address.is_some() {
                c.report(
                    &at.key("address"),
                    "address is not used by MX records; an MX points at a name (target)",
                );
            }
            let preference = priority(c, at, raw);
            let exchange = match &raw.target {
                Some(target) => c.value(&at.key("target"), values::name_in(target.as_str(), &ctx.zone)),
                None => {
                    let message =
                        format!("fallback MX record \"{label}\" needs a target (the mail exchange's name)");
                    c.report(at, message);
                    None
                }
            };
            FixedData::Mx {
                preference: preference?,
                exchange: exchange?,
            }
        }
        kind @ (Type::A | Type::Aaaa) => {
            let type_name = if kind == Type::A { "A" } else { "AAAA" };
            if raw.priority.is_some() {
                c.report(&at.key("priority"), PRIORITY_NOT_MX);
            }
            if raw.target.is_some() {
                let message =
                    format!("target is only for MX records; an {type_name} record takes an address");
                c.report(&at.key("target"), message);
            }
            let Some(address) = &raw.address else {
                let message = format!("fallback {type_name} record \"{label}\" needs an address");
                c.report(at, message);
                return None;
            };
            match (kind, c.value(&at.key("address"), values::ip(address.as_str()))?) {
                (Type::A, IpAddr::V4(v4)) => FixedData::A(v4),
                (Type::Aaaa, IpAddr::V6(v6)) => FixedData::Aaaa(v6),
                (_, ip) => {
                    let (family, fix) = if ip.is_ipv4() {
                        ("IPv4", "A")
                    } else {
                        ("IPv6", "AAAA")
                    };
                    let message = format!(
                        "address {ip} is {family} but the record type is {type_name}; use type {fix}"
                    );
                    c.report(&at.key("address"), message);
                    return None;
                }
            }
        }
    };
    Some(FallbackRecord {
        owner: owner?,
        data,
        ttl,
    })
}

/// The owner name (inside the zone), type and TTL of a record.
fn common(c: &mut Checker, ctx: &Ctx, at: &YamlPath, raw: &RawRecord) -> (Option<Name>, Option<Type>, u32) {
    let owner = values::owner_in(raw.name.as_str(), &ctx.zone);
    let kind = match raw.kind.as_str().to_ascii_uppercase().as_str() {
        "MX" => Ok(Type::Mx),
        "A" => Ok(Type::A),
        "AAAA" => Ok(Type::Aaaa),
        _ => Err(format!(
            "unknown record type \"{}\"; a role publishes MX, A or AAAA records",
            raw.kind.as_str()
        )),
    };
    let owner = c.value(&at.key("name"), owner);
    let kind = c.value(&at.key("type"), kind);
    let ttl = c
        .field(at, "ttl", raw.ttl.as_ref(), values::ttl)
        .unwrap_or(ctx.ttl);
    (owner, kind, ttl)
}

/// The MX preference, which an MX record must have.
fn priority(c: &mut Checker, at: &YamlPath, raw: &RawRecord) -> Option<u16> {
    let Some(text) = &raw.priority else {
        let message = format!(
            "MX record \"{}\" needs a priority (like priority: 10)",
            raw.name.as_str()
        );
        c.report(at, message);
        return None;
    };
    let parsed = values::integer(text.as_str(), 0, u64::from(u16::MAX)).map(|n| n as u16);
    c.value(&at.key("priority"), parsed.map_err(|e| format!("priority: {e}")))
}

fn drain(c: &mut Checker, at: &YamlPath, raw: &RawDrain) -> Drain {
    let until = |text: &str| match text.trim() {
        "queue_empty" => Ok(DrainUntil::QueueEmpty),
        "timeout" => Ok(DrainUntil::Timeout),
        "ttl" => Ok(DrainUntil::Ttl),
        other => Err(format!(
            "\"{other}\" is not known; expected queue_empty, timeout or ttl"
        )),
    };
    Drain {
        until: c
            .field(at, "until", raw.until.as_ref(), until)
            .unwrap_or(DrainUntil::Ttl),
        timeout: c
            .field(at, "timeout", raw.timeout.as_ref(), values::duration)
            .unwrap_or(DEFAULT_DRAIN_TIMEOUT),
    }
}
