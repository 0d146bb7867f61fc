//! The REST operations over the namespace: send → 201; peek-lock → 201 with `BrokerProperties`,
//! `Location` and user-property headers, or 204 after a real long poll (woken by a send, an abandon or a
//! lock expiry or a scheduled message coming due); complete/abandon/renew → 200, or 404 when the lock
//! is lost; unknown queue → 410.

use std::time::Duration;

use tokio::time::Instant;

use super::entity::{Delivery, LockLost};
use super::message::{SbClock, broker_properties, property_header_value};
use super::namespace::ServiceBus;
use super::queue::Sub;
use super::send;
use super::wire::{DEFAULT_MESSAGE_CONTENT_TYPE, Op, RawResponse, Target};
use crate::sim::http::SimRequest;

/// Long-poll wait when the request has no `timeout` (the service's default).
pub const DEFAULT_RECEIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest long-poll wait the simulator grants.
pub const MAX_RECEIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// Answers one parsed request.
pub async fn handle(sb: &ServiceBus, req: &SimRequest, target: &Target) -> RawResponse {
    let now = Instant::now();
    match &target.op {
        Op::Send => send(sb, req, target),
        Op::PeekLock | Op::ReceiveAndDelete => match receive_timeout(req) {
            Ok(timeout) => receive(sb, req, target, timeout).await,
            Err(bad) => bad,
        },
        Op::Complete(id, token) => {
            lock_op(sb, target, |q| q.complete(target.sub, id, *token, now).map(|()| (RawResponse::empty(200), false)))
        }
        Op::Abandon(id, token) => lock_op(sb, target, |q| q.abandon(target.sub, id, *token, now).map(|()| (RawResponse::empty(200), true))),
        Op::Renew(id, token) => lock_op(sb, target, |q| {
            let until = q.renew(target.sub, id, *token, now)?;
            let clock = SbClock::current();
            let header = format!(r#"{{"LockedUntilUtc":"{}"}}"#, super::message::http_date(clock.utc_at(until)));
            Ok((RawResponse::empty(200).with_header("brokerproperties", header), false))
        }),
    }
}

fn gone(queue: &str) -> RawResponse {
    RawResponse::error(410, &format!("The messaging entity '{queue}' could not be found. Create it first (SimHandle::create_queue)."))
}

fn send(sb: &ServiceBus, req: &SimRequest, target: &Target) -> RawResponse {
    if target.sub == Sub::DeadLetter {
        return RawResponse::error(400, &format!("Messages cannot be sent to the dead-letter queue '{}'.", target.entity_path));
    }
    let messages = match send::messages(req) {
        Ok(m) => m,
        Err(bad) => return bad,
    };
    match sb.send(&target.queue, messages, &SbClock::current()) {
        Some(_) => RawResponse::empty(201),
        None => gone(&target.queue),
    }
}

type LockResult = Result<(RawResponse, bool), LockLost>;

fn lock_op(sb: &ServiceBus, target: &Target, f: impl FnOnce(&mut super::queue::Queue) -> LockResult) -> RawResponse {
    match sb.with_queue(&target.queue, Instant::now(), |q| match f(q) {
        Ok((response, wake)) => (response, wake),
        Err(LockLost) => (
            RawResponse::error(
                404,
                &format!(
                    "The lock supplied is invalid. Either the lock expired, or the message has already been removed from '{}'.",
                    target.entity_path
                ),
            ),
            false,
        ),
    }) {
        Some(response) => response,
        None => gone(&target.queue),
    }
}

fn receive_timeout(req: &SimRequest) -> Result<Duration, RawResponse> {
    match req.query_param("timeout") {
        None => Ok(DEFAULT_RECEIVE_TIMEOUT),
        Some(raw) => raw
            .parse::<u64>()
            .map(|s| Duration::from_secs(s).min(MAX_RECEIVE_TIMEOUT))
            .map_err(|_| RawResponse::error(400, &format!("The timeout '{raw}' is not a whole number of seconds."))),
    }
}

/// Peek-lock or receive-and-delete, waiting up to `timeout` for a message.
async fn receive(sb: &ServiceBus, req: &SimRequest, target: &Target, timeout: Duration) -> RawResponse {
    let deadline = Instant::now() + timeout;
    let delete = target.op == Op::ReceiveAndDelete;
    loop {
        let Some(ready) = sb.ready(&target.queue) else { return gone(&target.queue) };
        let notified = ready.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let clock = SbClock::current();
        let attempt = sb.with_queue(&target.queue, clock.now, |q| {
            let delivery = if delete { q.take_next(target.sub, clock.now) } else { q.lock_next(target.sub, clock.now) };
            ((delivery, q.next_wakeup()), false)
        });
        let next_expiry = match attempt {
            None => return gone(&target.queue),
            Some((Some(delivery), _)) => return delivered(&delivery, &origin(req), &target.entity_path, &clock),
            Some((None, next_expiry)) => next_expiry,
        };
        if clock.now >= deadline {
            return RawResponse::empty(204);
        }
        let wake = next_expiry.map_or(deadline, |t| t.min(deadline));
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep_until(wake) => {}
        }
    }
}

/// `http://{Host}` as the client addressed the simulator (so `localhost` clients get `localhost` lock
/// URIs), else the simulator's own base URL.
fn origin(req: &SimRequest) -> String {
    match req.header("host").filter(|h| !h.is_empty() && !h.contains(['/', ' ', '@'])) {
        Some(host) => format!("http://{host}"),
        None => req.base_url.clone(),
    }
}

/// The 201 of a delivery.
fn delivered(d: &Delivery, base_url: &str, entity_path: &str, clock: &SbClock) -> RawResponse {
    let m = &d.message;
    let content_type = m.content_type.clone().unwrap_or_else(|| DEFAULT_MESSAGE_CONTENT_TYPE.to_string());
    let status = if d.lock.is_some() { 201 } else { 200 };
    let mut response = RawResponse { status, headers: Vec::new(), body: m.body.clone() }
        .with_header("content-type", content_type)
        .with_header("brokerproperties", broker_properties(m, d.delivery_count, d.lock, clock));
    if let Some(lock) = d.lock {
        response = response.with_header("location", format!("{base_url}/sb/{entity_path}/messages/{}/{}", m.sequence_number, lock.token));
    }
    for (name, value) in &m.properties {
        response = response.with_header(name, property_header_value(value));
    }
    response
}
