//! Every name the zone may publish, who publishes it ([`Claim`]), and the
//! rules two claims must keep with each other ([`conflict`]).
//!
//! A claim is made for what may be published *at any moment*: a pool's
//! names are claimed even while the pool is empty, the `_spf1`…`_spf9`
//! names whenever `spf:` is set (muster publishes them when the SPF
//! outgrows one record). The rules are the DNS's own:
//!
//! - a CNAME (a static one, or an alias) is alone at its name and never at
//!   the apex (RFC 1034 §3.6.2, RFC 2181 §10.1);
//! - an MX, NS or SRV target is never a CNAME (RFC 2181 §10.3);
//! - below a delegation (a static NS record below the apex) only A/AAAA
//!   glue may sit, since the child zone's servers answer there;
//! - muster's own records are muster's: no static record of a type a pool
//!   publishes at the pool's name, no static A/AAAA at a host's name, no
//!   second SPF record, no static SOA or apex NS.

use std::collections::BTreeSet;

use hickory_proto::rr::{Name, RecordType};
use muster_dns::RecordData;

use super::{FixedData, MemberRecord, Policy, Spf, StaticRecord, spf};

/// Something the zone may publish at a name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The name, absolute.
    pub owner: Name,
    /// Who publishes there, and what.
    pub by: Publisher,
}

/// Who publishes a [`Claim`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Publisher {
    /// The zone's SOA and NS records, at the apex.
    Apex {
        /// The NS targets (`nameservers:`).
        nameservers: Vec<Name>,
    },
    /// A role's records or fallback records, whatever its membership now.
    Pool {
        /// The role.
        role: String,
        /// MX, A or AAAA.
        rtype: RecordType,
        /// A fallback MX's exchange.
        target: Option<Name>,
    },
    /// A host's own A/AAAA records (`<host>.<zone>`).
    Host {
        /// The host's short name.
        host: String,
    },
    /// The SPF record (`spf:`).
    Spf,
    /// Part `n` (1-based) of a split SPF: `_spf<n>.<zone>`.
    SpfPart(usize),
    /// A static record.
    Record {
        /// Its data.
        data: RecordData,
        /// Where it was written.
        source: Source,
    },
    /// An alias: a CNAME to a host's own name.
    Alias {
        /// The host's short name.
        host: String,
        /// Where it was written.
        source: Source,
    },
}

/// Where a static record or alias was written, for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The policy, at this YAML path (`records[3]`, `aliases.john`).
    Policy(String),
    /// Added through the API (kept in the store).
    Store,
}

/// Which part of the checked record a conflict is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Aspect {
    /// Its name.
    Owner,
    /// Its data (the name it points at).
    Data,
}

impl Policy {
    /// Every name the zone may publish and who publishes it: the apex, the
    /// pools' records and fallbacks (even while a pool is empty), every
    /// inventory host's own name, the SPF and the `_spf1`…`_spf9` names it
    /// may be split into, the static `records:` and the `aliases:`.
    /// Records and aliases added through the API are not in the policy.
    pub fn claims(&self) -> Vec<Claim> {
        let mut claims = fixed_claims(self);
        claims.extend(
            self.records
                .iter()
                .enumerate()
                .map(|(i, r)| record_claim(r, Source::Policy(format!("records[{i}]")))),
        );
        claims.extend(self.aliases.iter().map(|a| Claim {
            owner: a.owner.clone(),
            by: Publisher::Alias {
                host: a.host.clone(),
                source: Source::Policy(format!("aliases: {}", a.owner)),
            },
        }));
        claims
    }

    /// Every name the zone may publish (see [`Policy::claims`]).
    pub fn published_names(&self) -> BTreeSet<Name> {
        self.claims().into_iter().map(|c| c.owner).collect()
    }
}

