//! Per-key async locks: serialize work on one key (FIC writes on one managed identity, reconciles of one
//! cluster) while different keys proceed in parallel. Entries are dropped when nobody holds or waits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// A map of async mutexes created on demand, keyed case-insensitively.
#[derive(Debug, Default, Clone)]
pub struct KeyedLocks {
    inner: Arc<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>>,
}

/// Holds the lock for one key; releasing it may remove the entry.
#[derive(Debug)]
pub struct KeyGuard {
    key: String,
    guard: Option<OwnedMutexGuard<()>>,
    owner: KeyedLocks,
}

impl KeyedLocks {
    /// Creates an empty set of locks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits for the lock of `key`.
    pub async fn lock(&self, key: &str) -> KeyGuard {
        let key = key.to_ascii_lowercase();
        let mutex = {
            let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(key.clone()).or_default().clone()
        };
        let guard = mutex.lock_owned().await;
        KeyGuard { key, guard: Some(guard), owner: self.clone() }
    }

    /// Takes the lock of `key` only if it is free right now.
    pub fn try_lock(&self, key: &str) -> Option<KeyGuard> {
        let key = key.to_ascii_lowercase();
        let mut map = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mutex = map.entry(key.clone()).or_default().clone();
        let guard = mutex.try_lock_owned().ok()?;
        Some(KeyGuard { key, guard: Some(guard), owner: self.clone() })
    }

    /// Number of keys currently tracked (held or awaited).
    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// True when no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self.owner.inner.lock().unwrap_or_else(|p| p.into_inner());
        // One reference in the map and none elsewhere: nobody holds or awaits this key.
        if map.get(&self.key).is_some_and(|m| Arc::strong_count(m) == 1) {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn same_key_is_serialized_case_insensitively() {
        let locks = KeyedLocks::new();
        let active = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for i in 0..4 {
            let (locks, active, max) = (locks.clone(), active.clone(), max.clone());
            let key = if i % 2 == 0 { "/Sub/MI" } else { "/sub/mi" };
            tasks.push(tokio::spawn(async move {
                let _g = locks.lock(key).await;
                let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                max.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(1)).await;
                active.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(max.load(Ordering::SeqCst), 1);
        assert!(locks.is_empty(), "entries must be dropped after use");
    }

    #[tokio::test(start_paused = true)]
    async fn different_keys_run_in_parallel() {
        let locks = KeyedLocks::new();
        let start = tokio::time::Instant::now();
        let a = {
            let l = locks.clone();
            tokio::spawn(async move {
                let _g = l.lock("a").await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            })
        };
        let b = {
            let l = locks.clone();
            tokio::spawn(async move {
                let _g = l.lock("b").await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            })
        };
        a.await.unwrap();
        b.await.unwrap();
        assert!(start.elapsed() < Duration::from_millis(1500));
    }

    #[test]
    fn try_lock_fails_while_held() {
        let locks = KeyedLocks::new();
        let g = locks.try_lock("k").unwrap();
        assert!(locks.try_lock("K").is_none());
        drop(g);
        assert!(locks.try_lock("k").is_some());
    }
}
