//! A queue: its main entity, its `$deadletterqueue`, sequence numbers, duplicate detection and
//! scheduled messages (pure).
//!
//! A message sent with `ScheduledEnqueueTimeUtc` (RFC 1123 / RFC 2822 in `BrokerProperties`, as the REST
//! API takes it) in the future gets its sequence number at once but stays invisible — not received, not
//! counted, not peeked — until that time; then it is enqueued like any message (`EnqueuedTimeUtc` = the
//! scheduled time). Duplicate detection applies at send, so a second send with the same `MessageId` within
//! the window is dropped, also while the first is still scheduled.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde_json::Value;
use time::OffsetDateTime;
use tokio::time::Instant;
use uuid::Uuid;

use super::entity::{Delivery, Entity, LockLost};
use super::message::{Message, NewMessage, SbClock};
use super::spec::QueueSpec;

/// `DeadLetterReason` of a message that exceeded `MaxDeliveryCount`.
pub const MAX_DELIVERY_COUNT_EXCEEDED: &str = "MaxDeliveryCountExceeded";

/// Which entity of a queue a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sub {
    /// The queue itself.
    Main,
    /// `{queue}/$deadletterqueue`.
    DeadLetter,
}

/// What a send did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// Enqueued with this sequence number.
    Accepted(u64),
    /// Dropped: the `MessageId` was seen within the duplicate-detection window.
    Duplicate,
}

/// A message in the dead-letter queue, as tests and the demo inspect it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// `MessageId`.
    pub message_id: String,
    /// `SequenceNumber` in the source queue.
    pub sequence_number: u64,
    /// Payload bytes.
    pub body: Vec<u8>,
    /// `DeadLetterReason`.
    pub reason: String,
    /// `DeadLetterErrorDescription`.
    pub description: String,
    /// Deliveries before it was dead-lettered.
    pub delivery_count: u32,
}

/// A message as `Queue::peek_all` shows it (no lock taken).
#[derive(Debug, Clone, PartialEq)]
pub struct Peeked {
    /// The message.
    pub message: Message,
    /// Deliveries so far.
    pub delivery_count: u32,
    /// Locked by a receiver right now.
    pub locked: bool,
}

/// One queue.
#[derive(Debug, Clone)]
pub struct Queue {
    spec: QueueSpec,
    main: Entity,
    dlq: Entity,
    next_seq: u64,
    /// `(first seen, MessageId)` in arrival order, for the duplicate-detection window.
    seen: VecDeque<(Instant, String)>,
    seen_ids: HashSet<String>,
    /// Scheduled messages by (due, sequence number), with their due time in UTC.
    scheduled: BTreeMap<(Instant, u64), (Message, OffsetDateTime)>,
}

/// The `ScheduledEnqueueTimeUtc` of a sent message, if it has a readable one.
pub fn scheduled_time(broker: &serde_json::Map<String, Value>) -> Option<Result<OffsetDateTime, String>> {
    let raw = broker.get("ScheduledEnqueueTimeUtc")?;
    let text = raw.as_str().map(str::trim).unwrap_or_default();
    Some(OffsetDateTime::parse(text, &time::format_description::well_known::Rfc2822).map_err(|e| {
        format!("BrokerProperties.ScheduledEnqueueTimeUtc must be an RFC 1123 date like 'Sun, 06 Nov 1994 08:49:37 GMT', not {raw}: {e}")
    }))
}

impl Queue {
    /// An empty queue (the spec is assumed valid).
    pub fn new(spec: QueueSpec) -> Self {
        Self {
            main: Entity::new(spec.lock_duration, Some(spec.max_delivery_count)),
            dlq: Entity::new(spec.lock_duration, None),
            next_seq: spec.first_sequence_number,
            seen: VecDeque::new(),
            seen_ids: HashSet::new(),
            scheduled: BTreeMap::new(),
            spec,
        }
    }

    /// The definition.
    pub fn spec(&self) -> &QueueSpec {
        &self.spec
    }

    fn entity(&mut self, sub: Sub) -> &mut Entity {
        match sub {
            Sub::Main => &mut self.main,
            Sub::DeadLetter => &mut self.dlq,
        }
    }

