//! `muster serve`: the controller engine, the DNS listeners, NOTIFY and the API,
//! with SIGHUP reloading the policy. [`start_server`] wires them together
//! for `muster demo` too.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use muster_api::{ApiState, ConnectionLimits, OperatorToken, Scope, TlsConfig, Tokens, spawn_api};
use muster_controller::engine::{Engine, SharedObserved};
use muster_controller::policy::{self, Policy};
use muster_controller::runner::{ControllerHandle, now_millis, spawn_controller};
use muster_controller::store::Store;
use muster_dns::cookie::CookieSecrets;
use muster_dns::notify::{NotifyConfig, spawn_notifier};
use muster_dns::rrl::SharedRateLimit;
use muster_dns::server::{DnsConfig, DnsServer, spawn_dns_server};
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

/// Where `muster serve` keeps its state unless told otherwise: an absolute
/// path, so the database does not depend on the working directory.
pub(crate) const DEFAULT_DB: &str = "sqlite:///var/lib/muster/muster.db";

/// Arguments of `muster serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The policy file (YAML).
    #[arg(long, env = "MUSTER_POLICY")]
    policy: PathBuf,
    /// Database URL: `sqlite:///PATH` (its directory is created when
    /// missing) or `postgres://…`.
    #[arg(long, env = "MUSTER_DB", default_value = DEFAULT_DB)]
    db: String,
    /// DNS address (UDP and TCP); repeat for more, e.g. `[::1]:5300`.
    #[arg(
        long = "dns-listen",
        env = "MUSTER_DNS_LISTEN",
        value_delimiter = ',',
        default_value = "127.0.0.1:5300"
    )]
    dns_listen: Vec<SocketAddr>,
    /// The address NOTIFY leaves from (one per family; repeat for IPv4
    /// and IPv6). Default: the `--dns-listen` address of that family when
    /// it is a specific one, since secondaries accept NOTIFY from their
    /// primary's address only; with a wildcard listen address and no
    /// `--notify-source`, the kernel picks (the route's preferred source).
    #[arg(long = "notify-source", env = "MUSTER_NOTIFY_SOURCE", value_delimiter = ',')]
    notify_source: Vec<IpAddr>,
    /// A file holding the DNS cookie secret (32 hex digits), for several
    /// instances answering for one name to accept each other's server
    /// cookies. Default: a random secret, rolled over daily.
    #[arg(
        long = "dns-cookie-secret-file",
        env = "MUSTER_DNS_COOKIE_SECRET_FILE",
        value_name = "FILE"
    )]
    dns_cookie_secret_file: Option<PathBuf>,
    /// UDP worker threads per DNS address (default: one per CPU).
    #[arg(long, env = "MUSTER_DNS_WORKERS")]
    dns_workers: Option<usize>,
    /// API address.
    #[arg(
        long = "api-listen",
        env = "MUSTER_API_LISTEN",
        default_value = "127.0.0.1:8700"
    )]
    api_listen: SocketAddr,
    /// At most this many API connections at once (heartbeats included);
    /// past it new connections are closed at once and the log says so. A
    /// request's headers must arrive within 10 s, and an idle keep-alive
    /// connection is closed after 10 s.
    #[arg(
        long = "api-max-connections",
        env = "MUSTER_API_MAX_CONNECTIONS",
        default_value_t = 10_000
    )]
    api_max_connections: usize,
    /// Serve the API over HTTPS with this PEM certificate chain (leaf
    /// first); needs `--tls-key`.
    #[arg(long = "tls-cert", env = "MUSTER_TLS_CERT", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, RSA or SEC1) of `--tls-cert`.
    #[arg(long = "tls-key", env = "MUSTER_TLS_KEY", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// A token agents must present to report (repeat for several). With
    /// none, heartbeats are refused.
    #[arg(
        long = "agent-token",
        env = "MUSTER_AGENT_TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    agent_tokens: Vec<String>,
    /// An enrolment token: an agent presenting it for a new host name gets
    /// the host's own token back, and the name is bound to that token (a
    /// second agent claiming it gets 409). Repeat for several.
    #[arg(
        long = "enrolment-token",
        env = "MUSTER_ENROLMENT_TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    enrolment_tokens: Vec<String>,
    /// An operator token that may change things, `NAME=SECRET` (the name is
    /// the actor in events) or a bare secret; repeat for several.
    #[arg(
        long = "admin-token",
        env = "MUSTER_ADMIN_TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    admin_tokens: Vec<String>,
    /// An operator token that may only read, `NAME=SECRET` or a bare secret.
    #[arg(
        long = "read-token",
        env = "MUSTER_READ_TOKEN",
        value_delimiter = ',',
        hide_env_values = true
    )]
    read_tokens: Vec<String>,
    /// Also run this many simulated agents inside the process, the ones
    /// `muster demo` runs: the policy's hosts first (then `smurfN` on
    /// 127.0.1.N), reporting over HTTP with a token made up at start and a
    /// `queue_depth` that follows a repeating delivery bulge.
    #[arg(
        long = "demo-agents",
        env = "MUSTER_DEMO_AGENTS",
        value_name = "N",
        default_value_t = 0
    )]
    demo_agents: usize,
}

