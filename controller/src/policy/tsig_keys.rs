//! `tsig:`: the TSIG keys secondaries hold, by name. A secret is read from
//! a file (`secret_file:`, relative to the policy's folder) or the
//! environment (`secret_env:`), in base64 — alone, or inside what
//! `tsig-keygen` or `keymgr -t` print — and never from the policy itself.
//! No message here quotes a secret, not even a wrong one.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hickory_proto::rr::Name;
use muster_dns::tsig::{TsigAlgorithm, TsigKey, TsigSecret};

use super::locate::YamlPath;
use super::raw::{RawTsigKey, Text};
use super::validate::Checker;

/// Reads every key; the ones with a problem are reported and left out.
pub(super) fn keys(c: &mut Checker, raw: &[RawTsigKey], policy_file: &Path) -> Vec<Arc<TsigKey>> {
    let at = YamlPath::root().key("tsig");
    let folder = policy_file.parent().unwrap_or(Path::new("."));
    let mut keys: Vec<Arc<TsigKey>> = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let entry_at = at.index(i);
        let Some(name) = c.value(&entry_at.key("name"), key_name(&entry.name)) else {
            continue;
        };
        if keys.iter().any(|k| k.name() == &name) {
            c.report(
                &entry_at.key("name"),
                format!("TSIG key {} is defined twice; keep one", short(&name)),
            );
            continue;
        }
        let algorithm = c
            .field(&entry_at, "algorithm", entry.algorithm.as_ref(), algorithm)
            .unwrap_or(TsigAlgorithm::HmacSha256);
        let Some(secret) = secret(c, &entry_at, entry, folder) else {
            continue;
        };
        if secret.len() < algorithm.mac_len() {
            c.warn(
                &entry_at.key("name"),
                format!(
                    "TSIG key {} has a {}-byte secret; {alg} wants at least {} random bytes \
                     (tsig-keygen -a {alg} NAME or keymgr -t NAME {alg} make one)",
                    short(&name),
                    secret.len(),
                    algorithm.mac_len(),
                    alg = algorithm.name(),
                ),
            );
        }
        keys.push(Arc::new(TsigKey::new(&name, algorithm, TsigSecret::new(secret))));
    }
    keys
}

/// The key `text` names, or a message listing the keys defined.
pub(super) fn find(keys: &[Arc<TsigKey>], text: &str) -> Result<Arc<TsigKey>, String> {
    let wanted = key_name(&Text(text.to_owned()))?;
    keys.iter().find(|k| k.name() == &wanted).cloned().ok_or_else(|| {
        let defined: Vec<String> = keys.iter().map(|k| short(k.name())).collect();
        let defined = if defined.is_empty() {
            "none".to_owned()
        } else {
            defined.join(", ")
        };
        format!(
            "key \"{}\" is not defined under tsig: (defined: {defined}); add it there with its \
             algorithm and secret_file or secret_env",
            text.trim()
        )
    })
}

/// A key's name as written in configuration files (no final dot).
pub(super) fn short(name: &Name) -> String {
    name.to_ascii().trim_end_matches('.').to_owned()
}

fn key_name(text: &Text) -> Result<Name, String> {
    let t = text.as_str().trim();
    let usage = || format!("\"{t}\" is not a usable key name; write a domain-name-like word, like xfr-key");
    if t.is_empty() {
        return Err(usage());
    }
    let mut name = Name::from_ascii(t).map_err(|_| usage())?;
    name.set_fqdn(true);
    Ok(name.to_lowercase())
}

fn algorithm(text: &str) -> Result<TsigAlgorithm, String> {
    TsigAlgorithm::from_name(text).ok_or_else(|| {
        format!(
            "\"{}\" is not a TSIG algorithm muster supports; write hmac-sha256 or hmac-sha512",
            text.trim()
        )
    })
}

/// The secret's bytes, from exactly one of `secret_file:` and `secret_env:`.
fn secret(c: &mut Checker, at: &YamlPath, entry: &RawTsigKey, folder: &Path) -> Option<Vec<u8>> {
    match (&entry.secret_file, &entry.secret_env) {
        (Some(file), None) => {
            let path = folder.join(file.as_str().trim());
            let secret = c.value(&at.key("secret_file"), read_secret_file(&path))?;
            if let Some(mode) = readable_by_others(&path) {
                c.warn(
                    &at.key("secret_file"),
                    format!(
                        "the secret file {} can be read by other users (mode {mode:o}); chmod 600 it",
                        path.display()
                    ),
                );
            }
            Some(secret)
        }
        (None, Some(var)) => c.value(&at.key("secret_env"), read_secret_env(var.as_str().trim())),
        (Some(_), Some(_)) => {
            c.report(
                &at.key("secret_env"),
                "give the secret once: secret_file or secret_env, not both",
            );
            None
        }
        (None, None) => {
            c.report(
                at,
                "this TSIG key has no secret; add secret_file: PATH (a file holding the base64 secret, \
                 or what tsig-keygen or keymgr -t print) or secret_env: VARIABLE",
            );
            None
        }
    }
}

fn read_secret_file(path: &Path) -> Result<Vec<u8>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the secret file {}: {e}; create it (tsig-keygen NAME > FILE) and let muster read it",
            path.display()
        )
    })?;
    decode(&text).map_err(|why| format!("the secret file {} {why}", path.display()))
}

/// The file's permission bits when its group or others may read it.
fn readable_by_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o044 != 0).then_some(mode)
}

fn read_secret_env(var: &str) -> Result<Vec<u8>, String> {
    let text = std::env::var(var).map_err(|_| {
        format!("the environment variable {var} is not set; set it to the key's base64 secret")
    })?;
    decode(&text).map_err(|why| format!("the environment variable {var} {why}"))
}

/// The secret in `text`: a bare base64 string, or the `secret` line of a
/// BIND `key` clause (tsig-keygen) or of a Knot `key:` section (keymgr -t).
fn decode(text: &str) -> Result<Vec<u8>, &'static str> {
    let encoded = text
        .lines()
        .find_map(|line| {
            let rest = line.trim().strip_prefix("secret")?;
            let rest = rest.trim_start_matches([' ', '\t', ':']);
            Some(rest.trim().trim_end_matches(';').trim().trim_matches('"').trim())
        })
        .unwrap_or_else(|| text.trim());
    if encoded.is_empty() {
        return Err("holds no secret; put the key's base64 secret there");
    }
    match STANDARD.decode(encoded) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        _ => Err("does not hold a base64 secret (like tsig-keygen or keymgr -t print)"),
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn a_secret_is_read_bare_or_from_tsig_keygen_or_keymgr_output() {
        let want = b"0123456789abcdef0123456789abcdef".to_vec();
        let b64 = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        assert_eq!(decode(&format!("{b64}\n")), Ok(want.clone()));
        let bind = format!("key \"xfr-key\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{b64}\";\n}};\n");
        assert_eq!(decode(&bind), Ok(want.clone()));
        let knot = format!(
            "# hmac-sha256:xfr-key:{b64}\nkey:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: {b64}\n"
        );
        assert_eq!(decode(&knot), Ok(want));
        assert!(decode("  \n").is_err());
        assert!(decode("not base64 at all!").is_err());
    }
}
