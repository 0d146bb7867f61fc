//! What a person (or fleetgate itself) should do about an ARM error, by code and status. Used in the
//! text of [`super::ArmError`].

/// A one-sentence action for an ARM error on `resource`.
pub fn hint(status: u16, code: Option<&str>, resource: &str) -> String {
    let is = |c: &str| code.is_some_and(|x| x.eq_ignore_ascii_case(c));
    if is("AuthorizationFailed") {
        return format!(
            "Grant fleetgate's identity the missing permission (the action named in the message) on {resource} or a parent scope"
        );
    }
    if is("RequestDisallowedByPolicy") {
        return "An Azure Policy denies this write; exempt the resource or adjust the policy".into();
    }
    if is("InvalidParameter") {
        return "ARM rejected a parameter; check the api-version in azure.api_versions and the resource's current state".into();
    }
    if is("ScopeLocked") {
        return format!("A resource lock blocks this write; remove the lock on {resource} or its resource group; fleetgate retries later");
    }
    if is("OperationNotAllowed") || is("EtagMismatch") || is("AnotherOperationInProgress") {
        return "Another operation is running on the resource; fleetgate waits for it to finish, re-reads and re-plans".into();
    }
    if is("PrincipalNotFound") {
        return "The identity is not replicated in Entra ID yet; fleetgate retries within azure.retry.principal_not_found_window".into();
    }
    if is("ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity") {
        return "Another federated credential write on this identity is in progress; retried automatically".into();
    }
    match status {
        401 => "The access token was rejected; check azure.credential, the tenant and that the identity exists".into(),
        403 => format!("Grant fleetgate's identity the needed permission on {resource}"),
        404 => "The resource or one of its parents does not exist; check the ID and the subscription".into(),
        412 => "The resource changed since it was read; fleetgate re-reads it and re-plans".into(),
        429 => "ARM is throttling this identity; fleetgate backs off (lower the worker concurrency if it persists)".into(),
        500..=599 => "Azure returned a server error; retried automatically, check Azure status if it persists".into(),
        _ => "Fix the request or the resource as the message says, then retry".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_codes_have_specific_hints() {
        assert!(hint(403, Some("AuthorizationFailed"), "/subscriptions/s/x").contains("on /subscriptions/s/x"));
        assert!(hint(403, Some("RequestDisallowedByPolicy"), "r").contains("exempt the resource or adjust the policy"));
        assert!(hint(409, Some("ScopeLocked"), "r").contains("lock"));
        assert!(hint(409, Some("EtagMismatch"), "r").contains("waits for it to finish"));
        assert!(hint(400, Some("PrincipalNotFound"), "r").contains("principal_not_found_window"));
        assert!(hint(400, Some("InvalidParameter"), "r").contains("api_versions"));
    }

    #[test]
    fn statuses_fall_back() {
        assert!(hint(429, None, "r").contains("throttling"));
        assert!(hint(503, None, "r").contains("server error"));
        assert!(hint(412, None, "r").contains("re-plans"));
        assert!(hint(404, None, "r").contains("does not exist"));
        assert!(hint(400, Some("Whatever"), "r").contains("Fix the request"));
    }
}
