//! Seeding one managed cluster from a [`ClusterSpec`]: its document, kubelet identity (a real identity
//! resource in the node resource group when it lies in a fleet subscription), `--attach-acr`
//! role assignments and, for `compliant = true`, everything fleetgate's defaults expect (gating identity
//! `{cluster}-defender-gating` in the cluster's group, its FIC, AcrPull per registry, `securityGating`).

use serde_json::{Map, Value, json};

use crate::id::ResourceId;
use crate::sim::fleet::{ClusterSpec, DefenderState, Fleet, FleetError};
use crate::sim::state::SimState;

use super::cluster_fields::{NODE_IMAGE_VERSION, cluster_id};
use super::clusters::{CLUSTER_TYPE, ClusterRecord, issuer_url};
use super::common::{object_entry, str_at};
use super::identities::{self, NewIdentity};
use super::operations::normalize_location;
use super::operations::{self, OpKind};
use super::route::ResPath;
use super::seed::{attach_acr, res_path};
use super::{fics, registries, roles};

/// Subject of the Defender admission controller's service account.
pub const GATING_SUBJECT: &str = "system:serviceaccount:kube-system:defender-admission-controller-serviceaccount";
/// Audience of workload identity federation.
pub const AUDIENCE: &str = "api://AzureADTokenExchange";

/// Seeds `fleet.clusters[i]`.
pub fn seed_cluster(state: &mut SimState, fleet: &Fleet, i: usize, spec: &ClusterSpec) -> Result<(), FleetError> {
    let label = spec.name.clone().or_else(|| spec.document.as_ref().and_then(|d| str_at(d, "/name").map(str::to_string)));
    let entry = format!("clusters[{i}] ({})", label.unwrap_or_default());
    let p = cluster_path(state, &entry, spec)?;
    if state.clusters.contains_key(&p.key()) {
        return Err(FleetError::entry(&entry, "listed twice; each cluster ID must be unique"));
    }
    let mut doc = match &spec.document {
        Some(doc) => raw_document(state, &entry, doc, &p, spec)?,
        None => build_document(state, fleet, spec, &p),
    };
    let kubelet = register_kubelet(state, &entry, &doc)?;
    let registry_ids = resolve_registries(state, &entry, &spec.attached_registries)?;
    if !registry_ids.is_empty() {
        let oid = kubelet.ok_or_else(|| FleetError::entry(&entry, "attached_registries needs a kubelet identity objectId"))?;
        for id in &registry_ids {
            attach_acr(state, id, &oid, &entry)?;
        }
    }
    if spec.compliant {
        make_compliant(state, &entry, &mut doc, &p, &registry_ids)?;
    }
    let op = spec.creating_for.map(|d| {
        let location = str_at(&doc, "/location").unwrap_or("westeurope").to_string();
        let (now, duration) = (state.epoch, state.options.scaled(d));
        operations::start_for(state, &p.sub, &location, OpKind::Create, spec.lro_outcome, now, duration)
    });
    state.clusters.insert(p.key(), ClusterRecord { doc, op, outcome: spec.lro_outcome });
    Ok(())
}

/// Registers the kubelet identity's principal and, when its resource ID lies in a fleet subscription, the
/// identity resource itself (so its FICs can be managed, as the `kubelet` gating strategy does).
fn register_kubelet(state: &mut SimState, entry: &str, doc: &Value) -> Result<Option<String>, FleetError> {
    let Some(k) = doc.pointer("/properties/identityProfile/kubeletidentity") else { return Ok(None) };
    let Some(oid) = str_at(k, "/objectId").map(str::to_string) else { return Ok(None) };
    state.principals.entry(oid.to_ascii_lowercase()).or_insert(None);
    let id = str_at(k, "/resourceId").and_then(|r| ResourceId::parse(r).ok());
    let Some(id) = id.filter(|id| id.is_type(identities::IDENTITY_TYPE)) else { return Ok(Some(oid)) };
    let (Some(rg), true) = (id.resource_group(), state.subscriptions.contains_key(&id.subscription_id().to_ascii_lowercase())) else {
        return Ok(Some(oid));
    };
    let p = res_path(state, entry, id.subscription_id(), rg, id.name(), "Microsoft.ManagedIdentity", "userAssignedIdentities")?;
    if !state.identities.contains_key(&p.key()) {
        let new = NewIdentity {
            location: str_at(doc, "/location").unwrap_or("westeurope").to_string(),
            tags: json!({}),
            principal_id: Some(oid.clone()),
            client_id: str_at(k, "/clientId").map(str::to_string),
            created: None,
        };
        identities::insert(state, &p, new);
    }
    Ok(Some(oid))
}