/// The claims of everything in the policy but its records and aliases.
pub(super) fn fixed_claims(policy: &Policy) -> Vec<Claim> {
    let mut claims = vec![Claim {
        owner: policy.zone.clone(),
        by: Publisher::Apex {
            nameservers: policy.nameservers.clone(),
        },
    }];
    for (name, role) in &policy.roles {
        let pool = |rtype, target| Publisher::Pool {
            role: name.clone(),
            rtype,
            target,
        };
        for r in &role.records {
            let rtype = match r.kind {
                MemberRecord::Mx { .. } => RecordType::MX,
                MemberRecord::A => RecordType::A,
                MemberRecord::Aaaa => RecordType::AAAA,
            };
            claims.push(Claim {
                owner: r.owner.clone(),
                by: pool(rtype, None),
            });
        }
        for r in &role.fallback {
            let (rtype, target) = match &r.data {
                FixedData::Mx { exchange, .. } => (RecordType::MX, Some(exchange.clone())),
                FixedData::A(_) => (RecordType::A, None),
                FixedData::Aaaa(_) => (RecordType::AAAA, None),
            };
            claims.push(Claim {
                owner: r.owner.clone(),
                by: pool(rtype, target),
            });
        }
    }
    claims.extend(policy.hosts.iter().map(|h| Claim {
        owner: h.fqdn.clone(),
        by: Publisher::Host { host: h.name.clone() },
    }));
    if let Some(spf) = &policy.spf {
        claims.push(Claim {
            owner: spf.owner.clone(),
            by: Publisher::Spf,
        });
        claims.extend((1..=spf::MAX_PARTS).filter_map(|n| {
            Spf::part_owner(&policy.zone, n).map(|owner| Claim {
                owner,
                by: Publisher::SpfPart(n),
            })
        }));
    }
    claims
}

/// The claim of a static record.
pub(super) fn record_claim(record: &StaticRecord, source: Source) -> Claim {
    Claim {
        owner: record.owner.clone(),
        by: Publisher::Record {
            data: record.data.clone(),
            source,
        },
    }
}

/// Why `new` (a static record or an alias) cannot be published beside
/// `old`, in `zone`; `None` when both may.
pub(super) fn conflict(zone: &Name, new: &Claim, old: &Claim) -> Option<(Aspect, String)> {
    let owner = &new.owner;
    if new.owner == old.owner
        && let Some(message) = same_name(zone, new, old)
    {
        return Some((Aspect::Owner, message));
    }
    if let Some(cut) = delegation(zone, new)
        && cut.zone_of(&old.owner)
        && !may_sit_below(old, cut)
    {
        return Some((
            Aspect::Owner,
            format!(
                "{} delegates {cut}, so {} at {} would be below the zone cut, where only the child zone's \
                 servers answer; only A/AAAA glue may sit at or below a delegation: move that into the \
                 child zone, or delegate another name",
                new.describe(zone),
                old.describe(zone),
                old.owner
            ),
        ));
    }
    if let Some(cut) = delegation(zone, old)
        && cut.zone_of(owner)
        && !may_sit_below(new, cut)
    {
        return Some((
            Aspect::Owner,
            format!(
                "{owner} is at or below {cut}, which {} delegates: below a zone cut only the child zone's \
                 servers answer, and only A/AAAA glue may sit there; put {} in the child zone, or use a \
                 name outside {cut}",
                old.describe(zone),
                new.describe(zone)
            ),
        ));
    }
    if let Some(target) = new
        .targets()
        .into_iter()
        .find(|t| **t == old.owner && old.is_cname())
        && let Some(canonical) = old.cname_target(zone)
    {
        return Some((
            Aspect::Data,
            format!(
                "{} points at {target}, which is a CNAME ({}); an MX, NS or SRV target must be a name with \
                 address records, never an alias (RFC 2181 §10.3): point it at {canonical} instead",
                new.describe(zone),
                old.describe(zone)
            ),
        ));
    }
    if new.is_cname() && old.targets().contains(&owner) {
        return Some((
            Aspect::Owner,
            format!(
                "{owner} is the target of {}, and an MX, NS or SRV target must never be a CNAME \
                 (RFC 2181 §10.3); give {} another name, or point the {} elsewhere",
                old.describe(zone),
                new.describe(zone),
                old.rtype_text()
            ),
        ));
    }
    None
}

