//! The Resource Graph quota gate and the operation deadline, on paused time.

use super::*;
use azure_core::credentials::{AccessToken, TokenRequestOptions};
use reqwest::header::HeaderMap;

#[derive(Debug)]
struct NoCredential;

#[async_trait::async_trait]
impl TokenCredential for NoCredential {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        Err(azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, "these tests send nothing"))
    }
}

fn client() -> ArmClient {
    let settings = crate::config::load(&crate::config::ConfigSource { file: None, env: Some(Default::default()) }).unwrap();
    ArmClient::new(&settings.azure, &[], Arc::new(NoCredential)).unwrap()
}

fn quota(remaining: &str, resets_after: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(headers::USER_QUOTA_REMAINING, HeaderValue::from_str(remaining).unwrap());
    h.insert(headers::USER_QUOTA_RESETS_AFTER, HeaderValue::from_str(resets_after).unwrap());
    h
}

#[tokio::test(start_paused = true)]
async fn a_99_hour_quota_reset_gates_graph_queries_for_at_most_the_ceiling() {
    let c = client();
    c.note_graph_quota(&quota("0", "99:00:00"));
    let started = Instant::now();
    c.wait_for_graph_quota().await;
    assert_eq!(started.elapsed(), headers::MAX_GRAPH_QUOTA_WAIT);
}

#[tokio::test(start_paused = true)]
async fn an_absurd_quota_reset_neither_panics_nor_gates_for_long() {
    let c = client();
    c.note_graph_quota(&quota("0", "99999999999999999999:59:59"));
    let started = Instant::now();
    c.wait_for_graph_quota().await;
    assert_eq!(started.elapsed(), headers::MAX_GRAPH_QUOTA_WAIT);
    c.note_graph_quota(&quota("3", "99999999999999999999:59:59"));
    let started = Instant::now();
    c.wait_for_graph_quota().await;
    assert_eq!(started.elapsed(), Duration::ZERO, "quota left: no gate");
}

#[tokio::test(start_paused = true)]
async fn an_enormous_operation_timeout_does_not_overflow_the_deadline() {
    let settings = crate::config::load(&crate::config::ConfigSource { file: None, env: Some(Default::default()) }).unwrap();
    let mut azure = settings.azure;
    azure.operation_timeout = Duration::MAX;
    let c = ArmClient::new(&azure, &[], Arc::new(NoCredential)).unwrap();
    let out = c.within_deadline(&Call::new("GET", "/x"), |deadline| async move { Ok::<_, ArmError>(deadline > Instant::now()) }).await;
    assert!(out.unwrap());
}
