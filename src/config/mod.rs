//! Typed configuration, layered from the compiled-in `config/default.toml`, an optional file
//! (`--config PATH` or `FLEETGATE_CONFIG`) and `FLEETGATE__SECTION__KEY` environment variables.
//!
//! Every section denies unknown keys, so a typo fails at start with a message naming the key; every
//! duration has a minimum and a maximum (`limits`).

mod limits;
mod load;
mod redact;

pub use limits::{DURATION_RANGES, DurationRange, MAX_RESPONSE_BYTES, MIN_RESPONSE_BYTES};
pub use load::{ConfigError, ConfigSource, DEFAULT_TOML, is_loopback, load, parse_major_minor};
pub use redact::redacted_toml;

use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::id::ResourceId;

/// The whole effective configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// How fleetgate reaches and authenticates to Azure Resource Manager.
    pub azure: AzureSettings,
    /// What fleetgate may touch.
    pub scope: ScopeSettings,
    /// What "gated deployment enabled" means for a cluster.
    pub gating: GatingSettings,
    /// The Service Bus queue the worker consumes.
    pub queue: QueueSettings,
    /// Graceful shutdown.
    pub shutdown: ShutdownSettings,
    /// Health endpoints.
    pub health: HealthSettings,
    /// Logs, traces and metrics.
    pub telemetry: TelemetrySettings,
    /// Periodic drift repair.
    pub resync: ResyncSettings,
    /// Fleet backfill pacing.
    pub backfill: BackfillSettings,
    /// How the Service Bus worker defers a cluster whose AKS operation is still running.
    pub defer: DeferSettings,
}

/// `[queue]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// Namespace name (`myns` → `myns.servicebus.windows.net`).
    pub namespace: String,
    /// Queue name.
    pub name: String,
    /// Poison queue; empty = `<name>-poison`.
    pub poison_queue: String,
    /// Base URL override; `http://` only for loopback hosts.
    pub endpoint: String,
    /// How to authenticate.
    pub auth: QueueAuthKind,
    /// SAS rule name (`auth = "sas"`; the key comes from `FLEETGATE_SAS_KEY`).
    pub sas_key_name: String,
    /// Entra token scope (`auth = "entra"`).
    pub token_scope: String,
    /// Messages handled at once.
    pub max_concurrency: usize,
    /// Long-poll wait of one receive.
    #[serde(with = "humantime_serde")]
    pub receive_timeout: Duration,
    /// Lock renewal period while a message is worked on.
    #[serde(with = "humantime_serde")]
    pub lock_renewal_interval: Duration,
}

impl QueueSettings {
    /// The poison queue's name.
    pub fn poison_queue_name(&self) -> String {
        if self.poison_queue.is_empty() { format!("{}-poison", self.name) } else { self.poison_queue.clone() }
    }
}

/// `queue.auth`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum QueueAuthKind {
    /// Microsoft Entra token (the azure credential) for `queue.token_scope`.
    Entra,
    /// Shared access signature from `queue.sas_key_name` + `FLEETGATE_SAS_KEY`.
    Sas,
}

/// `[shutdown]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownSettings {
    /// How long in-flight work may finish after a signal.
    #[serde(with = "humantime_serde")]
    pub grace: Duration,
}

/// `[health]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSettings {
    /// Listen address of `/healthz` and `/readyz`.
    pub listen: String,
}

/// `[telemetry]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// Log line format.
    pub log_format: LogFormat,
    /// tracing filter directive.
    pub log_level: String,
    /// OpenTelemetry `service.name`.
    pub service_name: String,
}

/// `telemetry.log_format`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[resync]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResyncSettings {
    /// Run the periodic fleet re-check.
    pub enabled: bool,
    /// Period (jittered ±25 %).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
}

/// `[defer]`: the Service Bus worker never waits on Azure's clock. A cluster found `Creating`/`Updating`
/// (or whose PUT was accepted as a long-running operation) is re-checked by a scheduled reconcile
/// command instead, `interval` after the first deferral, doubling up to `max_interval`, for at most
/// `max_wait` since the first deferral.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeferSettings {
    /// Defer (the default). `false`: the Service Bus worker waits in-process as `run --source file:`
    /// does, each wait holding a `queue.max_concurrency` slot.
    pub enabled: bool,
    /// Delay of the first re-check.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Longest delay between re-checks.
    #[serde(with = "humantime_serde")]
    pub max_interval: Duration,
    /// Give up (outcome `failed`) when the cluster is still busy this long after it was first deferred.
    #[serde(with = "humantime_serde")]
    pub max_wait: Duration,
}

