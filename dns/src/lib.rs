//! muster's authoritative DNS data plane.
//!
//! The controller builds the [`Zone`]s it serves (plain data: a forward zone
//! and its reverse zones) and hands them to a [`ZonePublisher`], which
//! compiles each changed one into an immutable [`Snapshot`] of precomputed
//! wire answers and swaps the whole [`Catalog`] in atomically. The servers in
//! [`server`] read the current catalog for every query, answer from the zone
//! that holds the name, and never block on the controller; [`notify`] tells
//! each zone's secondaries about each new serial of that zone.
//!
//! Nothing here touches a database or the policy: this crate only knows
//! zones and the DNS protocol.

mod answer;
mod catalog;
pub mod cookie;
mod log_budget;
pub mod notify;
mod parse;
mod publish;
pub mod rrl;
pub mod server;
mod snapshot;
pub mod stats;
pub mod tsig;
pub mod wire;
mod xfr;
mod zone;
mod zonefile;

pub use answer::{Client, Outcome, ReplyFacts, Transport, respond, respond_at, respond_to, write_slip};
pub use catalog::{Catalog, Zones};
pub use publish::{PublishError, SharedCatalog, ZonePublisher};
pub use snapshot::Snapshot;
pub use stats::{DnsCounts, DnsStats, QueryType, RateLimitAction, ResponseCode};
pub use xfr::{ixfr_over_udp, refuse, transfer_messages};
pub use zone::{RecordData, RecordSet, Secondary, SoaFields, Zone, ZoneDiff, ZoneError, serial};
