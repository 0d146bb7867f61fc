//! Tests of the events module: every public sample, events built to the documented schema in both
//! envelopes, and hostile inputs, each with its expected outcome.

mod built;
mod fixtures;
mod hostile_body;
mod hostile_ids;

use serde_json::Value;

use super::{DecodeError, Trigger, classify, decode};
use crate::config::ScopeSettings;
use crate::id::ResourceId;

/// The subscription in scope.
pub(super) const SUB: &str = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
/// A subscription out of scope (another tenant's, say).
pub(super) const OTHER_SUB: &str = "0b9a8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d";

pub(super) fn scope() -> ScopeSettings {
    ScopeSettings { subscriptions: vec![SUB.to_uppercase()], exclude_tag: "fleetgate-exclude".into() }
}

pub(super) fn id(text: &str) -> ResourceId {
    ResourceId::parse(text).unwrap()
}

pub(super) fn cluster_id(sub: &str) -> ResourceId {
    id(&format!("/subscriptions/{sub}/resourceGroups/rg-fleet/providers/Microsoft.ContainerService/managedClusters/aks-prod-1"))
}

pub(super) fn registry_id(sub: &str) -> ResourceId {
    id(&format!("/subscriptions/{sub}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrfleet"))
}

pub(super) fn assignment_id(sub: &str) -> ResourceId {
    registry_id(sub).child_provider("Microsoft.Authorization", "roleAssignments", "5d1e3c2b-7a6f-4e8d-9b0a-1c2d3e4f5a6b").unwrap()
}

/// Decode then classify against [`scope`].
pub(super) fn outcome(body: &[u8]) -> Result<Trigger, DecodeError> {
    decode(body).map(|event| classify(&event, &scope()))
}

pub(super) fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// `value` after `edit`, as a body.
pub(super) fn edited(mut value: Value, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    edit(&mut value);
    bytes(&value)
}

/// The fixture root, as common.md prescribes; a missing directory fails the test.
pub(super) fn shared_dir() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates = [manifest.join("../shared"), manifest.join("../../shared"), "/work/shared".into()];
    candidates
        .iter()
        .find(|p| p.join("azure-fixtures").is_dir())
        .cloned()
        .unwrap_or_else(|| panic!("shared fixture directory not found; tried {candidates:?}"))
}
