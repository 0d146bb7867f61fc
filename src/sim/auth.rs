//! The ARM bearer check: `Authorization: Bearer <token issued by this simulator>` for the ARM audience.
//!
//! Failures answer 401 with ARM's codes and a `WWW-Authenticate: Bearer …` header:
//! missing or malformed header → `AuthenticationFailed`; unknown token → `InvalidAuthenticationToken`;
//! expired → `ExpiredAuthenticationToken`; another audience → `InvalidAuthenticationTokenAudience`.
//! No message ever contains the token.

use tokio::time::Instant;

use super::http::SimResponse;
use super::token::TokenStore;

/// Audiences ARM accepts (normalized: no trailing slash, lower case).
pub const ARM_AUDIENCES: [&str; 2] = ["https://management.azure.com", "https://management.core.windows.net"];

/// Who made an authenticated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The token's id in the store.
    pub token_id: u64,
}

/// Why a request was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// Not `Bearer <token>`.
    Malformed,
    /// Not a token this simulator issued.
    Unknown,
    /// Issued, but expired.
    Expired,
    /// Issued for another audience.
    WrongAudience(String),
}

/// Checks the `Authorization` header value against the store.
pub fn authenticate(store: &TokenStore, authorization: Option<&str>, now: Instant) -> Result<Caller, AuthFailure> {
    let header = authorization.ok_or(AuthFailure::Missing)?;
    let (scheme, value) = header.trim().split_once(' ').ok_or(AuthFailure::Malformed)?;
    let value = value.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || value.is_empty() {
        return Err(AuthFailure::Malformed);
    }
    let token = store.lookup(value).ok_or(AuthFailure::Unknown)?;
    if token.expires_at <= now {
        return Err(AuthFailure::Expired);
    }
    if !ARM_AUDIENCES.contains(&token.audience.as_str()) {
        return Err(AuthFailure::WrongAudience(token.audience.clone()));
    }
    Ok(Caller { token_id: token.id })
}

impl AuthFailure {
    /// The 401 ARM answers with; `authority` is the token endpoint's base (`{base_url}/{tenant}`).
    pub fn response(&self, authority: &str) -> SimResponse {
        let (code, message) = match self {
            Self::Missing => ("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.".to_string()),
            Self::Malformed => {
                ("AuthenticationFailed", "Authentication failed. The 'Authorization' header is provided in an invalid format.".to_string())
            }
            Self::Unknown => ("InvalidAuthenticationToken", "The access token is invalid.".to_string()),
            Self::Expired => ("ExpiredAuthenticationToken", "The access token expiry time is earlier than the current time.".to_string()),
            Self::WrongAudience(aud) => (
                "InvalidAuthenticationTokenAudience",
                format!(
                    "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
                ),
            ),
        };
        let challenge = format!(r#"Bearer authorization_uri="{authority}", error="invalid_token", error_description="{message}""#);
        SimResponse::error(401, code, &message).with_header("www-authenticate", challenge)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::token::TokenClock;
    use std::time::Duration;

    #[test]
    fn accepts_only_live_arm_tokens() {
        let now = Instant::now();
        let clock = TokenClock { now, unix: 1 };
        let mut store = TokenStore::default();
        let (arm, issued) = store.issue("https://management.azure.com/.default", clock);
        let (sb, _) = store.issue("https://servicebus.azure.net", clock);
        let bearer = |t: &str| format!("Bearer {t}");
        assert_eq!(authenticate(&store, Some(&bearer(&arm)), now), Ok(Caller { token_id: issued.id }));
        assert_eq!(authenticate(&store, None, now), Err(AuthFailure::Missing));
        assert_eq!(authenticate(&store, Some("Basic abc"), now), Err(AuthFailure::Malformed));
        assert_eq!(authenticate(&store, Some("Bearer nope"), now), Err(AuthFailure::Unknown));
        assert_eq!(authenticate(&store, Some(&bearer(&sb)), now), Err(AuthFailure::WrongAudience("https://servicebus.azure.net".into())));
        assert_eq!(authenticate(&store, Some(&bearer(&arm)), now + Duration::from_secs(3600)), Err(AuthFailure::Expired));
    }

    #[test]
    fn failures_carry_arm_codes_and_a_challenge() {
        let r = AuthFailure::Missing.response("http://127.0.0.1:1/t");
        assert_eq!((r.status, r.error_code()), (401, Some("AuthenticationFailed")));
        assert!(
            r.headers.iter().any(|(k, v)| k == "www-authenticate" && v.starts_with("Bearer authorization_uri=\"http://127.0.0.1:1/t\""))
        );
        assert_eq!(AuthFailure::Unknown.response("x").error_code(), Some("InvalidAuthenticationToken"));
    }
}
