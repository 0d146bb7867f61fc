//! Feeds [`Readiness`] from a running worker: the credential is asked for a token (the cache makes this
//! cheap), and the worker's last successful receive marks the queue reachable.

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;

use super::Readiness;
use crate::worker::{Shutdown, WorkerStatus};

/// Updates `readiness` every `every` until `shutdown` is requested, then marks it draining.
pub async fn watch_worker(
    readiness: Readiness,
    status: WorkerStatus,
    credential: Arc<dyn TokenCredential>,
    scope: String,
    every: Duration,
    shutdown: Shutdown,
) {
    loop {
        check_once(&readiness, &status, credential.as_ref(), &scope).await;
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.requested() => break,
        }
    }
    readiness.mark_draining();
}

/// One round of checks.
pub async fn check_once(readiness: &Readiness, status: &WorkerStatus, credential: &dyn TokenCredential, scope: &str) {
    match credential.get_token(&[scope], None).await {
        Ok(_) => readiness.mark_credential_ok(),
        Err(e) => readiness.mark_credential_error(&crate::arm::auth::describe(&e)),
    }
    match (status.last_receive_ok(), status.last_receive_error()) {
        (Some(_), None) => readiness.mark_queue_ok(),
        (_, Some(reason)) => readiness.mark_queue_error(&reason),
        (None, None) => {}
    }
}
