//! [`ServiceBusTransport`]: the `HttpClient` (azure_core 0.21) that azure_messaging_servicebus 0.21 sends
//! through. It fixes what the crate cannot do itself:
//!
//! - **endpoint**: the crate hard-codes `https://{ns}.servicebus.windows.net`; with `endpoint` set, such
//!   URLs go to `{endpoint}{path}` instead (the simulator's `http://127.0.0.1:PORT/sb`, a sovereign cloud's
//!   `https://{ns}.servicebus.chinacloudapi.cn`). Plain `http://` is accepted only for loopback hosts.
//!   Requests to any other origin (e.g. a `Location` header pointing elsewhere) are refused, so a
//!   credential never leaves for a host that is neither the namespace nor the endpoint.
//! - **auth**: [`QueueAuth::Entra`] replaces the crate's SAS header with `Bearer <token>` for the Service
//!   Bus scope from an azure_core 1.x `TokenCredential`; [`QueueAuth::Sas`] re-signs for the entity really
//!   requested (the crate's signature names the windows.net URL), once per entity and half a token
//!   lifetime; [`QueueAuth::PassThrough`] keeps the crate's header (right when the endpoint is not rewritten).
//! - **HTTP**: a reqwest 0.12 client with a request timeout (keep it above the long-poll `timeout`) and
//!   connection reuse (the crate's default client has neither), that never follows a redirect (a 307
//!   to another host would otherwise carry a message body there); a 3xx is an error like any non-2xx.
//! - **size**: response bodies are bounded (see `limit`): a received message body is cut at 4 MiB (four
//!   times what the dispatcher accepts), any other body over 1 MiB fails the operation.
//! - **BrokerProperties**: the crate reads `EnqueuedSequenceNumber` as i32, so any message on an entity
//!   whose sequence numbers passed 2^31 fails to parse *after* the service locked it. The transport drops
//!   that one field (the crate makes it optional and fleetgate does not use it) when it does not fit;
//!   any other unparseable header is left alone and reported by `ServiceBusQueue::receive`.
//! - **body**: a received body that is not UTF-8 is made valid (invalid bytes → U+FFFD) before the
//!   crate reads it as a string (see `utf8`).
//!
//! Errors name the operation and host but never contain tokens, keys or signatures.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use azure_core_legacy::error::{Error, ErrorKind};
use azure_core_legacy::headers::{AUTHORIZATION, HeaderName, HeaderValue};
use azure_core_legacy::{HttpClient, Request, Response, Url};
use azure_messaging_servicebus::service_bus::BrokerProperties;
use serde_json::Value;
use url::Host;

use super::limit::{MAX_RECEIVED_BODY_BYTES, MAX_RESPONSE_BYTES, capped};
use super::sas::{SAS_TTL_SECS, SasKey};

/// Entra scope of the Service Bus data plane (public cloud and the national clouds alike).
pub const SERVICE_BUS_SCOPE: &str = "https://servicebus.azure.net/.default";
/// Default request timeout: above the longest long poll fleetgate asks for (60 s) plus slack.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
const NAMESPACE_SUFFIX: &str = ".servicebus.windows.net";
const BROKER_PROPERTIES: &str = "brokerproperties";

/// How requests are authorized.
#[derive(Clone)]
pub enum QueueAuth {
    /// Keep the crate's SAS header.
    PassThrough,
    /// Re-sign every request with this key over the URL really requested.
    Sas(SasKey),
    /// `Bearer` tokens from a Microsoft Entra credential for `scope` (normally [`SERVICE_BUS_SCOPE`]).
    Entra {
        /// The credential (azure_identity 1.x).
        credential: Arc<dyn azure_core::credentials::TokenCredential>,
        /// The token scope.
        scope: String,
    },
}

impl QueueAuth {
    /// Entra with the standard Service Bus scope.
    pub fn entra(credential: Arc<dyn azure_core::credentials::TokenCredential>) -> Self {
        Self::Entra { credential, scope: SERVICE_BUS_SCOPE.to_string() }
    }
}

impl fmt::Debug for QueueAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PassThrough => f.write_str("PassThrough"),
            Self::Sas(key) => f.debug_tuple("Sas").field(key).finish(),
            Self::Entra { scope, .. } => f.debug_struct("Entra").field("scope", scope).finish_non_exhaustive(),
        }
    }
}

