//! The simulated Service Bus REST data plane, under `/sb/` on the simulator (one namespace: a client's
//! `https://{ns}.servicebus.windows.net/{path}` is served at `{base}/sb/{path}`).
//!
//! | request | answer |
//! |---|---|
//! | `POST /sb/{queue}/messages` (single, or batch with `application/vnd.microsoft.servicebus.json`) | 201 |
//! | `POST /sb/{queue}/messages/head?timeout=N` (peek-lock) | 201 + body, `BrokerProperties`, `Location`, user-property headers; 204 after up to N s |
//! | `DELETE /sb/{queue}/messages/head?timeout=N` (receive-and-delete) | 200 + body and `BrokerProperties` (no lock), 204 |
//! | `DELETE` / `PUT` / `POST` `{lock-uri}` | complete / abandon / renew → 200, 404 when the lock is lost |
//! | anything on a queue that does not exist | 410 |
//!
//! `{queue}/$deadletterqueue` works wherever `{queue}` does (except send). Lock expiry and abandon make a
//! message available again with `DeliveryCount` + 1; when a message's deliveries reach
//! `max_delivery_count` it moves to the dead-letter queue with the user properties `DeadLetterReason:
//! "MaxDeliveryCountExceeded"` and `DeadLetterErrorDescription`. Duplicate detection drops a send whose
//! `MessageId` was seen within the window (still 201). A message with `ScheduledEnqueueTimeUtc` in its
//! `BrokerProperties` stays invisible until then (see `queue`). Errors use the service's XML shape.
//!
//! Pipeline for `/sb/`: auth (SAS with a real HMAC-SHA256 check, or a simulator-issued Bearer token for
//! `https://servicebus.azure.net`) → fault rules (same globs as ARM, e.g. `/sb/*/messages/head`) →
//! latency (the `read` figure of the preset for every operation) → handler; the journal records each
//! request like ARM ones. Not simulated: sessions, cancelling a scheduled message, TTL expiry (TTL is
//! reported only), topics, SAS rights (every rule may send and listen), management (Atom) operations.

mod auth;
mod entity;
mod message;
mod namespace;
mod queue;
mod rest;
mod sas;
mod send;
mod spec;
mod wire;

pub use auth::SERVICE_BUS_AUDIENCE;
pub use message::{Message, NewMessage, SbClock};
pub use namespace::ServiceBus;
pub use queue::{DeadLetter, MAX_DELIVERY_COUNT_EXCEEDED, Peeked, Sent, Sub};
pub use spec::{EVENTS_QUEUE, POISON_QUEUE, QueueSpec, QueueSpecError, ROOT_RULE, SasRule};
pub use wire::RawResponse;

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::faults::FaultAction;
use super::http::{SimRequest, SimResponse};
use super::latency::LatencyKind;
use super::pipeline::{Outcome, SimCore, lock};
use super::route::SERVICE_BUS_PREFIX;

/// Runs one `/sb/` request through auth, faults, latency and the handler.
pub(super) async fn serve(core: &SimCore, req: &SimRequest) -> Outcome {
    let rel = wire::percent_decode(req.path.strip_prefix(SERVICE_BUS_PREFIX).unwrap_or(""));
    let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    if let Some(forms) = req.header("authorization").and_then(sas::sas_value).and_then(sas::signature_forms) {
        core.service_bus.note_signature(forms);
    }
    let rules = core.service_bus.sas_rules();
    let authenticated = auth::authenticate(req.header("authorization"), &rules, &lock(&core.tokens), Instant::now(), now_unix, &rel);
    if let Err(detail) = authenticated {
        return Outcome::Bytes(RawResponse::error(401, &detail));
    }
    let decision = lock(&core.faults).evaluate(&req.method, &req.path);
    sleep(decision.delay).await;
    match decision.action {
        Some(FaultAction::Reset) => return Outcome::Reset,
        Some(FaultAction::Respond(response)) => return Outcome::Bytes(fault_response(response)),
        None => {}
    }
    let delay = lock(&core.latency).delay(LatencyKind::Read);
    sleep(delay).await;
    let target = match wire::parse(&req.method, &rel) {
        Ok(target) => target,
        Err(response) => return Outcome::Bytes(response),
    };
    Outcome::Bytes(rest::handle(&core.service_bus, req, &target).await)
}

/// A fault rule's answer in the Service Bus XML shape (its code and message in the detail).
fn fault_response(response: SimResponse) -> RawResponse {
    let code = response.error_code().unwrap_or("InjectedFault").to_string();
    let message = response.body.as_ref().and_then(|b| b.pointer("/error/message")).and_then(|m| m.as_str()).unwrap_or_default().to_string();
    let mut raw = RawResponse::error(response.status, &format!("{code}: {message}"));
    raw.headers.extend(response.headers);
    raw
}

async fn sleep(d: std::time::Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}
