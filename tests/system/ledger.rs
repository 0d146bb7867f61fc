//! Message accounting: every sent `MessageId` must end completed (the simulator's journal shows the
//! `DELETE` on its lock URI answered 200), parked in the poison queue with a reason, or in the
//! dead-letter queue with one — and a final handling outcome that is correct for what the message was.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fleetgate::sim::servicebus::{EVENTS_QUEUE, POISON_QUEUE};
use fleetgate::sim::{JournalEntry, SimHandle};
use fleetgate::source::REASON_PROPERTY;
use serde_json::Value;

use crate::traffic::{CONVERGE, Msg};

/// Where every message ended.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Messages sent.
    pub sent: usize,
    /// Completed from the events queue (parked ones included: they are completed after the copy is sent).
    pub completed: usize,
    /// Parked in the poison queue, with their reasons.
    pub parked: BTreeMap<String, String>,
    /// Dead-lettered, with their reasons.
    pub dead_lettered: BTreeMap<String, String>,
    /// Still in the events queue.
    pub left_in_queue: usize,
    /// Sent but neither completed nor dead-lettered.
    pub lost: Vec<String>,
    /// Completed more than once (a lost lock let a second worker complete it too): a count, not an error.
    pub completed_twice: usize,
    /// Messages whose outcomes never included an acceptable one: `id → (label, outcomes seen)`.
    pub wrong_outcome: BTreeMap<String, (String, Vec<String>)>,
    /// Outcome counts over every report line (all deliveries).
    pub outcomes: BTreeMap<String, usize>,
    /// Deliveries reported (lines printed by the workers).
    pub deliveries: usize,
    /// Kinds of `failed` deliveries (see [`failure_kind`]), with counts.
    pub failures: BTreeMap<String, usize>,
}

impl Ledger {
    /// True when nothing vanished and every message had a correct outcome.
    pub fn clean(&self) -> bool {
        self.lost.is_empty() && self.left_in_queue == 0 && self.wrong_outcome.is_empty()
    }

    /// One line for the figures.
    pub fn summary(&self) -> String {
        format!(
            "sent {}, completed {} (parked {} with a reason), dead-lettered {}, left in queue {}, lost {}, completed twice {}, deliveries reported {}, outcomes {:?}",
            self.sent,
            self.completed,
            self.parked.len(),
            self.dead_lettered.len(),
            self.left_in_queue,
            self.lost.len(),
            self.completed_twice,
            self.deliveries,
            self.outcomes
        )
    }
}

/// A failure reason reduced to what failed and how: `GET cluster: HTTP 429 (SubscriptionRequestsThrottled)`.
pub fn failure_kind(reason: &str) -> String {
    let (call, how) = if let Some((call, rest)) = reason.split_once(" failed with HTTP ") {
        let status: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let code = rest.split_once('(').and_then(|(_, c)| c.split_once(')')).map_or("", |(c, _)| c);
        (call, format!("HTTP {status} ({code})"))
    } else if let Some((call, _)) = reason.split_once(": could not reach Azure Resource Manager") {
        (call, "no HTTP answer (connection reset)".to_string())
    } else if let Some((call, rest)) = reason.split_once(": no response after ").or_else(|| reason.split_once(": operation did not finish"))
    {
        (call, format!("timeout ({})", rest.split(';').next().unwrap_or(rest).trim()))
    } else if let Some((_, rest)) = reason.strip_prefix("/subscriptions/").and_then(|r| r.split_once(": ")) {
        // A reconcile-level error names the cluster first: keep what happened, not which cluster.
        return format!("cluster: {}", rest.split(['(', ';']).next().unwrap_or(rest).trim());
    } else {
        return reason.chars().take(100).collect();
    };
    let (method, path) = call.split_once(' ').unwrap_or(("", call));
    let p = path.to_ascii_lowercase();
    let what = [
        ("/operations/", "LRO poll"),
        ("/federatedidentitycredentials", "FICs"),
        ("/userassignedidentities/", "identity"),
        ("/roleassignments", "role assignments"),
        ("/pricings/", "pricing"),
        ("/registries/", "registry"),
        ("/managedclusters/", "cluster"),
        ("resourcegraph", "Resource Graph"),
    ]
    .iter()
    .find(|(needle, _)| p.contains(needle))
    .map_or("other", |(_, what)| what);
    format!("{method} {what}: {how}")
}

/// `SequenceNumber` → `MessageId` of the sent messages (lock URIs name the sequence number).
pub type SequenceMap = HashMap<u64, String>;