fn cluster_path(state: &mut SimState, entry: &str, spec: &ClusterSpec) -> Result<ResPath, FleetError> {
    let from_doc = spec.document.as_ref().and_then(|d| str_at(d, "/id")).map(ResourceId::parse).transpose();
    let from_doc = from_doc.map_err(|e| FleetError::entry(entry, format!("document.id: {e}")))?;
    let sub = spec.subscription.clone().or_else(|| from_doc.as_ref().map(|id| id.subscription_id().to_string())).unwrap_or_default();
    let rg = spec
        .resource_group
        .clone()
        .or_else(|| from_doc.as_ref().and_then(|id| id.resource_group().map(str::to_string)))
        .unwrap_or_default();
    let name = spec.name.clone().or_else(|| from_doc.as_ref().map(|id| id.name().to_string())).unwrap_or_default();
    res_path(state, entry, &sub, &rg, &name, "Microsoft.ContainerService", "managedClusters")
}

fn raw_document(state: &mut SimState, entry: &str, doc: &Value, p: &ResPath, spec: &ClusterSpec) -> Result<Value, FleetError> {
    let Value::Object(map) = doc else { return Err(FleetError::entry(entry, "`document` must be a table/object")) };
    if spec.compliant {
        return Err(FleetError::entry(entry, "`compliant` cannot be combined with a raw `document`; put securityGating in the document"));
    }
    let mut map = map.clone();
    map.entry("id").or_insert_with(|| json!(cluster_id(p)));
    map.entry("name").or_insert_with(|| json!(p.name));
    map.entry("type").or_insert_with(|| json!(CLUSTER_TYPE));
    if !map.contains_key("eTag") && !map.contains_key("etag") {
        map.insert("eTag".into(), json!(state.new_guid()));
    }
    Ok(Value::Object(map))
}

fn build_document(state: &mut SimState, fleet: &Fleet, spec: &ClusterSpec, p: &ResPath) -> Value {
    let loc = normalize_location(&spec.location);
    let node_rg = format!("MC_{}_{}_{}", p.rg, p.name, loc);
    if let Some(sub) = state.subscriptions.get_mut(&p.sub.to_ascii_lowercase()) {
        sub.resource_groups.insert(node_rg.to_ascii_lowercase());
    }
    let k = spec.kubelet_identity.clone().unwrap_or_default();
    let kubelet = json!({
        "resourceId": k.resource_id.unwrap_or_else(|| format!(
            "/subscriptions/{}/resourcegroups/{node_rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{}-agentpool", p.sub, p.name)),
        "clientId": k.client_id.unwrap_or_else(|| state.new_guid()),
        "objectId": k.object_id.unwrap_or_else(|| state.new_guid()),
    });
    let v = &spec.kubernetes_version;
    let mut oidc = json!({ "enabled": spec.oidc_issuer });
    if spec.oidc_issuer {
        let url = spec.issuer_url.clone().unwrap_or_else(|| {
            let guid = state.new_guid();
            issuer_url(&loc, &state.options.tenant_id, &guid)
        });
        oidc["issuerURL"] = json!(url);
    }
    let mut security = Map::new();
    if spec.workload_identity {
        security.insert("workloadIdentity".into(), json!({"enabled": true}));
    }
    let defender_on = fleet.subscriptions.iter().any(|s| s.id.eq_ignore_ascii_case(&p.sub) && s.defender != DefenderState::Off);
    if defender_on || spec.security_gating.is_some() || spec.compliant {
        let mut defender = json!({
            "logAnalyticsWorkspaceResourceId": format!(
                "/subscriptions/{}/resourceGroups/DefaultResourceGroup-{loc}/providers/Microsoft.OperationalInsights/workspaces/DefaultWorkspace-{}-{loc}", p.sub, p.sub),
            "securityMonitoring": {"enabled": true}
        });
        if let Some(gating) = &spec.security_gating {
            defender["securityGating"] = gating.clone();
        }
        security.insert("defender".into(), defender);
    }
    let pool_etag = state.new_guid();
    let fqdn_suffix: String = state.new_guid().chars().take(8).collect();
    let mut props = json!({
        "provisioningState": spec.provisioning_state,
        "powerState": {"code": "Running"},
        "kubernetesVersion": v,
        "currentKubernetesVersion": v,
        "dnsPrefix": format!("{}-dns", p.name),
        "fqdn": format!("{}-dns-{fqdn_suffix}.hcp.{loc}.azmk8s.io", p.name),
        "azurePortalFQDN": format!("{}-dns-{fqdn_suffix}.portal.hcp.{loc}.azmk8s.io", p.name),
        "agentPoolProfiles": [{
            "name": "nodepool1", "count": 3, "vmSize": "Standard_D4ds_v5", "osType": "Linux", "mode": "System",
            "type": "VirtualMachineScaleSets", "orchestratorVersion": v, "currentOrchestratorVersion": v,
            "provisioningState": "Succeeded", "powerState": {"code": "Running"}, "nodeImageVersion": NODE_IMAGE_VERSION,
            "eTag": pool_etag
        }],
        "nodeResourceGroup": node_rg,
        "maxAgentPools": 100,
        "enableRBAC": true,
        "identityProfile": {"kubeletidentity": kubelet},
        "oidcIssuerProfile": oidc,
        "securityProfile": Value::Object(security),
    });
    deep_merge(&mut props, &Value::Object(spec.extra_properties.clone()));
    let identity_principal = state.new_guid();
    let etag = state.new_guid();
    json!({
        "id": cluster_id(p), "name": p.name, "type": CLUSTER_TYPE, "location": spec.location,
        "tags": spec.tags, "sku": {"name": "Base", "tier": "Free"},
        "identity": {"type": "SystemAssigned", "principalId": identity_principal, "tenantId": state.options.tenant_id},
        "properties": props, "eTag": etag,
    })
}

