//! The real azure_identity 1.0 `ManagedIdentityCredential` against the simulator, selected the way it is in
//! App Service / Container Apps: `IDENTITY_ENDPOINT=http://127.0.0.1:PORT/msi/token` and `IDENTITY_HEADER`.
//! No custom transport is involved: azure_identity accepts a plain-HTTP `IDENTITY_ENDPOINT`.
//!
//! Environment variables are process-global, so this file holds a single test and runs in its own process.

use azure_core::credentials::TokenCredential;
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};
use fleetgate::sim::{Fleet, Simulator};
use reqwest::StatusCode;

const ARM_SCOPE: &str = "https://management.azure.com/.default";

#[tokio::test]
async fn managed_identity_credential_gets_a_token_arm_accepts() {
    let sim = Simulator::start(Fleet::default(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    // SAFETY: the only test in this process; nothing else reads the environment concurrently.
    unsafe {
        std::env::set_var("IDENTITY_ENDPOINT", format!("{}/msi/token", sim.base_url()));
        std::env::set_var("IDENTITY_HEADER", sim.identity_header());
    }

    let system_assigned = ManagedIdentityCredential::new(None).unwrap();
    let token = system_assigned.get_token(&[ARM_SCOPE], None).await.unwrap();
    let url = format!("{}/subscriptions/00000000-0000-0000-0000-0000000000aa/resourcegroups?api-version=2021-04-01", sim.base_url());
    let status = reqwest::Client::new().get(&url).bearer_auth(token.token.secret()).send().await.unwrap().status();
    assert_ne!(status, StatusCode::UNAUTHORIZED);

    let user_assigned = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
        user_assigned_id: Some(UserAssignedId::ClientId("5e1f0000-0000-4000-8000-0000000000ab".into())),
        ..Default::default()
    }))
    .unwrap();
    user_assigned.get_token(&[ARM_SCOPE], None).await.unwrap();
    let msi_calls: Vec<_> = sim.journal().into_iter().filter(|e| e.path == "/msi/token").collect();
    assert_eq!(msi_calls.len(), 2);
    assert!(msi_calls.iter().all(|e| e.status == 200 && e.query.contains("api-version=2019-08-01")), "{msi_calls:?}");
    assert!(msi_calls[1].query.contains("client_id=5e1f0000-0000-4000-8000-0000000000ab"));

    // SAFETY: as above.
    unsafe { std::env::set_var("IDENTITY_HEADER", "wrong") };
    let wrong_header = ManagedIdentityCredential::new(None).unwrap();
    wrong_header.get_token(&[ARM_SCOPE], None).await.expect_err("a wrong IDENTITY_HEADER must not yield a token");
    assert_eq!(sim.journal().last().unwrap().status, 401);
}