/// Message IDs completed on the events queue in `journal`, with how often: a `DELETE` on a lock URI
/// (`/sb/{queue}/messages/{sequence}/{lock}`) answered 200.
pub fn completions(journal: &[JournalEntry], sequence: &SequenceMap) -> HashMap<String, usize> {
    let prefix = format!("/sb/{EVENTS_QUEUE}/messages/");
    let mut out = HashMap::new();
    for e in journal.iter().filter(|e| e.method == "DELETE" && e.status == 200) {
        let seq = e.path.strip_prefix(&prefix).and_then(|rest| rest.split_once('/')).and_then(|(seq, _)| seq.parse::<u64>().ok());
        if let Some(id) = seq.and_then(|s| sequence.get(&s)) {
            *out.entry(id.clone()).or_insert(0) += 1;
        }
    }
    out
}

/// Accounts for `sent` given the report lines of every worker.
pub fn account(sim: &SimHandle, sent: &[&Msg], reports: &[Value], sequence: &SequenceMap) -> Ledger {
    let completed = completions(&sim.journal(), sequence);
    let mut ledger = Ledger { sent: sent.len(), ..Ledger::default() };
    for p in sim.peek_all(POISON_QUEUE).expect("poison queue") {
        let reason = p.message.property(REASON_PROPERTY).and_then(Value::as_str).unwrap_or_default().to_string();
        ledger.parked.insert(p.message.message_id.clone(), reason);
    }
    for d in sim.dead_letters(EVENTS_QUEUE).expect("events queue") {
        ledger.dead_lettered.insert(d.message_id.clone(), format!("{}: {}", d.reason, d.description));
    }
    ledger.left_in_queue = sim.queue_depth(EVENTS_QUEUE).expect("events queue");
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for r in reports {
        let id = r["message"].as_str().unwrap_or_default().to_string();
        let outcome = r["outcome"].as_str().unwrap_or_default().to_string();
        *ledger.outcomes.entry(outcome.clone()).or_insert(0) += 1;
        if outcome == "failed" {
            *ledger.failures.entry(failure_kind(r["reason"].as_str().unwrap_or_default())).or_insert(0) += 1;
        }
        seen.entry(id).or_default().push(outcome);
        ledger.deliveries += 1;
    }
    for m in sent {
        let times = completed.get(&m.id).copied().unwrap_or(0);
        ledger.completed += usize::from(times > 0);
        ledger.completed_twice += usize::from(times > 1);
        if times == 0 && !ledger.dead_lettered.contains_key(&m.id) {
            ledger.lost.push(m.id.clone());
        }
        let outcomes = seen.get(&m.id).cloned().unwrap_or_default();
        // `deferred`: the cluster was busy and a re-check was scheduled; the end-state audit checks it converged.
        let acceptable = |o: &str| m.allowed.contains(&o) || (o == "deferred" && m.allowed.iter().any(|a| CONVERGE.contains(a)));
        if times > 0 && !outcomes.iter().any(|o| acceptable(o)) {
            ledger.wrong_outcome.insert(m.id.clone(), (m.label.to_string(), outcomes));
        }
    }
    ledger
}

/// Checks that parked messages are exactly the ones that must be parked, each with a reason, and
/// that every dead-lettered message has a reason.
pub fn check_parking(ledger: &Ledger, sent: &[&Msg]) -> Vec<String> {
    let mut problems = Vec::new();
    let must_park: BTreeSet<&str> = sent.iter().filter(|m| m.allowed == ["rejected"]).map(|m| m.id.as_str()).collect();
    let parked: BTreeSet<&str> = ledger.parked.keys().map(String::as_str).collect();
    if must_park != parked {
        problems.push(format!("parked {parked:?}, expected {must_park:?}"));
    }
    for (id, reason) in ledger.parked.iter().chain(&ledger.dead_lettered) {
        if reason.trim().is_empty() {
            problems.push(format!("{id} parked or dead-lettered without a reason"));
        }
    }
    problems
}

#[test]
fn failure_kinds_name_the_call_and_the_status() {
    let reason = "GET /subscriptions/s/providers/Microsoft.Authorization/roleAssignments failed with HTTP 429 (SubscriptionRequestsThrottled): Number of 'read' requests";
    assert_eq!(failure_kind(reason), "GET role assignments: HTTP 429 (SubscriptionRequestsThrottled)");
    assert_eq!(failure_kind("cluster busy"), "cluster busy");
    let busy = "/subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerService/managedClusters/a: an AKS operation is still in progress (provisioningState Updating); fleetgate will retry later";
    assert_eq!(failure_kind(busy), "cluster: an AKS operation is still in progress");
    let reset = "GET /subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerService/managedClusters/a: could not reach Azure Resource Manager (error sending request); check network access";
    assert_eq!(failure_kind(reset), "GET cluster: no HTTP answer (connection reset)");
}
