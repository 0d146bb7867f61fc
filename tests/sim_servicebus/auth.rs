//! SAS (crate-signed and transport-re-signed) and Microsoft Entra bearer tokens against the simulator.

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, RetryOptions};
use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
use fleetgate::queue::{OutgoingMessage, QueueAuth, QueueError, SERVICE_BUS_SCOPE, SasKey, ServiceBusQueue};
use fleetgate::sim::servicebus::{EVENTS_QUEUE, ROOT_RULE};
use fleetgate::sim::{LoopbackTransport, SimHandle};

use crate::support::*;

#[tokio::test]
async fn a_wrong_sas_key_is_refused_and_reported_as_an_error() {
    let sim = start().await;
    sim.send_message(EVENTS_QUEUE, "secret work", &[]).unwrap();
    let wrong = SasKey::new(ROOT_RULE, "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc=");
    let q = queue_with_key(&sim, EVENTS_QUEUE, &wrong);
    let err = q.receive(Duration::ZERO).await.unwrap_err();
    assert!(matches!(&err, QueueError::Unauthorized { status: 401, detail, .. } if detail.starts_with("InvalidSignature")), "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(wrong.key()) && !shown.contains("sig="), "no secrets in errors: {shown}");
    // The crate alone reports the 401 as a received "message".
    let raw = q.client().peek_lock_message2(Some(Duration::ZERO)).await.unwrap();
    assert_eq!(u16::from(*raw.status()), 401);
    assert!(matches!(q.send(&OutgoingMessage::default()).await, Err(QueueError::Unauthorized { status: 401, .. })));
    let unknown_rule = queue_with_key(&sim, EVENTS_QUEUE, &SasKey::new("listen-only", sim.root_sas_key()));
    assert!(matches!(unknown_rule.receive(Duration::ZERO).await, Err(QueueError::Unauthorized { .. })));
    assert_eq!(sim.peek_all(EVENTS_QUEUE).unwrap()[0].delivery_count, 0, "nothing was delivered");

    sim.add_sas_rule("listen-only", "bGlzdGVuLWtleQ==");
    let added = queue_with_key(&sim, EVENTS_QUEUE, &SasKey::new("listen-only", "bGlzdGVuLWtleQ=="));
    assert_eq!(expect_message(&added, Duration::ZERO).await.body(), "secret work");
}

#[tokio::test]
async fn an_expired_or_unsigned_request_is_refused() {
    let sim = start().await;
    let path = format!("/{EVENTS_QUEUE}/messages/head");
    let url = format!("{}{path}?timeout=0", sim.service_bus_endpoint());
    let expired = root_key(&sim).authorization(&url, time::OffsetDateTime::now_utc().unix_timestamp() - 10);
    let res = client().post(&url).header("authorization", expired).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains("ExpiredToken"));
    assert_eq!(client().post(&url).send().await.unwrap().status(), 401);
    let other_queue = root_key(&sim).authorization(&format!("{}/other", sim.service_bus_endpoint()), i64::MAX / 2);
    assert_eq!(client().post(&url).header("authorization", other_queue).send().await.unwrap().status(), 401, "sr must cover the queue");
    assert_eq!(client().post(&url).header("authorization", sas_header(&sim, &path)).send().await.unwrap().status(), 204);
}

#[tokio::test]
async fn the_transport_re_signs_sas_over_the_real_endpoint() {
    let sim = start().await;
    sim.send_message(EVENTS_QUEUE, "resigned", &[]).unwrap();
    let crate_key = SasKey::new(ROOT_RULE, "bm90LXRoZS1rZXk=");
    let q = ServiceBusQueue::new(transport(&sim, QueueAuth::Sas(root_key(&sim))), NS, EVENTS_QUEUE, Some(&crate_key)).unwrap();
    let m = expect_message(&q, Duration::ZERO).await;
    m.complete().await.unwrap();
    assert_eq!(sim.queue_depth(EVENTS_QUEUE), Some(0));
}

fn credential(sim: &SimHandle) -> Arc<dyn TokenCredential> {
    let transport = LoopbackTransport::new(&sim.base_url()).unwrap();
    let client_options = ClientOptions { transport: Some(transport.into_transport()), retry: RetryOptions::none(), ..Default::default() };
    let options = ClientSecretCredentialOptions { client_options };
    ClientSecretCredential::new(sim.tenant_id(), "3b1c8a52-0000-4000-8000-00000000c1d0".into(), Secret::new("s"), Some(options)).unwrap()
}

#[tokio::test]
async fn entra_tokens_from_the_sim_token_endpoint_are_accepted() {
    let sim = start().await;
    let q = ServiceBusQueue::new(transport(&sim, QueueAuth::entra(credential(&sim))), NS, EVENTS_QUEUE, None).unwrap();
    q.send(&OutgoingMessage { body: "via entra".into(), message_id: Some("e-1".into()), ..Default::default() }).await.unwrap();
    let m = expect_message(&q, Duration::ZERO).await;
    assert_eq!(m.body(), "via entra");
    m.complete().await.unwrap();
    let token_calls = sim.journal().into_iter().filter(|e| e.is_token_call()).count();
    assert_eq!(token_calls, 1, "the credential caches its token");
    assert!(sb_journal(&sim).iter().all(|(_, _, status)| *status < 300));
    assert!(SERVICE_BUS_SCOPE.starts_with("https://servicebus.azure.net"));
}

/// Hands out a fixed token, or fails.
#[derive(Debug)]
struct FixedCredential(Option<String>);

#[async_trait::async_trait]
impl TokenCredential for FixedCredential {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        match &self.0 {
            Some(token) => Ok(AccessToken::new(token.clone(), time::OffsetDateTime::now_utc() + time::Duration::hours(1))),
            None => Err(azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, "no identity is available")),
        }
    }
}

#[tokio::test]
async fn a_token_for_another_audience_or_no_token_is_an_error() {
    let sim = start().await;
    let arm_token = sim.issue_token("https://management.azure.com/.default");
    let wrong =
        ServiceBusQueue::new(transport(&sim, QueueAuth::entra(Arc::new(FixedCredential(Some(arm_token.clone()))))), NS, EVENTS_QUEUE, None)
            .unwrap();
    let err = wrong.receive(Duration::ZERO).await.unwrap_err();
    assert!(matches!(&err, QueueError::Unauthorized { detail, .. } if detail.starts_with("InvalidAudience")), "{err}");
    assert!(!format!("{err:?}").contains(&arm_token));
    let none = ServiceBusQueue::new(transport(&sim, QueueAuth::entra(Arc::new(FixedCredential(None)))), NS, EVENTS_QUEUE, None).unwrap();
    let err = none.receive(Duration::ZERO).await.unwrap_err();
    assert!(matches!(&err, QueueError::Credential { detail, .. } if detail.contains("no identity is available")), "{err}");
    assert!(sb_journal(&sim).len() == 1, "no request without a token");
}
