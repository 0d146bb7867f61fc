//! [`InFlight`]: the messages being worked on, as futures polled by the worker's own task rather than
//! one spawned task each.
//!
//! A spawned task per message cost a scheduler hand-off (and, on the multi-thread runtime, usually a
//! thread wake-up) per message; the handling itself spends its time waiting on HTTP, whose connection
//! tasks hyper spawns anyway. Polled inline, a message costs no extra task. A panic while settling or
//! reporting is caught here (the handling itself is already guarded in `message`) and reported as a
//! [`Joined::Panicked`], as a panicking task was before.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};

use super::message::MessageReport;

/// How one in-flight message ended.
pub(super) enum Joined {
    /// It was handled and settled (or abandoned) and produced its report.
    Done(MessageReport),
    /// It panicked outside the guarded handling; its message is delivered again when its lock expires.
    Panicked(String),
}

type Job = Pin<Box<dyn Future<Output = Joined> + Send>>;

/// The in-flight messages of one worker.
#[derive(Default)]
pub(super) struct InFlight {
    jobs: FuturesUnordered<Job>,
}

impl InFlight {
    /// Adds a message's work; it makes progress whenever [`InFlight::next`] is polled.
    pub(super) fn push(&mut self, work: impl Future<Output = MessageReport> + Send + 'static) {
        self.jobs.push(Box::pin(AssertUnwindSafe(work).catch_unwind().map(|r| match r {
            Ok(report) => Joined::Done(report),
            Err(payload) => Joined::Panicked(panic_text(payload.as_ref())),
        })));
    }

    /// The next message to finish; pending forever while none is in flight (for `select!`).
    pub(super) async fn next(&mut self) -> Joined {
        match self.jobs.next().await {
            Some(joined) => joined,
            None => std::future::pending().await,
        }
    }

    /// A finished message, if one is ready now (never waits).
    pub(super) fn try_next(&mut self) -> Option<Joined> {
        self.jobs.next().now_or_never().flatten()
    }

    /// Messages in flight.
    pub(super) fn len(&self) -> usize {
        self.jobs.len()
    }

    /// No message in flight.
    pub(super) fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Drops every unfinished message's work (its message is delivered again when its lock expires).
    pub(super) fn cancel_all(&mut self) {
        self.jobs.clear();
    }
}

fn panic_text(payload: &(dyn Any + Send)) -> String {
    let text = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
    text.unwrap_or_else(|| "no message".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MessageId;
    use crate::worker::Settled;
    use std::time::Duration;

    fn report(n: u64) -> MessageReport {
        MessageReport {
            id: MessageId::Line(n),
            delivery_count: 1,
            outcome: None,
            cluster: None,
            reason: None,
            settled: Settled::Completed,
            renewals: 0,
            elapsed: Duration::ZERO,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn finished_work_and_panics_come_back_and_cancel_drops_the_rest() {
        let mut set = InFlight::default();
        assert!(set.try_next().is_none());
        set.push(async { report(1) });
        set.push(async { panic!("boom") });
        set.push(std::future::pending());
        assert_eq!(set.len(), 3);
        let mut done = Vec::new();
        for _ in 0..2 {
            match set.next().await {
                Joined::Done(r) => done.push(r.id),
                Joined::Panicked(text) => done.push(MessageId::Broker(text)),
            }
        }
        assert!(done.contains(&MessageId::Line(1)) && done.contains(&MessageId::Broker("boom".into())), "{done:?}");
        assert_eq!(set.len(), 1);
        assert!(tokio::time::timeout(Duration::from_millis(1), set.next()).await.is_err(), "pending work stays pending");
        set.cancel_all();
        assert!(set.is_empty());
    }
}
