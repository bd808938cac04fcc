//! The operator commands: `muster hosts`, `pools`, `move`, `drain`,
//! `cordon`, `uncordon`, `pin`, `unpin`, `register`, `remove`, `events`,
//! `zone`, `reload`, `record add|ls|rm` and `alias set|rm|ls`, each one call (or, for `events --follow`, one
//! stream) to the REST API through `muster_api::client`. Tables for
//! people; `--json` prints the server's JSON as it came, for scripts.

mod change;
mod events;
mod names;
mod show;
mod table;
mod time;

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use muster_api::client::{Client, ClientConfig, ClientError, DEFAULT_API};

/// The exit statuses, shown under every operator command's `--help`.
const EXIT_STATUS: &str = "Exit status: 0 done; 1 the server refused (its message and code are printed); \
2 usage error (bad flags, URL or CA file); 3 cannot reach the API (the URL is printed).";

/// The operator commands, flattened into `muster`'s own.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum OpsCommand {
    /// List hosts with role, state and heartbeat, or show one in detail.
    #[command(after_help = EXIT_STATUS)]
    Hosts(HostsArgs),
    /// Each role's pool: min, wanted and published counts, and members.
    #[command(after_help = EXIT_STATUS)]
    Pools(BareArgs),
    /// Move a host to a role: drain first, then the new role, published
    /// once its agent reports holding it.
    ///
    /// A move is a placement, not a new count: automation keeps the
    /// policy's wanted counts, so once the host serves in ROLE, a role left
    /// short takes a host back from ROLE's surplus (never this one within
    /// host_cooldown, never one that leaves ROLE below its count). To keep a
    /// host where you put it, `pin` it; to change how many a role has,
    /// change the policy.
    #[command(after_help = EXIT_STATUS)]
    Move(MoveArgs),
    /// Drain a host out of its role for maintenance: it leaves DNS now,
    /// finishes its work, and stays out of automation (cordoned) until
    /// `muster uncordon HOST` gives it back.
    #[command(after_help = EXIT_STATUS)]
    Drain(ForceArgs),
    /// Take a host out of automation and out of DNS.
    #[command(after_help = EXIT_STATUS)]
    Cordon(ForceArgs),
    /// Give a cordoned host back to automation.
    #[command(after_help = EXIT_STATUS)]
    Uncordon(HostArgs),
    /// Pin a host in a role (its own without ROLE): automation never moves it.
    #[command(after_help = EXIT_STATUS)]
    Pin(PinArgs),
    /// Give a pinned host back to automation.
    #[command(after_help = EXIT_STATUS)]
    Unpin(HostArgs),
    /// Register a static host (no agent; always published in its role).
    #[command(after_help = EXIT_STATUS)]
    Register(RegisterArgs),
    /// Forget a host the policy file does not define.
    #[command(after_help = EXIT_STATUS)]
    Remove(ForceArgs),
    /// The event log, oldest first; `--follow` streams new events.
    #[command(after_help = EXIT_STATUS)]
    Events(EventsArgs),
    /// A zone as published: its serial and records. The forward zone, or
    /// the one named (a reverse zone); `--all` shows every zone served.
    #[command(after_help = EXIT_STATUS)]
    Zone(ZoneArgs),
    /// Reread the server's policy file and put it in force.
    #[command(after_help = EXIT_STATUS)]
    Reload(BareArgs),
    /// The zone's static records: add, list, remove.
    #[command(subcommand)]
    Record(names::RecordCommand),
    /// Names that follow a host (CNAME to its own name): set, move, remove, list.
    #[command(subcommand)]
    Alias(names::AliasCommand),
}

