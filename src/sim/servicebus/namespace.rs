//! The simulated namespace: queues by (case-insensitive) name, each with a `Notify` that wakes long-polling
//! receivers, and the SAS rules. One `std::sync::Mutex`, never held across an `.await`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::message::{NewMessage, SbClock};
use super::queue::{DeadLetter, Peeked, Queue, Sent, Sub};
use super::spec::{QueueSpec, QueueSpecError, ROOT_RULE, SasRule, default_queues};
use crate::sim::pipeline::lock;

struct Slot {
    queue: Queue,
    /// Woken when a message may have become available (send, abandon, lock expiry).
    ready: Arc<Notify>,
}

#[derive(Default)]
struct Namespace {
    queues: HashMap<String, Slot>,
    rules: Vec<SasRule>,
    /// SAS signatures presented (as sent and decoded), for secret-hygiene tests.
    signatures: HashSet<String>,
}

/// The Service Bus side of one simulator.
pub struct ServiceBus {
    ns: Mutex<Namespace>,
}

/// Shows queue names and rule names only (never keys).
impl std::fmt::Debug for ServiceBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = lock(&self.ns);
        let mut queues: Vec<&str> = ns.queues.values().map(|s| s.queue.spec().name.as_str()).collect();
        queues.sort_unstable();
        let rules: Vec<&str> = ns.rules.iter().map(|r| r.name.as_str()).collect();
        f.debug_struct("ServiceBus").field("queues", &queues).field("sas_rules", &rules).finish()
    }
}

impl Default for ServiceBus {
    fn default() -> Self {
        Self::new()
    }
}

impl ServiceBus {
    /// A namespace with the default queues and a [`ROOT_RULE`] with a random key.
    pub fn new() -> Self {
        let sb = Self { ns: Mutex::new(Namespace::default()) };
        for spec in default_queues() {
            // The defaults are valid (unit-tested in `spec`).
            let _ = sb.create_queue(spec);
        }
        sb.add_sas_rule(SasRule::random(ROOT_RULE));
        sb
    }

    /// Creates a queue, or replaces the queue of that name (its messages are dropped).
    pub fn create_queue(&self, spec: QueueSpec) -> Result<(), QueueSpecError> {
        spec.validate()?;
        let key = spec.name.to_ascii_lowercase();
        lock(&self.ns).queues.insert(key, Slot { queue: Queue::new(spec), ready: Arc::new(Notify::new()) });
        Ok(())
    }

    /// Deletes a queue; false when there was none.
    pub fn delete_queue(&self, name: &str) -> bool {
        let removed = lock(&self.ns).queues.remove(&name.to_ascii_lowercase());
        if let Some(slot) = &removed {
            slot.ready.notify_waiters();
        }
        removed.is_some()
    }

    /// Queue definitions, sorted by name.
    pub fn queues(&self) -> Vec<QueueSpec> {
        let mut specs: Vec<QueueSpec> = lock(&self.ns).queues.values().map(|s| s.queue.spec().clone()).collect();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        specs
    }

    /// Adds a SAS rule, replacing one with the same name.
    pub fn add_sas_rule(&self, rule: SasRule) {
        let mut ns = lock(&self.ns);
        ns.rules.retain(|r| r.name != rule.name);
        ns.rules.push(rule);
    }

    /// The SAS rules (with keys: in-process use only).
    pub fn sas_rules(&self) -> Vec<SasRule> {
        lock(&self.ns).rules.clone()
    }

    /// Remembers the `sig` of a presented SAS token (raw and decoded forms).
    pub fn note_signature(&self, forms: impl IntoIterator<Item = String>) {
        lock(&self.ns).signatures.extend(forms.into_iter().filter(|s| !s.is_empty()));
    }

    /// The SAS signatures presented so far.
    pub fn signatures_seen(&self) -> Vec<String> {
        lock(&self.ns).signatures.iter().cloned().collect()
    }

    /// The key of rule `name`.
    pub fn sas_key(&self, name: &str) -> Option<String> {
        lock(&self.ns).rules.iter().find(|r| r.name == name).map(|r| r.key.clone())
    }

