//! Credentials for ARM, chosen by `azure.credential`.
//!
//! | `azure.credential` | credential | needs |
//! |---|---|---|
//! | `workload_identity` | azure_identity `WorkloadIdentityCredential` | tenant, client ID, `AZURE_FEDERATED_TOKEN_FILE` |
//! | `managed_identity` | azure_identity `ManagedIdentityCredential` (App Service `IDENTITY_ENDPOINT` or IMDS) | client ID optional (user-assigned) |
//! | `client_secret` | azure_identity `ClientSecretCredential` | tenant, client ID, `AZURE_CLIENT_SECRET` |
//! | `azure_cli` | [`CliCredential`] (`az account get-access-token`) | `az login` done |
//! | `auto` | the first of: 1. workload identity when tenant, client ID and `AZURE_FEDERATED_TOKEN_FILE` are all present; 2. managed identity when `IDENTITY_ENDPOINT` is set; 3. otherwise IMDS managed identity (3 s probe) falling back to the Azure CLI, sticking to whichever works first | |
//!
//! The tenant, client ID and authority host come from `azure.tenant_id`, `azure.client_id`,
//! `azure.authority_host` when non-empty, else `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
//! `AZURE_AUTHORITY_HOST`, else (authority only) `https://login.microsoftonline.com`. An `http://`
//! authority is accepted only on a loopback host (the simulator): the credential is then configured for
//! the public cloud and a [`LoopbackTransport`] sends its requests to the loopback host.
//! Every credential is wrapped in [`CachedCredential`]; every azure_identity credential sends through
//! [`credential_http_client`] (no redirects followed, response bodies bounded).

mod cache;
mod chain;
mod cli;
mod http;
mod transport;

pub use cache::{CachedCredential, Clock, REFRESH_MARGIN};
pub use chain::{ChainCredential, Link};
pub use cli::{CliCredential, parse_cli_token};
pub use http::{BoundedClient, MAX_TOKEN_RESPONSE_BYTES, credential_http_client};
pub use transport::{LoopbackTransport, TransportError};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use url::Url;

use super::endpoint::is_loopback;
use super::error::ArmError;
use crate::config::{AzureSettings, CredentialKind};

mod plan;
pub use plan::{Authority, CredentialEnv, CredentialPlan, PUBLIC_AUTHORITY};

/// How long `auto` waits for IMDS before trying the Azure CLI.
const IMDS_PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The credential for `settings`, reading the process environment, wrapped in the token cache.
pub fn credential_from_settings(settings: &AzureSettings) -> Result<Arc<dyn TokenCredential>, ArmError> {
    credential_with_env(settings, &CredentialEnv::from_process())
}

/// The credential for `settings` and an explicit environment snapshot, wrapped in the token cache.
pub fn credential_with_env(settings: &AzureSettings, env: &CredentialEnv) -> Result<Arc<dyn TokenCredential>, ArmError> {
    let plan = CredentialPlan::resolve(settings, env)?;
    tracing::info!(credential = plan.describe(), "ARM credential selected");
    Ok(Arc::new(CachedCredential::new(build(&plan)?)))
}

/// Builds the credential a plan describes.
pub fn build(plan: &CredentialPlan) -> Result<Arc<dyn TokenCredential>, ArmError> {
    let setup = |what: &str, e: azure_core::Error| ArmError::Setup(format!("could not create the {what} credential: {}", describe(&e)));
    Ok(match plan {
        CredentialPlan::WorkloadIdentity { tenant_id, client_id, token_file, authority } => {
            let options = WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions { client_options: client_options(authority)? },
                client_id: Some(client_id.clone()),
                tenant_id: Some(tenant_id.clone()),
                token_file_path: Some(token_file.clone()),
            };
            WorkloadIdentityCredential::new(Some(options)).map_err(|e| setup("workload identity", e))?
        }
        CredentialPlan::ClientSecret { tenant_id, client_id, secret, authority } => {
            let options = ClientSecretCredentialOptions { client_options: client_options(authority)? };
            ClientSecretCredential::new(tenant_id, client_id.clone(), secret.clone(), Some(options))
                .map_err(|e| setup("client secret", e))?
        }
        CredentialPlan::ManagedIdentity { client_id } => managed_identity(client_id).map_err(|e| setup("managed identity", e))?,
        CredentialPlan::AzureCli { command, tenant_id } => {
            Arc::new(CliCredential::new(command, tenant_id.clone()).map_err(ArmError::Setup)?)
        }
        CredentialPlan::ImdsThenCli { client_id, command, tenant_id } => Arc::new(ChainCredential::new(vec![
            Link {
                name: "managed identity (IMDS)",
                credential: managed_identity(client_id).map_err(|e| setup("managed identity", e))?,
                probe_timeout: Some(IMDS_PROBE_TIMEOUT),
            },
            Link {
                name: "Azure CLI",
                credential: Arc::new(CliCredential::new(command, tenant_id.clone()).map_err(ArmError::Setup)?),
                probe_timeout: None,
            },
        ])),
    })
}

fn managed_identity(client_id: &Option<String>) -> azure_core::Result<Arc<dyn TokenCredential>> {
    let transport = credential_http_client().map_err(|m| azure_core::Error::with_message(azure_core::error::ErrorKind::Other, m))?;
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: client_id.clone().map(UserAssignedId::ClientId),
        client_options: ClientOptions { transport: Some(Transport::new(transport)), ..Default::default() },
    };
    Ok(ManagedIdentityCredential::new(Some(options))?)
}

/// Client options pointing azure_identity at `authority` (always explicit, so azure_identity never
/// reads `AZURE_AUTHORITY_HOST` itself).
fn client_options(authority: &Authority) -> Result<ClientOptions, ArmError> {
    let mut custom = CustomConfiguration::default();
    custom.authority_host = authority.https_host.clone();
    let http = credential_http_client().map_err(ArmError::Setup)?;
    let transport = match &authority.loopback {
        Some(base) => LoopbackTransport::with_client(base.as_str(), http).map_err(|e| ArmError::Setup(e.to_string()))?.into_transport(),
        None => Transport::new(http),
    };
    Ok(ClientOptions { cloud: Some(Arc::new(CloudConfiguration::Custom(custom))), transport: Some(transport), ..Default::default() })
}

/// A credential error and its causes as one line of text (azure_identity messages carry no secrets).
pub fn describe(e: &azure_core::Error) -> String {
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        cause = c.source();
    }
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.chars().take(800).collect()
}

/// True when `url` may be used over plain HTTP.
fn plain_http_allowed(url: &Url) -> bool {
    url.scheme() == "http" && is_loopback(url)
}

/// `Some(value)` unless empty.
fn non_empty(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// The process environment's value of `name`, unless empty.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().and_then(|v| non_empty(&v))
}

/// The credential kind as configured (for messages).
fn kind_name(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::Auto => "auto",
        CredentialKind::WorkloadIdentity => "workload_identity",
        CredentialKind::ManagedIdentity => "managed_identity",
        CredentialKind::ClientSecret => "client_secret",
        CredentialKind::AzureCli => "azure_cli",
    }
}

/// A token-file path from the environment.
fn path_var(name: &str) -> Option<PathBuf> {
    env_var(name).map(PathBuf::from)
}

/// The client secret from the environment.
fn secret_var(name: &str) -> Option<Secret> {
    std::env::var(name).ok().filter(|v| !v.is_empty()).map(Secret::from)
}
