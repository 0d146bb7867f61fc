//! The simulator's HTTP server: axum on loopback with one catch-all handler that reads the whole request
//! into a [`SimRequest`] and runs the pipeline (`pipeline.rs`). ARM paths are hierarchical with arbitrary
//! scopes, so routing happens in `route.rs`, not in axum.
//!
//! Bodies over [`MAX_BODY_BYTES`] answer 413. Nothing here logs headers, so tokens never reach logs.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::conn::{ConnKill, KillableListener};
use super::faults::FaultRule;
use super::fleet::{Fleet, FleetError};
use super::http::{SimRequest, SimResponse};
use super::journal::JournalEntry;
use super::pipeline::{Outcome, SimCore, lock};
use super::servicebus::{DeadLetter, NewMessage, Peeked, QueueSpec, QueueSpecError, ROOT_RULE, RawResponse, SasRule, SbClock, Sent, Sub};
use super::state::SimState;
use super::token::normalize_audience;

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// How long [`SimHandle::shutdown`] waits for open connections before it aborts them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why the simulator could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Asked to listen on a non-loopback address.
    #[error("simulator: {addr} is not a loopback address; the simulator only listens on 127.0.0.1 or ::1 (e.g. --listen 127.0.0.1:8080)")]
    NotLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address could not be bound.
    #[error("simulator: cannot listen on {addr}: {source}; pick another port (0 = any free port)")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// The fleet could not seed the state.
    #[error("simulator: {0}")]
    Fleet(#[from] FleetError),
    /// A fault rule in `sim.faults` cannot work.
    #[error("simulator: sim.faults: {0}")]
    InvalidFault(String),
    /// Waiting for Ctrl-C / SIGTERM failed.
    #[error("simulator: cannot wait for Ctrl-C/SIGTERM: {0}")]
    Signal(io::Error),
}

/// Starts simulators.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Starts a simulator for `fleet` on the loopback `addr` (port 0 = any free port) and returns once it
    /// accepts connections.
    pub async fn start(fleet: Fleet, addr: SocketAddr) -> Result<SimHandle, SimError> {
        if !addr.ip().is_loopback() {
            return Err(SimError::NotLoopback { addr });
        }
        let listener = TcpListener::bind(addr).await.map_err(|source| SimError::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| SimError::Bind { addr, source })?;
        let core = Arc::new(SimCore::new(&fleet, format!("http://{local}"))?);
        let app = Router::new().fallback(handle).with_state(Arc::clone(&core));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = axum::serve(KillableListener::new(listener), app.into_make_service_with_connect_info::<ConnKill>())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
        let task = tokio::spawn(async move { server.await });
        tracing::info!(addr = %local, "simulator listening");
        Ok(SimHandle { addr: local, core, stop: Some(stop), task: Some(task) })
    }
}

