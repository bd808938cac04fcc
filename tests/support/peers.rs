//! Real secondaries: NSD and Knot, each in a temp dir on its own 127.0.0.x.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::eventually;

/// A secondary server process.
pub struct Secondary {
    child: Child,
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    pub name: &'static str,
}

impl Drop for Secondary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Secondary {
    pub fn log(&self) -> String {
        let mut s = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        s.push_str(&std::fs::read_to_string(self.dir.path().join("nsd.log")).unwrap_or_default());
        s
    }
}

/// Starts NSD on `ip`:`port` as a secondary of `primary` for lists.example.test.
pub fn start_nsd(ip: &str, port: u16, primary: SocketAddr) -> Secondary {
    start_nsd_zones(ip, port, primary, &["lists.example.test"])
}

/// A TSIG key as a secondary's configuration holds it.
pub struct PeerKey {
    pub name: &'static str,
    /// `hmac-sha256` or `hmac-sha512`.
    pub algorithm: &'static str,
    /// The base64 secret.
    pub secret: String,
}

/// Starts NSD on `ip`:`port` as a secondary of `primary` for `zones`,
/// accepting NOTIFY from the primary's address only, as sites do.
pub fn start_nsd_zones(ip: &str, port: u16, primary: SocketAddr, zones: &[&str]) -> Secondary {
    start_nsd_keyed(ip, port, primary, zones, None)
}

/// The same, with a TSIG key when `key` is given, configured as NSD's
/// manual says: a `key:` clause, and its name on `request-xfr` and
/// `allow-notify` (NOTIFY from the primary's address, signed with the key).
pub fn start_nsd_keyed(
    ip: &str,
    port: u16,
    primary: SocketAddr,
    zones: &[&str],
    key: Option<&PeerKey>,
) -> Secondary {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let conf = format!(
        r#"server:
    ip-address: {ip}@{port}
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd.log"
    server-count: 1
    zonefiles-write: 0
    verbosity: 3
    rrl-ratelimit: 0
remote-control:
    control-enable: no
"#
    );
    let mut conf = conf;
    if let Some(key) = key {
        conf.push_str(&format!(
            "key:\n    name: \"{}\"\n    algorithm: {}\n    secret: \"{}\"\n",
            key.name, key.algorithm, key.secret
        ));
    }
    let key_name = key.map_or("NOKEY", |k| k.name);
    for zone in zones {
        conf.push_str(&format!(
            r#"zone:
    name: "{zone}"
    zonefile: "{zone}.zone"
    request-xfr: {pip}@{pport} {key_name}
    allow-notify: {pip} {key_name}
    outgoing-interface: {ip}
"#,
            pip = primary.ip(),
            pport = primary.port()
        ));
    }
    std::fs::write(dir.path().join("nsd.conf"), conf).expect("nsd.conf");
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
    let child = Command::new("nsd")
        .arg("-d")
        .arg("-c")
        .arg(dir.path().join("nsd.conf"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("nsd is installed");
    let addr = SocketAddr::new(ip.parse().expect("ip"), port);
    wait_listening(addr);
    Secondary {
        child,
        dir,
        addr,
        name: "nsd",
    }
}

/// Starts Knot on `ip`:`port` as a secondary of `primary` for lists.example.test.
pub fn start_knot(ip: &str, port: u16, primary: SocketAddr) -> Secondary {
    start_knot_zones(ip, port, primary, &["lists.example.test"])
}

/// Starts Knot on `ip`:`port` as a secondary of `primary` for `zones`,
/// accepting NOTIFY from the primary's address only, as sites do.
pub fn start_knot_zones(ip: &str, port: u16, primary: SocketAddr, zones: &[&str]) -> Secondary {
    start_knot_keyed(ip, port, primary, zones, None)
}

/// The same, with a TSIG key when `key` is given, configured as Knot's
/// manual says: a `key:` section, the key on the primary's `remote`, and
/// an `acl` allowing NOTIFY from the primary's address with that key.
pub fn start_knot_keyed(
    ip: &str,
    port: u16,
    primary: SocketAddr,
    zones: &[&str],
    key: Option<&PeerKey>,
) -> Secondary {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let (key_section, key_line) = match key {
        Some(k) => (
            format!(
                "key:\n  - id: {}\n    algorithm: {}\n    secret: {}\n",
                k.name, k.algorithm, k.secret
            ),
            format!("    key: {}\n", k.name),
        ),
        None => (String::new(), String::new()),
    };
    let conf = format!(
        r#"{key_section}server:
    rundir: "{d}"
    pidfile: "{d}/knot.pid"
    listen: [ "{ip}@{port}" ]
    background-workers: 1
    udp-workers: 1
    tcp-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "{d}/db"
remote:
  - id: primary
    address: "{pip}@{pport}"
    via: "{ip}"
{key_line}acl:
  - id: notify_in
    address: "{pip}"
{key_line}    action: notify
template:
  - id: default
    storage: "{d}/zones"
    zonefile-sync: -1
    zonefile-load: none
    journal-content: changes
zone:
"#,
        pip = primary.ip(),
        pport = primary.port()
    );
    let mut conf = conf;
    for zone in zones {
        conf.push_str(&format!(
            "  - domain: \"{zone}\"\n    master: primary\n    acl: [ notify_in ]\n"
        ));
    }
    std::fs::write(dir.path().join("knot.conf"), conf).expect("knot.conf");
    for sub in ["db", "zones"] {
        std::fs::create_dir_all(dir.path().join(sub)).expect("knot dirs");
    }
    let log = std::fs::File::create(dir.path().join("server.log")).expect("log");
    let child = Command::new("knotd")
        .arg("-c")
        .arg(dir.path().join("knot.conf"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("knotd is installed");
    let addr = SocketAddr::new(ip.parse().expect("ip"), port);
    wait_listening(addr);
    Secondary {
        child,
        dir,
        addr,
        name: "knot",
    }
}

fn wait_listening(addr: SocketAddr) {
    eventually(Duration::from_secs(10), "secondary to listen", || {
        std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()
    });
}
