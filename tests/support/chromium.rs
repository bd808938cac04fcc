//! Debian's `chromium`, headless, as the browser the status page is tested
//! in: load a URL, dump the DOM (or a screenshot), and find the console
//! errors the page caused in chromium's log. Every run gets its own
//! profile, home and cache in a temp dir; chromium and every process it
//! starts (one process group) are killed and the dir removed on drop, even
//! when the test fails.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `chromium` binary; panics (the test fails, it is not skipped) when
/// it is not installed.
pub fn chromium_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromium is not installed: the status page is tested in a real headless browser. \
                 Install Debian's package (`sudo apt-get install -y chromium`) or run scripts/test.sh, \
                 which installs it"
            )
        })
}

/// What one headless run left.
pub struct Run {
    /// stdout: the DOM with `--dump-dom`.
    pub stdout: String,
    /// chromium's log (`--enable-logging=stderr`).
    pub log: String,
}

impl Run {
    /// Lines of the log that report something the page did wrong: console
    /// messages (chromium logs `console.*`, uncaught exceptions and CSP
    /// violations as `INFO:CONSOLE` lines) and errors naming `origin`.
    /// chromium's own complaints about its sandbox (no D-Bus, no GPU) are
    /// not the page's and are left out.
    pub fn page_errors(&self, origin: &str) -> Vec<&str> {
        page_errors(&self.log, origin)
    }
}

/// See [`Run::page_errors`].
pub fn page_errors<'a>(log: &'a str, origin: &str) -> Vec<&'a str> {
    log.lines()
        .filter(|l| {
            l.contains(":CONSOLE")
                || l.contains("CONSOLE(")
                || l.contains("Uncaught")
                || (l.contains("ERROR:") && l.contains(origin))
        })
        .collect()
}

/// A headless chromium with its own temp dir.
pub struct Chromium {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Chromium {
    /// Loads `url` and returns its DOM after load, with the log.
    pub fn dump_dom(url: &str) -> Run {
        let mut c = Self::new();
        c.run(&["--dump-dom", url])
    }

    /// Loads `url` at `width`×`height` and saves a PNG to `png`.
    pub fn screenshot(url: &str, png: &Path, width: u32, height: u32) -> Run {
        let mut c = Self::new();
        c.run(&[
            &format!("--screenshot={}", png.display()),
            &format!("--window-size={width},{height}"),
            "--hide-scrollbars",
            url,
        ])
    }

    fn new() -> Self {
        let binary = chromium_binary();
        assert!(binary.is_file());
        Self {
            dir: tempfile::tempdir().expect("chromium temp dir"),
            child: None,
        }
    }

    fn run(&mut self, args: &[&str]) -> Run {
        let dir = self.dir.path().to_path_buf();
        let out_path = dir.join("stdout");
        let log_path = dir.join("stderr");
        let stdout = std::fs::File::create(&out_path).expect("stdout file");
        let stderr = std::fs::File::create(&log_path).expect("stderr file");
        let profile = dir.join("profile");
        let child = Command::new(chromium_binary())
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .env("HOME", &dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_CACHE_HOME", dir.join("cache"))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Its own process group: the zygote, GPU and renderer processes
            // go with it.
            .process_group(0)
            .spawn()
            .expect("start chromium");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                break status;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("chromium did not finish within 60 s; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let run = Run {
            stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
            log: std::fs::read_to_string(&log_path).unwrap_or_default(),
        };
        assert!(
            status.success(),
            "chromium failed with {status}; its log:\n{}",
            run.log
        );
        run
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The whole group: chromium leaves helpers behind otherwise.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
        // `dir` is removed when it drops, after the processes are gone.
    }
}