/// A transport configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// `queue.endpoint` is not usable.
    #[error("queue.endpoint '{endpoint}': {reason}; use https://HOST[:PORT][/PATH], or http:// for a loopback host (the simulator)")]
    InvalidEndpoint {
        /// The value given.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built.
    #[error("Service Bus transport: cannot build the HTTP client: {0}")]
    Client(String),
}

/// The transport (see the module docs).
pub struct ServiceBusTransport {
    endpoint: Option<Url>,
    auth: QueueAuth,
    inner: Arc<dyn HttpClient>,
    /// SAS values per entity (see [`ServiceBusTransport::sas_header`]).
    signatures: std::sync::Mutex<HashMap<String, Signed>>,
}

/// A SAS `Authorization` value for one entity and when it expires.
struct Signed {
    expiry: i64,
    header: String,
}

impl fmt::Debug for ServiceBusTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceBusTransport")
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl ServiceBusTransport {
    /// A transport over a reqwest 0.12 client with `request_timeout` and connection reuse.
    pub fn new(endpoint: Option<&str>, auth: QueueAuth, request_timeout: Duration) -> Result<Self, TransportError> {
        let endpoint = endpoint.map(parse_endpoint).transpose()?;
        let mut builder = reqwest012::Client::builder()
            .redirect(reqwest012::redirect::Policy::none())
            .timeout(request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(90));
        if endpoint.as_ref().is_some_and(is_loopback) {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| TransportError::Client(e.to_string()))?;
        Ok(Self { endpoint, auth, inner: Arc::new(client), signatures: Default::default() })
    }

    /// A transport over `inner` (tests, or a caller's own client).
    pub fn with_client(endpoint: Option<&str>, auth: QueueAuth, inner: Arc<dyn HttpClient>) -> Result<Self, TransportError> {
        Ok(Self { endpoint: endpoint.map(parse_endpoint).transpose()?, auth, inner, signatures: Default::default() })
    }

    /// Where a request for `url` really goes, or why it may not go anywhere.
    pub fn target(&self, url: &Url) -> azure_core_legacy::Result<Url> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if url.scheme() == "https" && host.ends_with(NAMESPACE_SUFFIX) {
            let Some(endpoint) = &self.endpoint else { return Ok(url.clone()) };
            let mut out = endpoint.clone();
            out.set_path(&format!("{}{}", endpoint.path().trim_end_matches('/'), url.path()));
            out.set_query(url.query());
            return Ok(out);
        }
        if let Some(endpoint) = &self.endpoint
            && same_origin(url, endpoint)
            && url.path().starts_with(endpoint.path().trim_end_matches('/'))
        {
            return Ok(url.clone());
        }
        Err(Error::with_message(ErrorKind::Other, || {
            format!(
                "refusing to send a Service Bus request to {}: it is neither a *{NAMESPACE_SUFFIX} namespace nor queue.endpoint",
                url.origin().ascii_serialization()
            )
        }))
    }

    /// A SAS for the entity `url` belongs to (its URI up to the last `messages` segment, the form the
    /// Service Bus documentation gives for `sr`: a token covers everything under its resource URI), valid
    /// for [`SAS_TTL_SECS`] and reused while it has more than half of that left — as the Azure SDKs do — so
    /// a receive or a settle costs no signing. A URL without a `messages` segment is signed for itself.
    fn sas_header(&self, key: &SasKey, url: &Url) -> String {
        let resource = entity_resource(url);
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut signatures = self.signatures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(signed) = signatures.get(&resource).filter(|s| s.expiry - now > SAS_TTL_SECS / 2) {
            return signed.header.clone();
        }
        let expiry = now + SAS_TTL_SECS;
        let header = key.authorization(&resource, expiry);
        if signatures.len() >= MAX_CACHED_SIGNATURES {
            signatures.clear();
        }
        signatures.insert(resource, Signed { expiry, header: header.clone() });
        header
    }

    async fn authorize(&self, request: &mut Request) -> azure_core_legacy::Result<()> {
        match &self.auth {
            QueueAuth::PassThrough => {}
            QueueAuth::Sas(key) => {
                let header = self.sas_header(key, request.url());
                request.insert_header(AUTHORIZATION, header);
            }
            QueueAuth::Entra { credential, scope } => {
                let token = credential.get_token(&[scope.as_str()], None).await.map_err(|e| {
                    let message = format!(
                        "could not get a Microsoft Entra token for {scope}; check the credential (azure.credential) and that the identity has the Azure Service Bus Data Receiver and Data Sender roles"
                    );
                    Error::full(ErrorKind::Credential, e, message)
                })?;
                request.insert_header(AUTHORIZATION, format!("Bearer {}", token.token.secret()));
            }
        }
        Ok(())
    }
}

