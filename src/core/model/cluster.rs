//! `Microsoft.ContainerService/managedClusters`: the fields gating depends on.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Fields, ModelError, lookup_ci};
use crate::id::ResourceId;

const KIND: &str = "managed cluster";
const CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
const IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// The cluster's kubelet identity (`properties.identityProfile.kubeletidentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletIdentity {
    /// The user-assigned identity's ARM ID.
    pub resource_id: ResourceId,
    /// Its client (application) ID.
    pub client_id: String,
    /// Its service principal object ID (= the identity's `principalId`).
    pub object_id: String,
}

/// One `securityGating.identities[]` entry, as found (any field may be missing).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GatingEntryView {
    /// `azureContainerRegistry`: a registry name, login server or ARM ID.
    pub azure_container_registry: Option<String>,
    /// `identity.resourceId`, kept verbatim (entries written by others are not validated).
    pub identity_resource_id: Option<String>,
    /// `identity.clientId`.
    pub identity_client_id: Option<String>,
    /// `identity.objectId`.
    pub identity_object_id: Option<String>,
}

impl GatingEntryView {
    /// Parses one `identities[]` item; never fails (foreign entries are kept, whatever their shape).
    pub fn from_json(v: &Value) -> Self {
        let e = Fields::new(v, KIND);
        Self {
            azure_container_registry: e.opt_str("/azureContainerRegistry"),
            identity_resource_id: e.opt_str("/identity/resourceId"),
            identity_client_id: e.opt_str("/identity/clientId"),
            identity_object_id: e.opt_str("/identity/objectId"),
        }
    }
}

/// `properties.securityProfile.defender.securityGating`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityGatingView {
    /// `enabled` (absent = false).
    pub enabled: bool,
    /// `allowSecretAccess`, never changed by fleetgate.
    pub allow_secret_access: Option<bool>,
    /// `identities`.
    pub identities: Vec<GatingEntryView>,
}

/// A managed cluster, reduced to what the planner reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView {
    /// The cluster's ARM ID.
    pub id: ResourceId,
    /// Azure region.
    pub location: String,
    /// `properties.kubernetesVersion` (may be an alias such as `1.31`).
    pub kubernetes_version: Option<String>,
    /// `properties.currentKubernetesVersion` (what actually runs).
    pub current_kubernetes_version: Option<String>,
    /// `properties.provisioningState`.
    pub provisioning_state: Option<String>,
    /// `properties.oidcIssuerProfile.enabled`.
    pub oidc_issuer_enabled: bool,
    /// `properties.oidcIssuerProfile.issuerURL`.
    pub oidc_issuer_url: Option<String>,
    /// `properties.securityProfile.workloadIdentity.enabled`.
    pub workload_identity_enabled: bool,
    /// `properties.identityProfile.kubeletidentity`, if the cluster has one.
    pub kubelet_identity: Option<KubeletIdentity>,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
    /// Top-level `eTag`, for `If-Match`.
    pub etag: Option<String>,
    /// The gating block, when present.
    pub security_gating: Option<SecurityGatingView>,
    /// A part of the document fleetgate's edits could not be applied to without replacing it
    /// ([`crate::core::gating::document_obstacle`]); the planner blocks such a cluster.
    pub document_issue: Option<String>,
}

impl ClusterView {
    /// Parses a managed-cluster GET body.
    pub fn from_json(doc: &Value) -> Result<Self, ModelError> {
        let f = Fields::new(doc, KIND);
        Ok(Self {
            id: f.req_id("/id", CLUSTER_TYPE)?,
            location: f.req_str("/location")?,
            kubernetes_version: f.opt_str("/properties/kubernetesVersion"),
            current_kubernetes_version: f.opt_str("/properties/currentKubernetesVersion"),
            provisioning_state: f.opt_str("/properties/provisioningState"),
            oidc_issuer_enabled: f.flag("/properties/oidcIssuerProfile/enabled"),
            oidc_issuer_url: f.opt_str("/properties/oidcIssuerProfile/issuerURL"),
            workload_identity_enabled: f.flag("/properties/securityProfile/workloadIdentity/enabled"),
            kubelet_identity: kubelet_identity(&f)?,
            tags: f.string_map("/tags"),
            etag: f.opt_str("/eTag").or_else(|| f.opt_str("/etag")),
            security_gating: f.get("/properties/securityProfile/defender/securityGating").map(security_gating),
            document_issue: crate::core::gating::document_obstacle(doc),
        })
    }

