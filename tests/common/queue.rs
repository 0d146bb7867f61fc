//! The simulator's events queue as the library opens it.

use fleetgate::config::QueueAuthKind;
use fleetgate::fleet::open_queue;
use fleetgate::queue::ServiceBusQueue;
use fleetgate::sim::servicebus::EVENTS_QUEUE;

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
