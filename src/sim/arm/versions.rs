//! The `api-version` query parameter: required on every ARM request, and for managed clusters it decides
//! which fields exist: `securityProfile.defender.securityGating` only at the versions whose official
//! schema carries it (stable from `2026-06-01`, previews from `2025-01-02-preview`), answered by the same
//! list fleetgate's configuration and `doctor` use ([`crate::core::api_versions`]).

use crate::sim::http::{SimRequest, SimResponse};

/// A parsed `YYYY-MM-DD[-preview]` api-version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion {
    /// `YYYY-MM-DD`; compares correctly as a string.
    pub date: String,
    /// True for `-preview` (and other suffixed) versions.
    pub preview: bool,
    /// The value as sent.
    pub raw: String,
}

impl ApiVersion {
    /// Parses `raw`; `None` when it is not of the form `YYYY-MM-DD` or `YYYY-MM-DD-<suffix>`.
    pub fn parse(raw: &str) -> Option<Self> {
        let date = raw.get(..10)?;
        let bytes = date.as_bytes();
        let digits = |r: std::ops::Range<usize>| bytes[r].iter().all(u8::is_ascii_digit);
        if !(digits(0..4) && bytes[4] == b'-' && digits(5..7) && bytes[7] == b'-' && digits(8..10)) {
            return None;
        }
        let rest = &raw[10..];
        let preview = match rest {
            "" => false,
            s if s.starts_with('-') && s.len() > 1 && s[1..].chars().all(|c| c.is_ascii_alphanumeric()) => true,
            _ => return None,
        };
        Some(Self { date: date.to_string(), preview, raw: raw.to_string() })
    }

    /// A version that carries every field the simulator knows (used for in-process reads).
    pub fn latest() -> Self {
        Self { date: "9999-12-31".into(), preview: false, raw: "9999-12-31".into() }
    }

    /// True when managedClusters at this version carries `securityProfile.defender.securityGating`
    /// (a suffix other than `-preview` never does).
    pub fn supports_security_gating(&self) -> bool {
        crate::core::api_versions::carries_gating(&self.raw)
    }
}

/// The request's `api-version`, or the 400 ARM answers without a usable one.
pub fn require(req: &SimRequest) -> Result<ApiVersion, SimResponse> {
    let Some(raw) = req.query_param("api-version") else {
        return Err(SimResponse::error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        ));
    };
    ApiVersion::parse(raw).ok_or_else(|| {
        SimResponse::error(
            400,
            "InvalidApiVersionParameter",
            &format!("The api-version '{raw}' is invalid. The supported versions look like 'YYYY-MM-DD' or 'YYYY-MM-DD-preview'."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> ApiVersion {
        ApiVersion::parse(s).unwrap()
    }

    #[test]
    fn gating_support_by_version() {
        assert!(!v("2025-10-01").supports_security_gating());
        assert!(!v("2026-04-01").supports_security_gating());
        assert!(!v("2026-05-01").supports_security_gating(), "stable 2026-05-01 has no securityGating in the spec");
        assert!(v("2026-06-01").supports_security_gating() && v("2026-08-01").supports_security_gating());
        assert!(ApiVersion::latest().supports_security_gating());
        assert!(!v("2026-08-01-privatepreview").supports_security_gating());
        assert!(!v("2024-10-02-preview").supports_security_gating());
        assert!(v("2025-01-02-preview").supports_security_gating());
        assert!(v("2026-01-02-preview").supports_security_gating());
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "2024", "2024-1-01", "latest", "2024-01-01preview", "2024-01-01-"] {
            assert!(ApiVersion::parse(bad).is_none(), "{bad}");
        }
        assert!(v("2024-01-01-preview").preview);
    }
}
