//! What the suite measures in the simulated Azure: the writes a single clean reconcile of each cluster
//! needs (from the engine's plans), the writes fleetgate actually made (from the journal), the end
//! state of every cluster (planned again with the engine), duplicates (listed through ARM), and a
//! normalized inventory two runs can be compared by.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fleetgate::arm::ArmClient;
use fleetgate::core::{ActionKind, PlanStatus};
use fleetgate::id::ResourceId;
use fleetgate::reconcile::Engine;
use fleetgate::sim::{JournalEntry, SimHandle};
use serde_json::Value;

use crate::world::{Kind, SCOPE, World};

/// Write kinds as the journal shows them (by path).
pub const WRITE_KINDS: [&str; 5] = ["identity", "federated_credential", "role_assignment", "managed_cluster", "pricing"];

/// The write kind of a journal path.
pub fn write_kind(path: &str) -> &'static str {
    let p = path.to_ascii_lowercase();
    if p.contains("/federatedidentitycredentials/") {
        "federated_credential"
    } else if p.contains("/userassignedidentities/") {
        "identity"
    } else if p.contains("/roleassignments/") {
        "role_assignment"
    } else if p.contains("/managedclusters/") {
        "managed_cluster"
    } else if p.contains("/pricings/") {
        "pricing"
    } else {
        "other"
    }
}

fn action_write_kind(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::EnablePrerequisites | ActionKind::UpdateSecurityGating => "managed_cluster",
        ActionKind::EnableDefenderPlan => "pricing",
        ActionKind::CreateIdentity => "identity",
        ActionKind::CreateFederatedCredential => "federated_credential",
        ActionKind::AssignAcrPull => "role_assignment",
    }
}

/// The writes a clean reconcile needs: one per planned action, a subscription's plan once however many
/// clusters plan it.
#[derive(Debug, Default, Clone)]
pub struct Needed {
    keys: BTreeSet<(String, String)>,
}

impl Needed {
    /// Plans `clusters` with `engine` (reads only) and adds their actions.
    pub async fn add_plans(&mut self, engine: &Engine, clusters: impl IntoIterator<Item = &ResourceId>) {
        for cluster in clusters {
            let plan = engine.plan(cluster).await.unwrap_or_else(|e| panic!("plan {cluster}: {e}"));
            for action in &plan.actions {
                let kind = action_write_kind(action.kind());
                let owner = if kind == "pricing" { String::new() } else { cluster.key().to_string() };
                self.keys.insert((kind.to_string(), format!("{owner}|{}", action.resource().to_ascii_lowercase())));
            }
        }
    }

    /// Needed writes per kind.
    pub fn per_kind(&self) -> BTreeMap<&'static str, usize> {
        WRITE_KINDS.iter().map(|k| (*k, self.keys.iter().filter(|(kind, _)| kind == k).count())).collect()
    }

    /// All needed writes.
    pub fn total(&self) -> usize {
        self.keys.len()
    }
}

/// The successful (2xx) ARM writes in `journal`, leaving out paths in `not_ours` (the test's own).
pub fn successful_writes<'a>(journal: &'a [JournalEntry], not_ours: &BTreeSet<String>) -> Vec<&'a JournalEntry> {
    journal.iter().filter(|e| e.is_write() && (200..300).contains(&e.status) && !not_ours.contains(&e.path.to_ascii_lowercase())).collect()
}

/// Writes per kind.
pub fn per_kind(writes: &[&JournalEntry]) -> BTreeMap<&'static str, usize> {
    let mut out: BTreeMap<&'static str, usize> = WRITE_KINDS.iter().map(|k| (*k, 0)).collect();
    for w in writes {
        *out.entry(write_kind(&w.path)).or_insert(0) += 1;
    }
    out
}

/// Resources that got more than one successful write.
pub fn written_twice(writes: &[&JournalEntry]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for w in writes {
        *seen.entry(w.path.to_ascii_lowercase()).or_insert(0) += 1;
    }
    let mut twice: Vec<String> = seen.into_iter().filter(|(_, n)| *n > 1).map(|(p, n)| format!("{p} ×{n}")).collect();
    twice.sort();
    twice
}

/// ARM writes (any status) outside the scope's subscriptions.
pub fn writes_outside_scope(journal: &[JournalEntry]) -> usize {
    journal
        .iter()
        .filter(|e| e.is_write())
        .filter(|e| !e.subscription.as_deref().is_some_and(|s| SCOPE.iter().any(|x| x.eq_ignore_ascii_case(s))))
        .count()
}

/// The end state of every cluster, planned again.
#[derive(Debug, Default)]
pub struct EndState {
    /// Status per kind of cluster.
    pub by_kind: BTreeMap<Kind, BTreeMap<String, usize>>,
    /// Clusters not in the state their kind must end in.
    pub wrong: Vec<String>,
}

