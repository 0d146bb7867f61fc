//! The messages of a run, generated from a seed: one cluster-write event per cluster, duplicates (Event
//! Grid and CloudEvents envelopes, fleetgate reconcile commands), role-assignment events for registries
//! attached during the run, and noise (other resource types, other subscriptions, failures, deletes, AKS
//! system events, a truncated body). Each message knows which outcomes are acceptable for it.

use fleetgate::events::{Schema, cluster_delete_event, cluster_write_event, reconcile_command, role_assignment_write_event};
use fleetgate::id::ResourceId;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::world::{Kind, OUTSIDE_SUB, World};

/// Outcomes that mean "made compliant" (the first handler writes, later ones find it done).
pub const CONVERGE: &[&str] = &["converged", "compliant"];

/// A registry attached during the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attach {
    /// The cluster whose kubelet identity gets AcrPull.
    pub cluster: ResourceId,
    /// The registry.
    pub registry: ResourceId,
    /// The role assignment the test PUTs (random name, as `az aks update --attach-acr` does).
    pub assignment: ResourceId,
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct Msg {
    /// Its `MessageId` (unique per run).
    pub id: String,
    /// Its body.
    pub body: String,
    /// What it stands for.
    pub label: &'static str,
    /// Outcomes of a final (completed) handling that are correct for it.
    pub allowed: &'static [&'static str],
    /// The attachment to make before it is sent.
    pub attach: Option<Attach>,
}

/// The messages, in two halves: the second is sent while the workers are busy with the first, and
/// carries the attachments.
#[derive(Debug, Clone)]
pub struct Traffic {
    /// Sent before the workers start.
    pub first: Vec<Msg>,
    /// Sent mid-run (attachments made just before their events).
    pub second: Vec<Msg>,
}

impl Traffic {
    /// Every message.
    pub fn all(&self) -> impl Iterator<Item = &Msg> {
        self.first.iter().chain(&self.second)
    }

    /// How many messages.
    pub fn len(&self) -> usize {
        self.first.len() + self.second.len()
    }

    /// How many messages carry `label`.
    pub fn count(&self, label: &str) -> usize {
        self.all().filter(|m| m.label == label).count()
    }
}

struct Builder {
    rng: fastrand::Rng,
    next: usize,
}

