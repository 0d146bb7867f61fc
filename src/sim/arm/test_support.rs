//! Test helpers: a small seeded fleet and request builders.

use serde_json::Value;
use tokio::time::Instant;

use crate::sim::fleet::Fleet;
use crate::sim::http::SimRequest;
use crate::sim::options::SimOptions;
use crate::sim::state::SimState;

pub const SUB1: &str = "00000000-0000-0000-0000-000000000001";
pub const SUB2: &str = "00000000-0000-0000-0000-000000000002";
pub const KUBELET1: &str = "11111111-1111-1111-1111-111111111111";
/// The api-version test requests use unless they say otherwise (carries securityGating).
pub const API: &str = crate::core::api_versions::DEFAULT_MANAGED_CLUSTERS;

/// The test fleet: SUB1 (Defender full, rg-a declared empty) with registry acrOne and clusters aks-1 (attached
/// to acrOne and SUB2's acrtwo) and aks-nooidc; SUB2 (Defender off) with registry acrtwo.
pub fn fleet_toml() -> String {
    format!(
        r#"
[[subscriptions]]
id = "{SUB1}"
defender = "full"
resource_groups = ["rg-a"]

[[subscriptions]]
id = "{SUB2}"

[[registries]]
subscription = "{SUB1}"
resource_group = "rg-acr"
name = "acrOne"

[[registries]]
subscription = "{SUB2}"
resource_group = "rg-acr2"
name = "acrtwo"

[[clusters]]
subscription = "{SUB1}"
resource_group = "rg-aks"
name = "aks-1"
attached_registries = ["acrOne", "/subscriptions/{SUB2}/resourceGroups/rg-acr2/providers/Microsoft.ContainerRegistry/registries/acrtwo"]
kubelet_identity = {{ object_id = "{KUBELET1}" }}
extra_properties = {{ futureProfile = {{ knob = 3, list = ["a", "b"] }} }}

[[clusters]]
subscription = "{SUB1}"
resource_group = "rg-aks"
name = "aks-nooidc"
oidc_issuer = false
"#
    )
}

/// A state seeded from [`fleet_toml`] with default options, and the instant to use as "now".
pub fn state() -> (SimState, Instant) {
    state_with(SimOptions::default())
}

/// Like [`state`] with given options.
pub fn state_with(options: SimOptions) -> (SimState, Instant) {
    let fleet = Fleet::from_toml_str(&fleet_toml()).unwrap();
    let state = SimState::from_fleet(&fleet, &options).unwrap();
    (state, Instant::now())
}

/// A request with `api-version=`[`API`].
pub fn req(method: &str, path: &str, body: Option<Value>) -> SimRequest {
    req_v(method, path, body, API)
}

/// A request with the given api-version.
pub fn req_v(method: &str, path: &str, body: Option<Value>, api_version: &str) -> SimRequest {
    SimRequest {
        method: method.to_string(),
        path: path.to_string(),
        query: vec![("api-version".to_string(), api_version.to_string())],
        headers: Vec::new(),
        body: body.map(|b| serde_json::to_vec(&b).unwrap()).unwrap_or_default(),
        base_url: "http://127.0.0.1:1".to_string(),
    }
}

/// Adds a query parameter.
pub fn with_query(mut r: SimRequest, key: &str, value: &str) -> SimRequest {
    r.query.push((key.to_string(), value.to_string()));
    r
}

/// Adds a header.
pub fn with_header(mut r: SimRequest, name: &str, value: &str) -> SimRequest {
    r.headers.push((name.to_ascii_lowercase(), value.to_string()));
    r
}

/// Path of a cluster in SUB1/rg-aks.
pub fn cluster_path(name: &str) -> String {
    format!("/subscriptions/{SUB1}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/{name}")
}

/// ARM ID of a registry of the test fleet.
pub fn acr_one() -> String {
    format!("/subscriptions/{SUB1}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrOne")
}

/// A recorded answer from tests/fixtures/recorded/sim (see SOURCES.md there).
pub fn recorded(name: &str) -> Value {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recorded/sim").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
