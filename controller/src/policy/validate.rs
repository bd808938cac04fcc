//! From the raw policy to the validated [`Policy`], collecting every problem.
//!
//! This module checks the zone-wide settings (zone, ttl, nameservers, soa,
//! heartbeat) and hands roles, hosts and the automation rules to
//! their own modules. A value that fails is reported and replaced by its
//! default so that checking goes on; the policy is returned only if nothing
//! was reported.

use std::path::Path;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::locate::{Spot, YamlPath};
use super::raw::{RawHeartbeat, RawLimits, RawPolicy, RawSoa, Text};
use super::{
    Enrolment, Heartbeat, Limits, Policy, Soa, aliases, automation, consistency, inventory, names,
    rate_limit, reverse_zones, roles, secondaries, spf, tsig_keys, values, zone_records,
};

/// Problems found so far, each with what it points at.
pub(super) type Found = Vec<(Spot, String)>;

/// Collects problems.
#[derive(Default)]
pub(super) struct Checker {
    found: Found,
    warnings: Found,
}

/// What every part of the policy is checked against.
pub(super) struct Ctx {
    /// The zone (the root if the zone itself is invalid: every name is in it).
    pub(super) zone: Name,
    /// The default TTL.
    pub(super) ttl: u32,
    /// The names of the roles, as written, sorted.
    pub(super) roles: Vec<String>,
}

/// Checks `raw` and builds the policy read from `source`; returns it with
/// its warnings, or the problems found.
pub(super) fn validate(raw: RawPolicy, source: &Path) -> Result<(Policy, Found), Found> {
    let mut c = Checker::default();
    let top = YamlPath::root();
    let zone = c
        .value(&top.key("zone"), values::zone(raw.zone.as_str()))
        .unwrap_or_else(Name::root);
    let ttl = c.field(&top, "ttl", raw.ttl.as_ref(), values::ttl).unwrap_or(30);
    let mut roles: Vec<String> = raw.roles.0.iter().map(|(name, _)| name.clone()).collect();
    roles.sort();
    roles.dedup();
    let ctx = Ctx { zone, ttl, roles };

    let nameservers = nameservers(&mut c, &ctx, raw.nameservers.as_deref());
    let soa = soa(&mut c, &ctx, &nameservers, &raw.soa.unwrap_or_default());
    let heartbeat = heartbeat(&mut c, &raw.heartbeat.unwrap_or_default());
    let limits = limits(&mut c, &raw.limits.unwrap_or_default());
    let keys = tsig_keys::keys(&mut c, &raw.tsig, source);
    let secondaries =
        secondaries::secondaries(&mut c, &top.key("secondaries"), &raw.secondaries, &keys, true);
    let roles = roles::roles(&mut c, &ctx, raw.roles);
    let hosts = inventory::hosts(&mut c, &ctx, raw.hosts);
    let enrolment = c
        .field(&top, "enrolment", raw.enrolment.as_ref(), |text| {
            match text.trim() {
                "open" => Ok(Enrolment::Open),
                "inventory" => Ok(Enrolment::Inventory),
                other => Err(format!(
                    "\"{other}\" is not open or inventory; write `open` to let any agent with a token join, \
                 or `inventory` to accept only the hosts listed under hosts"
                )),
            }
        })
        .unwrap_or_default();
    let records = zone_records::records(&mut c, &ctx, &raw.records);
    let spf = spf::spf(&mut c, &ctx, raw.spf.as_ref());
    let reverse = reverse_zones::reverse(&mut c, &raw.reverse, &secondaries, &keys);
    if !c.has_problems_in(&["tsig", "secondaries", "reverse"]) {
        let used: Vec<_> = secondaries
            .iter()
            .chain(reverse.iter().flat_map(|zone| &zone.secondaries))
            .collect();
        secondaries::warn_unused_keys(&mut c, &keys, &used);
    }
    let aliases = aliases::aliases(&mut c, &ctx, &raw.aliases, &hosts, enrolment);
    let written = names::Written {
        records: records.iter().map(|(at, _)| at.clone()).collect(),
        aliases: aliases.iter().map(|(key, _)| key.clone()).collect(),
    };
    let policy = Policy {
        source: source.to_owned(),
        nameservers,
        soa,
        heartbeat,
        limits,
        secondaries,
        default_want: automation::default_want(&mut c, &ctx, raw.default_want),
        schedules: automation::schedules(&mut c, &ctx, raw.schedules),
        autoscale: automation::autoscale(&mut c, &ctx, &roles, raw.autoscale),
        roles,
        hosts,
        enrolment,
        zone: ctx.zone,
        ttl: ctx.ttl,
        records: records.into_iter().map(|(_, r)| r).collect(),
        spf,
        reverse,
        aliases: aliases.into_iter().map(|(_, a)| a).collect(),
        rate_limit: rate_limit::rate_limit(&mut c, raw.rate_limit.as_ref()),
        warnings: Vec::new(),
    };
    consistency::check(&mut c, &policy);
    if !c.has_problems_in(&["zone"]) {
        names::check(&mut c, &policy, &written);
    }
    if c.found.is_empty() {
        Ok((policy, c.warnings))
    } else {
        Err(c.found)
    }
}

