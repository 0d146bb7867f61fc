//! [`LoopbackTransport`]: lets an azure_identity credential talk plain HTTP to a loopback token
//! endpoint (the simulator). azure_identity refuses a non-https authority host, so the credential is
//! configured with `https://login.microsoftonline.com` and this transport rewrites every request's
//! scheme, host and port (and prefixes the base path) to the loopback base before sending it.

use std::fmt;
use std::sync::Arc;

use azure_core::http::{AsyncRawResponse, HttpClient, Request, new_http_client};
use url::Url;

use crate::arm::endpoint::is_loopback;

/// Redirects every request to an `http://` loopback base URL.
pub struct LoopbackTransport {
    base: Url,
    client: Arc<dyn HttpClient>,
}

impl fmt::Debug for LoopbackTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackTransport").field("base", &self.base.as_str()).finish_non_exhaustive()
    }
}

impl LoopbackTransport {
    /// A transport to `base`, which must be `http://` on a loopback host.
    pub fn new(base: Url) -> Result<Self, String> {
        if base.scheme() != "http" || !is_loopback(&base) {
            return Err(format!("{base} is not an http:// loopback URL"));
        }
        Ok(Self { base, client: new_http_client(None) })
    }

    /// The URL `original` is sent to.
    pub fn rewrite(&self, original: &Url) -> Url {
        let mut url = original.clone();
        // Both schemes are "special", so switching https → http cannot fail; host and port come from a
        // valid URL.
        let _ = url.set_scheme(self.base.scheme());
        let _ = url.set_host(self.base.host_str());
        let _ = url.set_port(self.base.port());
        let prefix = self.base.path().trim_end_matches('/');
        if !prefix.is_empty() {
            url.set_path(&format!("{prefix}{}", original.path()));
        }
        url
    }
}

#[async_trait::async_trait]
impl HttpClient for LoopbackTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut redirected = request.clone();
        *redirected.url_mut() = self.rewrite(request.url());
        self.client.execute_request(&redirected).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_origin_and_keeps_path_and_query() {
        let t = LoopbackTransport::new(Url::parse("http://127.0.0.1:4567").unwrap()).unwrap();
        let u = t.rewrite(&Url::parse("https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token?x=1").unwrap());
        assert_eq!(u.as_str(), "http://127.0.0.1:4567/tenant-1/oauth2/v2.0/token?x=1");
        let p = LoopbackTransport::new(Url::parse("http://localhost:9/aad/").unwrap()).unwrap();
        let u = p.rewrite(&Url::parse("https://login.microsoftonline.com/t/oauth2/v2.0/token").unwrap());
        assert_eq!(u.as_str(), "http://localhost:9/aad/t/oauth2/v2.0/token");
    }

    #[test]
    fn only_plain_http_loopback() {
        assert!(LoopbackTransport::new(Url::parse("http://example.com").unwrap()).is_err());
        assert!(LoopbackTransport::new(Url::parse("https://127.0.0.1:1").unwrap()).is_err());
    }
}
