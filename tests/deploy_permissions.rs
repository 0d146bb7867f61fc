//! `arm::permissions` is THE list of RBAC actions fleetgate needs; these tests keep it honest.
//!
//! 1. Request audit: every ARM request fleetgate sends to the simulator — a full reconcile (dedicated
//!    identity, two subscriptions, Defender plan off), the kubelet strategy with prerequisites, a
//!    registry-attached event (role assignment GET + Resource Graph), garbage collection after a
//!    cluster delete, and `fleetgate doctor` — is mapped to its RBAC action; an action missing from
//!    the list fails, and so does a listed action no scenario exercises (unless explained below).
//! 2. Source scan: every ARM resource type named in `src/` outside the simulator and tests must have
//!    an entry, so a new call to a new resource type fails here even before a scenario covers it.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::child::FleetgateCommand;
use common::fleet::FleetToml;
use common::*;
use fleetgate::arm::permissions::{PERMISSIONS, action_for_request, permission};
use fleetgate::dispatch::{Dispatcher, MessageOutcome};
use fleetgate::events::{Schema, cluster_delete_event, role_assignment_write_event};
use fleetgate::id::ResourceId;
use fleetgate::sim::JournalEntry;

/// Listed actions no simulator scenario can exercise, and why.
const NOT_EXERCISED: &[(&str, &str)] = &[(
    "Microsoft.ContainerService/locations/operationresults/read",
    "the simulator (like AKS) always answers a cluster PUT with Azure-AsyncOperation; Location is the fallback",
)];

/// Resource types the product names without ever sending a request to them, and why.
const NAMED_NOT_CALLED: &[(&str, &str)] = &[
    ("Microsoft.Authorization/roleDefinitions", "the AcrPull role definition ID inside a role-assignment body and a read assignment"),
    ("Microsoft.Storage/storageAccounts", "noise events `fleetgate demo` publishes to show that they are ignored"),
    (
        "Microsoft.EventGrid/systemTopics",
        "`fleetgate doctor` reads the Event Grid wiring only where its credential can (e.g. a person's `az login` with Reader) and skips the check otherwise; the worker's identity is deliberately not granted it",
    ),
];

const KUBELET_OID: &str = "0a0b0c0d-0000-4000-8000-00000000beef";
const GONE_OID: &str = "0a0b0c0d-0000-4000-8000-00000000dead";
const ATTACH_NAME: &str = "5d1e3c2b-7a6f-4e8d-9b0a-1c2d3e4f5a6b";

