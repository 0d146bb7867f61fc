//! One run of the suite's main scenario: seed the simulator with a generated fleet, measure the writes
//! a clean reconcile needs, send the first half of the traffic, start `fleetgate run` replicas, make
//! the registry attachments and send the second half mid-run, wait until every message is settled,
//! SIGTERM the replicas, and account for everything.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use fleetgate::sim::JournalEntry;
use fleetgate::sim::faults::FaultRule;
use fleetgate::sim::servicebus::{EVENTS_QUEUE, NewMessage, QueueSpec, Sent};
use fleetgate::sim::state::SimCounts;
use serde_json::{Value, json};

use crate::audit::Needed;
use crate::common::{TestEnv, start};
use crate::ledger::{Ledger, SequenceMap, account, completions};
use crate::proc::{Exited, Worker, run_env, tail};
use crate::traffic::{Attach, Msg, Traffic, build};
use crate::world::{Kind, SCOPE, World};

/// What to run.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Clusters in the fleet.
    pub clusters: usize,
    /// Messages sent.
    pub messages: usize,
    /// `fleetgate run` processes.
    pub replicas: usize,
    /// Seed of the fleet, the traffic and the simulator's RNG.
    pub seed: u64,
    /// The events queue's lock duration.
    pub lock: Duration,
    /// Fault rules active while the workers run (not while the baseline is planned).
    pub faults: Vec<FaultRule>,
    /// Extra environment for the workers.
    pub env: Vec<(&'static str, String)>,
    /// How long the whole run may take.
    pub deadline: Duration,
}

impl Setup {
    /// `replicas` workers, `clusters` clusters, `messages` messages, no faults; everything must settle
    /// within 2 minutes plus 1 s per message.
    pub fn new(replicas: usize, clusters: usize, messages: usize, seed: u64) -> Self {
        Self {
            clusters,
            messages,
            replicas,
            seed,
            lock: Duration::from_secs(5),
            faults: Vec::new(),
            env: Vec::new(),
            deadline: Duration::from_secs(120 + messages as u64),
        }
    }
}

/// What a run produced.
pub struct Run {
    /// The simulator (still running) and the test's own engine.
    pub env: TestEnv,
    /// The fleet.
    pub world: World,
    /// The messages.
    pub traffic: Traffic,
    /// Writes a clean reconcile of each cluster needs.
    pub needed: Needed,
    /// Resource counts before the workers started.
    pub counts_before: SimCounts,
    /// Paths the test itself wrote (the attachments), lower case.
    pub test_writes: BTreeSet<String>,
    /// The journal at the end (ARM and Service Bus).
    pub journal: Vec<JournalEntry>,
    /// Message accounting.
    pub ledger: Ledger,
    /// The workers after SIGTERM.
    pub exited: Vec<Exited>,
    /// From starting the workers to every message settled.
    pub elapsed: Duration,
    /// The fault rules and how often each fired.
    pub firings: Vec<(FaultRule, u64)>,
}

/// The simulator options of the suite: short LROs polled fast, no bodies in the journal.
pub fn sim_options(seed: u64) -> String {
    format!("seed = {seed}\nlro_duration = \"300ms\"\nlro_retry_after_secs = 0\njournal_bodies = false\n")
}

