//! Static records and aliases written through the API and the CLI (issue
//! 13, parts 1 and 4), end to end: the real `muster serve`, real HTTP, the
//! real `muster` CLI and `dig`. Auth, the checks' 422s, 409 for a
//! duplicate, 404 for nothing to remove, the events with their actor, what
//! survives a restart, aliases flagged when their host is out of service,
//! and what DNS answers.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::api::{call, error_code, error_message};
use support::{Muster, dig, eventually, http_get};

const ADMIN: &str = "s3cret";
const READ: &str = "look";

const POLICY: &str = r#"
zone: lists.example.test
ttl: 1
nameservers: [ns1.lists.example.test]
heartbeat: { interval: 1s, dead_after: 3s, revive_after: 3, panic_threshold: 50% }
roles:
  mx: { min: 0, records: [ { name: mail, type: MX, priority: 10 } ] }
hosts:
  - { name: ns1, address: 127.0.0.1, static: true }
  - { name: ms1, address: 127.0.2.1, static: true, role: mx }
  - { name: ms2, address: 127.0.2.2, static: true, role: mx }
"#;

fn start() -> Muster {
    Muster::start_with(
        POLICY,
        &[
            "--admin-token",
            &format!("ops={ADMIN}"),
            "--read-token",
            &format!("watcher={READ}"),
        ],
    )
}

/// `method path` with the admin token; asserts `status`; the reply.
fn admin(m: &Muster, method: &str, path: &str, body: Option<&Value>, status: u16) -> Value {
    let text = body.map(Value::to_string);
    let (got, reply) = call(m.api, method, path, Some(ADMIN), text.as_deref());
    assert_eq!(got, status, "{method} {path} {text:?}: {reply}");
    reply
}

fn read(m: &Muster, path: &str) -> Value {
    let (status, reply) = call(m.api, "GET", path, Some(READ), None);
    assert_eq!(status, 200, "GET {path}: {reply}");
    reply
}

/// No token and a wrong one get 401; a read token 403.
fn admin_only(m: &Muster, method: &str, path: &str, body: Option<&Value>) {
    let text = body.map(Value::to_string);
    for (token, status, code) in [
        (None, 401, "unauthorized"),
        (Some("wrong"), 401, "unauthorized"),
        (Some(READ), 403, "forbidden"),
    ] {
        let (got, reply) = call(m.api, method, path, token, text.as_deref());
        assert_eq!(
            (got, error_code(&reply)),
            (status, code),
            "{method} {path} {token:?}: {reply}"
        );
    }
}

fn events(m: &Muster) -> Vec<Value> {
    read(m, "/api/v1/events?limit=1000")
        .as_array()
        .expect("a list")
        .clone()
}

fn event<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["kind"] == kind).collect()
}

fn txt(m: &Muster, name: &str) -> Vec<String> {
    dig(m.dns, &[name, "TXT"]).answer_data("TXT")
}

