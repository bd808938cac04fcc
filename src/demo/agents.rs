//! The simulated agents: each reports over real HTTP, with the real
//! agent's client, the role it holds and its host's mail queue, and takes
//! the role the controller's reply assigns (at once: a simulated box has no
//! hook to run).

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use muster_agent::client::ControllerClient;
use muster_api::HeartbeatBody;
use muster_controller::policy::Policy;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::mail::{Mail, fqdn_key};

/// The most simulated agents one process runs (127.0.1.1 to .250).
pub(crate) const MAX_AGENTS: usize = 250;
/// Between two heartbeats when the controller's reply says nothing usable.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// One simulated host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DemoAgent {
    /// Its name (`smurf7`).
    pub(crate) name: String,
    /// Its FQDN, lowercase, without the final dot.
    pub(crate) fqdn: String,
    /// The addresses it reports.
    pub(crate) addresses: Vec<IpAddr>,
}

/// `n` agents for `policy`: its hosts with no `static: true` first, in
/// file order, then `smurfN` on 127.0.1.N for names not taken.
pub(crate) fn choose(policy: &Policy, n: usize) -> Vec<DemoAgent> {
    let n = n.min(MAX_AGENTS);
    let mut agents: Vec<DemoAgent> = policy
        .hosts
        .iter()
        .filter(|h| !h.is_static)
        .take(n)
        .enumerate()
        .map(|(i, h)| DemoAgent {
            name: h.name.clone(),
            fqdn: fqdn_key(&h.fqdn),
            addresses: match h.addresses.as_slice() {
                [] => vec![loopback_address(i + 1)],
                addresses => addresses.to_vec(),
            },
        })
        .collect();
    let taken: HashSet<&str> = policy.hosts.iter().map(|h| h.name.as_str()).collect();
    let zone = fqdn_key(&policy.zone);
    let mut k = 0;
    while agents.len() < n {
        k += 1;
        let name = format!("smurf{k}");
        if taken.contains(name.as_str()) {
            continue;
        }
        agents.push(DemoAgent {
            fqdn: format!("{name}.{zone}"),
            name,
            addresses: vec![loopback_address(k)],
        });
    }
    agents
}

/// 127.0.1.`k` (k from 1 to 250).
fn loopback_address(k: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        1,
        u8::try_from(k.clamp(1, 250)).unwrap_or(250),
    ))
}

/// Runs one agent until `cancel` fires, starting after `stagger` (so the
/// farm's heartbeats spread over the interval, as real ones do).
pub(crate) fn spawn_agent(
    agent: DemoAgent,
    client: ControllerClient,
    mail: Mail,
    stagger: Duration,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(stagger) => {}
        }
        let mut held: Option<String> = None;
        let mut failing = false;
        loop {
            let body = HeartbeatBody {
                name: agent.name.clone(),
                addresses: agent.addresses.clone(),
                role: held.clone(),
                probes: Vec::new(),
                metrics: BTreeMap::from([("queue_depth".to_owned(), mail.queue(&agent.name))]),
                hook_failure: None,
            };
            let reply = tokio::select! {
                () = cancel.cancelled() => return,
                reply = client.heartbeat(&body) => reply,
            };
            let interval = match reply {
                Ok(reply) => {
                    if failing {
                        info!(host = %agent.name, "demo agent: heartbeats accepted again");
                        failing = false;
                    }
                    // The role the controller assigns is the one held from
                    // now on (while draining, that is still the old one).
                    held = reply.role;
                    Some(Duration::from_millis(reply.interval_ms)).filter(|d| !d.is_zero())
                }
                Err(e) => {
                    if !failing {
                        warn!(host = %agent.name, error = %e, "demo agent: heartbeat failed; retrying");
                        failing = true;
                    }
                    None
                }
            };
            let interval = interval.unwrap_or(DEFAULT_INTERVAL).min(Duration::from_secs(60));
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const POLICY: &str = "
zone: lists.example.test
nameservers: [ns1.lists.example.test]
roles:
  web: { min: 0, records: [ { name: www, type: A } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: smurf2, address: 10.0.0.2, role: web }
  - { name: box, address: 10.0.0.9 }
";

    #[test]
    fn agents_are_the_policys_hosts_then_smurfs_with_free_names() {
        let policy = muster_controller::policy::load_str(Path::new("p.yaml"), POLICY).expect("policy");
        let agents = choose(&policy, 4);
        let names: Vec<&str> = agents.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["smurf2", "box", "smurf1", "smurf3"]);
        assert_eq!(agents[0].addresses, [IpAddr::from([10, 0, 0, 2])]);
        assert_eq!(agents[2].addresses, [IpAddr::from([127, 0, 1, 1])]);
        assert_eq!(agents[3].fqdn, "smurf3.lists.example.test");
        assert_eq!(choose(&policy, 1).len(), 1);
        assert_eq!(choose(&policy, 10_000).len(), MAX_AGENTS);
    }

    #[test]
    fn the_demo_policy_gives_the_twelve_smurfs() {
        let policy = muster_controller::policy::load_str(Path::new("demo.yaml"), super::super::DEMO_POLICY)
            .expect("policy");
        let agents = choose(&policy, 12);
        assert_eq!(agents.first().map(|a| a.name.as_str()), Some("smurf1"));
        assert_eq!(agents.last().map(|a| a.name.as_str()), Some("smurf12"));
        assert_eq!(agents[11].addresses, [IpAddr::from([127, 0, 1, 12])]);
    }
}
