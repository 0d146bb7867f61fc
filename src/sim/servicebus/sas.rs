//! Shared access signature verification, as Service Bus does it (pure).
//!
//! `Authorization: SharedAccessSignature sr=<urlencoded resource URI>&sig=<urlencoded base64 signature>&se=<unix
//! expiry>&skn=<key name>` (any order). The signature is HMAC-SHA256, keyed with the UTF-8 bytes of the
//! named rule's key, over `sr` exactly as it appears in the token (still URL-encoded) + `"\n"` + `se`.
//! (azure_messaging_servicebus 0.21 base64-encodes the key and azure_core decodes it again before
//! signing, so its HMAC key is the same bytes.)
//!
//! The resource check: the decoded `sr` URI's path must be a prefix (whole segments, case-insensitive) of
//! the request's namespace-relative path. The host is not compared (the simulator is one namespace under
//! any name); for a loopback host a leading `/sb` is dropped, so tokens signed over the simulator's own
//! URLs work too.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::spec::SasRule;

/// Why a SAS token was refused (401). Never carries the signature or the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SasFailure {
    /// Missing or malformed field.
    Malformed(&'static str),
    /// `skn` names no rule.
    UnknownKeyName(String),
    /// `se` is in the past.
    Expired(i64),
    /// The signature does not match.
    InvalidSignature,
    /// `sr` does not cover the requested entity.
    WrongResource(String),
}

impl SasFailure {
    /// The `Detail` text of the 401, shaped like the service's.
    pub fn detail(&self) -> String {
        match self {
            Self::Malformed(what) => {
                format!("MalformedToken: The credentials contained in the authorization header are not well-formed: {what}.")
            }
            Self::UnknownKeyName(name) => {
                format!("InvalidSignature: The token has an invalid signature: no authorization rule named '{name}'.")
            }
            Self::Expired(se) => format!("ExpiredToken: The token is expired. Expiration time: {se} (unix seconds)."),
            Self::InvalidSignature => "InvalidSignature: The token has an invalid signature.".into(),
            Self::WrongResource(sr) => format!("InvalidAudience: The token audience '{sr}' does not cover the requested entity."),
        }
    }
}

/// The fields of a SAS token.
struct Token<'a> {
    sr_raw: &'a str,
    sig: String,
    se: &'a str,
    skn: String,
}

fn parse(value: &str) -> Result<Token<'_>, SasFailure> {
    let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
    for pair in value.split('&') {
        let (k, v) = pair.split_once('=').ok_or(SasFailure::Malformed("a field is not name=value"))?;
        match k.trim() {
            "sr" => sr = Some(v),
            "sig" => sig = Some(decode(v)),
            "se" => se = Some(v),
            "skn" => skn = Some(decode(v)),
            _ => {}
        }
    }
    Ok(Token {
        sr_raw: sr.ok_or(SasFailure::Malformed("sr is missing"))?,
        sig: sig.ok_or(SasFailure::Malformed("sig is missing"))?,
        se: se.ok_or(SasFailure::Malformed("se is missing"))?,
        skn: skn.ok_or(SasFailure::Malformed("skn is missing"))?,
    })
}

