//! Items 2 and 3: scope is never left, whatever ARM answers.
//!
//! Item 2 relies on list-by-principal returning assignments *above* the subscription too: the
//! Authorization spec says of `RoleAssignments_ListForSubscription` that `$filter=principalId eq {id}`
//! returns "all role assignments at, above or below the scope for the specified principal"
//! (Azure/azure-rest-api-specs, specification/authorization/resource-manager/Microsoft.Authorization,
//! roleAssignments 2022-04-01). The simulator does not model management groups, so the proxy adds a
//! management-group assignment and one in another subscription to the list the simulator answers.

use std::sync::Arc;

use fleetgate::core::names::acr_pull_assignment_id;
use fleetgate::events::{Schema, cluster_delete_event};
use fleetgate::id::ResourceId;
use fleetgate::sim::SimHandle;
use serde_json::{Value, json};

use crate::common::child::FleetgateCommand;
use crate::common::fleet::{attached, fleetgate_tags, sub1_with_acrone};
use crate::common::{SUB1, SUB3, cluster_id, registry_id, start_sim};
use crate::outside_scope;
use crate::proxy::{Answer, Exchange, Proxy, json_headers};

/// The gating identity's principal.
const PRINCIPAL: &str = "6d1f2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b";
/// The name of an AcrPull assignment someone made by hand on the in-scope registry.
const HAND_MADE: &str = "3f2e1d0c-9b8a-4766-8544-332211009988";
const ACR_PULL: &str = "/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d";
const MANAGEMENT_GROUP: &str = "/providers/Microsoft.Management/managementGroups/mg-platform";

fn assignment(scope: &str, name: &str) -> Value {
    json!({
        "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
        "properties": {"scope": scope, "principalId": PRINCIPAL, "principalType": "ServicePrincipal", "roleDefinitionId": ACR_PULL}
    })
}

fn ours(registry: &str) -> ResourceId {
    acr_pull_assignment_id(&ResourceId::parse(registry).unwrap(), PRINCIPAL).unwrap()
}

fn gc_fleet() -> String {
    let acrone = registry_id(SUB1, "rg-acr", "acrone");
    let hub = registry_id(SUB3, "rg-hub", "acrhub");
    let gone = cluster_id(SUB1, "rg-aks", "aks-gone");
    sub1_with_acrone()
        .subscription(SUB3, "full", &[])
        .registry(SUB3, "rg-hub", "acrhub")
        .sim(&[])
        .identity(SUB1, "rg-aks", "aks-gone-defender-gating", &[&format!("principal_id = \"{PRINCIPAL}\""), &fleetgate_tags(&gone)])
        .acr_pull(&acrone, PRINCIPAL, &[&format!("name = \"{}\"", ours(&acrone).name())])
        .acr_pull(&acrone, PRINCIPAL, &[&format!("name = \"{HAND_MADE}\"")])
        .acr_pull(&hub, PRINCIPAL, &[&format!("name = \"{}\"", ours(&hub).name())])
        .build()
}

/// Adds the management-group and other-subscription assignments to every role-assignment list.
fn inject_assignments(x: &Exchange) -> Answer {
    if x.method != "GET" || !x.path.ends_with("/providers/Microsoft.Authorization/roleAssignments") || x.status != 200 {
        return Answer::pass(x);
    }
    let mut body: Value = serde_json::from_slice(&x.body).unwrap();
    let hub = registry_id(SUB3, "rg-hub", "acrhub");
    let items = body["value"].as_array_mut().unwrap();
    items.push(assignment(MANAGEMENT_GROUP, ours(&registry_id(SUB1, "rg-acr", "acrone")).name()));
    items.push(assignment(&hub, ours(&hub).name()));
    Answer::Replace { status: 200, headers: json_headers(&[]), body: body.to_string().into_bytes() }
}

fn replay(lines: &[String]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), lines.join("\n")).unwrap();
    file
}

