//! Where a value sits in the policy text.
//!
//! serde gives no spans for values, so semantic problems are located here: the
//! text is parsed again with `yaml-rust2`'s event parser, which marks every
//! node, into a small tree of positions. A [`YamlPath`] such as
//! `roles.smtp-out.records[0].priority` then finds the value's line and column;
//! a path that does not exist falls back to its nearest existing parent, and a
//! text that does not parse at all to `1:1`.

use std::fmt;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// A path from the document root to a value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct YamlPath(pub(super) Vec<Seg>);

/// One step of a [`YamlPath`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index (0-based).
    Index(usize),
}

/// What a problem points at: a value, or a key itself (a bad name, or the
/// `nth` occurrence of a repeated key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Spot {
    /// The value at a path.
    Value(YamlPath),
    /// The `nth` (0-based) occurrence of `key` in the mapping at `map`.
    Key { map: YamlPath, key: String, nth: usize },
}

/// A 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Pos {
    pub(super) line: usize,
    pub(super) column: usize,
}

/// The positions of every node of one YAML document.
#[derive(Debug)]
pub(super) struct Locator {
    root: Option<Node>,
}

impl YamlPath {
    /// The document root.
    pub(super) fn root() -> Self {
        Self::default()
    }

    /// This path extended by a mapping key.
    pub(super) fn key(&self, key: impl Into<String>) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.into()));
        Self(segs)
    }

    /// This path extended by a sequence index.
    pub(super) fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        Self(segs)
    }

    /// Parses the dotted form `hosts[3].role` (as serde_yaml prints paths).
    /// Keys containing `.` or `[` cannot be written this way; they come out
    /// split, which only makes the lookup fall back to a parent.
    pub(super) fn parse(text: &str) -> Self {
        let mut segs = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let (key, mut rest) = match part.find('[') {
                Some(at) => part.split_at(at),
                None => (part, ""),
            };
            if !key.is_empty() {
                segs.push(Seg::Key(key.to_owned()));
            }
            while let Some(inner) = rest.strip_prefix('[') {
                let Some(close) = inner.find(']') else { break };
                match inner[..close].parse() {
                    Ok(index) => segs.push(Seg::Index(index)),
                    Err(_) => segs.push(Seg::Key(inner[..close].to_owned())),
                }
                rest = &inner[close + 1..];
            }
        }
        Self(segs)
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(key) if i == 0 => write!(f, "{key}")?,
                Seg::Key(key) => write!(f, ".{key}")?,
                Seg::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl Spot {
    /// The top-level key this spot is under (`hosts` for `hosts[3].role`),
    /// `None` for the document itself.
    pub(super) fn top(&self) -> Option<&str> {
        let first = match self {
            Self::Value(path) => path.0.first(),
            Self::Key { map, key, .. } => match map.0.first() {
                Some(seg) => Some(seg),
                None => return Some(key),
            },
        };
        match first {
            Some(Seg::Key(key)) => Some(key),
            _ => None,
        }
    }

    /// The path of the value or key this spot points at.
    pub(super) fn path(&self) -> YamlPath {
        match self {
            Self::Value(path) => path.clone(),
            Self::Key { map, key, .. } => map.key(key.clone()),
        }
    }

    /// This spot with its list indices as written, when `removed` items
    /// were taken out before checking.
    pub(super) fn as_written(&self, removed: &super::recover::Removed) -> Self {
        match self {
            Self::Value(path) => Self::Value(removed.as_written(path)),
            Self::Key { map, key, nth } => Self::Key {
                map: removed.as_written(map),
                key: key.clone(),
                nth: *nth,
            },
        }
    }

    /// Where this spot is in the text behind `locator`.
    pub(super) fn find_in(&self, locator: &Locator) -> Pos {
        match self {
            Self::Value(path) => locator.find(path),
            Self::Key { map, key, nth } => locator.find_key(map, key, *nth),
        }
    }
}

impl Locator {
    /// Parses `text`; a syntax error keeps whatever was parsed before it.
    pub(super) fn new(text: &str) -> Self {
        let mut builder = Builder::default();
        // An error only ends the event stream early; `finish` keeps the rest.
        let _ = Parser::new_from_str(text).load(&mut builder, false);
        Self {
            root: builder.finish(),
        }
    }

    /// The position of the value at `path`, or of its nearest existing parent.
    pub(super) fn find(&self, path: &YamlPath) -> Pos {
        let Some(mut node) = self.root.as_ref() else {
            return Pos { line: 1, column: 1 };
        };
        for seg in &path.0 {
            match node.child(seg, 0) {
                Some((_, child)) => node = child,
                None => break,
            }
        }
        node.pos
    }

    /// The position of the `nth` (0-based) occurrence of `key` itself (not
    /// its value) in the mapping at `map`, falling back to the mapping or its
    /// nearest existing parent. `nth` 1 finds a repeated key.
    pub(super) fn find_key(&self, map: &YamlPath, key: &str, nth: usize) -> Pos {
        let Some(mut node) = self.root.as_ref() else {
            return Pos { line: 1, column: 1 };
        };
        for seg in &map.0 {
            match node.child(seg, 0) {
                Some((_, child)) => node = child,
                None => return node.pos,
            }
        }
        match node.child(&Seg::Key(key.to_owned()), nth) {
            Some((key_pos, _)) => key_pos,
            None => node.pos,
        }
    }
}

/// Deeper nesting than this is recorded as a leaf (policies are shallow).
const MAX_DEPTH: usize = 64;

