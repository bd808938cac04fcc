//! Presentation format (RFC 1035 §5) of a zone: for people, for the store,
//! and for peers such as Knot in the benchmark.

use std::fmt::Write;

use crate::zone::{RecordData, Zone};

impl RecordData {
    /// The RDATA in presentation format (`10 smurf1.lists.example.test.`).
    pub fn to_presentation(&self) -> String {
        match self {
            Self::A(ip) => ip.to_string(),
            Self::Aaaa(ip) => ip.to_string(),
            Self::Mx { preference, exchange } => format!("{preference} {exchange}"),
            Self::Ns(name) => name.to_string(),
        }
    }
}

impl Zone {
    /// The zone as a master file: `$ORIGIN`, the SOA, then every record in
    /// canonical order, one per line with absolute names.
    pub fn to_zone_file(&self) -> String {
        let soa = self.soa();
        let mut out = String::new();
        let _ = writeln!(out, "$ORIGIN {}", self.origin());
        let _ = writeln!(
            out,
            "{} {} IN SOA {} {} {} {} {} {} {}",
            self.origin(),
            soa.ttl,
            soa.mname,
            soa.rname,
            self.serial(),
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        );
        for (owner, ttl, data) in self.records() {
            let _ = writeln!(
                out,
                "{owner} {ttl} IN {} {}",
                data.record_type(),
                data.to_presentation()
            );
        }
        out
    }
}
