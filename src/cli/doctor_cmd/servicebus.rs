//! Service Bus checks for the worker's `[queue]`: the namespace resolves, the queue exists, this
//! identity may receive from it, the poison queue exists, and a peek.
//!
//! The Service Bus REST API has no read that leaves a message untouched: a peek is a peek-lock
//! (1 s long poll) followed at once by releasing the lock (abandon). A message peeked this way keeps
//! its place in the queue, but its DeliveryCount goes up by one, as with any delivery; the check says
//! so when it happens. `doctor --no-peek` skips these receives.

use std::time::Duration;

use super::checks::Check;
use super::fixes::network_fix;
use super::network::reachable;
use fleetgate::config::{QueueAuthKind, Settings};
use fleetgate::fleet::open_queue;
use fleetgate::queue::{QueueError, Received};

/// Long poll of the peek.
const PEEK_WAIT: Duration = Duration::from_secs(1);
/// Bound on one queue check.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(8);

/// The Service Bus checks, or one skip when `[queue]` is not configured.
pub async fn checks(settings: &Settings, peek: bool) -> Vec<Check> {
    let q = &settings.queue;
    let endpoint = q.endpoint.trim();
    if q.namespace.trim().is_empty() && endpoint.is_empty() {
        return vec![Check::skip(
            "servicebus",
            "Service Bus: queue.namespace is not set (needed by `fleetgate run` and enqueue mode only)",
        )];
    }
    let url = if endpoint.is_empty() { format!("https://{}.servicebus.windows.net", q.namespace.trim()) } else { endpoint.to_string() };
    let key = if endpoint.is_empty() { "queue.namespace" } else { "queue.endpoint" };
    let network = reachable("servicebus.namespace", key, &url).await;
    let reached = network.status != super::checks::Status::Fail;
    let mut out = vec![network];
    if !reached {
        return out;
    }
    if !peek {
        out.push(Check::skip("servicebus.queue", "Service Bus queue checks skipped (--no-peek)"));
        return out;
    }
    out.extend(queue_checks(settings, &q.name, "servicebus.queue", &url).await);
    let poison = q.poison_queue_name();
    out.extend(queue_checks(settings, &poison, "servicebus.poison_queue", &url).await.into_iter().take(1));
    out
}

/// Peek-locks `name`: exists, may receive, peek (three lines), or one failure line.
async fn queue_checks(settings: &Settings, name: &str, check: &'static str, url: &str) -> Vec<Check> {
    let mut s = settings.clone();
    s.queue.name = name.to_string();
    let queue = match open_queue(&s, std::env::var("FLEETGATE_SAS_KEY").ok()) {
        Ok(q) => q,
        Err(e) => return vec![Check::fail(check, format!("Service Bus queue {name}: {e}"), auth_fix(settings))],
    };
    let received = match tokio::time::timeout(QUEUE_TIMEOUT, queue.receive(PEEK_WAIT)).await {
        Ok(r) => r,
        Err(_) => {
            return vec![Check::fail(
                check,
                format!("Service Bus queue {name}: no answer within {} s", QUEUE_TIMEOUT.as_secs()),
                network_fix("queue.namespace / queue.endpoint", url),
            )];
        }
    };
    match received {
        Ok(Received::Empty) => vec![
            Check::pass(check, format!("Service Bus queue {name} exists")),
            Check::pass(check, format!("this identity may receive from {name}")),
            Check::pass(check, format!("peek of {name}: empty")),
        ],
        Ok(Received::Message(m)) => {
            let (id, count) = (m.message_id().to_string(), m.delivery_count());
            let released = m.abandon().await.is_ok();
            let how =
                if released { "released at once" } else { "its lock could not be released; it is delivered again when the lock expires" };
            vec![
                Check::pass(check, format!("Service Bus queue {name} exists")),
                Check::pass(check, format!("this identity may receive from {name}")),
                Check::pass(check, format!("peek of {name}: message {id} (DeliveryCount now {count}; {how})")),
            ]
        }
        Err(e) => vec![queue_failure(check, name, &e, settings, url)],
    }
}

fn queue_failure(check: &'static str, name: &str, e: &QueueError, settings: &Settings, url: &str) -> Check {
    let fix = match e {
        QueueError::NotFound { .. } => format!(
            "create the queue {name} in the namespace (deploy/azure/fleetgate.json creates both queues), or fix queue.name / queue.poison_queue"
        ),
        QueueError::Unauthorized { .. } | QueueError::Credential { .. } => auth_fix(settings),
        QueueError::Transport { .. } => network_fix("queue.namespace / queue.endpoint", url),
        _ => "see the error above; docs/OPERATIONS.md \"Troubleshooting\"".into(),
    };
    Check::fail(check, e.to_string(), fix)
}

fn auth_fix(settings: &Settings) -> String {
    match settings.queue.auth {
        QueueAuthKind::Sas => format!(
            "queue.auth = \"sas\": set FLEETGATE_SAS_KEY to the key of the rule {} and give that rule the Listen right (Send for the poison queue)",
            settings.queue.sas_key_name
        ),
        QueueAuthKind::Entra => "queue.auth = \"entra\": give fleetgate's identity the Azure Service Bus Data Receiver and Data Sender roles on the namespace (deploy/azure/fleetgate.json does)".into(),
    }
}
