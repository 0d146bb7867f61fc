//! [`CliCredential`]: tokens from `az account get-access-token --output json`.
//!
//! The command is `{azure.cli_command} account get-access-token --output json --resource R` for a
//! `R/.default` scope (`--scope S` otherwise), plus `--tenant T` when a tenant is configured.
//! `azure.cli_command` may carry leading arguments (split on whitespace, no shell). The child runs
//! with `TZ=UTC`, so the legacy local-time `expiresOn` field is printed in UTC; `expires_on` (unix
//! seconds, az ≥ 2.54) is preferred when present.

use std::fmt;
use std::process::Stdio;
use std::time::Duration;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;
use serde_json::Value;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Longest time the az command may run.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the Azure CLI for tokens.
pub struct CliCredential {
    program: String,
    leading_args: Vec<String>,
    tenant_id: Option<String>,
}

impl fmt::Debug for CliCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CliCredential").field("program", &self.program).field("tenant_id", &self.tenant_id).finish()
    }
}

impl CliCredential {
    /// A credential running `command` (e.g. `az`), optionally for `tenant_id`.
    pub fn new(command: &str, tenant_id: Option<String>) -> Result<Self, String> {
        let mut words = command.split_whitespace().map(str::to_string);
        let program = words.next().ok_or("azure.cli_command is empty; set it to the az executable")?;
        Ok(Self { program, leading_args: words.collect(), tenant_id: tenant_id.filter(|t| !t.is_empty()) })
    }

    /// The arguments for one scope.
    fn args(&self, scope: &str) -> Vec<String> {
        let mut args = self.leading_args.clone();
        args.extend(["account", "get-access-token", "--output", "json"].map(str::to_string));
        match scope.strip_suffix("/.default") {
            Some(resource) => args.extend(["--resource".to_string(), resource.to_string()]),
            None => args.extend(["--scope".to_string(), scope.to_string()]),
        }
        if let Some(t) = &self.tenant_id {
            args.extend(["--tenant".to_string(), t.clone()]);
        }
        args
    }

    async fn run(&self, scope: &str) -> Result<AccessToken, String> {
        let mut cmd = tokio::process::Command::new(&self.program);
        cmd.args(self.args(scope)).env("TZ", "UTC").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let run = cmd.output();
        let output = match tokio::time::timeout(CLI_TIMEOUT, run).await {
            Err(_) => return Err(format!("`{}` did not answer within {CLI_TIMEOUT:?}", self.program)),
            Ok(Err(e)) => return Err(format!("could not run `{}`: {e}", self.program)),
            Ok(Ok(o)) => o,
        };
        if !output.status.success() {
            let stderr = scrub(&String::from_utf8_lossy(&output.stderr));
            return Err(format!("`{} account get-access-token` failed ({}): {stderr}", self.program, output.status));
        }
        parse_cli_token(&output.stdout)
    }
}

#[async_trait::async_trait]
impl TokenCredential for CliCredential {
    async fn get_token(&self, scopes: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        let fail = |m: String| azure_core::Error::with_message(ErrorKind::Credential, m);
        let [scope] = scopes else {
            return Err(fail(format!("the Azure CLI credential needs exactly one scope, got {}", scopes.len())));
        };
        if scope.is_empty() || !scope.chars().all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c)) {
            return Err(fail(format!("invalid scope {scope:?}")));
        }
        self.run(scope).await.map_err(|m| {
            fail(format!("Azure CLI credential: {m}. Run `az login` (and `az account set --subscription …`) as the user fleetgate runs as, or set azure.credential to another kind"))
        })
    }
}