/// Runs the scenario.
pub async fn run(setup: &Setup) -> Run {
    let world = World::generate(setup.clusters, setup.seed);
    let env = start(&world.fleet_toml(&sim_options(setup.seed)), &SCOPE, |s| {
        // The test plans too while the workers run; it must outlast their ARM throttling.
        s.azure.retry.max_attempts = 40;
        s.azure.operation_timeout = Duration::from_secs(60);
    })
    .await;
    env.sim.create_queue(QueueSpec::new(EVENTS_QUEUE).lock_duration(setup.lock)).unwrap();
    let traffic = build(&world, setup.messages, setup.seed);
    let mut needed = Needed::default();
    let not_attach: Vec<_> = world.cases.iter().filter(|c| c.kind != Kind::Attach).map(|c| c.id.clone()).collect();
    needed.add_plans(&env.engine, &not_attach).await;
    let counts_before = env.sim.with_state(|s| s.counts());
    for rule in &setup.faults {
        env.sim.add_fault(rule.clone());
    }
    let mut sequence = SequenceMap::new();
    for m in &traffic.first {
        send(&env, m, &mut sequence);
    }
    let mut run_env = run_env(&env.sim, &SCOPE);
    for (k, v) in &setup.env {
        run_env = run_env.env(k, v.clone());
    }
    let started = Instant::now();
    let workers: Vec<Worker> = (0..setup.replicas).map(|i| Worker::start(&run_env, &format!("replica-{i}"))).collect();
    let mut progress = Progress::default();
    let half = traffic.first.len() / 2;
    wait_until(setup.deadline, &workers, || progress.poll(&env, &sequence).len() >= half, "half of the first messages").await;
    let mut test_writes = BTreeSet::new();
    let mut attached = HashSet::new();
    for m in &traffic.second {
        if let Some(a) = &m.attach
            && attached.insert(a.assignment.key().to_string())
        {
            attach(&env, a).await;
            test_writes.insert(a.assignment.key().to_string());
            needed.add_plans(&env.engine, [&a.cluster]).await;
        }
        send(&env, m, &mut sequence);
    }
    let ids: Vec<&str> = traffic.all().map(|m| m.id.as_str()).collect();
    wait_until(
        setup.deadline,
        &workers,
        || {
            let done = progress.poll(&env, &sequence);
            let dead: HashSet<String> = env.sim.dead_letters(EVENTS_QUEUE).unwrap().into_iter().map(|d| d.message_id).collect();
            let drained = env.sim.queue_depth(EVENTS_QUEUE) == Some(0) && env.sim.scheduled_count(EVENTS_QUEUE) == Some(0);
            drained && ids.iter().all(|id| done.contains_key(*id) || dead.contains(*id))
        },
        "every message settled",
    )
    .await;
    let elapsed = started.elapsed();
    let firings = env.sim.fault_firings();
    env.sim.clear_faults();
    let mut exited = Vec::new();
    for w in &workers {
        w.sigterm();
    }
    for w in workers {
        exited.push(w.exit(Duration::from_secs(30)).await);
    }
    let reports: Vec<Value> = exited.iter().flat_map(Exited::reports).collect();
    let sent: Vec<&Msg> = traffic.all().collect();
    let ledger = account(&env.sim, &sent, &reports, &sequence);
    let journal = env.sim.journal();
    Run { env, world, traffic, needed, counts_before, test_writes, journal, ledger, exited, elapsed, firings }
}

/// Enqueues one message with its `MessageId`; remembers its sequence number (lock URIs name it).
pub fn send(env: &TestEnv, m: &Msg, sequence: &mut SequenceMap) {
    let mut message = NewMessage::new(m.body.clone()).message_id(m.id.clone());
    message.content_type = Some("application/json".into());
    match env.sim.send(EVENTS_QUEUE, message) {
        Some(Sent::Accepted(seq)) => {
            sequence.insert(seq, m.id.clone());
        }
        other => panic!("send {}: {other:?}", m.id),
    }
}

/// Gives the cluster's kubelet identity AcrPull on the registry, as `az aks update --attach-acr` does
/// (random name, no principalType), through ARM.
pub async fn attach(env: &TestEnv, a: &Attach) {
    let doc = env.sim.with_state(|s| s.cluster_document(a.cluster.as_str())).expect("cluster");
    let kubelet = doc.pointer("/properties/identityProfile/kubeletidentity/objectId").and_then(Value::as_str).expect("kubelet").to_string();
    let role = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d",
        a.registry.subscription_id()
    );
    let body = json!({"properties": {"roleDefinitionId": role, "principalId": kubelet}});
    env.engine.arm().put(a.assignment.as_str(), "2022-04-01", &body, None).await.unwrap_or_else(|e| panic!("attach {}: {e}", a.registry));
}

/// Completed message IDs, read incrementally from the journal.
#[derive(Default)]
pub struct Progress {
    last: u64,
    done: HashMap<String, usize>,
}

impl Progress {
    /// Reads new journal entries; returns the completions so far.
    pub fn poll(&mut self, env: &TestEnv, sequence: &SequenceMap) -> &HashMap<String, usize> {
        let entries = env.sim.journal_since(self.last);
        self.last = entries.last().map_or(self.last, |e| e.seq);
        for (id, n) in completions(&entries, sequence) {
            *self.done.entry(id).or_insert(0) += n;
        }
        &self.done
    }
}

/// Polls `cond` every 100 ms; panics (with the workers' stderr) after `within`.
pub async fn wait_until(within: Duration, workers: &[Worker], mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + within;
    while !cond() {
        if Instant::now() > deadline {
            let outputs: Vec<String> = workers.iter().map(|w| format!("{}: {} report lines", w.name, w.reports_now().len())).collect();
            panic!(
                "not reached within {within:?}: {what}; {outputs:?}; last stdout: {}",
                workers.first().map(|w| tail(&w.stdout_now(), 2000).to_string()).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