/// How to reach the API and how to print; on every operator command.
#[derive(clap::Args)]
#[command(next_help_heading = "API")]
pub(crate) struct ApiArgs {
    /// The muster API's base URL.
    #[arg(long, env = "MUSTER_API", value_name = "URL", default_value = DEFAULT_API)]
    api: String,
    /// Operator bearer token (a read token for reads, admin for changes).
    #[arg(long, env = "MUSTER_TOKEN", hide_env_values = true, value_name = "T")]
    token: Option<String>,
    /// Print the server's JSON as is (one document; one event per line
    /// with --follow).
    #[arg(long)]
    json: bool,
    /// PEM file of CA certificates to trust for an https URL.
    #[arg(long = "ca-file", env = "MUSTER_CA_FILE", value_name = "PEM")]
    ca_file: Option<PathBuf>,
}

// Written by hand so the token never shows.
impl std::fmt::Debug for ApiArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiArgs")
            .field("api", &self.api)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("json", &self.json)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Only the API flags.
#[derive(Debug, clap::Args)]
pub(crate) struct BareArgs {
    #[command(flatten)]
    api: ApiArgs,
}

/// `muster zone [ZONE] [--all]`.
#[derive(Debug, clap::Args)]
pub(crate) struct ZoneArgs {
    /// The zone to show (`10.0.127.in-addr.arpa`); the forward zone when absent.
    zone: Option<String>,
    /// Every zone served: the forward zone, then the reverse zones.
    #[arg(long, conflicts_with = "zone")]
    all: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// `muster hosts [HOST]`.
#[derive(Debug, clap::Args)]
pub(crate) struct HostsArgs {
    /// Show this host in detail.
    host: Option<String>,
    #[command(flatten)]
    api: ApiArgs,
}

/// A host.
#[derive(Debug, clap::Args)]
pub(crate) struct HostArgs {
    /// The host's name.
    host: String,
    #[command(flatten)]
    api: ApiArgs,
}

/// A host, and `--force`.
#[derive(Debug, clap::Args)]
pub(crate) struct ForceArgs {
    /// The host's name.
    host: String,
    /// Even if its role drops below its `min` published hosts.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// `muster move HOST ROLE`.
#[derive(Debug, clap::Args)]
pub(crate) struct MoveArgs {
    /// The host's name.
    host: String,
    /// The role to move it to.
    role: String,
    /// Skip the drain (emergencies; the event says so).
    #[arg(long)]
    now: bool,
    /// Even if its old role drops below its `min` published hosts.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// `muster pin HOST [ROLE]`.
#[derive(Debug, clap::Args)]
pub(crate) struct PinArgs {
    /// The host's name.
    host: String,
    /// The role to pin it in (moving it there first); its own without.
    role: Option<String>,
    /// Even if moving it drops its old role below `min`.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    api: ApiArgs,
}

/// `muster register HOST --address IP…`.
#[derive(Debug, clap::Args)]
pub(crate) struct RegisterArgs {
    /// The host's name (one DNS label).
    host: String,
    /// Its address as published; repeat (or separate with commas) for several.
    #[arg(long = "address", value_name = "IP", value_delimiter = ',', required = true)]
    addresses: Vec<IpAddr>,
    /// The role it holds.
    #[arg(long, value_name = "R")]
    role: Option<String>,
    /// A label, `KEY=VALUE`; repeat for several.
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    #[command(flatten)]
    api: ApiArgs,
}

/// `muster events`.
#[derive(Debug, clap::Args)]
pub(crate) struct EventsArgs {
    /// Only events about this host.
    #[arg(long, value_name = "H")]
    host: Option<String>,
    /// Only events since T: a duration back (10m, 2h, 1d), a UTC time
    /// (`2025-06-01 14:00:00`), an RFC 3339 time, or epoch milliseconds.
    /// With --follow, replays those first.
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// At most N events, the newest (default 100).
    #[arg(long, value_name = "N", conflicts_with = "follow")]
    limit: Option<u32>,
    /// Keep printing events as they happen, until Ctrl-C.
    #[arg(long, short = 'f')]
    follow: bool,
    #[command(flatten)]
    api: ApiArgs,
}

fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{text:?}: expected KEY=VALUE")),
    }
}

/// Why a command failed; each kind has its exit status.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OpsError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot write the output: {0}")]
    Output(#[from] std::io::Error),
}

impl OpsError {
    fn exit_code(&self) -> ExitCode {
        match self {
            Self::Client(ClientError::Unreachable { .. }) => ExitCode::from(3),
            Self::Client(ClientError::Config(_)) | Self::Usage(_) => ExitCode::from(2),
            Self::Client(_) | Self::Output(_) => ExitCode::from(1),
        }
    }
}

/// What a command prints with: the client, `--json`, colour.
pub(crate) struct Ctx {
    client: Client,
    json: bool,
    colour: bool,
}

impl Ctx {
    fn try_new(args: &ApiArgs) -> Result<Self, OpsError> {
        let client = Client::try_new(&ClientConfig {
            api: args.api.clone(),
            token: args.token.clone().filter(|t| !t.is_empty()),
            ca_file: args.ca_file.clone(),
        })?;
        Ok(Self {
            client,
            json: args.json,
            colour: !args.json && table::colour_wanted(),
        })
    }
}

/// Runs one operator command; the exit status says how it went.
pub(crate) fn run(command: OpsCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("muster: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(command)) {
        Ok(()) => ExitCode::SUCCESS,
        // Nobody reads any more (`muster events | head`): not an error.
        Err(OpsError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("muster: error: {e}");
            match &e {
                OpsError::Client(ClientError::Unreachable { .. }) => {
                    eprintln!("muster: is `muster serve` running there? Set --api or MUSTER_API.");
                }
                OpsError::Client(ClientError::Api {
                    status: 409, message, ..
                }) if message.contains("force") => {
                    eprintln!("muster: --force does it anyway");
                }
                _ => {}
            }
            e.exit_code()
        }
    }
}

async fn dispatch(command: OpsCommand) -> Result<(), OpsError> {
    use OpsCommand as C;
    match command {
        C::Hosts(a) => show::hosts(&Ctx::try_new(&a.api)?, a.host.as_deref()).await,
        C::Pools(a) => show::pools(&Ctx::try_new(&a.api)?).await,
        C::Zone(a) => show::zone(&Ctx::try_new(&a.api)?, a.zone.as_deref(), a.all).await,
        C::Move(a) => change::move_host(&Ctx::try_new(&a.api)?, &a.host, &a.role, a.now, a.force).await,
        C::Drain(a) => change::drain(&Ctx::try_new(&a.api)?, &a.host, a.force).await,
        C::Cordon(a) => change::cordon(&Ctx::try_new(&a.api)?, &a.host, a.force).await,
        C::Uncordon(a) => change::uncordon(&Ctx::try_new(&a.api)?, &a.host).await,
        C::Pin(a) => change::pin(&Ctx::try_new(&a.api)?, &a.host, a.role.as_deref(), a.force).await,
        C::Unpin(a) => change::unpin(&Ctx::try_new(&a.api)?, &a.host).await,
        C::Register(a) => {
            let ctx = Ctx::try_new(&a.api)?;
            change::register(&ctx, a.host, a.addresses, a.role, a.labels.into_iter().collect()).await
        }
        C::Remove(a) => change::remove(&Ctx::try_new(&a.api)?, &a.host, a.force).await,
        C::Reload(a) => change::reload(&Ctx::try_new(&a.api)?).await,
        C::Record(command) => names::record(command).await,
        C::Alias(command) => names::alias(command).await,
        C::Events(a) => {
            let ctx = Ctx::try_new(&a.api)?;
            let since = match &a.since {
                Some(t) => Some(time::parse_since(t, time::now_ms()).map_err(OpsError::Usage)?),
                None => None,
            };
            if a.follow {
                events::follow(&ctx, a.host, since).await
            } else {
                events::list(&ctx, a.host, since, a.limit).await
            }
        }
    }
}

/// Writes `text` to stdout at once.
fn print(text: &str) -> Result<(), OpsError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Prints the server's JSON document as is, on its own line.
fn print_json(json: &str) -> Result<(), OpsError> {
    print(&format!("{}\n", json.trim_end()))
}
