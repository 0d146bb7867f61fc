//! Spec → ARM documents (as a GET would return them, IDs in random case) and the policy.

use fleetgate::config::{GatingSettings, IdentityStrategy, RegistryReference, ScopeSettings};
use fleetgate::core::Policy;
use fleetgate::core::names::{ACR_PULL_ROLE_GUID, FIC_SUBJECT, MAX_FICS_PER_IDENTITY};
use fleetgate::id::ResourceId;
use serde_json::{Value, json};

use super::spec::{ClusterSpec, Fics, NAMES, Oidc, Owner, Pricing, RefForm, SUBS, Spec, Tag, VERSIONS, cased};
use super::world::World;

pub const ISSUER: &str = "https://westeurope.oic.prod-aks.azure.com/tenant-1/aks1/";
const KUBELET_OID: &str = "bbbbbbbb-0000-0000-0000-0000000000b1";
const KUBELET_CLIENT: &str = "cccccccc-0000-0000-0000-0000000000c1";
const GATING_OID: &str = "dddddddd-0000-0000-0000-0000000000d1";
const GATING_CLIENT: &str = "eeeeeeee-0000-0000-0000-0000000000e1";
const FOREIGN_GUID: &str = "ffffffff-0000-0000-0000-0000000000f1";
const FOREIGN_IDENTITY: &str = "/subscriptions/aaaaaaaa-bbbb-cccc-dddd-00000000000a/resourceGroups/other/providers/Microsoft.ManagedIdentity/userAssignedIdentities/someone";

/// A generated scenario: the world and the policy.
pub struct Scenario {
    pub world: World,
    pub policy: Policy,
}

pub fn cluster_id(c: &ClusterSpec) -> String {
    format!("/subscriptions/{}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks1", SUBS[c.sub])
}

fn kubelet_id(c: &ClusterSpec) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/MC_rg-aks_aks1_westeurope/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks1-agentpool",
        SUBS[c.sub]
    )
}

fn dedicated_id(c: &ClusterSpec) -> String {
    format!(
        "/subscriptions/{}/resourceGroups/rg-aks/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks1-defender-gating",
        SUBS[c.sub]
    )
}

pub fn registry_id(sub: usize, name: &str) -> String {
    format!("/subscriptions/{}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/{name}", SUBS[sub])
}

pub fn login_server(name: &str) -> String {
    format!("{}.azurecr.io", name.to_ascii_lowercase())
}

/// The gating identity's (resource ID, client ID, object ID) as entries and assignments name it.
fn gating_identity(spec: &Spec) -> (String, &'static str, &'static str) {
    if spec.policy.kubelet_strategy && spec.cluster.kubelet {
        (kubelet_id(&spec.cluster), KUBELET_CLIENT, KUBELET_OID)
    } else {
        (dedicated_id(&spec.cluster), GATING_CLIENT, GATING_OID)
    }
}

fn settings(spec: &Spec, extra: Vec<ResourceId>) -> (GatingSettings, ScopeSettings) {
    let p = &spec.policy;
    let reference = [RegistryReference::LoginServer, RegistryReference::Name, RegistryReference::ResourceId][p.reference];
    let gating = GatingSettings {
        identity_strategy: if p.kubelet_strategy { IdentityStrategy::Kubelet } else { IdentityStrategy::Dedicated },
        identity_name: "{cluster}-defender-gating".into(),
        identity_resource_group: String::new(),
        registry_reference: reference,
        manage_defender_plan: p.manage_defender_plan,
        enable_prerequisites: p.enable_prerequisites,
        extra_registries: extra,
        gc_on_delete: false,
        min_kubernetes_version: "1.31".into(),
        unchanged_cluster_ttl: std::time::Duration::from_secs(60),
    };
    let mask = p.scope_mask | (1 << spec.cluster.sub);
    let subscriptions = (0..3).filter(|i| mask & (1 << i) != 0).map(|i| cased(SUBS[i], p.case.rotate_left(i as u32))).collect();
    (gating, ScopeSettings { subscriptions, exclude_tag: "fleetgate.io/exclude".into() })
}

