//! Runs the real `dig` and parses what it prints.

use std::net::SocketAddr;
use std::process::Command;

/// One record line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rr {
    pub name: String,
    pub ttl: u32,
    pub rtype: String,
    pub data: String,
}

/// What dig printed, parsed.
#[derive(Clone, Debug, Default)]
pub struct Dig {
    pub status: String,
    pub flags: Vec<String>,
    pub question: Vec<String>,
    pub answer: Vec<Rr>,
    pub authority: Vec<Rr>,
    pub additional: Vec<Rr>,
    /// The EDNS line (`; EDNS: version: 0, flags:; udp: 1232`), if any.
    pub edns: Option<String>,
    pub raw: String,
}

impl Dig {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    pub fn answer_data(&self, rtype: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .answer
            .iter()
            .filter(|r| r.rtype == rtype)
            .map(|r| r.data.clone())
            .collect();
        v.sort();
        v
    }
}

/// `dig @server -p port +norec ARGS…`, with every section printed.
pub fn dig(server: SocketAddr, args: &[&str]) -> Dig {
    let output = Command::new("dig")
        .arg(format!("@{}", server.ip()))
        .arg("-p")
        .arg(server.port().to_string())
        .args(["+norec", "+time=2", "+tries=1", "+nocookie"])
        .args(args)
        .output()
        .expect("dig is installed (bind9-dnsutils)");
    parse(&String::from_utf8_lossy(&output.stdout))
}

fn parse(text: &str) -> Dig {
    let mut d = Dig {
        raw: text.to_string(),
        ..Dig::default()
    };
    let mut section = "";
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix(";; ->>HEADER<<- ") {
            if let Some(status) = rest.split("status: ").nth(1) {
                d.status = status.split(',').next().unwrap_or("").to_string();
            }
        } else if let Some(rest) = line.strip_prefix(";; flags: ") {
            let flags = rest.split(';').next().unwrap_or("");
            d.flags = flags.split_whitespace().map(str::to_string).collect();
        } else if line.starts_with("; EDNS:") {
            d.edns = Some(line.to_string());
        } else if line.starts_with(";; QUESTION SECTION") {
            section = "q";
        } else if line.starts_with(";; ANSWER SECTION") {
            section = "an";
        } else if line.starts_with(";; AUTHORITY SECTION") {
            section = "ns";
        } else if line.starts_with(";; ADDITIONAL SECTION") {
            section = "ar";
        } else if line.is_empty() {
            section = "";
        } else if section == "q" {
            d.question.push(line.trim_start_matches(';').to_string());
        } else if !line.starts_with(';') && !section.is_empty() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if parts.len() >= 5 {
                let rr = Rr {
                    name: parts[0].to_string(),
                    ttl: parts[1].parse().unwrap_or(0),
                    rtype: parts[3].to_string(),
                    data: parts[4..].join(" "),
                };
                match section {
                    "an" => d.answer.push(rr),
                    "ns" => d.authority.push(rr),
                    "ar" => d.additional.push(rr),
                    _ => {}
                }
            }
        }
    }
    d
}
