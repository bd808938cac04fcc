//! Operators' changes to the zone's own names: static records and aliases
//! written through the API.
//!
//! Like the host operations, each is a pure function on a copy of the farm
//! that returns its events (actor: the operator token's name); the runner
//! commits them through `Engine::change`. A record or alias is checked
//! against everything else the zone may publish by
//! [`check_api_record`] and [`check_api_alias`], whose refusal is
//! [`OperatorError::Invalid`] (422) with the reason and the fix.

use hickory_proto::rr::Name;
use muster_dns::RecordData;

use super::{OperatorError, valid_label};
use crate::farm::{Event, EventKind, Farm, Millis};
use crate::policy::{Policy, StaticRecord, check_api_alias, check_api_record};

/// An operator's change to the zone's records or aliases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRequest {
    /// Who asks (the operator token's name): the events' actor.
    pub actor: String,
    /// What to do.
    pub change: NameChange,
}

/// What an operator can do to the zone's own names. Names are absolute
/// and lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NameChange {
    /// Publish a static record (kept in the store; the policy's stay in
    /// the policy). Refused when the same owner, type and data exist.
    AddRecord(StaticRecord),
    /// Remove the records added through the API at `owner` of type
    /// `rtype` (`TXT`, `TYPE65280`): the one with `data`, or all of them.
    RemoveRecords {
        /// The owner.
        owner: Name,
        /// The type, as [`RecordData::type_presentation`] writes it.
        rtype: String,
        /// Exactly this record; `None`: every one of owner and type.
        data: Option<RecordData>,
    },
    /// Point the alias `owner` at `host` (new, or a move).
    SetAlias {
        /// The alias.
        owner: Name,
        /// The host it follows (a short host name).
        host: String,
    },
    /// Forget the alias `owner`.
    RemoveAlias {
        /// The alias.
        owner: Name,
    },
}

/// Event kind: a record added through the API.
pub const RECORD_ADD: EventKind = EventKind::RecordAdd;
/// Event kind: a record added through the API removed.
pub const RECORD_REMOVE: EventKind = EventKind::RecordRemove;
/// Event kind: an alias set or moved; its host is the new one.
pub const ALIAS_SET: EventKind = EventKind::AliasSet;
/// Event kind: an alias removed; its host is the one it pointed at.
pub const ALIAS_REMOVE: EventKind = EventKind::AliasRemove;

/// Applies `request` to `farm` (a copy: on error it must be dropped).
/// Setting an alias to the host it already follows changes nothing and
/// returns no event.
pub fn apply_name_change(
    policy: &Policy,
    farm: &mut Farm,
    request: &NameRequest,
    now: Millis,
) -> Result<Vec<Event>, OperatorError> {
    let event = |kind: EventKind, host: Option<&str>, reason: String| Event {
        at: now,
        kind,
        host: host.map(str::to_owned),
        from_role: None,
        to_role: None,
        actor: request.actor.clone(),
        reason,
        serial: None,
    };
    match &request.change {
        NameChange::AddRecord(record) => {
            add_record(policy, farm, record)?;
            Ok(vec![event(
                RECORD_ADD,
                None,
                format!("{} added by an operator", show(record)),
            )])
        }
        NameChange::RemoveRecords { owner, rtype, data } => {
            let removed = remove_records(policy, farm, owner, rtype, data.as_ref())?;
            Ok(removed
                .iter()
                .map(|r| event(RECORD_REMOVE, None, format!("{} removed by an operator", show(r))))
                .collect())
        }
        NameChange::SetAlias { owner, host } => {
            let Some(from) = set_alias(policy, farm, owner, host)? else {
                return Ok(Vec::new());
            };
            let reason = match from {
                Some(from) => format!("alias {owner} moved from {from} to {host} by an operator"),
                None => format!("alias {owner} set to {host} by an operator"),
            };
            Ok(vec![event(ALIAS_SET, Some(host), reason)])
        }
        NameChange::RemoveAlias { owner } => {
            let host = remove_alias(policy, farm, owner)?;
            Ok(vec![event(
                ALIAS_REMOVE,
                Some(&host),
                format!("alias {owner} (to {host}) removed by an operator"),
            )])
        }
    }
}