#[test]
fn records_are_added_listed_and_removed_through_the_api() {
    let mut m = start();
    let dmarc = json!({ "name": "_dmarc", "type": "TXT", "data": "v=DMARC1; p=none" });
    admin_only(&m, "POST", "/api/v1/records", Some(&dmarc));
    admin_only(&m, "DELETE", "/api/v1/records?name=_dmarc&type=TXT", None);
    // Reads need a token once operator tokens exist.
    assert_eq!(call(m.api, "GET", "/api/v1/records", None, None).0, 401);

    let added = admin(&m, "POST", "/api/v1/records", Some(&dmarc), 201);
    assert_eq!(
        added,
        json!({ "name": "_dmarc.lists.example.test.", "type": "TXT", "ttl": 1,
                "data": "\"v=DMARC1; p=none\"", "source": "api" })
    );
    let mx = json!({ "name": "lists.example.test.", "type": "MX", "data": "20 ms2", "ttl": 60 });
    admin(&m, "POST", "/api/v1/records", Some(&mx), 201);
    let listed = read(&m, "/api/v1/records");
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(
        listed
            .iter()
            .any(|r| r["type"] == "MX" && r["data"] == "20 ms2.lists.example.test." && r["ttl"] == 60),
        "{listed:?}"
    );

    // The same name, type and data again: 409, whatever the TTL.
    let again =
        json!({ "name": "_dmarc.lists.example.test", "type": "txt", "data": "v=DMARC1; p=none", "ttl": 5 });
    let reply = admin(&m, "POST", "/api/v1/records", Some(&again), 409);
    assert_eq!(error_code(&reply), "conflict", "{reply}");
    // Outside the zone, bad data, an unknown type, an unknown field: 422.
    for bad in [
        json!({ "name": "www.example.org.", "type": "TXT", "data": "x" }),
        json!({ "name": "www", "type": "A", "data": "not-an-address" }),
        json!({ "name": "www", "type": "BOGUS", "data": "x" }),
        json!({ "name": "www", "type": "TXT", "data": "x", "colour": "red" }),
    ] {
        let reply = admin(&m, "POST", "/api/v1/records", Some(&bad), 422);
        assert!(!error_message(&reply).is_empty(), "{bad}: {reply}");
    }
    let reply = admin(
        &m,
        "POST",
        "/api/v1/records",
        Some(&json!({ "name": "www.example.org.", "type": "TXT", "data": "x" })),
        422,
    );
    assert!(error_message(&reply).contains("outside the zone"), "{reply}");

    // Every change is an event with its actor: the admin token's name.
    let log = events(&m);
    let adds = event(&log, "record-add");
    assert_eq!(adds.len(), 2, "{log:?}");
    assert!(adds.iter().all(|e| e["actor"] == "ops"), "{adds:?}");
    assert!(
        adds[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("_dmarc.lists.example.test.")),
        "{adds:?}"
    );

    // Kept in the store: a restart keeps them.
    m.restart(false);
    assert_eq!(read(&m, "/api/v1/records").as_array().map(Vec::len), Some(2));

    // Removing: nothing there is 404; name+type[+data] in the query or the body.
    let reply = admin(&m, "DELETE", "/api/v1/records?name=nothing&type=TXT", None, 404);
    assert_eq!(error_code(&reply), "not_found", "{reply}");
    let reply = admin(&m, "DELETE", "/api/v1/records?name=_dmarc", None, 400);
    assert!(error_message(&reply).contains("type"), "{reply}");
    let removed = admin(
        &m,
        "DELETE",
        "/api/v1/records",
        Some(&json!({ "name": "@", "type": "MX", "data": "20 ms2" })),
        200,
    );
    assert_eq!(
        removed["removed"][0]["data"], "20 ms2.lists.example.test.",
        "{removed}"
    );
    let removed = admin(&m, "DELETE", "/api/v1/records?name=_dmarc&type=TXT", None, 200);
    assert_eq!(removed["removed"].as_array().map(Vec::len), Some(1), "{removed}");
    assert_eq!(read(&m, "/api/v1/records"), json!([]));
    let log = events(&m);
    let removes = event(&log, "record-remove");
    assert_eq!(removes.len(), 2, "{log:?}");
    assert!(removes.iter().all(|e| e["actor"] == "ops"), "{removes:?}");

    // The OpenAPI document describes the new paths.
    let doc = read(&m, "/api/v1/openapi.json");
    for path in ["/api/v1/records", "/api/v1/aliases", "/api/v1/aliases/{name}"] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
}

