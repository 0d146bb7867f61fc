//! The system suite (docs/RELIABILITY.md items 1, 2, 3, 5c, 6, 7): the real `fleetgate run` binary, as
//! child processes, against the in-process simulator over loopback.
//!
//! - `replicas`: three processes on one queue; duplicates, interleaved ACR attachments, noise; end state,
//!   duplicates, message accounting and write amplification.
//! - `crash`: `kill -9` inside a reconcile (after the identity, after the FIC, during the cluster LRO).
//! - `defer_crash`: `kill -9` between a deferral's scheduled re-check and the completion of the original.
//! - `chaos`: seeded ARM and Service Bus faults; the end state equals a fault-free run's.
//! - `hostile`: hostile events through the worker: a clear outcome each, 0 ARM writes, no crash.
//! - `secrets`: trace-level logs of a SAS key, a client secret and tokens never show them.
//! - `shutdown`: SIGTERM with reconciles in flight.
//!
//! The fast part runs with `cargo test --test system`; the long part (the full 1,000-event / 200-cluster
//! figures) is `#[ignore]`d: `cargo test --release --test system -- --ignored --nocapture`.
//! The child processes are tokio processes, so every test runs on a multi-thread runtime (a blocking wait
//! on a current-thread runtime would starve the simulator).

#[path = "common/mod.rs"]
mod common;

#[path = "system/audit.rs"]
mod audit;
#[path = "system/chaos.rs"]
mod chaos;
#[path = "system/crash.rs"]
mod crash;
#[path = "system/defer_crash.rs"]
mod defer_crash;
#[path = "system/hostile.rs"]
mod hostile;
#[path = "system/ledger.rs"]
mod ledger;
#[path = "system/proc.rs"]
mod proc;
#[path = "system/replicas.rs"]
mod replicas;
#[path = "system/scenario.rs"]
mod scenario;
#[path = "system/secrets.rs"]
mod secrets;
#[path = "system/shutdown.rs"]
mod shutdown;
#[path = "system/traffic.rs"]
mod traffic;
#[path = "system/world.rs"]
mod world;