impl Builder {
    fn event(&mut self, label: &'static str, allowed: &'static [&'static str], mut event: Value) -> Msg {
        event["id"] = json!(Uuid::from_u128(self.rng.u128(..)).to_string());
        self.raw(label, allowed, event.to_string())
    }

    fn raw(&mut self, label: &'static str, allowed: &'static [&'static str], body: String) -> Msg {
        self.next += 1;
        Msg { id: format!("m{:05}", self.next), body, label, allowed, attach: None }
    }

    fn schema(&mut self) -> Schema {
        if self.rng.bool() { Schema::EventGrid } else { Schema::CloudEvents }
    }

    fn cluster_write(&mut self, case_kind: Kind, id: &ResourceId) -> Msg {
        let (label, allowed): (&str, &[&str]) = match case_kind {
            Kind::Convergeable | Kind::Attach => ("cluster_write", CONVERGE),
            Kind::Compliant => ("cluster_write_compliant", &["compliant"]),
            Kind::OidcOff | Kind::OldKubernetes => ("cluster_write_blocked", &["blocked"]),
            Kind::Excluded => ("cluster_write_excluded", &["excluded"]),
        };
        let schema = self.schema();
        self.event(label, allowed, cluster_write_event(id, schema))
    }

    fn duplicate(&mut self, world: &World) -> Msg {
        let candidates: Vec<_> = world.cases.iter().filter(|c| c.kind != Kind::Attach).collect();
        let convergeable: Vec<_> = candidates.iter().filter(|c| c.kind == Kind::Convergeable).collect();
        let case = if self.rng.f64() < 0.8 && !convergeable.is_empty() {
            *convergeable[self.rng.usize(..convergeable.len())]
        } else {
            candidates[self.rng.usize(..candidates.len())]
        };
        if case.kind == Kind::Convergeable && self.rng.f64() < 0.15 {
            return self.event("reconcile_command", CONVERGE, reconcile_command(&case.id));
        }
        let mut msg = self.cluster_write(case.kind, &case.id);
        msg.label = match case.kind {
            Kind::Convergeable => "duplicate",
            _ => msg.label,
        };
        msg
    }

    fn noise(&mut self, n: usize, world: &World) -> Msg {
        let case = &world.cases[self.rng.usize(..world.cases.len())];
        let sub = case.id.subscription_id().to_string();
        let rg = case.id.resource_group().unwrap_or("rg").to_string();
        let ignored: &[&str] = &["ignored"];
        match n % 8 {
            0 => {
                let id = ResourceId::new_resource(&sub, &rg, "Microsoft.Storage", "storageAccounts", "stlogs01").unwrap();
                self.event(
                    "noise_storage_write",
                    ignored,
                    retarget(cluster_write_event(&id, Schema::EventGrid), "Microsoft.Storage/storageAccounts/write"),
                )
            }
            1 => {
                let id = case.id.child("agentPools", "nodepool1").unwrap();
                let op = "Microsoft.ContainerService/managedClusters/agentPools/write";
                self.event("noise_agent_pool_write", ignored, retarget(cluster_write_event(&id, Schema::CloudEvents), op))
            }
            2 => {
                let name = Uuid::from_u128(self.rng.u128(..)).to_string();
                let id =
                    ResourceId::parse(&format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{name}")).unwrap();
                self.event("noise_subscription_role_assignment", ignored, role_assignment_write_event(&id, Schema::EventGrid))
            }
            3 => {
                let outside = ResourceId::parse(&case.id.as_str().replacen(&sub, OUTSIDE_SUB, 1)).unwrap();
                self.event("noise_out_of_scope_cluster", ignored, cluster_write_event(&outside, Schema::EventGrid))
            }
            4 => {
                let mut event = cluster_write_event(&case.id, Schema::EventGrid);
                event["eventType"] = json!("Microsoft.Resources.ResourceWriteFailure");
                self.event("noise_write_failure", ignored, event)
            }
            5 => {
                let gone = ResourceId::parse(&format!("{}-deleted", case.id.as_str())).unwrap();
                self.event("noise_delete_gone_cluster", ignored, cluster_delete_event(&gone, Schema::EventGrid))
            }
            6 => {
                let mut event = cluster_write_event(&case.id, Schema::EventGrid);
                event["eventType"] = json!("Microsoft.ContainerService.NewKubernetesVersionAvailable");
                self.event("noise_aks_system_event", ignored, event)
            }
            _ => self.raw(
                "malformed",
                &["rejected"],
                format!("{{\"id\":\"{n}\",\"eventType\":\"Microsoft.Resources.ResourceWriteSuccess\",\"subject\":\"/subscriptions/"),
            ),
        }
    }
}

/// Points a built write event at another operation (both envelopes carry `data.operationName`).
fn retarget(mut event: Value, operation: &str) -> Value {
    event["data"]["operationName"] = json!(operation);
    event["data"]["authorization"]["action"] = json!(operation);
    event
}

/// `total` messages over `world`: one write per cluster (two role-assignment events per attachment),
/// about 6 % noise, the rest duplicates.
pub fn build(world: &World, total: usize, seed: u64) -> Traffic {
    let mut b = Builder { rng: fastrand::Rng::with_seed(seed ^ 0x7472_6166), next: 0 };
    let mut plain = Vec::new();
    for case in world.cases.iter().filter(|c| c.kind != Kind::Attach) {
        plain.push(b.cluster_write(case.kind, &case.id));
    }
    let mut attach = Vec::new();
    for case in world.of(Kind::Attach) {
        let registry = case.attach.clone().expect("attach registry");
        let name = Uuid::from_u128(b.rng.u128(..)).to_string();
        let assignment = registry.child_provider("Microsoft.Authorization", "roleAssignments", &name).unwrap();
        let a = Attach { cluster: case.id.clone(), registry, assignment: assignment.clone() };
        for schema in [Schema::EventGrid, Schema::CloudEvents] {
            let mut msg = b.event("registry_attached", CONVERGE, role_assignment_write_event(&assignment, schema));
            msg.attach = Some(a.clone());
            attach.push(msg);
        }
    }
    let noise = ((total as f64 * 0.06).round() as usize).max(8);
    for n in 0..noise {
        plain.push(b.noise(n, world));
    }
    assert!(plain.len() + attach.len() <= total, "{total} messages are too few for {} clusters", world.cases.len());
    while plain.len() + attach.len() < total {
        plain.push(b.duplicate(world));
    }
    b.rng.shuffle(&mut plain);
    let mut second = plain.split_off(plain.len() / 2);
    second.extend(attach);
    b.rng.shuffle(&mut second);
    Traffic { first: plain, second }
}
