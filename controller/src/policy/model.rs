//! The validated policy: what the rest of muster reads.
//!
//! `load.rs` turns YAML into these types; nothing else constructs them from
//! text. Every name here is already checked, absolute (FQDN) and lowercase,
//! and every reference (a host's role, a role in a schedule) is known to exist.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::rr::Name;
use jiff::tz::TimeZone;
pub use muster_dns::rrl::{Cidr, RateLimitConfig};
use muster_dns::{RecordData, Secondary};

pub use crate::cron::Cron;

/// A loaded, validated policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The file it was read from (for messages).
    pub source: PathBuf,
    /// The delegated zone, e.g. `lists.example.test.`.
    pub zone: Name,
    /// Default TTL of every published record, in seconds.
    pub ttl: u32,
    /// The zone's NS targets (absolute names).
    pub nameservers: Vec<Name>,
    /// SOA fields other than the serial (the serial is the store's business).
    pub soa: Soa,
    /// Failure-detection timing (used by the controller).
    pub heartbeat: Heartbeat,
    /// How fast automation may change the farm.
    pub limits: Limits,
    /// Roles by name, in name order.
    pub roles: BTreeMap<String, Role>,
    /// The inventory: hosts known without an agent enrolling them.
    pub hosts: Vec<Host>,
    /// Whether agents of hosts the inventory does not list may join.
    pub enrolment: Enrolment,
    /// Secondaries allowed to transfer the zone; each is sent NOTIFY. One
    /// with a TSIG key (`tsig:`) must sign its transfers with it.
    pub secondaries: Vec<Secondary>,
    /// Wanted counts outside every schedule window (roles not named get
    /// their `min`).
    pub default_want: BTreeMap<String, WantCount>,
    /// Role schedules; when windows overlap, the one listed last wins.
    pub schedules: Vec<Schedule>,
    /// Load rules, at most one per role.
    pub autoscale: Vec<Autoscale>,
    /// Static records of the zone, in file order (`records:`).
    pub records: Vec<StaticRecord>,
    /// The SPF record computed from the sending pools (`spf:`).
    pub spf: Option<Spf>,
    /// Reverse zones muster serves, each with a PTR for every host
    /// address inside it (`reverse:`; one entry may give several zones).
    pub reverse: Vec<ReverseZone>,
    /// Names that follow a host, as the policy sets them (`aliases:`).
    pub aliases: Vec<Alias>,
    /// Response rate limiting of DNS answers over UDP (`rate_limit:`; on
    /// by default).
    pub rate_limit: RateLimitConfig,
    /// Things that are allowed but probably not meant (`muster check`
    /// prints them; they never stop a policy from loading).
    pub warnings: Vec<super::Problem>,
}

/// The SOA record's fixed fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Soa {
    /// Primary master name (MNAME); defaults to the first nameserver.
    pub mname: Name,
    /// Responsible mailbox (RNAME) as a name; defaults to `hostmaster.<zone>`.
    pub rname: Name,
    /// Seconds, defaults 300.
    pub refresh: u32,
    /// Seconds, defaults 60.
    pub retry: u32,
    /// Seconds, defaults 1209600 (two weeks).
    pub expire: u32,
    /// Negative-caching TTL (RFC 2308), defaults to the zone `ttl`.
    pub minimum: u32,
    /// TTL of the SOA record itself, defaults to the zone `ttl`.
    pub ttl: u32,
}

/// Failure-detection settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// How often agents report (default 1 s).
    pub interval: Duration,
    /// Silence after which a host is dead (default 3 s).
    pub dead_after: Duration,
    /// Consecutive good heartbeats before a dead host is back (default 3).
    pub revive_after: u32,
    /// Percent of a pool going silent at once that triggers fail-static (default 50).
    pub panic_threshold_percent: u8,
}

impl Heartbeat {
    /// How often the controller reconciles: twice per heartbeat interval,
    /// so a silent host is declared dead at most half an interval after
    /// `dead_after`; between 50 ms and 500 ms.
    pub fn tick(&self) -> Duration {
        (self.interval / 2).clamp(Duration::from_millis(50), Duration::from_millis(500))
    }
}

/// Who may join the farm by sending heartbeats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Enrolment {
    /// Any agent with a valid token; the inventory is a starting point
    /// (the default).
    #[default]
    Open,
    /// Only hosts the inventory lists: the inventory is the whole farm, so
    /// `muster check` can tell for certain whether the mins fit it, and a
    /// heartbeat from any other name is refused.
    Inventory,
}

