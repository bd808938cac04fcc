//! Parsers for the policy's scalar values: durations, TTLs, percentages,
//! domain names, addresses. Each returns the value or a message saying what
//! is wrong and what would be right.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::rr::Name;
use hickory_proto::rr::domain::Label;

use super::WantCount;

/// The largest TTL a policy may set (one day).
pub(super) const MAX_TTL: u32 = 86_400;

/// The default DNS port of a secondary.
const DNS_PORT: u16 = 53;

/// `500ms`, `1s`, `2m`, `3h`, `1d`, or a plain number of seconds.
pub(super) fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let per_unit_ms: u64 = match unit.trim_start() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => 0,
    };
    let ms = number
        .parse::<u64>()
        .ok()
        .filter(|_| per_unit_ms > 0)
        .and_then(|n| n.checked_mul(per_unit_ms));
    match ms {
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => Err(format!(
            "\"{text}\" is not a duration; write a whole number with a unit, \
             like 500ms, 30s, 5m, 3h or 1d (a plain number means seconds)"
        )),
    }
}

/// A number of whole seconds in `lo..=hi`, written as seconds or a duration.
pub(super) fn seconds(text: &str, lo: u32, hi: u32) -> Result<u32, String> {
    let d = duration(text)?;
    if d.subsec_millis() != 0 {
        return Err(format!("\"{}\" is not a whole number of seconds", text.trim()));
    }
    match u32::try_from(d.as_secs()) {
        Ok(secs) if (lo..=hi).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "{} seconds is out of range; expected {lo} to {hi}",
            d.as_secs()
        )),
    }
}

/// A TTL: seconds (or a duration) in `1..=86400`.
pub(super) fn ttl(text: &str) -> Result<u32, String> {
    seconds(text, 1, MAX_TTL)
}

/// A whole number in `lo..=hi`.
pub(super) fn integer(text: &str, lo: u64, hi: u64) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is out of range; expected {lo} to {hi}")),
        Err(_) => Err(format!(
            "\"{}\" is not a whole number; expected {lo} to {hi}",
            text.trim()
        )),
    }
}

/// `50%` or `50`, in `0..=100`.
pub(super) fn percent(text: &str) -> Result<u8, String> {
    let number = text.trim().trim_end_matches('%').trim_end();
    match number.parse::<u8>() {
        Ok(n) if n <= 100 => Ok(n),
        _ => Err(format!(
            "\"{}\" is not a percentage; expected 0% to 100%",
            text.trim()
        )),
    }
}

/// A role, schedule-want or label key: lowercase `[a-z0-9-]`, 1 to 63 chars.
pub(super) fn role_name(text: &str) -> Result<(), String> {
    let ok = (1..=63).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "role name \"{text}\" is invalid; use 1 to 63 lowercase letters, digits and '-'"
        ))
    }
}

/// A host name: one DNS label (letters, digits, `-`), returned lowercased.
pub(super) fn host_label(text: &str) -> Result<String, String> {
    let lower = text.trim().to_ascii_lowercase();
    if lower.contains('.') {
        return Err(format!(
            "host name \"{text}\" must be a single label (like smurf1), not a dotted name; \
             its name in DNS is <name>.<zone>"
        ));
    }
    check_label(&lower, false).map_err(|e| format!("host name \"{text}\": {e}"))?;
    Ok(lower)
}

/// Parses a zone name (absolute, lowercase; the root is refused).
pub(super) fn zone(text: &str) -> Result<Name, String> {
    let trimmed = text.trim();
    let bare = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if bare.is_empty() {
        return Err("zone must be a domain name like lists.example.com, not the root".to_owned());
    }
    absolute(bare).map_err(|e| format!("zone \"{trimmed}\": {e}"))
}

/// Resolves a name as written in the policy against `zone`:
/// a name ending in `.` is absolute; `@` is the apex; a name that equals the
/// zone or ends with `.<zone>` is taken as written; anything else is relative
/// to the zone. Returned absolute and lowercase. The API resolves the names
/// written to it by the same rule (exported as `policy::resolve_name`).
pub fn name_in(text: &str, zone: &Name) -> Result<Name, String> {
    let trimmed = text.trim();
    if trimmed == "@" {
        return Ok(zone.clone());
    }
    let resolved = if let Some(bare) = trimmed.strip_suffix('.') {
        absolute(bare)
    } else {
        let lower = trimmed.to_ascii_lowercase();
        let zone_text = zone.to_ascii().to_ascii_lowercase();
        let zone_bare = zone_text.trim_end_matches('.');
        if zone_bare.is_empty() || lower == zone_bare || lower.ends_with(&format!(".{zone_bare}")) {
            absolute(&lower)
        } else {
            absolute(&lower).and_then(|relative| {
                relative
                    .append_name(zone)
                    .map_err(|_| "is longer than 255 bytes once the zone is added".to_owned())
            })
        }
    };
    resolved.map_err(|e| format!("\"{trimmed}\" is not a valid domain name: it {e}"))
}

