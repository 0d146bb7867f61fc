//! In-memory ARM state: every resource the simulated Azure knows, and the one synchronous entry point the
//! HTTP pipeline calls for ARM and Resource Graph requests.
//!
//! All time is lazy: nothing runs in the background. A long-running operation stores its start and
//! deadline; whoever reads it later compares with the `now` of that request. Tests can therefore drive
//! the state with synthetic [`Instant`]s. The behaviour of each resource type lives in `super::arm`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;

use super::arm;
use super::arm::clusters::ClusterRecord;
use super::arm::identities::IdentityRecord;
use super::arm::operations::Operation;
use super::arm::roles::RoleAssignmentRecord;
use super::fleet::{Fleet, FleetError};
use super::http::{SimRequest, SimResponse};
use super::options::SimOptions;

/// Everything the simulated ARM knows. Maps are keyed by the lower-cased resource ID; documents keep the
/// casing they were created with. `Debug` shows counts only (the options may hold a client secret).
pub struct SimState {
    pub(in crate::sim) options: SimOptions,
    pub(in crate::sim) rng: fastrand::Rng,
    /// The instant `epoch_wall` corresponds to; wall-clock strings are derived from it.
    pub(in crate::sim) epoch: Instant,
    pub(in crate::sim) epoch_wall: OffsetDateTime,
    pub(in crate::sim) subscriptions: BTreeMap<String, SubscriptionRecord>,
    pub(in crate::sim) clusters: BTreeMap<String, ClusterRecord>,
    pub(in crate::sim) operations: HashMap<String, Operation>,
    pub(in crate::sim) identities: BTreeMap<String, IdentityRecord>,
    pub(in crate::sim) role_assignments: BTreeMap<String, RoleAssignmentRecord>,
    /// Keys of `role_assignments` per principal (lower-cased): lists and duplicate checks filtered by
    /// principal do not scan the whole fleet.
    pub(in crate::sim) role_assignments_by_principal: HashMap<String, BTreeSet<String>>,
    pub(in crate::sim) registries: BTreeMap<String, Value>,
    /// Keyed by `{scope}/providers/microsoft.security/pricings/{name}`, lower-cased.
    pub(in crate::sim) pricings: BTreeMap<String, Value>,
    /// Directory principals (object IDs, lower-cased) and when they were created; `None` = long ago.
    pub(in crate::sim) principals: HashMap<String, Option<Instant>>,
}

/// A subscription and its resource groups (lower-cased names).
#[derive(Debug, Clone)]
pub(in crate::sim) struct SubscriptionRecord {
    /// The ID as written in the fleet file.
    pub id: String,
    /// Lower-cased names of the resource groups that exist.
    pub resource_groups: BTreeSet<String>,
}

/// How many resources of each kind the state holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SimCounts {
    /// Managed clusters.
    pub clusters: usize,
    /// User-assigned managed identities, kubelet identities of seeded clusters included.
    pub identities: usize,
    /// Federated identity credentials over all identities.
    pub fics: usize,
    /// Role assignments at every scope.
    pub role_assignments: usize,
    /// Container registries.
    pub registries: usize,
    /// Pricing documents written or seeded (defaults are not counted).
    pub pricings: usize,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState").field("subscriptions", &self.subscriptions.len()).field("counts", &self.counts()).finish_non_exhaustive()
    }
}

impl SimState {
    /// The subscription IDs of the fleet, as written in the fleet file.
    pub fn subscription_ids(&self) -> Vec<String> {
        self.subscriptions.values().map(|r| r.id.clone()).collect()
    }

    /// An empty state: no subscriptions, no resources.
    pub fn new(options: &SimOptions) -> Self {
        Self {
            options: options.clone(),
            rng: fastrand::Rng::with_seed(options.seed),
            epoch: Instant::now(),
            epoch_wall: OffsetDateTime::now_utc(),
            subscriptions: BTreeMap::new(),
            clusters: BTreeMap::new(),
            operations: HashMap::new(),
            identities: BTreeMap::new(),
            role_assignments: BTreeMap::new(),
            role_assignments_by_principal: HashMap::new(),
            registries: BTreeMap::new(),
            pricings: BTreeMap::new(),
            principals: HashMap::new(),
        }
    }

    /// Seeds the state from a fleet (its `[generator]` table, if any, is expanded first). `options` wins
    /// over `fleet.sim`, so a caller can override knobs without editing the file.
    pub fn from_fleet(fleet: &Fleet, options: &SimOptions) -> Result<Self, FleetError> {
        let mut state = Self::new(options);
        arm::seed::seed(&mut state, &fleet.expanded()?)?;
        Ok(state)
    }

    /// Answers one ARM or Resource Graph request (anything under `/subscriptions/` or `/providers/`).
    pub fn handle_arm(&mut self, req: &SimRequest, now: Instant) -> SimResponse {
        arm::handle(self, req, now)
    }

    /// The managed cluster `id` as a GET with a securityGating-capable api-version would return it now.
    pub fn cluster_document(&self, id: &str) -> Option<Value> {
        self.cluster_document_at(id, Instant::now())
    }

    /// [`Self::cluster_document`] at a given instant (for tests with synthetic time).
    pub fn cluster_document_at(&self, id: &str, now: Instant) -> Option<Value> {
        let record = self.clusters.get(&id.to_ascii_lowercase())?;
        Some(record.render(self, now, &arm::versions::ApiVersion::latest()))
    }

    /// Changes the stored document of cluster `id` out of band, as another tool's write would (a new
    /// eTag, served or not). False when there is no such cluster.
    pub fn edit_cluster_document(&mut self, id: &str, edit: impl FnOnce(&mut Value)) -> bool {
        let etag = self.new_guid();
        let Some(record) = self.clusters.get_mut(&id.to_ascii_lowercase()) else { return false };
        edit(&mut record.doc);
        if let Some(key) = arm::clusters::etag_key(&record.doc) {
            record.doc[key] = Value::String(etag);
        }
        true
    }

    /// How many resources of each kind exist.
    pub fn counts(&self) -> SimCounts {
        SimCounts {
            clusters: self.clusters.len(),
            identities: self.identities.len(),
            fics: self.identities.values().map(|i| i.fics.len()).sum(),
            role_assignments: self.role_assignments.len(),
            registries: self.registries.len(),
            pricings: self.pricings.len(),
        }
    }

    /// When the directory principal `object_id` was created: `Some(None)` for one that existed before the
    /// simulator started, `Some(Some(t))` for one created at `t`, `None` if unknown.
    pub fn principal_created_at(&self, object_id: &str) -> Option<Option<Instant>> {
        self.principals.get(&object_id.to_ascii_lowercase()).copied()
    }

    /// The `principalId` of the user-assigned identity `id`, if it exists.
    pub fn identity_principal_id(&self, id: &str) -> Option<String> {
        self.identities.get(&id.to_ascii_lowercase()).map(|i| i.principal_id.clone())
    }

    /// Wall-clock time corresponding to `now`.
    pub(in crate::sim) fn wall(&self, now: Instant) -> OffsetDateTime {
        if now >= self.epoch { self.epoch_wall + now.duration_since(self.epoch) } else { self.epoch_wall - self.epoch.duration_since(now) }
    }

    /// A new random GUID from the seeded RNG.
    pub(in crate::sim) fn new_guid(&mut self) -> String {
        arm::common::guid(&mut self.rng)
    }
}