/// A running simulator. Dropping it stops the server (without waiting); [`SimHandle::shutdown`] waits.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    core: Arc<SimCore>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.core.base_url.clone()
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The tenant the token endpoints serve.
    pub fn tenant_id(&self) -> &str {
        &self.core.options.tenant_id
    }

    /// The value `x-identity-header` must carry.
    pub fn identity_header(&self) -> &str {
        &self.core.options.identity_header
    }

    /// Every journaled request, oldest first.
    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.core.journal).entries()
    }

    /// Journal entries with `seq > since`.
    pub fn journal_since(&self, since: u64) -> Vec<JournalEntry> {
        lock(&self.core.journal).since(since)
    }

    /// Forgets the journal.
    pub fn clear_journal(&self) {
        lock(&self.core.journal).clear();
    }

    /// Adds a fault rule (in-process rules are trusted; see [`SimHandle::try_add_fault`]).
    pub fn add_fault(&self, rule: FaultRule) {
        lock(&self.core.faults).add(rule);
    }

    /// Adds a fault rule after validating it.
    pub fn try_add_fault(&self, rule: FaultRule) -> Result<(), SimError> {
        rule.validate().map_err(SimError::InvalidFault)?;
        self.add_fault(rule);
        Ok(())
    }

    /// The active fault rules (`count` = firings left).
    pub fn faults(&self) -> Vec<FaultRule> {
        lock(&self.core.faults).rules()
    }

    /// The active fault rules with how often each has fired.
    pub fn fault_firings(&self) -> Vec<(FaultRule, u64)> {
        lock(&self.core.faults).firings()
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.core.faults).clear();
    }

    /// Runs `f` on the ARM state (under its lock; keep it short).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        f(&mut lock(&self.core.state))
    }

    /// Issues a token for `resource` (`https://management.azure.com`, with or without `/.default`)
    /// without going through a token endpoint.
    pub fn issue_token(&self, resource: &str) -> String {
        let clock = self.core.clock();
        lock(&self.core.tokens).issue(&normalize_audience(resource), clock).0
    }

    /// Every bearer token value the token endpoints (or [`SimHandle::issue_token`]) issued that has not
    /// expired: what a secret-hygiene test searches captured output for.
    pub fn issued_token_values(&self) -> Vec<String> {
        lock(&self.core.tokens).values()
    }

    /// Every SAS signature (`sig`, both as sent and URL-decoded) presented on a Service Bus request,
    /// accepted or not: what a secret-hygiene test searches captured output for.
    pub fn sas_signatures_seen(&self) -> Vec<String> {
        self.core.service_bus.signatures_seen()
    }

    /// The lines a user pastes into a shell to point fleetgate (or curl) at this simulator.
    pub fn env_lines(&self) -> Vec<String> {
        let subscriptions = self.with_state(|s| s.subscription_ids());
        super::cli::env_lines(&self.core.base_url, &self.core.options, &subscriptions)
    }

    /// `{base_url}/sb`: where a Service Bus client's `https://{ns}.servicebus.windows.net` goes.
    pub fn service_bus_endpoint(&self) -> String {
        format!("{}/sb", self.core.base_url)
    }

    /// Declares a Service Bus queue, or replaces the queue of that name (dropping its messages).
    pub fn create_queue(&self, spec: QueueSpec) -> Result<(), QueueSpecError> {
        self.core.service_bus.create_queue(spec)
    }

    /// Deletes a queue (requests for it then answer 410); false when there was none.
    pub fn delete_queue(&self, name: &str) -> bool {
        self.core.service_bus.delete_queue(name)
    }

    /// The queue definitions, sorted by name.
    pub fn queues(&self) -> Vec<QueueSpec> {
        self.core.service_bus.queues()
    }

    /// Adds a SAS rule (replacing one with the same name); every rule may send and listen.
    pub fn add_sas_rule(&self, name: &str, key: &str) {
        self.core.service_bus.add_sas_rule(SasRule { name: name.to_string(), key: key.to_string() });
    }

    /// The key of SAS rule `name`.
    pub fn sas_key(&self, name: &str) -> Option<String> {
        self.core.service_bus.sas_key(name)
    }

    /// The key of `RootManageSharedAccessKey` (random per start).
    pub fn root_sas_key(&self) -> String {
        self.sas_key(ROOT_RULE).unwrap_or_default()
    }

    /// Messages in queue `name`, locked ones included (`None`: no such queue).
    pub fn queue_depth(&self, name: &str) -> Option<usize> {
        self.core.service_bus.depth(name, Sub::Main)
    }

    /// Scheduled messages of queue `name` not yet due (`None`: no such queue).
    pub fn scheduled_count(&self, name: &str) -> Option<usize> {
        self.core.service_bus.scheduled_count(name)
    }

    /// The dead-lettered messages of queue `name` with their reasons (`None`: no such queue).
    pub fn dead_letters(&self, name: &str) -> Option<Vec<DeadLetter>> {
        self.core.service_bus.dead_letters(name)
    }

    /// Every message of queue `name`, without taking locks (`None`: no such queue).
    pub fn peek_all(&self, name: &str) -> Option<Vec<Peeked>> {
        self.core.service_bus.peek_all(name, Sub::Main)
    }

    /// Enqueues `body` with string user `properties` (`None`: no such queue).
    pub fn send_message(&self, queue: &str, body: impl Into<Vec<u8>>, properties: &[(&str, &str)]) -> Option<Sent> {
        let message = properties.iter().fold(NewMessage::new(body), |m, (k, v)| m.property(*k, *v));
        self.send(queue, message)
    }

    /// Enqueues a message (`None`: no such queue).
    pub fn send(&self, queue: &str, message: NewMessage) -> Option<Sent> {
        let sent = self.core.service_bus.send(queue, vec![message], &SbClock::current())?;
        sent.into_iter().next()
    }

    /// Stops accepting, lets open requests finish (up to 5 s), then returns.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => tracing::warn!(error = %e, "simulator server ended with an error"),
                Ok(Err(e)) => tracing::warn!(error = %e, "simulator server task failed"),
                Err(_) => task.abort(),
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn handle(State(core): State<Arc<SimCore>>, ConnectInfo(kill): ConnectInfo<ConnKill>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let mut req = SimRequest {
        method: parts.method.as_str().to_ascii_uppercase(),
        path: parts.uri.path().to_string(),
        query: url::form_urlencoded::parse(raw_query.as_bytes()).into_owned().collect(),
        headers: parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned())).collect(),
        body: Vec::new(),
        base_url: core.base_url.clone(),
    };
    match read_body(&parts.headers, body).await {
        Ok(bytes) => req.body = bytes,
        Err(rejection) => {
            core.record(&req, &raw_query, rejection.status);
            return into_response(rejection);
        }
    }
    match core.handle(&req, &raw_query).await {
        Outcome::Respond(response) => into_response(response),
        Outcome::Bytes(raw) => raw_response(raw),
        Outcome::Reset => {
            kill.kill();
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn read_body(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, SimResponse> {
    let too_large = || {
        let message = format!("The request body is larger than the simulator's limit of {MAX_BODY_BYTES} bytes.");
        SimResponse::error(413, "RequestEntityTooLarge", &message)
    };
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        // Without a declared length the only way to fail the limit is to exceed it.
        Err(_) if declared.is_none() => Err(too_large()),
        Err(e) => Err(SimResponse::error(400, "InvalidRequestContent", &format!("The request body could not be read: {e}"))),
    }
}

fn raw_response(raw: RawResponse) -> Response {
    let mut response = Response::new(Body::from(raw.body));
    *response.status_mut() = StatusCode::from_u16(raw.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    append_headers(&mut response, &raw.headers);
    response
}

fn into_response(sim: SimResponse) -> Response {
    let status = StatusCode::from_u16(sim.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match &sim.body {
        Some(json) => {
            let mut r = Response::new(Body::from(json.to_string()));
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
            r
        }
        None => Response::new(Body::empty()),
    };
    *response.status_mut() = status;
    append_headers(&mut response, &sim.headers);
    response
}

fn append_headers(response: &mut Response, headers: &[(String, String)]) {
    for (name, value) in headers {
        match (HeaderName::try_from(name.as_str()), HeaderValue::try_from(value.as_str())) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => tracing::warn!(header = %name, "simulator: dropped a response header that is not valid HTTP"),
        }
    }
}