/// A name as written in the policy (see [`name_in`]) that must lie inside
/// `zone`: the owner of a record or an alias.
pub(super) fn owner_in(text: &str, zone: &Name) -> Result<Name, String> {
    let written = text.trim();
    let owner = name_in(written, zone)?;
    if zone.zone_of(&owner) {
        return Ok(owner);
    }
    let resolved = if owner.to_ascii() == written {
        String::new()
    } else {
        format!(" ({owner})")
    };
    Err(format!(
        "record name \"{written}\"{resolved} is outside the zone {zone}; use a name inside it, \
         or \"@\" for the zone itself"
    ))
}

/// A domain name outside the policy's naming rule: always absolute, the
/// trailing dot optional (`_spf.example.net`).
pub(super) fn domain(text: &str) -> Result<Name, String> {
    let trimmed = text.trim();
    let bare = trimmed.strip_suffix('.').unwrap_or(trimmed);
    absolute(bare).map_err(|e| format!("\"{trimmed}\" is not a valid domain name: it {e}"))
}

/// `hostmaster@lists.example.test` (an e-mail address, its domain absolute)
/// or a name (resolved like any other, see [`name_in`]).
pub(super) fn mailbox(text: &str, zone: &Name) -> Result<Name, String> {
    let Some((local, domain)) = text.trim().split_once('@') else {
        return name_in(text, zone);
    };
    // The domain of an e-mail address is always absolute.
    let domain = domain.trim().trim_end_matches('.');
    let domain = absolute(domain).map_err(|e| format!("\"{domain}\" is not a valid domain name: it {e}"))?;
    let local = local.to_ascii_lowercase();
    let ok = (1..=63).contains(&local.len())
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
    let name = Label::from_raw_bytes(local.as_bytes())
        .and_then(|label| Name::from_labels([label]))
        .and_then(|name| name.append_name(&domain));
    match name {
        Ok(name) if ok => Ok(name),
        _ => Err(format!(
            "\"{}\" is not a usable mailbox; write hostmaster@{} or a name",
            text.trim(),
            domain.to_ascii().trim_end_matches('.')
        )),
    }
}

/// One IP address.
pub(super) fn ip(text: &str) -> Result<IpAddr, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "\"{}\" is not an IP address (like 192.0.2.10 or 2001:db8::10)",
            text.trim()
        )
    })
}

/// `IP`, `IP:port`, `[IPv6]` or `[IPv6]:port`; the port defaults to 53.
pub(super) fn secondary(text: &str) -> Result<SocketAddr, String> {
    let t = text.trim();
    if let Ok(addr) = t.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = t
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(t);
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
        .map_err(|_| {
            format!(
                "secondary \"{t}\" is not an address; write 192.0.2.53, 198.51.100.7:5353 \
                 or [2001:db8::1]:53 (the port defaults to 53)"
            )
        })
}

/// A `want:` value: `N`, `N%`, `all-but N` or `rest`.
pub(super) fn want(text: &str) -> Result<WantCount, String> {
    let t = text.trim();
    let parsed = if t == "rest" {
        Some(WantCount::Rest)
    } else if let Ok(n) = t.parse::<u32>() {
        Some(WantCount::Hosts(n))
    } else if let Some(p) = t.strip_suffix('%') {
        p.trim_end()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= 100)
            .map(WantCount::Percent)
    } else {
        t.strip_prefix("all-but")
            .filter(|n| n.starts_with(' '))
            .and_then(|n| n.trim().parse::<u32>().ok())
            .map(WantCount::AllBut)
    };
    parsed
        .ok_or_else(|| format!("\"{t}\" is not a host count; write N, N% (0-100), \"all-but N\" or \"rest\""))
}

/// Splits a dotted name (without its trailing dot) into checked labels.
fn absolute(bare: &str) -> Result<Name, String> {
    if bare.is_empty() {
        return Err("is empty".to_owned());
    }
    let lower = bare.to_ascii_lowercase();
    for label in lower.split('.') {
        check_label(label, true).map_err(|e| format!("has a bad label: {e}"))?;
    }
    Name::from_labels(lower.split('.').map(str::as_bytes)).map_err(|_| "is longer than 255 bytes".to_owned())
}

