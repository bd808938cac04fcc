//! `muster check`: the real binary on good and bad policies.

mod support;

use std::process::Command;

fn check(args: &[&std::path::Path]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_muster"))
        .arg("check")
        .args(args)
        .output()
        .expect("run muster check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_shipped_policy_checks_clean() {
    let dir = support::repo_path("policies");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("policies/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    let paths: Vec<&std::path::Path> = files.iter().map(|p| p.as_path()).collect();
    let (ok, stdout, stderr) = check(&paths);
    assert!(ok, "{stderr}");
    // Not --strict: the open-enrolment examples list fewer hosts than their
    // mins on purpose. But no shipped policy may let a name vanish when a
    // pool is empty.
    assert!(!stderr.contains("NXDOMAIN"), "{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.contains(": ok")).count(),
        files.len(),
        "{stdout}"
    );
}

#[test]
fn a_bad_policy_names_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "zone: lists.example.test\nroles:\n  smtp-out:\n    records:\n      - { name: smtp-out, type: MX, prority: 5 }\n",
    )
    .expect("write");
    let (ok, _, stderr) = check(&[&path]);
    assert!(!ok);
    let expected = format!("{}:5:", path.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("prority"), "{stderr}");
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const ONE_OF_EACH: &str = "zone: lists.example.test
roles:
  web: { min: 1, records: [ { name: www, type: A } ] }
schedules:
  - { name: s, cron: \"0 6 * * *\", for: 1h, want: { web: 1 } }
autoscale:
  - { role: web, metric: load1, target_per_host: 2 }
hosts:
  - { name: a, address: 127.0.0.1 }
";

#[test]
fn the_summary_counts_in_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "one.yaml", ONE_OF_EACH);
    let (ok, stdout, stderr) = check(&[&path]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains(": ok (zone lists.example.test., 1 role, 1 host, 1 schedule, 1 load rule)"),
        "{stdout}"
    );
}

#[test]
fn strict_fails_with_a_failing_summary() {
    let dir = tempfile::tempdir().expect("tempdir");
    // bounce may be empty and nothing else keeps bounces.<zone>: a warning.
    let text = format!(
        "{ONE_OF_EACH}  - {{ name: fb, address: 127.0.0.9, static: true }}\nspf: {{ roles: [bounce] }}\n"
    )
    .replace(
        "roles:\n",
        "roles:\n  bounce: { records: [ { name: bounces, type: MX, priority: 10 } ] }\n",
    );
    let path = write(&dir, "warns.yaml", &text);
    let (ok, stdout, stderr) = check(&[&path]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(", 1 warning)"), "{stdout}");
    let expected = format!(
        "{}:3:3: warning: role \"bounce\" has min 0 and no fallback at bounces.lists.example.test.",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");

    let out = Command::new(env!("CARGO_BIN_EXE_muster"))
        .args(["check", "--strict"])
        .arg(&path)
        .output()
        .expect("run muster check --strict");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("ok"), "{stdout}");
    let summary = format!(
        "{}: failed (1 warning; --strict makes it an error)",
        path.display()
    );
    assert!(stderr.contains(&summary), "{stderr}");
}

#[test]
fn every_problem_of_a_file_in_one_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        "many.yaml",
        "zone: lists.example.test
roles:
  web: { min: 1, recrods: [] }
default_want: { wbe: 1 }
schedules:
  - { name: s, cron: \"0 25 * * *\", for: 1h, want: { web: 1 } }
",
    );
    let (ok, _, stderr) = check(&[&path]);
    assert!(!ok);
    let file = path.display();
    for expected in [
        format!("{file}:3:18: unknown key \"recrods\" in role \"web\""),
        format!("{file}:4:22: default_want wants role \"wbe\""),
        format!("{file}:6:22: cron: hour field \"25\""),
        format!("{file}: failed (3 problems)"),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} not in:\n{stderr}");
    }
}

#[test]
fn yaml_syntax_errors_have_file_line_column_and_a_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "tabs.yaml", "zone: x.test\nroles:\n\tweb: {}\n");
    let (ok, _, stderr) = check(&[&path]);
    assert!(!ok);
    let expected = format!("{}:3:1: ", path.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains("tabs are not allowed for indentation"),
        "{stderr}"
    );
}

