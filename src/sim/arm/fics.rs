//! `…/userAssignedIdentities/{id}/federatedIdentityCredentials`: PUT (201/200), GET, LIST, DELETE with the
//! real rules (azure-arm.md C): name `^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$`, `issuer`/`subject`/`audiences`
//! required, exactly one audience, at most 20 per identity, an issuer+subject pair only once per identity,
//! 404 when the parent identity is missing, and `409
//! ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity` for a write that overlaps another
//! one on the same identity (each write occupies the identity for `options.fic_write_duration`). `If-None-Match:
//! *` on an existing FIC answers 412.

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::sim::http::{SimRequest, SimResponse};
use crate::sim::state::SimState;

use super::common::{self, str_at};
use super::identities::IdentityRecord;
use super::route::ResPath;

/// The ARM type string of federated identity credentials.
pub const FIC_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials";
/// Most FICs one identity may have.
pub const MAX_FICS: usize = 20;

/// The FIC document for `identity_id` / `name`.
pub fn document(identity_id: &str, name: &str, issuer: &str, subject: &str, audiences: &[String]) -> Value {
    json!({
        "id": format!("{identity_id}/federatedIdentityCredentials/{name}"),
        "name": name,
        "type": FIC_TYPE,
        "properties": { "issuer": issuer, "subject": subject, "audiences": audiences }
    })
}

fn parent_missing() -> SimResponse {
    SimResponse::error(404, "ParentResourceNotFound", "The parent user-assigned identity doesn't exist.")
}

fn bad(message: &str) -> SimResponse {
    SimResponse::error(400, "BadRequest", message)
}

/// `GET` the FICs of an identity, paged.
pub fn list(state: &SimState, req: &SimRequest, p: &ResPath) -> SimResponse {
    let Some(identity) = state.identities.get(&p.key()) else { return parent_missing() };
    common::page(req, identity.fics.values().cloned().collect(), state.options.list_page_size)
}

/// `GET` one FIC.
pub fn get(state: &SimState, p: &ResPath, name: &str) -> SimResponse {
    let Some(identity) = state.identities.get(&p.key()) else { return parent_missing() };
    match identity.fics.get(&name.to_ascii_lowercase()) {
        Some(doc) => SimResponse::json(200, doc.clone()),
        None => SimResponse::error(
            404,
            "NotFound",
            &format!("Federated identity credential '{name}' was not found under managed identity '{}'.", p.id()),
        ),
    }
}

/// `PUT` one FIC.
pub fn put(state: &mut SimState, req: &SimRequest, now: Instant, p: &ResPath, name: &str) -> SimResponse {
    match put_inner(state, req, now, p, name) {
        Ok(resp) | Err(resp) => resp,
    }
}

fn put_inner(state: &mut SimState, req: &SimRequest, now: Instant, p: &ResPath, name: &str) -> Result<SimResponse, SimResponse> {
    let duration = state.options.fic_write_duration;
    let identity = state.identities.get_mut(&p.key()).ok_or_else(parent_missing)?;
    validate_name(name)?;
    let body = common::object_body(req)?;
    let (issuer, subject, audiences) = parse_properties(&body)?;
    let key = name.to_ascii_lowercase();
    let exists = identity.fics.contains_key(&key);
    common::check_preconditions(req, exists.then_some("*"), &format!("federated identity credential '{name}'"))?;
    occupy(identity, now, duration, p)?;
    if !exists && identity.fics.len() >= MAX_FICS {
        return Err(bad(&format!(
            "Too many Federated Identity Credentials: managed identity '{}' already has the maximum of {MAX_FICS}.",
            p.id()
        )));
    }
    let duplicate = identity.fics.iter().any(|(k, doc)| {
        *k != key
            && str_at(doc, "/properties/issuer") == Some(issuer.as_str())
            && str_at(doc, "/properties/subject") == Some(subject.as_str())
    });
    if duplicate {
        return Err(bad("Issuer and subject combination already exists for this Managed Identity."));
    }
    let stored_name = identity.fics.get(&key).and_then(|d| str_at(d, "/name")).unwrap_or(name).to_string();
    let doc = document(&p.answer_id(), &stored_name, &issuer, &subject, &audiences);
    identity.fics.insert(key, doc.clone());
    Ok(SimResponse::json(if exists { 200 } else { 201 }, doc))
}

/// `DELETE` one FIC: 200, or 204 when it did not exist.
pub fn delete(state: &mut SimState, now: Instant, p: &ResPath, name: &str) -> SimResponse {
    let duration = state.options.fic_write_duration;
    let Some(identity) = state.identities.get_mut(&p.key()) else { return parent_missing() };
    if let Err(resp) = occupy(identity, now, duration, p) {
        return resp;
    }
    match identity.fics.remove(&name.to_ascii_lowercase()) {
        Some(_) => SimResponse::empty(200),
        None => SimResponse::empty(204),
    }
}

/// Rejects a write that overlaps the previous one on this identity, else occupies it until `now + duration`.
fn occupy(identity: &mut IdentityRecord, now: Instant, duration: std::time::Duration, p: &ResPath) -> Result<(), SimResponse> {
    if identity.fic_busy_until.is_some_and(|until| now < until) {
        return Err(SimResponse::error(
            409,
            "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
            &format!(
                "Too many Federated Identity Credentials are written concurrently for the managed identity '{}'. Concurrent Federated Identity Credentials writes under the same managed identity are not supported.",
                p.id()
            ),
        ));
    }
    identity.fic_busy_until = Some(now + duration);
    Ok(())
}

/// `^[a-zA-Z0-9][a-zA-Z0-9-_]{2,119}$`.
fn validate_name(name: &str) -> Result<(), SimResponse> {
    let ok = (3..=120).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        return Ok(());
    }
    Err(bad(&format!(
        "The federated identity credential name '{name}' is invalid. It must match ^[a-zA-Z0-9][a-zA-Z0-9-_]{{2,119}}$ (3-120 characters)."
    )))
}

fn parse_properties(body: &Map<String, Value>) -> Result<(String, String, Vec<String>), SimResponse> {
    let props = match body.get("properties") {
        Some(Value::Object(p)) if !p.is_empty() => p,
        _ => return Err(bad("Federated Identity Credential from HTTP body has empty properties")),
    };
    let text = |field: &str| -> Result<String, SimResponse> {
        match props.get(field) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            _ => Err(bad(&format!("Federated identity credential property '{field}' is required and must be a non-empty string."))),
        }
    };
    let issuer = text("issuer")?;
    if url::Url::parse(&issuer).is_err() {
        return Err(bad(&format!("Federated identity credential issuer '{issuer}' is not a valid URL.")));
    }
    let subject = text("subject")?;
    let audiences: Vec<String> = match props.get("audiences") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let all_strings = matches!(props.get("audiences"), Some(Value::Array(items)) if items.iter().all(Value::is_string));
    if audiences.len() != 1 || !all_strings {
        return Err(bad("Federated identity credentials must have exactly one audience."));
    }
    Ok((issuer, subject, audiences))
}

#[cfg(test)]
#[path = "fics_tests.rs"]
mod tests;
