//! What the agent is told: flags (or their environment variables) and an
//! optional YAML file for the rest. Unknown keys in the file are errors.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::AgentError;

/// Where the agent remembers its role when nothing says otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/muster-agent";
/// Postfix's spool: queue directories and the disk the free-space metric
/// watches.
pub const POSTFIX_SPOOL: &str = "/var/spool/postfix";
const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The agent token. Its `Debug` and `Display` never show the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret, for the `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// What the command line (or environment) gives.
#[derive(Clone, Debug, Default)]
pub struct AgentFlags {
    /// The controller's base URL (`http://10.0.0.1:8700`).
    pub controller: String,
    /// This host's name: one DNS label.
    pub name: String,
    /// Its addresses, published in its role's records.
    pub addresses: Vec<IpAddr>,
    /// The agent token.
    pub token: Option<Token>,
    /// The role-change hook, run with `sh -c`.
    pub on_role_change: Option<String>,
    /// The YAML file with the rest.
    pub config: Option<PathBuf>,
}

/// The YAML file: everything is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Where the held role is remembered.
    pub state_dir: Option<PathBuf>,
    /// How long the hook may run (`5m`, `90s`, or seconds).
    #[serde(default, deserialize_with = "duration")]
    pub hook_timeout: Option<Duration>,
    /// A command whose stdout is the MTA queue depth.
    pub queue_command: Option<String>,
    /// The path whose file system's free space is reported.
    pub spool: Option<PathBuf>,
    /// A PEM file with the CA(s) the controller's certificate chains to.
    pub ca_file: Option<PathBuf>,
    /// The longest wait between retries while the controller is away.
    #[serde(default, deserialize_with = "duration")]
    pub max_backoff: Option<Duration>,
}

/// Where the `queue_depth` metric comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueSource {
    /// `sh -c COMMAND`, stdout is the number.
    Command(String),
    /// Count the files under Postfix's queue directories below this spool,
    /// when they exist.
    Postfix(PathBuf),
}

/// Everything the agent runs with, checked.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The controller's base URL, without a trailing slash.
    pub controller: String,
    /// This host's name.
    pub name: String,
    /// Its addresses.
    pub addresses: Vec<IpAddr>,
    /// The agent token.
    pub token: Option<Token>,
    /// The role-change hook.
    pub on_role_change: Option<String>,
    /// Where the held role is remembered (`state_dir/role`).
    pub state_dir: PathBuf,
    /// How long the hook may run before it is killed and counted failed.
    pub hook_timeout: Duration,
    /// Where `queue_depth` comes from.
    pub queue: QueueSource,
    /// The path whose file system's free space is `disk_free`.
    pub spool: PathBuf,
    /// Extra CA certificates (PEM) for an HTTPS controller.
    pub ca_file: Option<PathBuf>,
    /// The cap of the retry backoff.
    pub max_backoff: Duration,
    /// Where `/proc` is (tests point it at fixtures).
    pub proc_root: PathBuf,
}

impl AgentConfig {
    /// Checks `flags`, reads the `--config` file if any, and fills defaults.
    pub fn try_new(flags: AgentFlags) -> Result<Self, AgentError> {
        let file = match &flags.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        Self::from_parts(flags, file)
    }

    /// Same, with the file already parsed.
    pub fn from_parts(flags: AgentFlags, file: FileConfig) -> Result<Self, AgentError> {
        let controller = flags.controller.trim().trim_end_matches('/').to_owned();
        if !(controller.starts_with("http://") || controller.starts_with("https://")) {
            return Err(AgentError::Config(format!(
                "--controller {controller:?} must be an http:// or https:// URL"
            )));
        }
        if !valid_label(&flags.name) {
            return Err(AgentError::Config(format!(
                "--name {:?} must be one DNS label: a-z, 0-9 and '-', at most 63 characters",
                flags.name
            )));
        }
        if flags.addresses.is_empty() {
            return Err(AgentError::Config("--address is required".to_owned()));
        }
        let hook = flags.on_role_change.filter(|c| !c.trim().is_empty());
        let hook_timeout = file.hook_timeout.unwrap_or(DEFAULT_HOOK_TIMEOUT);
        let max_backoff = file.max_backoff.unwrap_or(DEFAULT_MAX_BACKOFF);
        for (key, d) in [("hook_timeout", hook_timeout), ("max_backoff", max_backoff)] {
            if d.is_zero() {
                return Err(AgentError::Config(format!("{key} must be longer than 0")));
            }
        }
        let queue = match file.queue_command.filter(|c| !c.trim().is_empty()) {
            Some(command) => QueueSource::Command(command),
            None => QueueSource::Postfix(PathBuf::from(POSTFIX_SPOOL)),
        };
        let spool = file.spool.unwrap_or_else(|| {
            let postfix = Path::new(POSTFIX_SPOOL);
            if postfix.is_dir() {
                postfix.to_owned()
            } else {
                PathBuf::from("/")
            }
        });
        Ok(Self {
            controller,
            name: flags.name,
            addresses: flags.addresses,
            token: flags.token,
            on_role_change: hook,
            state_dir: file.state_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
            hook_timeout,
            queue,
            spool,
            ca_file: file.ca_file,
            max_backoff,
            proc_root: PathBuf::from("/proc"),
        })
    }
}

