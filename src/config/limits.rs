//! Limits every setting must respect beyond its type: each duration key has a minimum and a maximum
//! ([`DURATION_RANGES`]), `azure.max_response_bytes` a range, and an Entra authority taken from
//! `AZURE_AUTHORITY_HOST` (when `azure.authority_host` is empty) must be a usable URL — all refused
//! at load time (exit code 2), with the allowed range or form in the message.

use std::time::Duration;

use super::Settings;
use super::load::{ConfigError, ConfigSource, check_endpoint};

const MS: Duration = Duration::from_millis(1);
const SEC: Duration = Duration::from_secs(1);
const MIN: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// One duration key and its inclusive range.
pub struct DurationRange {
    /// Dotted key.
    pub key: &'static str,
    /// Reads the value.
    pub get: fn(&Settings) -> Duration,
    /// Smallest accepted value.
    pub min: Duration,
    /// Largest accepted value.
    pub max: Duration,
}

/// Every duration key with its range (docs/OPERATIONS.md lists the same ranges; a test checks it).
pub const DURATION_RANGES: &[DurationRange] = &[
    DurationRange { key: "azure.request_timeout", get: |s| s.azure.request_timeout, min: SEC, max: Duration::from_secs(600) },
    DurationRange { key: "azure.operation_timeout", get: |s| s.azure.operation_timeout, min: SEC, max: DAY },
    DurationRange { key: "azure.retry.initial_backoff", get: |s| s.azure.retry.initial_backoff, min: MS, max: MIN },
    DurationRange { key: "azure.retry.max_backoff", get: |s| s.azure.retry.max_backoff, min: MS, max: Duration::from_secs(600) },
    DurationRange {
        key: "azure.retry.principal_not_found_window",
        get: |s| s.azure.retry.principal_not_found_window,
        min: Duration::ZERO,
        max: HOUR,
    },
    DurationRange { key: "gating.unchanged_cluster_ttl", get: |s| s.gating.unchanged_cluster_ttl, min: Duration::ZERO, max: HOUR },
    DurationRange { key: "queue.receive_timeout", get: |s| s.queue.receive_timeout, min: SEC, max: MIN },
    DurationRange {
        key: "queue.lock_renewal_interval",
        get: |s| s.queue.lock_renewal_interval,
        min: Duration::from_millis(100),
        max: Duration::from_secs(300),
    },
    DurationRange { key: "shutdown.grace", get: |s| s.shutdown.grace, min: Duration::ZERO, max: HOUR },
    DurationRange { key: "defer.interval", get: |s| s.defer.interval, min: SEC, max: HOUR },
    DurationRange { key: "defer.max_interval", get: |s| s.defer.max_interval, min: SEC, max: HOUR },
    DurationRange { key: "defer.max_wait", get: |s| s.defer.max_wait, min: MIN, max: DAY },
    DurationRange { key: "resync.interval", get: |s| s.resync.interval, min: SEC, max: Duration::from_secs(7 * 86_400) },
];

/// Smallest `azure.max_response_bytes`: 1 MiB (a cluster document is tens of kilobytes).
pub const MIN_RESPONSE_BYTES: u64 = 1024 * 1024;
/// Largest `azure.max_response_bytes`: 1 GiB (the Deployment's memory limit is 256 Mi).
pub const MAX_RESPONSE_BYTES: u64 = 1024 * 1024 * 1024;

/// Checks the ranges and the authority from the environment.
pub(super) fn check(s: &Settings, source: &ConfigSource) -> Result<(), ConfigError> {
    for r in DURATION_RANGES {
        let value = (r.get)(s);
        if value < r.min || value > r.max {
            return Err(ConfigError::Invalid { key: r.key.into(), value: human(value), expected: range_text(r) });
        }
    }
    let bytes = s.azure.max_response_bytes;
    if !(MIN_RESPONSE_BYTES..=MAX_RESPONSE_BYTES).contains(&bytes) {
        let expected = format!("a byte count from {MIN_RESPONSE_BYTES} (1 MiB) to {MAX_RESPONSE_BYTES} (1 GiB)");
        return Err(ConfigError::Invalid { key: "azure.max_response_bytes".into(), value: bytes.to_string(), expected });
    }
    if s.azure.authority_host.trim().is_empty()
        && let Some(env) = env_authority(source)
    {
        check_endpoint("azure.authority_host (from AZURE_AUTHORITY_HOST)", env.trim(), false)?;
    }
    Ok(())
}

/// `AZURE_AUTHORITY_HOST` from the explicit environment, else the process's; `None` when unset or empty.
fn env_authority(source: &ConfigSource) -> Option<String> {
    let value = match &source.env {
        Some(vars) => vars.get("AZURE_AUTHORITY_HOST").cloned(),
        None => std::env::var("AZURE_AUTHORITY_HOST").ok(),
    };
    value.filter(|v| !v.trim().is_empty())
}

/// `a duration from "1s" to "10m"`.
pub fn range_text(r: &DurationRange) -> String {
    format!("a duration from {:?} to {:?}", human(r.min), human(r.max))
}

