//! The demo's live output: one line per handled message while the queue drains, then the table and
//! the summary.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use super::view;
use super::{DemoError, DemoResult};
use crate::dispatch::MessageOutcome;
use crate::sim::SimHandle;
use crate::sim::servicebus::{EVENTS_QUEUE, POISON_QUEUE};
use crate::source::MessageId;
use crate::worker::output::OUTCOMES;
use crate::worker::{MessageReport, WorkerStatus};

/// How often the drain check looks at the queue.
const DRAIN_POLL: Duration = Duration::from_millis(100);

/// Follows the worker's reports until the queue is drained.
pub(super) struct Watch {
    rx: UnboundedReceiver<MessageReport>,
    status: WorkerStatus,
    pub(super) labels: HashMap<String, String>,
    seen: Vec<MessageReport>,
    timeout: Duration,
}

impl Watch {
    pub(super) fn new(rx: UnboundedReceiver<MessageReport>, status: WorkerStatus, timeout: Duration) -> Self {
        Self { rx, status, labels: HashMap::new(), seen: Vec::new(), timeout }
    }

    /// Prints reports until at least `expected` arrived, the queue is empty and nothing is in flight.
    pub(super) async fn until_drained(&mut self, sim: &SimHandle, expected: usize, out: &mut (dyn Write + Send)) -> Result<(), DemoError> {
        let deadline = crate::deadline::from_now(self.timeout);
        loop {
            let depth = sim.queue_depth(EVENTS_QUEUE).unwrap_or(0);
            if self.seen.len() >= expected && depth == 0 && self.status.in_flight() == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(DemoError::Timeout(format!(
                    "the queue did not drain within {} s ({} of {expected} messages handled, {depth} still queued); see the messages above",
                    self.timeout.as_secs(),
                    self.seen.len()
                )));
            }
            tokio::select! {
                report = self.rx.recv() => match report {
                    Some(report) => {
                        say(out, &self.line(&report));
                        self.seen.push(report);
                    }
                    None => return Err(DemoError::Setup("the worker stopped before the queue drained".into())),
                },
                _ = tokio::time::sleep(DRAIN_POLL) => {}
            }
        }
    }

    fn line(&self, r: &MessageReport) -> String {
        let label = match &r.id {
            MessageId::Broker(id) => self.labels.get(id).cloned().unwrap_or_else(|| id.clone()),
            MessageId::Line(n) => format!("line {n}"),
        };
        let outcome = r.outcome.map_or("interrupted", MessageOutcome::label);
        // A blocker reason starts with its code; the rest repeats the cluster ID.
        let reason = match (r.outcome, r.reason.as_deref()) {
            (Some(MessageOutcome::Blocked), Some(x)) => format!(" — {}", x.split(':').next().unwrap_or(x)),
            (_, Some(x)) => format!(" — {}", x.chars().take(120).collect::<String>()),
            (_, None) => String::new(),
        };
        format!("  {outcome:<10} {label}{reason}  [{:.1} s]", r.elapsed.as_secs_f64())
    }
}

/// Prints the table and the summary.
pub(super) fn print_result(r: &DemoResult, out: &mut (dyn Write + Send)) {
    say(out, "\nFleet before → after:");
    say(out, &view::table(&r.rows));
    let counts: Vec<String> =
        OUTCOMES.iter().filter(|o| r.summary.count(**o) > 0).map(|o| format!("{} {}", r.summary.count(*o), o.label())).collect();
    say(out, &format!("Messages: {} published, {} handled — {}", r.published, r.summary.finished(), counts.join(", ")));
    say(out, &format!("Parked in {POISON_QUEUE}: {}", r.parked));
    say(out, &format!("ARM requests by the worker: {} reads, {} writes (simulator journal)", r.arm_reads, r.arm_writes));
    say(out, &format!("Wall time: {:.1} s", r.elapsed.as_secs_f64()));
    if r.ok() {
        say(out, "✔ every convergeable cluster converged; blocked and excluded clusters were left as they were");
    } else {
        say(out, "✖ the demo did not end as expected:");
        for p in &r.problems {
            say(out, &format!("  - {p}"));
        }
    }
}

/// Writes one line and flushes.
pub(super) fn say(out: &mut (dyn Write + Send), line: &str) {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