    /// Enqueues `new` (duplicate detection applies when enabled and a `MessageId` is given).
    pub fn send(&mut self, new: NewMessage, clock: &SbClock) -> Sent {
        if self.spec.requires_duplicate_detection
            && let Some(id) = new.message_id.as_deref()
        {
            self.forget_old_ids(clock.now);
            if self.seen_ids.contains(id) {
                return Sent::Duplicate;
            }
            self.seen.push_back((clock.now, id.to_string()));
            self.seen_ids.insert(id.to_string());
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let due = scheduled_time(&new.broker).and_then(Result::ok).filter(|due| *due > clock.utc);
        let message = Message::from_new(new, seq, clock.utc);
        match due {
            Some(due_utc) => {
                let wait = (due_utc - clock.utc).unsigned_abs();
                self.scheduled.insert((clock.now + wait, seq), (message, due_utc));
            }
            None => self.main.insert(message, 0),
        }
        Sent::Accepted(seq)
    }

    /// Enqueues the scheduled messages that are due at `now`; true when any was.
    fn promote_due(&mut self, now: Instant) -> bool {
        let mut any = false;
        while let Some(entry) = self.scheduled.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (mut message, due_utc) = entry.remove();
            message.enqueued_utc = due_utc;
            self.main.insert(message, 0);
            any = true;
        }
        any
    }

    /// Scheduled messages not yet due.
    pub fn scheduled_len(&self) -> usize {
        self.scheduled.len()
    }

    fn forget_old_ids(&mut self, now: Instant) {
        while let Some((at, id)) = self.seen.front() {
            if now.duration_since(*at) < self.spec.duplicate_detection_window {
                break;
            }
            self.seen_ids.remove(id);
            self.seen.pop_front();
        }
    }

    /// Releases expired locks in both entities, dead-lettering what reached the maximum, and enqueues due
    /// scheduled messages; true when anything became available.
    pub fn expire(&mut self, now: Instant) -> bool {
        let promoted = self.promote_due(now);
        let any_expired = promoted || self.next_lock_expiry().is_some_and(|t| t <= now);
        let dead = self.main.expire_locks(now);
        self.dlq.expire_locks(now);
        for (message, count) in dead {
            self.dead_letter(message, count);
        }
        any_expired
    }

    fn dead_letter(&mut self, mut message: Message, delivery_count: u32) {
        message.set_property("DeadLetterReason", Value::String(MAX_DELIVERY_COUNT_EXCEEDED.into()));
        let description =
            format!("Message could not be consumed after {} delivery attempts.", self.spec.max_delivery_count.max(delivery_count));
        message.set_property("DeadLetterErrorDescription", Value::String(description));
        self.dlq.insert(message, delivery_count);
    }

    /// When the next lock in either entity expires.
    pub fn next_lock_expiry(&self) -> Option<Instant> {
        [self.main.next_lock_expiry(), self.dlq.next_lock_expiry()].into_iter().flatten().min()
    }

    /// When something next becomes available without a request: a lock expiry or a scheduled message.
    pub fn next_wakeup(&self) -> Option<Instant> {
        [self.next_lock_expiry(), self.scheduled.keys().next().map(|(due, _)| *due)].into_iter().flatten().min()
    }

    /// Peek-lock on `sub`.
    pub fn lock_next(&mut self, sub: Sub, now: Instant) -> Option<Delivery> {
        self.expire(now);
        self.entity(sub).lock_next(now)
    }

    /// Receive-and-delete on `sub`.
    pub fn take_next(&mut self, sub: Sub, now: Instant) -> Option<Delivery> {
        self.expire(now);
        self.entity(sub).take_next(now)
    }

    /// Complete.
    pub fn complete(&mut self, sub: Sub, id: &str, token: Uuid, now: Instant) -> Result<(), LockLost> {
        self.expire(now);
        self.entity(sub).complete(id, token, now).map(|_| ())
    }

