//! [`Fingerprint`]: what the planner's verdict depends on in one managed-cluster document.
//!
//! Covered (everything [`ClusterView`] carries except the ETag): the cluster ID (case-insensitive),
//! location, `kubernetesVersion` and `currentKubernetesVersion`, `provisioningState`, the OIDC issuer
//! (enabled + URL), workload identity, the kubelet identity (resource ID, client ID, object ID), the
//! value of the exclude tag (`scope.exclude_tag`), and the whole `securityGating` block (`enabled`,
//! `allowSecretAccess`, every entry's registry and identity fields, in order), and whether the document
//! has a shape the edits cannot be applied to (`document_issue`).
//!
//! Not covered, on purpose: the ETag and everything else in the document (agent pools, node counts,
//! network profile, other tags) — none of it changes what fleetgate would plan.

use std::fmt;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::core::model::{ClusterView, ModelError};

/// Domain separation, bumped whenever the covered fields change.
const VERSION: &[u8] = b"fleetgate/compliance-fingerprint/v2";

/// A SHA-256 digest of the compliance-relevant fields of a cluster document.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a parsed cluster; `exclude_tag` is the opt-out tag's name (`scope.exclude_tag`).
    pub fn of(view: &ClusterView, exclude_tag: &str) -> Self {
        let mut h = Fields(Sha256::new());
        h.0.update(VERSION);
        h.str("id", Some(&view.id.as_str().to_ascii_lowercase()));
        h.str("location", Some(&view.location));
        h.str("kubernetesVersion", view.kubernetes_version.as_deref());
        h.str("currentKubernetesVersion", view.current_kubernetes_version.as_deref());
        h.str("provisioningState", view.provisioning_state.as_deref());
        h.flag("oidcIssuer.enabled", Some(view.oidc_issuer_enabled));
        h.str("oidcIssuer.issuerURL", view.oidc_issuer_url.as_deref());
        h.flag("workloadIdentity.enabled", Some(view.workload_identity_enabled));
        let kubelet = view.kubelet_identity.as_ref();
        h.str("kubelet.resourceId", kubelet.map(|k| k.resource_id.as_str().to_ascii_lowercase()).as_deref());
        h.str("kubelet.clientId", kubelet.map(|k| k.client_id.as_str()));
        h.str("kubelet.objectId", kubelet.map(|k| k.object_id.as_str()));
        let excluded = if exclude_tag.is_empty() { None } else { view.tag(exclude_tag) };
        h.str("excludeTag", excluded);
        h.gating(view);
        h.str("documentIssue", view.document_issue.as_deref());
        Self(h.0.finalize().into())
    }

    /// The digest as 64 lower-case hex digits (saved plans record it).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses a managed-cluster GET body and fingerprints it.
    pub fn of_document(doc: &Value, exclude_tag: &str) -> Result<Self, ModelError> {
        Ok(Self::of(&ClusterView::from_json(doc)?, exclude_tag))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short: String = self.0[..8].iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "Fingerprint({short}…)")
    }
}

/// Length-prefixed, presence-tagged field encoding, so no two different field sets hash alike.
struct Fields(Sha256);

impl Fields {
    fn str(&mut self, name: &str, value: Option<&str>) {
        self.name(name);
        match value {
            None => self.0.update([0u8]),
            Some(v) => {
                self.0.update([1u8]);
                self.0.update((v.len() as u64).to_le_bytes());
                self.0.update(v.as_bytes());
            }
        }
    }

    fn flag(&mut self, name: &str, value: Option<bool>) {
        self.name(name);
        self.0.update([match value {
            None => 0u8,
            Some(false) => 1,
            Some(true) => 2,
        }]);
    }

    fn name(&mut self, name: &str) {
        self.0.update((name.len() as u64).to_le_bytes());
        self.0.update(name.as_bytes());
    }