impl Checker {
    /// True once a problem was reported in one of the top-level `parts`
    /// (or in the document as a whole).
    pub(super) fn has_problems_in(&self, parts: &[&str]) -> bool {
        self.found
            .iter()
            .any(|(spot, _)| spot.top().is_none_or(|top| parts.contains(&top)))
    }

    /// Notes something allowed but probably not meant about the key `key`
    /// of the mapping at `map`.
    pub(super) fn warn_key(&mut self, map: &YamlPath, key: &str, message: impl Into<String>) {
        let spot = Spot::Key {
            map: map.clone(),
            key: key.to_owned(),
            nth: 0,
        };
        self.warnings.push((spot, message.into()));
    }

    /// Notes something allowed but probably not meant, at `at`.
    pub(super) fn warn(&mut self, at: &YamlPath, message: impl Into<String>) {
        self.warnings.push((Spot::Value(at.clone()), message.into()));
    }

    /// Reports a problem at `spot` (a value or a key).
    pub(super) fn report_at(&mut self, spot: Spot, message: impl Into<String>) {
        self.found.push((spot, message.into()));
    }

    /// Reports a problem with the value at `at`.
    pub(super) fn report(&mut self, at: &YamlPath, message: impl Into<String>) {
        self.found.push((Spot::Value(at.clone()), message.into()));
    }

    /// Reports a problem with the `nth` occurrence of the key `key` in `map`.
    pub(super) fn report_key(&mut self, map: &YamlPath, key: &str, nth: usize, message: String) {
        let key = key.to_owned();
        let map = map.clone();
        self.found.push((Spot::Key { map, key, nth }, message));
    }

    /// The value, or `None` after reporting the error at `at`.
    pub(super) fn value<T>(&mut self, at: &YamlPath, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.report(at, message)).ok()
    }

    /// Parses the optional `key` of the mapping at `map`; `None` if it is
    /// absent or (reported) wrong.
    pub(super) fn field<T>(
        &mut self,
        map: &YamlPath,
        key: &str,
        text: Option<&Text>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let result = parse(text?.as_str()).map_err(|e| format!("{key}: {e}"));
        self.value(&map.key(key), result)
    }

    /// Parses every item of the list at `at`, keeping the good ones with
    /// their index.
    pub(super) fn each<T>(
        &mut self,
        at: &YamlPath,
        items: &[Text],
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<(usize, T)> {
        let mut good = Vec::with_capacity(items.len());
        for (i, text) in items.iter().enumerate() {
            if let Some(value) = self.value(&at.index(i), parse(text.as_str())) {
                good.push((i, value));
            }
        }
        good
    }

    /// Reports every item of the list at `at` equal to an earlier one.
    pub(super) fn unique<T: PartialEq>(
        &mut self,
        at: &YamlPath,
        items: &[(usize, T)],
        message: impl Fn(&T) -> String,
    ) {
        for (n, (i, item)) in items.iter().enumerate() {
            if items[..n].iter().any(|(_, earlier)| earlier == item) {
                self.report(&at.index(*i), message(item));
            }
        }
    }

    /// Reports the repeated keys of a mapping written as entries.
    pub(super) fn unique_keys<V>(&mut self, at: &YamlPath, entries: &[(String, V)], what: &str) {
        for (n, (key, _)) in entries.iter().enumerate() {
            let earlier = entries[..n].iter().filter(|(k, _)| k == key).count();
            if earlier > 0 {
                let message = format!("{what} \"{key}\" appears twice; keep one");
                self.report_key(at, key, earlier, message);
            }
        }
    }
}

impl Ctx {
    /// Checks that `name` is a defined role; `subject` starts the message,
    /// e.g. `host "smurf3" has role "smtp-ot"`.
    pub(super) fn role_ref(
        &self,
        c: &mut Checker,
        at: &YamlPath,
        name: &str,
        subject: impl FnOnce() -> String,
    ) -> bool {
        if self.roles.iter().any(|role| role == name) {
            return true;
        }
        let mut message = format!(
            "{} which is not defined in roles (defined: {})",
            subject(),
            self.roles.join(", ")
        );
        if let Some(close) = self.roles.iter().find(|role| edit_distance(role, name) <= 2) {
            message.push_str(&format!("; did you mean \"{close}\"?"));
        }
        c.report(at, message);
        false
    }
}