#[test]
fn aliases_move_between_hosts_and_are_flagged_when_their_host_is_out() {
    let m = start();
    let to = |host: &str| json!({ "host": host });
    admin_only(&m, "PUT", "/api/v1/aliases/john.pop", Some(&to("ms1")));
    admin_only(&m, "DELETE", "/api/v1/aliases/john.pop", None);

    let set = admin(&m, "PUT", "/api/v1/aliases/john.pop", Some(&to("ms1")), 201);
    assert_eq!(
        set,
        json!({ "name": "john.pop.lists.example.test.", "host": "ms1", "source": "api", "flag": null })
    );
    // The same again changes nothing; a move answers 200.
    admin(&m, "PUT", "/api/v1/aliases/john.pop", Some(&to("ms1")), 200);
    let moved = admin(
        &m,
        "PUT",
        "/api/v1/aliases/john.pop.lists.example.test.",
        Some(&to("ms2")),
        200,
    );
    assert_eq!(moved["host"], "ms2");
    let log = events(&m);
    let sets = event(&log, "alias-set");
    assert_eq!(sets.len(), 2, "one event per change: {log:?}");
    assert_eq!(
        (sets[1]["host"].as_str(), sets[1]["actor"].as_str()),
        (Some("ms2"), Some("ops"))
    );
    assert!(
        sets[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("from ms1 to ms2")),
        "{sets:?}"
    );
    // A host the farm lacks, the apex: 422 with the reason.
    let reply = admin(&m, "PUT", "/api/v1/aliases/jane.pop", Some(&to("nobody")), 422);
    assert!(error_message(&reply).contains("nobody"), "{reply}");
    admin(&m, "PUT", "/api/v1/aliases/@", Some(&to("ms1")), 422);

    // The host shows its aliases; cordoned, the alias stays and is flagged.
    let host = read(&m, "/api/v1/hosts/ms2");
    assert_eq!(host["aliases"], json!(["john.pop.lists.example.test."]), "{host}");
    admin(&m, "POST", "/api/v1/hosts/ms2/cordon", None, 200);
    let aliases = read(&m, "/api/v1/aliases");
    assert_eq!(aliases[0]["host"], "ms2");
    assert_eq!(aliases[0]["flag"], "cordoned", "{aliases}");
    let (status, page) = http_get(m.api, &format!("/?token={READ}"));
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="aliases""#), "the status page lists aliases");
    assert!(page.contains("john.pop.lists.example.test"), "{page}");
    assert!(page.contains("host cordoned"), "flagged on the status page");

    admin(&m, "DELETE", "/api/v1/aliases/john.pop", None, 204);
    let reply = admin(&m, "DELETE", "/api/v1/aliases/john.pop", None, 404);
    assert_eq!(error_code(&reply), "not_found", "{reply}");
    assert_eq!(read(&m, "/api/v1/aliases"), json!([]));
    let log = events(&m);
    let removed = event(&log, "alias-remove");
    assert_eq!(removed.len(), 1, "{log:?}");
    assert_eq!(
        (removed[0]["host"].as_str(), removed[0]["actor"].as_str()),
        (Some("ms2"), Some("ops"))
    );
}

/// The policy's own records and aliases, listed with their source and
/// removed only in the policy; and what the checks refuse (422, with the
/// reason) beyond names outside the zone.
#[test]
fn the_policy_keeps_its_own_and_the_checks_refuse_what_the_zone_cannot_hold() {
    let policy = format!(
        "{POLICY}records:\n  - {{ name: _dmarc, type: TXT, data: \"v=DMARC1; p=none\" }}\naliases:\n  jane.pop: ms1\n"
    );
    let m = Muster::start_with(
        &policy,
        &[
            "--admin-token",
            &format!("ops={ADMIN}"),
            "--read-token",
            &format!("watcher={READ}"),
        ],
    );
    let records = read(&m, "/api/v1/records");
    assert_eq!(records[0]["source"], "policy", "{records}");
    let reply = admin(&m, "DELETE", "/api/v1/records?name=_dmarc&type=TXT", None, 409);
    assert!(error_message(&reply).contains("edit the policy"), "{reply}");
    let aliases = read(&m, "/api/v1/aliases");
    assert_eq!(
        (aliases[0]["host"].as_str(), aliases[0]["source"].as_str()),
        (Some("ms1"), Some("policy"))
    );
    admin(&m, "DELETE", "/api/v1/aliases/jane.pop", None, 409);
    // The policy's alias moves through the API.
    let moved = admin(
        &m,
        "PUT",
        "/api/v1/aliases/jane.pop",
        Some(&json!({ "host": "ms2" })),
        200,
    );
    assert_eq!(moved["source"], "api");

    let reply = admin(
        &m,
        "POST",
        "/api/v1/records",
        Some(&json!({ "name": "@", "type": "CNAME", "data": "ms1" })),
        422,
    );
    assert!(error_message(&reply).to_lowercase().contains("apex"), "{reply}");
    // Beside a name muster publishes (a host's own name).
    admin(
        &m,
        "POST",
        "/api/v1/records",
        Some(&json!({ "name": "ms1", "type": "CNAME", "data": "ms2" })),
        422,
    );
    // An alias where a record already is.
    admin(
        &m,
        "POST",
        "/api/v1/records",
        Some(&json!({ "name": "imap", "type": "TXT", "data": "x" })),
        201,
    );
    admin(
        &m,
        "PUT",
        "/api/v1/aliases/imap",
        Some(&json!({ "host": "ms1" })),
        422,
    );
}