/// `fleetgate` against `sim` with the ARM endpoint at `arm` and only SUB1 in scope.
fn fleetgate(sim: &SimHandle, arm: &str) -> FleetgateCommand {
    FleetgateCommand::new(sim, &[SUB1]).env("FLEETGATE__AZURE__RESOURCE_MANAGER_ENDPOINT", arm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item2_gc_deletes_only_its_own_assignments_in_scope() {
    let sim = start_sim(&gc_fleet()).await;
    let proxy = Proxy::start(&sim.base_url(), Arc::new(inject_assignments)).await;
    let gone = ResourceId::parse(&cluster_id(SUB1, "rg-aks", "aks-gone")).unwrap();
    let file = replay(&[cluster_delete_event(&gone, Schema::EventGrid).to_string()]);
    let out = fleetgate(&sim, &proxy.base)
        .env("FLEETGATE__GATING__GC_ON_DELETE", "true")
        .args(["run", "--source", &format!("file:{}", file.path().display()), "--output", "json"])
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains(r#""outcome":"converged""#), "{stdout}");

    let journal = sim.journal();
    assert_eq!(outside_scope(&journal, &[SUB1]), Vec::<String>::new(), "requests outside the scope");
    let deletes: Vec<String> = journal.iter().filter(|e| e.method == "DELETE").map(|e| e.path.to_ascii_lowercase()).collect();
    let acrone = registry_id(SUB1, "rg-acr", "acrone");
    let identity = format!(
        "/subscriptions/{SUB1}/resourceGroups/rg-aks/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-gone-defender-gating"
    );
    assert_eq!(deletes, [ours(&acrone).key().to_string(), identity.to_ascii_lowercase()], "only fleetgate's assignment, then the identity");
    assert_eq!(sim.with_state(|s| s.counts().role_assignments), 2, "the hand-made assignment and the other subscription's stay");
}

/// A fleet with one convergeable cluster in SUB1 (the LRO and list tests).
fn converge_fleet() -> String {
    sub1_with_acrone().sim(&[]).cluster(SUB1, "rg-aks", "aks-one", &[&attached(["acrone"])]).build()
}

/// The subscription hostile links point into: outside the scope, on the same host.
const FOREIGN: &str = SUB3;

fn cluster_put(x: &Exchange) -> bool {
    x.method == "PUT" && x.path.contains("/managedClusters/")
}

/// The cluster PUT's `Azure-AsyncOperation`, moved into another subscription (as `Location` of a 202
/// when `as_location`).
fn foreign_operation(as_location: bool) -> Arc<dyn Fn(&Exchange) -> Answer + Send + Sync> {
    Arc::new(move |x: &Exchange| {
        if !cluster_put(x) {
            return Answer::pass(x);
        }
        let mut headers = x.headers.clone();
        let Some(op) = headers.remove("azure-asyncoperation") else { return Answer::pass(x) };
        let op = op.to_str().unwrap().replace(SUB1, FOREIGN);
        let (name, status) = if as_location { ("location", 202) } else { ("azure-asyncoperation", x.status) };
        headers.insert(name, op.parse().unwrap());
        Answer::Replace { status, headers, body: x.body.clone() }
    })
}

/// A `nextLink` into another subscription on every role-assignment list.
fn foreign_next_link(x: &Exchange) -> Answer {
    if x.method != "GET" || !x.path.ends_with("/providers/Microsoft.Authorization/roleAssignments") || x.status != 200 {
        return Answer::pass(x);
    }
    let mut body: Value = serde_json::from_slice(&x.body).unwrap();
    body["nextLink"] = json!(format!(
        "{}/subscriptions/{FOREIGN}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$skiptoken=2",
        x.proxy
    ));
    Answer::Replace { status: 200, headers: json_headers(&[]), body: body.to_string().into_bytes() }
}

fn aks_one() -> String {
    cluster_id(SUB1, "rg-aks", "aks-one")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item3_operation_urls_into_another_subscription_are_refused_unsent() {
    for as_location in [false, true] {
        let sim = start_sim(&converge_fleet()).await;
        let proxy = Proxy::start(&sim.base_url(), foreign_operation(as_location)).await;
        let out = fleetgate(&sim, &proxy.base).args(["apply", "--yes", "--cluster", &aks_one()]).output();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(outside_scope(&sim.journal(), &[SUB1]), Vec::<String>::new(), "Location: {as_location}\n{stdout}\n{stderr}");
        assert_eq!(out.status.code(), Some(1), "Location: {as_location}\n{stdout}\n{stderr}");
        let text = format!("{stdout}{stderr}");
        assert!(text.contains("refusing to send a request to") && text.contains(FOREIGN) && text.contains("scope.subscriptions"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item3_a_next_link_into_another_subscription_is_refused_unsent() {
    let sim = start_sim(&converge_fleet()).await;
    let proxy = Proxy::start(&sim.base_url(), Arc::new(foreign_next_link)).await;
    let out = fleetgate(&sim, &proxy.base).args(["plan", "--cluster", &aks_one()]).output();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(outside_scope(&sim.journal(), &[SUB1]), Vec::<String>::new(), "{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("refusing to send a request to") && text.contains(FOREIGN), "{text}");
}

/// What AKS really puts in `Azure-AsyncOperation`: its own api-version and a signed query string.
const SIGNED: &str =
    "api-version=2016-03-30&t=638712345678901234&c=MIIHADCCBuigAwIBAgITHgVxvWvK%2Bfz0OVYJQw&s=Xk9v%2FQ_aZ-1b2c3d&h=AbCdEf0123456789-_";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item3_a_signed_operation_url_in_scope_is_followed_unchanged() {
    let sim = start_sim(&converge_fleet()).await;
    let tamper: Arc<dyn Fn(&Exchange) -> Answer + Send + Sync> = Arc::new(|x: &Exchange| {
        let mut headers = x.headers.clone();
        let Some(op) = headers.get("azure-asyncoperation").and_then(|v| v.to_str().ok()).map(str::to_string) else {
            return Answer::pass(x);
        };
        let signed = format!("{}?{SIGNED}", op.split('?').next().unwrap());
        headers.insert("azure-asyncoperation", signed.parse().unwrap());
        Answer::Replace { status: x.status, headers, body: x.body.clone() }
    });
    let proxy = Proxy::start(&sim.base_url(), tamper).await;
    let out = fleetgate(&sim, &proxy.base).args(["apply", "--yes", "--cluster", &aks_one()]).output();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{text}");
    let journal = sim.journal();
    let polls: Vec<&str> = journal.iter().filter(|e| e.path.contains("/operations/")).map(|e| e.query.as_str()).collect();
    assert!(!polls.is_empty() && polls.iter().all(|q| *q == SIGNED), "{polls:?}");
    assert_eq!(outside_scope(&journal, &[SUB1]), Vec::<String>::new());
}