fn nameservers(c: &mut Checker, ctx: &Ctx, raw: Option<&[Text]>) -> Vec<Name> {
    let at = YamlPath::root().key("nameservers");
    let default = || values::name_in("ns1", &ctx.zone).into_iter().collect();
    let Some(raw) = raw else { return default() };
    if raw.is_empty() {
        c.report(
            &at,
            "nameservers is empty; list at least one (the default is ns1.<zone>)",
        );
        return default();
    }
    let names = c.each(&at, raw, |text| values::name_in(text, &ctx.zone));
    c.unique(&at, &names, |name| format!("nameserver {name} is listed twice"));
    names.into_iter().map(|(_, name)| name).collect()
}

fn soa(c: &mut Checker, ctx: &Ctx, nameservers: &[Name], raw: &RawSoa) -> Soa {
    let at = YamlPath::root().key("soa");
    let long = |text: &str| values::seconds(text, 1, i32::MAX as u32);
    let name = |text: &str| values::name_in(text, &ctx.zone);
    let mailbox = |text: &str| values::mailbox(text, &ctx.zone);
    let first_ns = nameservers.first().cloned().unwrap_or_else(|| ctx.zone.clone());
    let hostmaster = values::name_in("hostmaster", &ctx.zone).unwrap_or_else(|_| ctx.zone.clone());
    Soa {
        mname: c
            .field(&at, "mname", raw.mname.as_ref(), name)
            .unwrap_or(first_ns),
        rname: c
            .field(&at, "rname", raw.rname.as_ref(), mailbox)
            .unwrap_or(hostmaster),
        refresh: c.field(&at, "refresh", raw.refresh.as_ref(), long).unwrap_or(300),
        retry: c.field(&at, "retry", raw.retry.as_ref(), long).unwrap_or(60),
        expire: c
            .field(&at, "expire", raw.expire.as_ref(), long)
            .unwrap_or(1_209_600),
        minimum: c
            .field(&at, "minimum", raw.minimum.as_ref(), values::ttl)
            .unwrap_or(ctx.ttl),
        ttl: c
            .field(&at, "ttl", raw.ttl.as_ref(), values::ttl)
            .unwrap_or(ctx.ttl),
    }
}

fn heartbeat(c: &mut Checker, raw: &RawHeartbeat) -> Heartbeat {
    let at = YamlPath::root().key("heartbeat");
    let positive = |text: &str| match values::duration(text)? {
        Duration::ZERO => Err("must be longer than 0".to_owned()),
        d => Ok(d),
    };
    let interval = c.field(&at, "interval", raw.interval.as_ref(), positive);
    let dead_after = c.field(&at, "dead_after", raw.dead_after.as_ref(), positive);
    let interval = interval.unwrap_or(Duration::from_secs(1));
    let dead_after = dead_after.unwrap_or(Duration::from_secs(3));
    if dead_after <= interval {
        c.report(
            &at.key("dead_after"),
            format!(
                "dead_after ({dead_after:?}) must be longer than interval ({interval:?}), \
                 or every host is declared dead between two heartbeats"
            ),
        );
    }
    let count = |text: &str| values::integer(text, 1, 1_000).map(|n| n as u32);
    Heartbeat {
        interval,
        dead_after,
        revive_after: c
            .field(&at, "revive_after", raw.revive_after.as_ref(), count)
            .unwrap_or(3),
        panic_threshold_percent: c
            .field(
                &at,
                "panic_threshold",
                raw.panic_threshold.as_ref(),
                values::percent,
            )
            .unwrap_or(50),
    }
}

fn limits(c: &mut Checker, raw: &RawLimits) -> Limits {
    let at = YamlPath::root().key("limits");
    let count = |text: &str| values::integer(text, 1, 10_000).map(|n| n as u32);
    Limits {
        moves_per_tick: c
            .field(&at, "moves_per_tick", raw.moves_per_tick.as_ref(), count)
            .unwrap_or(2),
        moves_per_role: c
            .field(&at, "moves_per_role", raw.moves_per_role.as_ref(), count)
            .unwrap_or(1),
        host_cooldown: c
            .field(&at, "host_cooldown", raw.host_cooldown.as_ref(), values::duration)
            .unwrap_or(Duration::from_secs(300)),
    }
}

/// Levenshtein distance, for "did you mean" hints.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}
