//! The fleet file: what the simulated Azure contains at start (TOML or JSON; unknown keys are errors).
//!
//! ```toml
//! [sim]                      # SimOptions: the knobs below
//! latency = "aks"            # request latencies + minutes-long AKS operations
//! time_scale = 0.01          # … scaled down for a test: a create runs 3 s, an update 1.2 s
//!
//! [[subscriptions]]
//! id = "00000000-0000-0000-0000-000000000001"
//! defender = "full"          # off | partial | full (Containers plan); or `pricing = { … }` raw document
//!
//! [[registries]]
//! subscription = "00000000-0000-0000-0000-000000000001"
//! resource_group = "rg-shared"
//! name = "acrshared"
//!
//! [[clusters]]
//! subscription = "00000000-0000-0000-0000-000000000001"
//! resource_group = "rg-aks"
//! name = "aks-1"
//! kubernetes_version = "1.31.5"
//! attached_registries = ["acrshared"]   # registry name or ARM ID; kubelet gets AcrPull (random name)
//! creating_for = "5m"                   # `Creating` at start, as right after its create PUT
//!
//! [generator]                # optional: thousands of clusters for benchmarks
//! count = 5000
//! creating_for = "2m"        # every generated non-compliant cluster starts `Creating` (event bursts)
//! ```
//!
//! Besides these: `[[identities]]` (with `[[identities.federated_credentials]]`), `[[role_assignments]]`,
//! `principals` (extra directory object IDs that exist), and per cluster `oidc_issuer`, `issuer_url`,
//! `workload_identity`, `kubelet_identity`, `tags`, `provisioning_state`, `extra_properties` (merged into
//! `properties` verbatim), `security_gating`, `compliant` (seed everything fleetgate would create),
//! `lro_outcome`, `creating_for` and `document` (a whole raw cluster document used as is).
//!
//! # `[sim]` knobs
//!
//! Defaults follow recorded Azure traffic (tests/fixtures/recorded/sim/SOURCES.md) or the official specs;
//! where a default is kinder than Azure, the table says so and which knob makes it real.
//!
//! | knob | default | what the default follows |
//! |---|---|---|
//! | `create_duration` | unset → `lro_duration` → the latency preset (`aks`: 5 min; else 0) | `aks`: recorded create read back `Succeeded` after 4 min 37 s. 0 is kinder (tests) |
//! | `update_duration` | unset → `lro_duration` → the preset (`aks`: 2 min; else 0) | `aks`: recorded update operation took 1 min 36 s. 0 is kinder (tests) |
//! | `lro_duration` | unset | shorthand for both durations (older fleet files) |
//! | `time_scale` | `1.0` | multiplies the durations above and `creating_for` |
//! | `lro_retry_after_secs` | unset: no `Retry-After` | recorded AKS PUT answers and polls carry none; set `0` for fast tests (kinder) |
//! | `lro_location_header` | `false` | recorded AKS PUT answers carry only `Azure-AsyncOperation` (the `operationresults` URL is served anyway) |
//! | `latency` | `zero` | kinder (tests); `realistic` (ARM-like ms) and `aks` (= `realistic` + AKS durations) |
//! | `throttling` | `true` | ARM's per-subscription token buckets (reads 250 + 25/s, writes 200 + 10/s) |
//! | `replication_delay` | `0` | kinder: a new principal is visible to role assignments at once; real Entra takes seconds (`PrincipalNotFound`) |
//! | `fic_write_duration` | `0` | kinder: real FIC writes on one identity conflict while one runs (409 `Concurrent…`) |
//! | `gating_exists_status` / `_code` / `_message` | `409` / `Conflict` / "…already exists…" | not recorded; what a re-installed gating pricing answers |
//! | `list_page_size` | `100` | items per ARM list page before a `nextLink` |
//! | `cluster_etags` | see `SimOptions` | the AKS eTag feature (owned by the engine work of issue 11) |
//! | `tenant_id`, `identity_header`, `client_secret`, `seed`, `faults`, `journal_bodies` | — | simulator plumbing |
//!
//! Always as recorded, without a knob: managed clusters answer `type`
//! `Microsoft.ContainerService/ManagedClusters` and IDs with `resourcegroups` (identities and FICs too);
//! a create answers 201 `Creating` without `identityProfile` until done; the `Azure-AsyncOperation` URL is
//! `…/locations/{region}/operations/{id}?api-version=2025-03-01&t=…&c=…&s=…&h=…`; computed fields
//! (`fqdn`, `azurePortalFQDN`, `powerState`, `currentKubernetesVersion`, `identity.principalId`/`tenantId`,
//! pools' `currentOrchestratorVersion`/`provisioningState`/…) survive a PUT that leaves them out;
//! role assignments carry `condition`, `conditionVersion`, `createdBy`, `delegatedManagedIdentityResourceId`,
//! `description`; `RoleAssignmentExists` names the existing assignment without hyphens; identities and FICs
//! have no `systemData`. Service Bus: a message sent with `ScheduledEnqueueTimeUtc` in its
//! `BrokerProperties` stays invisible until due (duplicate detection applies while scheduled).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::arm::generator::GeneratorSpec;
use super::options::SimOptions;

