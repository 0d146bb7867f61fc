//! Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources` with
//! `{"subscriptions":[…],"query":"…","options":{"$top","$skip","$skipToken","resultFormat"}}`, answering
//! `{"totalRecords","count","resultTruncated","$skipToken"?,"data":[…],"facets":[]}` (objectArray rows).
//!
//! Tables: `resources` (managed clusters, user-assigned identities, registries) and
//! `authorizationresources` (role assignments). Only rows of the request's subscriptions are returned
//! (all fleet subscriptions when the list is absent). The KQL subset is documented in [`super::kql`].
//! Pages hold `$top` rows (default 100, at most 1000); `$skipToken` is tied to the query and subscriptions.

use std::collections::HashSet;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::sim::http::{SimRequest, SimResponse};
use crate::sim::state::SimState;

use super::common::{self, str_at};
use super::kql::{self, Table};
use super::kql_eval::{self, Row};
use super::versions::ApiVersion;

const DEFAULT_TOP: u64 = 100;
const MAX_TOP: u64 = 1000;

fn bad_query(message: &str) -> SimResponse {
    SimResponse::json(
        400,
        json!({"error": {
            "code": "BadRequest",
            "message": format!("Please provide below info when asking for support: query rejected by the simulator. {message}"),
            "details": [{"code": "InvalidQuery", "message": message}]
        }}),
    )
}

/// Answers a Resource Graph query.
pub fn query(state: &SimState, req: &SimRequest, now: Instant) -> SimResponse {
    match query_inner(state, req, now) {
        Ok(resp) | Err(resp) => resp,
    }
}

fn query_inner(state: &SimState, req: &SimRequest, now: Instant) -> Result<SimResponse, SimResponse> {
    let body = common::object_body(req)?;
    let text = body.get("query").and_then(Value::as_str).ok_or_else(|| bad_query("The request must have a 'query' string."))?;
    if body.get("managementGroups").is_some_and(|m| m.as_array().is_some_and(|a| !a.is_empty())) {
        return Err(bad_query("'managementGroups' is not supported by the simulator; pass 'subscriptions'."));
    }
    let subs = subscriptions(state, &body)?;
    let options = body.get("options").cloned().unwrap_or(Value::Null);
    if str_at(&options, "/resultFormat").is_some_and(|f| !f.eq_ignore_ascii_case("objectArray")) {
        return Err(bad_query("options.resultFormat 'table' is not supported by the simulator; use 'objectArray'."));
    }
    let top = match options.get("$top") {
        None | Some(Value::Null) => DEFAULT_TOP,
        Some(v) => match v.as_u64() {
            Some(n) if (1..=MAX_TOP).contains(&n) => n,
            _ => return Err(bad_query(&format!("options.$top {v} is out of range; it must be between 1 and {MAX_TOP}."))),
        },
    } as usize;
    let fingerprint = fingerprint(text, &subs);
    let offset = match (options.get("$skipToken").and_then(Value::as_str), options.get("$skip").and_then(Value::as_u64)) {
        (Some(token), _) => parse_token(token, fingerprint)?,
        (None, Some(skip)) => skip as usize,
        (None, None) => 0,
    };
    let parsed = kql::parse(text).map_err(|e| bad_query(&format!("Query is invalid: {e}")))?;
    let rows = match parsed.table {
        Table::Resources => resource_rows(state, now, &subs),
        Table::AuthorizationResources => authorization_rows(state, &subs),
    };
    let rows = kql_eval::run(&parsed.ops, rows).map_err(|e| bad_query(&format!("Query is invalid: {e}")))?;
    let total = rows.len();
    let data: Vec<Value> = rows.into_iter().skip(offset).take(top).map(Value::Object).collect();
    let end = offset + data.len();
    let mut out = json!({"totalRecords": total, "count": data.len(), "resultTruncated": "false", "data": data, "facets": []});
    if end < total {
        out["$skipToken"] = json!(format!("{fingerprint:016x}.{end}"));
    }
    Ok(SimResponse::json(200, out))
}

fn subscriptions(state: &SimState, body: &Map<String, Value>) -> Result<HashSet<String>, SimResponse> {
    match body.get("subscriptions") {
        None | Some(Value::Null) => Ok(state.subscriptions.keys().cloned().collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_ascii_lowercase).ok_or_else(|| bad_query("'subscriptions' must be an array of strings.")))
            .collect(),
        Some(_) => Err(bad_query("'subscriptions' must be an array of strings.")),
    }
}

