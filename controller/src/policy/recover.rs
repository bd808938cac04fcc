//! Reading on past shape errors, so that one run reports every problem.
//!
//! serde stops at the first key it does not know or value of the wrong
//! type. When that happens the text is read again as a plain YAML tree,
//! and the raw policy is deserialized from the tree over and over: each
//! error is recorded with its path (serde_path_to_error), the offending
//! key or list item is taken out of the tree, and deserializing starts
//! again, until the rest fits. `validate` then checks what is left, so a
//! misspelt key no longer hides a bad cron expression further down.
//!
//! Taking a list item out shifts the indices after it; [`Removed`] maps
//! the paths of later problems back to the items as written.

use serde_path_to_error::Segment;
use serde_yaml::{Mapping, Value};

use super::locate::{Seg, YamlPath};
use super::raw::RawPolicy;
use super::syntax;

/// At most this many shape problems are reported (each costs one more
/// pass over the tree).
const MAX_PROBLEMS: usize = 100;

/// One shape problem: where (as written) and serde's message.
#[derive(Debug)]
pub(super) struct ShapeError {
    /// The path of the value (or of the mapping, for an unknown or missing key).
    pub(super) path: YamlPath,
    /// serde's message, without position.
    pub(super) message: String,
}

/// What [`read`] found: the policy if the rest of it fits, and every shape
/// problem on the way.
pub(super) struct Recovered {
    /// The raw policy without the offending parts; `None` if a problem
    /// left nothing to check (a required top-level key missing).
    pub(super) raw: Option<RawPolicy>,
    /// Shape problems in the order found.
    pub(super) errors: Vec<ShapeError>,
    /// The list items taken out, to map later paths back.
    pub(super) removed: Removed,
    /// Every key or item taken out, as written: a key missing there, or a
    /// problem with a mapping or list it was taken from, follows from a
    /// problem already reported.
    pub(super) gone: Vec<YamlPath>,
}

impl Recovered {
    /// True if a problem at `path` (as written) may follow from something
    /// taken out: it is about the mapping or list it was in (`roles is
    /// empty` once the only role did not fit).
    pub(super) fn follows(&self, path: &YamlPath) -> bool {
        !path.0.is_empty() && self.gone.iter().any(|gone| gone.0.starts_with(&path.0))
    }
}

/// List items taken out of the tree and keys read as what they were meant
/// to be, to map paths in the tree back to the text.
#[derive(Debug, Default)]
pub(super) struct Removed {
    /// Per list (its path as written), the indices taken out, as written,
    /// ascending.
    items: Vec<(YamlPath, Vec<usize>)>,
    /// Per mapping (as written), a key as read and as written.
    renamed: Vec<(YamlPath, String, String)>,
}

/// Reads `text` as a tree and deserializes [`RawPolicy`] from it, taking out
/// whatever does not fit. `None` if the text is not a YAML mapping (a
/// syntax error, a repeated key, several documents): then only the first
/// error can be reported.
pub(super) fn read(text: &str) -> Option<Recovered> {
    let mut tree: Value = serde_yaml::from_str(text).ok()?;
    if !tree.is_mapping() {
        return None;
    }
    let mut found = Recovered {
        raw: None,
        errors: Vec::new(),
        removed: Removed::default(),
        gone: Vec::new(),
    };
    while found.errors.len() < MAX_PROBLEMS {
        let err = match serde_path_to_error::deserialize::<_, RawPolicy>(&tree) {
            Ok(raw) => {
                found.raw = Some(raw);
                break;
            }
            Err(err) => err,
        };
        let current = path_of(err.path());
        let message = err.into_inner().to_string();
        if let Some(key) = syntax::unknown_key(&message) {
            // The path ends at the key's mapping or at the key itself.
            let map = match current.0.last() {
                Some(Seg::Key(last)) if last == key => parent(&current),
                _ => current,
            };
            // A typo of a key the mapping lacks is read as that key, so
            // its value is still checked and nothing follows from its
            // absence ("an MX needs a priority" after `prority:`).
            let close = syntax::close_key(&message);
            let fixed = close
                .as_ref()
                .is_some_and(|close| rename(&mut tree, &map.0, key, close));
            let key = key.to_owned();
            let as_written = found.removed.as_written(&map);
            if let (true, Some(close)) = (fixed, close) {
                found
                    .removed
                    .renamed
                    .push((as_written.clone(), close, key.clone()));
            }
            found.errors.push(ShapeError {
                path: as_written.clone(),
                message,
            });
            if !fixed {
                if !take_out(&mut tree, &map.key(&key).0) {
                    break;
                }
                found.gone.push(as_written.key(key));
            }
            continue;
        }
        let as_written = found.removed.as_written(&current);
        let follows = message.strip_prefix("missing field `").is_some_and(|rest| {
            let key = rest.trim_end_matches('`');
            found.gone.contains(&as_written.key(key))
        });
        if !follows {
            found.errors.push(ShapeError {
                path: as_written.clone(),
                message,
            });
        }
        // What does not fit is taken out: a key from its mapping, an item
        // from its list (a mapping missing a key goes as a whole).
        if current.0.is_empty() || !take_out(&mut tree, &current.0) {
            break;
        }
        found.gone.push(as_written.clone());
        if let Some((Seg::Index(i), list)) = as_written.0.split_last() {
            found.removed.add(YamlPath(list.to_vec()), *i);
        }
    }
    Some(found)
}

