//! Opening the `[queue]` for sending reconcile commands (enqueue mode; the worker's resync sends through
//! its own queue). SAS (`queue.auth = "sas"`, key from `FLEETGATE_SAS_KEY`) or Microsoft Entra (the
//! `[azure]` credential for `queue.token_scope`).

use std::sync::Arc;

use super::FleetError;
use crate::arm::auth::credential_from_settings;
use crate::config::{QueueAuthKind, Settings};
use crate::queue::{DEFAULT_REQUEST_TIMEOUT, QueueAuth, SasKey, ServiceBusQueue, ServiceBusTransport};

/// Namespace name used when only `queue.endpoint` is set (the URL the crate builds is rewritten anyway).
const ENDPOINT_ONLY_NAMESPACE: &str = "fleetgate";

/// The queue `queue.name`, authorized per `queue.auth`; `sas_key` is `FLEETGATE_SAS_KEY` (never argv).
pub fn open_queue(settings: &Settings, sas_key: Option<String>) -> Result<ServiceBusQueue, FleetError> {
    let q = &settings.queue;
    let endpoint = Some(q.endpoint.trim()).filter(|e| !e.is_empty());
    let namespace = match (q.namespace.trim(), endpoint) {
        ("", None) => {
            return Err(FleetError::QueueSettings(
                "queue.namespace and queue.endpoint are both empty; set queue.namespace (FLEETGATE__QUEUE__NAMESPACE) to the Service Bus namespace name".into(),
            ));
        }
        ("", Some(_)) => ENDPOINT_ONLY_NAMESPACE,
        (ns, _) => ns,
    };
    let (auth, sas) = match q.auth {
        QueueAuthKind::Sas => {
            let key = sas_key.filter(|k| !k.is_empty()).ok_or_else(|| {
                FleetError::QueueSettings("queue.auth = \"sas\" needs the key in the FLEETGATE_SAS_KEY environment variable".into())
            })?;
            let key = SasKey::new(&q.sas_key_name, &key);
            (QueueAuth::Sas(key.clone()), Some(key))
        }
        QueueAuthKind::Entra => {
            let credential = credential_from_settings(&settings.azure).map_err(|e| FleetError::QueueSettings(e.to_string()))?;
            (QueueAuth::Entra { credential, scope: q.token_scope.clone() }, None)
        }
    };
    let transport =
        ServiceBusTransport::new(endpoint, auth, DEFAULT_REQUEST_TIMEOUT).map_err(|e| FleetError::QueueSettings(e.to_string()))?;
    Ok(ServiceBusQueue::new(Arc::new(transport), namespace, &q.name, sas.as_ref())?)
}
