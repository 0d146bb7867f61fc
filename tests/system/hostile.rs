//! Item 5c, hostile events through the worker: each hostile message sent to the queue a `fleetgate run`
//! process consumes gets a clear outcome (parked with its reason, ignored, or a read-only reconcile of
//! a compliant in-scope cluster), fleetgate makes 0 ARM writes, and the one process handles them all
//! without crashing.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use fleetgate::events::{Schema, cluster_write_event, role_assignment_write_event};
use fleetgate::id::ResourceId;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage, QueueSpec, Sent};
use serde_json::{Value, json};

use crate::common::{SUB1, cluster_id, fleet, start};
use crate::ledger::{SequenceMap, completions};
use crate::proc::{Worker, run_env, tail};
use crate::scenario::wait_until;
use crate::world::OUTSIDE_SUB;

/// A user (not a kubelet identity) that gets AcrPull on the registry.
const USER_PRINCIPAL: &str = "5a4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a";
/// A tenant that is not the simulator's.
const OTHER_TENANT: &str = "99999999-8888-4777-8666-555555555555";

fn fleet() -> String {
    fleet::sub1_with_acrone()
        .principals(&[USER_PRINCIPAL])
        .sim(&[])
        .cluster(SUB1, "rg-aks", "aks-ok", &[r#"attached_registries = ["acrone"]"#, "compliant = true"])
        .build()
}

struct Hostile {
    what: &'static str,
    body: Vec<u8>,
    allowed: &'static [&'static str],
}

fn case(what: &'static str, body: impl Into<Vec<u8>>, allowed: &'static [&'static str]) -> Hostile {
    Hostile { what, body: body.into(), allowed }
}

fn with(mut event: Value, pointer: &str, value: Value) -> Vec<u8> {
    *event.pointer_mut(pointer).unwrap_or_else(|| panic!("{pointer}")) = value;
    event.to_string().into_bytes()
}

fn retargeted(subject: &str) -> Vec<u8> {
    let event = cluster_write_event(&ok_cluster(), Schema::EventGrid);
    let event = with(event, "/subject", json!(subject));
    with(serde_json::from_slice(&event).unwrap(), "/data/resourceUri", json!(subject))
}

fn ok_cluster() -> ResourceId {
    ResourceId::parse(&cluster_id(SUB1, "rg-aks", "aks-ok")).unwrap()
}

fn cases(user_assignment: &ResourceId, missing_assignment: &ResourceId) -> Vec<Hostile> {
    let c = ok_cluster();
    let event = || cluster_write_event(&c, Schema::EventGrid);
    let rejected: &[&str] = &["rejected"];
    let ignored: &[&str] = &["ignored"];
    let mut padded = event();
    padded["data"]["padding"] = json!("x".repeat(1024 * 1024));
    let outside = ResourceId::parse(&cluster_id(OUTSIDE_SUB, "rg-aks", "aks-ok")).unwrap();
    let mut nested = String::new();
    (0..100_000).for_each(|_| nested.push('['));
    vec![
        case("malformed JSON (truncated)", "{\"eventType\": \"Microsoft.Resources.ResourceWriteSuccess\", ", rejected),
        case("empty body", "", rejected),
        case("not UTF-8", vec![0xff, 0xfe, b'{', 0xc3, 0x28, b'}'], rejected),
        case("1 MB body (a valid event padded past the 1 MiB limit)", padded.to_string(), rejected),
        case("100,000 nested arrays", nested, rejected),
        case(
            "wrong types (id number, eventType array, subject object, data string)",
            r#"{"id":7,"eventType":["x"],"subject":{"a":1},"data":"text","eventTime":false,"dataVersion":2}"#,
            rejected,
        ),
        case("wrong type: data.resourceUri is a number", with(event(), "/data/resourceUri", json!(12345)), rejected),
        case("JSON array of two events", format!("[{},{}]", event(), event()), rejected),
        case(
            "other tenant, subscription outside the scope",
            with(with_tenant(cluster_write_event(&outside, Schema::EventGrid)), "/data/status", json!("Succeeded")),
            ignored,
        ),
        case("other tenant claimed for an in-scope cluster", with_tenant(event()).to_string(), &["compliant"]),
        case("subscription outside the scope", cluster_write_event(&outside, Schema::CloudEvents).to_string(), ignored),
        case(
            "`..` in the ID",
            retargeted(&format!("{c}/../../../../providers/Microsoft.Authorization/roleAssignments/{}", uuid::Uuid::nil())),
            rejected,
        ),
        case("encoded slash in the name", retargeted(&format!("{}%2F..%2Faks-other", c.as_str())), rejected),
        case("double slash", retargeted(&c.as_str().replace("/providers/", "//providers/")), rejected),
        case(
            "odd casing of a real cluster",
            retargeted(&c.as_str().to_ascii_uppercase().replace("RESOURCEGROUPS", "ResourceGROUPS")),
            &["compliant"],
        ),
        case("trailing slash", retargeted(&format!("{}/", c.as_str())), &["rejected", "compliant"]),
        case("RTL override in the name (no such cluster)", retargeted(&format!("{}\u{202e}sbo", c.as_str())), &["rejected", "blocked"]),
        case("subject and resourceUri name different clusters", with(event(), "/data/resourceUri", json!(outside.as_str())), rejected),
        case("data.subscriptionId disagrees with the ID", with(event(), "/data/subscriptionId", json!(OUTSIDE_SUB)), rejected),
        case("agent pool written under the cluster operation", retargeted(&format!("{}/agentPools/np1", c.as_str())), ignored),
        case(
            "AcrPull for a principal that is not a kubelet identity",
            role_assignment_write_event(user_assignment, Schema::EventGrid).to_string(),
            ignored,
        ),
        case(
            "role assignment that does not exist",
            role_assignment_write_event(missing_assignment, Schema::CloudEvents).to_string(),
            ignored,
        ),
    ]
}

fn with_tenant(mut event: Value) -> Value {
    event["data"]["tenantId"] = json!(OTHER_TENANT);
    event["data"]["claims"]["http://schemas.microsoft.com/identity/claims/tenantid"] = json!(OTHER_TENANT);
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_get_a_clear_outcome_and_no_arm_writes() {
    let env = start(&fleet(), &[SUB1], |_| {}).await;
    env.sim.create_queue(QueueSpec::new(EVENTS_QUEUE).lock_duration(Duration::from_secs(2))).unwrap();
    let registry =
        ResourceId::parse(&format!("/subscriptions/{SUB1}/resourceGroups/rg-acr/providers/Microsoft.ContainerRegistry/registries/acrone"))
            .unwrap();
    let user_assignment =
        registry.child_provider("Microsoft.Authorization", "roleAssignments", "6b5a4c3b-2a1f-4e0d-9c8b-7a6f5e4d3c2b").unwrap();
    let missing_assignment =
        registry.child_provider("Microsoft.Authorization", "roleAssignments", "7c6b5a4c-3b2a-4f1e-8d9c-8b7a6f5e4d3c").unwrap();
    let role = format!("/subscriptions/{SUB1}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d");
    let body = json!({"properties": {"roleDefinitionId": role, "principalId": USER_PRINCIPAL, "principalType": "User"}});
    env.engine.arm().put(user_assignment.as_str(), "2022-04-01", &body, None).await.unwrap();
    let ours: HashSet<String> = [user_assignment.as_str().to_ascii_lowercase()].into();
    let start_seq = env.sim.journal().last().map_or(0, |e| e.seq);

    let cases = cases(&user_assignment, &missing_assignment);
    let mut sequence = SequenceMap::new();
    for (i, c) in cases.iter().enumerate() {
        let message = NewMessage::new(c.body.clone()).message_id(format!("h{i:02}"));
        let Some(Sent::Accepted(seq)) = env.sim.send(EVENTS_QUEUE, message) else { panic!("send {}", c.what) };
        sequence.insert(seq, format!("h{i:02}"));
    }
    let worker = Worker::start(&run_env(&env.sim, &[SUB1]).env("FLEETGATE__QUEUE__LOCK_RENEWAL_INTERVAL", "500ms"), "hostile");
    let workers = [worker];
    wait_until(
        Duration::from_secs(60),
        &workers,
        || {
            let done = completions(&env.sim.journal(), &sequence);
            let dead = env.sim.dead_letters(EVENTS_QUEUE).unwrap().len();
            done.len() + dead == cases.len() && env.sim.queue_depth(EVENTS_QUEUE) == Some(0)
        },
        "every hostile message settled",
    )
    .await;
    let [worker] = workers;
    let exited = worker.drain().await;
    assert_eq!(exited.code, Some(0), "stderr: {}", tail(&exited.stderr, 3000));
    assert!(!exited.stderr.contains("panicked"), "{}", tail(&exited.stderr, 3000));

    let outcomes: BTreeMap<String, (String, String)> = exited
        .reports()
        .iter()
        .map(|r| {
            (
                r["message"].as_str().unwrap().to_string(),
                (r["outcome"].as_str().unwrap().to_string(), r["reason"].as_str().unwrap_or("").to_string()),
            )
        })
        .collect();
    let parked: BTreeMap<String, String> = env
        .sim
        .peek_all(fleetgate::sim::servicebus::POISON_QUEUE)
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.message.message_id.clone(),
                p.message.property(fleetgate::source::REASON_PROPERTY).and_then(Value::as_str).unwrap_or("").to_string(),
            )
        })
        .collect();
    let big = env
        .sim
        .peek_all(fleetgate::sim::servicebus::POISON_QUEUE)
        .unwrap()
        .into_iter()
        .find(|p| p.message.message_id == "h03")
        .expect("1 MB body parked");
    assert!(big.message.body.len() <= fleetgate::source::MAX_PARKED_BODY_BYTES, "the parked copy fits a Standard-tier message");
    assert_eq!(
        big.message.property(fleetgate::source::BODY_TRUNCATED_PROPERTY),
        Some(&json!(cases[3].body.len())),
        "and says how long it was"
    );
    let journal = env.sim.journal_since(start_seq);
    let writes: Vec<String> = journal
        .iter()
        .filter(|e| e.is_write() && !ours.contains(&e.path.to_ascii_lowercase()))
        .map(|e| format!("{} {} {}", e.method, e.path, e.status))
        .collect();
    let reads = journal.iter().filter(|e| e.is_read() || e.is_graph_query()).count();
    let mut problems = Vec::new();
    println!("hostile messages through fleetgate run ({} inputs):", cases.len());
    for (i, c) in cases.iter().enumerate() {
        let id = format!("h{i:02}");
        let (outcome, reason) = outcomes.get(&id).cloned().unwrap_or_default();
        let settled = if let Some(r) = parked.get(&id) {
            format!("parked ({})", r.chars().take(110).collect::<String>())
        } else {
            "completed".into()
        };
        let why = if parked.contains_key(&id) || reason.is_empty() {
            String::new()
        } else {
            format!(" [{}]", reason.chars().take(90).collect::<String>())
        };
        println!("  {id} {:<62} → {outcome:<9} {settled}{why}", c.what);
        if !c.allowed.contains(&outcome.as_str()) {
            problems.push(format!("{id} {}: outcome {outcome:?} ({reason}), expected one of {:?}", c.what, c.allowed));
        }
        if (outcome == "rejected") != parked.contains_key(&id) || parked.get(&id).is_some_and(|r| r.trim().is_empty()) {
            problems.push(format!("{id} {}: rejected must mean parked with a reason (parked: {:?})", c.what, parked.get(&id)));
        }
    }
    println!(
        "  ARM writes by fleetgate: {}; ARM reads: {reads}; dead-lettered: {}; process exit code {:?}",
        writes.len(),
        env.sim.dead_letters(EVENTS_QUEUE).unwrap().len(),
        exited.code
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(writes.is_empty(), "fleetgate wrote: {writes:#?}");
    assert!(env.sim.dead_letters(EVENTS_QUEUE).unwrap().is_empty(), "every message had a clear outcome, none needed the DLQ");
    assert_eq!(outcomes.len(), cases.len(), "one report per message, each handled once: {}", exited.stdout);
}
