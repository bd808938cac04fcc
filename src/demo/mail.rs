//! The simulated mail. A list server submits mail at the bulge's rate to
//! the mail role's MX hosts, which it looks up in muster's own DNS like any
//! MTA would, keeping the answer for its TTL; each host delivers at a fixed
//! rate. So a host taken out of DNS stops getting mail once the senders'
//! caches expire, and its queue drains while it drains. Agents report
//! their host's queue as `queue_depth`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::bulge::{Bulge, Phase};

/// How often the mail model advances.
const STEP: Duration = Duration::from_millis(100);
/// How long the sender waits for a DNS answer.
const DNS_TIMEOUT: Duration = Duration::from_secs(1);
/// The sender keeps an answer at least this long, whatever its TTL.
const MIN_CACHE: Duration = Duration::from_secs(1);

/// The queues of the simulated hosts, shared by the sender and the agents.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mail {
    state: Arc<Mutex<MailState>>,
}

#[derive(Debug, Default)]
struct MailState {
    /// Messages waiting on each host, by host name.
    queues: HashMap<String, f64>,
    /// Mail with nowhere to go (no MX answer yet), handed out later.
    deferred: f64,
    status: MailStatus,
}

/// Where the simulation is, for the progress lines.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MailStatus {
    /// Simulated seconds since the start.
    pub(crate) time: f64,
    /// The bulge's phase.
    pub(crate) phase: Phase,
    /// Messages submitted per simulated second now.
    pub(crate) inflow: f64,
    /// The hosts the sender's MX answer names, in the answer's order.
    pub(crate) targets: Vec<String>,
    /// Messages queued on every host.
    pub(crate) queued: f64,
}

impl Default for MailStatus {
    fn default() -> Self {
        Self {
            time: 0.0,
            phase: Phase::Quiet,
            inflow: 0.0,
            targets: Vec::new(),
            queued: 0.0,
        }
    }
}

impl Mail {
    /// Empty queues for `hosts`.
    pub(crate) fn new<'a>(hosts: impl IntoIterator<Item = &'a str>) -> Self {
        let queues = hosts.into_iter().map(|h| (h.to_owned(), 0.0)).collect();
        Self {
            state: Arc::new(Mutex::new(MailState {
                queues,
                ..MailState::default()
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MailState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whole messages queued on `host`.
    pub(crate) fn queue(&self, host: &str) -> f64 {
        self.lock().queues.get(host).copied().unwrap_or(0.0).round()
    }

    /// The latest status.
    pub(crate) fn status(&self) -> MailStatus {
        self.lock().status.clone()
    }

    /// Advances the model by `dt` simulated seconds ending at `time`: the
    /// mail submitted meanwhile is spread evenly over `targets` (hosts not
    /// simulated here deliver their share themselves), then every host
    /// delivers up to its rate.
    fn advance(&self, bulge: &Bulge, time: f64, dt: f64, targets: &[String]) {
        let mut state = self.lock();
        let inflow = bulge.inflow(time);
        let submitted = inflow * dt + std::mem::take(&mut state.deferred);
        if targets.is_empty() {
            state.deferred = submitted;
        } else {
            // Realistic share: a real sender picks among equal MX records
            // at random, which evens out over a tenth of a second of mail.
            let share = submitted / targets.len() as f64;
            for target in targets {
                if let Some(q) = state.queues.get_mut(target) {
                    *q += share;
                }
            }
        }
        let capacity = bulge.delivery * dt;
        let mut queued = state.deferred;
        for q in state.queues.values_mut() {
            *q = (*q - capacity).max(0.0);
            if *q < 0.5 {
                *q = 0.0;
            }
            queued += *q;
        }
        state.status = MailStatus {
            time,
            phase: bulge.phase(time),
            inflow,
            targets: targets.to_vec(),
            queued,
        };
    }
}

/// What the sender needs to know.
#[derive(Clone, Debug)]
pub(crate) struct SenderConfig {
    /// The bulge to replay.
    pub(crate) bulge: Bulge,
    /// Simulated seconds per real second.
    pub(crate) speed: f64,
    /// muster's DNS server.
    pub(crate) dns: SocketAddr,
    /// The MX owner the mail goes to (`smtp-out.lists.example.test.`).
    pub(crate) mx: Name,
    /// Host names by their FQDN (lowercase, no final dot).
    pub(crate) hosts: HashMap<String, String>,
}

/// Runs the sender and the deliveries until `cancel` fires.
pub(crate) fn spawn_sender(mail: Mail, config: SenderConfig, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut resolver = MxCache::default();
        let mut ticks = tokio::time::interval(STEP);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last = Instant::now();
        let mut time = 0.0;
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = ticks.tick() => {}
            }
            let targets = resolver.targets(&config).await;
            let now = Instant::now();
            let dt = now.duration_since(last).as_secs_f64() * config.speed;
            last = now;
            time += dt;
            mail.advance(&config.bulge, time, dt, &targets);
        }
    })
}

/// The sender's cached MX answer, as host names.
#[derive(Default)]
struct MxCache {
    targets: Vec<String>,
    expires: Option<Instant>,
    socket: Option<UdpSocket>,
}

