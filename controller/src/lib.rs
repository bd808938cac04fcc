//! muster's controller: the policy, the zone built from it, the store that
//! keeps serials across restarts, and (as they land) failure detection, the
//! reconciler and the drain protocol.

pub mod keeper;
pub mod policy;
pub mod store;
pub mod zone_builder;
