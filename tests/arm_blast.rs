//! Blast radius at the ARM client (issue 12, items 3, 5, 6, 7) over real loopback HTTP against the
//! scripted server: links from ARM into another subscription on the same host are refused unsent, real
//! signed LRO URLs in scope are followed unchanged, response bodies are capped while streaming,
//! redirects are not followed. (Clamped server waits: unit tests in `arm::headers`, `arm::lro`,
//! `arm::client`.)

mod arm_support;

use std::time::Duration;

use arm_support::*;
use fleetgate::arm::ArmError;
use serde_json::json;

/// A subscription outside the client's scope, on the same host.
const FOREIGN: &str = "00000000-0000-0000-0000-0000000000ff";

fn foreign(path: &str) -> String {
    path.replace(SUB1, FOREIGN)
}

/// Requests the server saw outside SUB1 (the graph path aside).
fn outside_scope(server: &Server) -> Vec<String> {
    let graph = "/providers/Microsoft.ResourceGraph/resources";
    server.seen().into_iter().map(|s| s.path).filter(|p| !p.starts_with(&format!("/subscriptions/{SUB1}")) && p != graph).collect()
}

#[tokio::test]
async fn next_link_into_a_foreign_subscription_on_the_same_host_is_refused_unsent() {
    let server = Server::start().await;
    let path = format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleAssignments");
    let next = server.url(&format!("{}?api-version=2022-04-01&$skiptoken=p2", foreign(&path)));
    server.on("GET", &path, vec![reply(200, json!({"value": [{"id": "a1"}], "nextLink": next}))]);
    server.on("GET", &foreign(&path), vec![reply(200, json!({"value": [{"id": "stolen"}]}))]);
    let e = client(&server).list(&path, "2022-04-01", None).await.unwrap_err();
    assert!(matches!(e, ArmError::OutOfScope { .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains(FOREIGN) && text.contains("scope.subscriptions") && !text.contains("skiptoken"), "{text}");
    assert_eq!(e.metric_label(), "out_of_scope");
    assert!(!e.is_retryable());
    assert_eq!(outside_scope(&server), Vec::<String>::new(), "no request outside the scope");
}

#[tokio::test]
async fn operation_urls_into_a_foreign_subscription_or_the_tenant_are_refused_unsent() {
    let op = format!("/subscriptions/{SUB1}/providers/Microsoft.ContainerService/locations/westeurope/operations/op1");
    let management_group = "/providers/Microsoft.Management/managementGroups/mg1/operations/op1".to_string();
    for (header, target) in [
        ("Azure-AsyncOperation", foreign(&op)),
        ("Location", foreign(&op)),
        ("Azure-AsyncOperation", management_group.clone()),
        ("Location", management_group),
    ] {
        let server = Server::start().await;
        let status = if header == "Location" { 202 } else { 201 };
        server.on("PUT", CLUSTER, vec![reply(status, json!({})).header(header, server.url(&format!("{target}?api-version=1")))]);
        server.on("GET", &target, vec![reply(200, json!({"status": "Succeeded"}))]);
        let c = client(&server);
        let first = c.put(CLUSTER, API, &json!({}), None).await.unwrap();
        let e = c.wait_for_lro(&first).await.unwrap_err();
        assert!(matches!(e, ArmError::OutOfScope { .. }), "{header} → {target}: {e}");
        assert_eq!(outside_scope(&server), Vec::<String>::new(), "{header} → {target}");
    }
}

#[tokio::test]
async fn built_paths_and_graph_queries_outside_the_scope_are_refused_unsent() {
    let server = Server::start().await;
    let c = client(&server);
    let e = c.get(&foreign(CLUSTER), API).await.unwrap_err();
    assert!(matches!(e, ArmError::OutOfScope { .. }), "{e}");
    let e =
        c.delete("/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/roleAssignments/x", "2022-04-01");
    assert!(matches!(e.await.unwrap_err(), ArmError::OutOfScope { .. }));
    let e = c.resource_graph(&[SUB1.to_string(), FOREIGN.to_string()], "resources | project id").await.unwrap_err();
    assert!(matches!(e, ArmError::OutOfScope { .. }) && e.to_string().contains(FOREIGN), "{e}");
    assert!(server.seen().is_empty(), "{:?}", server.seen().iter().map(|s| &s.path).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_real_signed_lro_url_in_scope_is_followed_unchanged() {
    let server = Server::start().await;
    // The shape AKS really sends: its own api-version and a signed query string (t, c, s, h).
    let op = format!(
        "/subscriptions/{SUB1}/providers/Microsoft.ContainerService/locations/westeurope/operations/9a6b1c2d-0e3f-4a5b-8c7d-6e5f4a3b2c1d"
    );
    let query =
        "api-version=2016-03-30&t=638712345678901234&c=MIIHADCCBuigAwIBAgITHgVxvWvK%2Bfz0OVYJQw&s=Xk9v%2FQ_aZ-1b2c3d&h=AbCdEf0123456789-_";
    server.on(
        "PUT",
        CLUSTER,
        vec![reply(200, json!({})).header("Azure-AsyncOperation", server.url(&format!("{op}?{query}"))).header("Retry-After", "0")],
    );
    server.on("GET", &op, vec![reply(200, json!({"status": "Succeeded"}))]);
    server.on("GET", CLUSTER, vec![reply(200, json!({"properties": {"provisioningState": "Succeeded"}}))]);
    let c = client(&server);
    let first = c.put(CLUSTER, API, &json!({}), None).await.unwrap();
    c.wait_for_lro(&first).await.unwrap();
    let polls: Vec<String> = server.seen().into_iter().filter(|s| s.path == op).map(|s| s.query).collect();
    assert_eq!(polls, [query], "followed with its query byte for byte");
}

#[tokio::test]
async fn an_announced_body_over_the_limit_is_refused_without_reading_it() {
    let server = Server::start().await;
    server.on("GET", CLUSTER, vec![reply(200, json!({"padding": "x".repeat(300_000)}))]);
    let mut s = settings(&server.base);
    s.max_response_bytes = 100_000;
    let e = client_with(&s).get(CLUSTER, API).await.unwrap_err();
    assert!(matches!(e, ArmError::ResponseTooLarge { limit: 100_000, .. }), "{e}");
    let text = e.to_string();
    assert!(text.contains(CLUSTER) && text.contains("100000 bytes") && text.contains("azure.max_response_bytes"), "{text}");
    assert!(!e.is_retryable());
    assert_eq!(server.count("GET", CLUSTER), 1, "fatal: not retried");
}

#[tokio::test]
async fn a_streamed_body_is_cut_at_the_limit() {
    let server = Server::start().await;
    let total = 64 * 1024 * 1024;
    server.on("GET", CLUSTER, vec![Reply { streamed: Some(total), ..reply(200, serde_json::Value::Null) }]);
    let mut s = settings(&server.base);
    s.max_response_bytes = 1024 * 1024;
    let e = client_with(&s).get(CLUSTER, API).await.unwrap_err();
    assert!(matches!(e, ArmError::ResponseTooLarge { .. }), "{e}");
    // Give the server a moment to notice the closed connection, then compare with what it produced.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let produced = server.script.streamed_bytes.load(std::sync::atomic::Ordering::Relaxed);
    assert!(produced < total / 4, "the client stopped reading early: the server produced {produced} of {total} bytes");
}

#[tokio::test]
async fn a_body_within_the_limit_is_read() {
    let server = Server::start().await;
    server.on("GET", CLUSTER, vec![reply(200, json!({"padding": "x".repeat(50_000)}))]);
    let mut s = settings(&server.base);
    s.max_response_bytes = 100_000;
    assert!(client_with(&s).get(CLUSTER, API).await.unwrap().is_some());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = Server::start().await;
    target.on("GET", CLUSTER, vec![reply(200, json!({"name": "stolen"}))]);
    let server = Server::start().await;
    server.on("GET", CLUSTER, vec![reply(307, json!({})).header("Location", target.url(CLUSTER))]);
    let e = client(&server).get(CLUSTER, API).await.unwrap_err();
    assert_eq!(e.status(), Some(307), "{e}");
    assert!(target.seen().is_empty(), "the redirect target got {:?}", target.seen().iter().map(|s| &s.path).collect::<Vec<_>>());
}

/// A client-secret credential whose (loopback) authority is `server`.
fn credential_for(server: &Server) -> std::sync::Arc<dyn azure_core::credentials::TokenCredential> {
    use fleetgate::arm::auth::{CredentialEnv, credential_with_env};
    let mut s = settings(&server.base);
    s.credential = fleetgate::config::CredentialKind::ClientSecret;
    s.authority_host = server.base.clone();
    s.tenant_id = "tenant-1".into();
    s.client_id = "client-1".into();
    let env = CredentialEnv { client_secret: Some(azure_core::credentials::Secret::from("sp-secret")), ..Default::default() };
    credential_with_env(&s, &env).unwrap()
}

const TOKEN_PATH: &str = "/tenant-1/oauth2/v2.0/token";
const ARM_SCOPE: &str = "https://management.azure.com/.default";

fn token_body() -> String {
    json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": "aad-token"}).to_string()
}

#[tokio::test]
async fn a_token_endpoint_redirect_is_not_followed() {
    let target = Server::start().await;
    target.on("POST", TOKEN_PATH, vec![Reply { body: token_body(), ..reply(200, serde_json::Value::Null) }]);
    let server = Server::start().await;
    server.on("POST", TOKEN_PATH, vec![reply(307, json!({})).header("Location", target.url(TOKEN_PATH))]);
    let e = credential_for(&server).get_token(&[ARM_SCOPE], None).await.unwrap_err();
    assert!(!e.to_string().contains("aad-token"), "{e}");
    assert!(target.seen().is_empty(), "the client secret went to the redirect target");
}

#[tokio::test]
async fn a_huge_token_response_is_refused_while_streaming() {
    let server = Server::start().await;
    // 64 MiB of whitespace before a valid token: JSON allows it, so only a size cap stops it.
    let total = 64 * 1024 * 1024;
    server.on("POST", TOKEN_PATH, vec![Reply { streamed: Some(total), body: token_body(), ..reply(200, serde_json::Value::Null) }]);
    let e = credential_for(&server).get_token(&[ARM_SCOPE], None).await.unwrap_err();
    let text = fleetgate::arm::auth::describe(&e);
    assert!(text.contains("larger than 1048576 bytes"), "{text}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let produced = server.script.streamed_bytes.load(std::sync::atomic::Ordering::Relaxed);
    assert!(produced < total / 4, "the credential stopped reading early: the server produced {produced} of {total} bytes");
}

#[tokio::test]
async fn a_normal_token_response_still_works() {
    let server = Server::start().await;
    server.on("POST", TOKEN_PATH, vec![Reply { streamed: Some(4096), body: token_body(), ..reply(200, serde_json::Value::Null) }]);
    let token = credential_for(&server).get_token(&[ARM_SCOPE], None).await.unwrap();
    assert_eq!(token.token.secret(), "aad-token");
}