/// The rules between two claims at the same name.
fn same_name(zone: &Name, new: &Claim, old: &Claim) -> Option<String> {
    let owner = &new.owner;
    let (this, that) = (new.describe(zone), old.describe(zone));
    if let Publisher::Apex { .. } = old.by {
        if new.is_cname() {
            return Some(format!(
                "{this} would put a CNAME at the zone apex {owner}, beside the zone's SOA and NS records; a \
                 CNAME cannot be at the apex (RFC 1034 §3.6.2): use a name below the zone"
            ));
        }
        return match &new.by {
            Publisher::Record {
                data: RecordData::Ns(_),
                ..
            } => Some(format!(
                "{this}: the zone's own NS records come from nameservers: in the policy; list the server there"
            )),
            _ => None,
        };
    }
    if let Publisher::SpfPart(n) = old.by {
        return Some(format!(
            "{owner} is reserved for part {n} of the SPF (spf:), which muster publishes there when the SPF \
             outgrows one record; use another name for {this}"
        ));
    }
    if new.is_cname() || old.is_cname() {
        let (cname, other) = if new.is_cname() {
            (&this, &that)
        } else {
            (&that, &this)
        };
        let moment = match old.by {
            Publisher::Pool { .. } => " (published whenever the pool has members, so even while it is empty)",
            _ => "",
        };
        return Some(format!(
            "{cname} is a CNAME at {owner}, and muster also publishes {other} there{moment}; a name with a CNAME \
             can have no other data (RFC 1034 §3.6.2): give one of them another name"
        ));
    }
    if let Some(cut) = delegation(zone, new).or_else(|| delegation(zone, old)) {
        // Both at the cut: only NS and glue.
        let (checked, other) = if delegation(zone, new).is_some() {
            (old, new)
        } else {
            (new, old)
        };
        if !may_sit_below(checked, cut) {
            return Some(format!(
                "{} delegates {cut}, so {} there would be answered by the child zone's servers, not \
                 muster; only NS and A/AAAA glue may sit at a delegation: move it into the child zone",
                other.describe(zone),
                checked.describe(zone)
            ));
        }
        return None;
    }
    match (&new.by, &old.by) {
        // A pool's own type at its name is the pool's: a fixed record of it
        // would be served among the members. Other types (a TXT, a CAA)
        // may sit beside a pool.
        (Publisher::Record { data, .. }, Publisher::Pool { role, rtype, .. })
            if data.record_type() == *rtype =>
        {
            Some(format!(
                "{this} would be served among role \"{role}\"'s {rtype} records at {owner}, which change as \
                 hosts move (a fixed {rtype} there would take the pool's traffic); add it to the role's \
                 fallback: instead, or use another name"
            ))
        }
        (
            Publisher::Record {
                data: RecordData::A(_) | RecordData::Aaaa(_),
                ..
            },
            Publisher::Host { host },
        ) => Some(format!(
            "{owner} is host \"{host}\"'s own name, whose address records muster publishes from the \
                 host's addresses; change the host's address (in hosts: or from its agent) instead of adding \
                 {this}, or use another name"
        )),
        (Publisher::Record { data, .. }, Publisher::Spf) if is_spf(data) => Some(format!(
            "{this} is a second SPF record at {owner}, where muster publishes the one computed from spf:; two \
             SPF records make every check fail (permerror, RFC 7208 §4.5): remove it, and list other senders \
             under spf: include:"
        )),
        (Publisher::Record { data: a, .. }, Publisher::Record { data: b, .. }) if is_spf(a) && is_spf(b) => {
            Some(format!(
                "{this} is a second SPF record at {owner} (the first is {that}); two SPF records make every \
                 check fail (permerror, RFC 7208 §4.5): merge them into one"
            ))
        }
        _ => None,
    }
}

