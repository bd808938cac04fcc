//! Keeps the published zone in step with the policy and the store.
//!
//! The keeper is the one writer of the zone: it builds the zone from the
//! policy and membership, picks the serial, records it in the store and
//! only then swaps the new snapshot in, so a serial once served is never
//! served again for other content, even after a crash.

use std::time::{SystemTime, UNIX_EPOCH};

use muster_dns::{PublishError, SharedSnapshot, Zone, ZoneError, ZonePublisher, serial};
use tokio::sync::watch;
use tracing::info;

use crate::policy::Policy;
use crate::store::{Store, StoreError, ZoneState};
use crate::zone_builder::{Membership, build_zone, initial_membership};

/// Why the zone could not be (re)published. The old zone stays in force.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// The policy produced an impossible zone.
    #[error("building the zone: {0}")]
    Zone(#[from] ZoneError),
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The publisher refused the zone.
    #[error(transparent)]
    Publish(#[from] PublishError),
}

/// Owns the zone's publication.
pub struct ZoneKeeper {
    policy: Policy,
    store: Store,
    publisher: ZonePublisher,
}

/// The serial for `candidate` given what the store last published: the same
/// serial when the content is unchanged, otherwise the next one (RFC 1982),
/// preferring the clock so serials read as Unix times.
pub fn choose_serial(previous: Option<&ZoneState>, candidate: &Zone, now_unix: u32) -> u32 {
    match previous {
        None => now_unix.max(1),
        Some(prev) => {
            let mut same = candidate.clone();
            same.set_serial(prev.serial);
            if same.to_zone_file() == prev.content {
                prev.serial
            } else {
                serial::next(prev.serial, now_unix)
            }
        }
    }
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

impl ZoneKeeper {
    /// Builds the zone from `policy` and starts publishing it.
    pub async fn start(policy: Policy, store: Store) -> Result<Self, KeeperError> {
        let zone_name = policy.zone.to_string();
        let mut zone = build_zone(&policy, &initial_membership(&policy), 0)?;
        let previous = store.zone_state(&zone_name).await?;
        zone.set_serial(choose_serial(previous.as_ref(), &zone, unix_now()));
        let state = ZoneState {
            serial: zone.serial(),
            content: zone.to_zone_file(),
        };
        if previous.as_ref() != Some(&state) {
            store
                .save_zone_state(&zone_name, &state, i64::from(unix_now()))
                .await?;
        }
        info!(zone = %zone_name, serial = zone.serial(), "zone published");
        Ok(Self {
            policy,
            store,
            publisher: ZonePublisher::new(zone),
        })
    }

    /// The snapshot handle DNS servers read.
    pub fn shared(&self) -> SharedSnapshot {
        self.publisher.shared()
    }

    /// Told of every new serial.
    pub fn subscribe(&self) -> watch::Receiver<u32> {
        self.publisher.subscribe()
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Puts `policy` in force (a reload) and republishes. Returns the new
    /// serial when the zone changed. On error nothing changes.
    pub async fn apply_policy(&mut self, policy: Policy) -> Result<Option<u32>, KeeperError> {
        let members = initial_membership(&policy);
        let published = self.publish(&policy, &members).await?;
        self.policy = policy;
        Ok(published)
    }

    async fn publish(&mut self, policy: &Policy, members: &Membership) -> Result<Option<u32>, KeeperError> {
        let current = self.publisher.current();
        let mut zone = build_zone(policy, members, current.serial())?;
        if zone.same_content(current.zone()) {
            let changed = self.publisher.publish(zone)?;
            return Ok(changed.then(|| current.serial()));
        }
        zone.set_serial(serial::next(current.serial(), unix_now()));
        let state = ZoneState {
            serial: zone.serial(),
            content: zone.to_zone_file(),
        };
        self.store
            .save_zone_state(&zone.origin().to_string(), &state, i64::from(unix_now()))
            .await?;
        let serial = zone.serial();
        self.publisher.publish(zone)?;
        info!(serial, "zone republished");
        Ok(Some(serial))
    }
}
