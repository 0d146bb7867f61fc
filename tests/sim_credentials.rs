//! The real azure_identity 1.0 credentials against the simulator's Entra endpoint.
//!
//! Credential paths exercised (see also `tests/sim_managed_identity.rs`):
//! - `ClientSecretCredential` with `client_options.transport` = `LoopbackTransport` (azure_identity refuses a
//!   plain-HTTP authority host, so its `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` request is
//!   redirected to the simulator): the `client_secret` grant, accepted and (with `sim.client_secret` set) rejected.
//! - `WorkloadIdentityCredential` with the same transport and a token file: the `client_assertion` grant
//!   (`client_assertion_type=…jwt-bearer`), exactly what runs in an AKS pod with workload identity.
//!
//! Each token obtained is then used as a bearer on an ARM path and must pass the simulator's auth.

use std::io::Write;
use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, RetryOptions};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};
use fleetgate::sim::{Fleet, LoopbackTransport, SimHandle, SimOptions, Simulator};
use reqwest::StatusCode;

const ARM_SCOPE: &str = "https://management.azure.com/.default";
const CLIENT_ID: &str = "3b1c8a52-0000-4000-8000-00000000c1d0";

// `Fleet` gains fields on another branch; assigning `sim` keeps this valid either way.
#[allow(clippy::field_reassign_with_default)]
async fn start(options: SimOptions) -> SimHandle {
    let mut fleet = Fleet::default();
    fleet.sim = options;
    Simulator::start(fleet, "127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn client_options(sim: &SimHandle) -> ClientOptions {
    let transport = LoopbackTransport::new(&sim.base_url()).unwrap();
    ClientOptions { transport: Some(transport.into_transport()), retry: RetryOptions::none(), ..Default::default() }
}

/// Status of an ARM read with `token` as the bearer.
async fn arm_status(sim: &SimHandle, token: &str) -> StatusCode {
    let url = format!("{}/subscriptions/00000000-0000-0000-0000-0000000000aa/resourcegroups?api-version=2021-04-01", sim.base_url());
    reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap().status()
}

fn token_calls(sim: &SimHandle) -> Vec<(String, u16)> {
    sim.journal().into_iter().filter(|e| e.is_token_call()).map(|e| (e.path, e.status)).collect()
}

#[tokio::test]
async fn client_secret_credential_gets_a_token_arm_accepts() {
    let sim = start(SimOptions { client_secret: Some("s3cret-value".into()), ..SimOptions::default() }).await;
    let options = ClientSecretCredentialOptions { client_options: client_options(&sim) };
    let credential = ClientSecretCredential::new(sim.tenant_id(), CLIENT_ID.into(), Secret::new("s3cret-value"), Some(options)).unwrap();
    let token = credential.get_token(&[ARM_SCOPE], None).await.unwrap();
    assert!(token.expires_on > azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::minutes(50));
    assert_ne!(arm_status(&sim, token.token.secret()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(token_calls(&sim), [(format!("/{}/oauth2/v2.0/token", sim.tenant_id()), 200)]);
}

#[tokio::test]
async fn client_secret_credential_with_the_wrong_secret_fails() {
    let sim = start(SimOptions { client_secret: Some("s3cret-value".into()), ..SimOptions::default() }).await;
    let options = ClientSecretCredentialOptions { client_options: client_options(&sim) };
    let credential = ClientSecretCredential::new(sim.tenant_id(), CLIENT_ID.into(), Secret::new("not-it"), Some(options)).unwrap();
    let err = credential.get_token(&[ARM_SCOPE], None).await.expect_err("a wrong secret must not yield a token");
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    assert_eq!(token_calls(&sim)[0].1, 401);
}

#[tokio::test]
async fn workload_identity_credential_gets_a_token_arm_accepts() {
    let sim = start(SimOptions::default()).await;
    let mut token_file = tempfile::NamedTempFile::new().unwrap();
    // A projected service-account token is a JWT; the simulator checks the shape, not the signature.
    write!(token_file, "eyJhbGciOiJSUzI1NiIsImtpZCI6InNpbSJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZmxlZXRnYXRlIn0.c2lnbmF0dXJl")
        .unwrap();
    let options = WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions { client_options: client_options(&sim) },
        client_id: Some(CLIENT_ID.into()),
        tenant_id: Some(sim.tenant_id().into()),
        token_file_path: Some(token_file.path().to_path_buf()),
    };
    let credential: Arc<dyn TokenCredential> = WorkloadIdentityCredential::new(Some(options)).unwrap();
    let token = credential.get_token(&[ARM_SCOPE], None).await.unwrap();
    assert_ne!(arm_status(&sim, token.token.secret()).await, StatusCode::UNAUTHORIZED);
    let calls = token_calls(&sim);
    assert_eq!(calls, [(format!("/{}/oauth2/v2.0/token", sim.tenant_id()), 200)]);
    assert!(sim.journal().iter().all(|e| e.request_body.is_none() || !e.is_token_call()), "assertions are not journaled");
}

#[tokio::test]
async fn workload_identity_with_a_non_jwt_token_file_fails() {
    let sim = start(SimOptions::default()).await;
    let mut token_file = tempfile::NamedTempFile::new().unwrap();
    write!(token_file, "not a jwt").unwrap();
    let options = WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions { client_options: client_options(&sim) },
        client_id: Some(CLIENT_ID.into()),
        tenant_id: Some(sim.tenant_id().into()),
        token_file_path: Some(token_file.path().to_path_buf()),
    };
    let credential = WorkloadIdentityCredential::new(Some(options)).unwrap();
    let err = credential.get_token(&[ARM_SCOPE], None).await.expect_err("a malformed assertion must not yield a token");
    assert!(err.to_string().contains("AADSTS50027"), "{err}");
}
