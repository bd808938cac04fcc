//! A PostgreSQL server for the tests: `$MUSTER_TEST_POSTGRES_URL` when set,
//! otherwise a throwaway server from Debian's `postgresql` package, started
//! once per test binary.
//!
//! Cleanup: statics are never dropped, so no `Drop` can stop the server.
//! Instead, before the server starts, a watchdog shell is spawned in its own
//! process group (so a terminal's Ctrl-C does not reach it). It polls this
//! test binary's pid once a second with `kill -0`; once the binary has gone
//! — tests passed, a test panicked, the binary was killed — it runs
//! `pg_ctl -m immediate stop` and removes the server's directory. Nothing in
//! the test binary needs to run at exit.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Where to point tests that need a PostgreSQL server.
pub const URL_VAR: &str = "MUSTER_TEST_POSTGRES_URL";

/// The URL of a server on which the tests may create databases: the
/// environment's, or a throwaway one started on first use. Panics, with
/// what to do, when neither is possible.
pub fn server_url() -> String {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Ok(url),
        _ => start_throwaway(),
    });
    match server {
        Ok(url) => url.clone(),
        Err(why) => panic!("no PostgreSQL server for the store tests: {why}"),
    }
}

/// `base` with its database name replaced by `database`.
pub fn with_database(base: &str, database: &str) -> String {
    let (head, query) = match base.split_once('?') {
        Some((head, query)) => (head, format!("?{query}")),
        None => (base, String::new()),
    };
    let authority = head.find("://").map_or(0, |i| i + 3);
    let path = head[authority..].find('/').map_or(head.len(), |i| authority + i);
    format!("{}/{database}{query}", &head[..path])
}

fn start_throwaway() -> Result<String, String> {
    let bin = find_bin_dir().ok_or_else(|| {
        format!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
             `apt-get install postgresql` (scripts/test.sh does), \
             or set {URL_VAR} to a server where the tests may create databases"
        )
    })?;
    let as_root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("muster-pg-")
        .tempdir_in(std::env::temp_dir())
        .map_err(|e| format!("creating a temp dir: {e}"))?
        .keep();
    if as_root {
        // initdb refuses to run as root: the server runs as `postgres`.
        run(Command::new("chown").arg("postgres").arg(&dir))?;
    }
    spawn_watchdog(&bin, &dir, as_root)?;

    let data = dir.join("data");
    run(pg_command(&bin, "initdb", as_root).arg("-D").arg(&data).args([
        "-A",
        "trust",
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]))?;

    let mut last_error = String::new();
    for _ in 0..3 {
        let port = free_port()?;
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            dir.display()
        );
        let started = run(pg_command(&bin, "pg_ctl", as_root)
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(options)
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-w", "-t", "60", "start"]));
        match started {
            Ok(()) => return Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres")),
            Err(e) => {
                let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
                last_error = format!("{e}\nserver log:\n{log}");
            }
        }
    }
    Err(last_error)
}

/// The newest `/usr/lib/postgresql/N/bin` that has `initdb`.
fn find_bin_dir() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program` from `bin`, as `postgres` when we are root.
fn pg_command(bin: &Path, program: &str, as_root: bool) -> Command {
    if as_root {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(bin.join(program));
        cmd
    } else {
        Command::new(bin.join(program))
    }
}

/// Starts the shell that stops the server and removes `dir` once this test
/// binary has exited, however it exits.
fn spawn_watchdog(bin: &Path, dir: &Path, as_root: bool) -> Result<(), String> {
    use std::os::unix::process::CommandExt;
    let pg_ctl = bin.join("pg_ctl");
    let stop = if as_root {
        "runuser -u postgres -- \"$3\""
    } else {
        "\"$3\""
    };
    let script = format!(
        "while kill -0 \"$1\" 2>/dev/null; do sleep 1; done; \
         {stop} -D \"$2/data\" -m immediate stop; rm -rf \"$2\""
    );
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("muster-pg-watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .arg(pg_ctl)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting the watchdog shell: {e}"))?;
    // Deliberately not waited for: it outlives this process (init reaps it).
    drop(child);
    Ok(())
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {cmd:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{cmd:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port: {e}"))
}
