//! The Entra and managed-identity token endpoints.

use fleetgate::sim::SimOptions;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::*;

const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

async fn post_token(sim: &fleetgate::sim::SimHandle, tenant: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = post_form(&client(), &format!("{}/{tenant}/oauth2/v2.0/token", sim.base_url()), form).send().await.unwrap();
    (res.status(), res.json().await.unwrap())
}

#[tokio::test]
async fn client_secret_grant_answers_in_the_entra_shape() {
    let sim = start().await;
    let form = [("client_id", "app"), ("client_secret", "anything"), ("grant_type", "client_credentials"), ("scope", ARM_SCOPE)];
    let (status, body) = post_token(&sim, sim.tenant_id(), &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(body["access_token"].as_str().is_some_and(|t| t.len() > 32));
}

#[tokio::test]
async fn wrong_secret_is_invalid_client_7000215() {
    let sim = start_with(SimOptions { client_secret: Some("right".into()), ..SimOptions::default() }).await;
    let tenant = sim.tenant_id().to_string();
    let mut form = vec![("client_id", "app"), ("client_secret", "wrong"), ("grant_type", "client_credentials"), ("scope", ARM_SCOPE)];
    let (status, body) = post_token(&sim, &tenant, &form).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"][0], 7000215);
    assert!(body["error_description"].as_str().unwrap().starts_with("AADSTS7000215: "));
    assert!(!body.to_string().contains("wrong"), "the secret must not be echoed: {body}");
    form[1] = ("client_secret", "right");
    assert_eq!(post_token(&sim, &tenant, &form).await.0, StatusCode::OK);
}

#[tokio::test]
async fn client_assertion_grant_needs_the_jwt_bearer_type_and_a_jwt() {
    let sim = start().await;
    let tenant = sim.tenant_id().to_string();
    let mut form = vec![
        ("client_assertion", JWT),
        ("client_assertion_type", JWT_BEARER),
        ("client_id", "app"),
        ("grant_type", "client_credentials"),
        ("scope", ARM_SCOPE),
    ];
    let (status, body) = post_token(&sim, &tenant, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
    form[1] = ("client_assertion_type", "urn:something:else");
    let (status, body) = post_token(&sim, &tenant, &form).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
    form[1] = ("client_assertion_type", JWT_BEARER);
    form[0] = ("client_assertion", "not-a-jwt");
    assert_eq!(post_token(&sim, &tenant, &form).await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_token_requests_fail_like_entra() {
    let sim = start().await;
    let tenant = sim.tenant_id().to_string();
    let ok = [("client_id", "app"), ("client_secret", "s"), ("grant_type", "client_credentials"), ("scope", ARM_SCOPE)];
    let (status, body) = post_token(&sim, "some-other-tenant", &ok).await;
    assert_eq!((status, body["error_codes"][0].as_u64()), (StatusCode::BAD_REQUEST, Some(90002)));
    let no_default =
        [("client_id", "app"), ("client_secret", "s"), ("grant_type", "client_credentials"), ("scope", "https://management.azure.com")];
    let (status, body) = post_token(&sim, &tenant, &no_default).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")));
    let no_credential = [("client_id", "app"), ("grant_type", "client_credentials"), ("scope", ARM_SCOPE)];
    let (status, body) = post_token(&sim, &tenant, &no_credential).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let password = [("client_id", "app"), ("grant_type", "password"), ("scope", ARM_SCOPE)];
    let (status, body) = post_token(&sim, &tenant, &password).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_grant_type")));
}

#[tokio::test]
async fn managed_identity_endpoint_needs_the_identity_header() {
    let sim = start().await;
    let url = format!("{}/msi/token?api-version=2019-08-01&resource=https://management.azure.com&client_id=abc", sim.base_url());
    let res = client().get(&url).header("x-identity-header", sim.identity_header()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    let expires_on: u64 = body["expires_on"].as_str().expect("expires_on is a string").parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!((now + 3500..=now + 3600).contains(&expires_on), "{expires_on} vs {now}");
    assert_eq!(body["resource"], "https://management.azure.com");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["client_id"], "abc");
    assert!(body["access_token"].is_string());

    let missing = client().get(&url).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    let wrong = client().get(&url).header("x-identity-header", "nope").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let old_api = url.replace("2019-08-01", "2017-09-01");
    let res = client().get(old_api).header("x-identity-header", sim.identity_header()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}
