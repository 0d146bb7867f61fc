//! `Microsoft.ManagedIdentity/userAssignedIdentities`: PUT (201 create / 200 update), GET, DELETE (which
//! also deletes the identity's federated credentials), list by subscription or resource group.
//!
//! `principalId`, `clientId` and `tenantId` are generated on create and kept across updates. `If-None-Match:
//! *` on an existing identity answers 412 (ARM's create-only precondition). A created
//! identity's principal becomes known to role assignments only after `replication_delay`.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::sim::http::{SimRequest, SimResponse};
use crate::sim::state::SimState;

use super::common::{self, str_at};
use super::operations::normalize_location;
use super::route::ResPath;
use super::versions::ApiVersion;

/// The ARM type string of user-assigned identities.
pub const IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// One stored identity.
#[derive(Debug, Clone)]
pub struct IdentityRecord {
    /// The document GET returns.
    pub doc: Value,
    /// `properties.principalId`.
    pub principal_id: String,
    /// Federated credentials keyed by lower-cased name.
    pub fics: BTreeMap<String, Value>,
    /// Until when the last FIC write occupies this identity.
    pub fic_busy_until: Option<Instant>,
}

/// Values of a new identity.
#[derive(Debug, Clone)]
pub struct NewIdentity {
    /// Azure location.
    pub location: String,
    /// Tags object.
    pub tags: Value,
    /// Principal ID (generated when `None`).
    pub principal_id: Option<String>,
    /// Client ID (generated when `None`).
    pub client_id: Option<String>,
    /// When the principal was created (`None` = long ago).
    pub created: Option<Instant>,
}

/// Inserts an identity (replacing one with the same ID) and registers its principal.
pub fn insert<'a>(state: &'a mut SimState, p: &ResPath, new: NewIdentity) -> &'a mut IdentityRecord {
    let principal_id = new.principal_id.unwrap_or_else(|| state.new_guid());
    let client_id = new.client_id.unwrap_or_else(|| state.new_guid());
    let doc = json!({
        "id": p.answer_id(),
        "name": p.name,
        "type": IDENTITY_TYPE,
        "location": new.location,
        "tags": new.tags,
        "properties": {
            "tenantId": state.options.tenant_id,
            "principalId": principal_id,
            "clientId": client_id,
            "isolationScope": "None"
        }
    });
    state.principals.insert(principal_id.to_ascii_lowercase(), new.created);
    let record = IdentityRecord { doc, principal_id, fics: BTreeMap::new(), fic_busy_until: None };
    match state.identities.entry(p.key()) {
        Entry::Occupied(mut slot) => {
            slot.insert(record);
            slot.into_mut()
        }
        Entry::Vacant(slot) => slot.insert(record),
    }
}

/// The identity document as an answer at `version`: `isolationScope` exists from api-version
/// 2024-11-30 on (the SDK's older models have no such field).
pub fn view(doc: &Value, version: &ApiVersion) -> Value {
    let mut doc = doc.clone();
    if version.date.as_str() < ISOLATION_SCOPE_SINCE
        && let Some(props) = doc.get_mut("properties").and_then(Value::as_object_mut)
    {
        props.remove("isolationScope");
    }
    doc
}

/// First api-version whose identities carry `properties.isolationScope`.
const ISOLATION_SCOPE_SINCE: &str = "2024-11-30";

/// `GET` one identity.
pub fn get(state: &SimState, version: &ApiVersion, p: &ResPath) -> SimResponse {
    match state.identities.get(&p.key()) {
        Some(rec) => SimResponse::json(200, view(&rec.doc, version)),
        None => common::not_found(IDENTITY_TYPE, &p.name, &p.rg),
    }
}

/// `GET` the identities of a subscription or resource group, paged.
pub fn list(state: &SimState, req: &SimRequest, version: &ApiVersion, sub: &str, rg: Option<&str>) -> SimResponse {
    let prefix = match rg {
        Some(rg) => format!("/subscriptions/{sub}/resourcegroups/{rg}/providers/").to_ascii_lowercase(),
        None => format!("/subscriptions/{sub}/").to_ascii_lowercase(),
    };
    let items =
        state.identities.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(_, r)| view(&r.doc, version)).collect();
    common::page(req, items, state.options.list_page_size)
}

/// `PUT` one identity.
pub fn put(state: &mut SimState, req: &SimRequest, now: Instant, version: &ApiVersion, p: &ResPath) -> SimResponse {
    match put_inner(state, req, now, p) {
        Ok(mut resp) | Err(mut resp) => {
            if resp.status < 300
                && let Some(body) = resp.body.take()
            {
                resp.body = Some(view(&body, version));
            }
            resp
        }
    }
}

fn put_inner(state: &mut SimState, req: &SimRequest, now: Instant, p: &ResPath) -> Result<SimResponse, SimResponse> {
    validate_name(&p.name)?;
    let exists = state.identities.contains_key(&p.key());
    common::check_preconditions(req, exists.then_some("*"), &format!("user-assigned identity '{}'", p.name))?;
    let body = common::object_body(req)?;
    let Some(location) = body.get("location").and_then(Value::as_str).filter(|l| !l.is_empty()) else {
        return Err(SimResponse::error(400, "LocationRequired", "The location property is required for this definition."));
    };
    let tags = match body.get("tags") {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(tags)) if tags.values().all(Value::is_string) => Value::Object(tags.clone()),
        Some(_) => return Err(common::bad_body("tags must be an object of string values.")),
    };
    let isolation = body.get("properties").and_then(|p| p.get("isolationScope")).cloned();
    let key = p.key();
    if let Some(rec) = state.identities.get_mut(&key) {
        let old_location = str_at(&rec.doc, "/location").unwrap_or_default().to_string();
        if normalize_location(&old_location) != normalize_location(location) {
            return Err(SimResponse::error(
                400,
                "InvalidResourceLocation",
                &format!(
                    "The resource '{}' already exists in location '{old_location}'. A resource with the same name cannot be created in location '{location}'.",
                    p.name
                ),
            ));
        }
        rec.doc["tags"] = tags;
        if let Some(isolation) = isolation {
            rec.doc["properties"]["isolationScope"] = isolation;
        }
        return Ok(SimResponse::json(200, rec.doc.clone()));
    }
    let rec =
        insert(state, p, NewIdentity { location: location.to_string(), tags, principal_id: None, client_id: None, created: Some(now) });
    if let Some(isolation) = isolation {
        rec.doc["properties"]["isolationScope"] = isolation;
    }
    Ok(SimResponse::json(201, rec.doc.clone()))
}