    /// The cluster's name.
    pub fn name(&self) -> &str {
        self.id.name()
    }

    /// The cluster's resource group.
    pub fn resource_group(&self) -> &str {
        self.id.resource_group().unwrap_or_default()
    }

    /// The running version (`currentKubernetesVersion`), else the requested one.
    pub fn effective_kubernetes_version(&self) -> Option<&str> {
        self.current_kubernetes_version.as_deref().or(self.kubernetes_version.as_deref())
    }

    /// True while an operation runs: `provisioningState` is present and not `Succeeded`, `Failed` or
    /// `Canceled`. A PUT now would be answered 409 `OperationNotAllowed`.
    pub fn is_busy(&self) -> bool {
        self.provisioning_state.as_deref().is_some_and(|s| !["succeeded", "failed", "canceled"].iter().any(|t| s.eq_ignore_ascii_case(t)))
    }

    /// A tag's value by case-insensitive name.
    pub fn tag(&self, name: &str) -> Option<&str> {
        lookup_ci(&self.tags, name)
    }

    /// The gating entries (empty when there is no gating block).
    pub fn gating_entries(&self) -> &[GatingEntryView] {
        self.security_gating.as_ref().map(|g| g.identities.as_slice()).unwrap_or_default()
    }

    /// True when `securityGating.enabled` is `true`.
    pub fn gating_enabled(&self) -> bool {
        self.security_gating.as_ref().is_some_and(|g| g.enabled)
    }
}

fn kubelet_identity(f: &Fields<'_>) -> Result<Option<KubeletIdentity>, ModelError> {
    let base = "/properties/identityProfile/kubeletidentity";
    if f.get(base).is_none() {
        return Ok(None);
    }
    Ok(Some(KubeletIdentity {
        resource_id: f.req_id(&format!("{base}/resourceId"), IDENTITY_TYPE)?,
        client_id: f.req_str(&format!("{base}/clientId"))?,
        object_id: f.req_str(&format!("{base}/objectId"))?,
    }))
}

