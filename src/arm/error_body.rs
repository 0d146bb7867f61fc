//! Parsing ARM error bodies: the standard `{"error":{"code","message",…}}` and the unwrapped
//! `{"code","message",…}` some resource providers (AKS) return. Anything else yields no code and a
//! short excerpt of the text as the message.

use serde_json::Value;

/// Longest message kept from a response body, in characters.
const MAX_MESSAGE: usize = 1000;

/// The parts of an ARM error body fleetgate uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// `error.code`, e.g. `AuthorizationFailed`.
    pub code: Option<String>,
    /// `error.message`, truncated.
    pub message: Option<String>,
}

impl ErrorBody {
    /// Parses raw response bytes (possibly empty or not JSON).
    pub fn parse(bytes: &[u8]) -> Self {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(v) => Self::from_value(&v),
            Err(_) => Self { code: None, message: excerpt(&String::from_utf8_lossy(bytes)) },
        }
    }

    /// Reads an already-parsed JSON body.
    pub fn from_value(v: &Value) -> Self {
        let inner = match v.get("error") {
            Some(e) if e.is_object() => e,
            _ => v,
        };
        let field = |name: &str| inner.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
        let code = field("code").map(str::to_string);
        let message = field("message").and_then(excerpt);
        Self { code, message }
    }
}

/// A single-line excerpt of `text`, or `None` when it is blank.
fn excerpt(text: &str) -> Option<String> {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return None;
    }
    if flat.chars().count() <= MAX_MESSAGE {
        return Some(flat);
    }
    let mut cut: String = flat.chars().take(MAX_MESSAGE).collect();
    cut.push('…');
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wrapped_error() {
        let b = ErrorBody::parse(br#"{"error":{"code":"AuthorizationFailed","message":"no access","target":null,"details":[]}}"#);
        assert_eq!(b.code.as_deref(), Some("AuthorizationFailed"));
        assert_eq!(b.message.as_deref(), Some("no access"));
    }

    #[test]
    fn parses_unwrapped_error_as_aks_returns_it() {
        let b = ErrorBody::parse(
            br#"{"code":"EtagMismatch","message":"Operation is not allowed: Another operation is in progress","subcode":"","details":[]}"#,
        );
        assert_eq!(b.code.as_deref(), Some("EtagMismatch"));
        assert!(b.message.unwrap().contains("Another operation"));
    }

    #[test]
    fn garbage_gives_excerpt_and_no_code() {
        let b = ErrorBody::parse(b"<html>\n<body>Bad Gateway</body>\n</html>");
        assert_eq!(b.code, None);
        assert_eq!(b.message.as_deref(), Some("<html> <body>Bad Gateway</body> </html>"));
    }

    #[test]
    fn empty_and_blank_bodies() {
        assert_eq!(ErrorBody::parse(b""), ErrorBody::default());
        assert_eq!(ErrorBody::parse(b"   \n"), ErrorBody::default());
        assert_eq!(ErrorBody::parse(b"{}"), ErrorBody::default());
        assert_eq!(ErrorBody::parse(b"[1,2]"), ErrorBody::default());
    }

    #[test]
    fn wrong_types_are_ignored() {
        let b = ErrorBody::parse(br#"{"error":{"code":42,"message":["x"]}}"#);
        assert_eq!(b, ErrorBody::default());
        // `error` that is a string: read the outer object instead.
        let b = ErrorBody::parse(br#"{"error":"boom","code":"Conflict","message":"m"}"#);
        assert_eq!(b.code.as_deref(), Some("Conflict"));
    }

    #[test]
    fn long_messages_are_truncated() {
        let long = format!(r#"{{"error":{{"code":"X","message":"{}"}}}}"#, "a".repeat(5000));
        let m = ErrorBody::parse(long.as_bytes()).message.unwrap();
        assert_eq!(m.chars().count(), MAX_MESSAGE + 1);
        assert!(m.ends_with('…'));
    }
}
