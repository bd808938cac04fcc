//! The policy as written: serde structs mirroring the YAML, nothing checked
//! beyond shape.
//!
//! Every table denies unknown keys, so a typo is an error naming the key.
//! Leaf values are kept as [`Text`] (a scalar's text, whatever its YAML type)
//! so that `validate` can say precisely what is wrong with `ttl: 30x` or
//! `for: 3 hours`, and mappings keyed by user names are [`Entries`], which
//! keeps the file's order and its repeated keys for `validate` to report.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPolicy {
    pub(super) zone: Text,
    pub(super) ttl: Option<Text>,
    pub(super) nameservers: Option<Vec<Text>>,
    pub(super) soa: Option<RawSoa>,
    pub(super) heartbeat: Option<RawHeartbeat>,
    pub(super) limits: Option<RawLimits>,
    pub(super) roles: Entries<RawRole>,
    pub(super) default_want: Option<Entries<Text>>,
    #[serde(default)]
    pub(super) schedules: Vec<RawSchedule>,
    #[serde(default)]
    pub(super) autoscale: Vec<RawAutoscale>,
    #[serde(default)]
    pub(super) hosts: Vec<RawHost>,
    pub(super) enrolment: Option<Text>,
    #[serde(default)]
    pub(super) tsig: Vec<RawTsigKey>,
    #[serde(default)]
    pub(super) secondaries: Vec<RawSecondary>,
    #[serde(default)]
    pub(super) records: Vec<RawZoneRecord>,
    pub(super) spf: Option<RawSpf>,
    #[serde(default)]
    pub(super) reverse: Vec<RawReverse>,
    #[serde(default)]
    pub(super) aliases: Entries<Text>,
    pub(super) rate_limit: Option<RawRateLimit>,
}

/// Response rate limiting of DNS answers over UDP (`rate_limit:`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub(super) responses_per_second: Option<Text>,
    pub(super) slip: Option<Text>,
    pub(super) ipv4_prefix: Option<Text>,
    pub(super) ipv6_prefix: Option<Text>,
    #[serde(default)]
    pub(super) exempt: Vec<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSoa {
    pub(super) mname: Option<Text>,
    pub(super) rname: Option<Text>,
    pub(super) refresh: Option<Text>,
    pub(super) retry: Option<Text>,
    pub(super) expire: Option<Text>,
    pub(super) minimum: Option<Text>,
    pub(super) ttl: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHeartbeat {
    pub(super) interval: Option<Text>,
    pub(super) dead_after: Option<Text>,
    pub(super) revive_after: Option<Text>,
    pub(super) panic_threshold: Option<Text>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    pub(super) moves_per_tick: Option<Text>,
    pub(super) moves_per_role: Option<Text>,
    pub(super) host_cooldown: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRole {
    pub(super) min: Option<Text>,
    #[serde(default)]
    pub(super) records: Vec<RawRecord>,
    #[serde(default)]
    pub(super) fallback: Vec<RawRecord>,
    pub(super) drain: Option<RawDrain>,
    #[serde(default)]
    pub(super) probes: Vec<RawProbe>,
    #[serde(default)]
    pub(super) labels: Entries<Text>,
    pub(super) publish_max: Option<Text>,
}

/// A health check agents run for a role.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProbe {
    pub(super) name: Option<Text>,
    #[serde(rename = "type")]
    pub(super) kind: Text,
    pub(super) port: Option<Text>,
    pub(super) url: Option<Text>,
    pub(super) expect: Option<Text>,
    pub(super) run: Option<Text>,
    pub(super) timeout: Option<Text>,
}

/// A record template (`records:`) or a fixed record (`fallback:`): one shape,
/// so that `target:` in a template gets a hint rather than "unknown key".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecord {
    pub(super) name: Text,
    #[serde(rename = "type")]
    pub(super) kind: Text,
    pub(super) priority: Option<Text>,
    pub(super) target: Option<Text>,
    pub(super) address: Option<Text>,
    pub(super) ttl: Option<Text>,
}

/// A static record of the zone (`records:`): `data` in presentation
/// format, or the friendly `target:` (CNAME, NS, PTR, and MX with
/// `priority:`) or `address:` (A, AAAA).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawZoneRecord {
    pub(super) name: Text,
    #[serde(rename = "type")]
    pub(super) kind: Text,
    pub(super) data: Option<Text>,
    pub(super) priority: Option<Text>,
    pub(super) target: Option<Text>,
    pub(super) address: Option<Text>,
    pub(super) ttl: Option<Text>,
}

