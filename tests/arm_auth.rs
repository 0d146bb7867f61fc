//! Credentials over real loopback HTTP: client secret and workload identity through an `http://`
//! loopback authority (LoopbackTransport), token caching, credential errors surfacing in ArmError
//! without secrets, and the Azure CLI credential running a fake `az`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use azure_core::credentials::Secret;
use fleetgate::arm::ArmClient;
use fleetgate::arm::auth::{CredentialEnv, credential_with_env};
use fleetgate::config::{AzureSettings, CredentialKind};
use serde_json::json;

const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// The subscription the ARM calls read (in the client's scope).
const SUB1: &str = "00000000-0000-0000-0000-000000000001";

#[derive(Default)]
struct Aad {
    /// Form bodies of token requests, by tenant.
    requests: Mutex<Vec<(String, HashMap<String, String>)>>,
    /// Bearer headers the fake ARM saw.
    arm_auth: Mutex<Vec<String>>,
    reject: bool,
}

async fn token(State(aad): State<Arc<Aad>>, Path(tenant): Path<String>, body: String) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    aad.requests.lock().unwrap().push((tenant, form));
    if aad.reject {
        let body = json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7000215]});
        return (StatusCode::UNAUTHORIZED, body.to_string()).into_response();
    }
    let n = aad.requests.lock().unwrap().len();
    (
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": format!("aad-token-{n}")}).to_string(),
    )
        .into_response()
}

async fn arm(State(aad): State<Arc<Aad>>, headers: HeaderMap) -> Response {
    let auth = headers.get("authorization").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    aad.arm_auth.lock().unwrap().push(auth);
    (StatusCode::OK, json!({"name": "c1"}).to_string()).into_response()
}

async fn start(reject: bool) -> (String, Arc<Aad>) {
    let aad = Arc::new(Aad { reject, ..Default::default() });
    let app =
        Router::new().route("/{tenant}/oauth2/v2.0/token", post(token)).route("/subscriptions/{sub}", get(arm)).with_state(aad.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, aad)
}

fn settings(kind: CredentialKind, base: &str) -> AzureSettings {
    let mut s = fleetgate::config::load(&fleetgate::config::ConfigSource { file: None, env: Some(Default::default()) }).unwrap().azure;
    s.credential = kind;
    s.resource_manager_endpoint = base.to_string();
    s.authority_host = base.to_string();
    s.tenant_id = "tenant-1".into();
    s.client_id = "client-1".into();
    s.retry.max_attempts = 1;
    s
}

#[tokio::test]
async fn client_secret_through_loopback_authority_is_cached_and_used_by_arm() {
    let (base, aad) = start(false).await;
    let env = CredentialEnv {
        client_secret: Some(Secret::from("sp-secret")),
        tenant_id: Some("ignored-env-tenant".into()),
        ..Default::default()
    };
    let s = settings(CredentialKind::ClientSecret, &base);
    let credential = credential_with_env(&s, &env).unwrap();
    let t1 = credential.get_token(&[ARM_SCOPE], None).await.unwrap();
    let t2 = credential.get_token(&[ARM_SCOPE], None).await.unwrap();
    assert_eq!(t1.token.secret(), "aad-token-1");
    assert_eq!(t2.token.secret(), "aad-token-1", "cached");
    {
        let requests = aad.requests.lock().unwrap();
        assert_eq!(requests.len(), 1);
        let (tenant, form) = &requests[0];
        assert_eq!(tenant, "tenant-1", "azure.tenant_id wins over AZURE_TENANT_ID");
        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["client_id"], "client-1");
        assert_eq!(form["client_secret"], "sp-secret");
        assert_eq!(form["scope"], ARM_SCOPE);
    }
    assert!(!format!("{credential:?}").contains("sp-secret"));

    let c = ArmClient::new(&s, &[SUB1.to_string()], credential).unwrap();
    assert!(c.get("/subscriptions/00000000-0000-0000-0000-000000000001", "2022-12-01").await.unwrap().is_some());
    assert_eq!(aad.arm_auth.lock().unwrap().as_slice(), ["Bearer aad-token-1"]);
}

