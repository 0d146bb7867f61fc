//! Layering and validation.

use std::collections::HashMap;
use std::path::PathBuf;

use config::{Config, Environment, File, FileFormat};

use super::Settings;
use crate::id::is_guid;

/// The compiled-in defaults.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Environment prefix: `FLEETGATE__SECTION__KEY`.
const ENV_PREFIX: &str = "FLEETGATE";

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: &[&str] = &["scope.subscriptions", "gating.extra_registries"];

/// Where the layers come from. Tests pass an explicit environment instead of the process's.
#[derive(Debug, Default, Clone)]
pub struct ConfigSource {
    /// `--config PATH` or `FLEETGATE_CONFIG`.
    pub file: Option<PathBuf>,
    /// `None` = the process environment.
    pub env: Option<HashMap<String, String>>,
}

impl ConfigSource {
    /// The file from `--config`, else from `FLEETGATE_CONFIG`, and the process environment.
    pub fn from_process(cli_file: Option<PathBuf>) -> Self {
        let file = cli_file.or_else(|| std::env::var_os("FLEETGATE_CONFIG").filter(|v| !v.is_empty()).map(PathBuf::from));
        Self { file, env: None }
    }
}

/// A configuration that cannot be used. The message names the key, the value and the expected form.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or parsed, or a value had the wrong type.
    #[error(
        "configuration error: {0}. Fix the key in the file or the FLEETGATE__SECTION__KEY variable; `fleetgate config show` prints the effective configuration"
    )]
    Parse(String),
    /// `--config PATH` / `FLEETGATE_CONFIG` names a file that does not exist.
    #[error(
        "configuration error: file not found: {path} (given with --config or FLEETGATE_CONFIG); check the path, or drop the option to run on the built-in defaults and FLEETGATE__SECTION__KEY variables"
    )]
    FileNotFound {
        /// The path as given.
        path: String,
    },
    /// A value parsed but is not acceptable.
    #[error("configuration error: key `{key}` has value {value:?}; expected {expected}")]
    Invalid {
        /// Dotted key, e.g. `azure.resource_manager_endpoint`.
        key: String,
        /// The rejected value (never a secret: secrets are not configuration keys).
        value: String,
        /// The accepted form.
        expected: String,
    },
}

/// Loads, layers, deserializes and validates the configuration.
pub fn load(source: &ConfigSource) -> Result<Settings, ConfigError> {
    let mut builder = Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
    if let Some(path) = &source.file {
        if !path.exists() {
            return Err(ConfigError::FileNotFound { path: path.display().to_string() });
        }
        builder = builder.add_source(File::from(path.as_path()).required(true));
    }
    let mut env = Environment::with_prefix(ENV_PREFIX).prefix_separator("__").separator("__").list_separator(",").try_parsing(true);
    for key in LIST_KEYS {
        env = env.with_list_parse_key(key);
    }
    if let Some(vars) = &source.env {
        env = env.source(Some(vars.clone().into_iter().collect()));
    }
    let raw = builder.add_source(env).build().map_err(parse_error)?;
    let settings: Settings = raw.try_deserialize().map_err(parse_error)?;
    validate(&settings)?;
    super::limits::check(&settings, source)?;
    Ok(settings)
}

/// Shown with every duration a value could not be read as.
pub const DURATION_EXAMPLES: &str = "durations are strings such as \"30s\", \"6h\", \"500ms\" or \"1h 30m\"";

/// A parse error, with duration examples when the value should have been a duration.
fn parse_error(e: config::ConfigError) -> ConfigError {
    let message = e.to_string();
    if message.contains("a duration") {
        ConfigError::Parse(format!("{message} ({DURATION_EXAMPLES})"))
    } else {
        ConfigError::Parse(message)
    }
}

/// Upper bound of `gating.unchanged_cluster_ttl`: past it, drift outside the cluster document would go
/// unnoticed by events for too long.
const MAX_UNCHANGED_CLUSTER_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

fn invalid(key: &str, value: impl Into<String>, expected: &str) -> ConfigError {
    ConfigError::Invalid { key: key.to_string(), value: value.into(), expected: expected.to_string() }
}

