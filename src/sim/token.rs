//! Token endpoints and the set of tokens the simulator has issued.
//!
//! - Entra, `POST /{tenant}/oauth2/v2.0/token` (form body), the two grants azure_identity 1.0 sends:
//!   `ClientSecretCredential` → `client_id`, `client_secret`, `grant_type=client_credentials`, `scope`;
//!   `ClientAssertionCredential`/`WorkloadIdentityCredential` → `client_assertion`,
//!   `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, `client_id`,
//!   `grant_type=client_credentials`, `scope`. Success is `{"token_type":"Bearer","expires_in":3599,
//!   "ext_expires_in":3599,"access_token":…}`; errors use Entra's shape (`error`, `error_description`
//!   starting `AADSTS…`, `error_codes`, …).
//! - Managed identity (App Service shape, what `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` select in
//!   azure_identity): `GET /msi/token?api-version=2019-08-01&resource=…[&client_id=…]` with header
//!   `x-identity-header`; success is `{"access_token","expires_on":"<unix seconds>","resource","token_type","client_id"}`.
//!
//! Tokens are opaque random strings remembered with their audience and expiry; [`TokenStore::lookup`]
//! is what the bearer check in `auth` uses. Token values never appear in Debug output.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use url::form_urlencoded;
use uuid::Uuid;

use super::http::{SimRequest, SimResponse};
use super::options::SimOptions;

/// Lifetime of issued tokens, as Entra reports it in `expires_in`.
pub const TOKEN_LIFETIME_SECS: u64 = 3599;
/// The `client_assertion_type` of the assertion grant.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// api-version of the App Service managed-identity endpoint.
pub const MSI_API_VERSION: &str = "2019-08-01";

/// The current time on both clocks the token endpoints need.
#[derive(Debug, Clone, Copy)]
pub struct TokenClock {
    /// Monotonic time (expiry checks).
    pub now: Instant,
    /// Wall-clock unix seconds (`expires_on`).
    pub unix: u64,
}

/// What the simulator knows about one issued token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// Small stable number for the token (Resource Graph quota key, logs).
    pub id: u64,
    /// Normalized audience (`https://management.azure.com`).
    pub audience: String,
    /// When it stops being accepted.
    pub expires_at: Instant,
    /// `expires_on` in unix seconds.
    pub expires_on_unix: u64,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken").field("id", &self.id).field("audience", &self.audience).finish_non_exhaustive()
    }
}

/// Issued tokens by value.
#[derive(Default)]
pub struct TokenStore {
    tokens: HashMap<String, IssuedToken>,
    last_id: u64,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore").field("issued", &self.tokens.len()).finish()
    }
}

impl TokenStore {
    /// Issues a new opaque token for `audience` (normalized here) and returns its value.
    pub fn issue(&mut self, audience: &str, clock: TokenClock) -> (String, IssuedToken) {
        self.tokens.retain(|_, t| t.expires_at > clock.now);
        self.last_id += 1;
        let value = format!("fgsim.{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let token = IssuedToken {
            id: self.last_id,
            audience: normalize_audience(audience),
            expires_at: clock.now + Duration::from_secs(TOKEN_LIFETIME_SECS),
            expires_on_unix: clock.unix + TOKEN_LIFETIME_SECS,
        };
        self.tokens.insert(value.clone(), token.clone());
        (value, token)
    }

    /// The token with this value, expired or not.
    pub fn lookup(&self, value: &str) -> Option<&IssuedToken> {
        self.tokens.get(value)
    }

    /// Every token value issued and not yet expired (for secret-hygiene tests that search output for them).
    pub fn values(&self) -> Vec<String> {
        self.tokens.keys().cloned().collect()
    }
}

/// `https://management.azure.com/.default` and `https://management.azure.com/` → `https://management.azure.com`.
pub fn normalize_audience(scope_or_resource: &str) -> String {
    let s = scope_or_resource.trim();
    let s = s.strip_suffix("/.default").unwrap_or(s);
    s.trim_end_matches('/').to_ascii_lowercase()
}

/// Answers the Entra token endpoint for `tenant`.
pub fn entra_token(store: &mut TokenStore, options: &SimOptions, tenant: &str, req: &SimRequest, clock: TokenClock) -> SimResponse {
    let form: HashMap<String, String> = form_urlencoded::parse(&req.body).into_owned().collect();
    let param = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    if !tenant.eq_ignore_ascii_case(&options.tenant_id) {
        let msg = format!("Tenant '{tenant}' not found. The simulator serves tenant '{}' only (sim.tenant_id).", options.tenant_id);
        return entra_error(400, "invalid_request", 90002, &msg, clock);
    }
    let Some(grant) = param("grant_type") else {
        return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.", clock);
    };
    if grant != "client_credentials" {
        let msg = format!("The grant type '{grant}' is not supported by the simulator; use client_credentials.");
        return entra_error(400, "unsupported_grant_type", 70003, &msg, clock);
    }
    let Some(client_id) = param("client_id") else {
        return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.", clock);
    };
    let Some(scope) = param("scope") else {
        return entra_error(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.", clock);
    };
    if scope.split_whitespace().count() != 1 || !scope.ends_with("/.default") {
        let msg = format!(
            "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
        );
        return entra_error(400, "invalid_scope", 1002012, &msg, clock);
    }
    if let Err(err) = check_client_credential(options, client_id, &param, clock) {
        return err;
    }
    let (value, _) = store.issue(scope, clock);
    SimResponse::json(
        200,
        json!({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECS, "ext_expires_in": TOKEN_LIFETIME_SECS, "access_token": value}),
    )
}

fn check_client_credential<'a>(
    options: &SimOptions,
    client_id: &str,
    param: &impl Fn(&str) -> Option<&'a str>,
    clock: TokenClock,
) -> Result<(), SimResponse> {
    if let Some(secret) = param("client_secret") {
        if options.client_secret.as_deref().is_some_and(|expected| expected != secret) {
            let msg = format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            );
            return Err(entra_error(401, "invalid_client", 7000215, &msg, clock));
        }
        return Ok(());
    }
    let Some(assertion) = param("client_assertion") else {
        let msg = "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.";
        return Err(entra_error(401, "invalid_client", 7000218, msg, clock));
    };
    if param("client_assertion_type") != Some(JWT_BEARER) {
        let msg = format!("client_assertion_type must be '{JWT_BEARER}'.");
        return Err(entra_error(400, "invalid_request", 50014, &msg, clock));
    }
    if !looks_like_jwt(assertion) {
        return Err(entra_error(400, "invalid_request", 50027, "JWT token is invalid or malformed.", clock));
    }
    Ok(())
}

