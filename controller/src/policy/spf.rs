//! `spf:`: the SPF record muster computes from the sending pools, and how
//! it is written out ([`Spf::records`]).
//!
//! The record lists the addresses of every host that may send mail as the
//! domain, merged into CIDR blocks where whole blocks are covered, then the
//! operator's `include:` terms and the `all` term. A receiver reads at most
//! one TXT answer comfortably (RFC 7208 §3.4: keep it within 512 bytes; we
//! keep each record to [`MAX_RECORD_BYTES`]), so a longer list is split:
//! the record at the owner includes `_spf1.<zone>`, `_spf2.<zone>`, … which
//! hold the address terms. Every `include:` costs one of the 10 DNS-querying
//! terms an SPF check may use (RFC 7208 §4.6.4), the operator's and
//! muster's alike, so a policy whose hosts need more parts than are left
//! is refused by `muster check`.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hickory_proto::rr::Name;

use super::locate::YamlPath;
use super::raw::RawSpf;
use super::validate::{Checker, Ctx};
use super::{Policy, Spf, SpfAll, values};

/// The most bytes of SPF text muster puts in one TXT record.
pub const MAX_RECORD_BYTES: usize = 450;

/// The most DNS-querying terms one SPF check may use (RFC 7208 §4.6.4).
pub const MAX_LOOKUPS: usize = 10;

/// The most parts a split SPF may have (`_spf1` … `_spf9`): one lookup is
/// always the operator's or a part's.
pub const MAX_PARTS: usize = 9;

/// How long a host that left a sending role stays in the SPF by default:
/// Postfix's `maximal_queue_lifetime`.
const DEFAULT_KEEP_AFTER_LEAVE: Duration = Duration::from_secs(5 * 86_400);

/// Why an SPF record cannot be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpfTooBig(pub String);

impl Spf {
    /// The owner of part `n` (1-based) of a split SPF: `_spf<n>.<zone>`.
    pub fn part_owner(zone: &Name, n: usize) -> Option<Name> {
        Name::from_labels([format!("_spf{n}").as_bytes()])
            .and_then(|label| label.append_name(zone))
            .ok()
    }

    /// The TXT records (owner, text) that publish this SPF for hosts with
    /// `addresses`: one at [`Spf::owner`], plus `_spfN.<zone>` parts when
    /// one record would be longer than [`MAX_RECORD_BYTES`].
    ///
    /// # Errors
    /// [`SpfTooBig`] when the parts and the operator's includes together
    /// need more than [`MAX_LOOKUPS`] DNS-querying terms, saying why and
    /// what to do.
    pub fn records(
        &self,
        zone: &Name,
        addresses: impl IntoIterator<Item = IpAddr>,
    ) -> Result<Vec<(Name, String)>, SpfTooBig> {
        let terms = address_terms(addresses);
        let tail: Vec<String> = self
            .include
            .iter()
            .map(|name| format!("include:{}", bare(name)))
            .chain([self.all.term().to_owned()])
            .collect();
        let whole = record(terms.iter().chain(&tail));
        if whole.len() <= MAX_RECORD_BYTES {
            return Ok(vec![(self.owner.clone(), whole)]);
        }
        let parts = pack(&terms);
        let room = MAX_LOOKUPS.saturating_sub(self.include.len()).min(MAX_PARTS);
        if parts.len() > room {
            return Err(SpfTooBig(format!(
                "the SPF would need {} parts of at most {MAX_RECORD_BYTES} bytes for the {} address terms \
                 ({} ip4:/ip6: blocks), and {} include: of its own; with the {} include: listed that is {} \
                 DNS lookups, more than the {MAX_LOOKUPS} an SPF check may make (RFC 7208 §4.6.4), so \
                 receivers would fail it (permerror); list fewer include:, or give the sending hosts \
                 addresses in fewer, larger blocks (consecutive addresses merge into one term)",
                parts.len(),
                terms.len(),
                terms.len(),
                parts.len(),
                self.include.len(),
                parts.len() + self.include.len(),
            )));
        }
        let mut out = Vec::with_capacity(parts.len() + 1);
        let mut includes = Vec::with_capacity(parts.len());
        for (n, part) in parts.into_iter().enumerate() {
            let owner = Spf::part_owner(zone, n + 1)
                .ok_or_else(|| SpfTooBig(format!("_spf{}.{zone} is longer than 255 bytes", n + 1)))?;
            includes.push(format!("include:{}", bare(&owner)));
            out.push((owner, record(part.iter())));
        }
        let top = record(includes.iter().chain(&tail));
        if top.len() > MAX_RECORD_BYTES {
            return Err(SpfTooBig(format!(
                "the SPF's include: terms alone take {} bytes, more than the {MAX_RECORD_BYTES} one record \
                 may hold; list fewer or shorter include: names",
                top.len()
            )));
        }
        out.insert(0, (self.owner.clone(), top));
        Ok(out)
    }
}

