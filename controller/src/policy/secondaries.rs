//! `secondaries:` (the forward zone's, and a reverse zone's own): who may
//! transfer a zone and is sent NOTIFY — an address, or an address with the
//! TSIG key its transfers must be signed with (both are then required).

use std::sync::Arc;

use muster_dns::Secondary;
use muster_dns::tsig::TsigKey;

use super::locate::YamlPath;
use super::raw::RawSecondary;
use super::validate::Checker;
use super::{tsig_keys, values};

/// Parses the list at `at`; reports bad addresses, unknown keys and
/// addresses listed twice, and warns of documentation ranges when `warn_docs`.
pub(super) fn secondaries(
    c: &mut Checker,
    at: &YamlPath,
    raw: &[RawSecondary],
    keys: &[Arc<TsigKey>],
    warn_docs: bool,
) -> Vec<Secondary> {
    let mut parsed: Vec<(usize, Secondary)> = Vec::new();
    for (i, entry) in raw.iter().enumerate() {
        let entry_at = at.index(i);
        let (address, address_at, key) = match entry {
            RawSecondary::Address(text) => (text, entry_at.clone(), None),
            RawSecondary::Table(table) => (&table.address, entry_at.key("address"), table.key.as_ref()),
        };
        let address = c.value(&address_at, values::secondary(address.as_str()));
        // An unknown key is reported; the address still counts for repeats.
        let key = key.and_then(|text| c.value(&entry_at.key("key"), tsig_keys::find(keys, text.as_str())));
        let Some(address) = address else { continue };
        if warn_docs && let Some(range) = values::documentation_range(address.ip()) {
            c.warn(
                &address_at,
                format!(
                    "secondary {address} is in {range}, a range for documentation only: muster would send NOTIFY \
                     there; list your secondaries' real addresses"
                ),
            );
        }
        parsed.push((i, Secondary { address, key }));
    }
    let addresses: Vec<_> = parsed.iter().map(|(i, s)| (*i, s.address)).collect();
    c.unique(at, &addresses, |addr| format!("secondary {addr} is listed twice"));
    parsed.into_iter().map(|(_, s)| s).collect()
}

/// Warns of every key no secondary uses (a typo'd reference is an error,
/// but a key left over after a secondary was removed is only untidy).
pub(super) fn warn_unused_keys(c: &mut Checker, keys: &[Arc<TsigKey>], used: &[&Secondary]) {
    let at = YamlPath::root().key("tsig");
    for (i, key) in keys.iter().enumerate() {
        if !used
            .iter()
            .any(|s| s.key.as_ref().is_some_and(|k| Arc::ptr_eq(k, key)))
        {
            c.warn(
                &at.index(i).key("name"),
                format!(
                    "TSIG key {} is not used by any secondary; name it in a secondary's key: or remove it",
                    tsig_keys::short(key.name())
                ),
            );
        }
    }
}
