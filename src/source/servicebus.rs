//! [`ServiceBusSource`]: peek-lock receive from the `[queue]` queue, settle through the lock, park in
//! the poison queue.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;

use super::poison::poison_message;
use super::{Delivery, MessageId, MessageLock, Polled, Source, SourceError};
use crate::config::{QueueAuthKind, QueueSettings};
use crate::defer::Scheduled;
use crate::queue::{
    DEFAULT_REQUEST_TIMEOUT, QueueAuth, QueueError, Received, ReceivedMessage, SasKey, ServiceBusQueue, ServiceBusTransport,
};

/// Environment variable holding the SAS key for `queue.auth = "sas"` (never a command-line argument).
pub const SAS_KEY_ENV: &str = "FLEETGATE_SAS_KEY";
/// Slack between the long-poll wait and the HTTP request timeout.
const REQUEST_SLACK: Duration = Duration::from_secs(30);

/// How the worker authenticates to Service Bus.
#[derive(Clone)]
pub enum QueueCredential {
    /// A SAS rule (`queue.sas_key_name`) and its key.
    Sas(SasKey),
    /// Microsoft Entra tokens for `queue.token_scope` (normally fleetgate's Azure credential).
    Entra(Arc<dyn TokenCredential>),
}

impl fmt::Debug for QueueCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sas(key) => f.debug_tuple("Sas").field(key).finish(),
            Self::Entra(_) => f.write_str("Entra"),
        }
    }
}

/// The SAS key for `queue` from [`SAS_KEY_ENV`].
pub fn sas_key_from_env(queue: &QueueSettings) -> Result<SasKey, SourceError> {
    sas_key_from(queue, std::env::var(SAS_KEY_ENV).ok())
}

/// The SAS key for `queue` from a value read elsewhere (`None` / empty = not set).
pub fn sas_key_from(queue: &QueueSettings, key: Option<String>) -> Result<SasKey, SourceError> {
    match key.filter(|k| !k.trim().is_empty()) {
        Some(key) if !queue.sas_key_name.is_empty() => Ok(SasKey::new(queue.sas_key_name.clone(), key.trim())),
        Some(_) => Err(SourceError::Setup("queue.auth = \"sas\" but queue.sas_key_name is empty; set it to the SAS rule name".into())),
        None => Err(SourceError::Setup(format!(
            "queue.auth = \"sas\" but {SAS_KEY_ENV} is not set; put the key of SAS rule '{}' in {SAS_KEY_ENV} (or use queue.auth = \"entra\")",
            queue.sas_key_name
        ))),
    }
}

/// The `[queue]` Service Bus queue as a [`Source`].
#[derive(Debug, Clone)]
pub struct ServiceBusSource {
    queue: Arc<ServiceBusQueue>,
    poison: Arc<ServiceBusQueue>,
    namespace: String,
}

impl ServiceBusSource {
    /// Builds the queue and poison-queue clients from `[queue]` and `credential`.
    pub fn from_settings(settings: &QueueSettings, credential: QueueCredential) -> Result<Self, SourceError> {
        validate(settings)?;
        let (auth, sas) = match credential {
            QueueCredential::Sas(key) => (QueueAuth::Sas(key.clone()), Some(key)),
            QueueCredential::Entra(credential) => (QueueAuth::Entra { credential, scope: settings.token_scope.clone() }, None),
        };
        let endpoint = Some(settings.endpoint.trim()).filter(|e| !e.is_empty());
        let timeout = DEFAULT_REQUEST_TIMEOUT.max(settings.receive_timeout + REQUEST_SLACK);
        let transport = Arc::new(ServiceBusTransport::new(endpoint, auth, timeout).map_err(|e| SourceError::Setup(e.to_string()))?);
        let queue = ServiceBusQueue::new(transport.clone(), &settings.namespace, &settings.name, sas.as_ref())?;
        let poison = ServiceBusQueue::new(transport, &settings.namespace, &settings.poison_queue_name(), sas.as_ref())?;
        Ok(Self { queue: Arc::new(queue), poison: Arc::new(poison), namespace: settings.namespace.clone() })
    }

    /// The queue consumed.
    pub fn queue(&self) -> &ServiceBusQueue {
        &self.queue
    }

    /// The poison queue.
    pub fn poison_queue(&self) -> &ServiceBusQueue {
        &self.poison
    }
}

fn validate(settings: &QueueSettings) -> Result<(), SourceError> {
    let ns = &settings.namespace;
    if ns.is_empty() {
        return Err(SourceError::Setup(
            "queue.namespace is empty; set it to the Service Bus namespace name (myns for myns.servicebus.windows.net), e.g. FLEETGATE__QUEUE__NAMESPACE=myns".into(),
        ));
    }
    if !ns.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') || ns.len() > 50 {
        return Err(SourceError::Setup(format!(
            "queue.namespace {ns:?} is not a namespace name; give the name only (letters, digits, '-'), not a URL or host — use queue.endpoint for a custom host"
        )));
    }
    if settings.name.trim().is_empty() {
        return Err(SourceError::Setup("queue.name is empty; set it to the queue Event Grid delivers to".into()));
    }
    if settings.auth == QueueAuthKind::Entra && settings.token_scope.trim().is_empty() {
        return Err(SourceError::Setup("queue.token_scope is empty; use https://servicebus.azure.net/.default".into()));
    }
    Ok(())
}

