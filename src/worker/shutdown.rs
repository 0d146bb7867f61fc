//! [`Shutdown`]: a cloneable shutdown token. The first [`Shutdown::request`] asks the worker to stop
//! receiving and drain; a second one ends the grace period at once. The command wires SIGTERM/SIGINT to
//! it; tests call `request` directly instead of sending signals.

use std::sync::Arc;

use tokio::sync::watch;

/// A shutdown token shared by the signal handler and the worker.
#[derive(Debug, Clone)]
pub struct Shutdown {
    requests: Arc<watch::Sender<u32>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A token nobody has requested yet.
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(0);
        Self { requests: Arc::new(tx) }
    }

    /// Requests shutdown; returns how many requests there have been (1 = drain, 2+ = stop now).
    pub fn request(&self) -> u32 {
        let mut count = 0;
        self.requests.send_modify(|n| {
            *n = n.saturating_add(1);
            count = *n;
        });
        count
    }

    /// How many requests there have been.
    pub fn requests(&self) -> u32 {
        *self.requests.borrow()
    }

    /// True once shutdown was requested.
    pub fn is_requested(&self) -> bool {
        self.requests() > 0
    }

    /// Resolves once shutdown is requested (immediately if it already was).
    pub async fn requested(&self) {
        self.at_least(1).await;
    }

    /// Resolves once shutdown is requested a second time.
    pub async fn forced(&self) {
        self.at_least(2).await;
    }

    async fn at_least(&self, n: u32) {
        let mut rx = self.requests.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = rx.wait_for(|count| *count >= n).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn first_request_drains_second_forces() {
        let token = Shutdown::new();
        let waiter = tokio::spawn({
            let t = token.clone();
            async move { t.requested().await }
        });
        let forced = tokio::spawn({
            let t = token.clone();
            async move { t.forced().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished() && !token.is_requested());
        assert_eq!(token.request(), 1);
        waiter.await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!forced.is_finished());
        assert_eq!(token.clone().request(), 2, "clones share the count");
        forced.await.unwrap();
        token.requested().await;
    }
}
