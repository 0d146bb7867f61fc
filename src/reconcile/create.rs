//! Create-only writes for the resources fleetgate names deterministically (the gating identity, its
//! federated credential, the AcrPull assignment).
//!
//! Several replicas may reconcile one cluster at the same moment (duplicate events land on different
//! processes; the per-cluster lock is per process). Both plan "create the identity"; without a
//! precondition both PUTs succeed — the second as an idempotent update, but a second write all the
//! same. The PUT therefore carries `If-None-Match: *`: the loser gets 412, reads what the winner made
//! and carries on without writing. A resource provider that ignores the header answers the PUT as an
//! update, exactly as before. A 412 whose resource is then not found (no writer won) falls back to a
//! plain PUT.

use serde_json::Value;

use super::{Engine, ReconcileError};
use crate::arm::ArmResponse;
use crate::id::ResourceId;

/// What a create-only PUT found.
pub(super) enum Created {
    /// This PUT created it.
    New(ArmResponse),
    /// It was already there (412, confirmed by a GET); nothing was written.
    Existing(ArmResponse),
}

impl Engine {
    /// PUTs `body` at `id` only if nothing is there yet.
    pub(super) async fn create_once(&self, id: &ResourceId, api_version: &str, body: &Value) -> Result<Created, ReconcileError> {
        if let Some(created) = self.arm.create(id.as_str(), api_version, body).await? {
            return Ok(Created::New(created));
        }
        tracing::debug!(resource = %id, "already created by another writer (412 on If-None-Match)");
        match self.arm.get(id.as_str(), api_version).await? {
            Some(existing) => Ok(Created::Existing(existing)),
            None => Ok(Created::New(self.arm.put(id.as_str(), api_version, body, None).await?)),
        }
    }
}