#[async_trait::async_trait]
impl Source for ServiceBusSource {
    async fn receive(&self, wait: Duration) -> Result<Polled, SourceError> {
        match self.queue.receive(wait).await? {
            Received::Empty => Ok(Polled::Empty),
            Received::Message(message) => {
                let id = MessageId::Broker(message.message_id().to_string());
                let body = message.body().as_bytes().to_vec();
                let delivery_count = message.delivery_count();
                let lock = SbLock { message, poison: Arc::clone(&self.poison), queue: Arc::clone(&self.queue) };
                Ok(Polled::Message(Delivery::new(id, body, delivery_count, Box::new(lock))))
            }
        }
    }

    fn describe(&self) -> String {
        format!("Service Bus queue '{}' in namespace '{}'", self.queue.name(), self.namespace)
    }
}

/// The peek-lock of one received message.
struct SbLock {
    message: Box<ReceivedMessage>,
    poison: Arc<ServiceBusQueue>,
    queue: Arc<ServiceBusQueue>,
}

#[async_trait::async_trait]
impl MessageLock for SbLock {
    fn needs_renewal(&self) -> bool {
        true
    }

    async fn complete(&self) -> Result<(), SourceError> {
        Ok(self.message.complete().await?)
    }

    async fn abandon(&self) -> Result<(), SourceError> {
        Ok(self.message.abandon().await?)
    }

    async fn renew(&self) -> Result<(), SourceError> {
        Ok(self.message.renew_lock().await?)
    }

    async fn schedule_then_complete(&self, scheduled: &[Scheduled]) -> Result<(), SourceError> {
        let m = &self.message;
        match self.send_all(scheduled).await {
            Ok(()) => Ok(m.complete().await?),
            Err(source) => {
                let fallback = self.abandon_after_failed_send().await;
                Err(SourceError::Schedule {
                    queue: self.queue.name().to_string(),
                    message_id: m.message_id().to_string(),
                    fallback,
                    source: Box::new(source),
                })
            }
        }
    }

    async fn park(&self, reason: &str) -> Result<(), SourceError> {
        let m = &self.message;
        let copy = poison_message(m.body(), m.message_id(), reason, m.delivery_count(), self.queue.name());
        match self.poison.send(&copy).await {
            Ok(()) => Ok(m.complete().await?),
            Err(source) => {
                let fallback = self.abandon_after_failed_send().await;
                Err(SourceError::Park {
                    poison_queue: self.poison.name().to_string(),
                    message_id: m.message_id().to_string(),
                    fallback,
                    source: Box::new(source),
                })
            }
        }
    }
}

impl SbLock {
    /// After the send that had to precede the complete failed: abandons the message (so it is delivered
    /// again) and says how that went, for the error.
    async fn abandon_after_failed_send(&self) -> String {
        match self.message.abandon().await {
            Ok(()) => "abandoned".to_string(),
            Err(e) => format!("not abandoned either ({e})"),
        }
    }

    /// Sends each re-check with its `ScheduledEnqueueTimeUtc` (duplicate detection drops a repeat).
    async fn send_all(&self, scheduled: &[Scheduled]) -> Result<(), QueueError> {
        for s in scheduled {
            self.queue.send_scheduled(&s.message, s.at).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, ConfigSource};

    fn queue_settings() -> QueueSettings {
        let settings = config::load(&ConfigSource { file: None, env: Some(Default::default()) }).unwrap();
        settings.queue
    }

    #[test]
    fn sas_key_comes_from_the_environment_value_only() {
        let q = queue_settings();
        let err = sas_key_from(&q, None).unwrap_err();
        assert!(err.to_string().contains(SAS_KEY_ENV), "{err}");
        assert!(sas_key_from(&q, Some("  ".into())).is_err());
        let key = sas_key_from(&q, Some("c2VjcmV0\n".into())).unwrap();
        assert_eq!((key.key_name(), key.key()), ("RootManageSharedAccessKey", "c2VjcmV0"));
        let dbg = format!("{:?}", QueueCredential::Sas(key));
        assert!(!dbg.contains("c2VjcmV0"), "{dbg}");
    }

    #[test]
    fn namespace_and_endpoint_are_checked() {
        let mut q = queue_settings();
        let sas = || QueueCredential::Sas(SasKey::new("r", "k"));
        let err = ServiceBusSource::from_settings(&q, sas()).unwrap_err();
        assert!(err.to_string().contains("queue.namespace is empty"), "{err}");
        q.namespace = "myns.servicebus.windows.net".into();
        assert!(ServiceBusSource::from_settings(&q, sas()).unwrap_err().to_string().contains("not a namespace name"));
        q.namespace = "myns".into();
        q.endpoint = "http://10.1.2.3/sb".into();
        assert!(ServiceBusSource::from_settings(&q, sas()).unwrap_err().to_string().contains("queue.endpoint"));
        q.endpoint = "http://127.0.0.1:9/sb".into();
        let source = ServiceBusSource::from_settings(&q, sas()).unwrap();
        assert_eq!(source.poison_queue().name(), "fleetgate-events-poison");
        assert!(source.describe().contains("'fleetgate-events'"));
    }
}
