//! Choosing a credential (pure): settings + an environment snapshot → [`CredentialPlan`].

use std::fmt;
use std::path::PathBuf;

use azure_core::credentials::Secret;
use url::Url;

use super::{env_var, kind_name, non_empty, path_var, plain_http_allowed, secret_var};
use crate::arm::error::ArmError;
use crate::config::{AzureSettings, CredentialKind};

/// The public-cloud Entra authority.
pub const PUBLIC_AUTHORITY: &str = "https://login.microsoftonline.com";

/// The environment variables credentials read, captured once.
#[derive(Debug, Clone, Default)]
pub struct CredentialEnv {
    /// `AZURE_TENANT_ID`
    pub tenant_id: Option<String>,
    /// `AZURE_CLIENT_ID`
    pub client_id: Option<String>,
    /// `AZURE_CLIENT_SECRET` (Debug shows only `Secret`).
    pub client_secret: Option<Secret>,
    /// `AZURE_FEDERATED_TOKEN_FILE`
    pub federated_token_file: Option<PathBuf>,
    /// `AZURE_AUTHORITY_HOST`
    pub authority_host: Option<String>,
    /// `IDENTITY_ENDPOINT` (App Service / Container Apps managed identity).
    pub identity_endpoint: Option<String>,
}

impl CredentialEnv {
    /// Reads the process environment.
    pub fn from_process() -> Self {
        Self {
            tenant_id: env_var("AZURE_TENANT_ID"),
            client_id: env_var("AZURE_CLIENT_ID"),
            client_secret: secret_var("AZURE_CLIENT_SECRET"),
            federated_token_file: path_var("AZURE_FEDERATED_TOKEN_FILE"),
            authority_host: env_var("AZURE_AUTHORITY_HOST"),
            identity_endpoint: env_var("IDENTITY_ENDPOINT"),
        }
    }
}

/// Where Entra tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority {
    /// The https authority azure_identity is configured with.
    pub https_host: String,
    /// For an `http://` loopback authority: where requests are really sent.
    pub loopback: Option<Url>,
}

impl Authority {
    /// `azure.authority_host` if non-empty, else `AZURE_AUTHORITY_HOST`, else the public cloud.
    pub fn resolve(configured: &str, env: Option<&str>) -> Result<Self, ArmError> {
        let text = non_empty(configured).or_else(|| env.and_then(non_empty)).unwrap_or_else(|| PUBLIC_AUTHORITY.to_string());
        let url = Url::parse(&text)
            .map_err(|e| ArmError::Setup(format!("authority host {text:?} is not a URL ({e}); set azure.authority_host")))?;
        match url.scheme() {
            "https" => Ok(Self { https_host: text, loopback: None }),
            _ if plain_http_allowed(&url) => Ok(Self { https_host: PUBLIC_AUTHORITY.to_string(), loopback: Some(url) }),
            _ => Err(ArmError::Setup(format!("authority host {text:?} must use https:// (plain http:// only for a loopback host)"))),
        }
    }
}

/// A chosen credential and its inputs.
#[derive(Clone)]
pub enum CredentialPlan {
    /// Kubernetes workload identity.
    WorkloadIdentity {
        /// Tenant.
        tenant_id: String,
        /// Client ID of the federated identity.
        client_id: String,
        /// The projected service-account token.
        token_file: PathBuf,
        /// Entra authority.
        authority: Authority,
    },
    /// Service principal with a secret.
    ClientSecret {
        /// Tenant.
        tenant_id: String,
        /// Application ID.
        client_id: String,
        /// The secret (never printed).
        secret: Secret,
        /// Entra authority.
        authority: Authority,
    },
    /// Managed identity (`IDENTITY_ENDPOINT` or IMDS); `client_id` selects a user-assigned one.
    ManagedIdentity {
        /// User-assigned identity client ID.
        client_id: Option<String>,
    },
    /// The Azure CLI.
    AzureCli {
        /// `azure.cli_command`.
        command: String,
        /// Tenant passed as `--tenant`.
        tenant_id: Option<String>,
    },
    /// `auto` without workload identity or `IDENTITY_ENDPOINT`: IMDS, then the Azure CLI.
    ImdsThenCli {
        /// User-assigned identity client ID.
        client_id: Option<String>,
        /// `azure.cli_command`.
        command: String,
        /// Tenant passed as `--tenant`.
        tenant_id: Option<String>,
    },
}