    fn gating(&mut self, view: &ClusterView) {
        let Some(g) = &view.security_gating else {
            self.flag("securityGating", None);
            return;
        };
        self.flag("securityGating", Some(true));
        self.flag("securityGating.enabled", Some(g.enabled));
        self.flag("securityGating.allowSecretAccess", g.allow_secret_access);
        self.name("securityGating.identities");
        self.0.update((g.identities.len() as u64).to_le_bytes());
        for e in &g.identities {
            self.str("azureContainerRegistry", e.azure_container_registry.as_deref());
            self.str("identity.resourceId", e.identity_resource_id.as_deref());
            self.str("identity.clientId", e.identity_client_id.as_deref());
            self.str("identity.objectId", e.identity_object_id.as_deref());
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::core::testutil::fixture_body;

    const EXCLUDE: &str = "fleetgate.io/exclude";
    const MI: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MC_rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kubelet";
    const GATING_MI: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/gating";

    /// The GET fixture made compliant-looking: issuer, workload identity, kubelet identity, one gating entry.
    fn compliant_doc() -> Value {
        let mut doc = fixture_body("Microsoft.ContainerService/ManagedClustersGet.json", "200");
        let props = doc["properties"].as_object_mut().unwrap();
        props.insert("kubernetesVersion".into(), json!("1.32"));
        props.insert("currentKubernetesVersion".into(), json!("1.32.4"));
        props.insert("oidcIssuerProfile".into(), json!({"enabled": true, "issuerURL": "https://oidc.example/t/i/"}));
        props.insert("identityProfile".into(), json!({"kubeletidentity": {"resourceId": MI, "clientId": "kc", "objectId": "ko"}}));
        props.insert(
            "securityProfile".into(),
            json!({
                "workloadIdentity": {"enabled": true},
                "defender": {"securityGating": {"enabled": true, "identities": [
                    {"azureContainerRegistry": "acr1.azurecr.io", "identity": {"resourceId": GATING_MI, "clientId": "gc", "objectId": "go"}}
                ]}}
            }),
        );
        doc
    }

    fn fp(doc: &Value) -> Fingerprint {
        Fingerprint::of_document(doc, EXCLUDE).unwrap()
    }

    fn changed(edit: impl FnOnce(&mut Value)) -> bool {
        let before = compliant_doc();
        let mut after = before.clone();
        edit(&mut after);
        fp(&before) != fp(&after)
    }

    #[test]
    fn stable_for_the_same_document_and_its_serialized_round_trip() {
        let doc = compliant_doc();
        let again: Value = serde_json::from_str(&doc.to_string()).unwrap();
        assert_eq!(fp(&doc), fp(&again));
        let hex = fp(&doc).to_hex();
        assert!(hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) && hex == fp(&again).to_hex(), "{hex}");
    }

    #[test]
    fn agent_pool_scaling_etag_and_unrelated_fields_do_not_change_it() {
        assert!(!changed(|d| d["properties"]["agentPoolProfiles"][0]["count"] = json!(17)), "agent pool count");
        assert!(!changed(|d| d["properties"]["agentPoolProfiles"].as_array_mut().unwrap().push(json!({"name": "pool2", "count": 3}))));
        assert!(!changed(|d| d["eTag"] = json!("a-new-etag")), "the ETag changes on every write");
        assert!(!changed(|d| d["tags"]["costcenter"] = json!("42")), "tags other than the exclude tag");
        assert!(!changed(|d| d["properties"]["networkProfile"] = json!({"networkPlugin": "azure"})));
        assert!(!changed(|d| d["properties"]["securityProfile"]["defender"]["logAnalyticsWorkspaceResourceId"] = json!("/x")));
        assert!(!changed(|d| d["id"] = json!(d["id"].as_str().unwrap().to_ascii_uppercase().replace("SUBSCRIPTIONS", "subscriptions"))));
    }

    #[test]
    fn issuer_and_workload_identity_changes_change_it() {
        assert!(changed(|d| d["properties"]["oidcIssuerProfile"]["issuerURL"] = json!("https://oidc.example/t/other/")));
        assert!(changed(|d| d["properties"]["oidcIssuerProfile"]["enabled"] = json!(false)));
        assert!(changed(|d| {
            d["properties"]["oidcIssuerProfile"].as_object_mut().unwrap().remove("issuerURL");
        }));
        assert!(changed(|d| d["properties"]["securityProfile"]["workloadIdentity"]["enabled"] = json!(false)));
    }

    #[test]
    fn gating_block_changes_change_it() {
        let gating = |d: &mut Value| d["properties"]["securityProfile"]["defender"]["securityGating"].clone();
        assert!(changed(|d| d["properties"]["securityProfile"]["defender"]["securityGating"]["enabled"] = json!(false)));
        assert!(changed(|d| d["properties"]["securityProfile"]["defender"]["securityGating"]["allowSecretAccess"] = json!(true)));
        assert!(changed(|d| d["properties"]["securityProfile"]["defender"]["securityGating"]["identities"] = json!([])), "entry removed");
        assert!(changed(|d| {
            d["properties"]["securityProfile"]["defender"].as_object_mut().unwrap().remove("securityGating");
        }));
        assert!(changed(|d| {
            let mut g = gating(d);
            g["identities"].as_array_mut().unwrap().push(json!({"azureContainerRegistry": "acr2.azurecr.io"}));
            d["properties"]["securityProfile"]["defender"]["securityGating"] = g;
        }));
        for field in ["resourceId", "clientId", "objectId"] {
            assert!(
                changed(
                    |d| d["properties"]["securityProfile"]["defender"]["securityGating"]["identities"][0]["identity"][field] = json!("x")
                ),
                "{field}"
            );
        }
        assert!(changed(|d| {
            d["properties"]["securityProfile"]["defender"]["securityGating"]["identities"][0]["azureContainerRegistry"] = json!("acr9")
        }));
    }

    #[test]
    fn kubelet_version_state_location_and_exclude_tag_change_it() {
        assert!(changed(|d| d["properties"]["identityProfile"]["kubeletidentity"]["objectId"] = json!("other")));
        assert!(changed(|d| d["properties"]["identityProfile"]["kubeletidentity"]["clientId"] = json!("other")));
        assert!(changed(|d| d["properties"]["identityProfile"]["kubeletidentity"]["resourceId"] = json!(GATING_MI)));
        assert!(changed(|d| {
            d["properties"].as_object_mut().unwrap().remove("identityProfile");
        }));
        assert!(changed(|d| d["properties"]["kubernetesVersion"] = json!("1.33")));
        assert!(changed(|d| d["properties"]["currentKubernetesVersion"] = json!("1.30.1")));
        assert!(changed(|d| d["properties"]["provisioningState"] = json!("Updating")));
        assert!(changed(|d| d["location"] = json!("westeurope")));
        assert!(changed(|d| d["tags"]["fleetgate.io/exclude"] = json!("true")));
        assert!(changed(|d| d["tags"]["FleetGate.IO/Exclude"] = json!("false")), "the tag is matched case-insensitively");
    }

    #[test]
    fn exclude_tag_is_ignored_when_no_tag_is_configured() {
        let mut tagged = compliant_doc();
        tagged["tags"]["fleetgate.io/exclude"] = json!("true");
        let of = |d: &Value| Fingerprint::of_document(d, "").unwrap();
        assert_eq!(of(&compliant_doc()), of(&tagged));
    }

    #[test]
    fn unparseable_document_is_an_error_and_debug_is_short() {
        assert!(Fingerprint::of_document(&json!({"id": "nope"}), EXCLUDE).is_err());
        let text = format!("{:?}", fp(&compliant_doc()));
        assert!(text.starts_with("Fingerprint(") && text.len() < 40, "{text}");
    }
}