/// Entities a transport keeps signatures for (a worker talks to two or three: its queue, the poison queue).
const MAX_CACHED_SIGNATURES: usize = 16;

/// `scheme://host[:port]/path-before-the-last-messages-segment`, or the whole URL without its query when
/// there is no `messages` segment.
fn entity_resource(url: &Url) -> String {
    let mut resource = url.clone();
    resource.set_query(None);
    resource.set_fragment(None);
    let segments: Vec<&str> = url.path_segments().map(Iterator::collect).unwrap_or_default();
    if let Some(at) = segments.iter().rposition(|s| *s == "messages") {
        resource.set_path(&segments[..at].join("/"));
    }
    resource.as_str().trim_end_matches('/').to_string()
}

#[async_trait::async_trait]
impl HttpClient for ServiceBusTransport {
    async fn execute_request(&self, request: &Request) -> azure_core_legacy::Result<Response> {
        let mut outgoing = request.clone();
        *outgoing.url_mut() = self.target(request.url())?;
        self.authorize(&mut outgoing).await?;
        let response = repair_response(self.inner.execute_request(&outgoing).await?);
        if is_receive(request) {
            super::utf8::lossy_body(response, MAX_RECEIVED_BODY_BYTES).await
        } else {
            capped(response, MAX_RESPONSE_BYTES, &outgoing.url().origin().ascii_serialization())
        }
    }
}

fn parse_endpoint(raw: &str) -> Result<Url, TransportError> {
    let invalid = |reason: &str| TransportError::InvalidEndpoint { endpoint: raw.to_string(), reason: reason.to_string() };
    let url = Url::parse(raw.trim()).map_err(|e| invalid(&format!("not a URL ({e})")))?;
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not carry credentials, a query or a fragment"));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(invalid("plain http is allowed only for loopback hosts")),
        other => Err(invalid(&format!("scheme '{other}' is not http(s)"))),
    }
}

