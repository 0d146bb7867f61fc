//! `Microsoft.ContainerService/managedClusters`: GET, PUT (a long-running full replace), list.
//!
//! The stored document is what was PUT plus the read-only fields: `id` (with `resourcegroups` in lower
//! case, as AKS answers), `name`, `type` (`Microsoft.ContainerService/ManagedClusters`, as recorded),
//! `eTag`, `provisioningState` (cluster and agent pools, from the running operation), the OIDC
//! `issuerURL`, and the fields AKS computes (see [`super::cluster_fields`]), which a PUT that leaves them
//! out keeps. Any other field a client drops is gone on the next GET.
//!
//! A PUT answers `201` (create, `Creating`) or `200` (update, `Updating`) with an `Azure-AsyncOperation`
//! header on `…/locations/{region}/operations/{id}` with its own api-version and signed query (see
//! [`super::operations`]); `Location` and `Retry-After` only when the knobs ask for them.
//!
//! Rules: `If-Match` mismatch → 412; a PUT while an operation runs → 409 `OperationNotAllowed`; the OIDC
//! issuer cannot be disabled once enabled (400, also when a PUT leaves `oidcIssuerProfile.enabled` out);
//! the location cannot change; api-versions without `securityGating` drop it from GET output and from
//! what a PUT stores.

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::sim::fleet::LroOutcome;
use crate::sim::http::{SimRequest, SimResponse};
use crate::sim::state::SimState;

use super::cluster_fields::{cluster_id, compute_on_create, keep_read_only, set_pool_states};
use super::common::{self, object_entry, str_at};
use super::operations::{self, OpKind, Operation, normalize_location};
use super::route::ResPath;
use super::versions::ApiVersion;

/// The ARM type string of managed clusters, as AKS spells it in its answers (recorded; the request path
/// and the spec say `managedClusters`).
pub const CLUSTER_TYPE: &str = "Microsoft.ContainerService/ManagedClusters";
const GATING_POINTER: &str = "/properties/securityProfile/defender";

/// One stored managed cluster.
#[derive(Debug, Clone)]
pub struct ClusterRecord {
    /// The stored document (read-only fields included, provisioningState as of the last write).
    pub doc: Value,
    /// The latest operation, if any.
    pub op: Option<String>,
    /// How this cluster's operations end.
    pub outcome: LroOutcome,
}

impl ClusterRecord {
    /// The operation still running at `now`, if any.
    pub fn active_op<'a>(&self, state: &'a SimState, now: Instant) -> Option<&'a Operation> {
        let op = state.operations.get(&self.op.as_ref()?.to_ascii_lowercase())?;
        op.in_progress(now).then_some(op)
    }

    /// `properties.provisioningState` at `now`.
    pub fn provisioning_state(&self, state: &SimState, now: Instant) -> String {
        let op = self.op.as_ref().and_then(|id| state.operations.get(&id.to_ascii_lowercase()));
        match op {
            Some(op) if op.in_progress(now) => op.kind.running_state().to_string(),
            Some(op) => op.outcome.as_str().to_string(),
            None => str_at(&self.doc, "/properties/provisioningState").unwrap_or("Succeeded").to_string(),
        }
    }

    /// The document as a GET at `version` returns it at `now`.
    pub fn render(&self, state: &SimState, now: Instant, version: &ApiVersion) -> Value {
        let mut doc = self.doc.clone();
        let provisioning = self.provisioning_state(state, now);
        if let Some(props) = doc.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert("provisioningState".into(), json!(provisioning));
        }
        set_pool_states(&mut doc, &provisioning);
        if self.active_op(state, now).is_some_and(|op| op.kind == OpKind::Create) {
            hide_until_created(&mut doc);
        }
        if !version.supports_security_gating() {
            strip_gating(&mut doc);
        }
        if !state.options.cluster_etags {
            strip_etags(&mut doc);
        }
        doc
    }

    /// The current eTag (spelled `eTag`, or `etag` as some recorded api-versions serve it).
    pub fn etag(&self) -> Option<&str> {
        etag_key(&self.doc).and_then(|k| self.doc.get(k)).and_then(Value::as_str)
    }
}

