//! The Service Bus REST wire format: which operation a path names, raw responses and the service's XML
//! error shape (`<Error><Code>410</Code><Detail>…</Detail></Error>`).

use uuid::Uuid;

use super::queue::Sub;

/// Media type of a batch send.
pub const BATCH_CONTENT_TYPE: &str = "application/vnd.microsoft.servicebus.json";
/// Content type of a received message whose sender gave none (what the REST pages document).
pub const DEFAULT_MESSAGE_CONTENT_TYPE: &str = "application/atom+xml;type=entry;charset=utf-8";

/// A response with a raw body (message payloads are not JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct RawResponse {
    /// HTTP status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// A response without a body.
    pub fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    /// The service's XML error; the detail gets a `TrackingId` like the real ones.
    pub fn error(status: u16, detail: &str) -> Self {
        let body = format!(
            "<Error><Code>{status}</Code><Detail>{} TrackingId:{}, Timestamp:{}</Detail></Error>",
            xml_escape(detail),
            Uuid::new_v4(),
            super::message::http_date(time::OffsetDateTime::now_utc()),
        );
        Self { status, headers: vec![("content-type".into(), "application/xml; charset=utf-8".into())], body: body.into_bytes() }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A header by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `POST {entity}/messages` (single or batch).
    Send,
    /// `POST {entity}/messages/head`.
    PeekLock,
    /// `DELETE {entity}/messages/head`.
    ReceiveAndDelete,
    /// `DELETE {entity}/messages/{id}/{lock}`.
    Complete(String, Uuid),
    /// `PUT {entity}/messages/{id}/{lock}`.
    Abandon(String, Uuid),
    /// `POST {entity}/messages/{id}/{lock}`.
    Renew(String, Uuid),
}

/// A request's target entity and operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Queue name as written in the path.
    pub queue: String,
    /// The queue or its dead-letter queue.
    pub sub: Sub,
    /// The operation.
    pub op: Op,
    /// `{queue}` or `{queue}/$deadletterqueue`, as it appears in lock URIs.
    pub entity_path: String,
}

/// Decodes `%XX` escapes (anything malformed is kept as written).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `method` on the namespace-relative path `rel` (after `/sb/`, already percent-decoded).
pub fn parse(method: &str, rel: &str) -> Result<Target, RawResponse> {
    let segs: Vec<&str> = rel.trim_matches('/').split('/').collect();
    let unsupported = || {
        RawResponse::error(
            404,
            &format!(
                "The simulator's Service Bus surface does not serve {method} /sb/{rel}; it serves {{queue}}/messages, {{queue}}/messages/head and lock URIs {{queue}}/messages/{{seq}}/{{lock-token}} (also under {{queue}}/$deadletterqueue)."
            ),
        )
    };
    let at = (1..segs.len()).rev().find(|i| segs[*i].eq_ignore_ascii_case("messages") && segs.len() - i <= 3).ok_or_else(unsupported)?;
    let (entity, rest) = (&segs[..at], &segs[at + 1..]);
    let (queue, sub) = match entity.split_last() {
        Some((last, head)) if last.eq_ignore_ascii_case("$deadletterqueue") && !head.is_empty() => (head.join("/"), Sub::DeadLetter),
        _ => (entity.join("/"), Sub::Main),
    };
    let lock = |id: &str, token: &str| {
        Uuid::parse_str(token)
            .map(|t| (id.to_string(), t))
            .map_err(|_| RawResponse::error(400, &format!("The lock token '{token}' is not a GUID.")))
    };
    let op = match (method, rest) {
        ("POST", []) => Op::Send,
        ("POST", [head]) if head.eq_ignore_ascii_case("head") => Op::PeekLock,
        ("DELETE", [head]) if head.eq_ignore_ascii_case("head") => Op::ReceiveAndDelete,
        ("DELETE", [id, token]) => lock(id, token).map(|(i, t)| Op::Complete(i, t))?,
        ("PUT", [id, token]) => lock(id, token).map(|(i, t)| Op::Abandon(i, t))?,
        ("POST", [id, token]) => lock(id, token).map(|(i, t)| Op::Renew(i, t))?,
        (_, [] | [_] | [_, _]) => return Err(RawResponse::error(405, &format!("{method} is not supported on /sb/{rel}."))),
        _ => return Err(unsupported()),
    };
    Ok(Target { queue, sub, op, entity_path: entity.join("/") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_operation() {
        let t = parse("POST", "q1/messages").unwrap();
        assert_eq!((t.queue.as_str(), t.sub, t.op), ("q1", Sub::Main, Op::Send));
        assert_eq!(parse("POST", "q1/messages/head").unwrap().op, Op::PeekLock);
        assert_eq!(parse("DELETE", "q1/messages/head").unwrap().op, Op::ReceiveAndDelete);
        let token = Uuid::new_v4();
        assert_eq!(parse("DELETE", &format!("q1/messages/7/{token}")).unwrap().op, Op::Complete("7".into(), token));
        assert_eq!(parse("PUT", &format!("q1/messages/7/{token}")).unwrap().op, Op::Abandon("7".into(), token));
        assert_eq!(parse("POST", &format!("q1/messages/7/{token}")).unwrap().op, Op::Renew("7".into(), token));
        let dlq = parse("POST", "q1/$DeadLetterQueue/messages/head").unwrap();
        assert_eq!((dlq.queue.as_str(), dlq.sub, dlq.entity_path.as_str()), ("q1", Sub::DeadLetter, "q1/$DeadLetterQueue"));
        let nested = parse("POST", "a/b/messages").unwrap();
        assert_eq!(nested.queue, "a/b");
    }

    #[test]
    fn refuses_what_it_does_not_serve() {
        assert_eq!(parse("GET", "q1/messages/head").unwrap_err().status, 405);
        assert_eq!(parse("GET", "q1").unwrap_err().status, 404);
        assert_eq!(parse("POST", "messages").unwrap_err().status, 404);
        assert_eq!(parse("DELETE", "q1/messages/7/not-a-guid").unwrap_err().status, 400);
        let e = RawResponse::error(410, "entity <q> gone");
        let body = String::from_utf8(e.body).unwrap();
        assert!(body.starts_with("<Error><Code>410</Code><Detail>entity &lt;q&gt; gone TrackingId:"), "{body}");
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("q1/%24deadletterqueue"), "q1/$deadletterqueue");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
