//! muster's controller: the policy, the zone built from it, the store that
//! keeps serials across restarts, and (as they land) failure detection, the
//! reconciler and the drain protocol.

pub mod autoscale;
pub mod bounded;
pub mod cron;
pub mod engine;
pub mod farm;
pub mod observed;
pub mod operator;
pub mod policy;
pub mod reconcile;
pub mod reverse;
pub mod runner;
pub mod schedule;
pub mod simulate;
pub mod spf;
pub mod stats;
pub mod store;
pub mod tokens;
pub mod wanted;
pub mod zone_builder;