pub(crate) fn run(args: ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("muster: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("muster serve: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if args.demo_agents > 0 && args.tls_cert.is_some() {
        anyhow::bail!("--demo-agents report over plain HTTP; they cannot be used with --tls-cert");
    }
    let tls = tls_config(args.tls_cert.as_deref(), args.tls_key.as_deref())?;
    let policy = policy::load_file(&args.policy)?;
    // What `muster check` would warn of, in the log where operators look
    // (a secondary in a documentation range, names a pool may leave empty…).
    for problem in &policy.warnings {
        warn!("policy: {problem}");
    }
    let mut tokens = Tokens {
        agent: args.agent_tokens.clone(),
        enrolment: args.enrolment_tokens.clone(),
        operators: args
            .admin_tokens
            .iter()
            .map(|t| OperatorToken::parse(t, Scope::Admin))
            .chain(
                args.read_tokens
                    .iter()
                    .map(|t| OperatorToken::parse(t, Scope::Read)),
            )
            .collect(),
    };
    // The simulated agents get a token of their own, made up now.
    let demo_token = match args.demo_agents {
        0 => None,
        _ => Some(crate::demo::new_agent_token()?),
    };
    tokens.agent.extend(demo_token.clone());
    let mut dns = DnsConfig {
        listen: args.dns_listen.clone(),
        ..DnsConfig::default()
    };
    if let Some(workers) = args.dns_workers {
        dns.udp_workers = workers;
    }
    if let Some(path) = &args.dns_cookie_secret_file {
        dns.cookie_secret = Some(read_cookie_secret(path)?);
    }
    let cancel = CancellationToken::new();
    let notify_sources = notify_sources(&args.notify_source, &args.dns_listen)?;
    let config = ServerConfig {
        policy,
        db: args.db.clone(),
        dns,
        notify_sources,
        api_listen: args.api_listen,
        api_limits: ConnectionLimits {
            max_connections: args.api_max_connections,
            ..ConnectionLimits::default()
        },
        tls,
        tokens,
    };
    let server = start_server(config, cancel.clone()).await?;
    let simulation = match demo_token {
        Some(token) => Some(crate::demo::spawn_simulation(
            &server,
            token,
            args.demo_agents,
            1.0,
            cancel.child_token(),
        )?),
        None => None,
    };

    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = hangup.recv() => reload(&server.controller, &args.policy).await,
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    info!("shutting down");
    if let Some(simulation) = simulation {
        simulation.stop().await;
    }
    server.shutdown().await;
    Ok(())
}

/// Reads a cookie secret: 32 hex digits (16 bytes), surrounding space ignored.
fn read_cookie_secret(path: &Path) -> anyhow::Result<CookieSecrets> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the DNS cookie secret {}", path.display()))?;
    let hex = text.trim();
    let bytes: Option<Vec<u8>> = (hex.len() == 32 && hex.is_ascii())
        .then(|| {
            (0..16)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect()
        })
        .flatten();
    let secret: [u8; 16] = bytes.and_then(|b| b.try_into().ok()).with_context(|| {
        format!(
            "{}: a DNS cookie secret is 32 hex digits (16 bytes), e.g. from `openssl rand -hex 16`",
            path.display()
        )
    })?;
    Ok(CookieSecrets::new(secret))
}