/// `[backfill]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillSettings {
    /// Clusters reconciled at once (direct mode).
    pub concurrency: usize,
    /// Per-subscription read bucket size.
    pub read_burst: u32,
    /// Per-subscription read refill per second.
    pub read_rate: u32,
    /// Per-subscription write bucket size.
    pub write_burst: u32,
    /// Per-subscription write refill per second.
    pub write_rate: u32,
    /// Messages per batch send (enqueue mode).
    pub batch_size: usize,
}

/// `[azure]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureSettings {
    /// ARM base URL. `http://` only for loopback hosts (the simulator).
    pub resource_manager_endpoint: String,
    /// Which credential to use.
    pub credential: CredentialKind,
    /// Entra authority host; empty = `AZURE_AUTHORITY_HOST` or the public cloud.
    pub authority_host: String,
    /// Tenant; empty = `AZURE_TENANT_ID`.
    pub tenant_id: String,
    /// Client (application) ID; empty = `AZURE_CLIENT_ID`.
    pub client_id: String,
    /// The az CLI executable used by `credential = "azure_cli"`.
    pub cli_command: String,
    /// Timeout for one HTTP request.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Deadline for one operation including its retries and LRO polling.
    #[serde(with = "humantime_serde")]
    pub operation_timeout: Duration,
    /// Largest ARM response body read, in bytes (checked against `Content-Length` and while streaming).
    pub max_response_bytes: u64,
    /// Pace requests from ARM's `x-ms-ratelimit-remaining-subscription-*` headers (slow down before the
    /// subscription's bucket, shared by every replica of one principal, is empty).
    pub header_pacing: bool,
    /// api-version per resource type.
    pub api_versions: ApiVersions,
    /// Retry policy for ARM calls.
    pub retry: RetrySettings,
}

/// `azure.credential`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum CredentialKind {
    /// Workload identity if its variables are set, else managed identity, else the az CLI.
    Auto,
    /// Kubernetes workload identity (`AZURE_FEDERATED_TOKEN_FILE`).
    WorkloadIdentity,
    /// Managed identity (IMDS or `IDENTITY_ENDPOINT`).
    ManagedIdentity,
    /// Service principal secret from `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// `az account get-access-token`.
    AzureCli,
}

/// `[azure.api_versions]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiVersions {
    /// Microsoft.ContainerService/managedClusters (must carry securityGating).
    pub managed_clusters: String,
    /// Microsoft.ManagedIdentity (identities and federated credentials).
    pub managed_identity: String,
    /// Microsoft.Authorization/roleAssignments.
    pub role_assignments: String,
    /// Microsoft.ContainerRegistry/registries.
    pub container_registries: String,
    /// Microsoft.Security/pricings.
    pub pricings: String,
    /// Microsoft.ResourceGraph/resources.
    pub resource_graph: String,
}

/// `[azure.retry]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySettings {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff delay (exponential, jittered).
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Backoff cap (a server's `Retry-After` is honoured even above it).
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// How long `PrincipalNotFound` is retried.
    #[serde(with = "humantime_serde")]
    pub principal_not_found_window: Duration,
}

/// `[scope]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeSettings {
    /// Subscription IDs fleetgate may touch.
    pub subscriptions: Vec<String>,
    /// Clusters carrying this tag are left alone (status `excluded`).
    pub exclude_tag: String,
}

impl ScopeSettings {
    /// True when `subscription` is in the allow-list (case-insensitive).
    pub fn allows_subscription(&self, subscription: &str) -> bool {
        self.subscriptions.iter().any(|s| s.eq_ignore_ascii_case(subscription))
    }

    /// True when the resource's subscription is in the allow-list.
    pub fn allows(&self, id: &ResourceId) -> bool {
        self.allows_subscription(id.subscription_id())
    }
}

