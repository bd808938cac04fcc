//! muster's authoritative DNS data plane.
//!
//! The controller builds a [`Zone`] (plain data) and hands it to a
//! [`ZonePublisher`], which compiles it into an immutable [`Snapshot`] of
//! precomputed wire answers and swaps it in atomically. The servers in
//! [`server`] read the current snapshot for every query and never block on
//! the controller; [`notify`] tells secondaries about each new serial.
//!
//! Nothing here touches a database or the policy: this crate only knows
//! zones and the DNS protocol.

mod answer;
pub mod notify;
mod parse;
mod publish;
pub mod server;
mod snapshot;
pub mod stats;
pub mod wire;
mod xfr;
mod zone;
mod zonefile;

pub use answer::{Outcome, Transport, respond};
pub use publish::{PublishError, SharedSnapshot, ZonePublisher};
pub use snapshot::Snapshot;
pub use stats::{DnsCounts, DnsStats, QueryType, ResponseCode};
pub use xfr::{ixfr_over_udp, refuse, transfer_messages};
pub use zone::{RecordData, RecordSet, SoaFields, Zone, ZoneDiff, ZoneError, serial};