fn validate(s: &Settings) -> Result<(), ConfigError> {
    check_endpoint("azure.resource_manager_endpoint", &s.azure.resource_manager_endpoint, false)?;
    check_endpoint("azure.authority_host", &s.azure.authority_host, true)?;
    for sub in &s.scope.subscriptions {
        if !is_guid(sub) {
            return Err(invalid("scope.subscriptions", sub, "subscription IDs as GUIDs (comma-separated in the environment)"));
        }
    }
    if !s.gating.identity_name.contains("{cluster}") && s.gating.identity_name.is_empty() {
        return Err(invalid("gating.identity_name", "", "a name template such as \"{cluster}-defender-gating\""));
    }
    if parse_major_minor(&s.gating.min_kubernetes_version).is_none() {
        return Err(invalid("gating.min_kubernetes_version", &s.gating.min_kubernetes_version, "a version such as \"1.31\""));
    }
    check_endpoint("queue.endpoint", &s.queue.endpoint, true)?;
    if s.queue.max_concurrency == 0 {
        return Err(invalid("queue.max_concurrency", "0", "an integer of at least 1"));
    }
    if s.health.listen.parse::<std::net::SocketAddr>().is_err() {
        return Err(invalid("health.listen", &s.health.listen, "an address such as 0.0.0.0:8080"));
    }
    if s.backfill.concurrency == 0 || s.backfill.write_rate == 0 || s.backfill.read_rate == 0 {
        return Err(invalid("backfill", "0", "concurrency, read_rate and write_rate of at least 1"));
    }
    if s.gating.unchanged_cluster_ttl > MAX_UNCHANGED_CLUSTER_TTL {
        let value = format!("{}s", s.gating.unchanged_cluster_ttl.as_secs());
        return Err(invalid("gating.unchanged_cluster_ttl", value, "a duration from \"0s\" (memo off) to \"1h\", such as \"60s\""));
    }
    check_api_versions(s)?;
    if s.azure.retry.max_attempts == 0 {
        return Err(invalid("azure.retry.max_attempts", "0", "an integer of at least 1"));
    }
    Ok(())
}

/// `azure.api_versions.managed_clusters` must carry `securityGating` (see [`crate::core::api_versions`]):
/// a known version without it is refused here, before any request.
fn check_api_versions(s: &Settings) -> Result<(), ConfigError> {
    let version = &s.azure.api_versions.managed_clusters;
    match crate::core::api_versions::check_managed_clusters(version) {
        Ok(_) => Ok(()),
        Err(e) => Err(invalid("azure.api_versions.managed_clusters", version, &format!("a version that carries securityGating: {e}"))),
    }
}

/// Accepts `https://host[:port][/]`, or `http://` for loopback hosts only. Empty is allowed when `optional`.
pub fn check_endpoint(key: &str, value: &str, optional: bool) -> Result<(), ConfigError> {
    if value.is_empty() && optional {
        return Ok(());
    }
    let expected = "an https:// URL without credentials, query or fragment (http:// only for 127.0.0.1, [::1] or localhost)";
    let url = url::Url::parse(value).map_err(|_| invalid(key, value, expected))?;
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(key, redact_userinfo(&url), expected));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        _ => Err(invalid(key, value, expected)),
    }
}

/// The URL with any user-info replaced, so a password never reaches an error message.
fn redact_userinfo(url: &url::Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        let _ = shown.set_username("redacted");
        let _ = shown.set_password(None);
    }
    shown.to_string()
}

