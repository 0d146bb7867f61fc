//! One messaging entity (a queue or its `$deadletterqueue`): messages in sequence order, peek-locks,
//! delivery counts. Pure: every operation takes the monotonic `now`, so tests use synthetic instants.
//!
//! Rules (as Service Bus documents them):
//! - a peek-lock hands out the oldest unlocked message, increments its `DeliveryCount` and locks it for
//!   `lock_duration`;
//! - complete removes it; abandon or lock expiry unlocks it — unless its delivery count has reached
//!   `max_delivery_count`, then it is returned for dead-lettering (the queue moves it);
//! - renew extends a live lock; a lost lock (expired, completed, abandoned) answers [`LockLost`].

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;
use uuid::Uuid;

use super::message::{LockInfo, Message};

/// A complete/abandon/renew whose lock is not (or no longer) held: 404 over REST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockLost;

/// A message handed to a receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The message.
    pub message: Message,
    /// `DeliveryCount`, including this delivery.
    pub delivery_count: u32,
    /// The lock (`None` for receive-and-delete).
    pub lock: Option<LockInfo>,
}

#[derive(Debug, Clone)]
struct Slot {
    message: Message,
    delivery_count: u32,
    lock: Option<LockInfo>,
}

/// Messages of one entity.
#[derive(Debug, Clone)]
pub struct Entity {
    lock_duration: Duration,
    /// `None` for a dead-letter queue (nothing is dead-lettered out of it).
    max_delivery_count: Option<u32>,
    slots: BTreeMap<u64, Slot>,
}

impl Entity {
    /// An empty entity.
    pub fn new(lock_duration: Duration, max_delivery_count: Option<u32>) -> Self {
        Self { lock_duration, max_delivery_count, slots: BTreeMap::new() }
    }

    /// Adds a message with `delivery_count` deliveries so far.
    pub fn insert(&mut self, message: Message, delivery_count: u32) {
        self.slots.insert(message.sequence_number, Slot { message, delivery_count, lock: None });
    }

    /// Messages in the entity (locked or not).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Every message with its delivery count and whether it is locked at `now`, in sequence order.
    pub fn peek_all(&self, now: Instant) -> Vec<(Message, u32, bool)> {
        self.slots.values().map(|s| (s.message.clone(), s.delivery_count, s.lock.is_some_and(|l| l.until > now))).collect()
    }

    /// Releases expired locks; returns the messages that reached `max_delivery_count` (removed here).
    pub fn expire_locks(&mut self, now: Instant) -> Vec<(Message, u32)> {
        let expired: Vec<u64> = self.slots.iter().filter(|(_, s)| s.lock.is_some_and(|l| l.until <= now)).map(|(k, _)| *k).collect();
        expired.into_iter().filter_map(|seq| self.release(seq)).collect()
    }

    /// When the next lock expires, if any message is locked.
    pub fn next_lock_expiry(&self) -> Option<Instant> {
        self.slots.values().filter_map(|s| s.lock.map(|l| l.until)).min()
    }

    /// Peek-lock: locks the oldest available message (call [`Entity::expire_locks`] first).
    pub fn lock_next(&mut self, now: Instant) -> Option<Delivery> {
        let slot = self.slots.values_mut().find(|s| s.lock.is_none_or(|l| l.until <= now))?;
        slot.delivery_count += 1;
        let lock = LockInfo { token: Uuid::new_v4(), until: now + self.lock_duration };
        slot.lock = Some(lock);
        Some(Delivery { message: slot.message.clone(), delivery_count: slot.delivery_count, lock: Some(lock) })
    }

    /// Receive-and-delete: removes the oldest available message.
    pub fn take_next(&mut self, now: Instant) -> Option<Delivery> {
        let seq = *self.slots.iter().find(|(_, s)| s.lock.is_none_or(|l| l.until <= now))?.0;
        let slot = self.slots.remove(&seq)?;
        Some(Delivery { message: slot.message, delivery_count: slot.delivery_count + 1, lock: None })
    }

    /// Complete: removes the locked message.
    pub fn complete(&mut self, id: &str, token: Uuid, now: Instant) -> Result<Message, LockLost> {
        let seq = self.held(id, token, now)?;
        self.slots.remove(&seq).map(|s| s.message).ok_or(LockLost)
    }

    /// Abandon: unlocks the message; `Ok(Some(..))` when it must be dead-lettered instead.
    pub fn abandon(&mut self, id: &str, token: Uuid, now: Instant) -> Result<Option<(Message, u32)>, LockLost> {
        let seq = self.held(id, token, now)?;
        Ok(self.release(seq))
    }

    /// Renew: extends the lock by `lock_duration` from `now`; returns the new expiry.
    pub fn renew(&mut self, id: &str, token: Uuid, now: Instant) -> Result<Instant, LockLost> {
        let seq = self.held(id, token, now)?;
        let until = now + self.lock_duration;
        let slot = self.slots.get_mut(&seq).ok_or(LockLost)?;
        slot.lock = Some(LockInfo { token, until });
        Ok(until)
    }

