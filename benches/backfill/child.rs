//! Child `fleetgate` processes (the release binary cargo built next to this benchmark): spawned with a
//! clean environment, stdout read line by line with arrival times, stderr kept, reaped with `wait4(2)`
//! for the child's CPU time.
//!
//! Peak RSS is the child's `VmHWM` from `/proc/PID/status`, read every 10 ms while it runs (the last
//! value read is kept). `ru_maxrss` cannot be used: Linux carries the RSS of the address space a
//! process had before `exec` into it — the forked copy of this benchmark, simulator included.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

/// A running child.
pub struct Child {
    pid: libc::pid_t,
    started: Instant,
    stderr: JoinHandle<String>,
    hwm_kib: Arc<AtomicU64>,
    _process: std::process::Child,
}

/// A child's stdout lines with the instant each arrived; closed once the child closed stdout.
pub type Lines = UnboundedReceiver<(Instant, String)>;

/// How a child ended.
#[derive(Debug, Clone)]
pub struct Exited {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    /// Spawn to exit.
    pub wall: Duration,
    /// Peak resident set size in KiB (`VmHWM`, polled).
    pub max_rss_kib: u64,
    /// User + system CPU time.
    pub cpu: Duration,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

/// Starts `fleetgate args…` with only `env` (and `PATH`) in its environment.
pub fn spawn(args: &[&str], env: &[(String, String)]) -> std::io::Result<(Child, Lines)> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fleetgate"));
    cmd.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut process = cmd.spawn()?;
    let pid = libc::pid_t::try_from(process.id()).map_err(std::io::Error::other)?;
    let (tx, lines) = unbounded_channel();
    let stdout = process.stdout.take().ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let mut err = process.stderr.take().ok_or_else(|| std::io::Error::other("no stderr pipe"))?;
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let hwm_kib = Arc::new(AtomicU64::new(0));
    let hwm = Arc::clone(&hwm_kib);
    std::thread::spawn(move || {
        while let Some(kib) = vm_hwm_kib(pid) {
            hwm.fetch_max(kib, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    Ok((Child { pid, started, stderr, hwm_kib, _process: process }, lines))
}

impl Child {
    /// Sends SIGTERM (the worker's graceful shutdown).
    pub fn terminate(&self) {
        // SAFETY: kill(2) on the PID of a child this process spawned and has not reaped yet.
        unsafe {
            libc::kill(self.pid, libc::SIGTERM);
        }
    }

    /// Waits for the exit (blocking: call it from `spawn_blocking`).
    pub fn wait(self) -> std::io::Result<Exited> {
        let mut status: libc::c_int = 0;
        // SAFETY: an all-zero rusage is a valid value; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4(2) on our own unreaped child with valid out-pointers.
        let reaped = unsafe { libc::wait4(self.pid, &mut status, 0, &mut usage) };
        if reaped != self.pid {
            return Err(std::io::Error::last_os_error());
        }
        let wall = self.started.elapsed();
        let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        let cpu = timeval(usage.ru_utime) + timeval(usage.ru_stime);
        let stderr = self.stderr.join().unwrap_or_default();
        Ok(Exited { code, wall, max_rss_kib: self.hwm_kib.load(Ordering::Relaxed), cpu, stderr })
    }
}

/// `VmHWM` of a live process in KiB; `None` once it has exited.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn timeval(t: libc::timeval) -> Duration {
    Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0)) + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
}

/// Every remaining line, joined with newlines (waits until stdout is closed).
pub async fn collect(lines: &mut Lines) -> String {
    let mut out = Vec::new();
    while let Some((_, line)) = lines.recv().await {
        out.push(line);
    }
    out.join("\n")
}

/// Waits for `child` on a blocking thread.
pub async fn wait(child: Child) -> anyhow::Result<Exited> {
    Ok(tokio::task::spawn_blocking(move || child.wait()).await??)
}

/// The last `n` lines of `text` (for error reports).
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
