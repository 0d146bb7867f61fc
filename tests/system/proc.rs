//! `fleetgate run` as a child process: an environment aimed at the simulator, stdout and stderr drained
//! into memory as they come (a full pipe would stall the worker), `kill -9`, SIGTERM, and the JSON lines
//! it printed.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetgate::sim::SimHandle;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::task::JoinHandle;

use crate::common::child::FleetgateCommand;

/// The Service Bus namespace name the workers are configured with (the simulator serves any).
pub const NAMESPACE: &str = "fleetgate-system";

/// The environment of a `fleetgate run` child: the harness's (client-secret credential, SAS on the
/// queue, a free health port) with slower retries, longer timeouts, 1 s lock renewal, 10 s grace and
/// `info` logs.
pub fn run_env(sim: &SimHandle, subscriptions: &[&str]) -> FleetgateCommand {
    FleetgateCommand::new(sim, subscriptions).queue(sim, NAMESPACE).envs([
        ("FLEETGATE__AZURE__RETRY__INITIAL_BACKOFF", "20ms"),
        ("FLEETGATE__AZURE__RETRY__MAX_BACKOFF", "500ms"),
        ("FLEETGATE__AZURE__RETRY__PRINCIPAL_NOT_FOUND_WINDOW", "20s"),
        ("FLEETGATE__AZURE__OPERATION_TIMEOUT", "60s"),
        ("FLEETGATE__QUEUE__LOCK_RENEWAL_INTERVAL", "1s"),
        ("FLEETGATE__SHUTDOWN__GRACE", "10s"),
        ("FLEETGATE__DEFER__INTERVAL", "1s"),
        ("FLEETGATE__DEFER__MAX_INTERVAL", "1s"),
        ("FLEETGATE_LOG", "info"),
    ])
}

/// A running `fleetgate run --output json`.
pub struct Worker {
    /// A label for messages.
    pub name: String,
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    pumps: Vec<JoinHandle<()>>,
}

/// A worker after it exited.
#[derive(Debug)]
pub struct Exited {
    /// Its label.
    pub name: String,
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// The signal that killed it.
    pub signal: Option<i32>,
    /// Everything it wrote to stdout.
    pub stdout: String,
    /// Everything it wrote to stderr.
    pub stderr: String,
}

impl Exited {
    /// The per-message JSON lines (`{"message","outcome","cluster","reason"}`).
    pub fn reports(&self) -> Vec<Value> {
        json_lines(&self.stdout).into_iter().filter(|v| v.get("message").is_some()).collect()
    }

    /// The `{"summary": {…}}` line, if it got that far.
    pub fn summary(&self) -> Option<Value> {
        json_lines(&self.stdout).into_iter().find_map(|v| v.get("summary").cloned())
    }
}

/// Every stdout line that is a JSON object (a killed process may leave a partial last line).
pub fn json_lines(stdout: &str) -> Vec<Value> {
    stdout.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).filter(Value::is_object).collect()
}

impl Worker {
    /// Starts `fleetgate run --output json` with exactly `env`.
    pub fn start(env: &FleetgateCommand, name: &str) -> Self {
        let mut cmd = env.clone().args(["run", "--output", "json"]).tokio();
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start fleetgate run");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let pumps = vec![
            tokio::spawn(pump(child.stdout.take().expect("piped stdout"), Arc::clone(&stdout))),
            tokio::spawn(pump(child.stderr.take().expect("piped stderr"), Arc::clone(&stderr))),
        ];
        Self { name: name.to_string(), child, stdout, stderr, pumps }
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// What it printed on stdout so far.
    pub fn stdout_now(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    /// The per-message lines printed so far.
    pub fn reports_now(&self) -> Vec<Value> {
        json_lines(&self.stdout_now()).into_iter().filter(|v| v.get("message").is_some()).collect()
    }

    /// SIGKILL: no shutdown, no settling, locks left to expire.
    pub fn kill9(&mut self) {
        self.child.start_kill().expect("SIGKILL");
    }

    /// SIGTERM: the graceful shutdown path.
    pub fn sigterm(&self) {
        let ok = std::process::Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().expect("run kill");
        assert!(ok.success(), "kill -TERM {}", self.pid());
    }

    /// SIGTERM, then waits (at most 20 s) for the exit.
    pub async fn drain(self) -> Exited {
        self.sigterm();
        self.exit(Duration::from_secs(20)).await
    }

    /// Waits (at most `within`) for the process to exit and its output to be drained.
    pub async fn exit(mut self, within: Duration) -> Exited {
        let status = match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.expect("wait for fleetgate run"),
            Err(_) => {
                let _ = self.child.start_kill();
                let stderr = String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned();
                panic!("{} did not exit within {within:?}; stderr tail: {}", self.name, tail(&stderr, 3000));
            }
        };
        for pump in self.pumps.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), pump).await;
        }
        let text = |buf: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&buf.lock().unwrap()).into_owned();
        Exited {
            name: self.name.clone(),
            code: status.code(),
            signal: status.signal(),
            stdout: text(&self.stdout),
            stderr: text(&self.stderr),
        }
    }
}

async fn pump(mut from: impl AsyncRead + Unpin, into: Arc<Mutex<Vec<u8>>>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => into.lock().unwrap().extend_from_slice(&buf[..n]),
        }
    }
}

/// The last `n` bytes of `text` (on a character boundary), for failure messages.
pub fn tail(text: &str, n: usize) -> &str {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
