//! The simulated farm as a whole: which agents, where their mail goes,
//! and the tasks that run them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context;
use hickory_proto::rr::Name;
use muster_agent::client::ControllerClient;
use muster_agent::{AgentConfig, AgentFlags, Token};
use muster_controller::policy::{MemberRecord, Policy};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::agents::{self, DemoAgent};
use super::bulge::Bulge;
use super::mail::{self, Mail, SenderConfig};
use crate::serve::Server;

/// The simulated agents and their mail, running.
pub(crate) struct Simulation {
    /// The agents.
    pub(super) agents: Vec<DemoAgent>,
    /// Their queues.
    pub(super) mail: Mail,
    /// The role the mail goes to, when the policy has one.
    pub(super) mail_role: Option<String>,
    /// The load the mail follows, when there is mail.
    pub(super) bulge: Option<Bulge>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Simulation {
    /// Stops every agent and the sender, and waits for them.
    pub(crate) async fn stop(self) {
        self.cancel.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Starts `count` simulated agents against `server` (the policy's hosts
/// first, see [`agents::choose`]), reporting with `token`, and the mail
/// they carry, replayed `speed` times faster than real time. Everything
/// stops when `cancel` fires or [`Simulation::stop`] is called.
pub(crate) fn spawn_simulation(
    server: &Server,
    token: String,
    count: usize,
    speed: f64,
    cancel: CancellationToken,
) -> anyhow::Result<Simulation> {
    let policy = server.controller.view().policy.clone();
    let chosen = agents::choose(&policy, count);
    // Everything that can fail, before anything is spawned.
    let controller = format!("http://{}", reachable(server.api_addr));
    let clients = chosen
        .iter()
        .map(|agent| {
            let config = AgentConfig::try_new(AgentFlags {
                controller: controller.clone(),
                name: agent.name.clone(),
                addresses: agent.addresses.clone(),
                token: Some(Token::new(token.clone())),
                ..AgentFlags::default()
            })?;
            Ok(ControllerClient::try_new(&config)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let target = mail_target(&policy);
    let dns = server
        .dns_addrs
        .first()
        .copied()
        .context("the server has no DNS address")?;

    let mail = Mail::new(chosen.iter().map(|a| a.name.as_str()));
    let bulge = target.as_ref().map(|t| Bulge::for_target(t.target_per_host));
    let mut tasks = Vec::new();
    if let (Some(target), Some(bulge)) = (&target, &bulge) {
        let config = SenderConfig {
            bulge: bulge.clone(),
            speed,
            dns: reachable(dns),
            mx: target.mx.clone(),
            hosts: chosen
                .iter()
                .map(|a| (a.fqdn.clone(), a.name.clone()))
                .collect::<HashMap<_, _>>(),
        };
        tasks.push(mail::spawn_sender(mail.clone(), config, cancel.clone()));
    }
    // Heartbeats spread over the interval, as a real farm's are.
    let spread = policy.heartbeat.interval;
    let n = u32::try_from(chosen.len().max(1)).unwrap_or(u32::MAX);
    for (i, (agent, client)) in chosen.iter().zip(clients).enumerate() {
        let stagger = spread * u32::try_from(i).unwrap_or(0) / n;
        tasks.push(agents::spawn_agent(
            agent.clone(),
            client,
            mail.clone(),
            stagger,
            cancel.clone(),
        ));
    }
    Ok(Simulation {
        agents: chosen,
        mail,
        mail_role: target.map(|t| t.role),
        bulge,
        cancel,
        tasks,
    })
}

/// Where the simulated mail goes.
struct MailTarget {
    role: String,
    mx: Name,
    target_per_host: f64,
}

/// The role of the first load rule on `queue_depth` whose role publishes
/// an MX record, else `smtp-out` if it publishes one.
fn mail_target(policy: &Policy) -> Option<MailTarget> {
    let mx = |role: &str| {
        policy
            .roles
            .get(role)?
            .records
            .iter()
            .find(|r| matches!(r.kind, MemberRecord::Mx { .. }))
            .map(|r| r.owner.clone())
    };
    policy
        .autoscale
        .iter()
        .filter(|rule| rule.metric == "queue_depth")
        .find_map(|rule| {
            Some(MailTarget {
                role: rule.role.clone(),
                mx: mx(&rule.role)?,
                target_per_host: rule.target_per_host,
            })
        })
        .or_else(|| {
            Some(MailTarget {
                role: "smtp-out".to_owned(),
                mx: mx("smtp-out")?,
                target_per_host: 1000.0,
            })
        })
}

/// `addr` as a client on this machine reaches it: a wildcard address
/// becomes loopback.
pub(super) fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::demo::mail::fqdn_key;

    #[test]
    fn the_demo_policy_sends_mail_to_smtp_out_and_checks_clean() {
        let policy = muster_controller::policy::load_str(Path::new("demo.yaml"), super::super::DEMO_POLICY)
            .expect("the demo policy");
        assert!(policy.warnings.is_empty(), "{:?}", policy.warnings);
        let target = mail_target(&policy).expect("a mail role");
        assert_eq!(target.role, "smtp-out");
        assert_eq!(fqdn_key(&target.mx), "smtp-out.lists.example.test");
        assert_eq!(target.target_per_host, 1000.0);
    }

    #[test]
    fn wildcards_are_reached_on_loopback() {
        let reach = |a: &str| reachable(a.parse().expect("addr")).to_string();
        assert_eq!(reach("0.0.0.0:53"), "127.0.0.1:53");
        assert_eq!(reach("[::]:53"), "[::1]:53");
        assert_eq!(reach("10.0.0.1:53"), "10.0.0.1:53");
    }
}