impl fmt::Debug for CredentialPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

impl CredentialPlan {
    /// Chooses the credential for `settings` and `env` (see the module table).
    pub fn resolve(settings: &AzureSettings, env: &CredentialEnv) -> Result<Self, ArmError> {
        let tenant_id = non_empty(&settings.tenant_id).or_else(|| env.tenant_id.clone());
        let client_id = non_empty(&settings.client_id).or_else(|| env.client_id.clone());
        let kind = settings.credential;
        let missing = |what: &str| ArmError::Setup(format!("azure.credential = \"{}\" needs {what}, which is not set", kind_name(kind)));
        let authority = || Authority::resolve(&settings.authority_host, env.authority_host.as_deref());
        let workload = || -> Result<Self, ArmError> {
            Ok(CredentialPlan::WorkloadIdentity {
                tenant_id: tenant_id.clone().ok_or_else(|| missing("a tenant (azure.tenant_id or AZURE_TENANT_ID)"))?,
                client_id: client_id.clone().ok_or_else(|| missing("a client ID (azure.client_id or AZURE_CLIENT_ID)"))?,
                token_file: env.federated_token_file.clone().ok_or_else(|| {
                    missing("AZURE_FEDERATED_TOKEN_FILE (injected by the AKS workload identity webhook when the pod is labelled azure.workload.identity/use: \"true\")")
                })?,
                authority: authority()?,
            })
        };
        let cli = || CredentialPlan::AzureCli { command: settings.cli_command.clone(), tenant_id: tenant_id.clone() };
        match kind {
            CredentialKind::WorkloadIdentity => workload(),
            CredentialKind::ManagedIdentity => Ok(CredentialPlan::ManagedIdentity { client_id: client_id.clone() }),
            CredentialKind::ClientSecret => Ok(CredentialPlan::ClientSecret {
                tenant_id: tenant_id.clone().ok_or_else(|| missing("a tenant (azure.tenant_id or AZURE_TENANT_ID)"))?,
                client_id: client_id.clone().ok_or_else(|| missing("a client ID (azure.client_id or AZURE_CLIENT_ID)"))?,
                secret: env.client_secret.clone().ok_or_else(|| missing("AZURE_CLIENT_SECRET"))?,
                authority: authority()?,
            }),
            CredentialKind::AzureCli => Ok(cli()),
            CredentialKind::Auto if tenant_id.is_some() && client_id.is_some() && env.federated_token_file.is_some() => workload(),
            CredentialKind::Auto if env.identity_endpoint.is_some() => Ok(CredentialPlan::ManagedIdentity { client_id: client_id.clone() }),
            CredentialKind::Auto => Ok(CredentialPlan::ImdsThenCli {
                client_id: client_id.clone(),
                command: settings.cli_command.clone(),
                tenant_id: tenant_id.clone(),
            }),
        }
    }