/// True when the URL's host is a loopback address or `localhost`.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `"1.31"` or `"1.31.2"` → `(1, 31)`.
pub fn parse_major_minor(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.trim().trim_start_matches('v').split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CredentialKind, IdentityStrategy};

    const SUB1: &str = "00000000-0000-0000-0000-000000000001";
    const SUB2: &str = "00000000-0000-0000-0000-000000000002";

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    #[test]
    fn defaults_load_without_file_or_env() {
        let s = load(&ConfigSource { file: None, env: env(&[]) }).unwrap();
        assert_eq!(s.azure.resource_manager_endpoint, "https://management.azure.com");
        assert_eq!(s.azure.credential, CredentialKind::Auto);
        assert_eq!(s.gating.identity_strategy, IdentityStrategy::Dedicated);
        assert_eq!(s.gating.manage_defender_plan, crate::config::DefenderPlanMode::Extensions);
        assert!(!s.gating.enable_prerequisites);
        assert_eq!(s.scope.exclude_tag, "fleetgate.io/exclude");
    }

    #[test]
    fn file_overrides_default_and_env_overrides_file() {
        let f = file(&format!(
            "[azure]\ncredential = \"client_secret\"\n[scope]\nsubscriptions = [\"{SUB1}\"]\n[gating]\nidentity_name = \"from-file\"\n"
        ));
        let only_file = load(&ConfigSource { file: Some(f.path().into()), env: env(&[]) }).unwrap();
        assert_eq!(only_file.azure.credential, CredentialKind::ClientSecret);
        assert_eq!(only_file.gating.identity_name, "from-file");
        let with_env = load(&ConfigSource {
            file: Some(f.path().into()),
            env: env(&[("FLEETGATE__AZURE__CREDENTIAL", "azure_cli"), ("FLEETGATE__SCOPE__SUBSCRIPTIONS", &format!("{SUB1},{SUB2}"))]),
        })
        .unwrap();
        assert_eq!(with_env.azure.credential, CredentialKind::AzureCli);
        assert_eq!(with_env.scope.subscriptions, vec![SUB1.to_string(), SUB2.to_string()]);
        assert_eq!(with_env.gating.identity_name, "from-file", "env must not reset keys it does not name");
    }

    #[test]
    fn single_element_env_list_is_a_list() {
        let s = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__SCOPE__SUBSCRIPTIONS", SUB1)]) }).unwrap();
        assert_eq!(s.scope.subscriptions, vec![SUB1.to_string()]);
    }

    #[test]
    fn bad_enum_value_names_key_value_and_expected_forms() {
        let err = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__AZURE__CREDENTIAL", "magic")]) }).unwrap_err().to_string();
        assert!(err.contains("azure.credential"), "{err}");
        assert!(err.contains("magic"), "{err}");
        assert!(err.contains("workload_identity"), "{err}");
    }

    #[test]
    fn unknown_key_is_rejected_by_name() {
        let f = file("[gating]\nidentity_nmae = \"typo\"\n");
        let err = load(&ConfigSource { file: Some(f.path().into()), env: env(&[]) }).unwrap_err().to_string();
        assert!(err.contains("identity_nmae"), "{err}");
    }

    #[test]
    fn plain_http_endpoint_only_for_loopback() {
        let ok = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", "http://127.0.0.1:8080")]) });
        assert!(ok.is_ok());
        let err = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", "http://example.com")]) })
            .unwrap_err()
            .to_string();
        assert!(err.contains("azure.resource_manager_endpoint") && err.contains("http://example.com") && err.contains("https://"), "{err}");
    }

    #[test]
    fn endpoints_with_credentials_query_or_fragment_are_configuration_errors() {
        for (var, value) in [
            ("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", "http://user:s3cret@127.0.0.1:8080"),
            ("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", "https://u@management.azure.com"),
            ("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", "https://management.azure.com/?x=1"),
            ("FLEETGATE__AZURE__AUTHORITY_HOST", "https://login.microsoftonline.com/#f"),
            ("FLEETGATE__QUEUE__ENDPOINT", "https://a:b@ns.servicebus.windows.net"),
        ] {
            let err = load(&ConfigSource { file: None, env: env(&[(var, value)]) }).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { .. }), "{value}: {err}");
            let text = err.to_string();
            assert!(text.contains("without credentials") && !text.contains("s3cret"), "{text}");
        }
    }

    #[test]
    fn subscription_must_be_a_guid() {
        let err = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__SCOPE__SUBSCRIPTIONS", "prod")]) }).unwrap_err().to_string();
        assert!(err.contains("scope.subscriptions") && err.contains("prod"), "{err}");
    }

    #[test]
    fn durations_parse_humanly_and_reject_garbage() {
        let s = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__AZURE__REQUEST_TIMEOUT", "5s")]) }).unwrap();
        assert_eq!(s.azure.request_timeout, std::time::Duration::from_secs(5));
        let err = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__AZURE__REQUEST_TIMEOUT", "soon")]) }).unwrap_err().to_string();
        assert!(err.contains("request_timeout") && err.contains("soon"), "{err}");
        assert!(err.contains("\"30s\"") && err.contains("\"6h\""), "a duration error shows examples: {err}");
        let f = file("[resync]\ninterval = 30\n");
        let err = load(&ConfigSource { file: Some(f.path().into()), env: env(&[]) }).unwrap_err().to_string();
        assert!(err.contains("interval") && err.contains("\"30s\""), "a number where a duration belongs: {err}");
        let err =
            load(&ConfigSource { file: None, env: env(&[("FLEETGATE__GATING__MANAGE_DEFENDER_PLAN", "maybe")]) }).unwrap_err().to_string();
        assert!(!err.contains("\"30s\""), "only duration errors carry duration examples: {err}");
    }

    #[test]
    fn manage_defender_plan_is_a_mode_and_the_old_booleans_map_to_it() {
        use crate::config::DefenderPlanMode::*;
        for (value, mode) in [("extensions", Extensions), ("full", Full), ("off", Off), ("true", Extensions), ("false", Off)] {
            let s = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__GATING__MANAGE_DEFENDER_PLAN", value)]) }).unwrap();
            assert_eq!(s.gating.manage_defender_plan, mode, "{value}");
        }
        for (text, mode) in [("true", Extensions), ("false", Off), ("\"full\"", Full)] {
            let f = file(&format!("[gating]\nmanage_defender_plan = {text}\n"));
            let s = load(&ConfigSource { file: Some(f.path().into()), env: env(&[]) }).unwrap();
            assert_eq!(s.gating.manage_defender_plan, mode, "{text}");
        }
        let err =
            load(&ConfigSource { file: None, env: env(&[("FLEETGATE__GATING__MANAGE_DEFENDER_PLAN", "on")]) }).unwrap_err().to_string();
        assert!(err.contains("manage_defender_plan") && err.contains("extensions | full | off"), "{err}");
        let shown = crate::config::redacted_toml(&load(&ConfigSource { file: None, env: env(&[]) }).unwrap());
        assert!(shown.contains("manage_defender_plan = \"extensions\""), "{shown}");
    }

    #[test]
    fn unchanged_cluster_ttl_defaults_to_60s_accepts_0s_and_rejects_over_an_hour() {
        let s = load(&ConfigSource { file: None, env: env(&[]) }).unwrap();
        assert_eq!(s.gating.unchanged_cluster_ttl, std::time::Duration::from_secs(60));
        let s = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__GATING__UNCHANGED_CLUSTER_TTL", "0s")]) }).unwrap();
        assert!(s.gating.unchanged_cluster_ttl.is_zero());
        let err =
            load(&ConfigSource { file: None, env: env(&[("FLEETGATE__GATING__UNCHANGED_CLUSTER_TTL", "2h")]) }).unwrap_err().to_string();
        assert!(err.contains("gating.unchanged_cluster_ttl") && err.contains("7200s") && err.contains("1h"), "{err}");
        let err =
            load(&ConfigSource { file: None, env: env(&[("FLEETGATE__GATING__UNCHANGED_CLUSTER_TTL", "soon")]) }).unwrap_err().to_string();
        assert!(err.contains("unchanged_cluster_ttl") && err.contains("soon"), "{err}");
    }

    #[test]
    fn managed_clusters_api_version_must_carry_security_gating() {
        let s = load(&ConfigSource { file: None, env: env(&[]) }).unwrap();
        assert_eq!(s.azure.api_versions.managed_clusters, crate::core::api_versions::DEFAULT_MANAGED_CLUSTERS);
        for bad in ["2026-05-01", "2026-01-01", "2024-10-02-preview", "2025-10-01", "latest"] {
            let err = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__AZURE__API_VERSIONS__MANAGED_CLUSTERS", bad)]) })
                .unwrap_err()
                .to_string();
            assert!(err.contains("azure.api_versions.managed_clusters") && err.contains(bad), "{err}");
            assert!(err.contains("2026-08-01, 2026-07-01, 2026-06-01"), "the message lists the good ones: {err}");
        }
        for good in ["2026-06-01", "2026-01-02-preview", "2026-11-01"] {
            let s = load(&ConfigSource { file: None, env: env(&[("FLEETGATE__AZURE__API_VERSIONS__MANAGED_CLUSTERS", good)]) }).unwrap();
            assert_eq!(s.azure.api_versions.managed_clusters, good);
        }
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let source = ConfigSource { file: Some("/nonexistent/fleetgate.toml".into()), env: env(&[]) };
        let err = load(&source).unwrap_err().to_string();
        assert!(err.contains("file not found: /nonexistent/fleetgate.toml") && err.contains("--config"), "{err}");
        assert!(!err.contains("Fix the key"), "a missing file is not a key to fix: {err}");
    }
}
