//! [`BulkPlanner`]: plans each cluster of the bulk observation as soon as its inputs are known, and
//! keeps only what the caller's `map` keeps.
//!
//! The fleet-wide indexes (gating identities, AcrPull assignments, registries) are loaded before the
//! cluster rows stream in; the Containers pricing a cluster needs is read the first time a cluster
//! needs that subscription (one GET per subscription, as before). A cluster is then observed, planned,
//! handed to `map` and dropped — memory is bounded by what `map` keeps, not by the fleet.
//!
//! Two kinds of row wait until the stream ends: unreadable rows (they follow the readable ones, as
//! before) and, with [`FicMode::Verify`], clusters whose plan could change once federated credentials
//! are listed (their gating identity exists): the identities to list are only known at the end.

use futures::{StreamExt, stream};

use super::inventory::{FicMode, Inventory};
use super::load::read_pricing;
use super::observe::{BulkEntry, BulkMapped, BulkOptions, Verdict};
use super::report::wired_registries;
use super::stream::ClusterRow;
use crate::arm::ArmClient;
use crate::config::Settings;
use crate::core::model::{ClusterView, FicView};
use crate::core::{Action, Observation, Plan, PlanStatus, Policy, plan};
use crate::id::ResourceId;

/// Plans streamed cluster rows against an [`Inventory`] (see the module docs).
pub(super) struct BulkPlanner<'a, T, M> {
    arm: &'a ArmClient,
    settings: &'a Settings,
    policy: &'a Policy,
    options: BulkOptions,
    inv: Inventory,
    map: M,
    out: BulkMapped<T>,
    /// Subscriptions whose pricing was read (or tried), lower case.
    priced: Vec<String>,
    /// Verify mode: clusters waiting for the credential listings.
    awaiting_fics: Vec<ClusterView>,
    unreadable: Vec<(ResourceId, String)>,
}

impl<'a, T, M: FnMut(BulkEntry) -> T> BulkPlanner<'a, T, M> {
    /// A planner over the loaded fleet-wide indexes in `inv`.
    pub fn new(arm: &'a ArmClient, settings: &'a Settings, policy: &'a Policy, options: BulkOptions, inv: Inventory, map: M) -> Self {
        Self {
            arm,
            settings,
            policy,
            options,
            inv,
            map,
            out: BulkMapped::default(),
            priced: Vec::new(),
            awaiting_fics: Vec::new(),
            unreadable: Vec::new(),
        }
    }

    /// Plans one row (reading its subscriptions' pricing first, when not read yet) and hands it to
    /// `map`, or keeps it for [`BulkPlanner::finish`] (unreadable; verify mode, see the module docs).
    pub async fn take(&mut self, row: ClusterRow) {
        let view = match row {
            ClusterRow::Readable(view) => view,
            ClusterRow::Unreadable(id, error) => return self.unreadable.push((id, error)),
        };
        let (plan, wired) = self.plan_with_pricing(&view).await;
        if self.options.fic_mode == FicMode::Verify && depends_on_fics(&plan) {
            self.awaiting_fics.push(*view);
        } else {
            self.emit(view, plan, wired);
        }
    }

    /// Lists the credentials the waiting clusters need (verify mode), plans those clusters, then
    /// hands the unreadable rows to `map`. Returns the result and the [`Replanner`] over the indexes.
    pub async fn finish(mut self) -> (BulkMapped<T>, Replanner) {
        let waiting = std::mem::take(&mut self.awaiting_fics);
        if !waiting.is_empty() {
            let (arm, settings, concurrency) = (self.arm, self.settings, self.options.concurrency);
            let identities = waiting.iter().filter_map(|v| only_missing_fic(&plan_one(&self.inv, v, self.policy, FicMode::Verify).0));
            // Never list outside scope (a planned credential there is already blocked: identity_out_of_scope).
            let mut identities: Vec<ResourceId> = identities.filter(|id| self.policy.allows(id)).collect();
            identities.sort();
            identities.dedup();
            self.out.fic_listings = list_fics(arm, settings, identities, concurrency, &mut self.inv, &mut self.out.warnings).await;
            for view in waiting {
                let (plan, wired) = plan_one(&self.inv, &view, self.policy, FicMode::Verify);
                self.emit(Box::new(view), plan, wired);
            }
        }
        for (cluster, error) in std::mem::take(&mut self.unreadable) {
            self.out.items.push((self.map)(BulkEntry { cluster, verdict: Verdict::Unreadable { error } }));
        }
        self.out.pricing_reads = self.priced.len();
        (self.out, Replanner::new(self.inv, self.options.fic_mode))
    }