    /// A short description for logs and `fleetgate doctor` (no secrets).
    pub fn describe(&self) -> &'static str {
        match self {
            CredentialPlan::WorkloadIdentity { .. } => "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
            CredentialPlan::ClientSecret { .. } => "service principal with AZURE_CLIENT_SECRET",
            CredentialPlan::ManagedIdentity { .. } => "managed identity",
            CredentialPlan::AzureCli { .. } => "Azure CLI (az account get-access-token)",
            CredentialPlan::ImdsThenCli { .. } => "managed identity via IMDS, else the Azure CLI",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(kind: CredentialKind) -> AzureSettings {
        let mut s = crate::config::load(&crate::config::ConfigSource { file: None, env: Some(Default::default()) }).unwrap().azure;
        s.credential = kind;
        s
    }

    fn wi_env() -> CredentialEnv {
        CredentialEnv {
            tenant_id: Some("env-tenant".into()),
            client_id: Some("env-client".into()),
            federated_token_file: Some("/var/run/secrets/azure/tokens/azure-identity-token".into()),
            ..Default::default()
        }
    }

    #[test]
    fn auto_prefers_workload_identity() {
        let p = CredentialPlan::resolve(&settings(CredentialKind::Auto), &wi_env()).unwrap();
        let CredentialPlan::WorkloadIdentity { tenant_id, client_id, authority, .. } = p else { panic!("{p:?}") };
        assert_eq!((tenant_id.as_str(), client_id.as_str()), ("env-tenant", "env-client"));
        assert_eq!(authority, Authority { https_host: PUBLIC_AUTHORITY.into(), loopback: None });
    }

    #[test]
    fn config_keys_win_over_environment() {
        let mut s = settings(CredentialKind::Auto);
        s.tenant_id = "cfg-tenant".into();
        s.client_id = "cfg-client".into();
        s.authority_host = "https://login.microsoftonline.us".into();
        let env = CredentialEnv { authority_host: Some("https://login.chinacloudapi.cn".into()), ..wi_env() };
        let CredentialPlan::WorkloadIdentity { tenant_id, client_id, authority, .. } = CredentialPlan::resolve(&s, &env).unwrap() else {
            panic!()
        };
        assert_eq!((tenant_id.as_str(), client_id.as_str()), ("cfg-tenant", "cfg-client"));
        assert_eq!(authority.https_host, "https://login.microsoftonline.us");
    }

    #[test]
    fn auto_then_identity_endpoint_then_imds_and_cli() {
        let env = CredentialEnv {
            identity_endpoint: Some("http://127.0.0.1:1/msi/token".into()),
            client_id: Some("c".into()),
            ..Default::default()
        };
        let p = CredentialPlan::resolve(&settings(CredentialKind::Auto), &env).unwrap();
        assert!(matches!(p, CredentialPlan::ManagedIdentity { client_id: Some(ref c) } if c == "c"), "{p:?}");
        // A token file without a tenant is not workload identity.
        let env = CredentialEnv { federated_token_file: Some("/t".into()), ..Default::default() };
        let p = CredentialPlan::resolve(&settings(CredentialKind::Auto), &env).unwrap();
        assert!(matches!(p, CredentialPlan::ImdsThenCli { ref command, .. } if command == "az"), "{p:?}");
    }

    #[test]
    fn explicit_kinds_name_what_is_missing() {
        let e = CredentialPlan::resolve(&settings(CredentialKind::WorkloadIdentity), &CredentialEnv::default()).unwrap_err().to_string();
        assert!(e.contains("workload_identity") && e.contains("AZURE_TENANT_ID"), "{e}");
        let env = CredentialEnv { federated_token_file: None, ..wi_env() };
        let e = CredentialPlan::resolve(&settings(CredentialKind::WorkloadIdentity), &env).unwrap_err().to_string();
        assert!(e.contains("AZURE_FEDERATED_TOKEN_FILE"), "{e}");
        let env = CredentialEnv { tenant_id: Some("t".into()), client_id: Some("c".into()), ..Default::default() };
        let e = CredentialPlan::resolve(&settings(CredentialKind::ClientSecret), &env).unwrap_err().to_string();
        assert!(e.contains("AZURE_CLIENT_SECRET"), "{e}");
        assert!(matches!(
            CredentialPlan::resolve(&settings(CredentialKind::ManagedIdentity), &CredentialEnv::default()).unwrap(),
            CredentialPlan::ManagedIdentity { client_id: None }
        ));
        assert!(matches!(CredentialPlan::resolve(&settings(CredentialKind::AzureCli), &env).unwrap(), CredentialPlan::AzureCli { .. }));
    }

    #[test]
    fn client_secret_plan_never_prints_the_secret() {
        let env = CredentialEnv { client_secret: Some(Secret::from("s3cr3t-value")), ..wi_env() };
        let p = CredentialPlan::resolve(&settings(CredentialKind::ClientSecret), &env).unwrap();
        assert!(!format!("{p:?} {env:?}").contains("s3cr3t-value"));
    }

    #[test]
    fn authorities() {
        assert_eq!(Authority::resolve("", None).unwrap().https_host, PUBLIC_AUTHORITY);
        let a = Authority::resolve("", Some("http://127.0.0.1:5000")).unwrap();
        assert_eq!(a.https_host, PUBLIC_AUTHORITY);
        assert_eq!(a.loopback.unwrap().as_str(), "http://127.0.0.1:5000/");
        assert!(Authority::resolve("http://login.example.com", None).is_err());
        assert!(Authority::resolve("", Some("http://10.0.0.1")).is_err());
        assert!(Authority::resolve("nope", None).is_err());
    }
}
