//! Behaviour knobs of the simulator that are not fleet content.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use super::faults::FaultRule;
use super::latency::LatencyPreset;

/// How the simulator behaves. Every field can be set from the fleet file's `[sim]` table.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimOptions {
    /// Tenant the token endpoints issue tokens for.
    pub tenant_id: String,
    /// How long a cluster stays `Creating` after its create PUT (and a seeded `creating_for` cluster
    /// without its own figure). Unset: `lro_duration`, else the latency preset's figure (`aks`: 5 min,
    /// others 0). Scaled by `time_scale`.
    #[serde(with = "humantime_serde")]
    pub create_duration: Option<Duration>,
    /// How long a managed-cluster PUT of an existing cluster stays `Updating`. Unset: `lro_duration`,
    /// else the latency preset's figure (`aks`: 2 min, others 0). Scaled by `time_scale`.
    #[serde(with = "humantime_serde")]
    pub update_duration: Option<Duration>,
    /// Shorthand for both `create_duration` and `update_duration` (older fleet files).
    #[serde(with = "humantime_serde")]
    pub lro_duration: Option<Duration>,
    /// Multiplies every Azure duration above (and `creating_for`): the `aks` preset at `time_scale =
    /// 0.01` turns minutes into seconds for tests.
    pub time_scale: f64,
    /// `Retry-After` seconds on cluster PUT answers and operation polls. Unset (the default): no header,
    /// as in every recorded AKS answer; a client then polls at its own pace. Tests set `0` to poll fast.
    pub lro_retry_after_secs: Option<u64>,
    /// Also send a `Location` header (`…/locations/{region}/operationresults/{id}`, signed like the
    /// `Azure-AsyncOperation` one) on cluster PUTs. Off: recorded AKS PUT answers carry only
    /// `Azure-AsyncOperation`. The `operationresults` URL is served either way.
    pub lro_location_header: bool,
    /// A principal younger than this is unknown to role assignments without `principalType`.
    #[serde(with = "humantime_serde")]
    pub replication_delay: Duration,
    /// Status of the pricing PUT that re-installs security gating.
    pub gating_exists_status: u16,
    /// Message of that error (the seed doc gives none; it must contain "already exists").
    pub gating_exists_message: String,
    /// Error code of that error.
    pub gating_exists_code: String,
    /// Per-subscription ARM token buckets (reads 250 + 25/s, writes 200 + 10/s).
    pub throttling: bool,
    /// Latency model.
    pub latency: LatencyPreset,
    /// Seed of the RNG used by probabilistic faults and latency jitter.
    pub seed: u64,
    /// Fault rules active from the start.
    pub faults: Vec<FaultRule>,
    /// Value the managed-identity endpoint expects in `x-identity-header`.
    pub identity_header: String,
    /// When set, the client-credentials grant requires this secret.
    pub client_secret: Option<String>,
    /// Record request bodies in the journal (off for very large benchmarks).
    pub journal_bodies: bool,
    /// How long one federated-credential write occupies its identity; another FIC write on the same identity
    /// before it ends gets `409 ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity`.
    #[serde(with = "humantime_serde")]
    pub fic_write_duration: Duration,
    /// Items per page of ARM list responses (role assignments, clusters, identities, FICs) before a `nextLink`.
    pub list_page_size: usize,
    /// Serve an `eTag` on managed clusters (top level and agent pools), as the AKS eTag feature does.
    /// Off (the default, as real GA responses recorded from live Azure carry none), a cluster is still
    /// versioned internally, so only `If-Match: *` matches it (no client can know the hidden tag).
    pub cluster_etags: bool,
    /// With `cluster_etags` off, answer `If-Match: *` on an existing cluster with 412 — a provider that
    /// does not honour `*` without its eTag feature (unconfirmed for AKS; fleetgate's hedge is tested
    /// against it).
    pub cluster_if_match_star_412: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            tenant_id: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
            create_duration: None,
            update_duration: None,
            lro_duration: None,
            time_scale: 1.0,
            lro_retry_after_secs: None,
            lro_location_header: false,
            replication_delay: Duration::from_millis(0),
            gating_exists_status: 409,
            gating_exists_message: "Security gating already exists for this subscription; it is installed once.".into(),
            gating_exists_code: "Conflict".into(),
            throttling: true,
            latency: LatencyPreset::Zero,
            seed: 1,
            faults: Vec::new(),
            identity_header: "fleetgate-sim".into(),
            client_secret: None,
            journal_bodies: true,
            fic_write_duration: Duration::from_millis(0),
            list_page_size: 100,
            cluster_etags: false,
            cluster_if_match_star_412: false,
        }
    }
}

