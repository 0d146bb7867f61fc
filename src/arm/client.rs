//! [`ArmClient`]: construction, one HTTP attempt (token, timeout, status counting, error
//! classification), retries within the operation deadline, and GET / PUT / DELETE.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue, IF_MATCH, IF_NONE_MATCH};
use serde_json::Value;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use super::auth::{self, CachedCredential};
use super::endpoint::Endpoint;
use super::error::{ArmError, Call, TimeoutKind};
use super::error_body::ErrorBody;
use super::headers;
use super::pacing::Pacers;
use super::response::{ArmResponse, header, retry_after};
use super::retry::{RetryPolicy, with_retry};
use super::scope::ArmScope;
use super::stats::{ArmStats, Counters};
use crate::config::AzureSettings;
use crate::telemetry::metrics;

/// An Azure Resource Manager client. Cheap to clone; clones share the HTTP pool, token cache and stats.
#[derive(Clone)]
pub struct ArmClient {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    http: reqwest::Client,
    pub(super) endpoint: Endpoint,
    /// The token scope.
    scope: String,
    /// Where requests may go (`scope.subscriptions`, Resource Graph).
    pub(super) arm_scope: ArmScope,
    /// Largest response body read (`azure.max_response_bytes`).
    pub(super) max_response_bytes: u64,
    credential: Arc<dyn TokenCredential>,
    retry: RetryPolicy,
    request_timeout: Duration,
    pub(super) operation_timeout: Duration,
    pub(super) graph_api_version: String,
    counters: Counters,
    /// Resource Graph: no query before this instant (quota exhausted).
    graph_gate: Mutex<Option<Instant>>,
    /// Consulted before every attempt (set once, e.g. by a backfill's budget).
    hook: OnceLock<Arc<dyn RequestHook>>,
    /// Pacing from ARM's remaining-quota headers (`azure.header_pacing`).
    pacers: Pacers,
    /// The last `Authorization` value and when to stop using it (see [`ArmClient::token`]).
    auth_header: Mutex<Option<(HeaderValue, time::OffsetDateTime)>>,
}

/// Consulted before every ARM request attempt (retries and LRO polls included), e.g. to pace a run
/// under a per-subscription budget or to count requests by kind. It may wait; it cannot refuse.
#[async_trait::async_trait]
pub trait RequestHook: Send + Sync {
    /// Called right before `call` is sent; `is_read` says which ARM bucket it draws from.
    async fn before_send(&self, call: &Call, is_read: bool);
}

impl fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArmClient")
            .field("endpoint", &self.inner.endpoint.origin())
            .field("scope", &self.inner.scope)
            .finish_non_exhaustive()
    }
}

/// One request to send (possibly several times).
pub(super) struct Req<'a> {
    pub method: Method,
    pub url: Url,
    pub call: Call,
    pub body: Option<&'a Value>,
    pub if_match: Option<&'a str>,
    /// Send `If-None-Match: *`: create only, 412 when the resource exists.
    pub if_none_match: bool,
    /// Counted as a read in the stats.
    pub is_read: bool,
    /// A Resource Graph query: waits for the quota gate.
    pub graph: bool,
}

impl<'a> Req<'a> {
    /// A GET of `url`, reported as `call`.
    pub fn get(url: Url, call: Call) -> Self {
        Self { method: Method::GET, url, call, body: None, if_match: None, if_none_match: false, is_read: true, graph: false }
    }
}

impl ArmClient {
    /// Builds the client and its credential from `[azure]` (see [`auth::credential_from_settings`]). It
    /// sends requests only inside `subscriptions` (normally `scope.subscriptions`) and to Resource Graph.
    pub fn from_settings(settings: &AzureSettings, subscriptions: &[String]) -> Result<Self, ArmError> {
        let credential = auth::credential_from_settings(settings)?;
        Self::build(settings, subscriptions, credential)
    }

    /// Builds the client with a given credential, which is wrapped in the token cache. It sends
    /// requests only inside `subscriptions` (normally `scope.subscriptions`) and to Resource Graph.
    pub fn new(settings: &AzureSettings, subscriptions: &[String], credential: Arc<dyn TokenCredential>) -> Result<Self, ArmError> {
        Self::build(settings, subscriptions, Arc::new(CachedCredential::new(credential)))
    }

    fn build(settings: &AzureSettings, subscriptions: &[String], credential: Arc<dyn TokenCredential>) -> Result<Self, ArmError> {
        let endpoint = Endpoint::parse(&settings.resource_manager_endpoint)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("fleetgate/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.request_timeout)
            .build()
            .map_err(|e| ArmError::Setup(format!("could not build the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                scope: endpoint.scope(),
                endpoint,
                arm_scope: ArmScope::new(subscriptions),
                max_response_bytes: settings.max_response_bytes,
                credential,
                retry: RetryPolicy::from(&settings.retry),
                request_timeout: settings.request_timeout,
                operation_timeout: settings.operation_timeout,
                graph_api_version: settings.api_versions.resource_graph.clone(),
                counters: Counters::default(),
                graph_gate: Mutex::new(None),
                hook: OnceLock::new(),
                pacers: Pacers::new(settings.header_pacing),
                auth_header: Mutex::new(None),
            }),
        })
    }