/// A fleet: what the simulated Azure contains at start, and how it behaves.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fleet {
    /// Behaviour knobs.
    pub sim: SimOptions,
    /// Subscriptions, with their Defender for Containers plan state.
    pub subscriptions: Vec<SubscriptionSpec>,
    /// Container registries (in any subscription of the fleet).
    pub registries: Vec<RegistrySpec>,
    /// Managed clusters.
    pub clusters: Vec<ClusterSpec>,
    /// Pre-existing user-assigned identities and their federated credentials.
    pub identities: Vec<IdentitySpec>,
    /// Pre-existing role assignments.
    pub role_assignments: Vec<RoleAssignmentSpec>,
    /// Extra directory principals (object IDs) that exist, e.g. users or groups used in role assignments.
    pub principals: Vec<String>,
    /// A generated fleet added to the listed content.
    pub generator: Option<GeneratorSpec>,
}

/// One subscription.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SubscriptionSpec {
    /// Subscription ID (a GUID).
    pub id: String,
    /// Containers plan state: `off` (Free), `partial` (Standard without gating), `full`.
    pub defender: DefenderState,
    /// A raw `Microsoft.Security/pricings/Containers` document (or just its `properties`); wins over `defender`.
    pub pricing: Option<Value>,
    /// Resource groups that exist even though the fleet puts nothing in them.
    pub resource_groups: Vec<String>,
}

/// Defender for Containers plan presets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DefenderState {
    /// Free tier.
    #[default]
    Off,
    /// Standard with the sensor, but no security gating and no security findings.
    Partial,
    /// Standard with every extension fleetgate needs, security gating on.
    Full,
}

/// One container registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrySpec {
    /// Subscription ID.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Registry name (login server `{name lower}.azurecr.io`).
    pub name: String,
    /// Azure location.
    pub location: String,
    /// `Basic`, `Standard` or `Premium`.
    pub sku: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl Default for RegistrySpec {
    fn default() -> Self {
        Self {
            subscription: String::new(),
            resource_group: String::new(),
            name: String::new(),
            location: "westeurope".into(),
            sku: "Premium".into(),
            tags: BTreeMap::new(),
        }
    }
}

/// How a cluster's long-running operations end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LroOutcome {
    /// `Succeeded`.
    #[default]
    Succeeded,
    /// `Failed` (provisioningState `Failed`).
    Failed,
    /// `Canceled`.
    Canceled,
}

impl LroOutcome {
    /// The ARM status string.
    pub fn as_str(self) -> &'static str {
        match self {
            LroOutcome::Succeeded => "Succeeded",
            LroOutcome::Failed => "Failed",
            LroOutcome::Canceled => "Canceled",
        }
    }
}

/// One managed cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterSpec {
    /// Subscription ID (may come from `document.id` instead).
    pub subscription: Option<String>,
    /// Resource group (may come from `document.id` instead).
    pub resource_group: Option<String>,
    /// Cluster name (may come from `document.id` instead).
    pub name: Option<String>,
    /// Azure location.
    pub location: String,
    /// `properties.kubernetesVersion`.
    pub kubernetes_version: String,
    /// OIDC issuer enabled.
    pub oidc_issuer: bool,
    /// Issuer URL; generated when the issuer is enabled and this is empty.
    pub issuer_url: Option<String>,
    /// `securityProfile.workloadIdentity.enabled`.
    pub workload_identity: bool,
    /// Kubelet identity; generated (in the node resource group) when absent.
    pub kubelet_identity: Option<KubeletIdentitySpec>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// `properties.provisioningState`.
    pub provisioning_state: String,
    /// Registries (name or ARM ID) the kubelet identity has AcrPull on, as `az aks update --attach-acr` does.
    pub attached_registries: Vec<String>,
    /// Merged into `properties` verbatim (deep merge, these values win).
    pub extra_properties: serde_json::Map<String, Value>,
    /// `securityProfile.defender.securityGating` as it already exists.
    pub security_gating: Option<Value>,
    /// Seed the gating identity, FIC, AcrPull and securityGating fleetgate's defaults expect.
    pub compliant: bool,
    /// How PUT operations on this cluster end.
    pub lro_outcome: LroOutcome,
    /// A whole cluster document, used as is (an `eTag` is added when missing).
    pub document: Option<Value>,
    /// The cluster is `Creating` at start and stays so this long (scaled by `sim.time_scale`), as
    /// right after its create PUT: for bursts of cluster-created events. A PUT meanwhile answers 409.
    #[serde(with = "humantime_serde")]
    pub creating_for: Option<std::time::Duration>,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        Self {
            subscription: None,
            resource_group: None,
            name: None,
            location: "westeurope".into(),
            kubernetes_version: "1.31.5".into(),
            oidc_issuer: true,
            issuer_url: None,
            workload_identity: true,
            kubelet_identity: None,
            tags: BTreeMap::new(),
            provisioning_state: "Succeeded".into(),
            attached_registries: Vec::new(),
            extra_properties: serde_json::Map::new(),
            security_gating: None,
            compliant: false,
            lro_outcome: LroOutcome::Succeeded,
            document: None,
            creating_for: None,
        }
    }
}