/// Where NOTIFY leaves from: the `--notify-source` addresses when given
/// (one per family), otherwise the first specific `--dns-listen` address of
/// each family — the address secondaries know as their primary's.
pub(crate) fn notify_sources(given: &[IpAddr], listen: &[SocketAddr]) -> anyhow::Result<Vec<IpAddr>> {
    if !given.is_empty() {
        for family in [true, false] {
            if given.iter().filter(|ip| ip.is_ipv4() == family).count() > 1 {
                anyhow::bail!("--notify-source: give at most one IPv4 and one IPv6 address");
            }
        }
        if let Some(ip) = given.iter().find(|ip| ip.is_unspecified()) {
            anyhow::bail!("--notify-source {ip}: give the specific address muster serves DNS on");
        }
        return Ok(given.to_vec());
    }
    let mut sources: Vec<IpAddr> = Vec::new();
    for addr in listen {
        let ip = addr.ip();
        if !ip.is_unspecified() && !sources.iter().any(|s| s.is_ipv4() == ip.is_ipv4()) {
            sources.push(ip);
        }
    }
    Ok(sources)
}

/// What [`start_server`] runs: everything `muster serve` wires together.
pub(crate) struct ServerConfig {
    /// The policy in force at start.
    pub(crate) policy: Policy,
    /// The store's URL.
    pub(crate) db: String,
    /// The DNS listeners.
    pub(crate) dns: DnsConfig,
    /// Where NOTIFY leaves from, one address per family at most (see
    /// [`notify_sources`]).
    pub(crate) notify_sources: Vec<IpAddr>,
    /// The API's address.
    pub(crate) api_listen: SocketAddr,
    /// Bounds on the API's connections (header and idle timeout, how many).
    pub(crate) api_limits: ConnectionLimits,
    /// HTTPS for the API, when given.
    pub(crate) tls: Option<TlsConfig>,
    /// Agent and operator tokens.
    pub(crate) tokens: Tokens,
}

/// A running server: store, engine, DNS, NOTIFY, the controller and the
/// API, all stopped by one cancellation token.
pub(crate) struct Server {
    /// The controller, as the API sees it.
    pub(crate) controller: ControllerHandle,
    /// The store (the event log).
    pub(crate) store: Store,
    /// The DNS addresses bound (ports resolved).
    pub(crate) dns_addrs: Vec<SocketAddr>,
    /// The API's address bound.
    pub(crate) api_addr: SocketAddr,
    cancel: CancellationToken,
    dns: DnsServer,
    controller_task: JoinHandle<()>,
    notifier: JoinHandle<()>,
    rate_limit_follower: JoinHandle<()>,
    api: JoinHandle<std::io::Result<()>>,
}

/// The directory of an SQLite database file (`sqlite:///var/lib/x.db` or
/// `sqlite://rel/x.db`), when it names one; `None` for in-memory databases,
/// bare file names and other backends.
fn sqlite_dir(url: &str) -> Option<&Path> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path == ":memory:" || url.contains("mode=memory") {
        return None;
    }
    Path::new(path).parent().filter(|p| !p.as_os_str().is_empty())
}

/// Opens the store, starts the engine (which publishes the zone), then
/// DNS, NOTIFY, the controller and the API; all run until `cancel` fires
/// and [`Server::shutdown`] waits for them.
pub(crate) async fn start_server(config: ServerConfig, cancel: CancellationToken) -> anyhow::Result<Server> {
    if let Some(dir) = sqlite_dir(&config.db) {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "cannot create {} for the database {} (--db or MUSTER_DB): give a writable \
                 place, e.g. --db sqlite://$HOME/muster.db",
                dir.display(),
                config.db
            )
        })?;
    }
    let store = Store::open(&config.db)
        .await
        .with_context(|| format!("opening {}", config.db))?;
    info!(backend = store.backend(), "store opened");
    let observed = SharedObserved::default();
    config
        .dns
        .rate_limit
        .store(Arc::new(config.policy.rate_limit.clone()));
    let engine = Engine::start(config.policy, store.clone(), observed.clone(), now_millis()).await?;
    let dns = spawn_dns_server(&config.dns, engine.shared(), cancel.clone())
        .await
        .context("starting DNS")?;
    let notify = NotifyConfig {
        sources: config.notify_sources.clone(),
        ..NotifyConfig::default()
    };
    for family in ["IPv4", "IPv6"] {
        match notify
            .sources
            .iter()
            .find(|ip| ip.is_ipv4() == (family == "IPv4"))
        {
            Some(source) => info!(%source, "NOTIFY over {family} leaves from this address"),
            None => {
                info!("NOTIFY over {family} leaves from the address the kernel picks (set --notify-source)")
            }
        }
    }
    let notifier = spawn_notifier(engine.subscribe(), notify, cancel.clone());
    let zone = engine.shared();
    let (controller, controller_task) = spawn_controller(engine, observed, cancel.clone());
    let rate_limit_follower = tokio::spawn(follow_rate_limit(
        controller.clone(),
        Arc::clone(&config.dns.rate_limit),
        cancel.clone(),
    ));
    let state = ApiState {
        zone,
        controller: controller.clone(),
        store: store.clone(),
        dns_stats: dns.stats(),
        history: Default::default(),
        tokens: config.tokens,
    };
    let (api_addr, api) = match spawn_api(
        config.api_listen,
        state,
        config.tls,
        config.api_limits,
        cancel.clone(),
    )
    .await
    {
        Ok(api) => api,
        Err(e) => {
            // Stop what runs already before saying why.
            cancel.cancel();
            dns.join().await;
            let _ = controller_task.await;
            let _ = notifier.await;
            let _ = rate_limit_follower.await;
            return Err(e).with_context(|| format!("starting the API on {}", config.api_listen));
        }
    };
    Ok(Server {
        controller,
        store,
        dns_addrs: dns.local_addrs().to_vec(),
        api_addr,
        cancel,
        dns,
        controller_task,
        notifier,
        rate_limit_follower,
        api,
    })
}