    fn emit(&mut self, view: Box<ClusterView>, plan: Plan, wired: Vec<ResourceId>) {
        let cluster = view.id.clone();
        let verdict = Verdict::Planned { plan: Box::new(plan), wired, seen: view };
        self.out.items.push((self.map)(BulkEntry { cluster, verdict }));
    }

    /// Observes and plans one cluster, first reading the pricing of the subscriptions it needs that
    /// were not read yet (an excluded cluster needs none); only then is it observed a second time.
    async fn plan_with_pricing(&mut self, view: &ClusterView) -> (Plan, Vec<ResourceId>) {
        let mut obs = self.inv.observe(view, self.policy, self.options.fic_mode);
        if !self.policy.is_excluded(view) {
            let subs = self.policy.pricing_subscriptions(&view.id, obs.registries.iter().map(|r| &r.id));
            if self.read_pricing(subs).await {
                obs = self.inv.observe(view, self.policy, self.options.fic_mode);
            }
        }
        planned(&obs, self.policy)
    }

    /// Reads the pricing of those of `subs` not read yet; a failed read is a warning, tried once.
    /// True when anything was read.
    async fn read_pricing(&mut self, subs: impl IntoIterator<Item = String>) -> bool {
        let mut read = false;
        for sub in subs.into_iter().map(|s| s.to_ascii_lowercase()) {
            if self.priced.contains(&sub) {
                continue;
            }
            self.priced.push(sub.clone());
            read = true;
            match read_pricing(self.arm, self.settings, &sub).await {
                Ok(p) => self.inv.set_pricing(&sub, p),
                Err(e) => self.out.warnings.push(e.to_string()),
            }
        }
        read
    }
}

/// The indexes of a finished bulk observation (pricing and listed credentials included): plans a
/// cluster again exactly as the bulk observation did, so a caller can keep the cluster's view instead
/// of its (several times larger) plan until it needs the plan.
#[derive(Debug)]
pub(super) struct Replanner {
    inv: Inventory,
    mode: FicMode,
}

impl Replanner {
    /// A replanner over the indexes a bulk observation used with `mode`.
    pub fn new(inv: Inventory, mode: FicMode) -> Self {
        Self { inv, mode }
    }

    /// The bulk plan of `view` (the same inputs, the same pure planner: the same plan).
    pub fn plan(&self, view: &ClusterView, policy: &Policy) -> Plan {
        plan_one(&self.inv, view, policy, self.mode).0
    }
}

/// Observes one cluster from the inventory and plans it (with its wired registries); the observation
/// is dropped.
pub(super) fn plan_one(inv: &Inventory, view: &ClusterView, policy: &Policy, mode: FicMode) -> (Plan, Vec<ResourceId>) {
    planned(&inv.observe(view, policy, mode), policy)
}

/// The plan of an observation, with its wired registries.
fn planned(obs: &Observation, policy: &Policy) -> (Plan, Vec<ResourceId>) {
    let plan = plan(obs, policy);
    let wired = wired_registries(&plan, obs);
    (plan, wired)
}

/// True when listing credentials could change the plan: its gating identity exists (only existing
/// identities are listed, and any cluster of a listed identity sees the listing).
pub(super) fn depends_on_fics(p: &Plan) -> bool {
    p.status != PlanStatus::Excluded && p.identity.exists && p.identity.resource_id.is_some()
}

/// The identity of a plan whose only action is creating the credential on an existing identity.
pub(super) fn only_missing_fic(p: &Plan) -> Option<ResourceId> {
    match p.actions.as_slice() {
        [Action::CreateFederatedCredential { identity, .. }] if p.identity.exists => Some(identity.clone()),
        _ => None,
    }
}

/// Lists the credentials of `identities` (one read each, `concurrency` at a time) into `inv`, where
/// they then count instead of trust. Returns how many identities were listed.
async fn list_fics(
    arm: &ArmClient,
    settings: &Settings,
    identities: Vec<ResourceId>,
    concurrency: usize,
    inv: &mut Inventory,
    warnings: &mut Vec<String>,
) -> usize {
    let version = settings.azure.api_versions.managed_identity.as_str();
    let listed: Vec<(ResourceId, Result<Vec<FicView>, String>)> = stream::iter(identities)
        .map(|id| async move {
            let path = format!("{id}/federatedIdentityCredentials");
            let items = arm.list(&path, version, None).await.map_err(|e| e.to_string());
            let parsed = items.and_then(|items| items.iter().map(|v| FicView::from_json(v).map_err(|e| e.to_string())).collect());
            (id, parsed)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let count = listed.len();
    for (id, result) in listed {
        match result {
            Ok(fics) => inv.set_fics(&id, fics),
            Err(e) => warnings.push(format!("listing the federated credentials of {id} failed: {e}")),
        }
    }
    count
}
