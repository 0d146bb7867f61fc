//! [`WorkerStatus`]: what a readiness probe needs to know about a running worker — when the queue last
//! answered a receive, the last receive error, whether it is stopping, and how busy it is.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Live status of one worker. Cheap to clone; clones share the state.
#[derive(Debug, Clone, Default)]
pub struct WorkerStatus {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    last_receive_ok: Mutex<Option<Instant>>,
    last_receive_error: Mutex<Option<String>>,
    stopping: AtomicBool,
    in_flight: AtomicUsize,
    handled: AtomicU64,
}

impl WorkerStatus {
    /// A status with nothing received yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// When the queue last answered a receive (a message or an empty 204); `None` before the first.
    pub fn last_receive_ok(&self) -> Option<Instant> {
        *lock(&self.inner.last_receive_ok)
    }

    /// The last receive error, cleared by the next successful receive.
    pub fn last_receive_error(&self) -> Option<String> {
        lock(&self.inner.last_receive_error).clone()
    }

    /// True once shutdown started.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::Relaxed)
    }

    /// Messages being handled now.
    pub fn in_flight(&self) -> usize {
        self.inner.in_flight.load(Ordering::Relaxed)
    }

    /// Messages handled since start.
    pub fn handled(&self) -> u64 {
        self.inner.handled.load(Ordering::Relaxed)
    }

    /// Ready: not stopping, and the queue answered within `max_age`.
    pub fn is_ready(&self, max_age: Duration) -> bool {
        !self.is_stopping() && self.last_receive_ok().is_some_and(|t| t.elapsed() <= max_age)
    }

    pub(super) fn receive_ok(&self) {
        *lock(&self.inner.last_receive_ok) = Some(Instant::now());
        *lock(&self.inner.last_receive_error) = None;
    }

    pub(super) fn receive_failed(&self, error: &str) {
        *lock(&self.inner.last_receive_error) = Some(error.to_string());
    }

    pub(super) fn stopping(&self) {
        self.inner.stopping.store(true, Ordering::Relaxed);
    }

    pub(super) fn started_message(&self) {
        self.inner.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn finished_message(&self) {
        self.inner.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.inner.handled.fetch_add(1, Ordering::Relaxed);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_after_a_recent_receive_until_stopping() {
        let s = WorkerStatus::new();
        assert!(!s.is_ready(Duration::from_secs(60)), "nothing received yet");
        s.receive_failed("HTTP 503");
        assert_eq!(s.last_receive_error().as_deref(), Some("HTTP 503"));
        s.clone().receive_ok();
        assert!(s.is_ready(Duration::from_secs(60)) && s.last_receive_error().is_none());
        assert!(!s.is_ready(Duration::ZERO) || s.last_receive_ok().unwrap().elapsed().is_zero());
        s.started_message();
        assert_eq!(s.in_flight(), 1);
        s.finished_message();
        assert_eq!((s.in_flight(), s.handled()), (0, 1));
        s.stopping();
        assert!(!s.is_ready(Duration::from_secs(60)));
    }
}