/// Parses the JSON printed by `az account get-access-token`.
pub fn parse_cli_token(stdout: &[u8]) -> Result<AccessToken, String> {
    let v: Value = serde_json::from_slice(stdout).map_err(|_| "its output is not the expected JSON".to_string())?;
    let token = v.get("accessToken").and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or("its output has no accessToken")?;
    let expires_on = match v.get("expires_on") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let expires_on = match expires_on {
        Some(secs) => OffsetDateTime::from_unix_timestamp(secs).map_err(|_| "expires_on is out of range".to_string())?,
        None => {
            let text = v.get("expiresOn").and_then(Value::as_str).ok_or("its output has neither expires_on nor expiresOn")?;
            parse_expires_on(text).ok_or_else(|| format!("expiresOn {text:?} is not YYYY-MM-DD HH:MM:SS[.ffffff]"))?
        }
    };
    Ok(AccessToken::new(token.to_string(), expires_on))
}

/// Parses `expiresOn` (`YYYY-MM-DD HH:MM:SS[.ffffff]`), printed in UTC because the child runs with `TZ=UTC`.
fn parse_expires_on(text: &str) -> Option<OffsetDateTime> {
    let with_fraction = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let without = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let text = text.trim();
    PrimitiveDateTime::parse(text, with_fraction).or_else(|_| PrimitiveDateTime::parse(text, without)).ok().map(|p| p.assume_utc())
}

/// A short excerpt of CLI error output with anything token-like removed.
fn scrub(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().map(|w| if w.contains("eyJ") || w.len() > 200 { "<redacted>" } else { w }).collect();
    let joined = words.join(" ");
    if joined.is_empty() { "no error output".into() } else { joined.chars().take(500).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_unix_expiry_first() {
        let t = parse_cli_token(
            br#"{"accessToken":"abc","expiresOn":"2030-01-01 00:00:00.000000","expires_on":1767225600,"tokenType":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(t.token.secret(), "abc");
        assert_eq!(t.expires_on, datetime!(2026-01-01 00:00:00 UTC));
        let s = parse_cli_token(br#"{"accessToken":"abc","expires_on":"1767225600"}"#).unwrap();
        assert_eq!(s.expires_on, datetime!(2026-01-01 00:00:00 UTC));
    }

    #[test]
    fn parses_legacy_local_time_expiry() {
        let t = parse_cli_token(br#"{"accessToken":"abc","expiresOn":"2026-08-21 13:45:12.123456"}"#).unwrap();
        assert_eq!(t.expires_on, datetime!(2026-08-21 13:45:12.123456 UTC));
        let t = parse_cli_token(br#"{"accessToken":"abc","expiresOn":"2026-08-21 13:45:12"}"#).unwrap();
        assert_eq!(t.expires_on, datetime!(2026-08-21 13:45:12 UTC));
    }

    #[test]
    fn rejects_bad_output_without_echoing_it() {
        assert!(parse_cli_token(b"not json eyJsecret").unwrap_err().contains("not the expected JSON"));
        assert!(parse_cli_token(br#"{"expires_on":1}"#).unwrap_err().contains("accessToken"));
        assert!(parse_cli_token(br#"{"accessToken":"eyJx"}"#).unwrap_err().contains("neither"));
        let e = parse_cli_token(br#"{"accessToken":"eyJx","expiresOn":"tomorrow"}"#).unwrap_err();
        assert!(!e.contains("eyJx"), "{e}");
    }

    #[test]
    fn arguments() {
        let c = CliCredential::new("az", Some("t1".into())).unwrap();
        assert_eq!(
            c.args("https://management.azure.com/.default"),
            ["account", "get-access-token", "--output", "json", "--resource", "https://management.azure.com", "--tenant", "t1"]
        );
        let c = CliCredential::new("python3 fake_az.py", None).unwrap();
        assert_eq!(c.program, "python3");
        assert_eq!(c.args("api://x/read"), ["fake_az.py", "account", "get-access-token", "--output", "json", "--scope", "api://x/read"]);
        assert!(CliCredential::new("  ", None).is_err());
    }

    #[test]
    fn scrubs_tokens_from_error_output() {
        assert_eq!(scrub("ERROR: token eyJhbGciOi.x.y expired\n"), "ERROR: token <redacted> expired");
        assert_eq!(scrub(""), "no error output");
    }
}