/// `OWNER TTL TYPE DATA`, as a zone file line would say it.
pub fn show(record: &StaticRecord) -> String {
    format!(
        "{} {} {} {}",
        record.owner,
        record.ttl,
        record.data.type_presentation(),
        record.data.to_presentation()
    )
}

/// Same owner, type and data: one record whatever its TTL.
fn same(a: &StaticRecord, b: &StaticRecord) -> bool {
    a.owner == b.owner && a.data == b.data
}

fn add_record(policy: &Policy, farm: &mut Farm, record: &StaticRecord) -> Result<(), OperatorError> {
    if policy.records.iter().any(|r| same(r, record)) {
        return Err(OperatorError::Conflict(format!(
            "{} is already in the policy file",
            show(record)
        )));
    }
    if let Some(old) = farm.records.iter().find(|r| same(r, record)) {
        return Err(OperatorError::Conflict(format!(
            "{} exists already; remove it first to change its TTL",
            show(old)
        )));
    }
    check_api_record(policy, &farm.records, &farm.aliases, record)
        .map_err(|e| OperatorError::Invalid(e.to_string()))?;
    farm.records.insert(record.clone());
    Ok(())
}

fn remove_records(
    policy: &Policy,
    farm: &mut Farm,
    owner: &Name,
    rtype: &str,
    data: Option<&RecordData>,
) -> Result<Vec<StaticRecord>, OperatorError> {
    let matches = |r: &StaticRecord| {
        r.owner == *owner
            && r.data.type_presentation().eq_ignore_ascii_case(rtype)
            && data.is_none_or(|d| r.data == *d)
    };
    let removed: Vec<StaticRecord> = farm.records.iter().filter(|r| matches(r)).cloned().collect();
    if removed.is_empty() {
        let what = match data {
            Some(d) => format!("{owner} {rtype} {}", d.to_presentation()),
            None => format!("{owner} {rtype}"),
        };
        if policy.records.iter().any(matches) {
            return Err(OperatorError::Conflict(format!(
                "{what} is in the policy file ({}): edit the policy and reload to remove it",
                policy.source.display()
            )));
        }
        return Err(OperatorError::NotFound(format!(
            "no record {what} was added through the API"
        )));
    }
    farm.records.retain(|r| !matches(r));
    Ok(removed)
}

/// Sets the alias; `None` when it already follows `host`, else the host it
/// followed before (if any).
fn set_alias(
    policy: &Policy,
    farm: &mut Farm,
    owner: &Name,
    host: &str,
) -> Result<Option<Option<String>>, OperatorError> {
    if !valid_label(host) {
        return Err(OperatorError::Invalid(format!(
            "host name {host:?} must be one DNS label: a-z, 0-9 and '-', at most 63 characters"
        )));
    }
    if !farm.hosts.contains_key(host) {
        return Err(OperatorError::Invalid(format!(
            "no host named {host:?}: an alias follows a host of the farm"
        )));
    }
    let before = farm.aliases.get(owner).cloned();
    if before.as_deref() == Some(host) {
        return Ok(None);
    }
    check_api_alias(policy, &farm.records, &farm.aliases, owner, host)
        .map_err(|e| OperatorError::Invalid(e.to_string()))?;
    farm.aliases.insert(owner.clone(), host.to_owned());
    Ok(Some(before))
}