/// What DNS answers for records and aliases written through the API: the
/// zone builder publishes `farm.records` and `farm.aliases`.
#[test]
fn dns_serves_api_records_and_aliases() {
    let m = start();
    let key = format!("v=DKIM1; k=rsa; p={}", "A".repeat(380));
    admin(
        &m,
        "POST",
        "/api/v1/records",
        Some(&json!({ "name": "mail._domainkey", "type": "TXT", "data": key })),
        201,
    );
    let answer = eventually(Duration::from_secs(5), "the DKIM TXT in DNS", || {
        let data = txt(&m, "mail._domainkey.lists.example.test");
        (!data.is_empty()).then_some(data)
    });
    // Split into character-strings of at most 255 bytes, joined back.
    assert_eq!(answer.len(), 1, "{answer:?}");
    let joined: String = answer[0].split("\" \"").map(|s| s.trim_matches('"')).collect();
    assert_eq!(joined, key);

    admin(
        &m,
        "PUT",
        "/api/v1/aliases/john.pop",
        Some(&json!({ "host": "ms1" })),
        201,
    );
    let cname = |m: &Muster| dig(m.dns, &["john.pop.lists.example.test", "CNAME"]).answer_data("CNAME");
    eventually(Duration::from_secs(5), "the alias as a CNAME", || {
        (cname(&m) == ["ms1.lists.example.test."]).then_some(())
    });
    admin(
        &m,
        "PUT",
        "/api/v1/aliases/john.pop",
        Some(&json!({ "host": "ms2" })),
        200,
    );
    eventually(Duration::from_secs(5), "the alias moved", || {
        (cname(&m) == ["ms2.lists.example.test."]).then_some(())
    });
    admin(
        &m,
        "DELETE",
        "/api/v1/records?name=mail._domainkey&type=TXT",
        None,
        200,
    );
    eventually(Duration::from_secs(5), "the TXT gone", || {
        txt(&m, "mail._domainkey.lists.example.test")
            .is_empty()
            .then_some(())
    });
}

