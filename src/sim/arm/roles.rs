//! `{scope}/providers/Microsoft.Authorization/roleAssignments` at any scope: PUT, GET, DELETE and list with
//! `$filter` (see [`RoleFilter`]), paged by `options.list_page_size`.
//!
//! Rules (azure-arm.md D): the name is a GUID; `409 RoleAssignmentExists` when the same principal + role +
//! scope exists under another name; `400 RoleAssignmentUpdateNotPermitted` for a PUT to an existing name
//! with a different principal, role or scope; `400 PrincipalNotFound` when the principal is unknown or
//! younger than `options.replication_delay`, unless `principalType` is set; `412` for `If-None-Match: *` on an
//! existing name. `roleDefinitionId` is returned
//! as stored: created assignments echo what was sent, fleet-seeded ones lack the subscription prefix.
//!
//! Bodies are shaped as recorded (tests/fixtures/recorded/sim): `properties` holds `roleDefinitionId`,
//! `principalId`, `principalType` (when given), `scope`, `condition`, `conditionVersion`, `createdOn`,
//! `updatedOn`, `createdBy` (`null` for a create), `updatedBy`, `delegatedManagedIdentityResourceId`,
//! `description`; `RoleAssignmentExists` names the existing assignment by its GUID without hyphens.

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::id::{ResourceId, is_guid};
use crate::sim::http::{SimRequest, SimResponse};
use crate::sim::state::SimState;

use super::common;

/// The ARM type string of role assignments.
pub const ROLE_ASSIGNMENT_TYPE: &str = "Microsoft.Authorization/roleAssignments";
/// Built-in AcrPull role definition GUID.
pub const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
/// Object ID the simulator reports as the caller in `updatedBy` (and as the creator of seeded assignments).
pub const CALLER_OBJECT_ID: &str = "5af09b5f-0000-4000-8000-00000000ca11";

/// One stored role assignment.
#[derive(Debug, Clone)]
pub struct RoleAssignmentRecord {
    /// The document GET returns.
    pub doc: Value,
    /// Lower-cased scope.
    pub scope_key: String,
    /// Lower-cased principal ID.
    pub principal: String,
    /// Lower-cased role definition GUID.
    pub role: String,
}

impl RoleAssignmentRecord {
    fn same_grant(&self, other: &RoleAssignmentRecord) -> bool {
        self.scope_key == other.scope_key && self.principal == other.principal && self.role == other.role
    }
}

/// A `$filter` of the list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleFilter {
    /// `atScope()`: only assignments at or above the scope.
    pub at_scope: bool,
    /// `principalId eq '…'` or `assignedTo('…')` (lower-cased).
    pub principal: Option<String>,
}

impl RoleFilter {
    /// Parses `atScope()`, `principalId eq '{id}'`, `assignedTo('{id}')`, joined with `and`.
    pub fn parse(text: &str) -> Result<RoleFilter, SimResponse> {
        let mut filter = RoleFilter::default();
        let lower = text.to_ascii_lowercase();
        let terms: Vec<&str> = split_and(text, &lower);
        for term in terms {
            let t = term.trim();
            let tl = t.to_ascii_lowercase();
            let principal = if tl.replace(' ', "") == "atscope()" {
                filter.at_scope = true;
                None
            } else if let Some(rest) = tl.strip_prefix("principalid eq ") {
                Some(quoted(&t[t.len() - rest.len()..]).ok_or_else(|| unsupported(text, t))?)
            } else if tl.starts_with("assignedto(") && tl.ends_with(')') {
                Some(quoted(&t["assignedto(".len()..t.len() - 1]).ok_or_else(|| unsupported(text, t))?)
            } else {
                return Err(unsupported(text, t));
            };
            if let Some(p) = principal {
                if filter.principal.is_some() {
                    return Err(unsupported(text, t));
                }
                filter.principal = Some(p.to_ascii_lowercase());
            }
        }
        Ok(filter)
    }

    /// True when an assignment at `assignment_scope` for `principal` is listed at `scope`.
    pub fn matches(&self, scope: &str, assignment_scope: &str, principal: &str) -> bool {
        // The principal first, and no allocation: a list scans every assignment in the simulator.
        if self.principal.as_deref().is_some_and(|p| p != principal) {
            return false;
        }
        let at_or_above = scope == assignment_scope || is_below(scope, assignment_scope);
        at_or_above || (!self.at_scope && is_below(assignment_scope, scope))
    }
}

/// `path` is strictly below `ancestor` (`ancestor/…`).
fn is_below(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor).is_some_and(|rest| rest.starts_with('/'))
}

fn split_and<'a>(text: &'a str, lower: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    while let Some(pos) = lower[start..].find(" and ") {
        out.push(&text[start..start + pos]);
        start += pos + 5;
    }
    out.push(&text[start..]);
    out
}