/// Plans every cluster: convergeable ones must be compliant, blocked ones blocked, excluded ones excluded.
pub async fn end_state(engine: &Engine, world: &World) -> EndState {
    let mut out = EndState::default();
    for case in &world.cases {
        let plan = engine.plan(&case.id).await.unwrap_or_else(|e| panic!("plan {}: {e}", case.id));
        let status = format!("{:?}", plan.status).to_ascii_lowercase();
        *out.by_kind.entry(case.kind).or_default().entry(status.clone()).or_insert(0) += 1;
        let expected = match case.kind {
            k if k.convergeable() => PlanStatus::Compliant,
            Kind::Excluded => PlanStatus::Excluded,
            _ => PlanStatus::Blocked,
        };
        if plan.status != expected {
            let actions: Vec<&str> = plan.actions.iter().map(|a| a.kind().as_str()).collect();
            out.wrong.push(format!("{} ({:?}): {status}, actions {actions:?}, blockers {:?}", case.id, case.kind, plan.blockers));
        }
    }
    out
}

/// Everything fleetgate creates, listed through ARM and normalized (principal IDs replaced by the
/// identity they belong to), so two runs can be compared and duplicates counted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Identity IDs (lower case) with their tags.
    pub identities: BTreeMap<String, Value>,
    /// `(identity, issuer, subject)` → how many FICs say it.
    pub fics: BTreeMap<(String, String, String), usize>,
    /// `(scope, role GUID, principal's identity)` → how many assignments grant it.
    pub role_assignments: BTreeMap<(String, String, String), usize>,
    /// Per cluster: its gating block with identities normalized.
    pub gating: BTreeMap<String, Value>,
}

impl Inventory {
    /// Entries that exist more than once (FICs for one issuer + subject, assignments for one grant).
    pub fn duplicates(&self) -> Vec<String> {
        let fics = self.fics.iter().filter(|(_, n)| **n > 1).map(|(k, n)| format!("FIC {k:?} ×{n}"));
        let ras = self.role_assignments.iter().filter(|(_, n)| **n > 1).map(|(k, n)| format!("role assignment {k:?} ×{n}"));
        fics.chain(ras).collect()
    }

    /// How many FICs and role assignments in total.
    pub fn totals(&self) -> (usize, usize, usize) {
        (self.identities.len(), self.fics.values().sum(), self.role_assignments.values().sum())
    }
}

/// Lists identities, FICs and role assignments in every in-scope subscription and every cluster's gating.
pub async fn inventory(sim: &SimHandle, arm: &ArmClient, world: &World) -> Inventory {
    let mut inv = Inventory::default();
    let mut principal_of: HashMap<String, String> = HashMap::new();
    for sub in SCOPE {
        let path = format!("/subscriptions/{sub}/providers/Microsoft.ManagedIdentity/userAssignedIdentities");
        for identity in arm.list(&path, "2024-11-30", None).await.expect("list identities") {
            let id = identity["id"].as_str().unwrap_or_default().to_ascii_lowercase();
            let principal = identity["properties"]["principalId"].as_str().unwrap_or_default().to_ascii_lowercase();
            principal_of.insert(principal, id.clone());
            inv.identities.insert(id.clone(), identity["tags"].clone());
            for fic in arm.list(&format!("{id}/federatedIdentityCredentials"), "2024-11-30", None).await.expect("list FICs") {
                let p = &fic["properties"];
                let key = (id.clone(), text(&p["issuer"]), text(&p["subject"]));
                *inv.fics.entry(key).or_insert(0) += 1;
            }
        }
    }
    for sub in SCOPE {
        let path = format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments");
        for ra in arm.list(&path, "2022-04-01", None).await.expect("list role assignments") {
            let p = &ra["properties"];
            let principal = text(&p["principalId"]).to_ascii_lowercase();
            let who = principal_of.get(&principal).cloned().unwrap_or(format!("principal:{principal}"));
            let role = text(&p["roleDefinitionId"]).rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
            *inv.role_assignments.entry((text(&p["scope"]).to_ascii_lowercase(), role, who)).or_insert(0) += 1;
        }
    }
    for case in &world.cases {
        let doc = sim.with_state(|s| s.cluster_document(case.id.as_str())).expect("cluster exists");
        let mut gating = doc.pointer("/properties/securityProfile/defender/securityGating").cloned().unwrap_or(Value::Null);
        normalize_gating(&mut gating, &principal_of);
        inv.gating.insert(case.id.key().to_string(), gating);
    }
    inv
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Replaces each entry's `objectId` by the identity it belongs to and drops the generated `clientId`.
fn normalize_gating(gating: &mut Value, principal_of: &HashMap<String, String>) {
    let Some(entries) = gating.get_mut("identities").and_then(Value::as_array_mut) else { return };
    for entry in entries {
        let Some(identity) = entry.get_mut("identity").and_then(Value::as_object_mut) else { continue };
        let object = identity.get("objectId").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
        let owner = principal_of.get(&object).cloned().unwrap_or_else(|| format!("unknown principal {object}"));
        identity.insert("objectId".into(), Value::String(owner));
        identity.insert("clientId".into(), Value::String("(generated)".into()));
        if let Some(Value::String(r)) = identity.get_mut("resourceId") {
            *r = r.to_ascii_lowercase();
        }
    }
}
