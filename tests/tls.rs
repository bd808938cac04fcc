//! The API over HTTPS (issues 4 and 6): `muster serve --tls-cert --tls-key`
//! with a certificate from a throwaway CA made here, real `muster agent`
//! processes that trust that CA (published, seen by `dig`) or do not
//! (refused: never enrolled, their logs say why), plain HTTP refused on the
//! TLS port, and the flags' errors.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use support::{Muster, dig, eventually, http};

const TOKEN: &str = "agent-secret";

/// Agents enrol themselves; smtp-out wants all three of them.
const POLICY: &str = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 2, panic_threshold: 50% }
default_want: { smtp-out: 3 }
roles:
  smtp-out:
    min: 0
    records:
      - { name: smtp-out, type: A }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
"#;

/// A throwaway certificate authority.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for IP `san`: (certificate PEM, PKCS#8 key PEM).
    fn server(&self, san: &str) -> (String, String) {
        let mut params = CertificateParams::new(vec![san.to_string()]).expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "muster test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().expect("server key");
        let cert = params.signed_by(&key, &self.issuer).expect("server certificate");
        (cert.pem(), key.serialize_pem())
    }
}

/// Files of one TLS setup: the CA, the server's certificate and key, and
/// another CA the server's certificate does not chain to.
struct Pki {
    ca: PathBuf,
    other_ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn write_pki(dir: &Path) -> Pki {
    let ca = TestCa::new("muster test CA");
    let other = TestCa::new("someone else's CA");
    let (cert, key) = ca.server("127.0.0.1");
    let pki = Pki {
        ca: dir.join("ca.pem"),
        other_ca: dir.join("other-ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    std::fs::write(&pki.ca, ca.pem()).expect("write CA");
    std::fs::write(&pki.other_ca, other.pem()).expect("write other CA");
    std::fs::write(&pki.cert, cert).expect("write certificate");
    std::fs::write(&pki.key, key).expect("write key");
    pki
}

/// A real `muster agent`, killed on drop.
struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    /// Starts `name` (address 127.0.1.N for smurfN) against `https://api`,
    /// trusting `ca` when given.
    fn start(root: &Path, api: SocketAddr, name: &str, ca: Option<&Path>) -> Self {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("state")).expect("agent dir");
        let mut config = format!(
            "state_dir: {}\nqueue_command: echo 0\nmax_backoff: 1s\n",
            dir.join("state").display()
        );
        if let Some(ca) = ca {
            config.push_str(&format!("ca_file: {}\n", ca.display()));
        }
        std::fs::write(dir.join("agent.yaml"), config).expect("agent config");
        let log = dir.join("agent.log");
        let out = std::fs::File::create(&log).expect("agent log");
        let number = name.trim_start_matches(|c: char| !c.is_ascii_digit());
        let child = Command::new(env!("CARGO_BIN_EXE_muster"))
            .arg("agent")
            .arg("--controller")
            .arg(format!("https://{api}"))
            .args(["--name", name, "--address", &format!("127.0.1.{number}")])
            .args(["--token", TOKEN])
            .arg("--config")
            .arg(dir.join("agent.yaml"))
            .env("MUSTER_LOG", "info")
            .env_remove("MUSTER_AGENT_TOKEN")
            .env_remove("MUSTER_CONTROLLER")
            .env_remove("MUSTER_AGENT_CONFIG")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("spawn muster agent");
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `https://addr{path}` trusting only `ca`; (status, body) or the error.
fn https_get(addr: SocketAddr, path: &str, ca: &Path) -> Result<(u16, String), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let pem = std::fs::read(ca).expect("read CA");
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA PEM"))
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let response = client
            .get(format!("https://{addr}{path}"))
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(|e| e.to_string())?;
        Ok((status, body))
    })
}

fn published(m: &Muster) -> Vec<String> {
    dig(m.dns, &["smtp-out.lists.example.test", "A"]).answer_data("A")
}

