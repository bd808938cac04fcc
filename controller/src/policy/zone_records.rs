//! Checks `records:`: the zone's static records, each parsed from
//! presentation format by [`RecordData::from_presentation`] (`data:`) or
//! written with the friendly keys `target:` (CNAME, NS, PTR; MX with
//! `priority:`) and `address:` (A, AAAA).
//!
//! Only each record on its own is checked here; what it may collide with
//! (pools, hosts, the SPF, aliases, other records) is `names`' business.

use muster_dns::RecordData;

use super::StaticRecord;
use super::locate::YamlPath;
use super::raw::{RawZoneRecord, Text};
use super::validate::{Checker, Ctx};
use super::values;

/// The types `data:` may be given for by mnemonic; others are `TYPEnnn`.
const TYPES: [&str; 10] = [
    "A", "AAAA", "NS", "CNAME", "PTR", "MX", "SRV", "TXT", "CAA", "TLSA",
];

/// The good records, each with the path it was written at.
pub(super) fn records(c: &mut Checker, ctx: &Ctx, raw: &[RawZoneRecord]) -> Vec<(YamlPath, StaticRecord)> {
    let at = YamlPath::root().key("records");
    raw.iter()
        .enumerate()
        .filter_map(|(i, rec)| {
            let rec_at = at.index(i);
            record(c, ctx, &rec_at, rec).map(|r| (rec_at, r))
        })
        .collect()
}

fn record(c: &mut Checker, ctx: &Ctx, at: &YamlPath, raw: &RawZoneRecord) -> Option<StaticRecord> {
    let owner = c.value(&at.key("name"), values::owner_in(raw.name.as_str(), &ctx.zone));
    let rtype = c.value(
        &at.key("type"),
        record_type(raw.kind.as_str(), owner.as_ref() == Some(&ctx.zone)),
    );
    let ttl = c
        .field(at, "ttl", raw.ttl.as_ref(), values::ttl)
        .unwrap_or(ctx.ttl);
    let rtype = rtype?;
    let (key, text) = presentation(c, ctx, at, raw, &rtype)?;
    let data = RecordData::from_presentation(&rtype, &text, &ctx.zone).map_err(|e| format!("{key}: {e}"));
    let data = c.value(&at.key(key), data)?;
    if key == "data"
        && let Some(target) = data_name(&data)
    {
        doubled_zone(c, ctx, &at.key(key), target);
    }
    Some(StaticRecord {
        owner: owner?,
        ttl,
        data,
    })
}

/// The record type, uppercase; SOA and the apex's NS are muster's own.
fn record_type(text: &str, at_apex: bool) -> Result<String, String> {
    let upper = text.trim().to_ascii_uppercase();
    match upper.as_str() {
        "SOA" => Err("the SOA record is muster's own; set its fields under soa:".to_owned()),
        "NS" if at_apex => Err(
            "the zone's own NS records come from nameservers:; list the server there \
             (an NS record below the apex delegates that name)"
                .to_owned(),
        ),
        known if TYPES.contains(&known) => Ok(upper),
        other
            if other
                .strip_prefix("TYPE")
                .is_some_and(|n| n.parse::<u16>().is_ok()) =>
        {
            Ok(upper)
        }
        _ => Err(format!(
            "unknown record type \"{}\"; use one of {}, or TYPEnnn with data `\\# LENGTH HEX` (RFC 3597)",
            text.trim(),
            TYPES.join(", ")
        )),
    }
}