/// A cluster being created has no kubelet identity yet (recorded: the create answer lacks
/// `identityProfile`; the first GET after `Succeeded` has it).
fn hide_until_created(doc: &mut Value) {
    if let Some(props) = doc.get_mut("properties").and_then(Value::as_object_mut) {
        props.remove("identityProfile");
    }
}

/// The key a document spells its top-level eTag with: `eTag` (current specs) or `etag` (recorded
/// 2024-02-02-preview responses, tests/fixtures/recorded).
pub fn etag_key(doc: &Value) -> Option<&'static str> {
    ["eTag", "etag"].into_iter().find(|k| doc.get(*k).is_some())
}

/// Removes the top-level eTag (either spelling) and the agent pools' (served only with `cluster_etags`).
fn strip_etags(doc: &mut Value) {
    if let Some(map) = doc.as_object_mut() {
        map.remove("eTag");
        map.remove("etag");
    }
    if let Some(pools) = doc.pointer_mut("/properties/agentPoolProfiles").and_then(Value::as_array_mut) {
        for pool in pools.iter_mut().filter_map(Value::as_object_mut) {
            pool.remove("eTag");
        }
    }
}

/// Removes `properties.securityProfile.defender.securityGating`.
pub fn strip_gating(doc: &mut Value) {
    if let Some(defender) = doc.pointer_mut(GATING_POINTER).and_then(Value::as_object_mut) {
        defender.remove("securityGating");
    }
}

/// `GET` one cluster.
pub fn get(state: &SimState, now: Instant, version: &ApiVersion, p: &ResPath) -> SimResponse {
    match state.clusters.get(&p.key()) {
        Some(rec) => SimResponse::json(200, rec.render(state, now, version)),
        None => common::not_found(CLUSTER_TYPE, &p.name, &p.rg),
    }
}

/// `GET` the clusters of a subscription or resource group, paged.
pub fn list(state: &SimState, req: &SimRequest, now: Instant, version: &ApiVersion, sub: &str, rg: Option<&str>) -> SimResponse {
    let prefix = match rg {
        Some(rg) => format!("/subscriptions/{sub}/resourcegroups/{rg}/providers/").to_ascii_lowercase(),
        None => format!("/subscriptions/{sub}/").to_ascii_lowercase(),
    };
    let items: Vec<Value> = state
        .clusters
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(_, rec)| rec.render(state, now, version))
        .collect();
    common::page(req, items, state.options.list_page_size)
}

/// `PUT` one cluster: validates, stores, starts the operation, answers 201/200 with `Azure-AsyncOperation`.
pub fn put(state: &mut SimState, req: &SimRequest, now: Instant, version: &ApiVersion, p: &ResPath) -> SimResponse {
    match put_inner(state, req, now, version, p) {
        Ok(resp) | Err(resp) => resp,
    }
}

