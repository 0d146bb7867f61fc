//! `fleetgate demo`: the whole product end to end on one machine.
//!
//! 1. Starts the simulator in-process with the compiled-in `config/demo-fleet.toml` (12 clusters in 3
//!    subscriptions, realistic ARM latency and LRO timing; [`DemoSpeed::Instant`] zeroes the timing).
//! 2. Declares the events queue (duplicate detection on) and the poison queue, plans every cluster.
//! 3. Publishes real-shaped events through the real Service Bus client: a `managedClusters/write` per
//!    cluster, a second write to one of them, noise (storage account, agent pool, a role assignment on a
//!    subscription, a cluster outside the scope) and one truncated message.
//! 4. Runs the real worker — the code `fleetgate run` runs — over the Service Bus transport (Entra or SAS)
//!    until the queue drains.
//! 5. Attaches a second registry to a cluster the way `az aks update --attach-acr` does (an AcrPull
//!    role assignment for the kubelet identity, through the ARM API) and publishes that role-assignment
//!    event; waits for the queue to drain again.
//! 6. Plans every cluster again and prints the table, the outcomes, ARM reads/writes from the simulator
//!    journal and the wall time. [`DemoResult::problems`] lists every convergeable cluster that did not
//!    converge (the command exits non-zero then).

mod progress;
mod run;
pub mod scenario;
pub mod view;

use std::time::Duration;

use crate::config::QueueAuthKind;
use crate::worker::WorkerSummary;

pub use run::run;
pub use view::{ClusterRow, ClusterView};

/// The demo fleet, compiled in so `fleetgate demo` works from any directory.
pub const DEMO_FLEET: &str = include_str!("../../../config/demo-fleet.toml");

/// How fast the simulated Azure answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoSpeed {
    /// The fleet file's timing: ARM-like latency, 3 s cluster updates, 5 s identity replication.
    #[default]
    Realistic,
    /// No added latency, LROs and replication immediate (tests).
    Instant,
}

/// Demo settings.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Simulator timing.
    pub speed: DemoSpeed,
    /// How the worker authenticates to Service Bus.
    pub queue_auth: QueueAuthKind,
    /// Longest wait for the queue to drain, per phase.
    pub drain_timeout: Duration,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self { speed: DemoSpeed::Realistic, queue_auth: QueueAuthKind::Entra, drain_timeout: Duration::from_secs(120) }
    }
}

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoResult {
    /// Every cluster before and after.
    pub rows: Vec<ClusterRow>,
    /// The worker's totals.
    pub summary: WorkerSummary,
    /// Messages published.
    pub published: usize,
    /// Messages in the poison queue at the end.
    pub parked: usize,
    /// ARM reads by the worker (simulator journal).
    pub arm_reads: usize,
    /// ARM writes by the worker (simulator journal).
    pub arm_writes: usize,
    /// Wall time of the whole demo.
    pub elapsed: Duration,
    /// What did not go as expected (empty = success).
    pub problems: Vec<String>,
}

impl DemoResult {
    /// True when every convergeable cluster converged and nothing else went wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The simulator did not start.
    #[error("demo: {0}")]
    Sim(#[from] crate::sim::SimError),
    /// Something the demo sets up failed.
    #[error("demo: {0}")]
    Setup(String),
    /// Publishing or reading the queue failed.
    #[error("demo: {0}")]
    Queue(#[from] crate::queue::QueueError),
    /// An ARM call the demo makes itself failed.
    #[error("demo: {0}")]
    Arm(#[from] crate::arm::ArmError),
    /// The queue did not drain in time.
    #[error("demo: {0}")]
    Timeout(String),
}