/// A duration in the largest whole unit that fits (`"7d"`, `"1h"`, `"10m"`, `"1s"`, `"100ms"`), else
/// milliseconds or seconds.
pub fn human(d: Duration) -> String {
    let units = [(DAY, "d"), (HOUR, "h"), (MIN, "m"), (SEC, "s")];
    if d.is_zero() {
        return "0s".into();
    }
    for (unit, suffix) in units {
        if d >= unit && d.as_nanos().is_multiple_of(unit.as_nanos()) {
            return format!("{}{suffix}", d.as_nanos() / unit.as_nanos());
        }
    }
    if d.as_nanos().is_multiple_of(MS.as_nanos()) { format!("{}ms", d.as_millis()) } else { format!("{}s", d.as_secs_f64()) }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::config::load;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        load(&ConfigSource { file: None, env: Some(env) })
    }

    fn env_name(key: &str) -> String {
        format!("FLEETGATE__{}", key.replace('.', "__").to_ascii_uppercase())
    }

    #[test]
    fn defaults_are_inside_every_range() {
        let s = with(&[]).unwrap();
        for r in DURATION_RANGES {
            assert!(((r.min)..=(r.max)).contains(&(r.get)(&s)), "{}", r.key);
        }
        assert_eq!(s.azure.max_response_bytes, 32 * 1024 * 1024);
    }

    #[test]
    fn both_ends_of_every_range_are_accepted_and_beyond_them_refused_naming_the_range() {
        for r in DURATION_RANGES {
            let var = env_name(r.key);
            for ok in [r.min, r.max] {
                let s = with(&[(&var, &human(ok))]).unwrap_or_else(|e| panic!("{} = {}: {e}", r.key, human(ok)));
                assert_eq!((r.get)(&s), ok, "{}", r.key);
            }
            let e = with(&[(&var, &human(r.max + SEC))]).unwrap_err().to_string();
            assert!(e.contains(r.key) && e.contains(&format!("{:?}", human(r.max))), "{e}");
            if let Some(below) = r.min.checked_sub(MS).filter(|_| !r.min.is_zero()) {
                let e = with(&[(&var, &human(below))]).unwrap_err().to_string();
                assert!(e.contains(r.key) && e.contains(&range_text(r)), "{e}");
            }
        }
    }

    #[test]
    fn the_issue_s_examples_are_refused() {
        let e = with(&[("FLEETGATE__AZURE__REQUEST_TIMEOUT", "0s")]).unwrap_err().to_string();
        assert!(e.contains("azure.request_timeout") && e.contains(r#"from "1s" to "10m""#), "{e}");
        let e = with(&[("FLEETGATE__AZURE__OPERATION_TIMEOUT", "100000000000000s")]).unwrap_err().to_string();
        assert!(e.contains("azure.operation_timeout") && e.contains(r#"to "1d""#), "{e}");
        let e = with(&[("FLEETGATE__RESYNC__INTERVAL", "0s")]).unwrap_err().to_string();
        assert!(e.contains("resync.interval") && e.contains(r#"from "1s" to "7d""#), "{e}");
    }

    #[test]
    fn response_size_limit_has_a_range() {
        assert_eq!(with(&[("FLEETGATE__AZURE__MAX_RESPONSE_BYTES", "1048576")]).unwrap().azure.max_response_bytes, MIN_RESPONSE_BYTES);
        for bad in ["0", "1048575", "1073741825"] {
            let e = with(&[("FLEETGATE__AZURE__MAX_RESPONSE_BYTES", bad)]).unwrap_err().to_string();
            assert!(e.contains("azure.max_response_bytes") && e.contains("1 MiB") && e.contains(bad), "{e}");
        }
    }

    #[test]
    fn authority_from_the_environment_is_checked_when_the_key_is_empty() {
        let e = with(&[("AZURE_AUTHORITY_HOST", "http://login.example.com")]).unwrap_err().to_string();
        assert!(e.contains("AZURE_AUTHORITY_HOST") && e.contains("https://"), "{e}");
        assert!(with(&[("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us")]).is_ok());
        assert!(with(&[("AZURE_AUTHORITY_HOST", "http://127.0.0.1:9")]).is_ok());
        let key_wins = [("AZURE_AUTHORITY_HOST", "http://login.example.com"), ("FLEETGATE__AZURE__AUTHORITY_HOST", "https://login.x")];
        assert!(with(&key_wins).is_ok(), "azure.authority_host wins over the variable");
    }

    #[test]
    fn durations_print_in_their_largest_unit() {
        assert_eq!(human(Duration::ZERO), "0s");
        assert_eq!(human(Duration::from_millis(100)), "100ms");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_secs(600)), "10m");
        assert_eq!(human(DAY * 7), "7d");
    }

    #[test]
    fn operations_md_lists_every_range() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/OPERATIONS.md")).unwrap();
        for r in DURATION_RANGES {
            let row = doc.lines().find(|l| l.starts_with(&format!("| `{}` |", r.key))).unwrap_or_else(|| panic!("no row for {}", r.key));
            let range = format!("`{}`–`{}`", human(r.min), human(r.max));
            assert!(row.contains(&range), "the row of {} must give the range {range}: {row}", r.key);
        }
    }
}