fn fingerprint(query: &str, subs: &HashSet<String>) -> u64 {
    let mut sorted: Vec<&String> = subs.iter().collect();
    sorted.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in query.bytes().chain(sorted.iter().flat_map(|s| s.bytes())) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn parse_token(token: &str, fingerprint: u64) -> Result<usize, SimResponse> {
    let parsed = token.split_once('.').and_then(|(h, o)| Some((u64::from_str_radix(h, 16).ok()?, o.parse::<usize>().ok()?)));
    match parsed {
        Some((h, offset)) if h == fingerprint => Ok(offset),
        _ => Err(bad_query(
            "options.$skipToken does not belong to this query and subscription list; resend the same query with the token unchanged.",
        )),
    }
}

fn base_row(id: &str, ty: &str, sub: &str, rg: &str) -> Row {
    let mut row = Map::new();
    for (k, v) in [
        ("id", json!(id)),
        ("name", Value::Null),
        ("type", json!(ty.to_ascii_lowercase())),
        ("tenantId", Value::Null),
        ("kind", json!("")),
        ("location", json!("")),
        ("resourceGroup", json!(rg.to_ascii_lowercase())),
        ("subscriptionId", json!(sub)),
        ("managedBy", json!("")),
        ("sku", Value::Null),
        ("plan", Value::Null),
        ("properties", json!({})),
        ("tags", json!({})),
        ("identity", Value::Null),
        ("zones", Value::Null),
        ("extendedLocation", Value::Null),
    ] {
        row.insert(k.to_string(), v);
    }
    row
}

/// A `resources` row from an ARM document.
fn resource_row(state: &SimState, doc: &Value) -> Option<Row> {
    let id = crate::id::ResourceId::parse(str_at(doc, "/id")?).ok()?;
    let ty = id.resource_type()?;
    let mut row = base_row(id.as_str(), &ty, id.subscription_id(), id.resource_group().unwrap_or_default());
    row.insert("name".into(), json!(id.name()));
    row.insert("tenantId".into(), json!(state.options.tenant_id));
    for key in ["location", "sku", "properties", "identity"] {
        if let Some(v) = doc.get(key) {
            row.insert(key.into(), v.clone());
        }
    }
    if let Some(Value::Object(tags)) = doc.get("tags") {
        row.insert("tags".into(), Value::Object(tags.clone()));
    }
    Some(row)
}

fn in_subs(subs: &HashSet<String>, id: &str) -> bool {
    crate::id::ResourceId::parse(id).is_ok_and(|id| subs.contains(&id.subscription_id().to_ascii_lowercase()))
}

fn resource_rows(state: &SimState, now: Instant, subs: &HashSet<String>) -> Vec<Row> {
    let latest = ApiVersion::latest();
    let clusters = state.clusters.iter().filter(|(k, _)| in_subs(subs, k)).map(|(_, c)| c.render(state, now, &latest));
    let identities = state.identities.iter().filter(|(k, _)| in_subs(subs, k)).map(|(_, i)| i.doc.clone());
    let registries = state.registries.iter().filter(|(k, _)| in_subs(subs, k)).map(|(_, d)| d.clone());
    let mut rows: Vec<(String, Row)> = clusters
        .chain(identities)
        .chain(registries)
        .filter_map(|doc| resource_row(state, &doc))
        .map(|row| (row.get("id").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase(), row))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter().map(|(_, row)| row).collect()
}

fn authorization_rows(state: &SimState, subs: &HashSet<String>) -> Vec<Row> {
    state
        .role_assignments
        .iter()
        .filter(|(k, _)| in_subs(subs, k))
        .filter_map(|(_, rec)| {
            let id = str_at(&rec.doc, "/id")?;
            let scope = crate::id::ResourceId::parse(str_at(&rec.doc, "/properties/scope")?).ok()?;
            let mut row = base_row(
                id,
                "Microsoft.Authorization/roleAssignments",
                scope.subscription_id(),
                scope.resource_group().unwrap_or_default(),
            );
            row.insert("name".into(), rec.doc.get("name").cloned().unwrap_or(Value::Null));
            row.insert("tenantId".into(), json!(state.options.tenant_id));
            row.insert("properties".into(), rec.doc.get("properties").cloned().unwrap_or(Value::Null));
            Some(row)
        })
        .collect()
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