/// Letters, digits and `-` (plus `_` where `underscore`), 1 to 63 bytes,
/// not starting or ending with `-`.
fn check_label(label: &str, underscore: bool) -> Result<(), String> {
    if label.is_empty() {
        return Err("an empty label (two dots in a row, or a leading dot)".to_owned());
    }
    if label.len() > 63 {
        return Err(format!("\"{label}\" is longer than 63 characters"));
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || (underscore && b == b'_');
    if !label.bytes().all(allowed) {
        return Err(format!(
            "\"{label}\" may only contain letters, digits and '-'{}",
            if underscore { " or '_'" } else { "" }
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("\"{label}\" starts or ends with '-'"));
    }
    Ok(())
}

/// The documentation range `ip` lies in (RFC 5737, RFC 3849), if any:
/// examples only, never a place to send packets.
pub(super) fn documentation_range(ip: std::net::IpAddr) -> Option<&'static str> {
    match ip {
        std::net::IpAddr::V4(v4) => match v4.octets() {
            [192, 0, 2, _] => Some("192.0.2.0/24 (RFC 5737)"),
            [198, 51, 100, _] => Some("198.51.100.0/24 (RFC 5737)"),
            [203, 0, 113, _] => Some("203.0.113.0/24 (RFC 5737)"),
            _ => None,
        },
        std::net::IpAddr::V6(v6) => {
            let [a, b, ..] = v6.segments();
            (a == 0x2001 && b == 0x0db8).then_some("2001:db8::/32 (RFC 3849)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> Name {
        Name::from_ascii("lists.example.test.").unwrap_or_else(|e| panic!("{e}"))
    }

    fn resolved(text: &str) -> String {
        name_in(text, &zone()).map_or_else(|e| format!("error: {e}"), |n| n.to_ascii())
    }

    #[test]
    fn durations() {
        let ms = |text| duration(text).map(|d| d.as_millis()).map_err(|_| ());
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms("1s"), Ok(1_000));
        assert_eq!(ms("30"), Ok(30_000));
        assert_eq!(ms("2m"), Ok(120_000));
        assert_eq!(ms("3h"), Ok(10_800_000));
        assert_eq!(ms("1d"), Ok(86_400_000));
        for bad in ["", "s", "1.5s", "-1s", "1w", "1h30m", "99999999999999999999d"] {
            assert_eq!(ms(bad), Err(()), "{bad}");
        }
        assert_eq!(seconds("5m", 1, 300), Ok(300));
        assert!(seconds("1500ms", 1, 300).is_err());
    }

    #[test]
    fn one_rule_for_names() {
        assert_eq!(resolved("@"), "lists.example.test.");
        assert_eq!(resolved("www"), "www.lists.example.test.");
        assert_eq!(resolved("WWW.Lists.Example.Test"), "www.lists.example.test.");
        assert_eq!(resolved("lists.example.test"), "lists.example.test.");
        assert_eq!(resolved("mx.example.net"), "mx.example.net.lists.example.test.");
        assert_eq!(resolved("mx.example.net."), "mx.example.net.");
        assert_eq!(resolved("_dmarc"), "_dmarc.lists.example.test.");
        for bad in ["a..b", "-a", "a b", ".", "a/b"] {
            assert!(resolved(bad).starts_with("error"), "{bad}");
        }
        let long = ["a"; 130].join(".");
        assert!(resolved(&long).starts_with("error"));
    }

    #[test]
    fn mailboxes_and_addresses() {
        let mb = |text| mailbox(text, &zone()).map(|n| n.to_ascii());
        assert_eq!(
            mb("hostmaster@lists.example.test"),
            Ok("hostmaster.lists.example.test.".to_owned())
        );
        assert_eq!(mb("hostmaster"), Ok("hostmaster.lists.example.test.".to_owned()));
        assert!(mb("@x.test").is_err());
        let sec = |text| secondary(text).map(|a| a.to_string());
        assert_eq!(sec("192.0.2.53"), Ok("192.0.2.53:53".to_owned()));
        assert_eq!(sec("198.51.100.7:5353"), Ok("198.51.100.7:5353".to_owned()));
        assert_eq!(sec("[2001:db8::1]:53"), Ok("[2001:db8::1]:53".to_owned()));
        assert_eq!(sec("[2001:db8::1]"), Ok("[2001:db8::1]:53".to_owned()));
        assert_eq!(sec("2001:db8::1"), Ok("[2001:db8::1]:53".to_owned()));
        assert!(sec("ns1.example.test").is_err());
    }

    #[test]
    fn counts_and_labels() {
        for good in ["0", "3", "50%", "100%", "all-but 3", "rest"] {
            assert!(want(good).is_ok(), "{good}");
        }
        for bad in ["", "-1", "101%", "all-but", "all-but3", "most"] {
            assert!(want(bad).is_err(), "{bad}");
        }
        assert_eq!(percent("50%"), Ok(50));
        assert_eq!(percent("0"), Ok(0));
        assert!(percent("101%").is_err());
        assert_eq!(host_label("Smurf1"), Ok("smurf1".to_owned()));
        assert!(host_label("smurf_1").is_err() && host_label("a.b").is_err());
        assert!(role_name("smtp-out").is_ok() && role_name("Smtp").is_err() && role_name("").is_err());
    }
}
