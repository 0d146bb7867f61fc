//! The message fleetgate sends to the poison queue for a message it cannot handle (the REST API cannot
//! dead-letter): the original body, the original `MessageId` (so the poison queue's duplicate detection
//! drops a second copy of a redelivered message), and user properties saying why.
//!
//! Property values travel as HTTP headers, so strings are written the way Service Bus returns them: a
//! JSON string, here with every non-ASCII or control character `\u`-escaped (a header must be visible
//! ASCII). The reason is cut to [`MAX_REASON_CHARS`], the body to [`MAX_PARKED_BODY_BYTES`] so the copy
//! always fits a Standard-tier message.

use crate::queue::OutgoingMessage;

/// User property carrying why the message was parked.
pub const REASON_PROPERTY: &str = "fleetgate-reason";
/// User property carrying the original `MessageId`.
pub const ORIGINAL_MESSAGE_ID_PROPERTY: &str = "fleetgate-original-message-id";
/// User property carrying the original queue.
pub const SOURCE_QUEUE_PROPERTY: &str = "fleetgate-source-queue";
/// User property carrying the delivery count when parked.
pub const DELIVERY_COUNT_PROPERTY: &str = "fleetgate-delivery-count";
/// Longest reason kept, in characters (a property may hold 32 KB; the reason is for humans).
pub const MAX_REASON_CHARS: usize = 1024;
/// User property set when the parked body was cut: the original body's length in bytes.
pub const BODY_TRUNCATED_PROPERTY: &str = "fleetgate-body-truncated";
/// Longest body a parked copy keeps, in bytes. A Standard-tier message (body, properties and headers)
/// may not exceed 256 KB, so a larger body — possible on Premium, or sent by anyone with send rights —
/// could never be parked, and would cycle through deliveries until the dead-letter queue.
pub const MAX_PARKED_BODY_BYTES: usize = 192 * 1024;

/// The poison-queue copy of a message from `source_queue`.
/// A body longer than [`MAX_PARKED_BODY_BYTES`] is cut (on a character boundary) and
/// [`BODY_TRUNCATED_PROPERTY`] records its original length.
pub fn poison_message(body: &str, message_id: &str, reason: &str, delivery_count: u32, source_queue: &str) -> OutgoingMessage {
    let mut short: String = reason.chars().take(MAX_REASON_CHARS).collect();
    if reason.chars().nth(MAX_REASON_CHARS).is_some() {
        short.push('…');
    }
    let mut properties = vec![
        (REASON_PROPERTY.to_string(), header_string(&short)),
        (ORIGINAL_MESSAGE_ID_PROPERTY.to_string(), header_string(message_id)),
        (SOURCE_QUEUE_PROPERTY.to_string(), header_string(source_queue)),
        (DELIVERY_COUNT_PROPERTY.to_string(), delivery_count.to_string()),
    ];
    let mut end = body.len().min(MAX_PARKED_BODY_BYTES);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    if end < body.len() {
        properties.push((BODY_TRUNCATED_PROPERTY.to_string(), body.len().to_string()));
    }
    OutgoingMessage {
        body: body[..end].to_string(),
        message_id: Some(message_id.to_string()).filter(|id| !id.is_empty()),
        content_type: None,
        properties,
    }
}

/// `text` as a JSON string literal in visible ASCII only.
pub fn header_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_strings_are_ascii_json() {
        let text = "bad \"json\" \\ at line 1\nnext\t✓ 🦀";
        let encoded = header_string(text);
        assert!(encoded.bytes().all(|b| (b' '..=b'~').contains(&b)), "{encoded}");
        assert_eq!(serde_json::from_str::<String>(&encoded).unwrap(), text);
    }

    #[test]
    fn poison_copy_keeps_body_and_id_and_says_why() {
        let m = poison_message("{not json", "msg-7", "malformed JSON (invalid_json)", 3, "fleetgate-events");
        assert_eq!(m.body, "{not json");
        assert_eq!(m.message_id.as_deref(), Some("msg-7"));
        let prop = |name: &str| m.properties.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap();
        assert_eq!(prop(REASON_PROPERTY), "\"malformed JSON (invalid_json)\"");
        assert_eq!(prop(ORIGINAL_MESSAGE_ID_PROPERTY), "\"msg-7\"");
        assert_eq!(prop(SOURCE_QUEUE_PROPERTY), "\"fleetgate-events\"");
        assert_eq!(prop(DELIVERY_COUNT_PROPERTY), "3");
    }

    #[test]
    fn bodies_too_large_to_park_are_cut_on_a_character_boundary() {
        let small = poison_message("{}", "m", "r", 1, "q");
        assert!(small.properties.iter().all(|(k, _)| k != BODY_TRUNCATED_PROPERTY));
        let big = format!("{}é{}", "x".repeat(MAX_PARKED_BODY_BYTES - 1), "y".repeat(100));
        let m = poison_message(&big, "m", "too large", 1, "q");
        assert_eq!(m.body.len(), MAX_PARKED_BODY_BYTES - 1, "the 2-byte é straddling the limit moves the cut back one byte");
        assert!(big.starts_with(&m.body));
        let prop = m.properties.iter().find(|(k, _)| k == BODY_TRUNCATED_PROPERTY).map(|(_, v)| v.as_str());
        assert_eq!(prop, Some(big.len().to_string().as_str()));
    }

    #[test]
    fn long_reasons_are_cut() {
        let m = poison_message("b", "", &"r".repeat(5000), 1, "q");
        let reason: String = serde_json::from_str(&m.properties[0].1).unwrap();
        assert_eq!(reason.chars().count(), MAX_REASON_CHARS + 1);
        assert!(m.message_id.is_none(), "an empty id lets the service assign one");
    }
}
