//! The configured ARM endpoint: joining request paths onto it safely, checking that absolute URLs from
//! responses (`nextLink`, `Azure-AsyncOperation`, `Location`) stay on it, and the token scope.

use url::Url;

use super::error::{ArmError, Call};

/// Scope used when the endpoint is a loopback simulator: its tokens carry the public-cloud audience.
pub const PUBLIC_ARM_SCOPE: &str = "https://management.azure.com/.default";

/// A validated ARM base URL.
#[derive(Debug, Clone)]
pub struct Endpoint {
    base: Url,
}

impl Endpoint {
    /// Parses `https://host[:port][/prefix]`, or `http://` on a loopback host.
    pub fn parse(text: &str) -> Result<Self, ArmError> {
        let setup = |why: &str| ArmError::Setup(format!("azure.resource_manager_endpoint {text:?} {why}"));
        let mut base = Url::parse(text.trim()).map_err(|e| setup(&format!("is not a URL ({e})")))?;
        match base.scheme() {
            "https" => {}
            "http" if is_loopback(&base) => {}
            _ => return Err(setup("must use https:// (plain http:// only for a loopback host)")),
        }
        if base.host().is_none() || base.query().is_some() || base.fragment().is_some() || !base.username().is_empty() {
            return Err(setup("must be scheme://host[:port] with no query, fragment or credentials"));
        }
        let trimmed = base.path().trim_end_matches('/').to_string();
        base.set_path(&trimmed);
        Ok(Self { base })
    }

    /// True when the endpoint is a loopback host (the simulator).
    pub fn is_loopback(&self) -> bool {
        is_loopback(&self.base)
    }

    /// The token scope: `{endpoint}/.default`, or the public ARM scope for a loopback endpoint so the
    /// simulator's audience check matches what Azure would see.
    pub fn scope(&self) -> String {
        if self.is_loopback() { PUBLIC_ARM_SCOPE.to_string() } else { format!("{}/.default", self.base.as_str().trim_end_matches('/')) }
    }

    /// `scheme://host[:port]` of the endpoint.
    pub fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }

    /// The URL of `path` (an ARM path such as `/subscriptions/…`) with `query` pairs appended.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, ArmError> {
        check_path(path)?;
        let mut url = self.base.clone();
        url.set_path(&format!("{}{}", self.base.path().trim_end_matches('/'), path));
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// The ARM path of a URL on this endpoint: its path without the endpoint's own path prefix (e.g.
    /// `/arm` of `http://127.0.0.1:9/arm`). `None` when the URL is not under the endpoint.
    pub fn arm_path<'u>(&self, url: &'u Url) -> Option<&'u str> {
        if url.origin() != self.base.origin() {
            return None;
        }
        let prefix = self.base.path().trim_end_matches('/');
        url.path().strip_prefix(prefix).filter(|rest| rest.starts_with('/'))
    }

    /// Parses an absolute URL from a response and refuses it unless it has the endpoint's scheme, host
    /// and port. (Its path is checked against the scope before any request is sent.)
    pub fn follow(&self, call: &Call, link: &str) -> Result<Url, ArmError> {
        let refuse = |url: String| ArmError::ForeignUrl { call: call.clone(), url, expected: self.origin() };
        let url = Url::parse(link.trim()).map_err(|_| refuse(redact_query(link)))?;
        if url.origin() != self.base.origin() || !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(redact_query(link)));
        }
        Ok(url)
    }
}

/// True when the URL's host is `localhost` or a loopback address.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The URL text without its query string (which may carry opaque tokens).
pub fn redact_query(link: &str) -> String {
    let cut = link.find(['?', '#']).unwrap_or(link.len());
    link[..cut].chars().take(300).collect()
}