/// Rate limits on automatic changes, so a wrong policy cannot swing the
/// whole farm at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// At most this many drains start per reconcile (default 2).
    pub moves_per_tick: u32,
    /// At most this many hosts drain out of one role at once (default 1).
    pub moves_per_role: u32,
    /// A host is not moved again within this long (default 5 minutes).
    pub host_cooldown: Duration,
}

/// A role: a job a host can hold and the records its members publish.
#[derive(Clone, Debug, PartialEq)]
pub struct Role {
    /// The role's name (`smtp-out`).
    pub name: String,
    /// The pool never shrinks below this while eligible live hosts exist.
    pub min: u32,
    /// Records published once per member.
    pub records: Vec<RecordTemplate>,
    /// Records published whatever the membership (higher MX preference).
    pub fallback: Vec<FallbackRecord>,
    /// How a member leaves the role.
    pub drain: Drain,
    /// Health checks the members' agents run.
    pub probes: Vec<Probe>,
    /// Automation gives the role only to hosts carrying all these labels
    /// (operators may still move any eligible host into it).
    pub labels: BTreeMap<String, String>,
    /// Publish at most this many members: the least loaded live ones,
    /// re-chosen at most once per record TTL (`publish_max:`).
    pub publish_max: Option<u32>,
}

/// A health check an agent runs for its role; a failure makes the
/// controller take the host out of DNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Its name, in reports and events (defaults to the type).
    pub name: String,
    /// What it checks.
    pub check: ProbeCheck,
    /// A probe that takes longer has failed (default 2 s).
    pub timeout: Duration,
}

/// What a probe checks, on the agent's own box.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeCheck {
    /// A TCP connection to 127.0.0.1:`port` opens.
    Tcp {
        /// The port.
        port: u16,
    },
    /// An SMTP server on 127.0.0.1:`port` greets with `220`.
    Smtp {
        /// The port (default 25).
        port: u16,
    },
    /// `GET url` answers with `expect` (default 200).
    Http {
        /// The URL.
        url: String,
        /// The status expected.
        expect: u16,
    },
    /// `sh -c run` exits 0.
    Command {
        /// The command line.
        run: String,
    },
}

/// A record each member of a role publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordTemplate {
    /// Owner name, absolute.
    pub owner: Name,
    /// What the member contributes.
    pub kind: MemberRecord,
    /// TTL in seconds.
    pub ttl: u32,
}

/// What one member contributes to a role's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberRecord {
    /// `MX preference <member's own name>`.
    Mx {
        /// The MX preference.
        preference: u16,
    },
    /// The member's IPv4 addresses.
    A,
    /// The member's IPv6 addresses.
    Aaaa,
}

/// A fixed record of a role's fallback tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FallbackRecord {
    /// Owner name, absolute.
    pub owner: Name,
    /// The record's data.
    pub data: FixedData,
    /// TTL in seconds.
    pub ttl: u32,
}

/// Record data that does not depend on membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FixedData {
    /// An MX record to a fixed exchange.
    Mx {
        /// The MX preference.
        preference: u16,
        /// The exchange (absolute).
        exchange: Name,
    },
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
}

/// How a member leaves a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drain {
    /// What the drain waits for once the records' TTL has passed.
    pub until: DrainUntil,
    /// Give up waiting after this long (counted from the drain's start).
    pub timeout: Duration,
}

/// What a drain waits for after the TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DrainUntil {
    /// Nothing: the role has no work in flight (the default).
    Ttl,
    /// The agent reporting `queue_depth` 0 (mail roles), or the timeout.
    QueueEmpty,
    /// The full timeout (work nobody can measure).
    Timeout,
}

/// A host from the inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// Short name, a single DNS label (`smurf1`).
    pub name: String,
    /// `<name>.<zone>`.
    pub fqdn: Name,
    /// Its addresses (the agent may report more later).
    pub addresses: Vec<IpAddr>,
    /// Roles it may hold; empty means any role.
    pub eligible: Vec<String>,
    /// The role it starts in.
    pub role: Option<String>,
    /// No agent; always healthy; never moved automatically.
    pub is_static: bool,
    /// Free-form labels for host selection.
    pub labels: BTreeMap<String, String>,
}

