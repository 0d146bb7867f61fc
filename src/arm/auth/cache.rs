//! [`CachedCredential`]: reuses a token per scope set until [`REFRESH_MARGIN`] before it expires;
//! concurrent callers for the same scopes wait for one refresh instead of each asking the credential.
//! Failures are not cached.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use time::{Duration, OffsetDateTime};

/// A token is refreshed this long before `expires_on`.
pub const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// The current time; replaceable in tests.
pub type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

type Slot = Arc<tokio::sync::Mutex<Option<AccessToken>>>;

/// A caching wrapper around any credential.
pub struct CachedCredential {
    inner: Arc<dyn TokenCredential>,
    slots: Mutex<HashMap<String, Slot>>,
    clock: Clock,
}

impl fmt::Debug for CachedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedCredential").field("inner", &self.inner).finish_non_exhaustive()
    }
}

impl CachedCredential {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn TokenCredential>) -> Self {
        Self::with_clock(inner, Arc::new(OffsetDateTime::now_utc))
    }

    /// Wraps `inner`, reading the time from `clock`.
    pub fn with_clock(inner: Arc<dyn TokenCredential>, clock: Clock) -> Self {
        Self { inner, slots: Mutex::new(HashMap::new()), clock }
    }

    fn slot(&self, key: String) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(key).or_default().clone()
    }
}

/// True when `token` can still be handed out at `now`.
fn is_fresh(token: &AccessToken, now: OffsetDateTime) -> bool {
    token.expires_on.checked_sub(REFRESH_MARGIN).is_some_and(|t| t > now)
}

#[async_trait::async_trait]
impl TokenCredential for CachedCredential {
    async fn get_token(&self, scopes: &[&str], options: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        let slot = self.slot(scopes.join(" "));
        // Holding the slot's lock across the refresh makes concurrent callers wait for it.
        let mut cached = slot.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| is_fresh(t, (self.clock)())) {
            return Ok(token.clone());
        }
        let token = self.inner.get_token(scopes, options).await?;
        *cached = Some(token.clone());
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Counts calls; each token lives `lifetime` from the fake clock's now.
    #[derive(Debug)]
    struct Fake {
        calls: AtomicUsize,
        lifetime: Duration,
        now: Arc<Mutex<OffsetDateTime>>,
        fail: bool,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Fake {
        async fn get_token(&self, scopes: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            if self.fail {
                return Err(azure_core::Error::with_message(azure_core::error::ErrorKind::Credential, "nope"));
            }
            let now = *self.now.lock().unwrap();
            Ok(AccessToken::new(format!("tok-{n}-{}", scopes.join(",")), now + self.lifetime))
        }
    }

    fn setup(lifetime: Duration, fail: bool) -> (Arc<Fake>, Arc<Mutex<OffsetDateTime>>, CachedCredential) {
        let now = Arc::new(Mutex::new(OffsetDateTime::now_utc()));
        let fake = Arc::new(Fake { calls: AtomicUsize::new(0), lifetime, now: now.clone(), fail });
        let clock_now = now.clone();
        let cache = CachedCredential::with_clock(fake.clone(), Arc::new(move || *clock_now.lock().unwrap()));
        (fake, now, cache)
    }

    const SCOPE: &[&str] = &["https://management.azure.com/.default"];

    #[tokio::test]
    async fn reuses_until_five_minutes_before_expiry() {
        let (fake, now, cache) = setup(Duration::minutes(60), false);
        let a = cache.get_token(SCOPE, None).await.unwrap();
        let b = cache.get_token(SCOPE, None).await.unwrap();
        assert_eq!(a.token.secret(), b.token.secret());
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
        *now.lock().unwrap() += Duration::minutes(54);
        cache.get_token(SCOPE, None).await.unwrap();
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1, "still 6 minutes left");
        *now.lock().unwrap() += Duration::minutes(2);
        let c = cache.get_token(SCOPE, None).await.unwrap();
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2, "4 minutes left: refreshed");
        assert_ne!(a.token.secret(), c.token.secret());
    }

    #[tokio::test]
    async fn short_lived_tokens_are_not_reused() {
        let (fake, _, cache) = setup(Duration::minutes(4), false);
        cache.get_token(SCOPE, None).await.unwrap();
        cache.get_token(SCOPE, None).await.unwrap();
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn scopes_are_cached_separately() {
        let (fake, _, cache) = setup(Duration::minutes(60), false);
        let a = cache.get_token(SCOPE, None).await.unwrap();
        let b = cache.get_token(&["https://vault.azure.net/.default"], None).await.unwrap();
        assert_ne!(a.token.secret(), b.token.secret());
        cache.get_token(SCOPE, None).await.unwrap();
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh() {
        let (fake, _, cache) = setup(Duration::minutes(60), false);
        let cache = Arc::new(cache);
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let c = cache.clone();
                tokio::spawn(async move { c.get_token(SCOPE, None).await.unwrap().token.secret().to_string() })
            })
            .collect();
        let mut tokens = Vec::new();
        for t in tasks {
            tokens.push(t.await.unwrap());
        }
        assert_eq!(fake.calls.load(Ordering::SeqCst), 1);
        assert!(tokens.iter().all(|t| t == &tokens[0]));
    }

    #[tokio::test]
    async fn failures_are_not_cached_and_debug_hides_tokens() {
        let (fake, _, cache) = setup(Duration::minutes(60), true);
        assert!(cache.get_token(SCOPE, None).await.is_err());
        assert!(cache.get_token(SCOPE, None).await.is_err());
        assert_eq!(fake.calls.load(Ordering::SeqCst), 2);
        let (_, _, ok) = setup(Duration::minutes(60), false);
        let t = ok.get_token(SCOPE, None).await.unwrap();
        assert!(!format!("{ok:?} {t:?}").contains(t.token.secret()));
    }

    #[test]
    fn a_token_expiring_at_the_start_of_time_is_stale_not_a_panic() {
        let min = time::PrimitiveDateTime::MIN.assume_utc();
        assert!(!is_fresh(&AccessToken::new("t", min), OffsetDateTime::now_utc()));
        assert!(!is_fresh(&AccessToken::new("t", min), min), "expires_on - margin underflows: stale");
    }
}