#[derive(Debug)]
struct Node {
    pos: Pos,
    /// Where the node's text starts, in chars (to order positions).
    index: usize,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Scalar(String),
    Seq(Vec<Node>),
    /// Keys and values, alternating.
    Map(Vec<Node>),
    Other,
}

impl Node {
    fn new(mark: Marker, kind: Kind) -> Self {
        let pos = Pos {
            line: mark.line().max(1),
            column: mark.col() + 1,
        };
        Self {
            pos,
            index: mark.index(),
            kind,
        }
    }

    /// The `nth` (0-based) child matching `seg`, with the position of its key.
    fn child(&self, seg: &Seg, nth: usize) -> Option<(Pos, &Node)> {
        match (&self.kind, seg) {
            (Kind::Seq(items), Seg::Index(index)) => items.get(*index).map(|n| (n.pos, n)),
            (Kind::Map(flat), Seg::Key(key)) => flat
                .chunks_exact(2)
                .filter(|pair| matches!(&pair[0].kind, Kind::Scalar(k) if k == key))
                .nth(nth)
                .map(|pair| (pair[0].pos, &pair[1])),
            _ => None,
        }
    }
}

/// Builds the tree from parser events with an explicit stack.
#[derive(Default)]
struct Builder {
    stack: Vec<Node>,
    root: Option<Node>,
    /// Containers opened beyond `MAX_DEPTH`, skipped until closed.
    skipped: usize,
}

impl Builder {
    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Node {
                kind: Kind::Seq(children) | Kind::Map(children),
                ..
            }) => children.push(node),
            Some(_) => {}
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
        }
    }

    fn open(&mut self, mark: Marker, kind: Kind) {
        if self.skipped > 0 || self.stack.len() >= MAX_DEPTH {
            if self.skipped == 0 {
                self.push(Node::new(mark, Kind::Other));
            }
            self.skipped += 1;
        } else {
            self.stack.push(Node::new(mark, kind));
        }
    }

    fn close(&mut self) {
        if self.skipped > 0 {
            self.skipped -= 1;
            return;
        }
        let Some(mut node) = self.stack.pop() else {
            return;
        };
        // A block mapping's start mark lies after its first key; a flow
        // mapping's is its `{`. The earlier of the two is where it starts.
        if let Kind::Map(flat) = &node.kind
            && let Some(first) = flat.first().filter(|first| first.index < node.index)
        {
            node.pos = first.pos;
            node.index = first.index;
        }
        self.push(node);
    }

    /// Closes whatever a syntax error left open.
    fn finish(mut self) -> Option<Node> {
        self.skipped = 0;
        while !self.stack.is_empty() {
            self.close();
        }
        self.root
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) if self.skipped == 0 => {
                self.push(Node::new(mark, Kind::Scalar(value)));
            }
            Event::Alias(_) if self.skipped == 0 => self.push(Node::new(mark, Kind::Other)),
            Event::SequenceStart(..) => self.open(mark, Kind::Seq(Vec::new())),
            Event::MappingStart(..) => self.open(mark, Kind::Map(Vec::new())),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
zone: x
roles:
  smtp-out:
    records:
      - { name: a, type: MX }
      - name: b
        type: A
hosts: [ {name: h1}, {name: h2, name: h3} ]
";

    fn at(path: &str) -> (usize, usize) {
        let pos = Locator::new(TEXT).find(&YamlPath::parse(path));
        (pos.line, pos.column)
    }

    #[test]
    fn finds_values() {
        assert_eq!(at("zone"), (1, 7));
        assert_eq!(at("roles"), (3, 3));
        assert_eq!(at("roles.smtp-out.records"), (5, 7));
        assert_eq!(at("roles.smtp-out.records[0]"), (5, 9));
        assert_eq!(at("roles.smtp-out.records[0].type"), (5, 26));
        assert_eq!(at("roles.smtp-out.records[1]"), (6, 9));
        assert_eq!(at("roles.smtp-out.records[1].type"), (7, 15));
        assert_eq!(at("hosts[1].name"), (8, 29));
    }

    #[test]
    fn falls_back_to_the_nearest_parent() {
        assert_eq!(at("roles.smtp-out.records[1].priority"), (6, 9));
        assert_eq!(at("roles.smtp-out.records[7].priority"), (5, 7));
        assert_eq!(at("nope.deeper"), (1, 1));
        assert_eq!(at(""), (1, 1));
    }

    #[test]
    fn finds_a_repeated_key() {
        let loc = Locator::new(TEXT);
        let pos = loc.find_key(&YamlPath::parse("hosts[1]"), "name", 1);
        assert_eq!((pos.line, pos.column), (8, 33));
        let pos = loc.find_key(&YamlPath::parse("roles"), "smtp-out", 0);
        assert_eq!((pos.line, pos.column), (3, 3));
    }

    #[test]
    fn broken_text_keeps_what_parsed() {
        let loc = Locator::new("zone: x\nroles: [a, b\n");
        let pos = loc.find(&YamlPath::parse("zone"));
        assert_eq!((pos.line, pos.column), (1, 7));
        let empty = Locator::new("");
        assert_eq!(empty.find(&YamlPath::parse("zone")), Pos { line: 1, column: 1 });
    }

    #[test]
    fn paths_round_trip() {
        for text in ["hosts[3].role", "roles.smtp-out.records[0].priority", "a[1][2]"] {
            assert_eq!(YamlPath::parse(text).to_string(), text);
        }
        let built = YamlPath::root().key("roles").key("web").key("records").index(2);
        assert_eq!(built, YamlPath::parse("roles.web.records[2]"));
    }
}