/// A schedule window: from each time its cron fires, for `duration`, in
/// its timezone, the roles get the counts in `want`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Its name (the actor recorded in events).
    pub name: String,
    /// When windows open (local time in `timezone`).
    pub cron: Cron,
    /// How long a window lasts.
    pub duration: Duration,
    /// The timezone the cron expression is read in.
    pub timezone: TimeZone,
    /// Wanted count per role while the window is open. Roles it does not
    /// name get their `min`.
    pub want: BTreeMap<String, WantCount>,
}

/// How many hosts a role should have, as the policy says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WantCount {
    /// Exactly this many.
    Hosts(u32),
    /// This percentage of the live hosts, rounded down.
    Percent(u8),
    /// All live hosts but this many.
    AllBut(u32),
    /// The live hosts the other roles do not want.
    Rest,
}

/// How a load rule combines the members' metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    /// The total over the pool (`queue_depth`: mail waiting in the pool).
    Sum,
    /// The mean over the members that report it (`load1`, `cpu`).
    Mean,
}

/// A load rule: grows a role when its members are busy, by borrowing
/// hosts from other roles, and gives them back when the load has stayed
/// low for `stabilization`.
#[derive(Clone, Debug, PartialEq)]
pub struct Autoscale {
    /// Its name (the actor in events); defaults to `autoscale-<role>`.
    pub name: String,
    /// The role it grows and shrinks.
    pub role: String,
    /// The agent metric it follows.
    pub metric: String,
    /// Sum or mean over the pool.
    pub aggregate: Aggregate,
    /// The metric one host should carry (sum), or the mean to keep under.
    pub target_per_host: f64,
    /// The rule never asks for fewer (default: the role's `min`).
    pub min: u32,
    /// The rule never asks for more (default: no bound).
    pub max: Option<u32>,
    /// Roles to borrow hosts from, in order, never below their own `min`.
    pub borrow_from: Vec<String>,
    /// Where hosts go when load falls and no other role wants them.
    pub give_back_to: Option<String>,
    /// At most this many hosts added per scale-up (default 1).
    pub step: u32,
    /// Time between two changes of the rule's count (default 1 minute).
    pub cooldown: Duration,
    /// The rule shrinks only to the largest count it asked for during the
    /// last `stabilization` (default 5 minutes).
    pub stabilization: Duration,
}

/// A record the zone publishes whatever the farm does.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StaticRecord {
    /// Owner name, absolute, inside the zone.
    pub owner: Name,
    /// TTL in seconds.
    pub ttl: u32,
    /// The record's data; names in it absolute.
    pub data: RecordData,
}

/// What SPF says of senders it does not list (the `all` term).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpfAll {
    /// `-all`: reject (the default).
    Fail,
    /// `~all`: accept but mark.
    SoftFail,
    /// `?all`: say nothing.
    Neutral,
}

impl SpfAll {
    /// The term as written in the record.
    pub fn term(self) -> &'static str {
        match self {
            Self::Fail => "-all",
            Self::SoftFail => "~all",
            Self::Neutral => "?all",
        }
    }
}

/// The SPF record muster writes from the hosts that may send as the zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spf {
    /// Where the record is published (absolute; `@` is the apex).
    pub owner: Name,
    /// Roles whose members send mail as the domain.
    pub roles: Vec<String>,
    /// Other senders' SPF records (`include:` terms), absolute names.
    pub include: Vec<Name>,
    /// How long a host that left the roles stays listed (its queue may
    /// still hold mail); default 5 days, Postfix's `maximal_queue_lifetime`.
    pub keep_after_leave: Duration,
    /// The closing term.
    pub all: SpfAll,
    /// TTL of the record (and of its `_spfN` parts); default the zone TTL.
    /// A host joining the roles is published in their pools only once it
    /// has been listed this long.
    pub ttl: u32,
}

/// One reverse zone muster serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReverseZone {
    /// The first address of the block.
    pub network: IpAddr,
    /// The block's prefix length: IPv4 8, 16, 24 or 25..=31 (RFC 2317),
    /// IPv6 a multiple of 4.
    pub prefix: u8,
    /// The zone's origin (`2.0.192.in-addr.arpa.`, `0-26.2.0.192.in-addr.arpa.`).
    pub origin: Name,
    /// Secondaries of this zone (default: the forward zone's).
    pub secondaries: Vec<Secondary>,
}

/// A name that follows a host: published as a CNAME to the host's own name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    /// The alias, absolute, inside the zone.
    pub owner: Name,
    /// The host it points at (a short host name).
    pub host: String,
}