/// Builds the scenario.
pub fn build(spec: &Spec) -> Scenario {
    let c = &spec.cluster;
    let (gid, gclient, goid) = gating_identity(spec);
    let mut world = World::new(ResourceId::parse(&cased(&cluster_id(c), c.case)).unwrap());
    let mut extra = Vec::new();
    let mut entries = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for r in &spec.registries {
        let name = NAMES[r.name];
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let id = registry_id(r.sub, name);
        if r.exists {
            world.registries.push(json!({"id": cased(&id, r.case), "name": name, "location": "westeurope",
                "type": "Microsoft.ContainerRegistry/registries", "properties": {"loginServer": login_server(name)}}));
        }
        let role = if r.bare_role {
            format!("/providers/Microsoft.Authorization/roleDefinitions/{}", ACR_PULL_ROLE_GUID.to_ascii_uppercase())
        } else {
            format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL_ROLE_GUID}", SUBS[r.sub])
        };
        if r.kubelet_pull {
            world.add_assignment(&cased(&id, r.case.rotate_left(3)), &cased(KUBELET_OID, r.case), &role);
        }
        if r.our_pull {
            world.add_assignment(&cased(&id, r.case.rotate_left(5)), &cased(goid, r.case.rotate_left(9)), &role);
        }
        if r.extra {
            extra.push(ResourceId::parse(&cased(&id, r.case.rotate_left(11))).unwrap());
        }
        if let Some(e) = &r.entry {
            let value = match e.form {
                RefForm::Name => cased(name, e.case),
                RefForm::LoginServer => cased(&login_server(name), e.case),
                RefForm::Id => cased(&id, e.case),
            };
            entries.push(entry(&value, e.owner, (&gid, gclient, goid), e.case.rotate_left(17)));
        }
    }
    world.cluster = c.exists.then(|| cluster_doc(spec, entries));
    identity_and_fics(spec, &mut world, (&gid, gclient, goid));
    for (i, p) in spec.pricing.iter().enumerate() {
        if let Some(doc) = pricing_doc(*p, SUBS[i]) {
            world.pricings.push((SUBS[i].to_string(), doc));
        }
    }
    let (gating, scope) = settings(spec, extra);
    let policy = Policy::new(&gating, &scope).expect("generated settings are valid");
    Scenario { world, policy }
}

fn entry(value: &str, owner: Owner, (gid, gclient, goid): (&str, &str, &str), case: u64) -> Value {
    match owner {
        Owner::Ours(mask) => {
            let mask = if mask == 0 { 7 } else { mask };
            let mut identity = serde_json::Map::new();
            for (bit, key, v) in [(1, "resourceId", gid), (2, "clientId", gclient), (4, "objectId", goid)] {
                if mask & bit != 0 {
                    identity.insert(key.into(), json!(cased(v, case.rotate_left(u32::from(bit)))));
                }
            }
            json!({"azureContainerRegistry": value, "identity": identity})
        }
        Owner::Stale => json!({"azureContainerRegistry": value,
            "identity": {"resourceId": cased(gid, case), "clientId": FOREIGN_GUID, "objectId": FOREIGN_GUID}}),
        Owner::Foreign => json!({"azureContainerRegistry": value,
            "identity": {"resourceId": FOREIGN_IDENTITY, "clientId": FOREIGN_GUID, "objectId": FOREIGN_GUID}}),
    }
}

/// Foreign entries that name nothing fleetgate manages, some oddly shaped.
fn foreign_entries(n: usize) -> Vec<Value> {
    let all = [
        json!({"azureContainerRegistry": "external.azurecr.io", "identity": {"resourceId": FOREIGN_IDENTITY, "clientId": FOREIGN_GUID, "objectId": FOREIGN_GUID}}),
        json!({"azureContainerRegistry": 42, "identity": null, "futureField": {"x": [1, 2]}}),
    ];
    all.into_iter().take(n).collect()
}