/// True for TXT data that is an SPF record (`v=spf1` and a space or the end).
fn is_spf(data: &RecordData) -> bool {
    let RecordData::Txt(strings) = data else {
        return false;
    };
    let text = strings.concat().to_ascii_lowercase();
    text == b"v=spf1" || text.starts_with(b"v=spf1 ")
}

/// The cut a claim makes: a static NS record below the apex.
fn delegation<'a>(zone: &Name, claim: &'a Claim) -> Option<&'a Name> {
    match &claim.by {
        Publisher::Record {
            data: RecordData::Ns(_),
            ..
        } if claim.owner != *zone => Some(&claim.owner),
        _ => None,
    }
}

/// Static A/AAAA (glue) anywhere at or below a cut, more NS at the cut.
fn may_sit_below(claim: &Claim, cut: &Name) -> bool {
    match &claim.by {
        Publisher::Record { data, .. } => match data {
            RecordData::A(_) | RecordData::Aaaa(_) => true,
            RecordData::Ns(_) => claim.owner == *cut,
            _ => false,
        },
        _ => false,
    }
}

impl Claim {
    /// True for a CNAME: a static one or an alias.
    pub fn is_cname(&self) -> bool {
        matches!(
            self.by,
            Publisher::Alias { .. }
                | Publisher::Record {
                    data: RecordData::Cname(_),
                    ..
                }
        )
    }

    /// Where a CNAME points.
    fn cname_target(&self, zone: &Name) -> Option<Name> {
        match &self.by {
            Publisher::Record {
                data: RecordData::Cname(target),
                ..
            } => Some(target.clone()),
            Publisher::Alias { host, .. } => Name::from_labels([host.as_bytes()])
                .and_then(|n| n.append_name(zone))
                .ok(),
            _ => None,
        }
    }

    /// The names this claim's MX, NS or SRV records point at.
    pub fn targets(&self) -> Vec<&Name> {
        match &self.by {
            Publisher::Apex { nameservers } => nameservers.iter().collect(),
            Publisher::Pool { target, .. } => target.iter().collect(),
            Publisher::Record { data, .. } => data.target().into_iter().collect(),
            _ => Vec::new(),
        }
    }

    fn rtype_text(&self) -> String {
        match &self.by {
            Publisher::Apex { .. } => "NS".to_owned(),
            Publisher::Pool { rtype, .. } => rtype.to_string(),
            Publisher::Record { data, .. } => data.record_type().to_string(),
            _ => "record".to_owned(),
        }
    }

    /// The claim for people: `the static TXT record at records[2]`.
    pub fn describe(&self, zone: &Name) -> String {
        let from = |source: &Source| match source {
            Source::Policy(path) => format!(" ({path})"),
            Source::Store => " (added through the API)".to_owned(),
        };
        match &self.by {
            Publisher::Apex { .. } => "the zone's SOA and NS records".to_owned(),
            Publisher::Pool { role, rtype, .. } => format!("role \"{role}\"'s {rtype} records"),
            Publisher::Host { host } => format!("host \"{host}\"'s address records"),
            Publisher::Spf => "the SPF record (spf:)".to_owned(),
            Publisher::SpfPart(n) => format!("part {n} of the SPF"),
            Publisher::Record { data, source } => {
                format!("the {} record{}", data.record_type(), from(source))
            }
            Publisher::Alias { host, source } => {
                let fqdn = self
                    .cname_target(zone)
                    .map_or_else(|| host.clone(), |n| n.to_ascii());
                format!("the alias {} -> {fqdn}{}", self.owner, from(source))
            }
        }
    }
}
