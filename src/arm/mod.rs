//! The Azure Resource Manager client.
//!
//! - [`ArmClient`] (`client`): reqwest with a per-request timeout (`azure.request_timeout`) and a
//!   per-operation deadline (`azure.operation_timeout`, covering retries and LRO polling); GET (404 →
//!   `None`), PUT (with `If-Match`), DELETE, paged lists (`paging`), long-running operations (`lro`;
//!   one poll of an operation for the worker's deferral: `operation`) and Resource Graph (`graph`). Bearer tokens for `{endpoint}/.default`, or
//!   `https://management.azure.com/.default` when the endpoint is a loopback simulator, so its audience
//!   check sees what Azure would.
//! - [`classify`](mod@classify): the one error classifier table (status + ARM code → [`Disposition`]).
//! - [`ArmError`] (`error`, `hints`, `error_body`): what failed, on which resource, and what to do.
//! - `retry`: backon exponential backoff with jitter; `Retry-After` always wins (the attempt cap holds).
//! - [`scope`] + `guard`: the scope guard every request passes and the streamed response size cap.
//! - [`auth`]: credentials chosen by `azure.credential`, cached until 5 minutes before expiry.
//! - [`ArmStats`] (`stats`): reads, writes, retries, 429s and answers by status.
//! - [`RequestHook`]: an optional hook consulted before every attempt (a backfill's budget).
//! - `pacing`: after the hook, every request into a subscription waits its turn under ARM's own
//!   `x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}` headers (`azure.header_pacing`):
//!   proportional gaps below 30 % of the bucket, so replicas sharing a principal stay under it.
//! - [`permissions`]: the one list of RBAC actions these calls need (deployment, docs and tests derive from it).
//!
//! Request paths are plain ARM paths (`/subscriptions/…`); absolute URLs from responses (`nextLink`,
//! `Azure-AsyncOperation`, `Location`) are followed only on the configured endpoint's origin. Every
//! request — built or followed — first passes the [`scope`] guard: its path must be inside
//! `scope.subscriptions` or be Resource Graph, else it is refused unsent ([`ArmError::OutOfScope`]).
//! Response bodies are read as they stream in, up to `azure.max_response_bytes`
//! ([`ArmError::ResponseTooLarge`]); server-provided waits are clamped ([`MAX_RETRY_AFTER`],
//! [`MAX_GRAPH_QUOTA_WAIT`], [`MAX_POLL_INTERVAL`]). The HTTP client never follows redirects.

pub mod auth;
pub mod classify;
mod client;
mod endpoint;
mod error;
mod error_body;
mod graph;
mod guard;
pub mod headers;
mod hints;
mod lro;
mod operation;
mod pacing;
mod paging;
pub mod permissions;
mod response;
mod retry;
pub mod scope;
mod stats;

pub use classify::{Disposition, classify, classify_code};
pub use client::{ArmClient, RequestHook};
pub use endpoint::{Endpoint, PUBLIC_ARM_SCOPE};
pub use error::{ApiError, ArmError, Call, TimeoutKind};
pub use error_body::ErrorBody;
pub use graph::{GRAPH_PATH, GraphScope};
pub use headers::{MAX_GRAPH_QUOTA_WAIT, MAX_RETRY_AFTER};
pub use lro::{DEFAULT_POLL_INTERVAL, LroOutcome, MAX_POLL_INTERVAL, OperationHandle, PollOutcome, poll_interval};
pub use operation::OperationStatus;
pub use response::ArmResponse;
pub use retry::RetryPolicy;
pub use scope::ArmScope;
pub use stats::ArmStats;