    /// The token scope requested for ARM calls.
    pub fn scope(&self) -> &str {
        &self.inner.scope
    }

    /// Installs `hook` for this client and its clones. Returns false (and changes nothing) when a hook
    /// is already installed.
    pub fn set_request_hook(&self, hook: Arc<dyn RequestHook>) -> bool {
        self.inner.hook.set(hook).is_ok()
    }

    /// Request counters since the client was built (shared by clones).
    pub fn stats(&self) -> ArmStats {
        self.inner.counters.snapshot()
    }

    /// GETs a resource. `Ok(None)` when ARM answers 404.
    pub async fn get(&self, path: &str, api_version: &str) -> Result<Option<ArmResponse>, ArmError> {
        let url = self.inner.endpoint.url(path, &[("api-version", api_version)])?;
        match self.run(Req::get(url, Call::new("GET", path))).await {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PUTs a full resource body, with `If-Match` when given. A long-running PUT returns its first
    /// response; follow it with [`ArmClient::wait_for_lro`].
    pub async fn put(&self, path: &str, api_version: &str, body: &Value, if_match: Option<&str>) -> Result<ArmResponse, ArmError> {
        let url = self.inner.endpoint.url(path, &[("api-version", api_version)])?;
        let req = Req {
            method: Method::PUT,
            url,
            call: Call::new("PUT", path),
            body: Some(body),
            if_match,
            if_none_match: false,
            is_read: false,
            graph: false,
        };
        self.run(req).await
    }

    /// PUTs a resource only if it does not exist yet (`If-None-Match: *`). `Ok(None)` when ARM answers
    /// 412 because something is already there (e.g. another replica created it a moment ago). A
    /// resource provider that ignores the header answers as for [`ArmClient::put`].
    pub async fn create(&self, path: &str, api_version: &str, body: &Value) -> Result<Option<ArmResponse>, ArmError> {
        let url = self.inner.endpoint.url(path, &[("api-version", api_version)])?;
        let call = Call::new("PUT", path);
        let req =
            Req { method: Method::PUT, url, call, body: Some(body), if_match: None, if_none_match: true, is_read: false, graph: false };
        match self.run(req).await {
            Ok(resp) => Ok(Some(resp)),
            Err(e) if e.status() == Some(412) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// DELETEs a resource, following a long-running delete to its end. `Ok(false)` when it did not
    /// exist (404 or 204), `Ok(true)` when it was deleted.
    pub async fn delete(&self, path: &str, api_version: &str) -> Result<bool, ArmError> {
        let url = self.inner.endpoint.url(path, &[("api-version", api_version)])?;
        let req = Req {
            method: Method::DELETE,
            url,
            call: Call::new("DELETE", path),
            body: None,
            if_match: None,
            if_none_match: false,
            is_read: false,
            graph: false,
        };
        let first = match self.run(req).await {
            Ok(r) => r,
            Err(e) if e.status() == Some(404) => return Ok(false),
            Err(e) => return Err(e),
        };
        if first.status == 204 {
            return Ok(false);
        }
        if first.is_long_running() {
            self.wait_for_lro(&first).await?;
        }
        Ok(true)
    }

    /// Sends `req` with retries, bounded by the operation deadline.
    async fn run(&self, req: Req<'_>) -> Result<ArmResponse, ArmError> {
        let call = req.call.clone();
        self.within_deadline(&call, |deadline| self.execute(&req, deadline)).await
    }

    /// Runs `op` (given its deadline) under `azure.operation_timeout`.
    pub(super) async fn within_deadline<'a, T, F, Fut>(&'a self, call: &Call, op: F) -> Result<T, ArmError>
    where
        F: FnOnce(Instant) -> Fut,
        Fut: Future<Output = Result<T, ArmError>> + 'a,
    {
        let after = self.inner.operation_timeout;
        let deadline = crate::deadline::from_now(after);
        match tokio::time::timeout_at(deadline, op(deadline)).await {
            Ok(out) => out,
            Err(_) => Err(ArmError::Timeout { call: call.clone(), kind: TimeoutKind::Operation, after }),
        }
    }

    /// Sends `req` with the retry policy, giving up before `deadline`. Refused without a request when
    /// its URL is outside the scope (see [`ArmScope`]).
    pub(super) async fn execute(&self, req: &Req<'_>, deadline: Instant) -> Result<ArmResponse, ArmError> {
        self.check_scope(&req.call, &req.url)?;
        let inner = &self.inner;
        with_retry(&inner.retry, deadline, &inner.counters, |attempt| self.send_once(req, attempt)).await
    }

    /// One attempt: token, request, response classification.
    async fn send_once(&self, req: &Req<'_>, attempt: u32) -> Result<ArmResponse, ArmError> {
        // A debug span: at `info` nothing is logged inside it, and an enabled span costs the log layer a
        // formatting of its fields on every request (≈ 5 % of a no-op event). OTLP exports it at `info`
        // all the same (`telemetry::filter::otel_filter`), and `FLEETGATE_LOG=fleetgate::arm=debug` shows it in logs.
        let span =
            tracing::debug_span!("arm_call", method = req.call.method, path = %req.call.resource, attempt, status = tracing::field::Empty);
        async {
            if req.graph {
                self.wait_for_graph_quota().await;
            }
            if attempt > 1 {
                metrics().retry();
            }
            if let Some(hook) = self.inner.hook.get() {
                hook.before_send(&req.call, req.is_read).await;
            }
            let (ticket, paced) = self.inner.pacers.before_send(req.method.as_str(), req.url.path()).await;
            self.inner.counters.paced(paced);
            let token = self.token(&req.call).await?;
            let mut builder = self.inner.http.request(req.method.clone(), req.url.clone()).timeout(self.inner.request_timeout);
            builder = builder.header(AUTHORIZATION, token);
            if let Some(etag) = req.if_match {
                builder = builder.header(IF_MATCH, etag);
            }
            if req.if_none_match {
                builder = builder.header(IF_NONE_MATCH, "*");
            }
            if let Some(body) = req.body {
                builder = builder.json(body);
            }
            self.inner.counters.request(req.is_read);
            let resp = builder.send().await.map_err(|e| {
                metrics().arm_request(0);
                self.transport_error(&req.call, e)
            })?;
            let status = resp.status().as_u16();
            tracing::Span::current().record("status", status);
            self.inner.counters.status(status);
            metrics().arm_request(status);
            // Taken, not cloned: the body is read by its own length, not from these headers.
            let mut resp = resp;
            let hdrs = std::mem::take(resp.headers_mut());
            if let Some(ticket) = ticket {
                ticket.answered(status, &hdrs);
            }
            self.note_graph_quota(&hdrs);
            let bytes = self.read_body(req, resp).await?;
            if (200..300).contains(&status) {
                let mut ok = ArmResponse::from_parts(&req.call, req.url.as_str(), status, &hdrs, &bytes)?;
                ok.attempts = attempt;
                return Ok(ok);
            }
            let body = ErrorBody::parse(&bytes);
            let mut err = ArmError::api(req.call.clone(), status, body.code, body.message, retry_after(&hdrs));
            if let ArmError::Api(e) = &mut err {
                e.attempts = attempt;
            }
            tracing::debug!(status, code = err.code().unwrap_or(""), "ARM error response");
            Err(err)
        }
        .instrument(span)
        .await
    }

    /// The `Authorization` header value (marked sensitive so it never shows in debug output). The value
    /// built from a token is reused until [`auth::REFRESH_MARGIN`] before the token expires — when the
    /// token cache would refresh it anyway —, so a request costs no credential call, no formatting and
    /// no header validation while the token is fresh.
    async fn token(&self, call: &Call) -> Result<HeaderValue, ArmError> {
        let now = time::OffsetDateTime::now_utc();
        if let Some((value, _)) = self.auth_header().as_ref().filter(|(_, until)| *until > now) {
            return Ok(value.clone());
        }
        let scope = self.inner.scope.as_str();
        let credential_error = |message: String| ArmError::Credential { call: call.clone(), scope: scope.to_string(), message };
        let token = self.inner.credential.get_token(&[scope], None).await.map_err(|e| credential_error(auth::describe(&e)))?;
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.token.secret()))
            .map_err(|_| credential_error("the credential returned a token that is not a valid header value".into()))?;
        value.set_sensitive(true);
        if let Some(until) = token.expires_on.checked_sub(auth::REFRESH_MARGIN) {
            *self.auth_header() = Some((value.clone(), until));
        }
        Ok(value)
    }

    fn auth_header(&self) -> std::sync::MutexGuard<'_, Option<(HeaderValue, time::OffsetDateTime)>> {
        // A cached header value holds no invariant a panic could break: keep using it.
        self.inner.auth_header.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn transport_error(&self, call: &Call, e: reqwest::Error) -> ArmError {
        if e.is_timeout() {
            return ArmError::Timeout { call: call.clone(), kind: TimeoutKind::Request, after: self.inner.request_timeout };
        }
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        ArmError::Transport { call: call.clone(), message }
    }

    /// Waits while the Resource Graph quota is exhausted.
    async fn wait_for_graph_quota(&self) {
        let until = *self.inner.graph_gate.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = until.filter(|u| *u > Instant::now()) {
            tracing::debug!(
                wait_ms = until.saturating_duration_since(Instant::now()).as_millis() as u64,
                "Resource Graph quota exhausted; waiting"
            );
            tokio::time::sleep_until(until).await;
        }
    }

    /// Records the Resource Graph quota headers of a response.
    fn note_graph_quota(&self, hdrs: &reqwest::header::HeaderMap) {
        let remaining = header(hdrs, headers::USER_QUOTA_REMAINING);
        let resets = header(hdrs, headers::USER_QUOTA_RESETS_AFTER);
        if let Some(wait) = headers::graph_quota_wait(remaining.as_deref(), resets.as_deref()) {
            *self.inner.graph_gate.lock().unwrap_or_else(|p| p.into_inner()) = Some(crate::deadline::from_now(wait));
        }
    }
}

#[cfg(test)]
mod tests;