/// `[gating]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatingSettings {
    /// Which identity the admission controller uses.
    pub identity_strategy: IdentityStrategy,
    /// Name template of the dedicated identity; `{cluster}` is replaced by the cluster name.
    pub identity_name: String,
    /// Resource group of the dedicated identity; empty = the cluster's.
    pub identity_resource_group: String,
    /// How registries are named in `securityGating.identities`.
    pub registry_reference: RegistryReference,
    /// What fleetgate may change in the Defender for Containers plan (`extensions` | `full` | `off`).
    pub manage_defender_plan: DefenderPlanMode,
    /// Turn on OIDC issuer / workload identity instead of reporting them as blockers.
    pub enable_prerequisites: bool,
    /// Registries every cluster must be wired to.
    pub extra_registries: Vec<ResourceId>,
    /// Delete the dedicated identity when its cluster is deleted.
    pub gc_on_delete: bool,
    /// Oldest Kubernetes version gating supports (`major.minor`).
    pub min_kubernetes_version: String,
    /// How long a cluster-write event for a cluster a full check found compliant is answered from one
    /// cluster GET when the cluster's compliance fingerprint is unchanged; zero disables the memo.
    #[serde(with = "humantime_serde")]
    pub unchanged_cluster_ttl: Duration,
}

/// `gating.identity_strategy`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum IdentityStrategy {
    /// One user-assigned identity per cluster, created by fleetgate.
    Dedicated,
    /// The cluster's kubelet identity.
    Kubelet,
}

/// `gating.manage_defender_plan`: how far fleetgate may go with a subscription's Defender for Containers
/// plan (`Microsoft.Security/pricings/Containers`). Switching the plan from Free to Standard starts
/// billing for the whole subscription, so only `full` may do it.
///
/// The boolean values of earlier releases are still accepted: `true` → `extensions`, `false` → `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "PlanModeValue")]
pub enum DefenderPlanMode {
    /// When the plan is already Standard, turn on the pieces gating needs (sensor + security gating,
    /// registry access, security findings); a subscription on Free blocks its clusters
    /// (`defender_plan_off`) with the fix. The default.
    Extensions,
    /// Like `extensions`, and may also switch the plan from Free to Standard (billed per vCore).
    Full,
    /// Never read or write the plan.
    Off,
}

impl DefenderPlanMode {
    /// The snake_case value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extensions => "extensions",
            Self::Full => "full",
            Self::Off => "off",
        }
    }
}

/// What `gating.manage_defender_plan` may hold in a file or variable: a mode, or an old boolean.
#[derive(Deserialize)]
#[serde(untagged)]
enum PlanModeValue {
    Flag(bool),
    Text(String),
    Number(i64),
}

impl TryFrom<PlanModeValue> for DefenderPlanMode {
    type Error = String;
    fn try_from(value: PlanModeValue) -> Result<Self, Self::Error> {
        let expected = "expected one of: extensions | full | off (the old true means extensions, false means off)";
        match value {
            PlanModeValue::Flag(true) => Ok(Self::Extensions),
            PlanModeValue::Flag(false) => Ok(Self::Off),
            PlanModeValue::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
                "extensions" | "true" => Ok(Self::Extensions),
                "full" => Ok(Self::Full),
                "off" | "false" => Ok(Self::Off),
                _ => Err(format!("invalid value {t:?}, {expected}")),
            },
            PlanModeValue::Number(n) => Err(format!("invalid value {n}, {expected}")),
        }
    }
}

/// `gating.registry_reference`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum RegistryReference {
    /// `myacr.azurecr.io`
    LoginServer,
    /// `myacr`
    Name,
    /// The registry's ARM ID.
    ResourceId,
}

/// Implements `TryFrom<String>` for a snake_case enum so a bad value names every accepted one.
macro_rules! string_enum {
    ($ty:ident { $($text:literal => $variant:ident),+ $(,)? }) => {
        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                match value.as_str() {
                    $($text => Ok($ty::$variant),)+
                    other => Err(format!("invalid value {other:?}, expected one of: {}", [$($text),+].join(" | "))),
                }
            }
        }
    };
}

string_enum!(CredentialKind {
    "auto" => Auto,
    "workload_identity" => WorkloadIdentity,
    "managed_identity" => ManagedIdentity,
    "client_secret" => ClientSecret,
    "azure_cli" => AzureCli,
});
string_enum!(IdentityStrategy { "dedicated" => Dedicated, "kubelet" => Kubelet });
string_enum!(RegistryReference { "login_server" => LoginServer, "name" => Name, "resource_id" => ResourceId });
string_enum!(QueueAuthKind { "entra" => Entra, "sas" => Sas });
string_enum!(LogFormat { "text" => Text, "json" => Json });
