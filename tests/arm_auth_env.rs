//! `azure.credential = "auto"` with `IDENTITY_ENDPOINT` set picks the managed identity, which calls the
//! endpoint over plain HTTP. This binary holds a single test because it sets process environment
//! variables (azure_identity reads them itself).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::get;
use fleetgate::arm::auth::{CredentialEnv, CredentialPlan, credential_from_settings};
use fleetgate::config::CredentialKind;
use serde_json::json;

type Seen = Arc<Mutex<Vec<(String, String)>>>;

async fn msi(State(seen): State<Seen>, RawQuery(q): RawQuery, headers: HeaderMap) -> String {
    let header = headers.get("x-identity-header").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    seen.lock().unwrap().push((q.unwrap_or_default(), header));
    let expires = (time::OffsetDateTime::now_utc() + time::Duration::hours(1)).unix_timestamp();
    json!({"access_token": "msi-token", "expires_on": expires.to_string(), "token_type": "Bearer", "resource": "https://management.azure.com"}).to_string()
}

#[tokio::test]
async fn auto_uses_app_service_managed_identity_when_identity_endpoint_is_set() {
    let seen: Seen = Arc::default();
    let app = Router::new().route("/msi/token", get(msi)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/msi/token", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    // SAFETY: this test binary has exactly one test, so no other thread reads the environment concurrently.
    unsafe {
        std::env::set_var("IDENTITY_ENDPOINT", &endpoint);
        std::env::set_var("IDENTITY_HEADER", "sim-header");
        std::env::remove_var("AZURE_FEDERATED_TOKEN_FILE");
    }
    let mut s = fleetgate::config::load(&fleetgate::config::ConfigSource { file: None, env: Some(Default::default()) }).unwrap().azure;
    s.credential = CredentialKind::Auto;
    let plan = CredentialPlan::resolve(&s, &CredentialEnv::from_process()).unwrap();
    assert!(matches!(plan, CredentialPlan::ManagedIdentity { .. }), "{plan:?}");
    let credential = credential_from_settings(&s).unwrap();
    let t = credential.get_token(&["https://management.azure.com/.default"], None).await.unwrap();
    assert_eq!(t.token.secret(), "msi-token");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].0.contains("resource=https%3A%2F%2Fmanagement.azure.com") || seen[0].0.contains("resource=https://management.azure.com"),
        "{:?}",
        seen[0].0
    );
    assert_eq!(seen[0].1, "sim-header");
}