    /// Abandon (dead-letters when the delivery count reached the maximum).
    pub fn abandon(&mut self, sub: Sub, id: &str, token: Uuid, now: Instant) -> Result<(), LockLost> {
        self.expire(now);
        if let Some((message, count)) = self.entity(sub).abandon(id, token, now)? {
            self.dead_letter(message, count);
        }
        Ok(())
    }

    /// Renew; returns the new lock expiry.
    pub fn renew(&mut self, sub: Sub, id: &str, token: Uuid, now: Instant) -> Result<Instant, LockLost> {
        self.expire(now);
        self.entity(sub).renew(id, token, now)
    }

    /// Messages in `sub` (locked ones included: Service Bus's active message count).
    pub fn depth(&mut self, sub: Sub, now: Instant) -> usize {
        self.expire(now);
        self.entity(sub).len()
    }

    /// Every message of `sub` without locking.
    pub fn peek_all(&mut self, sub: Sub, now: Instant) -> Vec<Peeked> {
        self.expire(now);
        self.entity(sub)
            .peek_all(now)
            .into_iter()
            .map(|(message, delivery_count, locked)| Peeked { message, delivery_count, locked })
            .collect()
    }

    /// The dead-letter queue's messages with their reasons.
    pub fn dead_letters(&mut self, now: Instant) -> Vec<DeadLetter> {
        let text = |m: &Message, name: &str| m.property(name).and_then(Value::as_str).unwrap_or_default().to_string();
        self.peek_all(Sub::DeadLetter, now)
            .into_iter()
            .map(|p| DeadLetter {
                reason: text(&p.message, "DeadLetterReason"),
                description: text(&p.message, "DeadLetterErrorDescription"),
                message_id: p.message.message_id,
                sequence_number: p.message.sequence_number,
                body: p.message.body,
                delivery_count: p.delivery_count,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use time::OffsetDateTime;

    fn clock(now: Instant) -> SbClock {
        SbClock { now, utc: OffsetDateTime::UNIX_EPOCH }
    }

    #[test]
    fn duplicates_within_the_window_are_dropped() {
        let t0 = Instant::now();
        let mut q = Queue::new(QueueSpec::new("q").duplicate_detection(Duration::from_secs(60)));
        assert_eq!(q.send(NewMessage::new("a").message_id("m"), &clock(t0)), Sent::Accepted(1));
        assert_eq!(q.send(NewMessage::new("b").message_id("m"), &clock(t0 + Duration::from_secs(59))), Sent::Duplicate);
        assert_eq!(q.send(NewMessage::new("c"), &clock(t0)), Sent::Accepted(2), "no MessageId, no detection");
        assert_eq!(q.send(NewMessage::new("d").message_id("m"), &clock(t0 + Duration::from_secs(60))), Sent::Accepted(3));
        let mut off = Queue::new(QueueSpec::new("q"));
        off.send(NewMessage::new("a").message_id("m"), &clock(t0));
        assert_eq!(off.send(NewMessage::new("a").message_id("m"), &clock(t0)), Sent::Accepted(2));
    }

    fn scheduled(body: &str, id: &str, at: OffsetDateTime) -> NewMessage {
        let mut m = NewMessage::new(body).message_id(id);
        m.broker.insert("ScheduledEnqueueTimeUtc".into(), Value::String(super::super::message::http_date(at)));
        m
    }

    #[test]
    fn a_scheduled_message_is_invisible_until_due_then_delivered_like_any() {
        let t0 = Instant::now();
        let utc0 = time::macros::datetime!(2026-12-07 04:00:00 UTC);
        let at = |secs: u64| SbClock { now: t0 + Duration::from_secs(secs), utc: utc0 + Duration::from_secs(secs) };
        let mut q = Queue::new(QueueSpec::new("q").duplicate_detection(Duration::from_secs(600)));
        assert_eq!(q.send(scheduled("later", "m1", utc0 + Duration::from_secs(90)), &at(0)), Sent::Accepted(1));
        assert_eq!(q.send(NewMessage::new("now").message_id("m2"), &at(0)), Sent::Accepted(2));
        assert_eq!((q.depth(Sub::Main, at(0).now), q.scheduled_len()), (1, 1), "not counted while scheduled");
        assert_eq!(q.next_wakeup(), Some(t0 + Duration::from_secs(90)));
        let first = q.lock_next(Sub::Main, at(1).now).unwrap();
        assert_eq!(first.message.message_id, "m2");
        q.complete(Sub::Main, "2", first.lock.unwrap().token, at(1).now).unwrap();
        assert!(q.lock_next(Sub::Main, at(89).now).is_none(), "not visible before it is due");
        assert!(q.peek_all(Sub::Main, at(89).now).is_empty());
        assert_eq!(q.send(scheduled("again", "m1", utc0 + Duration::from_secs(95)), &at(30)), Sent::Duplicate, "dedup while scheduled");
        assert!(q.expire(at(90).now), "becoming due wakes receivers");
        let due = q.lock_next(Sub::Main, at(90).now).unwrap();
        assert_eq!((due.message.message_id.as_str(), due.message.sequence_number, due.delivery_count), ("m1", 1, 1));
        assert_eq!(due.message.enqueued_utc, utc0 + Duration::from_secs(90));
        assert_eq!(q.scheduled_len(), 0);
        let past = scheduled("past", "m3", utc0);
        assert_eq!(q.send(past, &at(100)), Sent::Accepted(3));
        assert_eq!(q.depth(Sub::Main, at(100).now), 2, "a time in the past enqueues at once");
    }

    #[test]
    fn sequence_numbers_start_where_the_spec_says() {
        let mut q = Queue::new(QueueSpec::new("q").first_sequence_number(1 << 31));
        assert_eq!(q.send(NewMessage::new("a"), &clock(Instant::now())), Sent::Accepted(1 << 31));
    }

    #[test]
    fn exceeding_max_delivery_count_moves_to_the_dead_letter_queue() {
        let t0 = Instant::now();
        let mut q = Queue::new(QueueSpec::new("q").max_delivery_count(2).lock_duration(Duration::from_secs(1)));
        q.send(NewMessage::new("poison").message_id("p"), &clock(t0));
        let d1 = q.lock_next(Sub::Main, t0).unwrap();
        q.abandon(Sub::Main, "1", d1.lock.unwrap().token, t0).unwrap();
        let d2 = q.lock_next(Sub::Main, t0).unwrap();
        assert_eq!(d2.delivery_count, 2);
        assert_eq!(q.next_lock_expiry(), Some(t0 + Duration::from_secs(1)));
        let t1 = t0 + Duration::from_secs(1);
        assert!(q.lock_next(Sub::Main, t1).is_none(), "expired after the last allowed delivery");
        assert_eq!(q.depth(Sub::Main, t1), 0);
        let dead = q.dead_letters(t1);
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].reason.as_str(), dead[0].delivery_count, dead[0].body.as_slice()),
            ("MaxDeliveryCountExceeded", 2, &b"poison"[..])
        );
        assert!(dead[0].description.contains("2 delivery attempts"), "{}", dead[0].description);
        let from_dlq = q.lock_next(Sub::DeadLetter, t1).unwrap();
        assert_eq!(from_dlq.message.property("DeadLetterReason"), Some(&Value::String("MaxDeliveryCountExceeded".into())));
        q.complete(Sub::DeadLetter, "p", from_dlq.lock.unwrap().token, t1).unwrap();
        assert!(q.dead_letters(t1).is_empty());
    }

    #[test]
    fn abandon_at_the_limit_dead_letters_at_once() {
        let t0 = Instant::now();
        let mut q = Queue::new(QueueSpec::new("q").max_delivery_count(1));
        q.send(NewMessage::new("x"), &clock(t0));
        let d = q.lock_next(Sub::Main, t0).unwrap();
        q.abandon(Sub::Main, "1", d.lock.unwrap().token, t0).unwrap();
        assert_eq!((q.depth(Sub::Main, t0), q.depth(Sub::DeadLetter, t0)), (0, 1));
        let peeked = q.peek_all(Sub::DeadLetter, t0);
        assert_eq!((peeked[0].delivery_count, peeked[0].locked), (1, false));
    }
}