    /// The sequence number of the message `id` (sequence number or `MessageId`) locked with `token`.
    fn held(&self, id: &str, token: Uuid, now: Instant) -> Result<u64, LockLost> {
        let (seq, slot) = self.slots.iter().find(|(_, s)| s.lock.is_some_and(|l| l.token == token)).ok_or(LockLost)?;
        let id_matches = id.parse::<u64>().is_ok_and(|n| n == *seq) || id == slot.message.message_id;
        let live = slot.lock.is_some_and(|l| l.until > now);
        if id_matches && live { Ok(*seq) } else { Err(LockLost) }
    }

    /// Unlocks `seq`; removes and returns it when its deliveries reached the maximum.
    fn release(&mut self, seq: u64) -> Option<(Message, u32)> {
        let slot = self.slots.get_mut(&seq)?;
        slot.lock = None;
        if self.max_delivery_count.is_some_and(|max| slot.delivery_count >= max) {
            return self.slots.remove(&seq).map(|s| (s.message, s.delivery_count));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::servicebus::message::NewMessage;
    use time::OffsetDateTime;

    fn entity_with(n: u64, max: Option<u32>) -> Entity {
        let mut e = Entity::new(Duration::from_secs(30), max);
        for seq in 1..=n {
            e.insert(
                Message::from_new(NewMessage::new(format!("m{seq}")).message_id(format!("id{seq}")), seq, OffsetDateTime::UNIX_EPOCH),
                0,
            );
        }
        e
    }

    fn token(d: &Delivery) -> Uuid {
        d.lock.unwrap().token
    }

    #[test]
    fn locks_in_order_and_complete_removes() {
        let t0 = Instant::now();
        let mut e = entity_with(2, Some(10));
        let a = e.lock_next(t0).unwrap();
        let b = e.lock_next(t0).unwrap();
        assert_eq!((a.message.sequence_number, b.message.sequence_number), (1, 2));
        assert_eq!(a.delivery_count, 1);
        assert_eq!(a.lock.unwrap().until, t0 + Duration::from_secs(30));
        assert!(e.lock_next(t0).is_none(), "both are locked");
        assert_eq!(e.complete("1", token(&b), t0), Err(LockLost), "the id must match the lock");
        assert_eq!(e.complete("id1", token(&a), t0).unwrap().sequence_number, 1);
        assert_eq!(e.complete("1", token(&a), t0), Err(LockLost), "completed twice");
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn abandon_and_expiry_redeliver_with_a_higher_count() {
        let t0 = Instant::now();
        let mut e = entity_with(1, Some(10));
        let first = e.lock_next(t0).unwrap();
        assert_eq!(e.abandon("1", token(&first), t0), Ok(None));
        let second = e.lock_next(t0).unwrap();
        assert_eq!(second.delivery_count, 2);
        assert_ne!(token(&first), token(&second));
        let later = t0 + Duration::from_secs(30);
        assert_eq!(e.next_lock_expiry(), Some(later));
        assert!(e.expire_locks(later - Duration::from_millis(1)).is_empty());
        assert!(e.lock_next(later - Duration::from_millis(1)).is_none());
        assert!(e.expire_locks(later).is_empty());
        assert_eq!(e.complete("1", token(&second), later), Err(LockLost), "an expired lock is lost");
        assert_eq!(e.lock_next(later).unwrap().delivery_count, 3);
    }

    #[test]
    fn renew_extends_only_a_live_lock() {
        let t0 = Instant::now();
        let mut e = entity_with(1, Some(10));
        let d = e.lock_next(t0).unwrap();
        let t20 = t0 + Duration::from_secs(20);
        assert_eq!(e.renew("1", token(&d), t20), Ok(t20 + Duration::from_secs(30)));
        let t40 = t0 + Duration::from_secs(40);
        assert!(e.expire_locks(t40).is_empty(), "renewed lock still live at 40 s");
        assert!(e.lock_next(t40).is_none());
        assert_eq!(e.renew("1", Uuid::new_v4(), t40), Err(LockLost));
        let t50 = t20 + Duration::from_secs(30);
        assert_eq!(e.renew("1", token(&d), t50), Err(LockLost), "expired at 50 s");
    }

    #[test]
    fn max_delivery_count_hands_the_message_back_for_dead_lettering() {
        let t0 = Instant::now();
        let mut e = entity_with(1, Some(2));
        let d1 = e.lock_next(t0).unwrap();
        assert_eq!(e.abandon("1", token(&d1), t0), Ok(None));
        let _d2 = e.lock_next(t0).unwrap();
        let dead = e.expire_locks(t0 + Duration::from_secs(30));
        assert_eq!(dead.len(), 1);
        assert_eq!((dead[0].0.sequence_number, dead[0].1), (1, 2));
        assert_eq!(e.len(), 0);
        let mut dlq = entity_with(1, None);
        for _ in 0..20 {
            let d = dlq.lock_next(t0).unwrap();
            assert_eq!(dlq.abandon("1", token(&d), t0), Ok(None), "a DLQ never dead-letters");
        }
    }

    #[test]
    fn receive_and_delete_takes_the_oldest_unlocked() {
        let t0 = Instant::now();
        let mut e = entity_with(2, Some(10));
        e.lock_next(t0).unwrap();
        let taken = e.take_next(t0).unwrap();
        assert_eq!((taken.message.sequence_number, taken.delivery_count, taken.lock), (2, 1, None));
        assert!(e.take_next(t0).is_none());
        assert_eq!(e.peek_all(t0).len(), 1);
        assert!(e.peek_all(t0)[0].2, "still locked");
    }
}