/// Merges `extra` into `base`: objects recursively, everything else replaced.
pub fn deep_merge(base: &mut Value, extra: &Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => deep_merge(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, e) => *b = e.clone(),
    }
}

fn resolve_registries(state: &SimState, entry: &str, refs: &[String]) -> Result<Vec<String>, FleetError> {
    let mut out = Vec::new();
    for r in refs {
        let found: Vec<&Value> = if r.starts_with('/') {
            state.registries.get(&r.to_ascii_lowercase()).into_iter().collect()
        } else {
            state.registries.values().filter(|d| str_at(d, "/name").is_some_and(|n| n.eq_ignore_ascii_case(r))).collect()
        };
        match found.as_slice() {
            [doc] => out.push(str_at(doc, "/id").unwrap_or_default().to_string()),
            [] => {
                return Err(FleetError::entry(entry, format!("attached registry '{r}' is not in the fleet; add it under [[registries]]")));
            }
            _ => return Err(FleetError::entry(entry, format!("registry name '{r}' is ambiguous; use its ARM ID"))),
        }
    }
    Ok(out)
}

fn make_compliant(state: &mut SimState, entry: &str, doc: &mut Value, p: &ResPath, registry_ids: &[String]) -> Result<(), FleetError> {
    let issuer = str_at(doc, "/properties/oidcIssuerProfile/issuerURL")
        .map(str::to_string)
        .ok_or_else(|| FleetError::entry(entry, "`compliant` needs oidc_issuer = true"))?;
    if doc.pointer("/properties/securityProfile/workloadIdentity/enabled") != Some(&json!(true)) {
        return Err(FleetError::entry(entry, "`compliant` needs workload_identity = true"));
    }
    let location = str_at(doc, "/location").unwrap_or("westeurope").to_string();
    let ip = ResPath {
        name: format!("{}-defender-gating", p.name),
        namespace: "Microsoft.ManagedIdentity",
        ty: "userAssignedIdentities",
        ..p.clone()
    };
    if !state.identities.contains_key(&ip.key()) {
        let tags = json!({"managed-by": "fleetgate", "fleetgate.io/cluster": p.id()});
        identities::insert(state, &ip, NewIdentity { location, tags, principal_id: None, client_id: None, created: None });
    }
    let (principal, client) = match state.identities.get_mut(&ip.key()) {
        Some(rec) => {
            let fic = fics::document(&ip.answer_id(), "defender-admission-controller", &issuer, GATING_SUBJECT, &[AUDIENCE.to_string()]);
            rec.fics.insert("defender-admission-controller".into(), fic);
            (rec.principal_id.clone(), str_at(&rec.doc, "/properties/clientId").unwrap_or_default().to_string())
        }
        None => return Err(FleetError::entry(entry, "gating identity could not be created")),
    };
    let mut entries = Vec::new();
    for id in registry_ids {
        let scope = ResourceId::parse(id).map_err(|e| FleetError::entry(entry, e.to_string()))?;
        let name = state.new_guid();
        let mut props = Map::new();
        let role =
            format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}", scope.subscription_id(), roles::ACR_PULL);
        props.insert("roleDefinitionId".into(), json!(role));
        props.insert("principalId".into(), json!(principal));
        props.insert("principalType".into(), json!("ServicePrincipal"));
        roles::insert(state, &scope, &name, props);
        entries.push(json!({
            "azureContainerRegistry": registries::login_server(scope.name()),
            "identity": {"resourceId": ip.id(), "clientId": client, "objectId": principal}
        }));
    }
    let Some(props) = doc.get_mut("properties").and_then(Value::as_object_mut) else {
        return Err(FleetError::entry(entry, "cluster document has no properties"));
    };
    let defender = object_entry(object_entry(props, "securityProfile"), "defender");
    defender.insert("securityGating".into(), json!({"enabled": true, "identities": entries}));
    Ok(())
}