/// The hosts of `policy`'s inventory that may send as the domain: those
/// that may hold one of the SPF's roles (a static host: starts in one).
pub fn inventory_senders<'a>(policy: &'a Policy, spf: &'a Spf) -> impl Iterator<Item = &'a super::Host> + 'a {
    policy.hosts.iter().filter(move |h| {
        spf.roles.iter().any(|role| {
            if h.is_static {
                h.role.as_deref() == Some(role)
            } else {
                h.eligible.is_empty() || h.eligible.contains(role) || h.role.as_deref() == Some(role)
            }
        })
    })
}

pub(super) fn spf(c: &mut Checker, ctx: &Ctx, raw: Option<&RawSpf>) -> Option<Spf> {
    let raw = raw?;
    let at = YamlPath::root().key("spf");
    let owner = match &raw.name {
        Some(text) => c.value(&at.key("name"), values::owner_in(text.as_str(), &ctx.zone)),
        None => Some(ctx.zone.clone()),
    };
    let roles_at = at.key("roles");
    let mut roles: Vec<String> = Vec::new();
    for (i, role) in raw.roles.iter().enumerate() {
        let role = role.as_str();
        if !ctx.role_ref(c, &roles_at.index(i), role, || {
            format!("spf lists role \"{role}\"")
        }) {
            continue;
        }
        if roles.iter().any(|r| r == role) {
            c.report(&roles_at.index(i), format!("role \"{role}\" is listed twice"));
        } else {
            roles.push(role.to_owned());
        }
    }
    let include_at = at.key("include");
    let include = c.each(&include_at, &raw.include, |text| {
        values::domain(text).map_err(|e| {
            format!(
                "include: {e}; write the other sender's SPF domain, like _spf.example.net (always absolute)"
            )
        })
    });
    c.unique(&include_at, &include, |name| {
        format!("include {} is listed twice", bare(name))
    });
    if include.len() > MAX_PARTS {
        c.report(
            &include_at.index(MAX_PARTS),
            format!(
                "{} include: terms, at most {MAX_PARTS}: an SPF check may make {MAX_LOOKUPS} DNS lookups \
                 (RFC 7208 §4.6.4) and each include: is one; muster keeps one for the `include:_spf1.<zone>` \
                 it needs when the hosts' addresses outgrow one record; merge senders or drop some",
                include.len()
            ),
        );
    }
    if raw.roles.is_empty() && raw.include.is_empty() {
        c.warn(
            &at,
            "spf lists no roles and no include: the record says no host may send mail as the domain; \
             list the sending roles (roles: [smtp-out, bounce])",
        );
    }
    let all = c
        .field(&at, "all", raw.all.as_ref(), |text| match text.trim() {
            "-all" => Ok(SpfAll::Fail),
            "~all" => Ok(SpfAll::SoftFail),
            "?all" => Ok(SpfAll::Neutral),
            "+all" | "all" => Err(format!(
                "\"{}\" lets anyone on the internet send as the domain; use \"-all\" (the default), \"~all\" or \"?all\"",
                text.trim()
            )),
            other => Err(format!("\"{other}\" is not an SPF all term; use \"-all\" (the default), \"~all\" or \"?all\"")),
        })
        .unwrap_or(SpfAll::Fail);
    let keep_after_leave = c
        .field(
            &at,
            "keep_after_leave",
            raw.keep_after_leave.as_ref(),
            values::duration,
        )
        .unwrap_or(DEFAULT_KEEP_AFTER_LEAVE);
    let ttl = c
        .field(&at, "ttl", raw.ttl.as_ref(), values::ttl)
        .unwrap_or(ctx.ttl);
    Some(Spf {
        owner: owner?,
        roles,
        include: include.into_iter().map(|(_, name)| name).collect(),
        keep_after_leave,
        all,
        ttl,
    })
}

/// The SPF of a policy whose parts are valid: it must fit with the
/// addresses of every inventory host that may send; without `spf:`, a role
/// publishing MX gets a warning (receivers reject unauthenticated mail).
pub(super) fn check(c: &mut Checker, policy: &Policy) {
    let Some(spf) = &policy.spf else {
        let mx = policy.roles.iter().find_map(|(name, role)| {
            let mx = |r: &super::RecordTemplate| matches!(r.kind, super::MemberRecord::Mx { .. });
            role.records.iter().position(mx).map(|i| (name, i))
        });
        if let Some((name, i)) = mx {
            c.warn(
                &YamlPath::root().key("roles").key(name).key("records").index(i),
                format!(
                    "role \"{name}\" publishes MX but the policy has no spf:, so the domain has no SPF record \
                     and large receivers (Gmail, Yahoo) reject or junk its mail; add \
                     `spf: {{ roles: [...] }}` listing the roles that send"
                ),
            );
        }
        return;
    };
    let addresses = inventory_senders(policy, spf).flat_map(|h| h.addresses.iter().copied());
    if let Err(SpfTooBig(why)) = spf.records(&policy.zone, addresses) {
        let roles = spf.roles.join(", ");
        let at = YamlPath::root().key("spf");
        c.report(
            &at,
            format!("with the inventory's hosts that may hold {roles}: {why}"),
        );
    }
}

