//! Zones for the TSIG tests: `lists.example.test.` with an NS at the apex
//! and `hosts` A records, keys by name.

#![allow(dead_code, unreachable_pub)] // each test binary uses its part

use std::net::Ipv4Addr;
use std::sync::Arc;

use hickory_proto::rr::Name;
use muster_dns::tsig::{TsigAlgorithm, TsigKey, TsigSecret};
use muster_dns::{RecordData, SoaFields, Zone};

/// The zone's origin.
pub const ORIGIN: &str = "lists.example.test.";

pub fn name(s: &str) -> Name {
    Name::from_ascii(s).expect("valid name")
}

/// `lists.example.test.` at `serial`: its NS and `host0`…`host{hosts-1}`
/// A records in 10.1.0.0/16, no secondaries yet.
pub fn hosts_zone(serial: u32, hosts: u32) -> Zone {
    let soa = SoaFields {
        mname: name("ns1.lists.example.test."),
        rname: name("hostmaster.lists.example.test."),
        refresh: 3600,
        retry: 600,
        expire: 1_209_600,
        minimum: 300,
        ttl: 3600,
    };
    let mut zone = Zone::new(&name(ORIGIN), serial, soa).expect("zone");
    zone.add(
        &name(ORIGIN),
        3600,
        RecordData::Ns(name("ns1.lists.example.test.")),
    )
    .expect("ns");
    for i in 0..hosts {
        let [_, _, hi, lo] = i.to_be_bytes();
        zone.add(
            &name(&format!("host{i}.{ORIGIN}")),
            300,
            RecordData::A(Ipv4Addr::new(10, 1, hi, lo)),
        )
        .expect("a");
    }
    zone
}

/// A key named `key_name`.
pub fn key(key_name: &str, algorithm: TsigAlgorithm, secret: &[u8]) -> Arc<TsigKey> {
    Arc::new(TsigKey::new(
        &name(key_name),
        algorithm,
        TsigSecret::new(secret.to_vec()),
    ))
}
