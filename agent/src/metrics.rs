//! Load metrics for each heartbeat: `queue_depth`, `load1/5/15`, `cpu`,
//! `mem_used` and `disk_free`. The parsers take the text of `/proc` files so
//! tests feed them fixtures; a metric that cannot be read is left out of the
//! report rather than guessed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tracing::warn;

use crate::config::QueueSource;
use crate::shell;

/// Postfix's queue directories, below its spool.
pub const POSTFIX_QUEUES: [&str; 5] = ["incoming", "active", "deferred", "hold", "maildrop"];
const QUEUE_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the metrics; remembers the last CPU sample so `cpu` is the share
/// busy since the previous heartbeat.
#[derive(Debug)]
pub struct Metrics {
    proc_root: PathBuf,
    spool: PathBuf,
    queue: QueueSource,
    last_cpu: Option<CpuTimes>,
}

/// Cumulative CPU time from the `cpu` line of `/proc/stat`, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuTimes {
    /// Every tick.
    pub total: u64,
    /// Ticks spent idle or waiting for I/O.
    pub idle: u64,
}

impl Metrics {
    /// A reader of `proc_root` (normally `/proc`), `spool`'s disk and `queue`.
    pub fn new(proc_root: PathBuf, spool: PathBuf, queue: QueueSource) -> Self {
        Self {
            proc_root,
            spool,
            queue,
            last_cpu: None,
        }
    }

    /// Everything that can be read now. `cpu` appears from the second call.
    pub async fn sample(&mut self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        if let Some(depth) = self.queue_depth().await {
            out.insert("queue_depth".to_owned(), depth);
        }
        if let Some([l1, l5, l15]) = self.read("loadavg").as_deref().and_then(parse_loadavg) {
            out.insert("load1".to_owned(), l1);
            out.insert("load5".to_owned(), l5);
            out.insert("load15".to_owned(), l15);
        }
        if let Some(now) = self.read("stat").as_deref().and_then(parse_cpu) {
            if let Some(busy) = self.last_cpu.and_then(|before| cpu_busy(before, now)) {
                out.insert("cpu".to_owned(), busy);
            }
            self.last_cpu = Some(now);
        }
        if let Some(used) = self.read("meminfo").as_deref().and_then(parse_mem_used) {
            out.insert("mem_used".to_owned(), used);
        }
        if let Some(free) = disk_free(&self.spool) {
            out.insert("disk_free".to_owned(), free);
        }
        out
    }

    fn read(&self, file: &str) -> Option<String> {
        std::fs::read_to_string(self.proc_root.join(file)).ok()
    }

    async fn queue_depth(&self) -> Option<f64> {
        match &self.queue {
            QueueSource::Command(command) => queue_command(command).await,
            QueueSource::Postfix(spool) => {
                let spool = spool.clone();
                tokio::task::spawn_blocking(move || count_postfix_queue(&spool))
                    .await
                    .ok()
                    .flatten()
                    .map(|n| n as f64)
            }
        }
    }
}

/// `load1`, `load5`, `load15` from `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// The aggregate `cpu` line of `/proc/stat`.
pub fn parse_cpu(text: &str) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user nice system idle iowait irq softirq steal [guest guest_nice]; guest
    // time is already counted in user and nice.
    let total = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4).copied().unwrap_or(0);
    Some(CpuTimes { total, idle })
}

/// Percent busy between two samples; `None` when no time passed.
pub fn cpu_busy(before: CpuTimes, now: CpuTimes) -> Option<f64> {
    let total = now.total.checked_sub(before.total)?;
    let idle = now.idle.checked_sub(before.idle)?;
    (total > 0).then(|| 100.0 * total.saturating_sub(idle) as f64 / total as f64)
}

/// Percent of memory in use from `/proc/meminfo`: `MemTotal` less
/// `MemAvailable` (or, on kernels without it, free + buffers + cached).
pub fn parse_mem_used(text: &str) -> Option<f64> {
    let field = |key: &str| -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
    };
    let total = field("MemTotal")?;
    let available = field("MemAvailable").or_else(|| {
        Some(field("MemFree")? + field("Buffers").unwrap_or(0.0) + field("Cached").unwrap_or(0.0))
    })?;
    (total > 0.0).then(|| (100.0 * (total - available) / total).clamp(0.0, 100.0))
}

/// Percent of `path`'s file system free for unprivileged use.
pub fn disk_free(path: &Path) -> Option<f64> {
    let st = nix::sys::statvfs::statvfs(path).ok()?;
    let blocks = st.blocks() as f64;
    (blocks > 0.0).then(|| 100.0 * st.blocks_available() as f64 / blocks)
}

/// The number a queue command printed (first word of its stdout).
pub fn parse_queue_output(stdout: &str) -> Option<f64> {
    let n: f64 = stdout.split_whitespace().next()?.parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// Files under Postfix's queue directories below `spool`; `None` when none
/// of them exists (no Postfix here).
pub fn count_postfix_queue(spool: &Path) -> Option<u64> {
    let dirs: Vec<PathBuf> = POSTFIX_QUEUES
        .iter()
        .map(|q| spool.join(q))
        .filter(|d| d.is_dir())
        .collect();
    if dirs.is_empty() {
        return None;
    }
    Some(dirs.iter().map(|d| count_files(d)).sum())
}

fn count_files(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => count_files(&e.path()),
            Ok(_) => 1,
            Err(_) => 0,
        })
        .sum()
}