/// How often the DNS listeners' rate limiting is compared with the policy
/// in force.
const RATE_LIMIT_FOLLOW: Duration = Duration::from_millis(250);

/// Keeps the DNS listeners' rate limiting equal to the policy in force:
/// a reload (SIGHUP or the API) that the controller accepted changes it
/// within [`RATE_LIMIT_FOLLOW`]; a rejected one changes nothing.
async fn follow_rate_limit(controller: ControllerHandle, shared: SharedRateLimit, cancel: CancellationToken) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(RATE_LIMIT_FOLLOW) => {}
        }
        let policy = controller.view().policy.clone();
        if policy.rate_limit != **shared.load() {
            let limits = &policy.rate_limit;
            info!(
                responses_per_second = limits.responses_per_second,
                slip = limits.slip,
                exempt = limits.exempt.len(),
                "DNS rate limiting changed"
            );
            shared.store(Arc::new(policy.rate_limit.clone()));
        }
    }
}

impl Server {
    /// Stops everything and waits for it; the store is closed last.
    pub(crate) async fn shutdown(self) {
        self.cancel.cancel();
        self.dns.join().await;
        let _ = self.controller_task.await;
        let _ = self.notifier.await;
        let _ = self.rate_limit_follower.await;
        let _ = self.api.await;
        self.store.close().await;
    }
}

/// The API's TLS settings: both files or neither.
fn tls_config(cert: Option<&Path>, key: Option<&Path>) -> anyhow::Result<Option<TlsConfig>> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(TlsConfig::from_pem_files(cert, key)?)),
        (Some(_), None) => anyhow::bail!(
            "--tls-cert needs --tls-key (or MUSTER_TLS_KEY) too: HTTPS needs the certificate and its private key"
        ),
        (None, Some(_)) => anyhow::bail!(
            "--tls-key needs --tls-cert (or MUSTER_TLS_CERT) too: HTTPS needs the certificate and its private key"
        ),
    }
}

/// The actor of a reload asked for by a signal.
const SIGHUP: &str = "sighup";

/// Reloads the policy; a bad one is reported (log and `reload` event) and
/// the running one stays.
async fn reload(controller: &ControllerHandle, path: &Path) {
    info!(policy = %path.display(), "reloading policy");
    let policy = match policy::load_file(path) {
        Ok(p) => p,
        Err(e) => {
            error!("policy rejected, keeping the one in force:\n{e}");
            controller.reload_rejected(SIGHUP, &e.to_string()).await;
            return;
        }
    };
    match controller.reload(policy, SIGHUP).await {
        Ok(report) => match report.serial {
            Some(serial) => info!(serial, "policy applied"),
            None => info!("policy applied; zone unchanged"),
        },
        Err(e) => error!(error = %e, "policy not applied, keeping the one in force"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_of_an_sqlite_file() {
        assert_eq!(sqlite_dir(DEFAULT_DB), Some(Path::new("/var/lib/muster")));
        assert_eq!(
            sqlite_dir("sqlite:///tmp/a/b.db?mode=rwc"),
            Some(Path::new("/tmp/a"))
        );
        assert_eq!(sqlite_dir("sqlite://data/muster.db"), Some(Path::new("data")));
        assert_eq!(sqlite_dir("sqlite://muster.db"), None);
        assert_eq!(sqlite_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_dir("postgres://u@127.0.0.1/muster"), None);
    }
}
