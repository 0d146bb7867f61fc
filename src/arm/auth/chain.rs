//! [`ChainCredential`]: tries credentials in order until one returns a token, then sticks to it. Used
//! by `azure.credential = "auto"` when neither workload identity nor an `IDENTITY_ENDPOINT` is present:
//! IMDS managed identity (bounded by a probe timeout, since IMDS is unreachable off Azure), then the
//! Azure CLI.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use azure_core::error::ErrorKind;

/// One link of the chain.
pub struct Link {
    /// Shown in errors, e.g. `managed identity (IMDS)`.
    pub name: &'static str,
    /// The credential.
    pub credential: Arc<dyn TokenCredential>,
    /// Give up on this link after this long while probing (before any link has worked).
    pub probe_timeout: Option<Duration>,
}

/// Credentials tried in order; the first that works is used from then on.
pub struct ChainCredential {
    links: Vec<Link>,
    chosen: Mutex<Option<usize>>,
}

impl fmt::Debug for ChainCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.links.iter().map(|l| l.name).collect();
        f.debug_struct("ChainCredential").field("links", &names).field("chosen", &self.chosen()).finish()
    }
}

impl ChainCredential {
    /// A chain of `links`, tried in order.
    pub fn new(links: Vec<Link>) -> Self {
        Self { links, chosen: Mutex::new(None) }
    }

    /// Index of the link in use, once one has worked.
    pub fn chosen(&self) -> Option<usize> {
        *self.chosen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait::async_trait]
impl TokenCredential for ChainCredential {
    async fn get_token(&self, scopes: &[&str], options: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        if let Some(link) = self.chosen().and_then(|i| self.links.get(i)) {
            return link.credential.get_token(scopes, options).await;
        }
        let mut failures = Vec::new();
        for (i, link) in self.links.iter().enumerate() {
            let attempt = link.credential.get_token(scopes, options.clone());
            let result = match link.probe_timeout {
                Some(limit) => tokio::time::timeout(limit, attempt)
                    .await
                    .unwrap_or_else(|_| Err(azure_core::Error::with_message(ErrorKind::Credential, format!("no answer within {limit:?}")))),
                None => attempt.await,
            };
            match result {
                Ok(token) => {
                    tracing::info!(credential = link.name, "azure.credential auto: using {}", link.name);
                    *self.chosen.lock().unwrap_or_else(|p| p.into_inner()) = Some(i);
                    return Ok(token);
                }
                Err(e) => failures.push(format!("{}: {}", link.name, super::describe(&e))),
            }
        }
        Err(azure_core::Error::with_message(
            ErrorKind::Credential,
            format!("no credential of azure.credential = \"auto\" worked ({})", failures.join("; ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use time::OffsetDateTime;

    #[derive(Debug)]
    struct Fake {
        ok: bool,
        hang: bool,
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Fake {
        async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.hang {
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
            if self.ok {
                Ok(AccessToken::new("t", OffsetDateTime::now_utc() + time::Duration::hours(1)))
            } else {
                Err(azure_core::Error::with_message(ErrorKind::Credential, "unavailable"))
            }
        }
    }

    fn fake(ok: bool, hang: bool) -> Arc<Fake> {
        Arc::new(Fake { ok, hang, calls: AtomicUsize::new(0) })
    }

    #[tokio::test(start_paused = true)]
    async fn falls_back_after_probe_timeout_and_sticks() {
        let (imds, cli) = (fake(true, true), fake(true, false));
        let chain = ChainCredential::new(vec![
            Link { name: "managed identity (IMDS)", credential: imds.clone(), probe_timeout: Some(Duration::from_secs(3)) },
            Link { name: "Azure CLI", credential: cli.clone(), probe_timeout: None },
        ]);
        chain.get_token(&["s"], None).await.unwrap();
        assert_eq!(chain.chosen(), Some(1));
        chain.get_token(&["s"], None).await.unwrap();
        assert_eq!((imds.calls.load(Ordering::SeqCst), cli.calls.load(Ordering::SeqCst)), (1, 2));
    }

    #[tokio::test]
    async fn first_working_link_wins() {
        let (a, b) = (fake(true, false), fake(true, false));
        let chain = ChainCredential::new(vec![
            Link { name: "a", credential: a.clone(), probe_timeout: None },
            Link { name: "b", credential: b.clone(), probe_timeout: None },
        ]);
        chain.get_token(&["s"], None).await.unwrap();
        assert_eq!((chain.chosen(), b.calls.load(Ordering::SeqCst)), (Some(0), 0));
    }

    #[tokio::test]
    async fn all_failing_names_each_link() {
        let chain = ChainCredential::new(vec![
            Link { name: "managed identity (IMDS)", credential: fake(false, false), probe_timeout: None },
            Link { name: "Azure CLI", credential: fake(false, false), probe_timeout: None },
        ]);
        let e = chain.get_token(&["s"], None).await.unwrap_err().to_string();
        assert!(e.contains("managed identity (IMDS): unavailable") && e.contains("Azure CLI: unavailable"), "{e}");
        assert_eq!(chain.chosen(), None);
    }
}