/// A kubelet identity given in the fleet file (missing parts are generated).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubeletIdentitySpec {
    /// ARM ID of the identity.
    pub resource_id: Option<String>,
    /// Client ID.
    pub client_id: Option<String>,
    /// Object (principal) ID.
    pub object_id: Option<String>,
}

/// One user-assigned identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySpec {
    /// Subscription ID.
    pub subscription: String,
    /// Resource group.
    pub resource_group: String,
    /// Identity name.
    pub name: String,
    /// Azure location.
    pub location: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Principal (object) ID; generated when absent.
    pub principal_id: Option<String>,
    /// Client ID; generated when absent.
    pub client_id: Option<String>,
    /// Federated identity credentials on it.
    pub federated_credentials: Vec<FicSpec>,
}

impl Default for IdentitySpec {
    fn default() -> Self {
        Self {
            subscription: String::new(),
            resource_group: String::new(),
            name: String::new(),
            location: "westeurope".into(),
            tags: BTreeMap::new(),
            principal_id: None,
            client_id: None,
            federated_credentials: Vec::new(),
        }
    }
}

/// One federated identity credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FicSpec {
    /// FIC name.
    pub name: String,
    /// Issuer URL.
    pub issuer: String,
    /// Subject.
    pub subject: String,
    /// Audiences.
    #[serde(default = "default_audiences")]
    pub audiences: Vec<String>,
}

fn default_audiences() -> Vec<String> {
    vec!["api://AzureADTokenExchange".into()]
}

/// One role assignment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignmentSpec {
    /// Scope (an ARM ID: subscription, resource group or resource).
    pub scope: String,
    /// `AcrPull`, a role definition GUID, or a full role definition ID (stored as given).
    pub role: String,
    /// Principal (object) ID.
    pub principal_id: String,
    /// `ServicePrincipal`, `User`, `Group`; absent as `az aks update --attach-acr` makes them.
    #[serde(default)]
    pub principal_type: Option<String>,
    /// Assignment name (a GUID); random when absent.
    #[serde(default)]
    pub name: Option<String>,
}

/// A fleet file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The file could not be read or parsed.
    #[error("fleet file {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An entry parses but cannot be seeded.
    #[error("fleet entry {entry}: {message}")]
    Entry {
        /// Which entry, e.g. `clusters[3] (aks-1)`.
        entry: String,
        /// What is wrong and what to do.
        message: String,
    },
}

impl FleetError {
    /// An [`FleetError::Entry`].
    pub fn entry(entry: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Entry { entry: entry.into(), message: message.into() }
    }
}

impl Fleet {
    /// Reads a fleet file; `.json` files are JSON, everything else TOML.
    pub fn from_path(path: &Path) -> Result<Fleet, FleetError> {
        let invalid = |message: String| FleetError::Invalid { path: path.display().to_string(), message };
        let text = std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read it: {e}")))?;
        let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let fleet = if is_json {
            serde_json::from_str::<Fleet>(&text).map_err(|e| invalid(format!("invalid JSON: {e}")))?
        } else {
            toml::from_str::<Fleet>(&text).map_err(|e| invalid(format!("invalid TOML: {e}")))?
        };
        fleet.validate().map_err(|e| invalid(e.to_string()))?;
        Ok(fleet)
    }

    /// Parses a fleet from TOML text.
    pub fn from_toml_str(s: &str) -> Result<Fleet, FleetError> {
        let fleet: Fleet =
            toml::from_str(s).map_err(|e| FleetError::Invalid { path: "<inline>".into(), message: format!("invalid TOML: {e}") })?;
        fleet.validate()?;
        Ok(fleet)
    }

    /// A generated fleet (see [`GeneratorSpec`]); out-of-range ratios are clamped.
    pub fn generated(spec: &GeneratorSpec) -> Fleet {
        super::arm::generator::generate(spec)
    }

    /// This fleet with its `[generator]` content added.
    pub fn expanded(&self) -> Result<Fleet, FleetError> {
        let Some(spec) = &self.generator else { return Ok(self.clone()) };
        spec.validate()?;
        let generated = Self::generated(spec);
        let mut out = self.clone();
        out.generator = None;
        out.subscriptions.extend(generated.subscriptions);
        out.registries.extend(generated.registries);
        out.clusters.extend(generated.clusters);
        out.identities.extend(generated.identities);
        out.role_assignments.extend(generated.role_assignments);
        out.principals.extend(generated.principals);
        Ok(out)
    }

    fn validate(&self) -> Result<(), FleetError> {
        if let Some(spec) = &self.generator {
            spec.validate()?;
        }
        Ok(())
    }
}
