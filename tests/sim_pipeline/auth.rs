//! Bearer auth on ARM paths.

use reqwest::{Method, StatusCode};

use crate::support::*;

#[tokio::test]
async fn arm_without_a_token_is_401_authentication_failed_with_a_challenge() {
    let sim = start().await;
    let res = client().get(format!("{}{}", sim.base_url(), read_path())).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let challenge = header(&res, "www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer authorization_uri="), "{challenge}");
    assert_eq!(error_code(res).await, "AuthenticationFailed");
}

#[tokio::test]
async fn arm_with_an_unknown_or_malformed_token_is_401() {
    let sim = start().await;
    let url = format!("{}{}", sim.base_url(), read_path());
    let res = client().get(&url).bearer_auth("made-up-token").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(header(&res, "www-authenticate").is_some());
    assert_eq!(error_code(res).await, "InvalidAuthenticationToken");
    let res = client().get(&url).header("authorization", "Basic dXNlcjpwdw==").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(res).await, "AuthenticationFailed");
}

#[tokio::test]
async fn a_token_for_another_audience_is_rejected() {
    let sim = start().await;
    let token = sim.issue_token("https://servicebus.azure.net");
    let res = client().get(format!("{}{}", sim.base_url(), read_path())).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(res).await, "InvalidAuthenticationTokenAudience");
}

#[tokio::test]
async fn an_issued_arm_token_passes_auth_on_arm_and_resource_graph() {
    let sim = start().await;
    let c = client();
    let res = arm(&sim, &c, Method::GET, &read_path()).send().await.unwrap();
    assert_ne!(res.status(), StatusCode::UNAUTHORIZED);
    let graph = arm(&sim, &c, Method::POST, "/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01")
        .json(&serde_json::json!({"subscriptions": [SUB], "query": "resources | project id"}))
        .send()
        .await
        .unwrap();
    assert_ne!(graph.status(), StatusCode::UNAUTHORIZED);
    let anonymous = c.post(format!("{}/providers/Microsoft.ResourceGraph/resources", sim.base_url())).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tokens_from_both_endpoints_are_accepted() {
    let sim = start().await;
    let c = client();
    let entra: serde_json::Value = post_form(
        &c,
        &format!("{}/{}/oauth2/v2.0/token", sim.base_url(), sim.tenant_id()),
        &[("grant_type", "client_credentials"), ("client_id", "app"), ("client_secret", "s"), ("scope", ARM_SCOPE)],
    )
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let msi: serde_json::Value = c
        .get(format!("{}/msi/token?api-version=2019-08-01&resource=https://management.azure.com", sim.base_url()))
        .header("x-identity-header", sim.identity_header())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for body in [entra, msi] {
        let token = body["access_token"].as_str().unwrap();
        let res = c.get(format!("{}{}", sim.base_url(), read_path())).bearer_auth(token).send().await.unwrap();
        assert_ne!(res.status(), StatusCode::UNAUTHORIZED, "token from {body}");
    }
}
