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
            Self::Ns(name) | Self::Cname(name) | Self::Ptr(name) => name.to_string(),
            Self::Txt(strings) => {
                let quoted: Vec<String> = strings.iter().map(|s| quote(s)).collect();
                quoted.join(" ")
            }
            Self::Srv {
                priority,
                weight,
                port,
                target,
            } => format!("{priority} {weight} {port} {target}"),
            Self::Caa { flags, tag, value } => format!("{flags} {tag} {}", quote(value)),
            Self::Tlsa {
                usage,
                selector,
                matching,
                data,
            } => format!("{usage} {selector} {matching} {}", hex(data)),
            Self::Unknown { data, .. } if data.is_empty() => "\\# 0".to_owned(),
            Self::Unknown { data, .. } => format!("\\# {} {}", data.len(), hex(data)),
        }
    }

    /// The type in presentation format: its mnemonic, or `TYPEnnn` for a
    /// type known only by number (RFC 3597 §5).
    pub fn type_presentation(&self) -> String {
        match self {
            Self::Unknown { rtype, .. } => format!("TYPE{rtype}"),
            other => other.record_type().to_string(),
        }
    }
}

/// A character-string in presentation format: quoted, with `"` and `\`
/// escaped and bytes outside printable ASCII as `\DDD` (RFC 1035 §5.1).
fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7E => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02X}");
    }
    out
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
                data.type_presentation(),
                data.to_presentation()
            );
        }
        out
    }
}