/// Three non-empty base64url segments separated by dots.
fn looks_like_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'='))
}

fn entra_error(status: u16, error: &str, code: u32, description: &str, clock: TokenClock) -> SimResponse {
    let trace_id = Uuid::new_v4();
    let correlation_id = Uuid::new_v4();
    let timestamp = timestamp(clock.unix);
    SimResponse::json(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description} Trace ID: {trace_id} Correlation ID: {correlation_id} Timestamp: {timestamp}"),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

fn timestamp(unix: u64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    i64::try_from(unix)
        .ok()
        .and_then(|u| time::OffsetDateTime::from_unix_timestamp(u).ok())
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// Answers the managed-identity endpoint.
pub fn msi_token(store: &mut TokenStore, options: &SimOptions, req: &SimRequest, clock: TokenClock) -> SimResponse {
    if req.header("x-identity-header") != Some(options.identity_header.as_str()) {
        let msg = "The X-IDENTITY-HEADER header is missing or wrong; send the value of IDENTITY_HEADER (sim.identity_header).";
        return msi_error(401, msg);
    }
    if req.query_param("api-version") != Some(MSI_API_VERSION) {
        return msi_error(400, &format!("api-version must be {MSI_API_VERSION}."));
    }
    let Some(resource) = req.query_param("resource").filter(|r| !r.is_empty()) else {
        return msi_error(400, "The 'resource' query parameter is required.");
    };
    let client_id = req.query_param("client_id").map(str::to_string).unwrap_or_else(|| system_assigned_client_id(options));
    let (value, token) = store.issue(resource, clock);
    SimResponse::json(
        200,
        json!({
            "access_token": value,
            "expires_on": token.expires_on_unix.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": client_id,
        }),
    )
}

fn msi_error(status: u16, message: &str) -> SimResponse {
    SimResponse::json(status, json!({"statusCode": status, "message": message, "correlationId": Uuid::new_v4()}))
}

/// A stable client ID for the simulated system-assigned identity.
fn system_assigned_client_id(options: &SimOptions) -> String {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("fleetgate-sim/system-assigned/{}", options.tenant_id).as_bytes()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> TokenClock {
        TokenClock { now: Instant::now(), unix: 1_700_000_000 }
    }

    fn form_request(body: &str) -> SimRequest {
        SimRequest {
            method: "POST".into(),
            path: "/t/oauth2/v2.0/token".into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            base_url: "http://127.0.0.1:1".into(),
        }
    }

    #[test]
    fn normalizes_scopes_and_resources() {
        assert_eq!(normalize_audience("https://management.azure.com/.default"), "https://management.azure.com");
        assert_eq!(normalize_audience("https://Management.Azure.com/"), "https://management.azure.com");
        assert_eq!(normalize_audience("https://management.azure.com//.default"), "https://management.azure.com");
    }

    #[test]
    fn issued_tokens_are_distinct_and_remembered() {
        let mut store = TokenStore::default();
        let (a, ta) = store.issue("https://management.azure.com/.default", clock());
        let (b, _) = store.issue("https://servicebus.azure.net", clock());
        assert_ne!(a, b);
        assert_eq!(store.lookup(&a), Some(&ta));
        assert_eq!(ta.expires_on_unix, 1_700_000_000 + TOKEN_LIFETIME_SECS);
        assert!(!format!("{store:?}{ta:?}").contains(&a), "Debug must not show token values");
    }

    #[test]
    fn secret_grant_checks_the_configured_secret() {
        let options = SimOptions { client_secret: Some("right".into()), ..SimOptions::default() };
        let tenant = options.tenant_id.clone();
        let mut store = TokenStore::default();
        let ok = "grant_type=client_credentials&client_id=c&client_secret=right&scope=https%3A%2F%2Fmanagement.azure.com%2F.default";
        let res = entra_token(&mut store, &options, &tenant, &form_request(ok), clock());
        assert_eq!(res.status, 200);
        let bad = ok.replace("right", "wrong");
        let res = entra_token(&mut store, &options, &tenant, &form_request(&bad), clock());
        assert_eq!(res.status, 401);
        let body = res.body.unwrap();
        assert_eq!(body["error"], "invalid_client");
        assert!(body["error_description"].as_str().unwrap().starts_with("AADSTS7000215:"));
        assert!(!body.to_string().contains("wrong"), "the secret must not be echoed");
    }

    #[test]
    fn recognizes_jwt_shape() {
        assert!(looks_like_jwt("eyJh.eyJz.c2ln"));
        assert!(!looks_like_jwt("not-a-jwt"));
        assert!(!looks_like_jwt("a..c"));
    }
}