/// `application/x-www-form-urlencoded` decoding of one value (the inverse of what signers use).
fn decode(raw: &str) -> String {
    url::form_urlencoded::parse(format!("v={raw}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

/// The `sig` field of a SAS token value as sent and URL-decoded (`None` when it has none).
pub fn signature_forms(value: &str) -> Option<[String; 2]> {
    let raw = value.split('&').find_map(|pair| pair.split_once('=').filter(|(k, _)| k.trim() == "sig").map(|(_, v)| v))?;
    Some([raw.to_string(), decode(raw)])
}

/// The value after the `SharedAccessSignature ` scheme, if that is the scheme.
pub fn sas_value(authorization: &str) -> Option<&str> {
    let (scheme, rest) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("SharedAccessSignature").then_some(rest.trim())
}

/// Verifies a SAS token value for a request on `entity_path` (namespace-relative, e.g.
/// `q1/messages/head`) at `now_unix`; returns the key name.
pub fn verify(value: &str, rules: &[SasRule], now_unix: i64, entity_path: &str) -> Result<String, SasFailure> {
    let token = parse(value)?;
    let se: i64 = token.se.parse().map_err(|_| SasFailure::Malformed("se is not unix seconds"))?;
    let rule = rules.iter().find(|r| r.name == token.skn).ok_or_else(|| SasFailure::UnknownKeyName(token.skn.clone()))?;
    let sig = base64::engine::general_purpose::STANDARD.decode(token.sig.as_bytes()).map_err(|_| SasFailure::InvalidSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(rule.key.as_bytes()).map_err(|_| SasFailure::InvalidSignature)?;
    mac.update(format!("{}\n{}", token.sr_raw, token.se).as_bytes());
    mac.verify_slice(&sig).map_err(|_| SasFailure::InvalidSignature)?;
    if se <= now_unix {
        return Err(SasFailure::Expired(se));
    }
    let resource = decode(token.sr_raw);
    if !covers(&resource, entity_path) {
        return Err(SasFailure::WrongResource(resource));
    }
    Ok(rule.name.clone())
}

/// True when the resource URI `sr` covers `entity_path`.
fn covers(sr: &str, entity_path: &str) -> bool {
    let without_scheme = sr.split_once("://").map_or(sr, |(_, rest)| rest);
    let (host, path) = without_scheme.split_once('/').unwrap_or((without_scheme, ""));
    let path = path.split(['?', '#']).next().unwrap_or("");
    let host_name = host.rsplit_once(':').map_or(host, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { host });
    let loopback = host_name.eq_ignore_ascii_case("localhost") || host_name.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok();
    let path = if loopback { path.strip_prefix("sb").filter(|p| p.is_empty() || p.starts_with('/')).unwrap_or(path) } else { path };
    let resource = path.trim_matches('/').to_ascii_lowercase();
    let entity = entity_path.trim_matches('/').to_ascii_lowercase();
    resource.is_empty() || entity == resource || entity.starts_with(&format!("{resource}/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core_legacy::auth::Secret;

    fn rule() -> SasRule {
        SasRule { name: "RootManageSharedAccessKey".into(), key: "k3y+/=abc".into() }
    }

    /// Signs like azure_messaging_servicebus 0.21: azure_core's hmac over a base64-encoded key.
    fn crate_style(url: &str, se: i64, key_name: &str, key: &str) -> String {
        let sr: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
        let encoded_key = base64::engine::general_purpose::STANDARD.encode(key);
        let sig = azure_core_legacy::hmac::hmac_sha256(&format!("{sr}\n{se}"), &Secret::new(encoded_key)).unwrap();
        let sig: String = url::form_urlencoded::byte_serialize(sig.as_bytes()).collect();
        format!("sr={sr}&sig={sig}&se={se}&skn={key_name}")
    }

    const URL: &str = "https://myns.servicebus.windows.net/q1/messages/head?timeout=5";

    #[test]
    fn signature_forms_are_the_sig_as_sent_and_decoded() {
        assert_eq!(signature_forms("sr=a&sig=ab%2Bc%3D&se=9&skn=r"), Some(["ab%2Bc%3D".to_string(), "ab+c=".to_string()]));
        assert_eq!(signature_forms("sr=a&se=9"), None);
    }

    #[test]
    fn accepts_what_the_crate_signs() {
        let token = crate_style(URL, 2_000, "RootManageSharedAccessKey", &rule().key);
        assert_eq!(verify(&token, &[rule()], 1_000, "q1/messages/head"), Ok("RootManageSharedAccessKey".into()));
        let header = format!("SharedAccessSignature {token}");
        assert_eq!(sas_value(&header), Some(token.as_str()));
        assert_eq!(sas_value("Bearer x"), None);
    }

    #[test]
    fn refuses_wrong_key_expiry_name_and_tampering() {
        let wrong_key = crate_style(URL, 2_000, "RootManageSharedAccessKey", "other");
        assert_eq!(verify(&wrong_key, &[rule()], 1_000, "q1/messages/head"), Err(SasFailure::InvalidSignature));
        let expired = crate_style(URL, 999, "RootManageSharedAccessKey", &rule().key);
        assert_eq!(verify(&expired, &[rule()], 1_000, "q1/messages/head"), Err(SasFailure::Expired(999)));
        let unknown = crate_style(URL, 2_000, "listen", &rule().key);
        assert_eq!(verify(&unknown, &[rule()], 1_000, "q1/messages/head"), Err(SasFailure::UnknownKeyName("listen".into())));
        let good = crate_style(URL, 2_000, "RootManageSharedAccessKey", &rule().key);
        let later = good.replace("se=2000", "se=9999");
        assert_eq!(verify(&later, &[rule()], 1_000, "q1/messages/head"), Err(SasFailure::InvalidSignature), "se is signed");
        assert!(matches!(verify("sr=x&se=1", &[rule()], 0, "q"), Err(SasFailure::Malformed(_))));
        let detail = SasFailure::InvalidSignature.detail();
        assert!(!detail.contains(&rule().key));
    }

    #[test]
    fn the_resource_must_cover_the_entity() {
        let queue_scoped = crate_style("https://myns.servicebus.windows.net/q1", 2_000, "RootManageSharedAccessKey", &rule().key);
        assert!(verify(&queue_scoped, &[rule()], 1_000, "q1/messages/7/abc").is_ok());
        assert!(matches!(verify(&queue_scoped, &[rule()], 1_000, "q10/messages/head"), Err(SasFailure::WrongResource(_))));
        assert!(covers("myns.servicebus.windows.net", "anything/messages"));
        assert!(covers("http://127.0.0.1:8080/sb/Q1/messages/head?timeout=1", "q1/messages/head"));
        assert!(covers("http://localhost:1/sb", "q1/messages"));
        assert!(!covers("https://myns.servicebus.windows.net/sb/q1", "q1/messages"), "only the simulator's own URLs have /sb");
    }
}