impl MxCache {
    /// The hosts to send to: the cached answer, looked up again once its
    /// TTL is over. A failed lookup keeps the old answer for a second.
    async fn targets(&mut self, config: &SenderConfig) -> Vec<String> {
        if self.expires.is_some_and(|at| Instant::now() < at) {
            return self.targets.clone();
        }
        match self.lookup(config).await {
            Ok((exchanges, ttl)) => {
                self.targets = exchanges
                    .iter()
                    .map(|name| {
                        let fqdn = fqdn_key(name);
                        config.hosts.get(&fqdn).cloned().unwrap_or(fqdn)
                    })
                    .collect();
                self.expires = Some(Instant::now() + Duration::from_secs(u64::from(ttl)).max(MIN_CACHE));
            }
            Err(e) => {
                debug!(error = %e, "demo sender: MX lookup failed; keeping the last answer");
                self.socket = None;
                self.expires = Some(Instant::now() + MIN_CACHE);
            }
        }
        self.targets.clone()
    }

    /// Asks muster's DNS for the MX set: the most preferred exchanges and
    /// the smallest TTL among them.
    async fn lookup(&mut self, config: &SenderConfig) -> std::io::Result<(Vec<Name>, u32)> {
        let socket = match self.socket.take() {
            Some(s) => s,
            None => {
                let local: SocketAddr = if config.dns.is_ipv4() {
                    ([127, 0, 0, 1], 0).into()
                } else {
                    (std::net::Ipv6Addr::LOCALHOST, 0).into()
                };
                let s = UdpSocket::bind(local).await?;
                s.connect(config.dns).await?;
                s
            }
        };
        let id = next_id();
        let mut query = Message::new(id, MessageType::Query, OpCode::Query);
        query.add_query(Query::query(config.mx.clone(), RecordType::MX));
        let bytes = query.to_vec().map_err(std::io::Error::other)?;
        socket.send(&bytes).await?;
        let mut buf = vec![0u8; 4096];
        let answer = loop {
            let n = tokio::time::timeout(DNS_TIMEOUT, socket.recv(&mut buf))
                .await
                .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no DNS answer"))??;
            let message = Message::from_vec(&buf[..n]).map_err(std::io::Error::other)?;
            // A late answer to an earlier query is skipped.
            if message.metadata.id == id {
                break message;
            }
        };
        self.socket = Some(socket);
        Ok(most_preferred(&answer))
    }
}

/// The exchanges of the lowest MX preference in `answer`, and their
/// smallest TTL.
fn most_preferred(answer: &Message) -> (Vec<Name>, u32) {
    let mxs: Vec<(u16, &Name, u32)> = answer
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::MX(mx) => Some((mx.preference, &mx.exchange, r.ttl)),
            _ => None,
        })
        .collect();
    let Some(best) = mxs.iter().map(|m| m.0).min() else {
        return (Vec::new(), 0);
    };
    let chosen: Vec<&(u16, &Name, u32)> = mxs.iter().filter(|m| m.0 == best).collect();
    let ttl = chosen.iter().map(|m| m.2).min().unwrap_or(0);
    (chosen.iter().map(|m| m.1.clone()).collect(), ttl)
}

/// A name as the hosts map keys it: lowercase, without the final dot.
pub(crate) fn fqdn_key(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_ascii_lowercase()
}

/// Query ids: distinct enough to tell a late answer from the current one.
fn next_id() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::MX;

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).expect("a name")
    }

    #[test]
    fn mail_goes_to_the_targets_and_drains_at_the_delivery_rate() {
        let bulge = Bulge::for_target(1000.0);
        let mail = Mail::new(["a", "b", "c"]);
        let targets = vec!["a".to_owned(), "b".to_owned()];
        // One simulated second at the top of a bulge: ~1000 submitted,
        // 100 delivered by each host.
        mail.advance(&bulge, 89.9, 1.0, &targets);
        let (a, b) = (mail.queue("a"), mail.queue("b"));
        assert!((a - 399.0).abs() <= 1.0, "a holds {a}");
        assert_eq!(a, b);
        assert_eq!(mail.queue("c"), 0.0, "not in DNS, no mail");
        // Out of DNS: b drains at 100 a second.
        mail.advance(&bulge, 95.0, 1.0, &["a".to_owned()]);
        assert!((mail.queue("b") - (b - 100.0)).abs() <= 1.0);
        for t in 0..10 {
            mail.advance(&bulge, 96.0 + f64::from(t), 1.0, &["a".to_owned()]);
        }
        assert_eq!(mail.queue("b"), 0.0, "a drained host's queue empties");
        let status = mail.status();
        assert_eq!(status.phase, Phase::Delivering);
        assert_eq!(status.targets, ["a"]);
    }

    #[test]
    fn mail_with_nowhere_to_go_waits_for_an_answer() {
        let bulge = Bulge::for_target(1000.0);
        let mail = Mail::new(["a"]);
        mail.advance(&bulge, 10.0, 1.0, &[]);
        assert_eq!(mail.status().queued, 40.0, "deferred at the sender");
        mail.advance(&bulge, 11.0, 1.0, &["a".to_owned()]);
        assert_eq!(mail.queue("a"), 0.0, "80 arrive, 100 can go");
    }

    #[test]
    fn the_sender_uses_the_most_preferred_exchanges() {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        let owner = name("smtp-out.lists.example.test.");
        for (pref, host, ttl) in [
            (5, "smurf1.lists.example.test.", 5),
            (20, "fallback.lists.example.test.", 30),
            (5, "SMURF2.lists.example.test.", 4),
        ] {
            m.answers.push(Record::from_rdata(
                owner.clone(),
                ttl,
                RData::MX(MX::new(pref, name(host))),
            ));
        }
        let (names, ttl) = most_preferred(&m);
        let keys: Vec<String> = names.iter().map(fqdn_key).collect();
        assert_eq!(keys, ["smurf1.lists.example.test", "smurf2.lists.example.test"]);
        assert_eq!(ttl, 4);
        assert_eq!(
            most_preferred(&Message::new(2, MessageType::Response, OpCode::Query)).0,
            []
        );
    }
}