fn cluster_doc(spec: &Spec, mut entries: Vec<Value>) -> Value {
    let c = &spec.cluster;
    let version = VERSIONS[c.version];
    let oidc = match c.oidc {
        Oidc::On => json!({"enabled": true, "issuerURL": ISSUER}),
        Oidc::Off => json!({"enabled": false}),
        Oidc::OnWithoutUrl => json!({"enabled": true}),
    };
    let mut security = json!({"futureSecurityKnob": {"level": 3}});
    if c.workload_identity {
        security["workloadIdentity"] = json!({"enabled": true});
    }
    if let Some(g) = &c.gating {
        let mut block = json!({"futureGatingField": "keep me"});
        if let Some(e) = g.enabled {
            block["enabled"] = json!(e);
        }
        if let Some(a) = g.allow_secret_access {
            block["allowSecretAccess"] = json!(a);
        }
        entries.extend(foreign_entries(g.foreign));
        block["identities"] = Value::Array(entries);
        security["defender"] = json!({"securityMonitoring": {"enabled": true}, "securityGating": block});
    }
    let mut props = json!({
        "kubernetesVersion": version, "currentKubernetesVersion": version, "provisioningState": "Succeeded",
        "oidcIssuerProfile": oidc, "securityProfile": security,
        "agentPoolProfiles": [{"name": "np1", "count": 3, "futurePoolField": {"deep": [true, {"k": null}]}}],
        "futureFeature": {"nested": {"list": [1, "two", {"three": 3.5}]}},
    });
    if c.kubelet {
        props["identityProfile"] = json!({"kubeletidentity": {"resourceId": cased(&kubelet_id(c), c.case.rotate_left(7)),
            "clientId": cased(KUBELET_CLIENT, c.case), "objectId": cased(KUBELET_OID, c.case.rotate_left(13))}});
    }
    let mut tags = json!({"team": "a"});
    if c.excluded {
        tags["FleetGate.io/Exclude"] = json!("true");
    }
    json!({"id": cased(&cluster_id(c), c.case.rotate_left(1)), "name": "aks1", "type": "Microsoft.ContainerService/managedClusters",
        "location": "westeurope", "eTag": "etag-0", "tags": tags, "futureTopLevel": [{"a": 1}], "properties": props})
}

fn identity_and_fics(spec: &Spec, world: &mut World, (gid, gclient, goid): (&str, &str, &str)) {
    let c = &spec.cluster;
    let dedicated = !spec.policy.kubelet_strategy;
    if dedicated && spec.identity.exists {
        let tags = match spec.identity.tag {
            Tag::Absent => json!({}),
            Tag::ThisCluster => json!({"managed-by": "fleetgate", "fleetgate.io/cluster": cased(&cluster_id(c), c.case.rotate_left(21))}),
            Tag::OtherCluster => json!({"fleetgate.io/cluster": cluster_id(c).replace("aks1", "aks-other")}),
        };
        world.identities.push(json!({"id": cased(gid, c.case.rotate_left(19)), "location": "westeurope", "tags": tags,
            "properties": {"principalId": goid, "clientId": gclient, "tenantId": "tenant-1"}}));
    }
    let owner = ResourceId::parse(gid).unwrap();
    let issuer = match c.oidc {
        Oidc::On => ISSUER,
        _ => "https://elsewhere.example/issuer/",
    };
    let mut fics = Vec::new();
    match spec.identity.fics {
        Fics::None => {}
        Fics::Ours => fics.push(("made-by-hand".to_string(), issuer, FIC_SUBJECT.to_string())),
        Fics::OthersOnly => fics.push(("app".to_string(), issuer, "system:serviceaccount:default:app".to_string())),
        Fics::Full => {
            for i in 0..MAX_FICS_PER_IDENTITY {
                fics.push((format!("other-{i}"), issuer, format!("system:serviceaccount:ns{i}:app")));
            }
        }
    }
    for (name, issuer, subject) in fics {
        world.fics.push((
            owner.clone(),
            json!({"name": name, "properties": {"issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}}),
        ));
    }
}

fn pricing_doc(p: Pricing, sub: &str) -> Option<Value> {
    let id = format!("/subscriptions/{sub}/providers/Microsoft.Security/pricings/Containers");
    let properties = match p {
        Pricing::Absent => return None,
        Pricing::Free => json!({"pricingTier": "Free"}),
        Pricing::Partial => json!({"pricingTier": "Standard", "extensions": [
            {"name": "ContainerSensor", "isEnabled": "True", "additionalExtensionProperties": {"AntiMalware": "True"}},
            {"name": "FutureExtension", "isEnabled": "False", "additionalExtensionProperties": {"K": "V"}}]}),
        Pricing::Ready => fleetgate::core::pricing::merge_for_gating(None)["properties"].clone(),
    };
    Some(json!({"id": id, "name": "Containers", "type": "Microsoft.Security/pricings", "properties": properties}))
}