/// The SPF record computed from the sending pools (`spf:`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSpf {
    pub(super) name: Option<Text>,
    #[serde(default)]
    pub(super) roles: Vec<Text>,
    #[serde(default)]
    pub(super) include: Vec<Text>,
    pub(super) keep_after_leave: Option<Text>,
    pub(super) all: Option<Text>,
    pub(super) ttl: Option<Text>,
}

/// A `reverse:` entry: `"127.0.10.0/24"` or `{ block: ..., secondaries: [...] }`.
#[derive(Debug)]
pub(super) enum RawReverse {
    /// Just the block; the zone's secondaries.
    Block(Text),
    /// The block with its own secondaries.
    Table(RawReverseTable),
}

/// The long form of a `reverse:` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReverseTable {
    pub(super) block: Text,
    pub(super) secondaries: Option<Vec<RawSecondary>>,
}

/// A TSIG key (`tsig:`): its secret is read from a file or the
/// environment, never written in the policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTsigKey {
    pub(super) name: Text,
    pub(super) algorithm: Option<Text>,
    pub(super) secret_file: Option<Text>,
    pub(super) secret_env: Option<Text>,
}

/// A `secondaries:` entry: `127.0.0.12` or `{ address: 127.0.0.12, key: xfr-key }`.
#[derive(Debug)]
pub(super) enum RawSecondary {
    /// Just the address.
    Address(Text),
    /// The address with the TSIG key its transfers and NOTIFY are signed with.
    Table(RawSecondaryTable),
}

/// The long form of a `secondaries:` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecondaryTable {
    pub(super) address: Text,
    pub(super) key: Option<Text>,
}

impl<'de> Deserialize<'de> for RawSecondary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondaryVisitor;

        impl<'de> Visitor<'de> for SecondaryVisitor {
            type Value = RawSecondary;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address (like 127.0.0.12 or 127.0.0.12:5353) or { address: ..., key: ... }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSecondary, E> {
                Ok(RawSecondary::Address(Text(v.to_owned())))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawSecondary, A::Error> {
                RawSecondaryTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawSecondary::Table)
            }
        }

        deserializer.deserialize_any(SecondaryVisitor)
    }
}

impl<'de> Deserialize<'de> for RawReverse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ReverseVisitor;

        impl<'de> Visitor<'de> for ReverseVisitor {
            type Value = RawReverse;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an address block (like 127.0.10.0/24) or { block: ..., secondaries: [...] }")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawReverse, E> {
                Ok(RawReverse::Block(Text(v.to_owned())))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawReverse, A::Error> {
                RawReverseTable::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawReverse::Table)
            }
        }

        deserializer.deserialize_any(ReverseVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDrain {
    pub(super) until: Option<Text>,
    pub(super) timeout: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub(super) name: Text,
    pub(super) cron: Text,
    #[serde(rename = "for")]
    pub(super) duration: Text,
    pub(super) timezone: Option<Text>,
    pub(super) want: Entries<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAutoscale {
    pub(super) name: Option<Text>,
    pub(super) role: Text,
    pub(super) metric: Text,
    pub(super) aggregate: Option<Text>,
    pub(super) target_per_host: Text,
    pub(super) min: Option<Text>,
    pub(super) max: Option<Text>,
    #[serde(default)]
    pub(super) borrow_from: Vec<Text>,
    pub(super) give_back_to: Option<Text>,
    pub(super) step: Option<Text>,
    pub(super) cooldown: Option<Text>,
    pub(super) stabilization: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHost {
    pub(super) name: Text,
    pub(super) address: Option<Text>,
    #[serde(default)]
    pub(super) addresses: Vec<Text>,
    #[serde(default)]
    pub(super) roles: Vec<Text>,
    pub(super) role: Option<Text>,
    #[serde(rename = "static", default)]
    pub(super) is_static: bool,
    #[serde(default)]
    pub(super) labels: Entries<Text>,
}

/// The text of a scalar: a string, number or boolean as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Text(pub(super) String);

impl Text {
    pub(super) fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl Visitor<'_> for TextVisitor {
            type Value = Text;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a single value (a string or a number)")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }

            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }

            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }

        deserializer.deserialize_any(TextVisitor)
    }
}

/// A mapping from names to values, in file order, repeated keys included.
#[derive(Debug)]
pub(super) struct Entries<V>(pub(super) Vec<(String, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(std::marker::PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping from names to values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Text>()? {
                    entries.push((key.0, map.next_value()?));
                }
                Ok(Entries(entries))
            }
        }

        deserializer.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}