#[test]
fn agents_trusting_the_ca_are_published_and_the_others_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pki = write_pki(tmp.path());
    let m = Muster::start_with(
        POLICY,
        &[
            "--agent-token",
            TOKEN,
            "--tls-cert",
            pki.cert.to_str().expect("utf-8 path"),
            "--tls-key",
            pki.key.to_str().expect("utf-8 path"),
        ],
    );

    // The API answers over HTTPS for a client trusting the CA …
    let (status, body) = https_get(m.api, "/healthz", &pki.ca).expect("HTTPS with the CA");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    // … not for one trusting another CA …
    let refused = https_get(m.api, "/healthz", &pki.other_ca).expect_err("another CA must fail");
    assert!(refused.to_lowercase().contains("certificate"), "{refused}");
    // … and plain HTTP on the TLS port gets no HTTP answer.
    let (status, body) = http(m.api, "GET", "/healthz", None, None);
    assert_eq!(status, 0, "plain HTTP answered: {body}");

    let trusting = Agent::start(tmp.path(), m.api, "smurf1", Some(&pki.ca));
    let untrusting = Agent::start(tmp.path(), m.api, "smurf2", None);
    let other_ca = Agent::start(tmp.path(), m.api, "smurf3", Some(&pki.other_ca));

    eventually(Duration::from_secs(15), "smurf1 published over HTTPS", || {
        published(&m).contains(&"127.0.1.1".to_string()).then_some(())
    });
    for agent in [&untrusting, &other_ca] {
        eventually(Duration::from_secs(10), "a refused agent to log why", || {
            let log = agent.log();
            (log.contains("invalid peer certificate") && log.contains("UnknownIssuer")).then_some(())
        });
    }
    // Give the refused ones the time a heartbeat and a reconcile take, then
    // check they were never heard of: not in DNS, not in the farm.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(published(&m), ["127.0.1.1"], "only the trusting agent");
    let (status, pools) = https_get(m.api, "/api/v1/pools", &pki.ca).expect("pools over HTTPS");
    assert_eq!(status, 200, "{pools}");
    assert!(pools.contains("smurf1"), "{pools}");
    assert!(!pools.contains("smurf2") && !pools.contains("smurf3"), "{pools}");
    assert!(
        !m.log().contains("smurf2") && !m.log().contains("smurf3"),
        "{}",
        m.log()
    );
    assert!(
        trusting.log().contains("holding the new role"),
        "{}",
        trusting.log()
    );
}

/// Runs `muster serve` expecting it to refuse to start; returns stderr.
fn serve_fails(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, POLICY).expect("policy");
    let output = Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("serve")
        .arg("--policy")
        .arg(&policy)
        .arg("--db")
        .arg(format!("sqlite://{}", dir.path().join("muster.db").display()))
        .args(["--dns-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"])
        .args(args)
        .env_remove("MUSTER_TLS_CERT")
        .env_remove("MUSTER_TLS_KEY")
        .stdin(Stdio::null())
        .output()
        .expect("run muster serve");
    assert!(!output.status.success(), "muster serve started with {args:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn tls_flags_come_in_pairs_and_bad_files_are_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pki = write_pki(tmp.path());
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_string();
    let (cert, key, ca) = (path(&pki.cert), path(&pki.key), path(&pki.ca));

    let err = serve_fails(&["--tls-cert", &cert]);
    assert!(err.contains("--tls-cert needs --tls-key"), "{err}");
    let err = serve_fails(&["--tls-key", &key]);
    assert!(err.contains("--tls-key needs --tls-cert"), "{err}");

    let missing = tmp.path().join("missing.pem");
    let err = serve_fails(&["--tls-cert", &path(&missing), "--tls-key", &key]);
    assert!(
        err.contains(&path(&missing)) && err.contains("cannot read it"),
        "{err}"
    );

    // The key where the certificate should be, and the other way round.
    let err = serve_fails(&["--tls-cert", &key, "--tls-key", &key]);
    assert!(
        err.contains(&key) && err.contains("no certificate in it"),
        "{err}"
    );
    let err = serve_fails(&["--tls-cert", &cert, "--tls-key", &cert]);
    assert!(
        err.contains(&cert) && err.contains("no private key in it"),
        "{err}"
    );

    // A key that is not the certificate's.
    let other_key = tmp.path().join("other.key");
    std::fs::write(&other_key, KeyPair::generate().expect("key").serialize_pem()).expect("write key");
    let err = serve_fails(&["--tls-cert", &cert, "--tls-key", &path(&other_key)]);
    assert!(
        err.contains(&cert) && err.contains(&path(&other_key)) && err.contains("not the certificate's"),
        "{err}"
    );

    // Broken PEM.
    let garbage = tmp.path().join("garbage.pem");
    std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n").expect("write");
    let err = serve_fails(&["--tls-cert", &path(&garbage), "--tls-key", &key]);
    assert!(err.contains(&path(&garbage)), "{err}");

    // The environment variables count as the flags.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("policy.yaml"), POLICY).expect("policy");
    let output = Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("serve")
        .arg("--policy")
        .arg(dir.path().join("policy.yaml"))
        .arg("--db")
        .arg(format!("sqlite://{}", dir.path().join("muster.db").display()))
        .args(["--dns-listen", "127.0.0.1:0", "--api-listen", "127.0.0.1:0"])
        .env("MUSTER_TLS_CERT", &ca)
        .env_remove("MUSTER_TLS_KEY")
        .stdin(Stdio::null())
        .output()
        .expect("run muster serve");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && err.contains("--tls-cert needs --tls-key"),
        "{err}"
    );
}