impl SimOptions {
    /// How long a create PUT keeps its cluster `Creating` (scaled).
    pub fn effective_create_duration(&self) -> Duration {
        let base = self.create_duration.or(self.lro_duration).unwrap_or_else(|| self.latency.create_duration());
        self.scaled(base)
    }

    /// How long an update PUT keeps its cluster `Updating` (scaled).
    pub fn effective_update_duration(&self) -> Duration {
        let base = self.update_duration.or(self.lro_duration).unwrap_or_else(|| self.latency.update_duration());
        self.scaled(base)
    }

    /// `d` times `time_scale` (a negative or non-finite scale counts as 1).
    pub fn scaled(&self, d: Duration) -> Duration {
        if self.time_scale.is_finite() && self.time_scale >= 0.0 { d.mul_f64(self.time_scale) } else { d }
    }
}

impl std::fmt::Debug for SimOptions {
    /// Every field except `client_secret`, which shows only whether it is set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = serde_json::to_value(self).map_err(|_| std::fmt::Error)?;
        let mut map = match value {
            serde_json::Value::Object(map) => map,
            _ => return Err(std::fmt::Error),
        };
        if self.client_secret.is_some() {
            map.insert("client_secret".into(), serde_json::Value::String("<redacted>".into()));
        }
        write!(f, "SimOptions {}", serde_json::Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::SimOptions;

    #[test]
    fn debug_never_shows_the_client_secret() {
        let options = SimOptions { client_secret: Some("s3cr3t-value".into()), ..SimOptions::default() };
        let text = format!("{options:?}");
        assert!(!text.contains("s3cr3t-value"), "{text}");
        assert!(text.contains("<redacted>") && text.contains("lro_duration"), "{text}");
    }

    #[test]
    fn durations_resolve_explicit_then_shorthand_then_preset_and_scale() {
        use super::LatencyPreset;
        use std::time::Duration;
        let zero = SimOptions::default();
        assert_eq!((zero.effective_create_duration(), zero.effective_update_duration()), (Duration::ZERO, Duration::ZERO));
        assert!(zero.lro_retry_after_secs.is_none(), "no Retry-After by default, as recorded");
        let aks = SimOptions { latency: LatencyPreset::Aks, ..SimOptions::default() };
        assert_eq!(aks.effective_create_duration(), Duration::from_secs(300));
        assert_eq!(aks.effective_update_duration(), Duration::from_secs(120));
        let scaled = SimOptions { time_scale: 0.01, ..aks.clone() };
        assert_eq!(scaled.effective_create_duration(), Duration::from_secs(3));
        let short = SimOptions { lro_duration: Some(Duration::from_secs(4)), update_duration: Some(Duration::from_secs(9)), ..aks };
        assert_eq!(
            (short.effective_create_duration(), short.effective_update_duration()),
            (Duration::from_secs(4), Duration::from_secs(9))
        );
        let fleet: super::super::fleet::Fleet =
            toml::from_str("[sim]\nlatency = \"aks\"\ntime_scale = 0.5\ncreate_duration = \"10m\"\nlro_retry_after_secs = 7\n").unwrap();
        assert_eq!(fleet.sim.effective_create_duration(), Duration::from_secs(300));
        assert_eq!(fleet.sim.effective_update_duration(), Duration::from_secs(60));
        assert_eq!(fleet.sim.lro_retry_after_secs, Some(7));
    }
}
