//! The policy: what the farm should look like, read from YAML.
//!
//! [`load_file`] and [`load_str`] are the only ways in. Loading runs in three
//! steps, each in its own module:
//!
//! 1. `raw`: serde structs that mirror the file and reject unknown keys;
//!    serde_yaml's error (a typo'd key, a list where a value belongs, bad YAML)
//!    is turned into a [`Problem`] by `syntax`, which stops loading.
//! 2. `validate` (with `roles`, `inventory` and `automation`, and `values`
//!    for durations, names and addresses): every value and every
//!    cross-reference is checked, collecting *all* problems rather than
//!    stopping at the first, and the [`Policy`] is built with its defaults.
//! 3. `locate`: serde keeps no positions for values, so the problems' paths
//!    (`hosts[3].role`) are mapped to line and column by parsing the text again
//!    with yaml-rust2, only when there is something to report.

use std::fmt;
use std::path::{Path, PathBuf};

mod automation;
mod consistency;
mod empty_pools;
mod inventory;
mod locate;
mod model;
mod probes;
mod raw;
mod roles;
mod syntax;
mod validate;
mod values;

#[cfg(test)]
mod tests;

pub use model::*;

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
    let raw = serde_yaml::from_str::<raw::RawPolicy>(text).map_err(|err| {
        let (pos, message) = syntax::describe(&err, text);
        PolicyError::Invalid(vec![problem(pos, message)])
    })?;
    let locate = |found: validate::Found| {
        let locator = locate::Locator::new(text);
        let mut problems: Vec<Problem> = found
            .into_iter()
            .map(|(spot, message)| problem(spot.find_in(&locator), message))
            .collect();
        // Stable: problems at one position keep the order they were found in.
        problems.sort_by_key(|p| (p.line, p.column));
        problems
    };
    let (mut policy, warnings) =
        validate::validate(raw, source).map_err(|found| PolicyError::Invalid(locate(found)))?;
    if !warnings.is_empty() {
        policy.warnings = locate(warnings);
    }
    Ok(policy)
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
