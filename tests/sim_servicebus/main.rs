//! The simulator's Service Bus surface through the real azure_messaging_servicebus 0.21 `QueueClient` and
//! fleetgate's `queue` module (transport + wrapper), over loopback HTTP.
//!
//! Auth paths exercised: the crate's own SAS signature passed through (`QueueAuth::PassThrough`), SAS
//! re-signed by the transport (`QueueAuth::Sas`), and Microsoft Entra bearer tokens from the real
//! azure_identity `ClientSecretCredential` against the simulator's token endpoint (`QueueAuth::Entra`).

mod auth;
mod faults;
mod lifecycle;
mod malformed;
mod polling;
mod scheduled;
mod sending;
mod support;
