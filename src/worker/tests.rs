//! The receive loop against a scripted source: unreadable messages and receive errors do not stop it,
//! the end of a replay drains and returns, a fatal source error returns the error after draining.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};

use super::*;
use crate::arm::ArmClient;
use crate::config::{self, ConfigSource};
use crate::dispatch::MessageOutcome;
use crate::queue::QueueError;
use crate::reconcile::Engine;
use crate::source::{Delivery, MessageId, MessageLock, Polled, SourceError};

/// Never reached: the scripted messages need no ARM call.
#[derive(Debug)]
struct NoCredential;

#[async_trait::async_trait]
impl TokenCredential for NoCredential {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        Err(azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, "tests make no ARM calls"))
    }
}

type Ops = Arc<Mutex<Vec<String>>>;

struct RecordingLock {
    id: u64,
    ops: Ops,
}

#[async_trait::async_trait]
impl MessageLock for RecordingLock {
    fn needs_renewal(&self) -> bool {
        true
    }
    async fn complete(&self) -> Result<(), SourceError> {
        self.ops.lock().unwrap().push(format!("complete {}", self.id));
        Ok(())
    }
    async fn abandon(&self) -> Result<(), SourceError> {
        self.ops.lock().unwrap().push(format!("abandon {}", self.id));
        Ok(())
    }
    async fn renew(&self) -> Result<(), SourceError> {
        Ok(())
    }
    async fn park(&self, reason: &str) -> Result<(), SourceError> {
        self.ops.lock().unwrap().push(format!("park {} {reason}", self.id));
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Scripted {
    steps: Mutex<VecDeque<Result<Polled, SourceError>>>,
}

#[async_trait::async_trait]
impl Source for Scripted {
    async fn receive(&self, _wait: Duration) -> Result<Polled, SourceError> {
        self.steps.lock().unwrap().pop_front().unwrap_or(Ok(Polled::Exhausted))
    }
    fn describe(&self) -> String {
        "scripted source".into()
    }
}

fn message(id: u64, body: &str, ops: &Ops) -> Result<Polled, SourceError> {
    let lock = RecordingLock { id, ops: Arc::clone(ops) };
    Ok(Polled::Message(Delivery::new(MessageId::Line(id), body.as_bytes().to_vec(), 1, Box::new(lock))))
}

const NOISE: &str = r#"{"id":"1","eventType":"Microsoft.Storage.BlobCreated","subject":"/blobServices/default/containers/x","eventTime":"2025-01-01T00:00:00Z","data":{},"dataVersion":"1","topic":"/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s"}"#;

/// Panics when asked for a token: a panic deep inside the dispatcher.
#[derive(Debug)]
struct PanickingCredential;

#[async_trait::async_trait]
impl TokenCredential for PanickingCredential {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        panic!("credential exploded")
    }
}

const SUB: &str = "00000000-0000-0000-0000-000000000001";

fn worker(steps: Vec<Result<Polled, SourceError>>) -> Worker {
    worker_with(steps, Arc::new(NoCredential), &[])
}

fn worker_with(steps: Vec<Result<Polled, SourceError>>, credential: Arc<dyn TokenCredential>, scope: &[&str]) -> Worker {
    let mut settings = config::load(&ConfigSource { file: None, env: Some(Default::default()) }).unwrap();
    settings.scope.subscriptions = scope.iter().map(|s| s.to_string()).collect();
    let settings = Arc::new(settings);
    let arm = ArmClient::new(&settings.azure, &settings.scope.subscriptions, credential).unwrap();
    let dispatcher = Dispatcher::new(Engine::new(arm, Arc::clone(&settings)).unwrap(), settings);
    let options = WorkerOptions {
        max_concurrency: 2,
        receive_wait: Duration::ZERO,
        lock_renewal_interval: Duration::from_secs(10),
        grace: Duration::from_secs(5),
        backoff_initial: Duration::from_millis(1),
        backoff_max: Duration::from_millis(5),
    };
    Worker::new(dispatcher, Arc::new(Scripted { steps: Mutex::new(steps.into()) }), options)
}

#[tokio::test]
async fn unreadable_messages_and_receive_errors_do_not_stop_the_loop() {
    let ops = Ops::default();
    let malformed = QueueError::MalformedMessage { queue: "q".into(), detail: "BrokerProperties: bad date".into() };
    let busy = QueueError::Http { queue: "q".into(), operation: "receive", status: 503, detail: "busy".into() };
    let steps = vec![
        Err(SourceError::Queue(malformed)),
        message(1, NOISE, &ops),
        Err(SourceError::Queue(busy)),
        Ok(Polled::Empty),
        message(2, "{\"truncated\": ", &ops),
    ];
    let w = worker(steps);
    let status = w.status();
    let summary = w.run(Shutdown::new()).await.unwrap();
    assert_eq!(summary.stop, StopReason::Exhausted);
    assert_eq!((summary.malformed, summary.receive_errors), (1, 1));
    assert_eq!((summary.count(MessageOutcome::Ignored), summary.count(MessageOutcome::Rejected)), (1, 1));
    let mut ops = ops.lock().unwrap().clone();
    ops.sort();
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert_eq!(ops[0], "complete 1");
    assert!(ops[1].starts_with("park 2 ") && ops[1].contains("invalid_json"), "{ops:?}");
    assert!(status.is_stopping() && status.handled() == 2 && status.last_receive_error().is_none());
}

#[tokio::test]
async fn a_fatal_source_error_returns_after_draining() {
    let ops = Ops::default();
    let io = SourceError::Io { what: "file 'x'".into(), source: std::io::Error::other("disk gone") };
    let err = worker(vec![message(1, NOISE, &ops), Err(io)]).run(Shutdown::new()).await.unwrap_err();
    assert!(err.error.is_fatal());
    assert!(err.to_string().contains("scripted source") && err.to_string().contains("disk gone"), "{err}");
    assert_eq!(err.summary.count(MessageOutcome::Ignored), 1, "the message in flight was finished");
    assert_eq!(*ops.lock().unwrap(), ["complete 1"]);
}

#[tokio::test]
async fn a_requested_shutdown_returns_without_receiving() {
    let ops = Ops::default();
    let shutdown = Shutdown::new();
    shutdown.request();
    let summary = worker(vec![message(1, NOISE, &ops)]).run(shutdown).await.unwrap();
    assert_eq!((summary.stop, summary.finished()), (StopReason::Shutdown, 0));
    assert!(ops.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_panic_inside_the_handler_parks_the_message_and_the_loop_goes_on() {
    let ops = Ops::default();
    let cluster = crate::id::ResourceId::parse(&format!(
        "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1"
    ))
    .unwrap();
    let event = crate::events::cluster_write_event(&cluster, crate::events::Schema::EventGrid).to_string();
    let steps = vec![message(1, &event, &ops), message(2, NOISE, &ops)];
    let summary = worker_with(steps, Arc::new(PanickingCredential), &[SUB]).run(Shutdown::new()).await.unwrap();
    assert_eq!(summary.stop, StopReason::Exhausted);
    assert_eq!((summary.count(MessageOutcome::Failed), summary.count(MessageOutcome::Ignored)), (1, 1), "{summary:?}");
    let mut ops = ops.lock().unwrap().clone();
    ops.sort();
    assert_eq!(ops.len(), 2, "{ops:?}");
    assert_eq!(ops[0], "complete 2");
    assert!(ops[1].starts_with("park 1 internal error: fleetgate panicked") && ops[1].contains("credential exploded"), "{ops:?}");
}
