//! The reconciler, rule by rule: table tests of `plan` on small farms
//! written as text (`reconcile/fixture.rs` has the notation), one file a
//! rule (`liveness`, `fail_static`, `drain`, `caps`, `idempotence`); then
//! property tests over random farms and event sequences (`props.rs` lists
//! what they check, `sim.rs` runs the farm, `checks.rs` holds the checks).
//!
//! Every `check` and `World::tick` also plans again after applying the
//! steps at the same instant and expects nothing: idempotence is asserted in
//! every scenario here, not only in the tests named for it.

#[path = "reconcile/caps.rs"]
mod caps;
#[path = "reconcile/checks.rs"]
mod checks;
#[path = "reconcile/drain.rs"]
mod drain;
#[path = "reconcile/fail_static.rs"]
mod fail_static;
#[path = "reconcile/fixture.rs"]
mod fixture;
#[path = "reconcile/idempotence.rs"]
mod idempotence;
#[path = "reconcile/liveness.rs"]
mod liveness;
#[path = "reconcile/promises.rs"]
mod promises;
#[path = "reconcile/props.rs"]
mod props;
#[path = "reconcile/sim.rs"]
mod sim;
#[path = "reconcile/spf.rs"]
mod spf;

/// Roles cover every drain kind: `smtp-out` waits for its queue (TTL 60 s
/// from its MX record), `smtp-in` too (TTL 30 s, the policy default), `web`
/// only for the TTL, `bounce` for its full timeout; `spare` publishes
/// nothing (its TTL is the policy's).
pub(crate) const POLICY: &str = r#"
zone: lists.example.test
ttl: 30
nameservers: [ns1.example.net.]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }
limits: { moves_per_tick: 2, moves_per_role: 1, host_cooldown: 5m }
roles:
  smtp-out:
    min: 2
    records:
      - { name: smtp-out, type: MX, priority: 5, ttl: 60 }
      - { name: smtp-out, type: A }
    drain: { until: queue_empty, timeout: 10m }
  smtp-in:
    min: 1
    records: [ { name: "@", type: MX, priority: 10 } ]
    drain: { until: queue_empty, timeout: 5m }
  web: { min: 1, records: [ { name: www, type: A } ] }
  bounce:
    min: 0
    records: [ { name: bounces, type: MX, priority: 10 } ]
    drain: { until: timeout, timeout: 2m }
  spare: { min: 0, records: [] }
"#;

/// [`POLICY`] with other limits.
pub(crate) fn with_limits(limits: &str) -> String {
    POLICY.replace(
        "limits: { moves_per_tick: 2, moves_per_role: 1, host_cooldown: 5m }",
        &format!("limits: {{ {limits} }}"),
    )
}

/// Every role at its min, `smtp-out` one above.
pub(crate) const FARM: &str = "
    smurf1 smtp-out
    smurf2 smtp-out
    smurf3 smtp-out
    smurf4 smtp-in
    smurf5 web
    oldmail smtp-in static
";

/// The clock of most tests, in seconds.
pub(crate) const NOW: i64 = 10_000;
