//! The simulator's HTTP pipeline over real loopback HTTP (reqwest 0.13): token endpoints, bearer auth,
//! throttling, fault injection, journal, admin endpoints and server edges.
//!
//! The ARM resource handlers may still answer 501; these tests assert only what the pipeline owns (401,
//! 429, fault statuses, headers, the journal), so they stay valid when the handlers land.

mod auth;
mod faults;
mod journal;
mod server;
mod support;
mod throttling;
mod tokens;