/// `name` without its final dot, as SPF terms write it.
fn bare(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_owned()
}

/// `v=spf1` and `terms`, space-separated.
fn record<'a>(terms: impl Iterator<Item = &'a String>) -> String {
    let mut text = String::from("v=spf1");
    for term in terms {
        text.push(' ');
        text.push_str(term);
    }
    text
}

/// The address terms into parts of at most [`MAX_RECORD_BYTES`] each
/// (every part a record of its own, without an `all` term: an include
/// that does not match just goes on).
fn pack(terms: &[String]) -> Vec<Vec<String>> {
    let mut parts: Vec<Vec<String>> = Vec::new();
    let mut len = 0;
    for term in terms {
        if parts.is_empty() || len + 1 + term.len() > MAX_RECORD_BYTES {
            parts.push(Vec::new());
            len = "v=spf1".len();
        }
        len += 1 + term.len();
        if let Some(part) = parts.last_mut() {
            part.push(term.clone());
        }
    }
    parts
}

/// `ip4:`/`ip6:` terms for `addresses`, merged into the fewest CIDR blocks
/// that cover exactly them.
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
        .map(|(first, prefix)| {
            let ip = Ipv4Addr::from(u32::try_from(first).unwrap_or(0));
            if prefix == 32 {
                format!("ip4:{ip}")
            } else {
                format!("ip4:{ip}/{prefix}")
            }
        })
        .collect();
    terms.extend(blocks(&v6, 128).into_iter().map(|(first, prefix)| {
        let ip = Ipv6Addr::from(first);
        if prefix == 128 {
            format!("ip6:{ip}")
        } else {
            format!("ip6:{ip}/{prefix}")
        }
    }));
    terms
}

/// Runs of consecutive addresses (of `bits`-bit addresses) as aligned
/// blocks (first address, prefix length).
fn blocks(addresses: &BTreeSet<u128>, bits: u32) -> Vec<(u128, u32)> {
    let mut runs: Vec<(u128, u128)> = Vec::new();
    for &a in addresses {
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(a) => *last = a,
            _ => runs.push((a, a)),
        }
    }
    let mut out = Vec::new();
    for (mut first, last) in runs {
        loop {
            // The largest aligned block starting at `first` inside the run.
            let mut size_bits = first.trailing_zeros().min(bits).min(127);
            while size_bits > 0 && first + ((1u128 << size_bits) - 1) > last {
                size_bits -= 1;
            }
            out.push((first, bits - size_bits));
            let end = first + ((1u128 << size_bits) - 1);
            if end >= last {
                break;
            }
            first = end + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|s| s.parse().expect("ip")).collect()
    }

    #[test]
    fn consecutive_addresses_merge_into_blocks() {
        let terms = address_terms(ips(&[
            "127.0.1.1",
            "127.0.1.2",
            "127.0.1.3",
            "127.0.1.0",
            "127.0.1.9",
            "::1",
        ]));
        assert_eq!(terms, ["ip4:127.0.1.0/30", "ip4:127.0.1.9", "ip6:::1"]);
        let terms = address_terms(ips(&["127.0.1.1", "127.0.1.2"]));
        assert_eq!(terms, ["ip4:127.0.1.1", "ip4:127.0.1.2"]);
    }

    #[test]
    fn a_long_record_splits_into_parts() {
        let zone = Name::from_ascii("lists.example.test.").expect("zone");
        let spf = Spf {
            owner: zone.clone(),
            roles: vec!["smtp-out".to_owned()],
            include: vec![Name::from_ascii("_spf.example.net.").expect("name")],
            keep_after_leave: DEFAULT_KEEP_AFTER_LEAVE,
            all: SpfAll::Fail,
            ttl: 30,
        };
        let one = spf.records(&zone, ips(&["127.0.1.1"])).expect("fits");
        assert_eq!(
            one,
            [(
                zone.clone(),
                "v=spf1 ip4:127.0.1.1 include:_spf.example.net -all".to_owned()
            )]
        );
        // Every other address: nothing merges.
        let many = (0..60).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 2, i * 2)));
        let split = spf.records(&zone, many).expect("fits in parts");
        assert_eq!(split.len(), 4, "{split:?}");
        assert_eq!(
            split[0].1,
            "v=spf1 include:_spf1.lists.example.test include:_spf2.lists.example.test \
             include:_spf3.lists.example.test include:_spf.example.net -all"
        );
        assert!(split.iter().all(|(_, text)| text.len() <= MAX_RECORD_BYTES));
        assert_eq!(split[3].0.to_ascii(), "_spf3.lists.example.test.");
        // 9 parts and 1 include are the 10 lookups allowed; 300 lone
        // addresses need more parts.
        let too_many = (0..=255u8).flat_map(|i| [Ipv4Addr::new(127, 3, i, 1), Ipv4Addr::new(127, 4, i, 1)]);
        let too_many = too_many.map(IpAddr::V4);
        let err = spf.records(&zone, too_many).expect_err("too big");
        assert!(err.0.contains("more than the 10"), "{err}");
    }
}