// ---- the CLI ----

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// `muster ARGS… --api URL --token T`, none of the caller's `MUSTER_*`.
fn muster(m: &Muster, token: &str, args: &[&str]) -> Run {
    let api = format!("http://{}", m.api);
    let output = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(args)
        .args(["--api", &api, "--token", token])
        .env_remove("MUSTER_API")
        .env_remove("MUSTER_TOKEN")
        .env_remove("MUSTER_CA_FILE")
        .env("MUSTER_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("run muster");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl Run {
    fn ok(self) -> String {
        assert_eq!(
            self.code,
            Some(0),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self.stdout
    }

    fn json(self) -> Value {
        let out = self.ok();
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// Asserts exit status `code`; returns stderr.
    fn fails(self, code: i32) -> String {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self.stderr
    }
}

#[test]
fn record_and_alias_commands() {
    let m = start();
    // record add: words of DATA joined; the server's answer as a zone line.
    let out = muster(&m, ADMIN, &["record", "add", "_dmarc", "TXT", "v=DMARC1; p=none"]).ok();
    assert_eq!(
        out,
        "added _dmarc.lists.example.test. 1 TXT \"v=DMARC1; p=none\"\n"
    );
    let out = muster(
        &m,
        ADMIN,
        &["record", "add", "@", "MX", "20", "ms2", "--ttl", "60"],
    )
    .ok();
    assert_eq!(
        out,
        "added lists.example.test. 60 MX 20 ms2.lists.example.test.\n"
    );
    let added = muster(
        &m,
        ADMIN,
        &["record", "add", "_spf-test", "TXT", "v=spf1 -all", "--json"],
    )
    .json();
    assert_eq!(added["source"], "api");
    // Refusals: exit 1 with the server's message.
    let err = muster(&m, ADMIN, &["record", "add", "_dmarc", "TXT", "v=DMARC1; p=none"]).fails(1);
    assert!(err.contains("exists already") && err.contains("409"), "{err}");
    let err = muster(&m, ADMIN, &["record", "add", "x.example.org.", "TXT", "x"]).fails(1);
    assert!(err.contains("422"), "{err}");
    let err = muster(&m, READ, &["record", "add", "x", "TXT", "x"]).fails(1);
    assert!(err.contains("403"), "{err}");

    // record ls: a table with each record's source.
    let table = muster(&m, READ, &["record", "ls"]).ok();
    let header = table.lines().next().expect("a header");
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "TTL", "TYPE", "SOURCE", "DATA"]
    );
    let mx = table
        .lines()
        .find(|l| l.contains(" MX "))
        .unwrap_or_else(|| panic!("no MX row:\n{table}"));
    assert!(
        mx.starts_with("lists.example.test.") && mx.contains("api"),
        "{table}"
    );
    assert_eq!(
        muster(&m, READ, &["record", "ls", "--json"])
            .json()
            .as_array()
            .map(Vec::len),
        Some(3)
    );

    // record rm: one record by its data, every one of a type, nothing (exit 1).
    let out = muster(&m, ADMIN, &["record", "rm", "@", "MX", "20", "ms2"]).ok();
    assert_eq!(
        out,
        "removed lists.example.test. 60 MX 20 ms2.lists.example.test.\n"
    );
    let out = muster(&m, ADMIN, &["record", "rm", "_dmarc", "TXT"]).ok();
    assert!(out.starts_with("removed _dmarc.lists.example.test."), "{out}");
    let err = muster(&m, ADMIN, &["record", "rm", "_dmarc", "TXT"]).fails(1);
    assert!(err.contains("404"), "{err}");

    // alias set / ls / rm; hosts show the aliases that follow them.
    let out = muster(&m, ADMIN, &["alias", "set", "john.pop", "ms1"]).ok();
    assert_eq!(out, "john.pop.lists.example.test -> ms1\n");
    let out = muster(&m, ADMIN, &["alias", "set", "john.pop", "ms2"]).ok();
    assert_eq!(out, "john.pop.lists.example.test -> ms2\n");
    let err = muster(&m, ADMIN, &["alias", "set", "jane.pop", "nobody"]).fails(1);
    assert!(err.contains("422") && err.contains("nobody"), "{err}");
    let hosts = muster(&m, READ, &["hosts"]).ok();
    let ms2 = hosts
        .lines()
        .find(|l| l.starts_with("ms2 "))
        .unwrap_or_else(|| panic!("no ms2 row:\n{hosts}"));
    assert!(ms2.contains("aliases: john.pop.lists.example.test"), "{hosts}");
    muster(&m, ADMIN, &["cordon", "ms2"]).ok();
    let hosts = muster(&m, READ, &["hosts"]).ok();
    assert!(
        hosts.contains("aliases still pointing at this cordoned host: john.pop.lists.example.test"),
        "{hosts}"
    );
    let detail = muster(&m, READ, &["hosts", "ms2"]).ok();
    assert!(detail.contains("still pointing here"), "{detail}");
    let out = muster(&m, ADMIN, &["alias", "set", "john.pop", "ms2"]).ok();
    assert!(out.contains("host cordoned"), "{out}");
    let table = muster(&m, READ, &["alias", "ls"]).ok();
    let row = table
        .lines()
        .find(|l| l.starts_with("john.pop"))
        .unwrap_or_else(|| panic!("no alias row:\n{table}"));
    assert!(row.contains("ms2") && row.contains("host cordoned"), "{table}");
    assert_eq!(
        muster(&m, READ, &["alias", "ls", "--json"]).json()[0]["flag"],
        "cordoned"
    );
    let out = muster(&m, ADMIN, &["alias", "rm", "john.pop"]).ok();
    assert_eq!(out, "john.pop: alias removed\n");
    let err = muster(&m, ADMIN, &["alias", "rm", "john.pop"]).fails(1);
    assert!(err.contains("404"), "{err}");
    assert_eq!(muster(&m, READ, &["alias", "ls"]).ok(), "no aliases\n");
    // An unreachable API: exit 3.
    let gone = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["alias", "ls", "--api", "http://127.0.0.1:9"])
        .env_remove("MUSTER_TOKEN")
        .output()
        .expect("run muster");
    assert_eq!(gone.status.code(), Some(3));
}