fn put_inner(state: &mut SimState, req: &SimRequest, now: Instant, version: &ApiVersion, p: &ResPath) -> Result<SimResponse, SimResponse> {
    let mut body = common::object_body(req)?;
    let key = p.key();
    let what = format!("managed cluster '{}'", p.name);
    let existing = state.clusters.get(&key);
    refuse_star_without_etags(state, req, existing.is_some(), &what)?;
    common::check_preconditions(req, existing.and_then(ClusterRecord::etag), &what)?;
    if let Some(op) = existing.and_then(|rec| rec.active_op(state, now)) {
        return Err(operation_in_progress(state, op, &p.name));
    }
    let old_doc = existing.map(|rec| rec.doc.clone());
    let outcome = existing.map(|rec| rec.outcome).unwrap_or_default();
    if old_doc.is_none() {
        validate_name(&p.name)?;
    }
    let location = check_location(&body, old_doc.as_ref(), &p.name)?;
    if !version.supports_security_gating()
        && let Some(defender) =
            body.get_mut("properties").and_then(|v| v.pointer_mut("/securityProfile/defender")).and_then(Value::as_object_mut)
    {
        defender.remove("securityGating");
    }
    let kind = if old_doc.is_some() { OpKind::Update } else { OpKind::Create };
    match &old_doc {
        Some(old) => keep_read_only(&mut body, old),
        None => compute_on_create(state, &mut body, p, &location),
    }
    let props = object_entry(&mut body, "properties");
    apply_oidc(state, props, old_doc.as_ref(), &location, &p.name)?;
    props.insert("provisioningState".into(), json!(kind.running_state()));
    if kind == OpKind::Create
        && let Some(oid) = props.get("identityProfile").and_then(|v| v.pointer("/kubeletidentity/objectId")).and_then(Value::as_str)
    {
        state.principals.entry(oid.to_ascii_lowercase()).or_insert(Some(now));
    }
    let etag = state.new_guid();
    let doc = with_read_only(body, p, old_doc.as_ref(), &etag);
    let op_id = operations::start(state, &p.sub, &location, kind, outcome, now);
    state.clusters.insert(key, ClusterRecord { doc, op: Some(op_id.clone()), outcome });
    let mut rendered = state.clusters.get(&p.key()).map(|rec| rec.render(state, now, version)).unwrap_or(Value::Null);
    // The initial LRO response always shows the running state, even when the operation is instantaneous.
    rendered["properties"]["provisioningState"] = json!(kind.running_state());
    set_pool_states(&mut rendered, kind.running_state());
    if kind == OpKind::Create {
        hide_until_created(&mut rendered);
    }
    let status = if kind == OpKind::Create { 201 } else { 200 };
    let Some(op) = state.operations.get(&op_id.to_ascii_lowercase()) else { return Ok(SimResponse::json(status, rendered)) };
    let mut resp = SimResponse::json(status, rendered).with_header("Azure-AsyncOperation", operations::status_url(&req.base_url, op));
    if state.options.lro_location_header {
        resp = resp.with_header("Location", operations::result_url(&req.base_url, op));
    }
    if let Some(secs) = state.options.lro_retry_after_secs {
        resp = resp.with_header("Retry-After", common::secs(secs));
    }
    Ok(resp)
}

/// The `cluster_if_match_star_412` knob: `If-Match: *` on an existing cluster served without eTags → 412.
fn refuse_star_without_etags(state: &SimState, req: &SimRequest, exists: bool, what: &str) -> Result<(), SimResponse> {
    let knob = state.options.cluster_if_match_star_412 && !state.options.cluster_etags;
    if knob && exists && req.header("if-match").is_some_and(|v| v.trim() == "*") {
        let message = format!("If-Match '*' cannot be evaluated for {what}: it has no eTag.");
        return Err(SimResponse::error(412, "PreconditionFailed", &message));
    }
    Ok(())
}

/// `id`, `name`, `type` first (as first stored: a raw seeded document keeps its own spelling), then the
/// body, then the eTag (spelled as the stored document spells it).
fn with_read_only(body: Map<String, Value>, p: &ResPath, old: Option<&Value>, etag: &str) -> Value {
    let mut doc = Map::new();
    let id = old.and_then(|d| str_at(d, "/id")).map_or_else(|| cluster_id(p), str::to_string);
    let name = old.and_then(|d| str_at(d, "/name")).map_or_else(|| p.name.clone(), str::to_string);
    let ty = old.and_then(|d| str_at(d, "/type")).unwrap_or(CLUSTER_TYPE);
    doc.insert("id".into(), json!(id));
    doc.insert("name".into(), json!(name));
    doc.insert("type".into(), json!(ty));
    for (k, v) in body {
        if !matches!(k.as_str(), "id" | "name" | "type" | "eTag" | "etag") {
            doc.insert(k, v);
        }
    }
    let key = old.and_then(etag_key).unwrap_or("eTag");
    doc.insert(key.into(), json!(etag));
    Value::Object(doc)
}

