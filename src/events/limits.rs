//! Size limits applied before and during decoding, so a hostile message costs little and never floods
//! logs or the poison queue's reason property.

/// Largest message body accepted, in bytes (1 MiB). Event Grid events are a few kilobytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Longest envelope or `data` string field fleetgate keeps (id, type, subject, source, resourceUri, …),
/// in characters. Matches the resource-ID parser's own limit.
pub const MAX_FIELD_CHARS: usize = 4096;

/// How many characters of an offending value an error message quotes.
pub const QUOTE_CHARS: usize = 80;

/// `value` cut to [`QUOTE_CHARS`] characters (with `…` when cut), for error messages.
pub fn quote(value: &str) -> String {
    let mut out: String = value.chars().take(QUOTE_CHARS).collect();
    if value.chars().nth(QUOTE_CHARS).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_cuts_long_values_only() {
        assert_eq!(quote("short"), "short");
        let long = "x".repeat(QUOTE_CHARS + 5);
        let quoted = quote(&long);
        assert_eq!(quoted.chars().count(), QUOTE_CHARS + 1);
        assert!(quoted.ends_with('…'));
        assert_eq!(quote(&"y".repeat(QUOTE_CHARS)), "y".repeat(QUOTE_CHARS));
    }
}