/// `url.origin() == other.origin()` without building either origin.
fn same_origin(url: &Url, other: &Url) -> bool {
    url.scheme() == other.scheme() && url.host() == other.host() && url.port_or_known_default() == other.port_or_known_default()
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A peek-lock or receive-and-delete: `POST`/`DELETE` on `…/messages/head`.
fn is_receive(request: &Request) -> bool {
    let method = request.method().as_ref();
    (method.eq_ignore_ascii_case("POST") || method.eq_ignore_ascii_case("DELETE"))
        && request.url().path().trim_end_matches('/').ends_with("/messages/head")
}

/// Drops an `EnqueuedSequenceNumber` the crate cannot hold (see the module docs).
fn repair_response(response: Response) -> Response {
    let name = HeaderName::from_static(BROKER_PROPERTIES);
    let Some(repaired) = response.headers().get_optional_str(&name).and_then(repair_broker_properties) else {
        return response;
    };
    tracing::debug!("Service Bus: dropped an EnqueuedSequenceNumber above i32::MAX from BrokerProperties");
    let (status, mut headers, body) = response.deconstruct();
    headers.insert(name, HeaderValue::from(repaired));
    Response::new(status, headers, Box::pin(body))
}

/// The header without `EnqueuedSequenceNumber` when that alone keeps the crate from parsing it.
pub fn repair_broker_properties(raw: &str) -> Option<String> {
    // Every receive passes here: a header whose number plainly fits (or that has none) is left to the
    // crate without parsing it a second time.
    if enqueued_sequence_number_fits(raw) || BrokerProperties::from_str(raw).is_ok() {
        return None;
    }
    let Ok(Value::Object(mut props)) = serde_json::from_str::<Value>(raw) else { return None };
    let fits = props.get("EnqueuedSequenceNumber").and_then(Value::as_i64).is_some_and(|n| i32::try_from(n).is_ok());
    if fits || props.remove("EnqueuedSequenceNumber").is_none() {
        return None;
    }
    let fixed = Value::Object(props).to_string();
    BrokerProperties::from_str(&fixed).is_ok().then_some(fixed)
}

/// True when `raw` holds no `"EnqueuedSequenceNumber"` key, or exactly one whose value is a plain
/// number of at most 9 digits (below 2^31). Anything else — a longer number, a sign, a second key, a
/// header with escapes (a key could be spelled `"Enqueued\u0053…"`) — returns false and is looked at
/// closely by the caller.
fn enqueued_sequence_number_fits(raw: &str) -> bool {
    const KEY: &str = "\"EnqueuedSequenceNumber\"";
    if raw.contains('\\') {
        return false;
    }
    let mut found = raw.match_indices(KEY);
    let Some((at, _)) = found.next() else { return true };
    if found.next().is_some() {
        return false;
    }
    let value = raw[at + KEY.len()..].trim_start().strip_prefix(':').map(str::trim_start).unwrap_or_default();
    let digits = value.bytes().take_while(u8::is_ascii_digit).count();
    (1..=9).contains(&digits) && value[digits..].trim_start().starts_with([',', '}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(endpoint: Option<&str>) -> ServiceBusTransport {
        ServiceBusTransport::new(endpoint, QueueAuth::PassThrough, DEFAULT_REQUEST_TIMEOUT).unwrap()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn rewrites_the_namespace_host_to_the_endpoint() {
        let t = transport(Some("http://127.0.0.1:8080/sb"));
        let out = t.target(&url("https://myns.servicebus.windows.net/q1/messages/head?timeout=5")).unwrap();
        assert_eq!(out.as_str(), "http://127.0.0.1:8080/sb/q1/messages/head?timeout=5");
        let lock = url("http://127.0.0.1:8080/sb/q1/messages/7/abc");
        assert_eq!(t.target(&lock).unwrap(), lock, "lock URIs from the endpoint pass unchanged");
        let cn = transport(Some("https://myns.servicebus.chinacloudapi.cn"));
        assert_eq!(
            cn.target(&url("https://myns.servicebus.windows.net/q/messages")).unwrap().as_str(),
            "https://myns.servicebus.chinacloudapi.cn/q/messages"
        );
        let plain = transport(None);
        let public = url("https://myns.servicebus.windows.net/q/messages");
        assert_eq!(plain.target(&public).unwrap(), public);
    }

    #[test]
    fn refuses_foreign_hosts_and_insecure_endpoints() {
        let t = transport(Some("http://127.0.0.1:8080/sb"));
        let err = t.target(&url("https://evil.example.com/q/messages/1/x")).unwrap_err();
        assert!(err.to_string().contains("https://evil.example.com"), "{err}");
        assert!(t.target(&url("http://127.0.0.1:8080/other")).is_err(), "outside the endpoint path");
        assert!(transport(None).target(&url("http://myns.servicebus.windows.net/q")).is_err(), "plain http to Azure");
        for bad in ["http://10.0.0.1/sb", "ftp://127.0.0.1", "not a url", "https://u:p@h/", "https://h/?x=1"] {
            assert!(ServiceBusTransport::new(Some(bad), QueueAuth::PassThrough, DEFAULT_REQUEST_TIMEOUT).is_err(), "{bad}");
        }
        assert!(ServiceBusTransport::new(Some("http://localhost:1"), QueueAuth::PassThrough, DEFAULT_REQUEST_TIMEOUT).is_ok());
    }

    #[test]
    fn repairs_only_an_oversized_enqueued_sequence_number() {
        // EnqueuedTimeUtc is `Option` in the crate but still required (serde `with` and no `default`).
        let base = r#""DeliveryCount":1,"EnqueuedTimeUtc":"Wed, 05 Dec 2012 20:42:40 GMT","LockToken":"t","LockedUntilUtc":"Wed, 05 Dec 2012 20:43:40 GMT","MessageId":"m","SequenceNumber":2147483648,"State":"Active","TimeToLive":10"#;
        let big = format!(r#"{{{base},"EnqueuedSequenceNumber":2147483648}}"#);
        let fixed = repair_broker_properties(&big).unwrap();
        assert!(!fixed.contains("EnqueuedSequenceNumber"));
        assert_eq!(BrokerProperties::from_str(&fixed).unwrap().sequence_number, 2_147_483_648);
        assert_eq!(repair_broker_properties(&format!(r#"{{{base},"EnqueuedSequenceNumber":5}}"#)), None, "already fine");
        let spaced = format!(r#"{{{base}, "EnqueuedSequenceNumber" : 2147483648 }}"#);
        assert!(repair_broker_properties(&spaced).is_some_and(|f| !f.contains("EnqueuedSequenceNumber")), "spacing does not hide it");
        let iso = big.replace("Wed, 05 Dec 2012 20:43:40 GMT", "2012-12-05T20:43:40Z");
        assert_eq!(repair_broker_properties(&iso), None, "other problems are not papered over");
    }

    #[test]
    fn recognises_a_sequence_number_that_plainly_fits() {
        assert!(enqueued_sequence_number_fits(r#"{"DeliveryCount":1}"#), "no such key");
        assert!(enqueued_sequence_number_fits(r#"{"EnqueuedSequenceNumber":5,"X":1}"#));
        assert!(enqueued_sequence_number_fits(r#"{"EnqueuedSequenceNumber" : 999999999 }"#));
        for unclear in [
            r#"{"EnqueuedSequenceNumber":2147483648}"#,
            r#"{"EnqueuedSequenceNumber":1000000000}"#,
            r#"{"EnqueuedSequenceNumber":-1}"#,
            r#"{"EnqueuedSequenceNumber":"5"}"#,
            r#"{"EnqueuedSequenceNumber":5.0}"#,
            r#"{"EnqueuedSequenceNumber":5,"EnqueuedSequenceNumber":3000000000}"#,
            r#"{"EnqueuedSequenceNumber""#,
            r#"{"Enqueued\u0053equenceNumber":3000000000}"#,
        ] {
            assert!(!enqueued_sequence_number_fits(unclear), "{unclear}");
        }
    }

    #[test]
    fn signs_each_entity_once_for_half_the_lifetime() {
        let key = SasKey::new("rule", "k");
        let t = ServiceBusTransport::new(None, QueueAuth::Sas(key.clone()), DEFAULT_REQUEST_TIMEOUT).unwrap();
        let head = t.sas_header(&key, &url("https://ns.servicebus.windows.net/q/messages/head?timeout=5"));
        assert!(head.contains("sr=https%3A%2F%2Fns.servicebus.windows.net%2Fq&"), "the entity is the resource: {head}");
        let lock = t.sas_header(&key, &url("https://ns.servicebus.windows.net/q/messages/7/0a1b2c3d"));
        assert_eq!(lock, head, "a settle reuses the entity's signature");
        let poison = t.sas_header(&key, &url("https://ns.servicebus.windows.net/q-poison/messages"));
        assert!(poison.contains("%2Fq-poison&"), "another entity is signed for itself: {poison}");
        let sim = t.sas_header(&key, &url("http://127.0.0.1:8080/sb/messages/messages/head"));
        assert!(sim.contains("sr=http%3A%2F%2F127.0.0.1%3A8080%2Fsb%2Fmessages&"), "a queue named messages: {sim}");
        let other = t.sas_header(&key, &url("https://ns.servicebus.windows.net/q/$management?x=1"));
        assert!(other.contains("sr=https%3A%2F%2Fns.servicebus.windows.net%2Fq%2F%24management&"), "{other}");
        let resource = "https://ns.servicebus.windows.net/q".to_string();
        t.signatures.lock().unwrap().insert(resource, Signed { expiry: 0, header: "stale".into() });
        assert_ne!(t.sas_header(&key, &url("https://ns.servicebus.windows.net/q/messages/head")), "stale", "an old signature is replaced");
    }

    #[test]
    fn debug_hides_secrets() {
        let t = ServiceBusTransport::new(None, QueueAuth::Sas(SasKey::new("rule", "s3cr3t-key")), DEFAULT_REQUEST_TIMEOUT).unwrap();
        let shown = format!("{t:?}");
        assert!(shown.contains("rule") && !shown.contains("s3cr3t-key"), "{shown}");
    }
}
