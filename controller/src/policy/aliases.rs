//! `aliases:`: names that follow a host, published as a CNAME to the host's
//! own name (`john.pop: ms1` makes `john.pop.<zone>` a CNAME to
//! `ms1.<zone>`). The policy seeds them; the API moves them.

use super::locate::YamlPath;
use super::raw::{Entries, Text};
use super::validate::{Checker, Ctx};
use super::{Alias, Enrolment, Host, names, values};

/// The good aliases, each with its key as written.
pub(super) fn aliases(
    c: &mut Checker,
    ctx: &Ctx,
    raw: &Entries<Text>,
    hosts: &[Host],
    enrolment: Enrolment,
) -> Vec<(String, Alias)> {
    let at = YamlPath::root().key("aliases");
    c.unique_keys(&at, &raw.0, "alias");
    let mut out = Vec::with_capacity(raw.0.len());
    for (n, (key, value)) in raw.0.iter().enumerate() {
        if raw.0[..n].iter().any(|(k, _)| k == key) {
            continue;
        }
        let owner = values::owner_in(key, &ctx.zone)
            .map_err(|e| e.replacen("record name", "alias", 1))
            .and_then(|owner| {
                if owner == ctx.zone {
                    Err(format!(
                        "alias \"{key}\" is the zone apex; an alias is a CNAME, which cannot sit at the apex \
                         beside the SOA and NS records: use a name below the zone"
                    ))
                } else {
                    Ok(owner)
                }
            });
        let owner = owner.map_err(|message| c.report_key(&at, key, 0, message)).ok();
        let value_at = at.key(key.clone());
        let host = values::host_label(value.as_str())
            .map_err(|e| format!("{e}; an alias points at a host by its short name (john.pop: ms1)"));
        let Some(host) = c.value(&value_at, host) else {
            continue;
        };
        if !hosts.iter().any(|h| h.name == host) {
            let unknown = names::unknown_host(hosts, &host);
            if enrolment == Enrolment::Inventory {
                c.report(
                    &value_at,
                    format!("alias \"{key}\" points at {unknown}; under enrolment: inventory no other host exists: add it to hosts: or point the alias at a listed host"),
                );
                continue;
            }
            c.warn(
                &value_at,
                format!("alias \"{key}\" points at {unknown}; it works once an agent enrols \"{host}\", and until then the alias points at a name that does not exist"),
            );
        }
        if let Some(owner) = owner {
            out.push((key.clone(), Alias { owner, host }));
        }
    }
    out
}
