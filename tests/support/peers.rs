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

/// Starts NSD on `ip`:`port` as a secondary of `primary` for `zones`,
/// accepting NOTIFY from the primary's address only, as sites do.
pub fn start_nsd_zones(ip: &str, port: u16, primary: SocketAddr, zones: &[&str]) -> Secondary {
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
    for zone in zones {
        conf.push_str(&format!(
            r#"zone:
    name: "{zone}"
    zonefile: "{zone}.zone"
    request-xfr: {pip}@{pport} NOKEY
    allow-notify: {pip} NOKEY
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
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().display();
    let conf = format!(
        r#"server:
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
acl:
  - id: notify_in
    address: "{pip}"
    action: notify
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