/// Rejects anything that is not a plain absolute ARM path.
fn check_path(path: &str) -> Result<(), ArmError> {
    let fail = |reason| Err(ArmError::InvalidPath { path: path.chars().take(300).collect(), reason });
    if !path.starts_with('/') {
        return fail("must start with '/'");
    }
    if path.len() > 4096 {
        return fail("longer than 4096 characters");
    }
    if path.contains(['?', '#', '\\', '%']) || path.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return fail("contains '?', '#', '\\', '%', whitespace or a control character");
    }
    let segments: Vec<&str> = path[1..].split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return fail("has an empty segment");
    }
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return fail("has a '.' or '..' segment");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert!(Endpoint::parse("https://management.azure.com").is_ok());
        assert!(Endpoint::parse("http://127.0.0.1:8080/").unwrap().is_loopback());
        assert!(Endpoint::parse("http://localhost:1").is_ok());
        assert!(Endpoint::parse("http://[::1]:1").is_ok());
        assert!(matches!(Endpoint::parse("http://example.com"), Err(ArmError::Setup(_))));
        assert!(Endpoint::parse("ftp://127.0.0.1").is_err());
        assert!(Endpoint::parse("https://a.example?x=1").is_err());
        assert!(Endpoint::parse("not a url").is_err());
    }

    #[test]
    fn scopes() {
        assert_eq!(Endpoint::parse("https://management.azure.com/").unwrap().scope(), "https://management.azure.com/.default");
        assert_eq!(
            Endpoint::parse("https://management.usgovcloudapi.net").unwrap().scope(),
            "https://management.usgovcloudapi.net/.default"
        );
        assert_eq!(Endpoint::parse("http://127.0.0.1:9").unwrap().scope(), PUBLIC_ARM_SCOPE);
    }

    #[test]
    fn joins_paths_and_query() {
        let e = Endpoint::parse("https://management.azure.com/").unwrap();
        let u = e.url("/subscriptions/s/resourceGroups/rg", &[("api-version", "2024-01-01"), ("$filter", "principalId eq 'x'")]).unwrap();
        assert_eq!(
            u.as_str(),
            "https://management.azure.com/subscriptions/s/resourceGroups/rg?api-version=2024-01-01&%24filter=principalId+eq+%27x%27"
        );
        let prefixed = Endpoint::parse("http://127.0.0.1:9/arm").unwrap();
        assert_eq!(prefixed.url("/subscriptions/s", &[]).unwrap().as_str(), "http://127.0.0.1:9/arm/subscriptions/s");
    }

    #[test]
    fn rejects_bad_paths() {
        let e = Endpoint::parse("https://management.azure.com").unwrap();
        for bad in ["subscriptions/s", "/subscriptions/../x", "/a//b", "/a/", "/a?b=1", "/a#f", "/a b", "/a%2e%2e", "/a\\b", "/./a"] {
            assert!(matches!(e.url(bad, &[]), Err(ArmError::InvalidPath { .. })), "{bad}");
        }
    }

    #[test]
    fn follows_only_same_origin_links() {
        let e = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        let call = Call::new("GET", "/subscriptions/s");
        assert!(e.follow(&call, "http://127.0.0.1:8080/subscriptions/s?$skiptoken=abc").is_ok());
        for bad in [
            "http://evil.example/subscriptions/s",
            "http://127.0.0.1:8081/x",
            "https://127.0.0.1:8080/x",
            "http://u:p@127.0.0.1:8080/x",
            "/relative",
        ] {
            let err = e.follow(&call, bad).unwrap_err();
            assert!(matches!(err, ArmError::ForeignUrl { .. }), "{bad}");
        }
        let text = e.follow(&call, "http://evil.example/x?sig=SECRET").unwrap_err().to_string();
        assert!(!text.contains("SECRET") && text.contains("evil.example"), "{text}");
    }

    #[test]
    fn arm_paths_strip_the_endpoint_prefix() {
        let prefixed = Endpoint::parse("http://127.0.0.1:9/arm").unwrap();
        let url = Url::parse("http://127.0.0.1:9/arm/subscriptions/s?api-version=1").unwrap();
        assert_eq!(prefixed.arm_path(&url), Some("/subscriptions/s"));
        assert_eq!(prefixed.arm_path(&Url::parse("http://127.0.0.1:9/other/subscriptions/s").unwrap()), None);
        assert_eq!(prefixed.arm_path(&Url::parse("http://127.0.0.1:9/armx/subscriptions/s").unwrap()), None);
        assert_eq!(prefixed.arm_path(&Url::parse("http://127.0.0.2:9/arm/subscriptions/s").unwrap()), None);
        let plain = Endpoint::parse("https://management.azure.com").unwrap();
        let link = Url::parse("https://management.azure.com/subscriptions/s/providers/Microsoft.ContainerService/locations/westeurope/operations/o?api-version=2016-03-30&t=1&c=2&s=3&h=4").unwrap();
        assert_eq!(plain.arm_path(&link), Some("/subscriptions/s/providers/Microsoft.ContainerService/locations/westeurope/operations/o"));
    }
}