/// Removes the alias; the host it followed.
fn remove_alias(policy: &Policy, farm: &mut Farm, owner: &Name) -> Result<String, OperatorError> {
    if !farm.aliases.contains_key(owner) {
        return Err(OperatorError::NotFound(format!("no alias {owner}")));
    }
    if policy.aliases.iter().any(|a| a.owner == *owner) {
        return Err(OperatorError::Conflict(format!(
            "alias {owner} is in the policy file ({}): remove it there and reload; \
             `muster alias set` can move it meanwhile",
            policy.source.display()
        )));
    }
    farm.aliases
        .remove(owner)
        .ok_or_else(|| OperatorError::NotFound(format!("no alias {owner}")))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::path::Path;

    use super::*;
    use crate::farm::{Assignment, HostRecord};
    use crate::policy::Alias;

    const POLICY: &str = "
zone: lists.example.test
nameservers: [ns1.lists.example.test]
roles:
  web: { min: 0, records: [{ name: www, type: A }] }
hosts:
  - { name: ns1, address: 192.0.2.53, static: true }
";

    fn name(text: &str) -> Name {
        Name::from_ascii(text).expect("name")
    }

    fn record(owner: &str, rtype: &str, data: &str) -> StaticRecord {
        StaticRecord {
            owner: name(owner),
            ttl: 300,
            data: RecordData::from_presentation(rtype, data, &name("lists.example.test.")).expect("data"),
        }
    }

    /// A policy with one record and one alias of its own.
    fn policy() -> Policy {
        let mut policy = crate::policy::load_str(Path::new("test.yaml"), POLICY).expect("test policy");
        policy
            .records
            .push(record("_dmarc.lists.example.test.", "TXT", "v=DMARC1; p=none"));
        policy.aliases.push(Alias {
            owner: name("pop.lists.example.test."),
            host: "ms1".to_owned(),
        });
        policy
    }

    fn farm() -> Farm {
        let mut farm = Farm::default();
        for host in ["ms1", "ms2"] {
            farm.hosts.insert(
                host.to_owned(),
                HostRecord::new(host, vec![IpAddr::from([192, 0, 2, 1])]),
            );
            farm.assignments
                .insert(host.to_owned(), Assignment::active(None, 0));
        }
        farm.aliases
            .insert(name("pop.lists.example.test."), "ms1".to_owned());
        farm
    }

    fn run(farm: &mut Farm, change: NameChange) -> Result<Vec<Event>, OperatorError> {
        let request = NameRequest {
            actor: "alice".to_owned(),
            change,
        };
        apply_name_change(&policy(), farm, &request, 1000)
    }

    #[test]
    fn a_record_is_added_once_and_says_who_added_it() {
        let mut farm = farm();
        let spf = record("www.lists.example.test.", "TXT", "hello world");
        let events = run(&mut farm, NameChange::AddRecord(spf.clone())).expect("add");
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(
            (e.kind, e.actor.as_str(), e.host.as_deref()),
            (RECORD_ADD, "alice", None)
        );
        assert!(
            e.reason
                .contains(r#"www.lists.example.test. 300 TXT "hello world""#),
            "{}",
            e.reason
        );
        assert!(farm.records.contains(&spf));
        // The same record with another TTL is the same record.
        let again = StaticRecord { ttl: 60, ..spf };
        let err = run(&mut farm, NameChange::AddRecord(again)).expect_err("duplicate");
        assert!(matches!(err, OperatorError::Conflict(_)), "{err:?}");
        let err = run(
            &mut farm,
            NameChange::AddRecord(record("_dmarc.lists.example.test.", "TXT", "v=DMARC1; p=none")),
        )
        .expect_err("in the policy");
        assert!(err.to_string().contains("already in the policy"), "{err}");
    }

    #[test]
    fn records_outside_the_zone_are_refused_by_the_checks() {
        let mut farm = farm();
        let err = run(
            &mut farm,
            NameChange::AddRecord(record("www.example.org.", "TXT", "x")),
        )
        .expect_err("outside");
        assert!(
            matches!(&err, OperatorError::Invalid(m) if m.contains("outside the zone")),
            "{err:?}"
        );
        assert!(farm.records.is_empty());
    }

    #[test]
    fn removing_takes_one_record_or_every_one_of_a_type() {
        let mut farm = farm();
        for data in ["one", "two"] {
            run(
                &mut farm,
                NameChange::AddRecord(record("t.lists.example.test.", "TXT", data)),
            )
            .expect("add");
        }
        run(
            &mut farm,
            NameChange::AddRecord(record("t.lists.example.test.", "A", "192.0.2.9")),
        )
        .expect("add");
        let one = record("t.lists.example.test.", "TXT", "one");
        let events = run(
            &mut farm,
            NameChange::RemoveRecords {
                owner: name("t.lists.example.test."),
                rtype: "TXT".to_owned(),
                data: Some(one.data.clone()),
            },
        )
        .expect("remove one");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, RECORD_REMOVE);
        assert!(!farm.records.contains(&one));
        assert_eq!(farm.records.len(), 2);
        let all_txt = NameChange::RemoveRecords {
            owner: name("t.lists.example.test."),
            rtype: "txt".to_owned(),
            data: None,
        };
        assert_eq!(run(&mut farm, all_txt.clone()).expect("remove all").len(), 1);
        assert_eq!(farm.records.len(), 1, "the A record stays");
        assert!(matches!(run(&mut farm, all_txt), Err(OperatorError::NotFound(_))));
        let err = run(
            &mut farm,
            NameChange::RemoveRecords {
                owner: name("_dmarc.lists.example.test."),
                rtype: "TXT".to_owned(),
                data: None,
            },
        )
        .expect_err("a policy record");
        assert!(
            matches!(&err, OperatorError::Conflict(m) if m.contains("edit the policy")),
            "{err:?}"
        );
    }

    #[test]
    fn an_alias_is_set_moved_and_removed_with_its_hosts_in_the_events() {
        let mut farm = farm();
        let owner = name("john.pop.lists.example.test.");
        let set = |host: &str| NameChange::SetAlias {
            owner: owner.clone(),
            host: host.to_owned(),
        };
        let events = run(&mut farm, set("ms1")).expect("set");
        assert_eq!(
            (events[0].kind, events[0].host.as_deref()),
            (ALIAS_SET, Some("ms1"))
        );
        assert!(events[0].reason.contains("set to ms1"), "{}", events[0].reason);
        assert!(
            run(&mut farm, set("ms1")).expect("again").is_empty(),
            "no change, no event"
        );
        let events = run(&mut farm, set("ms2")).expect("move");
        assert!(
            events[0].reason.contains("moved from ms1 to ms2"),
            "{}",
            events[0].reason
        );
        assert_eq!(events[0].actor, "alice");
        assert_eq!(farm.aliases[&owner], "ms2");
        assert!(matches!(
            run(&mut farm, set("nobody")),
            Err(OperatorError::Invalid(_))
        ));
        assert!(matches!(
            run(&mut farm, set("Bad_Name")),
            Err(OperatorError::Invalid(_))
        ));
        let apex = NameChange::SetAlias {
            owner: name("lists.example.test."),
            host: "ms1".to_owned(),
        };
        assert!(matches!(run(&mut farm, apex), Err(OperatorError::Invalid(_))));

        let events = run(&mut farm, NameChange::RemoveAlias { owner: owner.clone() }).expect("rm");
        assert_eq!(
            (events[0].kind, events[0].host.as_deref()),
            (ALIAS_REMOVE, Some("ms2"))
        );
        assert!(!farm.aliases.contains_key(&owner));
        assert!(matches!(
            run(&mut farm, NameChange::RemoveAlias { owner }),
            Err(OperatorError::NotFound(_))
        ));
        // The policy's alias moves through the API but is removed in the policy.
        let policy_alias = name("pop.lists.example.test.");
        run(
            &mut farm,
            NameChange::SetAlias {
                owner: policy_alias.clone(),
                host: "ms2".to_owned(),
            },
        )
        .expect("move the policy's alias");
        assert!(matches!(
            run(&mut farm, NameChange::RemoveAlias { owner: policy_alias }),
            Err(OperatorError::Conflict(_))
        ));
    }
}
