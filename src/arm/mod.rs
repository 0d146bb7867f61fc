//! The Azure Resource Manager client.
//!
//! - [`ArmClient`] (`client`): reqwest with a per-request timeout (`azure.request_timeout`) and a
//!   per-operation deadline (`azure.operation_timeout`, covering retries and LRO polling); GET (404 →
//!   `None`), PUT (with `If-Match`), DELETE, paged lists (`paging`), long-running operations (`lro`) and
//!   Resource Graph (`graph`). Bearer tokens for `{endpoint}/.default`, or
//!   `https://management.azure.com/.default` when the endpoint is a loopback simulator, so its audience
//!   check sees what Azure would.
//! - [`classify`](mod@classify): the one error classifier table (status + ARM code → [`Disposition`]).
//! - [`ArmError`] (`error`, `hints`, `error_body`): what failed, on which resource, and what to do.
//! - `retry`: backon exponential backoff with jitter; `Retry-After` always wins (the attempt cap holds).
//! - [`auth`]: credentials chosen by `azure.credential`, cached until 5 minutes before expiry.
//! - [`ArmStats`] (`stats`): reads, writes, retries, 429s and answers by status.
//! - [`RequestHook`]: an optional hook consulted before every attempt (a backfill's budget).
//! - [`permissions`]: the one list of RBAC actions these calls need (deployment, docs and tests derive from it).
//!
//! Request paths are plain ARM paths (`/subscriptions/…`); absolute URLs from responses (`nextLink`,
//! `Azure-AsyncOperation`, `Location`) are followed only on the configured endpoint's origin.

pub mod auth;
pub mod classify;
mod client;
mod endpoint;
mod error;
mod error_body;
mod graph;
pub mod headers;
mod hints;
mod lro;
mod paging;
pub mod permissions;
mod response;
mod retry;
mod stats;

pub use classify::{Disposition, classify, classify_code};
pub use client::{ArmClient, RequestHook};
pub use endpoint::{Endpoint, PUBLIC_ARM_SCOPE};
pub use error::{ApiError, ArmError, Call, TimeoutKind};
pub use error_body::ErrorBody;
pub use graph::{GRAPH_PATH, GraphScope};
pub use lro::{DEFAULT_POLL_INTERVAL, LroOutcome};
pub use response::ArmResponse;
pub use retry::RetryPolicy;
pub use stats::ArmStats;
