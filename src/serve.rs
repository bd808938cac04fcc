//! `muster serve`: the controller engine, the DNS listeners, NOTIFY and the API,
//! with SIGHUP reloading the policy.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use muster_api::{ApiState, OperatorToken, Scope, TlsConfig, Tokens, spawn_api};
use muster_controller::engine::{Engine, SharedObserved};
use muster_controller::policy;
use muster_controller::runner::{ControllerHandle, now_millis, spawn_controller};
use muster_controller::store::Store;
use muster_dns::notify::{NotifyConfig, spawn_notifier};
use muster_dns::server::{DnsConfig, spawn_dns_server};
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

/// Arguments of `muster serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The policy file (YAML).
    #[arg(long, env = "MUSTER_POLICY")]
    policy: PathBuf,
    /// Database URL.
    #[arg(long, env = "MUSTER_DB", default_value = "sqlite://muster.db")]
    db: String,
    /// DNS address (UDP and TCP); repeat for more, e.g. `[::1]:5300`.
    #[arg(
        long = "dns-listen",
        env = "MUSTER_DNS_LISTEN",
        value_delimiter = ',',
        default_value = "127.0.0.1:5300"
    )]
    dns_listen: Vec<SocketAddr>,
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
    let tls = tls_config(args.tls_cert.as_deref(), args.tls_key.as_deref())?;
    let policy = policy::load_file(&args.policy)?;
    let store = Store::open(&args.db)
        .await
        .with_context(|| format!("opening {}", args.db))?;
    info!(backend = store.backend(), "store opened");
    let observed = SharedObserved::default();
    let engine = Engine::start(policy, store.clone(), observed.clone(), now_millis()).await?;
    let cancel = CancellationToken::new();

    let mut dns_config = DnsConfig {
        listen: args.dns_listen.clone(),
        ..DnsConfig::default()
    };
    if let Some(workers) = args.dns_workers {
        dns_config.udp_workers = workers;
    }
    let dns = spawn_dns_server(&dns_config, engine.shared(), cancel.clone())
        .await
        .context("starting DNS")?;
    let notifier = spawn_notifier(
        engine.shared(),
        engine.subscribe(),
        NotifyConfig::default(),
        cancel.clone(),
    );
    let zone = engine.shared();
    let (controller, controller_task) = spawn_controller(engine, observed, cancel.clone());
    let state = ApiState {
        zone,
        controller: Some(controller.clone()),
        store: Some(store),
        dns_stats: Some(dns.stats()),
        history: Default::default(),
        tokens: Tokens {
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
        },
    };
    let (_, api) = spawn_api(args.api_listen, state, tls, cancel.clone())
        .await
        .with_context(|| format!("starting the API on {}", args.api_listen))?;

    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = hangup.recv() => reload(&controller, &args.policy).await,
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    info!("shutting down");
    cancel.cancel();
    dns.join().await;
    let _ = controller_task.await;
    let _ = notifier.await;
    let _ = api.await;
    Ok(())
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

/// Reloads the policy; a bad one is reported and the running one stays.
async fn reload(controller: &ControllerHandle, path: &Path) {
    info!(policy = %path.display(), "reloading policy");
    let policy = match policy::load_file(path) {
        Ok(p) => p,
        Err(e) => {
            error!("policy rejected, keeping the one in force:\n{e}");
            return;
        }
    };
    match controller.reload(policy).await {
        Ok(report) => match report.serial {
            Some(serial) => info!(serial, "policy applied"),
            None => info!("policy applied; zone unchanged"),
        },
        Err(e) => error!(error = %e, "policy not applied, keeping the one in force"),
    }
}