fn operation_in_progress(state: &SimState, op: &Operation, name: &str) -> SimResponse {
    let verb = if op.kind == OpKind::Create { "create" } else { "update" };
    SimResponse::error(
        409,
        "OperationNotAllowed",
        &format!(
            "Operation is not allowed because there's an in progress {verb} managed cluster operation (operation ID: {}) on managed cluster '{name}' started at {}. Please wait for it to finish before starting a new operation. You can also use 'az aks operation-abort' to abort the ongoing operation. See https://aka.ms/aks-pending-operation for more details.",
            op.id,
            operations::timestamp(state, op.started)
        ),
    )
}

/// AKS names: 1–63 characters, letters, digits, `-` and `_`, starting and ending with a letter or digit.
fn validate_name(name: &str) -> Result<(), SimResponse> {
    let ok = (1..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        return Ok(());
    }
    Err(SimResponse::error(
        400,
        "InvalidParameter",
        &format!(
            "The value of parameter resourceName '{name}' is invalid: use 1-63 letters, digits, '-' or '_', starting and ending with a letter or digit."
        ),
    ))
}

fn check_location(body: &Map<String, Value>, old: Option<&Value>, name: &str) -> Result<String, SimResponse> {
    let Some(location) = body.get("location").and_then(Value::as_str).filter(|l| !l.is_empty()) else {
        return Err(SimResponse::error(400, "LocationRequired", "The location property is required for this definition."));
    };
    if let Some(old_location) = old.and_then(|d| str_at(d, "/location"))
        && normalize_location(old_location) != normalize_location(location)
    {
        return Err(SimResponse::error(
            400,
            "InvalidResourceLocation",
            &format!(
                "The resource '{name}' already exists in location '{old_location}'. A resource with the same name cannot be created in location '{location}'."
            ),
        ));
    }
    Ok(location.to_string())
}

/// Enforces "cannot be disabled" and maintains the read-only `issuerURL`.
fn apply_oidc(
    state: &mut SimState,
    props: &mut Map<String, Value>,
    old: Option<&Value>,
    location: &str,
    name: &str,
) -> Result<(), SimResponse> {
    let was_enabled = old.and_then(|d| d.pointer("/properties/oidcIssuerProfile/enabled")).and_then(Value::as_bool).unwrap_or(false);
    let enabled = props.get("oidcIssuerProfile").and_then(|p| p.get("enabled")).and_then(Value::as_bool).unwrap_or(false);
    if was_enabled && !enabled {
        return Err(SimResponse::error(
            400,
            "BadRequest",
            &format!("OIDC issuer feature cannot be disabled (managed cluster '{name}'); send oidcIssuerProfile.enabled = true."),
        ));
    }
    let Some(profile) = props.get_mut("oidcIssuerProfile").and_then(Value::as_object_mut) else { return Ok(()) };
    if !enabled {
        profile.remove("issuerURL");
        return Ok(());
    }
    let old_url = old.and_then(|d| str_at(d, "/properties/oidcIssuerProfile/issuerURL")).map(str::to_string);
    let url = match old_url {
        Some(url) => url,
        None => {
            let guid = state.new_guid();
            issuer_url(location, &state.options.tenant_id, &guid)
        }
    };
    profile.insert("issuerURL".into(), json!(url));
    Ok(())
}

/// The AKS OIDC issuer URL form `https://{location}.oic.prod-aks.azure.com/{tenant}/{guid}/`.
pub fn issuer_url(location: &str, tenant: &str, guid: &str) -> String {
    format!("https://{}.oic.prod-aks.azure.com/{tenant}/{guid}/", normalize_location(location))
}

#[cfg(test)]
#[path = "clusters_tests.rs"]
mod tests;