fn quoted(s: &str) -> Option<String> {
    let inner = s.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.is_empty() && !inner.contains('\'')).then(|| inner.to_string())
}

fn unsupported(filter: &str, part: &str) -> SimResponse {
    SimResponse::error(
        400,
        "UnsupportedQuery",
        &format!(
            "The filter '{filter}' is not supported (at '{part}'). Supported: atScope(), principalId eq '{{id}}', assignedTo('{{id}}'), and atScope() and assignedTo('{{id}}')."
        ),
    )
}

/// The role definition GUID at the end of a role definition ID.
pub fn role_guid(role_definition_id: &str) -> Option<String> {
    let lower = role_definition_id.to_ascii_lowercase();
    let (prefix, guid) = lower.rsplit_once("/providers/microsoft.authorization/roledefinitions/")?;
    let prefix_ok = prefix.is_empty() || ResourceId::parse(&role_definition_id[..prefix.len()]).is_ok();
    (prefix_ok && is_guid(guid)).then(|| guid.to_string())
}

/// Stores an assignment without any check (fleet seeding: created before the simulator started).
/// `properties` must hold `roleDefinitionId` and `principalId`.
pub fn insert(state: &mut SimState, scope: &ResourceId, name: &str, properties: Map<String, Value>) -> Option<()> {
    let at = state.epoch;
    insert_at(state, scope, name, properties, at, Some(CALLER_OBJECT_ID))
}

/// The recorded property set, in the recorded order; values the request gave win.
fn recorded_properties(sent: Map<String, Value>, scope: &ResourceId, when: &str, created_by: Option<&str>) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["roleDefinitionId", "principalId", "principalType"] {
        if let Some(v) = sent.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    out.insert("scope".into(), json!(scope.as_str()));
    for key in ["condition", "conditionVersion"] {
        out.insert(key.into(), sent.get(key).cloned().unwrap_or(Value::Null));
    }
    out.insert("createdOn".into(), json!(when));
    out.insert("updatedOn".into(), json!(when));
    out.insert("createdBy".into(), created_by.map_or(Value::Null, |c| json!(c)));
    out.insert("updatedBy".into(), json!(CALLER_OBJECT_ID));
    for key in ["delegatedManagedIdentityResourceId", "description"] {
        out.insert(key.into(), sent.get(key).cloned().unwrap_or(Value::Null));
    }
    out
}

fn insert_at(
    state: &mut SimState,
    scope: &ResourceId,
    name: &str,
    properties: Map<String, Value>,
    at: Instant,
    created_by: Option<&str>,
) -> Option<()> {
    let role = role_guid(properties.get("roleDefinitionId")?.as_str()?)?;
    let principal = properties.get("principalId")?.as_str()?.to_ascii_lowercase();
    let when = super::operations::timestamp(state, at);
    let properties = recorded_properties(properties, scope, &when, created_by);
    let id = format!("{}/providers/{ROLE_ASSIGNMENT_TYPE}/{name}", scope.as_str());
    let doc = json!({ "properties": properties, "id": id, "type": ROLE_ASSIGNMENT_TYPE, "name": name });
    let key = id.to_ascii_lowercase();
    state.role_assignments_by_principal.entry(principal.clone()).or_default().insert(key.clone());
    let record = RoleAssignmentRecord { doc, scope_key: scope.key().to_string(), principal, role };
    if let Some(replaced) = state.role_assignments.insert(key.clone(), record) {
        unindex(state, &replaced.principal, &key);
    }
    Some(())
}

/// The assignments of one principal (lower-cased), in key order.
fn of_principal<'a>(state: &'a SimState, principal: &str) -> impl Iterator<Item = &'a RoleAssignmentRecord> {
    let keys = state.role_assignments_by_principal.get(principal).into_iter().flatten();
    keys.filter_map(|k| state.role_assignments.get(k))
}

fn unindex(state: &mut SimState, principal: &str, key: &str) {
    if let Some(keys) = state.role_assignments_by_principal.get_mut(principal) {
        keys.remove(key);
        if keys.is_empty() {
            state.role_assignments_by_principal.remove(principal);
        }
    }
}

fn key(scope: &ResourceId, name: &str) -> String {
    format!("{}/providers/{ROLE_ASSIGNMENT_TYPE}/{name}", scope.key()).to_ascii_lowercase()
}

/// `GET` one assignment.
pub fn get(state: &SimState, scope: &ResourceId, name: &str) -> SimResponse {
    match state.role_assignments.get(&key(scope, name)) {
        Some(rec) => SimResponse::json(200, rec.doc.clone()),
        None => SimResponse::error(404, "RoleAssignmentNotFound", &format!("The role assignment '{name}' is not found.")),
    }
}