async fn queue_command(command: &str) -> Option<f64> {
    match shell::run(command, &[], shell::Stdout::Capture, QUEUE_COMMAND_TIMEOUT).await {
        Ok(ran) if ran.status.success() => {
            let text = String::from_utf8_lossy(&ran.stdout);
            let n = parse_queue_output(&text);
            if n.is_none() {
                warn!(output = %text.trim(), "queue_command printed no number; queue_depth not reported");
            }
            n
        }
        Ok(ran) => {
            warn!(
                status = %shell::describe(ran.status),
                stderr = %shell::last_lines(&ran.stderr, 1),
                "queue_command failed; queue_depth not reported"
            );
            None
        }
        Err(e) => {
            warn!(error = ?e, "queue_command did not finish; queue_depth not reported");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  4705 356 584 3699176 23 23 0 0 0 0\n\
                        cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n\
                        intr 114930548 113199788 3 0 5 263 0 4 [... lots more numbers ...]\n";
    const STAT_LATER: &str = "cpu  4805 356 684 3699276 23 23 0 0 0 0\n";

    const MEMINFO: &str = "MemTotal:       16303428 kB\n\
                           MemFree:         3200000 kB\n\
                           MemAvailable:    4075857 kB\n\
                           Buffers:          100000 kB\n\
                           Cached:          1000000 kB\n";

    #[test]
    fn loadavg() {
        assert_eq!(
            parse_loadavg("0.52 1.25 2.00 1/467 12345\n"),
            Some([0.52, 1.25, 2.0])
        );
        assert_eq!(parse_loadavg("0.52 x"), None);
        assert_eq!(parse_loadavg(""), None);
    }

    #[test]
    fn cpu_is_the_busy_share_between_two_samples() {
        let before = parse_cpu(STAT).expect("cpu line");
        assert_eq!(
            before,
            CpuTimes {
                total: 4705 + 356 + 584 + 3_699_176 + 23 + 23,
                idle: 3_699_176 + 23,
            }
        );
        let now = parse_cpu(STAT_LATER).expect("cpu line");
        // 300 ticks passed, 100 of them idle.
        let busy = cpu_busy(before, now).expect("time passed");
        assert!((busy - 200.0 / 3.0).abs() < 1e-9, "{busy}");
        assert_eq!(cpu_busy(now, now), None);
        assert_eq!(cpu_busy(now, before), None, "a counter going back is no sample");
        assert_eq!(parse_cpu("cpu0 1 2 3 4\n"), None);
        assert_eq!(parse_cpu("cpu  1 2 x 4\n"), None);
    }

    #[test]
    fn memory_used_prefers_mem_available() {
        let used = parse_mem_used(MEMINFO).expect("parses");
        assert!((used - 75.0).abs() < 0.01, "{used}");
        let old_kernel = MEMINFO.replace("MemAvailable:    4075857 kB\n", "");
        let used = parse_mem_used(&old_kernel).expect("parses");
        let expected = 100.0 * (16_303_428.0 - 4_300_000.0) / 16_303_428.0;
        assert!((used - expected).abs() < 1e-9, "{used}");
        assert_eq!(parse_mem_used("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn queue_output_is_one_number() {
        assert_eq!(parse_queue_output("42\n"), Some(42.0));
        assert_eq!(parse_queue_output("  7 messages\n"), Some(7.0));
        assert_eq!(parse_queue_output("Mail queue is empty\n"), None);
        assert_eq!(parse_queue_output("-3"), None);
        assert_eq!(parse_queue_output(""), None);
    }

    #[test]
    fn postfix_queues_are_counted_recursively() {
        let spool = tempfile::tempdir().expect("tempdir");
        assert_eq!(count_postfix_queue(spool.path()), None, "no Postfix");
        for (dir, files) in [("active", 2), ("deferred/A", 3), ("deferred/B", 1), ("hold", 0)] {
            let d = spool.path().join(dir);
            std::fs::create_dir_all(&d).expect("mkdir");
            for i in 0..files {
                std::fs::write(d.join(format!("msg{i}")), "x").expect("write");
            }
        }
        std::fs::create_dir_all(spool.path().join("corrupt")).expect("mkdir");
        std::fs::write(spool.path().join("corrupt/x"), "not counted").expect("write");
        assert_eq!(count_postfix_queue(spool.path()), Some(6));
    }

    #[tokio::test]
    async fn a_sample_reads_fixtures_and_the_queue_command() {
        let proc_dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(proc_dir.path().join("loadavg"), "0.10 0.20 0.30 1/2 3\n").expect("write");
        std::fs::write(proc_dir.path().join("stat"), STAT).expect("write");
        std::fs::write(proc_dir.path().join("meminfo"), MEMINFO).expect("write");
        let mut m = Metrics::new(
            proc_dir.path().to_owned(),
            proc_dir.path().to_owned(),
            QueueSource::Command("echo 17".into()),
        );
        let first = m.sample().await;
        assert_eq!(first.get("queue_depth"), Some(&17.0));
        assert_eq!(first.get("load5"), Some(&0.2));
        assert!(!first.contains_key("cpu"), "no previous sample yet");
        let free = first
            .get("disk_free")
            .copied()
            .expect("statvfs works on a temp dir");
        assert!((0.0..=100.0).contains(&free));
        std::fs::write(proc_dir.path().join("stat"), STAT_LATER).expect("write");
        let second = m.sample().await;
        assert!(second.contains_key("cpu"));

        let mut broken = Metrics::new(
            proc_dir.path().join("missing"),
            proc_dir.path().join("missing"),
            QueueSource::Command("exit 1".into()),
        );
        assert!(
            broken.sample().await.is_empty(),
            "unreadable metrics are left out"
        );
    }
}
