//! The policy: what the farm should look like, read from YAML.
//!
//! [`load_file`] and [`load_str`] are the only ways in. Loading runs in three
//! steps, each in its own module:
//!
//! 1. `raw`: serde structs that mirror the file and reject unknown keys;
//!    serde_yaml's error (a typo'd key, a list where a value belongs, bad YAML)
//!    is turned into a [`Problem`] by `syntax`. Bad YAML stops loading; a
//!    shape error does not: `recover` reads the text as a YAML tree and
//!    takes out what does not fit, reporting each, so the rest is checked.
//! 2. `validate` (with `roles`, `inventory`, `automation`, and for the rest
//!    of the zone `zone_records`, `spf`, `reverse_zones` and `aliases`,
//!    `tsig_keys` and `secondaries` for who may transfer the zones, and
//!    `values` for durations, names and addresses): every value and every
//!    cross-reference is checked, collecting *all* problems rather than
//!    stopping at the first, and the [`Policy`] is built with its defaults.
//!    `names` (with `claims`) then checks that the static records and
//!    aliases fit beside everything muster publishes; the API's writes go
//!    through the same rules.
//! 3. `locate`: serde keeps no positions for values, so the problems' paths
//!    (`hosts[3].role`) are mapped to line and column by parsing the text again
//!    with yaml-rust2, only when there is something to report.

use std::fmt;
use std::path::{Path, PathBuf};

mod aliases;
mod automation;
mod claims;
mod consistency;
mod empty_pools;
mod inventory;
mod locate;
mod model;
mod names;
mod probes;
mod rate_limit;
mod raw;
mod recover;
mod reverse_zones;
mod roles;
mod secondaries;
mod spf;
mod syntax;
mod tsig_keys;
mod validate;
mod values;
mod zone_records;

#[cfg(test)]
mod tests;

pub use claims::{Claim, Publisher, Source};
pub use model::*;
pub use names::{NameConflict, check_api_alias, check_api_record};
pub use spf::{MAX_LOOKUPS, MAX_PARTS, MAX_RECORD_BYTES, SpfTooBig, address_terms, inventory_senders};
pub use values::name_in as resolve_name;

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("cannot read policy {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid policy; one or more problems,
    /// in file order, one per line when displayed.
    #[error("{}", ProblemLines(.0))]
    Invalid(Vec<Problem>),
}

/// One thing wrong with a policy, at a position in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The policy file.
    pub file: PathBuf,
    /// 1-based line of the offending key or value.
    pub line: usize,
    /// 1-based column of the offending key or value.
    pub column: usize,
    /// What is wrong and, where it is obvious, how to fix it.
    pub message: String,
}

/// Reads and validates the policy in `path`.
///
/// # Errors
/// [`PolicyError::Io`] if the file cannot be read (or is not UTF-8),
/// [`PolicyError::Invalid`] with every problem found otherwise.
pub fn load_file(path: &Path) -> Result<Policy, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
        path: path.to_owned(),
        source,
    })?;
    load_str(path, &text)
}

/// Validates the policy `text`; `source` names it in messages and in
/// [`Policy::source`].
///
/// # Errors
/// [`PolicyError::Invalid`] with every problem found.
pub fn load_str(source: &Path, text: &str) -> Result<Policy, PolicyError> {
    let problem = |pos: locate::Pos, message: String| Problem {
        file: source.to_owned(),
        line: pos.line,
        column: pos.column,
        message,
    };
    let (raw, shape, recovered) = match serde_yaml::from_str::<raw::RawPolicy>(text) {
        Ok(raw) => (raw, Vec::new(), None),
        Err(err) => match recover::read(text) {
            // Read on past the first shape error; what is left is checked too.
            Some(mut found) if !found.errors.is_empty() => {
                let locator = locate::Locator::new(text);
                let shape: Vec<Problem> = found
                    .errors
                    .iter()
                    .map(|e| {
                        let (pos, message) = syntax::describe_shape(e, &locator);
                        problem(pos, message)
                    })
                    .collect();
                match found.raw.take() {
                    Some(raw) => (raw, shape, Some(found)),
                    None => return Err(PolicyError::Invalid(sorted(shape))),
                }
            }
            // Not a mapping at all (bad YAML): only the first error is known.
            _ => {
                let (pos, message) = syntax::describe(&err, text);
                return Err(PolicyError::Invalid(vec![problem(pos, message)]));
            }
        },
    };
    let locate = |found: validate::Found| {
        let locator = locate::Locator::new(text);
        let as_written = |spot: locate::Spot| match &recovered {
            Some(r) => spot.as_written(&r.removed),
            None => spot,
        };
        found
            .into_iter()
            .map(|(spot, message)| (as_written(spot), message))
            .filter(|(spot, _)| !recovered.as_ref().is_some_and(|r| r.follows(&spot.path())))
            .map(|(spot, message)| problem(spot.find_in(&locator), message))
            .collect::<Vec<Problem>>()
    };
    match validate::validate(raw, source) {
        Ok((mut policy, warnings)) if shape.is_empty() => {
            if !warnings.is_empty() {
                policy.warnings = sorted(locate(warnings));
            }
            Ok(policy)
        }
        Ok(_) => Err(PolicyError::Invalid(sorted(shape))),
        Err(found) => {
            let mut problems = shape;
            problems.extend(locate(found));
            Err(PolicyError::Invalid(sorted(problems)))
        }
    }
}

/// Problems in file order; problems at one position keep the order they
/// were found in.
fn sorted(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort_by_key(|p| (p.line, p.column));
    problems
}

impl PolicyError {
    /// The problems found, empty for an I/O error.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Io { .. } => &[],
            Self::Invalid(problems) => problems,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Displays problems one per line.
struct ProblemLines<'a>(&'a [Problem]);

impl fmt::Display for ProblemLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}