fn security_gating(v: &Value) -> SecurityGatingView {
    let g = Fields::new(v, KIND);
    let identities = match g.get("/identities") {
        Some(Value::Array(items)) => items.iter().map(GatingEntryView::from_json).collect(),
        _ => Vec::new(),
    };
    SecurityGatingView { enabled: g.flag("/enabled"), allow_secret_access: g.opt_bool("/allowSecretAccess"), identities }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::fixture_body;
    use serde_json::json;

    const GET: &str = "Microsoft.ContainerService/ManagedClustersGet.json";
    const CREATE: &str = "Microsoft.ContainerService/ManagedClustersCreate_SecurityProfile.json";
    const MI: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MC_rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kubelet";

    #[test]
    fn parses_the_get_fixture() {
        let c = ClusterView::from_json(&fixture_body(GET, "200")).unwrap();
        assert_eq!(c.name(), "clustername1");
        assert_eq!(c.resource_group(), "rg1");
        assert_eq!(c.location, "location1");
        assert_eq!(c.etag.as_deref(), Some("beywbwei"));
        assert_eq!(c.effective_kubernetes_version(), Some("1.9.6"));
        assert_eq!(c.provisioning_state.as_deref(), Some("Succeeded"));
        assert!(!c.is_busy());
        assert!(!c.oidc_issuer_enabled && !c.workload_identity_enabled);
        assert_eq!(c.kubelet_identity, None);
        assert_eq!(c.security_gating, None);
        assert_eq!(c.document_issue, None);
        assert_eq!(c.tag("TIER"), Some("production"));
    }

    #[test]
    fn parses_gating_block_of_the_create_fixture() {
        let c = ClusterView::from_json(&fixture_body(CREATE, "200")).unwrap();
        let g = c.security_gating.clone().unwrap();
        assert!(g.enabled && c.gating_enabled());
        assert_eq!(g.allow_secret_access, Some(true));
        assert_eq!(g.identities.len(), 1);
        assert_eq!(g.identities[0].azure_container_registry.as_deref(), Some("registry1"));
        assert_eq!(g.identities[0].identity_client_id.as_deref(), Some("client1"));
        assert!(g.identities[0].identity_resource_id.as_deref().unwrap().contains("SUB_ID"), "foreign entries are kept verbatim");
        assert_eq!(g.identities[0].identity_object_id, None);
    }

    #[test]
    fn parses_oidc_workload_identity_and_kubelet_identity() {
        let mut doc = fixture_body(GET, "200");
        let props = doc["properties"].as_object_mut().unwrap();
        props.insert("oidcIssuerProfile".into(), json!({"enabled": true, "issuerURL": "https://oidc.example/t/i/"}));
        props.insert("securityProfile".into(), json!({"workloadIdentity": {"enabled": true}}));
        props.insert("identityProfile".into(), json!({"kubeletidentity": {"resourceId": MI, "clientId": "c", "objectId": "o"}}));
        let c = ClusterView::from_json(&doc).unwrap();
        assert!(c.oidc_issuer_enabled && c.workload_identity_enabled);
        assert_eq!(c.oidc_issuer_url.as_deref(), Some("https://oidc.example/t/i/"));
        let k = c.kubelet_identity.unwrap();
        assert_eq!(k.resource_id.name(), "kubelet");
        assert_eq!((k.client_id.as_str(), k.object_id.as_str()), ("c", "o"));
    }

    #[test]
    fn strict_about_ids() {
        let mut doc = fixture_body(GET, "200");
        doc["id"] = json!("/subscriptions/not-a-guid/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c");
        let err = ClusterView::from_json(&doc).unwrap_err().to_string();
        assert!(err.contains("`/id`") && err.contains("not a GUID"), "{err}");

        let mut doc = fixture_body(GET, "200");
        doc["id"] = json!(MI);
        assert!(ClusterView::from_json(&doc).unwrap_err().to_string().contains("is not a Microsoft.ContainerService/managedClusters"));

        let mut doc = fixture_body(GET, "200");
        doc["properties"]["identityProfile"] = json!({"kubeletidentity": {"resourceId": "/nope", "clientId": "c", "objectId": "o"}});
        let err = ClusterView::from_json(&doc).unwrap_err().to_string();
        assert!(err.contains("kubeletidentity/resourceId"), "{err}");
    }

    #[test]
    fn missing_required_field_names_it() {
        let mut doc = fixture_body(GET, "200");
        doc.as_object_mut().unwrap().remove("location");
        let err = ClusterView::from_json(&doc).unwrap_err().to_string();
        assert!(err.contains("`/location`") && err.contains("clustername1"), "{err}");
        assert!(ClusterView::from_json(&json!({})).unwrap_err().to_string().contains("`/id`"));
    }

    #[test]
    fn tolerates_odd_optional_shapes() {
        let mut doc = fixture_body(GET, "200");
        doc["properties"]["securityProfile"] = json!({"defender": {"securityGating": {"enabled": "True", "identities": null}}});
        doc["properties"]["oidcIssuerProfile"] = json!(null);
        let c = ClusterView::from_json(&doc).unwrap();
        assert!(c.gating_enabled());
        assert!(c.gating_entries().is_empty());
        assert!(!c.oidc_issuer_enabled);
        doc["properties"].as_object_mut().unwrap().remove("provisioningState");
        assert!(!ClusterView::from_json(&doc).unwrap().is_busy(), "no provisioningState = done");
        doc["properties"]["provisioningState"] = json!("Updating");
        assert!(ClusterView::from_json(&doc).unwrap().is_busy());
    }
}