impl FileConfig {
    /// Reads and parses `path`; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Self, AgentError> {
        let text = std::fs::read_to_string(path).map_err(|source| AgentError::ConfigFile {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|e| AgentError::Config(format!("{}: {e}", path.display())))
    }

    /// Parses YAML text; an empty document is all defaults.
    pub fn parse(text: &str) -> Result<Self, serde_yaml::Error> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_yaml::from_str(text)
    }
}

/// Parses `500ms`, `30s`, `5m`, `1h`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration; write 500ms, 30s, 5m or 1h"))?;
    let millis = match unit.trim() {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1_000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        other => {
            return Err(format!(
                "unit {other:?} in {text:?} is not known; use ms, s, m or h"
            ));
        }
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{text:?} is too long"))
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Seconds(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Seconds(s)) => Ok(Some(Duration::from_secs(s))),
        Some(Raw::Text(t)) => parse_duration(&t).map(Some).map_err(serde::de::Error::custom),
    }
}

fn valid_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags() -> AgentFlags {
        AgentFlags {
            controller: "http://127.0.0.1:8700/".into(),
            name: "smurf1".into(),
            addresses: vec!["192.0.2.11".parse().expect("ip")],
            token: Some(Token::new("s3cret-token")),
            on_role_change: None,
            config: None,
        }
    }

    #[test]
    fn a_full_file_parses() {
        let file = FileConfig::parse(
            "state_dir: /tmp/agent\nhook_timeout: 90s\nqueue_command: postqueue -j | wc -l\n\
             spool: /srv/spool\nca_file: /etc/muster/ca.pem\nmax_backoff: 1m\n",
        )
        .expect("parses");
        let c = AgentConfig::from_parts(flags(), file).expect("valid");
        assert_eq!(c.controller, "http://127.0.0.1:8700");
        assert_eq!(c.state_dir, PathBuf::from("/tmp/agent"));
        assert_eq!(c.hook_timeout, Duration::from_secs(90));
        assert_eq!(c.queue, QueueSource::Command("postqueue -j | wc -l".into()));
        assert_eq!(c.spool, PathBuf::from("/srv/spool"));
        assert_eq!(c.ca_file, Some(PathBuf::from("/etc/muster/ca.pem")));
        assert_eq!(c.max_backoff, Duration::from_secs(60));
    }

    #[test]
    fn defaults_fill_an_empty_file() {
        let c = AgentConfig::from_parts(flags(), FileConfig::parse("").expect("empty")).expect("valid");
        assert_eq!(c.state_dir, PathBuf::from(DEFAULT_STATE_DIR));
        assert_eq!(c.hook_timeout, Duration::from_secs(300));
        assert_eq!(c.max_backoff, Duration::from_secs(30));
        assert_eq!(c.queue, QueueSource::Postfix(PathBuf::from(POSTFIX_SPOOL)));
        assert!(c.spool == Path::new(POSTFIX_SPOOL) || c.spool == Path::new("/"));
    }

    #[test]
    fn the_example_file_parses_and_rejects_a_bogus_key() {
        let example = include_str!("../../examples/agent.yaml");
        let file = FileConfig::parse(example).expect("examples/agent.yaml parses");
        assert_eq!(file.hook_timeout, Some(Duration::from_secs(300)));
        let bogus = format!("{example}\nbogus_key: 1\n");
        let err = FileConfig::parse(&bogus).expect_err("unknown key");
        assert!(err.to_string().contains("bogus_key"), "{err}");
    }

    #[test]
    fn a_typo_is_rejected_with_its_line_and_column() {
        let err = FileConfig::parse("state_dir: /tmp/x\nhook_timout: 5m\n").expect_err("typo");
        let text = err.to_string();
        assert!(text.contains("hook_timout"), "{text}");
        assert!(text.contains("line 2"), "{text}");
    }

    #[test]
    fn a_bad_duration_is_rejected() {
        let err = FileConfig::parse("max_backoff: 5 fortnights\n").expect_err("bad");
        assert!(err.to_string().contains("fortnights"), "{err}");
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("-1s").is_err());
        let zero = AgentConfig::from_parts(flags(), FileConfig::parse("max_backoff: 0s").expect("parses"));
        assert!(matches!(zero, Err(AgentError::Config(_))));
    }

    #[test]
    fn flags_are_checked() {
        let mut f = flags();
        f.controller = "127.0.0.1:8700".into();
        assert!(AgentConfig::from_parts(f, FileConfig::default()).is_err());
        let mut f = flags();
        f.name = "Smurf_1".into();
        assert!(AgentConfig::from_parts(f, FileConfig::default()).is_err());
        let mut f = flags();
        f.addresses.clear();
        assert!(AgentConfig::from_parts(f, FileConfig::default()).is_err());
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let c = AgentConfig::from_parts(flags(), FileConfig::default()).expect("valid");
        let shown = format!("{c:?} {:?}", flags());
        assert!(!shown.contains("s3cret-token"), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let mut f = flags();
        f.config = Some(PathBuf::from("/nonexistent/agent.yaml"));
        let err = AgentConfig::try_new(f).expect_err("missing");
        assert!(err.to_string().contains("/nonexistent/agent.yaml"), "{err}");
    }
}
