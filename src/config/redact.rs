//! `fleetgate config show`: the effective configuration with secrets redacted.

use super::Settings;

/// Key names that hold secrets, wherever they appear.
const SECRET_MARKERS: &[&str] = &["secret", "password", "token", "sas_key", "connection_string", "signature"];

/// Environment variables that may carry secrets; shown only as set/unset.
pub const SECRET_ENV: &[&str] = &["AZURE_CLIENT_SECRET", "FLEETGATE_SAS_KEY"];

/// Renders the settings as TOML with every secret-looking value replaced by `"<redacted>"`.
pub fn redacted_toml(settings: &Settings) -> String {
    let mut value = match toml::Value::try_from(settings) {
        Ok(v) => v,
        Err(e) => return format!("# could not render configuration: {e}\n"),
    };
    redact(&mut value, "");
    let mut out = toml::to_string_pretty(&value).unwrap_or_else(|e| format!("# could not render configuration: {e}\n"));
    for var in SECRET_ENV {
        let state = if std::env::var_os(var).is_some() { "set (redacted)" } else { "not set" };
        out.push_str(&format!("# {var}: {state}\n"));
    }
    out
}

/// Suffixes of keys that name or locate a secret without holding one (`sas_key_name`, `token_scope`).
const NOT_SECRET_SUFFIXES: &[&str] = &["_name", "_file", "_env", "_scope", "_endpoint", "_url", "_host"];

fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_MARKERS.iter().any(|m| k.contains(m)) && !NOT_SECRET_SUFFIXES.iter().any(|s| k.ends_with(s))
}

fn redact(value: &mut toml::Value, key: &str) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                redact(v, k);
            }
        }
        toml::Value::Array(a) => a.iter_mut().for_each(|v| redact(v, key)),
        toml::Value::String(s) if is_secret_key(key) && !s.is_empty() => *s = "<redacted>".into(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_secret_keys_but_not_names() {
        let mut v: toml::Value =
            toml::from_str("[queue]\nsas_key = \"abc\"\nsas_key_name = \"listen\"\n[x]\nclient_secret = \"s3\"\n").unwrap();
        redact(&mut v, "");
        let text = toml::to_string(&v).unwrap();
        assert!(!text.contains("abc") && !text.contains("s3"), "{text}");
        assert!(text.contains("listen"), "{text}");
    }

    #[test]
    fn names_scopes_and_endpoints_of_secrets_are_not_secrets() {
        for shown in ["token_scope", "sas_key_name", "client_secret_file", "token_endpoint", "secret_url", "password_env"] {
            assert!(!is_secret_key(shown), "{shown}");
        }
        for hidden in ["client_secret", "sas_key", "token", "access_token", "password", "connection_string", "signature"] {
            assert!(is_secret_key(hidden), "{hidden}");
        }
    }

    #[test]
    fn renders_effective_settings() {
        let s = crate::config::load(&crate::config::ConfigSource { file: None, env: Some(Default::default()) }).unwrap();
        let text = redacted_toml(&s);
        assert!(text.contains("resource_manager_endpoint = \"https://management.azure.com\""), "{text}");
        assert!(text.contains("AZURE_CLIENT_SECRET"), "{text}");
        assert!(text.contains(r#"token_scope = "https://servicebus.azure.net/.default""#), "{text}");
    }
}
