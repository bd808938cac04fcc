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