/// A list domain's whole zone: records, an SPF, reverse zones and aliases.
const LIST_DOMAIN: &str = "zone: lists.example.test
roles:
  smtp-out: { min: 1, publish_max: 3, records: [ { name: smtp-out, type: MX, priority: 5 } ] }
  smtp-in: { records: [ { name: \"@\", type: MX, priority: 10 } ] }
hosts:
  - { name: smurf1, address: 127.0.10.1, roles: [smtp-out, smtp-in] }
  - { name: ms1, address: 127.0.10.2, static: true }
records:
  - { name: _dmarc, type: TXT, data: \"v=DMARC1; p=quarantine\" }
  - { name: imap, type: CNAME, target: ms1 }
  - { name: \"@\", type: CAA, data: '0 issue \"letsencrypt.org\"' }
spf: { roles: [smtp-out] }
reverse: [127.0.10.0/24]
aliases: { john.pop: ms1 }
";

#[test]
fn a_list_domain_with_records_spf_reverse_and_aliases_checks_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(&dir, "domain.yaml", LIST_DOMAIN);
    let (ok, stdout, stderr) = check(&[&path]);
    assert!(ok, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        stdout.contains(": ok (zone lists.example.test., 2 roles, 2 hosts"),
        "{stdout}"
    );
}

#[test]
fn name_rules_are_refused_at_their_positions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = LIST_DOMAIN
        .replace(
            "  - { name: imap, type: CNAME, target: ms1 }\n",
            "  - { name: imap, type: CNAME, target: ms1 }\n  \
             - { name: smtp-out, type: CNAME, target: ms1 }\n  \
             - { name: mx2, type: MX, priority: 10, target: imap }\n  \
             - { name: bad, type: A, address: 300.0.0.1 }\n",
        )
        .replace(
            "reverse: [127.0.10.0/24]",
            "reverse: [127.0.10.0/24, 127.0.10.64/26]",
        )
        .replace(
            "aliases: { john.pop: ms1 }",
            "aliases: { john.pop: ms1, \"@\": ms1 }",
        );
    let path = write(&dir, "clash.yaml", &text);
    let (ok, _, stderr) = check(&[&path]);
    assert!(!ok, "{stderr}");
    let file = path.display();
    for expected in [
        format!(
            "{file}:11:13: the CNAME record (records[2]) is a CNAME at smtp-out.lists.example.test., and muster also publishes role \"smtp-out\"'s MX records there (published whenever the pool has members, so even while it is empty)"
        ),
        format!(
            "{file}:12:5: the MX record (records[3]) points at imap.lists.example.test., which is a CNAME"
        ),
        format!("{file}:13:36: address: \"300.0.0.1\" is not an IPv4 address"),
        format!("{file}:16:26: 127.0.10.64/26 (zone 64-26.10.0.127.in-addr.arpa.) overlaps 127.0.10.0/24"),
        format!("{file}:17:27: alias \"@\" is the zone apex"),
        format!("{file}: failed (5 problems)"),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} not in:\n{stderr}");
    }
}

#[test]
fn warnings_for_a_missing_spf_and_addresses_outside_the_reverse_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = LIST_DOMAIN
        .replace("spf: { roles: [smtp-out] }\n", "")
        .replace("address: 127.0.10.2,", "address: 127.0.11.2,");
    let path = write(&dir, "warns.yaml", &text);
    let (ok, stdout, stderr) = check(&[&path]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(", 2 warnings)"), "{stdout}");
    let file = path.display();
    for expected in [
        format!("{file}:4:25: warning: role \"smtp-in\" publishes MX but the policy has no spf:"),
        format!(
            "{file}:7:5: warning: host \"ms1\" has address 127.0.11.2, which lies in no block under reverse:"
        ),
    ] {
        assert!(stderr.contains(&expected), "{expected:?} not in:\n{stderr}");
    }
}

#[test]
fn an_spf_that_cannot_fit_is_refused_saying_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 300 sending hosts whose addresses merge into no larger block: 11
    // parts of 450 bytes, more than the 10 DNS lookups an SPF check may make.
    let mut text = String::from(
        "zone: lists.example.test\nroles: { smtp-out: { records: [ { name: smtp-out, type: MX, priority: 5 } ] } }\n\
         spf: { roles: [smtp-out], include: [_spf.example.net] }\nhosts:\n",
    );
    for i in 0..300 {
        text.push_str(&format!(
            "  - {{ name: h{i}, address: 127.{}.{}.1 }}\n",
            1 + i / 200,
            i % 200
        ));
    }
    let path = write(&dir, "spf.yaml", &text);
    let (ok, _, stderr) = check(&[&path]);
    assert!(!ok, "{stderr}");
    let expected = format!(
        "{}:3:6: with the inventory's hosts that may hold smtp-out: the SPF would need 11 parts",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(
        stderr.contains("more than the 10 an SPF check may make (RFC 7208 §4.6.4)"),
        "{stderr}"
    );
    // The same hosts on consecutive addresses merge into a few ip4: blocks.
    let mut fits: String = text.lines().take(4).map(|line| format!("{line}\n")).collect();
    for i in 0..300 {
        fits.push_str(&format!(
            "  - {{ name: h{i}, address: 127.60.{}.{} }}\n",
            i / 256,
            i % 256
        ));
    }
    let path = write(&dir, "fits.yaml", &fits);
    let (ok, _, stderr) = check(&[&path]);
    assert!(ok, "{stderr}");
}

#[test]
fn a_secondary_in_a_documentation_range_is_warned_of_at_its_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        &dir,
        "docs.yaml",
        "zone: lists.example.test\n\
         nameservers: [ns1.example.net.]\n\
         secondaries: [\"127.0.0.12\", \"192.0.2.53\", \"[2001:db8::53]:53\"]\n\
         roles: { web: { records: [ { name: www, type: A } ] } }\n",
    );
    let (ok, stdout, stderr) = check(&[&path]);
    assert!(ok, "{stderr}");
    let file = path.display();
    for expected in [
        format!(
            "{file}:3:29: warning: secondary 192.0.2.53:53 is in 192.0.2.0/24 (RFC 5737), a range for documentation only"
        ),
        format!("{file}:3:43: warning: secondary [2001:db8::53]:53 is in 2001:db8::/32 (RFC 3849)"),
    ] {
        assert!(
            stderr.contains(&expected),
            "{expected:?} not in:\n{stderr}\n{stdout}"
        );
    }
    assert!(!stderr.contains("127.0.0.12"), "{stderr}");
}