impl Removed {
    /// `path` (indices as in the reduced tree) with every index as written.
    pub(super) fn as_written(&self, path: &YamlPath) -> YamlPath {
        let mut out = YamlPath::root();
        for seg in &path.0 {
            match seg {
                Seg::Key(key) => {
                    let written = self
                        .renamed
                        .iter()
                        .find(|(map, read, _)| *map == out && read == key)
                        .map_or(key, |(_, _, written)| written);
                    out = out.key(written.clone());
                }
                Seg::Index(index) => {
                    let gone = self
                        .items
                        .iter()
                        .find(|(list, _)| *list == out)
                        .map_or(&[][..], |(_, gone)| gone.as_slice());
                    // The index-th item that was not taken out.
                    let mut written = *index;
                    for &g in gone {
                        if g <= written {
                            written += 1;
                        }
                    }
                    out = out.index(written);
                }
            }
        }
        out
    }

    fn add(&mut self, list: YamlPath, index: usize) {
        match self.items.iter_mut().find(|(l, _)| *l == list) {
            Some((_, gone)) => {
                gone.push(index);
                gone.sort_unstable();
            }
            None => self.items.push((list, vec![index])),
        }
    }
}

fn parent(path: &YamlPath) -> YamlPath {
    let mut segs = path.0.clone();
    segs.pop();
    YamlPath(segs)
}

fn path_of(path: &serde_path_to_error::Path) -> YamlPath {
    let mut out = YamlPath::root();
    for seg in path.iter() {
        out = match seg {
            Segment::Seq { index } => out.index(*index),
            Segment::Map { key } | Segment::Enum { variant: key } => out.key(key.clone()),
            Segment::Unknown => out,
        };
    }
    out
}

/// Takes the value at `path` out of its mapping or list; false if there is
/// nothing there.
fn take_out(tree: &mut Value, path: &[Seg]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    match (node_at(tree, parents), last) {
        (Some(Value::Mapping(map)), Seg::Key(key)) => {
            let found = map.keys().find(|k| key_text(k).as_deref() == Some(key)).cloned();
            found.is_some_and(|k| map.shift_remove(&k).is_some())
        }
        (Some(Value::Sequence(items)), Seg::Index(i)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

/// Renames the key `from` of the mapping at `path` to `to`, unless the
/// mapping already has `to`.
fn rename(tree: &mut Value, path: &[Seg], from: &str, to: &str) -> bool {
    let Some(Value::Mapping(map)) = node_at(tree, path) else {
        return false;
    };
    if map.keys().any(|k| key_text(k).as_deref() == Some(to)) {
        return false;
    }
    let Some(old) = map.keys().find(|k| key_text(k).as_deref() == Some(from)).cloned() else {
        return false;
    };
    match map.shift_remove(&old) {
        Some(value) => {
            map.insert(Value::String(to.to_owned()), value);
            true
        }
        None => false,
    }
}

fn node_at<'a>(tree: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut node = tree;
    for seg in path {
        node = match (node, seg) {
            (Value::Mapping(map), Seg::Key(key)) => entry(map, key)?,
            (Value::Sequence(items), Seg::Index(i)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

fn entry<'a>(map: &'a mut Mapping, key: &str) -> Option<&'a mut Value> {
    map.iter_mut()
        .find(|(k, _)| key_text(k).as_deref() == Some(key))
        .map(|(_, v)| v)
}

/// A mapping key as serde_path_to_error writes it.
fn key_text(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
