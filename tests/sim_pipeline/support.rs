//! Shared helpers: start a simulator, build requests.

use fleetgate::sim::{Fleet, SimHandle, SimOptions, Simulator};
use reqwest::{Client, RequestBuilder, Response};

/// A subscription used by the tests.
pub const SUB: &str = "00000000-0000-0000-0000-0000000000aa";
/// ARM audience scope.
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";

/// A simulator with default options.
pub async fn start() -> SimHandle {
    start_with(SimOptions::default()).await
}

/// A simulator with `options`.
// `Fleet` gains fields on another branch; assigning `sim` keeps this valid either way.
#[allow(clippy::field_reassign_with_default)]
pub async fn start_with(options: SimOptions) -> SimHandle {
    let mut fleet = Fleet::default();
    fleet.sim = options;
    Simulator::start(fleet, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

/// A plain client (no retries, no proxies).
pub fn client() -> Client {
    Client::builder().no_proxy().build().unwrap()
}

/// An ARM read path in [`SUB`].
pub fn read_path() -> String {
    format!("/subscriptions/{SUB}/providers/Microsoft.ContainerService/managedClusters?api-version=2025-10-01")
}

/// A request to `path` on `sim` with an ARM bearer token.
pub fn arm(sim: &SimHandle, client: &Client, method: reqwest::Method, path: &str) -> RequestBuilder {
    let token = sim.issue_token(ARM_SCOPE);
    client.request(method, format!("{}{path}", sim.base_url())).bearer_auth(token)
}

/// A header as a string.
pub fn header(res: &Response, name: &str) -> Option<String> {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

/// The ARM error code of a JSON error body.
pub async fn error_code(res: Response) -> String {
    let body: serde_json::Value = res.json().await.unwrap();
    body["error"]["code"].as_str().unwrap_or_default().to_string()
}

/// POST `pairs` as an `application/x-www-form-urlencoded` body (reqwest's `form` needs a feature we do not enable).
pub fn post_form(client: &Client, url: &str, pairs: &[(&str, &str)]) -> RequestBuilder {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    client.post(url).header("content-type", "application/x-www-form-urlencoded").body(body)
}
