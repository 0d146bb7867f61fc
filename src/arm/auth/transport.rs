//! [`LoopbackTransport`]: an azure_core 1.x `HttpClient` that sends every request to a loopback base URL.
//!
//! azure_identity 1.0 refuses a non-HTTPS authority host (`AZURE_AUTHORITY_HOST`,
//! `CloudConfiguration::Custom`), so a credential cannot be pointed at `http://127.0.0.1:PORT` directly. It
//! does accept a custom transport in its client options; this one rewrites scheme, host and port (and
//! prefixes the base path) of every request — e.g. `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`
//! becomes `http://127.0.0.1:PORT/{tenant}/oauth2/v2.0/token` — and delegates to azure_core's default
//! client. Only loopback targets are accepted, so it can never send a secret to another machine in the clear.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use azure_core::http::{ClientOptions, RetryOptions};
//! # use azure_identity::{ClientSecretCredential, ClientSecretCredentialOptions};
//! # use fleetgate::arm::auth::LoopbackTransport;
//! let transport = LoopbackTransport::new("http://127.0.0.1:8080").unwrap();
//! let options = ClientSecretCredentialOptions {
//!     client_options: ClientOptions { transport: Some(transport.into_transport()), retry: RetryOptions::none(), ..Default::default() },
//! };
//! let credential = ClientSecretCredential::new("tenant", "client".into(), "secret".into(), Some(options));
//! ```

use std::fmt;
use std::sync::Arc;

use azure_core::http::{AsyncRawResponse, HttpClient, Request, Transport, Url, new_http_client};
use url::Host;

/// A target URL that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Not a URL.
    #[error("loopback transport: '{url}' is not a URL ({message}); use e.g. http://127.0.0.1:8080")]
    InvalidUrl {
        /// The value given.
        url: String,
        /// The parse error.
        message: String,
    },
    /// Not `http(s)://` on localhost / 127.0.0.0/8 / ::1.
    #[error("loopback transport: '{url}' is not an http(s) URL on a loopback host; only 127.0.0.1, ::1 or localhost are allowed")]
    NotLoopback {
        /// The value given.
        url: String,
    },
}

/// Sends every request to one loopback base URL (see the module docs).
#[derive(Clone)]
pub struct LoopbackTransport {
    target: Url,
    inner: Arc<dyn HttpClient>,
}

impl fmt::Debug for LoopbackTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopbackTransport").field("target", &self.target.as_str()).finish_non_exhaustive()
    }
}

impl LoopbackTransport {
    /// Redirects to `target` (e.g. `http://127.0.0.1:8080`) through azure_core's default HTTP client.
    pub fn new(target: &str) -> Result<Self, TransportError> {
        Self::with_client(target, new_http_client(None))
    }

    /// Redirects to `target` through `inner`.
    pub fn with_client(target: &str, inner: Arc<dyn HttpClient>) -> Result<Self, TransportError> {
        let url = Url::parse(target).map_err(|e| TransportError::InvalidUrl { url: target.to_string(), message: e.to_string() })?;
        let loopback = match url.host() {
            Some(Host::Ipv4(ip)) => ip.is_loopback(),
            Some(Host::Ipv6(ip)) => ip.is_loopback(),
            Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        if !loopback || !matches!(url.scheme(), "http" | "https") {
            return Err(TransportError::NotLoopback { url: target.to_string() });
        }
        Ok(Self { target: url, inner })
    }

    /// The base every request goes to.
    pub fn target(&self) -> &Url {
        &self.target
    }

    /// `url` moved onto the target: its scheme, host and port, the target's path as a prefix, the same query.
    pub fn rewrite(&self, url: &Url) -> Url {
        let mut out = self.target.clone();
        out.set_path(&format!("{}{}", self.target.path().trim_end_matches('/'), url.path()));
        out.set_query(url.query());
        out.set_fragment(None);
        out
    }

    /// This transport as azure_core client options expect it.
    pub fn into_transport(self) -> Transport {
        Transport::new(Arc::new(self))
    }
}

#[async_trait::async_trait]
impl HttpClient for LoopbackTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let mut redirected = request.clone();
        *redirected.url_mut() = self.rewrite(request.url());
        self.inner.execute_request(&redirected).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_origin_and_keeps_path_and_query() {
        let t = LoopbackTransport::new("http://127.0.0.1:8080").unwrap();
        let from = Url::parse("https://login.microsoftonline.com/tenant/oauth2/v2.0/token?x=1").unwrap();
        assert_eq!(t.rewrite(&from).as_str(), "http://127.0.0.1:8080/tenant/oauth2/v2.0/token?x=1");
        let prefixed = LoopbackTransport::new("http://localhost:9/base/").unwrap();
        assert_eq!(prefixed.rewrite(&from).as_str(), "http://localhost:9/base/tenant/oauth2/v2.0/token?x=1");
    }

    #[test]
    fn refuses_non_loopback_targets() {
        assert!(matches!(LoopbackTransport::new("http://10.0.0.1:80"), Err(TransportError::NotLoopback { .. })));
        assert!(matches!(LoopbackTransport::new("ftp://127.0.0.1"), Err(TransportError::NotLoopback { .. })));
        assert!(matches!(LoopbackTransport::new("not a url"), Err(TransportError::InvalidUrl { .. })));
        assert!(LoopbackTransport::new("http://[::1]:1").is_ok());
    }
}
