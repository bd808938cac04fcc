//! `tsig:` keys and keyed secondaries: what a valid text turns into, and
//! every way a key can be wrong, each at its line and column. No message
//! and no `Debug` output shows a secret.

use std::path::Path;

use muster_dns::tsig::TsigAlgorithm;

use super::{check, load, text, with_head};
use crate::policy::load_str;

/// Writes a secret file only its owner may read, as a site would.
fn write_secret(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

const SECRET_B64: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A folder with secret files: `good` (tsig-keygen output), `bare` (base64
/// alone), `empty`, `garbage`.
fn secrets() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| write_secret(&dir.path().join(name), text);
    write(
        "good",
        &format!("key \"xfr-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{SECRET_B64}\";\n}};\n"),
    );
    write("bare", &format!("{SECRET_B64}\n"));
    write("empty", "\n");
    write("garbage", "this is not base64!\n");
    dir
}

#[test]
fn keys_and_keyed_secondaries_forward_and_reverse() {
    let dir = secrets();
    std::fs::write(
        dir.path().join("long"),
        "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZg==",
    )
    .expect("write");
    let d = dir.path().display();
    let policy = load(&with_head(&[
        "tsig:",
        &format!("  - {{ name: xfr-key, secret_file: {d}/good }}"),
        &format!("  - {{ name: Rev-Key, algorithm: hmac-sha512, secret_file: {d}/long }}"),
        "secondaries:",
        "  - 127.0.0.53",
        "  - { address: 127.0.0.12, key: xfr-key }",
        "reverse:",
        "  - { block: 127.0.10.0/24, secondaries: [ { address: 127.0.0.13, key: rev-key } ] }",
    ]));
    assert!(policy.secondaries[0].key.is_none());
    let key = policy.secondaries[1].key.as_ref().expect("keyed");
    assert_eq!(key.name().to_ascii(), "xfr-key.");
    assert_eq!(key.algorithm(), TsigAlgorithm::HmacSha256);
    let rev = policy.reverse[0].secondaries[0].key.as_ref().expect("keyed");
    assert_eq!(
        (rev.name().to_ascii().as_str(), rev.algorithm()),
        ("rev-key.", TsigAlgorithm::HmacSha512)
    );
    let tsig_warnings: Vec<_> = policy
        .warnings
        .iter()
        .filter(|w| w.message.contains("TSIG"))
        .collect();
    assert!(tsig_warnings.is_empty(), "{tsig_warnings:?}");

    let shown = format!("{policy:?}");
    assert!(
        !shown.contains(SECRET_B64) && !shown.contains("48, 49, 50"),
        "{shown}"
    );
}

#[test]
fn every_way_a_key_can_be_wrong_is_reported_where_it_is() {
    let dir = secrets();
    let d = dir.path().display();
    check(
        &with_head(&[
            "tsig:",
            &format!("  - {{ name: a, secret_file: {d}/missing }}"),
            &format!("  - {{ name: b, secret_file: {d}/empty }}"),
            &format!("  - {{ name: c, secret_file: {d}/garbage }}"),
            "  - { name: d, secret_env: MUSTER_TEST_NO_SUCH_VARIABLE }",
            &format!("  - {{ name: e, algorithm: hmac-md5, secret_file: {d}/bare }}"),
            "  - { name: f }",
            &format!("  - {{ name: g, secret_file: {d}/bare, secret_env: X }}"),
            &format!("  - {{ name: h, secret_file: {d}/bare }}"),
            &format!("  - {{ name: H, secret_file: {d}/bare }}"),
            "secondaries:",
            "  - { address: 127.0.0.12, key: xfr-key }",
            "  - { address: 127.0.0.12, key: h }",
            "reverse:",
            "  - { block: 127.0.10.0/24, secondaries: [ { address: 127.0.0.13, key: nope } ] }",
        ]),
        &[
            "4:29 cannot read the secret file",
            "5:29 holds no secret",
            "6:29 does not hold a base64 secret",
            "7:28 the environment variable MUSTER_TEST_NO_SUCH_VARIABLE is not set",
            "8:27 algorithm: \"hmac-md5\" is not a TSIG algorithm muster supports",
            "9:5 this TSIG key has no secret",
            "10:63 give the secret once",
            "12:13 TSIG key h is defined twice",
            "14:33 key \"xfr-key\" is not defined under tsig: (defined: e, h)",
            "15:5 secondary 127.0.0.12:53 is listed twice",
            "17:72 key \"nope\" is not defined",
        ],
    );
}

#[test]
fn a_bad_secret_is_never_quoted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret_text = "SuperSecretButNotBase64!!";
    std::fs::write(dir.path().join("k"), secret_text).expect("write");
    let lines = with_head(&[
        "tsig:",
        &format!("  - {{ name: k, secret_file: {}/k }}", dir.path().display()),
        "secondaries: [ { address: 127.0.0.12, key: k } ]",
    ]);
    let err = load_str(Path::new("t.yaml"), &text(&lines)).expect_err("rejected");
    assert!(!err.to_string().contains(secret_text), "{err}");
}

#[test]
fn a_short_secret_an_open_secret_file_and_an_unused_key_are_warnings() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_secret(&dir.path().join("short"), "c2hvcnQ=");
    std::fs::write(dir.path().join("open"), "c2hvcnQ=").expect("write");
    let d = dir.path().display();
    let policy = load(&with_head(&[
        "tsig:",
        &format!("  - {{ name: short, secret_file: {d}/short }}"),
        &format!("  - {{ name: spare, secret_file: {d}/open }}"),
        "secondaries: [ { address: 127.0.0.12, key: short } ]",
    ]));
    let warnings: Vec<String> = policy
        .warnings
        .iter()
        .filter(|w| w.message.contains("TSIG"))
        .map(|w| format!("{}:{} {}", w.line, w.column, w.message))
        .collect();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].starts_with("4:13 TSIG key short has a 5-byte secret; hmac-sha256 wants at least 32"),
        "{warnings:?}"
    );
    assert!(
        warnings[2].starts_with("5:13 TSIG key spare is not used"),
        "{warnings:?}"
    );
}
