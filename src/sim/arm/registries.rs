//! `Microsoft.ContainerRegistry/registries`: GET (with `properties.loginServer`) and list, in any
//! subscription of the fleet. Registries come only from the fleet file.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::sim::http::{SimRequest, SimResponse};
use crate::sim::state::SimState;

use super::common;
use super::route::ResPath;

/// The ARM type string of container registries.
pub const REGISTRY_TYPE: &str = "Microsoft.ContainerRegistry/registries";

/// `{name lower}.azurecr.io`.
pub fn login_server(name: &str) -> String {
    format!("{}.azurecr.io", name.to_ascii_lowercase())
}

/// The registry document GET returns.
pub fn document(p: &ResPath, location: &str, sku: &str, tags: &BTreeMap<String, String>, created: &str) -> Value {
    json!({
        "id": p.id(),
        "name": p.name,
        "type": REGISTRY_TYPE,
        "location": location,
        "tags": tags,
        "sku": { "name": sku, "tier": sku },
        "properties": {
            "loginServer": login_server(&p.name),
            "creationDate": created,
            "provisioningState": "Succeeded",
            "adminUserEnabled": false,
            "publicNetworkAccess": "Enabled",
            "anonymousPullEnabled": false
        }
    })
}

/// `GET` one registry.
pub fn get(state: &SimState, p: &ResPath) -> SimResponse {
    match state.registries.get(&p.key()) {
        Some(doc) => SimResponse::json(200, doc.clone()),
        None => common::not_found(REGISTRY_TYPE, &p.name, &p.rg),
    }
}

/// `GET` the registries of a subscription or resource group, paged.
pub fn list(state: &SimState, req: &SimRequest, sub: &str, rg: Option<&str>) -> SimResponse {
    let prefix = match rg {
        Some(rg) => format!("/subscriptions/{sub}/resourcegroups/{rg}/providers/").to_ascii_lowercase(),
        None => format!("/subscriptions/{sub}/").to_ascii_lowercase(),
    };
    let items = state.registries.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(_, d)| d.clone()).collect();
    common::page(req, items, state.options.list_page_size)
}

#[cfg(test)]
mod tests {
    use crate::sim::arm::test_support::*;
    use serde_json::json;

    #[test]
    fn get_has_login_server_in_any_subscription() {
        let (mut s, t0) = state();
        let doc = s.handle_arm(&req_v("GET", &acr_one(), None, "2023-07-01"), t0).body.unwrap();
        assert_eq!(doc["properties"]["loginServer"], json!("acrone.azurecr.io"));
        assert_eq!(doc["name"], json!("acrOne"));
        let other = format!("/subscriptions/{SUB2}/resourceGroups/rg-acr2/providers/Microsoft.ContainerRegistry/registries/ACRTWO");
        let r = s.handle_arm(&req_v("GET", &other, None, "2023-07-01"), t0);
        assert_eq!(r.status, 200);
        let missing = format!("/subscriptions/{SUB2}/resourceGroups/rg-acr2/providers/Microsoft.ContainerRegistry/registries/nope");
        assert_eq!(s.handle_arm(&req_v("GET", &missing, None, "2023-07-01"), t0).error_code(), Some("ResourceNotFound"));
    }

    #[test]
    fn list_by_subscription() {
        let (mut s, t0) = state();
        let path = format!("/subscriptions/{SUB1}/providers/Microsoft.ContainerRegistry/registries");
        let body = s.handle_arm(&req_v("GET", &path, None, "2023-07-01"), t0).body.unwrap();
        assert_eq!(body["value"].as_array().unwrap().len(), 1);
    }
}
