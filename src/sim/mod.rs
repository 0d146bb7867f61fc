//! The embedded Azure simulator: real HTTP on loopback, state in memory.
//!
//! `fleetgate sim` runs it as a process; tests start it in-process on port 0. It answers with the paths,
//! api-version query, status codes, headers and JSON bodies of the real services (see
//! `../shared/reference/azure-arm.md`), so the production client code is what the tests exercise. Its
//! defaults follow recorded live traffic (`tests/fixtures/recorded/sim/SOURCES.md`); kinder behaviour is
//! an explicit knob (the table in [`fleet`]), and the official Azure SDK for Python drives it in
//! `tests/python_sdk.rs`.
//!
//! - `http`: request/response values passed from the pipeline to the handlers.
//! - `server`: the axum server and its pipeline (journal → auth → faults → throttling → latency → handler).
//! - `state` + `arm/`: the ARM resources (managed clusters and their LROs, identities, federated
//!   credentials, role assignments, registries, Defender pricing) and Resource Graph.
//! - `servicebus`: the Service Bus REST data plane under `/sb/` (queues, peek-lock, dead-lettering, SAS).
//! - `fleet`: the fleet file (TOML/JSON) that seeds the state, and the generator for benchmarks.
//! - `options`, `faults`, `latency`: behaviour knobs.
//! - `pipeline` (+ `route`, `auth`, `token`, `throttle`, `journal`, `admin`, `conn`): the request pipeline
//!   and its pure parts; [`LoopbackTransport`] (from `arm::auth`) points azure_identity at it;
//!   `cli`: what `fleetgate sim` runs ([`cli::run_cli`]).

mod admin;
pub mod arm;
pub mod auth;
pub mod cli;
mod conn;
pub mod faults;
pub mod fleet;
pub mod http;
pub mod journal;
pub mod latency;
pub mod options;
mod pipeline;
pub mod route;
pub mod server;
pub mod servicebus;
pub mod state;
pub mod throttle;
pub mod token;

pub use crate::arm::auth::LoopbackTransport;
pub use cli::run_cli;
pub use fleet::Fleet;
pub use journal::JournalEntry;
pub use options::SimOptions;
pub use server::{SimError, SimHandle, Simulator};