#[tokio::test]
async fn workload_identity_sends_the_projected_token_as_assertion() {
    let (base, aad) = start(false).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("azure-identity-token");
    std::fs::write(&file, "k8s-service-account-jwt").unwrap();
    let env = CredentialEnv { federated_token_file: Some(file), ..Default::default() };
    let s = settings(CredentialKind::Auto, &base);
    let credential = credential_with_env(&s, &env).unwrap();
    assert_eq!(credential.get_token(&[ARM_SCOPE], None).await.unwrap().token.secret(), "aad-token-1");
    let requests = aad.requests.lock().unwrap();
    let (tenant, form) = &requests[0];
    assert_eq!(tenant, "tenant-1");
    assert_eq!(form["client_assertion"], "k8s-service-account-jwt");
    assert_eq!(form["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    assert_eq!(form["client_id"], "client-1");
}

#[tokio::test]
async fn rejected_credential_becomes_an_arm_credential_error_without_secrets() {
    let (base, aad) = start(true).await;
    let env = CredentialEnv { client_secret: Some(Secret::from("wrong-secret")), ..Default::default() };
    let s = settings(CredentialKind::ClientSecret, &base);
    let c = ArmClient::new(&s, &[SUB1.to_string()], credential_with_env(&s, &env).unwrap()).unwrap();
    let e = c.get("/subscriptions/00000000-0000-0000-0000-000000000001", "2022-12-01").await.unwrap_err();
    let text = e.to_string();
    assert_eq!(e.metric_label(), "credential");
    assert!(text.contains("could not get an Azure access token") && text.contains("AADSTS7000215"), "{text}");
    assert!(!text.contains("wrong-secret") && !format!("{e:?}").contains("wrong-secret"), "{text}");
    assert!(aad.arm_auth.lock().unwrap().is_empty(), "no ARM request without a token");
}

#[test]
fn non_loopback_http_authority_is_refused() {
    let mut s = settings(CredentialKind::ClientSecret, "https://management.azure.com");
    s.authority_host = "http://login.example.com".into();
    let env = CredentialEnv { client_secret: Some(Secret::from("x")), ..Default::default() };
    let e = credential_with_env(&s, &env).unwrap_err().to_string();
    assert!(e.contains("must use https://"), "{e}");
}

#[cfg(unix)]
mod cli {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Writes an executable fake `az` that logs its arguments and prints `stdout` (exit `code`).
    fn fake_az(dir: &std::path::Path, stdout: &str, code: i32) -> std::path::PathBuf {
        let path = dir.join("az");
        let log = dir.join("args.log");
        let script = format!("#!/bin/sh\necho \"$@ TZ=$TZ\" >> '{}'\ncat <<'EOF'\n{stdout}\nEOF\nexit {code}\n", log.display());
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[tokio::test]
    async fn azure_cli_credential_runs_az_and_caches() {
        let dir = tempfile::tempdir().unwrap();
        let az = fake_az(dir.path(), r#"{"accessToken":"cli-token","expiresOn":"2099-01-01 00:00:00.000000","expires_on":4070908800}"#, 0);
        let mut s = settings(CredentialKind::AzureCli, "https://management.azure.com");
        s.cli_command = az.display().to_string();
        let credential = credential_with_env(&s, &CredentialEnv::default()).unwrap();
        let t = credential.get_token(&[ARM_SCOPE], None).await.unwrap();
        assert_eq!(t.token.secret(), "cli-token");
        assert_eq!(t.expires_on.unix_timestamp(), 4070908800);
        credential.get_token(&[ARM_SCOPE], None).await.unwrap();
        let log = std::fs::read_to_string(dir.path().join("args.log")).unwrap();
        assert_eq!(
            log.lines().collect::<Vec<_>>(),
            ["account get-access-token --output json --resource https://management.azure.com --tenant tenant-1 TZ=UTC"]
        );
    }

    #[tokio::test]
    async fn failing_az_says_to_log_in() {
        let dir = tempfile::tempdir().unwrap();
        let az = fake_az(dir.path(), "ERROR: Please run 'az login' to setup account.", 1);
        let mut s = settings(CredentialKind::AzureCli, "https://management.azure.com");
        s.cli_command = az.display().to_string();
        let credential = credential_with_env(&s, &CredentialEnv::default()).unwrap();
        let e = credential.get_token(&[ARM_SCOPE], None).await.unwrap_err().to_string();
        assert!(e.contains("Run `az login`"), "{e}");

        s.cli_command = dir.path().join("missing-az").display().to_string();
        let credential = credential_with_env(&s, &CredentialEnv::default()).unwrap();
        let e = credential.get_token(&[ARM_SCOPE], None).await.unwrap_err().to_string();
        assert!(e.contains("could not run") && e.contains("az login"), "{e}");
    }
}
