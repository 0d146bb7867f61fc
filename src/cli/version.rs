//! `fleetgate --version`: the version, the git commit of the build (`build.rs`) and the default
//! managed-cluster api-version — read from the compiled-in `config/default.toml`, not a second literal.

use std::collections::HashMap;

use fleetgate::config::{self, ConfigSource};

/// `0.1.0 (commit 1a2b3c4d5e6f, managed-clusters api-version 2026-01-02-preview)`.
pub fn version_line() -> String {
    format!("{} (commit {}, managed-clusters api-version {})", env!("CARGO_PKG_VERSION"), env!("FLEETGATE_COMMIT"), default_api_version())
}

/// `azure.api_versions.managed_clusters` of the built-in defaults.
pub fn default_api_version() -> String {
    config::load(&ConfigSource { file: None, env: Some(HashMap::new()) })
        .map(|s| s.azure.api_versions.managed_clusters)
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_version_comes_from_the_default_file() {
        let line = version_line();
        let file: toml::Value = toml::from_str(fleetgate::config::DEFAULT_TOML).unwrap();
        let expected = file["azure"]["api_versions"]["managed_clusters"].as_str().unwrap();
        assert!(line.ends_with(&format!("managed-clusters api-version {expected})")), "{line}");
        assert!(line.starts_with(env!("CARGO_PKG_VERSION")) && line.contains("(commit "), "{line}");
    }
}
