//! The Kubernetes config files and the image agree with the crate: both `fleetgate.toml` files load
//! with fleetgate's own loader (unknown keys are errors), the pod's grace period outlasts
//! `shutdown.grace`, the health port is the one `health.listen`, the probes and the Dockerfile use,
//! KEDA scales on `queue.name`, and the image runs as the user the pod expects.
//! Rendering and schema validation of the manifests is `ci/manifests.sh` (kubectl + Python).

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetgate::config::{self, ConfigSource, Settings};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn load(path: &str) -> Settings {
    let source = ConfigSource { file: Some(repo(path)), env: Some(Default::default()) };
    config::load(&source).unwrap_or_else(|e| panic!("{path} does not load: {e}"))
}

/// The value after `key:` on the first line that has it (trimmed, quotes removed).
fn yaml_value(text: &str, key: &str) -> String {
    let line = text.lines().find(|l| l.trim_start().starts_with(&format!("{key}:"))).unwrap_or_else(|| panic!("no {key}"));
    line.split_once(':').unwrap().1.trim().trim_matches('"').to_string()
}

const CONFIGS: [&str; 2] = ["deploy/kubernetes/base/fleetgate.toml", "deploy/kubernetes/overlays/example/fleetgate.toml"];

#[test]
fn config_files_load_and_fit_the_pod() {
    let deployment = read("deploy/kubernetes/base/deployment.yaml");
    let termination: u64 = yaml_value(&deployment, "terminationGracePeriodSeconds").parse().unwrap();
    let port: u16 = yaml_value(&deployment, "containerPort").parse().unwrap();
    let keda = read("deploy/kubernetes/base/keda.yaml");
    for path in CONFIGS {
        let s = load(path);
        assert!(
            s.shutdown.grace + Duration::from_secs(10) <= Duration::from_secs(termination),
            "{path}: shutdown.grace {:?} needs ≥ 10 s headroom below terminationGracePeriodSeconds {termination}",
            s.shutdown.grace
        );
        assert!(s.health.listen.ends_with(&format!(":{port}")), "{path}: health.listen {} vs containerPort {port}", s.health.listen);
        assert_eq!(s.azure.credential, config::CredentialKind::WorkloadIdentity, "{path}");
        assert_eq!(s.queue.auth, config::QueueAuthKind::Entra, "{path}: SAS is disabled on the namespace by the template");
        assert_eq!(yaml_value(&keda, "queueName"), s.queue.name, "{path}: KEDA scales on queue.name");
    }
    let example = load(CONFIGS[1]);
    assert!(!example.scope.subscriptions.is_empty() && !example.queue.namespace.is_empty());
    let overlay = read("deploy/kubernetes/overlays/example/kustomization.yaml");
    assert!(overlay.contains(&format!("value: {}\n", example.queue.namespace)), "KEDA namespace patch = queue.namespace");
}

#[test]
fn config_mount_matches_fleetgate_config() {
    let deployment = read("deploy/kubernetes/base/deployment.yaml");
    let path = yaml_value(&deployment, "value");
    assert_eq!(path, "/etc/fleetgate/fleetgate.toml");
    assert!(deployment.contains("name: FLEETGATE_CONFIG"));
    assert!(deployment.contains("mountPath: /etc/fleetgate\n"));
    let kustomization = read("deploy/kubernetes/base/kustomization.yaml");
    assert!(kustomization.contains("- fleetgate.toml"), "the ConfigMap is generated from fleetgate.toml");
}

#[test]
fn probes_and_identity_are_wired() {
    let deployment = read("deploy/kubernetes/base/deployment.yaml");
    for needle in [
        "path: /healthz",
        "path: /readyz",
        "port: health",
        "azure.workload.identity/use: \"true\"",
        "serviceAccountName: fleetgate",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
        "type: RuntimeDefault",
        "drop: [\"ALL\"]",
        "args: [\"run\"]",
    ] {
        assert!(deployment.contains(needle), "deployment.yaml lacks {needle}");
    }
    let sa = read("deploy/kubernetes/base/serviceaccount.yaml");
    assert!(sa.contains("azure.workload.identity/client-id:"));
    let keda = read("deploy/kubernetes/base/keda.yaml");
    assert!(keda.contains("provider: azure-workload") && keda.contains("type: azure-servicebus"));
}

#[test]
fn image_matches_the_pod() {
    let dockerfile = read("Dockerfile");
    let deployment = read("deploy/kubernetes/base/deployment.yaml");
    let port = yaml_value(&deployment, "containerPort");
    assert!(dockerfile.lines().any(|l| l == format!("EXPOSE {port}")), "Dockerfile exposes the health port {port}");
    let user = yaml_value(&deployment, "runAsUser");
    assert!(dockerfile.lines().any(|l| l == format!("USER {user}:{user}")), "Dockerfile runs as {user}");
    assert!(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/fleetgate\"]") && dockerfile.contains("CMD [\"run\"]"));
    for arg in ["ARG RUST_IMAGE=", "ARG RUNTIME_IMAGE="] {
        assert!(dockerfile.contains(arg), "base image build argument {arg}");
    }
    // The last stage is the default target: it must compile, not package a prebuilt binary.
    let last = dockerfile.rsplit("\nFROM ").next().unwrap();
    assert!(last.contains("COPY --from=builder"), "default target copies from the builder stage:\n{last}");
    let ignore = read(".dockerignore");
    for needed in ["!Cargo.toml", "!Cargo.lock", "!src/", "!config/"] {
        assert!(ignore.lines().any(|l| l == needed), ".dockerignore lets {needed} through");
    }
}

#[test]
fn health_port_ingress_admits_one_named_namespace_set_by_the_overlay() {
    let np = read("deploy/kubernetes/base/networkpolicy.yaml");
    let ingress = np.split("  ingress:\n").nth(1).unwrap().split("  egress:\n").next().unwrap();
    let rules: Vec<&str> = ingress.lines().filter(|l| l.starts_with("    - ")).collect();
    assert_eq!(rules, ["    - from:"], "one ingress rule, and it names its sources:\n{ingress}");
    assert!(
        ingress.contains(
            "        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: monitoring\n      ports:\n        - protocol: TCP\n          port: 8080\n"
        ),
        "the monitoring namespace, by its immutable name label, on the health port only:\n{ingress}"
    );
    assert!(!ingress.contains("ipBlock") && !ingress.contains("podSelector"), "{ingress}");
    let overlay = read("deploy/kubernetes/overlays/example/kustomization.yaml");
    assert!(
        overlay.contains(
            "path: /spec/ingress/0/from/0/namespaceSelector/matchLabels/kubernetes.io~1metadata.name\n        value: contoso-monitoring"
        ),
        "the example overlay sets its monitoring namespace"
    );
}
