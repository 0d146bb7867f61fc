//! Health endpoints on `health.listen`:
//! - `GET /healthz`: the process is alive — always `200 {"status":"ok"}` while the server runs.
//! - `GET /readyz`: `200` with the [`ReadinessReport`] when every check passes, else `503` with the same
//!   body naming what is not ready (`not_ready`) and why (`checks[].reason`).
//!
//! The worker owns a [`Readiness`] handle and marks credential and queue successes and failures on it.

mod readiness;
mod watch;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

pub use readiness::{CheckReport, DEFAULT_STALE_AFTER, Readiness, ReadinessReport};
pub use watch::{check_once, watch_worker};

/// The health server could not start.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// Binding the listen address failed.
    #[error("cannot listen on {addr} for /healthz and /readyz: {source}; set health.listen (FLEETGATE__HEALTH__LISTEN) to a free address")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The socket error.
        source: std::io::Error,
    },
}

/// The routes, for embedding in another server or testing without a socket.
pub fn router(readiness: Readiness) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).with_state(readiness)
}

/// Binds `addr` (port 0 picks one), serves the health routes in a background task until `shutdown`
/// completes, and returns the bound address.
pub async fn serve<F>(addr: SocketAddr, readiness: Readiness, shutdown: F) -> Result<SocketAddr, HealthError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| HealthError::Bind { addr, source })?;
    let bound = listener.local_addr().map_err(|source| HealthError::Bind { addr, source })?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(readiness)).with_graceful_shutdown(shutdown).await {
            tracing::error!(%bound, error = %e, "the health server stopped");
        }
    });
    tracing::info!(%bound, "health endpoints listening (/healthz, /readyz)");
    Ok(bound)
}

async fn healthz() -> Response {
    no_store(StatusCode::OK, Json(serde_json::json!({"status": "ok"})))
}

async fn readyz(State(readiness): State<Readiness>) -> Response {
    let report = readiness.report();
    let status = if report.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    no_store(status, Json(report))
}

fn no_store(status: StatusCode, body: impl IntoResponse) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}