/// `DELETE` one identity and its FICs: 200, or 204 when it did not exist.
pub fn delete(state: &mut SimState, p: &ResPath) -> SimResponse {
    match state.identities.remove(&p.key()) {
        Some(rec) => {
            state.principals.remove(&rec.principal_id.to_ascii_lowercase());
            SimResponse::empty(200)
        }
        None => SimResponse::empty(204),
    }
}

/// 3–128 characters: letters, digits, `-`, `_`, starting with a letter or digit.
fn validate_name(name: &str) -> Result<(), SimResponse> {
    let ok = (3..=128).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        return Ok(());
    }
    Err(SimResponse::error(
        400,
        "InvalidResourceName",
        &format!(
            "Resource name '{name}' is invalid. It must be 3-128 characters: letters, digits, '-' or '_', starting with a letter or digit."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::arm::test_support::*;
    use std::time::Duration;

    fn mi_path(name: &str) -> String {
        format!("/subscriptions/{SUB1}/resourceGroups/rg-a/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")
    }

    #[test]
    fn create_then_update_keeps_generated_ids() {
        let (mut s, t0) = state();
        let created = s.handle_arm(&req("PUT", &mi_path("gate"), Some(json!({"location": "westeurope", "tags": {"a": "1"}}))), t0);
        assert_eq!(created.status, 201);
        let doc = created.body.unwrap();
        let pid = doc["properties"]["principalId"].as_str().unwrap().to_string();
        assert!(crate::id::is_guid(&pid));
        assert!(crate::id::is_guid(doc["properties"]["clientId"].as_str().unwrap()));
        assert_eq!(doc["properties"]["tenantId"], json!(s.options.tenant_id));
        let updated = s.handle_arm(&req("PUT", &mi_path("GATE"), Some(json!({"location": "westeurope", "tags": {"b": "2"}}))), t0);
        assert_eq!(updated.status, 200);
        let doc2 = updated.body.unwrap();
        assert_eq!(doc2["properties"]["principalId"], json!(pid));
        assert_eq!(doc2["tags"], json!({"b": "2"}));
        assert_eq!(doc2["name"], json!("gate"), "original casing kept");
        assert_eq!(s.principal_created_at(&pid), Some(Some(t0)));
    }

    #[test]
    fn location_is_required_and_fixed() {
        let (mut s, t0) = state();
        let r = s.handle_arm(&req("PUT", &mi_path("gate"), Some(json!({"tags": {}}))), t0);
        assert_eq!(r.error_code(), Some("LocationRequired"));
        s.handle_arm(&req("PUT", &mi_path("gate"), Some(json!({"location": "westeurope"}))), t0);
        let r = s.handle_arm(&req("PUT", &mi_path("gate"), Some(json!({"location": "eastus"}))), t0);
        assert_eq!(r.error_code(), Some("InvalidResourceLocation"));
        let r = s.handle_arm(&req("PUT", &mi_path("x"), Some(json!({"location": "eastus"}))), t0);
        assert_eq!(r.error_code(), Some("InvalidResourceName"));
    }

    #[test]
    fn delete_removes_identity_and_its_fics() {
        let (mut s, t0) = state();
        s.handle_arm(&req("PUT", &mi_path("gate"), Some(json!({"location": "westeurope"}))), t0);
        let fic = json!({"properties": {"issuer": "https://issuer.example/", "subject": "s", "audiences": ["api://AzureADTokenExchange"]}});
        let r = s.handle_arm(
            &req("PUT", &format!("{}/federatedIdentityCredentials/fic1", mi_path("gate")), Some(fic)),
            t0 + Duration::from_secs(1),
        );
        assert_eq!(r.status, 201);
        assert_eq!(s.counts().fics, 1);
        assert_eq!(s.handle_arm(&req("DELETE", &mi_path("gate"), None), t0).status, 200);
        assert_eq!(s.counts().fics, 0);
        assert_eq!(s.handle_arm(&req("GET", &mi_path("gate"), None), t0).status, 404);
        assert_eq!(s.handle_arm(&req("DELETE", &mi_path("gate"), None), t0).status, 204);
    }

    #[test]
    fn list_by_resource_group() {
        let (mut s, t0) = state();
        for n in ["mi-1", "mi-2"] {
            s.handle_arm(&req("PUT", &mi_path(n), Some(json!({"location": "westeurope"}))), t0);
        }
        let path = format!("/subscriptions/{SUB1}/resourceGroups/rg-a/providers/Microsoft.ManagedIdentity/userAssignedIdentities");
        let body = s.handle_arm(&req("GET", &path, None), t0).body.unwrap();
        assert_eq!(body["value"].as_array().unwrap().len(), 2);
    }
}