    /// The `Notify` of a queue (`None` when it does not exist).
    pub fn ready(&self, name: &str) -> Option<Arc<Notify>> {
        lock(&self.ns).queues.get(&name.to_ascii_lowercase()).map(|s| Arc::clone(&s.ready))
    }

    /// Runs `f` on queue `name` after releasing expired locks (waking receivers when any expired);
    /// `None` when the queue does not exist. `f` returns whether to wake receivers afterwards.
    pub fn with_queue<R>(&self, name: &str, now: Instant, f: impl FnOnce(&mut Queue) -> (R, bool)) -> Option<R> {
        let mut ns = lock(&self.ns);
        let slot = ns.queues.get_mut(&name.to_ascii_lowercase())?;
        let expired = slot.queue.expire(now);
        let (result, wake) = f(&mut slot.queue);
        if expired || wake {
            slot.ready.notify_waiters();
        }
        Some(result)
    }

    /// Enqueues messages (all or none: `None` when the queue does not exist).
    pub fn send(&self, name: &str, messages: Vec<NewMessage>, clock: &SbClock) -> Option<Vec<Sent>> {
        self.with_queue(name, clock.now, |q| {
            let sent: Vec<Sent> = messages.into_iter().map(|m| q.send(m, clock)).collect();
            let any = sent.iter().any(|s| matches!(s, Sent::Accepted(_)));
            (sent, any)
        })
    }

    /// Messages in the queue (`sub` = the queue or its dead-letter queue), locked ones included.
    pub fn depth(&self, name: &str, sub: Sub) -> Option<usize> {
        self.with_queue(name, Instant::now(), |q| (q.depth(sub, Instant::now()), false))
    }

    /// Scheduled messages of the queue not yet due.
    pub fn scheduled_count(&self, name: &str) -> Option<usize> {
        self.with_queue(name, Instant::now(), |q| (q.scheduled_len(), false))
    }

    /// Every message without taking a lock.
    pub fn peek_all(&self, name: &str, sub: Sub) -> Option<Vec<Peeked>> {
        self.with_queue(name, Instant::now(), |q| (q.peek_all(sub, Instant::now()), false))
    }

    /// The dead-letter queue's messages with their reasons.
    pub fn dead_letters(&self, name: &str) -> Option<Vec<DeadLetter>> {
        self.with_queue(name, Instant::now(), |q| (q.dead_letters(Instant::now()), false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::servicebus::spec::{EVENTS_QUEUE, POISON_QUEUE};

    #[test]
    fn starts_with_the_default_queues_and_root_rule() {
        let sb = ServiceBus::new();
        let names: Vec<String> = sb.queues().into_iter().map(|q| q.name).collect();
        assert_eq!(names, [EVENTS_QUEUE, POISON_QUEUE]);
        let key = sb.sas_key(ROOT_RULE).unwrap();
        assert!(!format!("{sb:?}").contains(&key), "Debug must not show keys");
        assert_ne!(ServiceBus::new().sas_key(ROOT_RULE), Some(key), "random per start");
    }

    #[test]
    fn queues_are_case_insensitive_and_replaceable() {
        let sb = ServiceBus::new();
        sb.create_queue(QueueSpec::new("Orders")).unwrap();
        let clock = SbClock::current();
        assert_eq!(sb.send("orders", vec![NewMessage::new("a")], &clock), Some(vec![Sent::Accepted(1)]));
        assert_eq!(sb.depth("ORDERS", Sub::Main), Some(1));
        sb.create_queue(QueueSpec::new("orders").max_delivery_count(3)).unwrap();
        assert_eq!(sb.depth("orders", Sub::Main), Some(0), "re-declaring empties the queue");
        assert!(sb.create_queue(QueueSpec::new("bad name")).is_err());
        assert!(sb.delete_queue("Orders"));
        assert_eq!(sb.send("orders", vec![NewMessage::new("a")], &clock), None);
    }
}
