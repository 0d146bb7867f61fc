//! `GET /subscriptions/{s}/resourcegroups/{rg}` (Microsoft.Resources), the read the Azure CLI and SDK
//! clients make before creating resources. Shaped as recorded (tests/fixtures/recorded/sim): `id` with
//! `resourceGroups`, `type`, `location`, `tags`, `properties.provisioningState`. A group's location is that
//! of the first resource the simulator holds in it (`westeurope` for an empty declared group).

use serde_json::json;

use crate::sim::http::SimResponse;
use crate::sim::state::SimState;

use super::common::str_at;

/// `GET` one resource group (existence was checked by the router).
pub fn get(state: &SimState, sub: &str, rg: &str) -> SimResponse {
    let sub_id = state.subscriptions.get(&sub.to_ascii_lowercase()).map_or(sub, |r| r.id.as_str());
    let prefix = format!("/subscriptions/{sub}/resourcegroups/{rg}/").to_ascii_lowercase();
    let docs = state
        .clusters
        .iter()
        .map(|(k, r)| (k, &r.doc))
        .chain(state.identities.iter().map(|(k, r)| (k, &r.doc)))
        .chain(state.registries.iter());
    let found = docs.filter(|(k, _)| k.starts_with(&prefix)).find_map(|(_, doc)| str_at(doc, "/location").map(str::to_string));
    let name = found_name(state, &prefix).unwrap_or_else(|| rg.to_string());
    SimResponse::json(
        200,
        json!({
            "id": format!("/subscriptions/{sub_id}/resourceGroups/{name}"),
            "name": name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": found.unwrap_or_else(|| "westeurope".into()),
            "tags": {},
            "properties": {"provisioningState": "Succeeded"},
        }),
    )
}

/// The group's name as the first resource in it spells it (ARM answers with the stored casing).
fn found_name(state: &SimState, prefix: &str) -> Option<String> {
    let key = state.clusters.keys().chain(state.identities.keys()).chain(state.registries.keys()).find(|k| k.starts_with(prefix))?;
    let doc = state
        .clusters
        .get(key)
        .map(|r| &r.doc)
        .or_else(|| state.identities.get(key).map(|r| &r.doc))
        .or_else(|| state.registries.get(key))?;
    let id = str_at(doc, "/id")?;
    let mut segs = id.split('/');
    segs.nth(4).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use crate::sim::arm::test_support::*;

    #[test]
    fn a_resource_group_reads_as_recorded() {
        let (mut s, t0) = state();
        let r = s.handle_arm(&req_v("GET", &format!("/subscriptions/{SUB1}/resourcegroups/RG-AKS"), None, "2024-11-01"), t0);
        assert_eq!(r.status, 200, "{:?}", r.body);
        let body = r.body.unwrap();
        assert_eq!(body["id"], format!("/subscriptions/{SUB1}/resourceGroups/rg-aks"));
        assert_eq!(body["type"], "Microsoft.Resources/resourceGroups");
        assert_eq!(body["location"], "westeurope");
        assert_eq!(body["properties"]["provisioningState"], "Succeeded");
        let missing = s.handle_arm(&req("GET", &format!("/subscriptions/{SUB1}/resourcegroups/rg-none"), None), t0);
        assert_eq!(missing.error_code(), Some("ResourceGroupNotFound"));
    }
}
