//! The simulator's events queue as the library opens it.

use std::time::Duration;

use fleetgate::config::QueueAuthKind;
use fleetgate::fleet::open_queue;
use fleetgate::queue::ServiceBusQueue;
use fleetgate::sim::servicebus::EVENTS_QUEUE;
use fleetgate::worker::WorkerOptions;

use super::TestEnv;
use super::child::TEST_NAMESPACE;

/// The events queue of `env`'s simulator, opened with the root SAS key.
pub fn sas_queue(env: &TestEnv) -> ServiceBusQueue {
    let mut settings = env.settings.clone();
    settings.queue.endpoint = env.sim.service_bus_endpoint();
    settings.queue.namespace = TEST_NAMESPACE.into();
    settings.queue.name = EVENTS_QUEUE.into();
    settings.queue.auth = QueueAuthKind::Sas;
    open_queue(&settings, Some(env.sim.root_sas_key())).expect("queue opens")
}

/// Fast worker options for tests: 1 s long polls, 20 ms receive backoff, 5 s grace.
pub fn worker_options(max_concurrency: usize) -> WorkerOptions {
    WorkerOptions {
        max_concurrency,
        receive_wait: Duration::from_secs(1),
        lock_renewal_interval: Duration::from_secs(10),
        grace: Duration::from_secs(5),
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
    }
}