/// The record's data in presentation format and the key it came from:
/// `data:` as written, or built from `target:`/`priority:`/`address:`.
fn presentation(
    c: &mut Checker,
    ctx: &Ctx,
    at: &YamlPath,
    raw: &RawZoneRecord,
    rtype: &str,
) -> Option<(&'static str, String)> {
    let name = raw.name.as_str();
    if let Some(data) = &raw.data {
        let mut both = false;
        for (key, given) in [
            ("target", &raw.target),
            ("address", &raw.address),
            ("priority", &raw.priority),
        ] {
            if given.is_some() {
                both = true;
                c.report(
                    &at.key(key),
                    format!(
                        "{key} and data both give the record's data; keep data, or remove it and use {key}"
                    ),
                );
            }
        }
        return (!both).then(|| ("data", data.as_str().to_owned()));
    }
    let priority = |c: &mut Checker, text: &Text| {
        let parsed = values::integer(text.as_str(), 0, u64::from(u16::MAX));
        c.value(&at.key("priority"), parsed.map_err(|e| format!("priority: {e}")))
    };
    match rtype {
        "CNAME" | "NS" | "PTR" | "MX" if raw.address.is_some() => {
            let message =
                format!("address is for A and AAAA records; a {rtype} record points at a name (target)");
            c.report(&at.key("address"), message);
            None
        }
        "MX" => {
            let (Some(text), Some(target)) = (&raw.priority, &raw.target) else {
                let message = format!(
                    "MX record \"{name}\" needs priority and target (like priority: 10, target: smurf9)"
                );
                c.report(at, message);
                return None;
            };
            let preference = priority(c, text);
            let exchange = c.value(&at.key("target"), values::name_in(target.as_str(), &ctx.zone));
            Some(("target", format!("{} {}", preference?, exchange?)))
        }
        _ if raw.priority.is_some() => {
            c.report(
                &at.key("priority"),
                "priority is only for MX records written with target; for SRV write the whole data \
                 (data: \"10 5 993 imap\")",
            );
            None
        }
        "CNAME" | "NS" | "PTR" => match &raw.target {
            Some(target) => {
                let target = c.value(&at.key("target"), values::name_in(target.as_str(), &ctx.zone))?;
                Some(("target", target.to_ascii()))
            }
            None => {
                c.report(
                    at,
                    format!("{rtype} record \"{name}\" needs a target (the name it points at)"),
                );
                None
            }
        },
        "A" | "AAAA" if raw.target.is_some() => {
            let message = format!("target is for names; an {rtype} record takes an address");
            c.report(&at.key("target"), message);
            None
        }
        "A" | "AAAA" => match &raw.address {
            Some(address) => Some(("address", address.as_str().to_owned())),
            None => {
                c.report(at, format!("{rtype} record \"{name}\" needs an address"));
                None
            }
        },
        _ => {
            for key in ["target", "address"] {
                let given = if key == "target" {
                    &raw.target
                } else {
                    &raw.address
                };
                if given.is_some() {
                    let message =
                        format!("{key} is not used by {rtype} records; write the record's data as data:");
                    c.report(&at.key(key), message);
                }
            }
            if raw.target.is_none() && raw.address.is_none() {
                c.report(at, format!("{rtype} record \"{name}\" needs data"));
            }
            None
        }
    }
}

/// The name a record's data points at, as the zone file's rules read it.
fn data_name(data: &RecordData) -> Option<&hickory_proto::rr::Name> {
    match data {
        RecordData::Cname(name) | RecordData::Ptr(name) => Some(name),
        other => other.target(),
    }
}

/// In `data:` a name without a final dot is relative to the zone (as in a
/// zone file), so `smurf9.lists.example.test` means
/// `smurf9.lists.example.test.lists.example.test.`: a warning.
fn doubled_zone(c: &mut Checker, ctx: &Ctx, at: &YamlPath, target: &hickory_proto::rr::Name) {
    let zone = ctx.zone.to_ascii().to_ascii_lowercase();
    let zone = zone.trim_end_matches('.');
    let text = target.to_ascii().to_ascii_lowercase();
    if !zone.is_empty() && text.ends_with(&format!(".{zone}.{zone}.")) {
        let meant = &text[..text.len() - zone.len() - 1];
        c.warn(
            at,
            format!(
                "{text} ends in the zone twice: in data a name without a final dot is relative to the zone; \
                 write {meant} (with the final dot) if that is what you meant"
            ),
        );
    }
}
