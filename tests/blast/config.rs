//! Item 8: configuration that would make fleetgate misbehave is refused at start with exit code 2 and
//! the allowed range or form; `config show` hides secrets only.

use crate::common::child::FleetgateCommand;
use crate::common::fleet::sub1_with_acrone;
use crate::common::{SUB1, cluster_id, start_sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item8_out_of_range_durations_and_unsafe_endpoints_exit_2() {
    let sim = start_sim(&sub1_with_acrone().sim(&[]).build()).await;
    let plan = ["plan".to_string(), "--cluster".into(), cluster_id(SUB1, "rg-aks", "aks-one")];
    let cases: [(&str, &str, &[&str]); 7] = [
        ("FLEETGATE__AZURE__REQUEST_TIMEOUT", "0s", &["azure.request_timeout", r#"from "1s" to "10m""#]),
        ("FLEETGATE__AZURE__OPERATION_TIMEOUT", "100000000000000s", &["azure.operation_timeout", r#"to "1d""#]),
        ("FLEETGATE__RESYNC__INTERVAL", "0s", &["resync.interval", r#"from "1s" to "7d""#]),
        ("FLEETGATE__QUEUE__LOCK_RENEWAL_INTERVAL", "0s", &["queue.lock_renewal_interval", r#"from "100ms""#]),
        ("FLEETGATE__AZURE__MAX_RESPONSE_BYTES", "0", &["azure.max_response_bytes", "1 MiB"]),
        (
            "FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT",
            "http://admin:hunter2@127.0.0.1:9",
            &["azure.resource_manager_endpoint", "without credentials"],
        ),
        ("AZURE_AUTHORITY_HOST", "http://login.example.com", &["AZURE_AUTHORITY_HOST", "https://"]),
    ];
    for (var, value, expected) in cases {
        let mut cmd = FleetgateCommand::new(&sim, &[SUB1]).env(var, value).args(&plan);
        if var == "AZURE_AUTHORITY_HOST" {
            cmd = cmd.env("FLEETGATE__AZURE__AUTHORITY_HOST", "");
        }
        let out = cmd.output();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {stderr}");
        for needle in expected {
            assert!(stderr.contains(needle), "{var}={value}: no {needle:?} in {stderr}");
        }
        assert!(!stderr.contains("hunter2"), "a password reached the error: {stderr}");
        assert!(sim.journal().iter().all(|e| !e.is_arm()), "{var}={value}: an ARM request was sent");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item8_config_show_hides_secrets_only() {
    let sim = start_sim(&sub1_with_acrone().sim(&[]).build()).await;
    let out = FleetgateCommand::new(&sim, &[SUB1])
        .env("FLEETGATE__QUEUE__TOKEN_SCOPE", "api://servicebus-test/.default")
        .args(["config", "show"])
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(r#"token_scope = "api://servicebus-test/.default""#), "{stdout}");
    assert!(stdout.contains("# AZURE_CLIENT_SECRET: set (redacted)") && !stdout.contains(crate::common::CLIENT_SECRET), "{stdout}");
}
