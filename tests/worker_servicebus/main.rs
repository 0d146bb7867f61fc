//! The worker runtime through the real crate against the simulator's Service Bus over loopback:
//! peek-lock/complete, abandon → redelivery, lock renewal during a slow reconcile, MaxDeliveryCount →
//! dead-letter queue, poison parking, duplicate events, graceful shutdown (token and a real SIGTERM to
//! `fleetgate run`), SAS and Entra, empty receives and receive errors.

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod duplicates;
mod lifecycle;
mod locks;
mod poison;
mod shutdown;
mod support;
