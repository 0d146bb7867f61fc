//! Test helpers: the shared ARM fixture files.

use std::path::PathBuf;

use serde_json::Value;

/// The `azure-fixtures/arm` directory. Panics (fails the test) when it cannot be found.
pub(crate) fn fixture_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [manifest.join("../shared"), manifest.join("../../shared"), PathBuf::from("/work/shared")];
    candidates
        .iter()
        .map(|c| c.join("azure-fixtures/arm"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("fixture directory azure-fixtures/arm not found under any of {candidates:?}"))
}

/// The whole fixture file `rel` (e.g. `Microsoft.ContainerService/ManagedClustersGet.json`).
pub(crate) fn fixture(rel: &str) -> Value {
    let path = fixture_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The response body for `status` in fixture `rel`.
pub(crate) fn fixture_body(rel: &str, status: &str) -> Value {
    let doc = fixture(rel);
    doc.pointer(&format!("/responses/{status}/body")).cloned().unwrap_or_else(|| panic!("{rel} has no {status} body"))
}

/// Subscription in scope (the cluster's).
pub(crate) const SUB1: &str = "00000000-0000-0000-0000-000000000001";
/// Second subscription in scope.
pub(crate) const SUB2: &str = "00000000-0000-0000-0000-000000000002";
/// A subscription out of scope.
pub(crate) const SUB_OUT: &str = "00000000-0000-0000-0000-0000000000ff";

/// `[gating]` and `[scope]` settings (defaults, but `manage_defender_plan = "full"`) with [`SUB1`] and [`SUB2`] in scope.
pub(crate) fn policy_settings() -> (crate::config::GatingSettings, crate::config::ScopeSettings) {
    use crate::config::{DefenderPlanMode, GatingSettings, IdentityStrategy, RegistryReference, ScopeSettings};
    let gating = GatingSettings {
        identity_strategy: IdentityStrategy::Dedicated,
        identity_name: "{cluster}-defender-gating".into(),
        identity_resource_group: String::new(),
        registry_reference: RegistryReference::LoginServer,
        // `full`: the planner tests exercise every pricing action; `extensions` has its own tests.
        manage_defender_plan: DefenderPlanMode::Full,
        enable_prerequisites: false,
        extra_registries: Vec::new(),
        gc_on_delete: false,
        min_kubernetes_version: "1.31".into(),
        unchanged_cluster_ttl: std::time::Duration::from_secs(60),
    };
    let scope = ScopeSettings { subscriptions: vec![SUB1.into(), SUB2.into()], exclude_tag: "fleetgate.io/exclude".into() };
    (gating, scope)
}