/// `DELETE` one assignment: 200 with the deleted document, or 204.
pub fn delete(state: &mut SimState, scope: &ResourceId, name: &str) -> SimResponse {
    let key = key(scope, name);
    match state.role_assignments.remove(&key) {
        Some(rec) => {
            unindex(state, &rec.principal, &key);
            SimResponse::json(200, rec.doc)
        }
        None => SimResponse::empty(204),
    }
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments[?$filter=…]`, paged.
pub fn list(state: &SimState, req: &SimRequest, scope: &ResourceId) -> SimResponse {
    let filter = match req.query_param("$filter").filter(|f| !f.trim().is_empty()) {
        Some(text) => match RoleFilter::parse(text) {
            Ok(f) => f,
            Err(resp) => return resp,
        },
        None => RoleFilter::default(),
    };
    let candidates: Box<dyn Iterator<Item = &RoleAssignmentRecord>> = match &filter.principal {
        Some(p) => Box::new(of_principal(state, p)),
        None => Box::new(state.role_assignments.values()),
    };
    let items = candidates.filter(|rec| filter.matches(scope.key(), &rec.scope_key, &rec.principal)).map(|rec| rec.doc.clone()).collect();
    common::page(req, items, state.options.list_page_size)
}

/// `PUT` one assignment.
pub fn put(state: &mut SimState, req: &SimRequest, now: Instant, scope: &ResourceId, name: &str) -> SimResponse {
    match put_inner(state, req, now, scope, name) {
        Ok(resp) | Err(resp) => resp,
    }
}

fn put_inner(state: &mut SimState, req: &SimRequest, now: Instant, scope: &ResourceId, name: &str) -> Result<SimResponse, SimResponse> {
    if !is_guid(name) {
        return Err(SimResponse::error(
            400,
            "InvalidRoleAssignmentId",
            &format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
        ));
    }
    let body = common::object_body(req)?;
    let Some(Value::Object(props)) = body.get("properties") else {
        return Err(common::bad_body("The role assignment body must have a 'properties' object."));
    };
    let role_def = props.get("roleDefinitionId").and_then(Value::as_str).unwrap_or_default();
    let role = role_guid(role_def)
        .ok_or_else(|| SimResponse::error(400, "InvalidRoleDefinitionId", &format!("The role definition ID '{role_def}' is not valid.")))?;
    let principal = props.get("principalId").and_then(Value::as_str).filter(|p| is_guid(p)).ok_or_else(|| {
        SimResponse::error(400, "InvalidPrincipalId", "A valid principal ID (a GUID) must be provided in properties.principalId.")
    })?;
    let candidate =
        RoleAssignmentRecord { doc: Value::Null, scope_key: scope.key().to_string(), principal: principal.to_ascii_lowercase(), role };
    let existing = state.role_assignments.get(&key(scope, name));
    common::check_preconditions(req, existing.map(|_| "*"), &format!("role assignment '{name}'"))?;
    if let Some(existing) = existing {
        if existing.same_grant(&candidate) {
            return Ok(SimResponse::json(200, existing.doc.clone()));
        }
        return Err(SimResponse::error(
            400,
            "RoleAssignmentUpdateNotPermitted",
            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
        ));
    }
    let typed = props.get("principalType").and_then(Value::as_str).is_some_and(|t| !t.is_empty());
    if !typed && !principal_visible(state, principal, now) {
        return Err(principal_not_found(principal, &state.options.tenant_id));
    }
    if let Some(existing) = of_principal(state, &candidate.principal).find(|rec| rec.same_grant(&candidate)) {
        let existing_name = existing.doc.get("name").and_then(Value::as_str).unwrap_or_default().replace('-', "");
        return Err(SimResponse::error(
            409,
            "RoleAssignmentExists",
            &format!("The role assignment already exists. The ID of the existing role assignment is {existing_name}."),
        ));
    }
    let mut properties = props.clone();
    properties.remove("scope");
    insert_at(state, scope, name, properties, now, None);
    let doc = state.role_assignments.get(&key(scope, name)).map(|r| r.doc.clone()).unwrap_or(Value::Null);
    Ok(SimResponse::json(201, doc))
}

/// True when the directory knows `principal` at `now` (replication delay included).
pub fn principal_visible(state: &SimState, principal: &str, now: Instant) -> bool {
    match state.principals.get(&principal.to_ascii_lowercase()) {
        None => false,
        Some(None) => true,
        Some(Some(created)) => now >= *created + state.options.replication_delay,
    }
}

fn principal_not_found(principal: &str, tenant: &str) -> SimResponse {
    SimResponse::error(
        400,
        "PrincipalNotFound",
        &format!(
            "Principal {} does not exist in the directory {tenant}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype",
            principal.replace('-', "")
        ),
    )
}

#[cfg(test)]
#[path = "roles_tests.rs"]
mod tests;