fn fleet() -> String {
    let (acrone, acrtwo) = (registry_id(SUB1, "rg-acr", "acrone"), registry_id(SUB2, "rg-acr2", "acrtwo"));
    FleetToml::new()
        .sim(&[])
        .subscription(SUB1, "full", &[r#"resource_groups = ["rg-aks", "rg-acr"]"#])
        .subscription(SUB2, "off", &[])
        .registry(SUB1, "rg-acr", "acrone")
        .registry(SUB2, "rg-acr2", "acrtwo")
        .cluster(SUB1, "rg-aks", "aks-fresh", &[&fleet::attached(["acrone", &acrtwo])])
        .cluster(SUB1, "rg-aks", "aks-kube", &[&format!("kubelet_identity = {{ object_id = \"{KUBELET_OID}\" }}")])
        .cluster(SUB2, "rg-aks2", "aks-noissuer", &["oidc_issuer = false", "workload_identity = false"])
        .identity(
            SUB1,
            "rg-aks",
            "aks-gone-defender-gating",
            &[&format!("principal_id = \"{GONE_OID}\""), &fleet::fleetgate_tags(&cluster_id(SUB1, "rg-aks", "aks-gone"))],
        )
        // Under fleetgate's deterministic name: garbage collection deletes only assignments it made.
        .acr_pull(&acrone, GONE_OID, &[r#"principal_type = "ServicePrincipal""#, &format!("name = \"{}\"", gc_assignment_name(&acrone))])
        .acr_pull(&acrone, KUBELET_OID, &[&format!("name = \"{ATTACH_NAME}\"")])
        .build()
}

/// The name fleetgate gives the gone cluster's gating identity's AcrPull assignment on `registry`.
fn gc_assignment_name(registry: &str) -> String {
    fleetgate::core::names::acr_pull_assignment_id(&id(registry), GONE_OID).unwrap().name().to_string()
}

fn id(s: &str) -> ResourceId {
    ResourceId::parse(s).unwrap()
}

/// The ARM requests in a journal (token calls excluded).
fn arm_requests(journal: &[JournalEntry]) -> Vec<(String, String)> {
    journal.iter().filter(|e| e.is_arm() && !e.is_token_call()).map(|e| (e.method.clone(), e.path.clone())).collect()
}

/// Runs every scenario and returns the ARM requests they sent.
async fn exercise() -> Vec<(String, String)> {
    let mut requests = Vec::new();

    // Full reconcile: identity, FIC, AcrPull in two subscriptions, Defender plan, gating PUT + LRO.
    let env = start(&fleet(), &[SUB1, SUB2], |_| {}).await;
    let applied = env.engine.apply(&id(&cluster_id(SUB1, "rg-aks", "aks-fresh"))).await;
    assert!(applied.error.is_none(), "{:?}", applied.error);
    requests.extend(arm_requests(&env.sim.journal()));

    // Registry attached: GET the assignment, Resource Graph for the kubelet's clusters, reconcile them.
    let dispatcher = Dispatcher::new(env.engine.clone(), Arc::new(env.settings.clone()));
    let registry = format!("/subscriptions/{SUB1}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrone");
    let assignment = id(&format!("{registry}/providers/Microsoft.Authorization/roleAssignments/{ATTACH_NAME}"));
    env.sim.clear_journal();
    let body = serde_json::to_vec(&role_assignment_write_event(&assignment, Schema::EventGrid)).unwrap();
    let handled = dispatcher.handle(&body).await;
    assert!(matches!(handled.outcome, MessageOutcome::Converged | MessageOutcome::Compliant), "{handled:?}");
    let journal = env.sim.journal();
    assert!(journal.iter().any(|e| e.is_graph_query()), "the registry-attached path queries Resource Graph");
    requests.extend(arm_requests(&journal));
    drop(dispatcher);

    // Garbage collection after a delete: 404 on the cluster, identity + AcrPull deleted.
    let gc_env = start(&fleet(), &[SUB1, SUB2], |s| s.gating.gc_on_delete = true).await;
    let dispatcher = Dispatcher::new(gc_env.engine.clone(), Arc::new(gc_env.settings.clone()));
    let body = serde_json::to_vec(&cluster_delete_event(&id(&cluster_id(SUB1, "rg-aks", "aks-gone")), Schema::CloudEvents)).unwrap();
    let handled = dispatcher.handle(&body).await;
    assert_eq!(handled.outcome, MessageOutcome::Converged, "{handled:?}");
    let journal = gc_env.sim.journal();
    assert_eq!(journal.iter().filter(|e| e.method == "DELETE").count(), 2, "assignment and identity deleted");
    requests.extend(arm_requests(&journal));

    // Kubelet strategy with prerequisites enabled: FIC on the kubelet identity, OIDC issuer PUT.
    let kube_env = start(&fleet(), &[SUB1, SUB2], |s| {
        s.gating.identity_strategy = fleetgate::config::IdentityStrategy::Kubelet;
        s.gating.enable_prerequisites = true;
    })
    .await;
    let applied = kube_env.engine.apply(&id(&cluster_id(SUB2, "rg-aks2", "aks-noissuer"))).await;
    assert!(applied.error.is_none(), "{:?}", applied.error);
    assert_eq!(applied.report.status, fleetgate::core::ApplyStatus::Converged, "{:?}", applied.report);
    requests.extend(arm_requests(&kube_env.sim.journal()));

    // doctor (the binary): subscription read and the api-version probe.
    kube_env.sim.clear_journal();
    let out = doctor(&kube_env.sim);
    assert!(out.status.success(), "doctor: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    requests.extend(arm_requests(&kube_env.sim.journal()));
    requests
}

fn doctor(sim: &fleetgate::sim::SimHandle) -> std::process::Output {
    FleetgateCommand::new(sim, &[SUB1, SUB2]).args(["doctor"]).output()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_arm_request_needs_only_listed_actions_and_every_action_is_exercised() {
    let requests = exercise().await;
    assert!(requests.len() > 20, "scenarios sent {} ARM requests", requests.len());
    let mut exercised = BTreeSet::new();
    for (method, path) in &requests {
        let action = action_for_request(method, path).unwrap_or_else(|| panic!("{method} {path}: no RBAC action derivable"));
        let listed = permission(&action).unwrap_or_else(|| {
            panic!("{method} {path} needs {action}, which is not in src/arm/permissions.rs (add it there, then the template follows)")
        });
        exercised.insert(listed.action);
    }
    for p in PERMISSIONS {
        let excused = NOT_EXERCISED.iter().any(|(a, _)| *a == p.action);
        assert!(exercised.contains(p.action) || excused, "{} is listed but no scenario needs it: remove it or cover it", p.action);
        assert!(!(exercised.contains(p.action) && excused), "{} is exercised now: drop it from NOT_EXERCISED", p.action);
    }
}

/// Source files of the product (simulator, test modules and the list itself excluded), test sections cut off.
fn product_sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if name != "sim" && name != "tests" {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.to_string_lossy().ends_with("tests.rs")
                && !path.ends_with("arm/permissions.rs")
            {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let code: String = text
                .split("#[cfg(test)]")
                .next()
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            (f, code)
        })
        .collect()
}

/// `Microsoft.X/type[/name/type…]` names in `code` reduced to their types (a trailing verb dropped),
/// plus `("Microsoft.X", "type")` literal pairs (IDs built from parts).
fn resource_types(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(at) = code[i..].find("Microsoft.") {
        let start = i + at;
        let mut end = start + "Microsoft.".len();
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'/' || bytes[end] == b'.') {
            end += 1;
        }
        let word = code[start..end].trim_end_matches(['/', '.']);
        let mut parts: Vec<&str> = word.split('/').collect();
        if parts.len() >= 2 && !parts[0][10..].contains('.') {
            if ["read", "write", "delete", "action"].contains(&parts[parts.len() - 1]) {
                parts.pop();
            }
            // Segments after the namespace alternate type / name (`…/pricings/Containers` is a pricing).
            let types: Vec<&str> = std::iter::once(parts[0]).chain(parts[1..].iter().step_by(2).copied()).collect();
            found.insert(types.join("/"));
        } else if parts.len() == 1 && code[end..].starts_with("\", \"") {
            let next = &code[end + 4..];
            let ty: String = next.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            if !ty.is_empty() && next[ty.len()..].starts_with('"') {
                found.insert(format!("{word}/{ty}"));
            }
        }
        i = end.max(start + 1);
    }
    found
}

#[test]
fn every_resource_type_named_in_the_product_has_a_permission() {
    let listed: BTreeSet<String> = PERMISSIONS.iter().map(|p| p.action.rsplit_once('/').unwrap().0.to_ascii_lowercase()).collect();
    let (mut seen, mut missing) = (0, Vec::new());
    for (file, code) in product_sources() {
        for ty in resource_types(&code) {
            seen += 1;
            let lower = ty.to_ascii_lowercase();
            // A parent type is fine when a child is listed (e.g. `…/userAssignedIdentities` for FICs).
            let covered = listed.iter().any(|l| *l == lower || l.starts_with(&format!("{lower}/")));
            let named_only = NAMED_NOT_CALLED.iter().any(|(t, _)| t.eq_ignore_ascii_case(&ty));
            if !covered && !named_only {
                missing.push(format!("{} names {ty}", file.display()));
            }
        }
    }
    assert!(missing.is_empty(), "ARM types without an entry in src/arm/permissions.rs:\n{}", missing.join("\n"));
    assert!(seen >= 10, "the scan found only {seen} type names: is it still reading the sources?");
}

#[test]
fn the_scanner_finds_types_in_paths_literal_pairs_and_actions() {
    let code = r#"let p = format!("/subscriptions/{s}/providers/Microsoft.Web/sites/{n}"); scope.child_provider("Microsoft.Sql", "servers", n);
        const OP: &str = "Microsoft.KeyVault/vaults/delete"; let id = "/providers/Microsoft.Network/dnsZones/z1/A/www";"#;
    let types = resource_types(code);
    for want in ["Microsoft.Web/sites", "Microsoft.Sql/servers", "Microsoft.KeyVault/vaults", "Microsoft.Network/dnsZones/A"] {
        assert!(types.contains(want), "{want} in {types:?}");
    }
}
