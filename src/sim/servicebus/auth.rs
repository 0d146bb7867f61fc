//! Who may use the Service Bus surface: a valid SAS token for one of the namespace's rules, or
//! `Bearer <token>` issued by the simulator's token endpoints for the Service Bus audience.

use tokio::time::Instant;

use super::sas::{self, SasFailure};
use super::spec::SasRule;
use crate::sim::token::TokenStore;

/// The Entra audience of the Service Bus data plane (scope `https://servicebus.azure.net/.default`).
pub const SERVICE_BUS_AUDIENCE: &str = "https://servicebus.azure.net";

/// True for the audiences Service Bus accepts: the global one and a namespace URI.
fn accepted_audience(audience: &str) -> bool {
    audience == SERVICE_BUS_AUDIENCE || audience.strip_prefix("https://").is_some_and(|host| host.contains(".servicebus."))
}

/// Checks the `Authorization` header for a request on `entity_path`; `Err` is the 401 detail (no secrets).
pub fn authenticate(
    authorization: Option<&str>,
    rules: &[SasRule],
    tokens: &TokenStore,
    now: Instant,
    now_unix: i64,
    entity_path: &str,
) -> Result<(), String> {
    let Some(header) = authorization else {
        return Err("MissingToken: The authorization header was not found. Send SharedAccessSignature or Bearer credentials.".into());
    };
    if let Some(value) = sas::sas_value(header) {
        return sas::verify(value, rules, now_unix, entity_path).map(|_| ()).map_err(|f: SasFailure| f.detail());
    }
    let bearer = header.trim().split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")).map(|(_, v)| v.trim());
    let Some(value) = bearer.filter(|v| !v.is_empty()) else {
        return Err("MalformedToken: The authorization header is neither SharedAccessSignature nor Bearer.".into());
    };
    let token = tokens.lookup(value).ok_or("InvalidToken: The bearer token was not issued by this simulator's token endpoints.")?;
    if token.expires_at <= now {
        return Err("ExpiredToken: The bearer token is expired.".into());
    }
    if !accepted_audience(&token.audience) {
        return Err(format!(
            "InvalidAudience: The token audience '{}' is not valid; request scope {SERVICE_BUS_AUDIENCE}/.default.",
            token.audience
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::token::TokenClock;

    #[test]
    fn bearer_needs_a_live_service_bus_token() {
        let now = Instant::now();
        let mut store = TokenStore::default();
        let clock = TokenClock { now, unix: 1 };
        let (sb, _) = store.issue("https://servicebus.azure.net/.default", clock);
        let (ns, _) = store.issue("https://myns.servicebus.windows.net", clock);
        let (arm, _) = store.issue("https://management.azure.com/.default", clock);
        let check = |h: Option<&str>, at: Instant| authenticate(h, &[], &store, at, 1, "q/messages");
        assert_eq!(check(Some(&format!("Bearer {sb}")), now), Ok(()));
        assert_eq!(check(Some(&format!("bearer {ns}")), now), Ok(()));
        assert!(check(Some(&format!("Bearer {arm}")), now).unwrap_err().starts_with("InvalidAudience"));
        assert!(check(Some("Bearer nope"), now).unwrap_err().starts_with("InvalidToken"));
        assert!(check(None, now).unwrap_err().starts_with("MissingToken"));
        assert!(check(Some("Basic x"), now).unwrap_err().starts_with("MalformedToken"));
        let later = now + std::time::Duration::from_secs(4000);
        assert!(check(Some(&format!("Bearer {sb}")), later).unwrap_err().starts_with("ExpiredToken"));
        assert!(check(Some("SharedAccessSignature sr=a&sig=b&se=9&skn=none"), now).unwrap_err().starts_with("InvalidSignature"));
        let detail = check(Some(&format!("Bearer {arm}")), now).unwrap_err();
        assert!(!detail.contains(&arm), "no token in the detail");
    }
}
