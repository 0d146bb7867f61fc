//! Service Bus queue access for the event worker, built on the user's crate azure_messaging_servicebus
//! 0.21 (the REST client) and made production-worthy around it:
//!
//! - [`transport`]: [`ServiceBusTransport`], the crate's `HttpClient` seam — endpoint override (simulator,
//!   sovereign clouds), Microsoft Entra bearer tokens or SAS re-signing, a reqwest 0.12 client with a
//!   timeout and connection reuse, and the `BrokerProperties` repair the crate needs.
//! - `receive`: [`ServiceBusQueue`] — receive with the status handling the crate leaves out (201 / 204 /
//!   errors), settle ([`ReceivedMessage::complete`], [`ReceivedMessage::abandon`],
//!   [`ReceivedMessage::renew_lock`]), send and batch send ([`ServiceBusQueue::send_batch`]).
//! - `sas`: [`SasKey`], signing over the URL really requested.
//! - `error`: [`QueueError`], one variant per thing the operator can act on.
//! - `utf8`: received bodies that are not UTF-8 are made valid before the crate reads them.
//! - `limit`: bounds on response bodies (received messages cut at 4 MiB, anything else over 1 MiB refused).
//!
//! ```no_run
//! # async fn demo(endpoint: &str, key: &str) -> Result<(), Box<dyn std::error::Error>> {
//! use std::{sync::Arc, time::Duration};
//! use fleetgate::queue::{QueueAuth, Received, SasKey, ServiceBusQueue, ServiceBusTransport, DEFAULT_REQUEST_TIMEOUT};
//! let sas = SasKey::new("RootManageSharedAccessKey", key);
//! let transport = ServiceBusTransport::new(Some(endpoint), QueueAuth::Sas(sas.clone()), DEFAULT_REQUEST_TIMEOUT)?;
//! let queue = ServiceBusQueue::new(Arc::new(transport), "myns", "fleetgate-events", Some(&sas))?;
//! if let Received::Message(m) = queue.receive(Duration::from_secs(30)).await? {
//!     println!("{} (delivery {})", m.body(), m.delivery_count());
//!     m.complete().await?;
//! }
//! # Ok(()) }
//! ```

mod error;
mod limit;
mod receive;
mod sas;
pub mod transport;
mod utf8;

pub use error::QueueError;
pub use limit::{MAX_RECEIVED_BODY_BYTES, MAX_RESPONSE_BYTES};
pub use receive::{BATCH_CONTENT_TYPE, OutgoingMessage, Received, ReceivedMessage, ServiceBusQueue};
pub use sas::{SAS_TTL_SECS, SasKey};
pub use transport::{DEFAULT_REQUEST_TIMEOUT, QueueAuth, SERVICE_BUS_SCOPE, ServiceBusTransport, TransportError};
