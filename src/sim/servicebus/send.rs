//! Reading a send request into messages: a single message (body + `BrokerProperties` header + one header
//! per user property) or a batch (`application/vnd.microsoft.servicebus.json`, a JSON array of
//! `{"Body", "BrokerProperties", "UserProperties", "IsBodyBase64"?}`). The batch is all or nothing.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::message::{NewMessage, is_header_name, property_from_header};
use super::wire::{BATCH_CONTENT_TYPE, RawResponse};
use crate::sim::http::SimRequest;

/// Largest message (body + properties) the simulated Standard tier accepts.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Request headers that are HTTP or protocol headers, not user properties.
const NOT_PROPERTIES: [&str; 26] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "authorization",
    "brokerproperties",
    "cache-control",
    "connection",
    "content-encoding",
    "content-length",
    "content-type",
    "cookie",
    "date",
    "expect",
    "host",
    "keep-alive",
    "origin",
    "pragma",
    "proxy-authorization",
    "proxy-connection",
    "referer",
    "te",
    "traceparent",
    "tracestate",
    "transfer-encoding",
    "upgrade",
    "user-agent",
];

fn bad(detail: String) -> RawResponse {
    RawResponse::error(400, &detail)
}

/// The messages a send request carries.
pub fn messages(req: &SimRequest) -> Result<Vec<NewMessage>, RawResponse> {
    let content_type = req.header("content-type").map(str::trim);
    let media_type = content_type.and_then(|c| c.split(';').next()).map(str::trim);
    let messages = if media_type.is_some_and(|m| m.eq_ignore_ascii_case(BATCH_CONTENT_TYPE)) {
        batch(&req.body)?
    } else {
        vec![single(req, content_type)?]
    };
    for m in &messages {
        let size = m.body.len() + m.properties.iter().map(|(k, v)| k.len() + v.to_string().len()).sum::<usize>();
        if size > MAX_MESSAGE_BYTES {
            return Err(RawResponse::error(
                403,
                &format!("MessageSizeExceeded: The message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (Standard tier)."),
            ));
        }
    }
    Ok(messages)
}

fn single(req: &SimRequest, content_type: Option<&str>) -> Result<NewMessage, RawResponse> {
    let broker = match req.header("brokerproperties") {
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(Value::Object(map)) => map,
            _ => return Err(bad(format!("The BrokerProperties header is not a JSON object: {raw}"))),
        },
        None => Map::new(),
    };
    let mut message = with_broker(NewMessage::new(req.body.clone()), broker)?;
    message.content_type = content_type.map(str::to_string);
    message.properties = req
        .headers
        .iter()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !NOT_PROPERTIES.contains(&k.as_str()) && !k.starts_with("x-ms-")
        })
        .map(|(k, v)| (k.clone(), property_from_header(v)))
        .collect();
    Ok(message)
}

fn with_broker(mut message: NewMessage, mut broker: Map<String, Value>) -> Result<NewMessage, RawResponse> {
    match broker.remove("MessageId") {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) if !id.is_empty() && id.len() <= 128 => message.message_id = Some(id),
        Some(other) => return Err(bad(format!("BrokerProperties.MessageId must be a string of 1-128 characters, not {other}."))),
    }
    if let Some(ttl) = broker.get("TimeToLive")
        && !ttl.as_f64().is_some_and(|s| s > 0.0)
    {
        return Err(bad(format!("BrokerProperties.TimeToLive must be a positive number of seconds, not {ttl}.")));
    }
    if let Some(Err(detail)) = super::queue::scheduled_time(&broker) {
        return Err(bad(detail));
    }
    if let Some(Value::String(ct)) = broker.get("ContentType") {
        message.content_type = Some(ct.clone());
    }
    message.broker = broker;
    Ok(message)
}

fn batch(body: &[u8]) -> Result<Vec<NewMessage>, RawResponse> {
    let items: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| bad(format!("The batch body is not a JSON array of {{\"Body\", \"BrokerProperties\", \"UserProperties\"}}: {e}")))?;
    items.into_iter().enumerate().map(|(i, item)| batch_item(i, item)).collect()
}

fn batch_item(index: usize, item: Value) -> Result<NewMessage, RawResponse> {
    let Value::Object(mut item) = item else {
        return Err(bad(format!("Batch item {index} is not a JSON object.")));
    };
    let base64_body = item.get("IsBodyBase64").and_then(Value::as_bool).unwrap_or(false);
    let body = match item.remove("Body") {
        Some(Value::String(s)) if base64_body => base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(|e| bad(format!("Batch item {index}: Body is not base64 although IsBodyBase64 is true: {e}.")))?,
        Some(Value::String(s)) => s.into_bytes(),
        _ => return Err(bad(format!("Batch item {index} has no string Body."))),
    };
    let broker = match item.remove("BrokerProperties") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(bad(format!("Batch item {index}: BrokerProperties is not a JSON object."))),
    };
    let mut message = with_broker(NewMessage::new(body), broker)?;
    match item.remove("UserProperties") {
        None | Some(Value::Null) => {}
        Some(Value::Object(props)) => {
            for (k, v) in props {
                if !is_header_name(&k) {
                    return Err(bad(format!("Batch item {index}: user property name '{k}' cannot be an HTTP header name.")));
                }
                message.properties.push((k, v));
            }
        }
        Some(_) => return Err(bad(format!("Batch item {index}: UserProperties is not a JSON object."))),
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(headers: &[(&str, &str)], body: &[u8]) -> SimRequest {
        SimRequest {
            method: "POST".into(),
            path: "/sb/q/messages".into(),
            query: Vec::new(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.to_vec(),
            base_url: "http://127.0.0.1:1".into(),
        }
    }

    #[test]
    fn a_single_message_takes_broker_properties_and_custom_headers() {
        let req = request(
            &[
                ("authorization", "SharedAccessSignature x"),
                ("content-type", "application/json"),
                ("brokerproperties", r#"{"MessageId":"m1","Label":"L","SequenceNumber":5}"#),
                ("priority", "\"High\""),
                ("x-ms-retrypolicy", "NoRetry"),
                ("count", "3"),
            ],
            b"{}",
        );
        let m = messages(&req).unwrap().remove(0);
        assert_eq!(m.message_id.as_deref(), Some("m1"));
        assert_eq!(m.content_type.as_deref(), Some("application/json"));
        assert_eq!(m.broker.get("Label"), Some(&json!("L")));
        assert_eq!(m.properties, vec![("priority".to_string(), json!("High")), ("count".to_string(), json!(3))]);
        let bad = request(&[("brokerproperties", "[1]")], b"x");
        assert_eq!(messages(&bad).unwrap_err().status, 400);
    }

    #[test]
    fn a_batch_is_all_or_nothing() {
        let body = json!([
            {"Body": "one", "BrokerProperties": {"MessageId": "a"}, "UserProperties": {"kind": "x", "n": 1}},
            {"Body": "dHdv", "IsBodyBase64": true},
        ]);
        let req = request(&[("content-type", "application/vnd.microsoft.servicebus.json")], body.to_string().as_bytes());
        let ms = messages(&req).unwrap();
        assert_eq!((ms.len(), ms[1].body.as_slice()), (2, &b"two"[..]));
        assert_eq!(ms[0].properties[1], ("n".to_string(), json!(1)));
        let broken = json!([{"Body": "ok"}, {"NoBody": true}]);
        let req = request(&[("content-type", "application/vnd.microsoft.servicebus.json")], broken.to_string().as_bytes());
        let err = messages(&req).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(String::from_utf8(err.body).unwrap().contains("item 1"));
    }

    #[test]
    fn oversized_messages_are_refused() {
        let req = request(&[], &vec![b'x'; MAX_MESSAGE_BYTES + 1]);
        assert_eq!(messages(&req).unwrap_err().status, 403);
    }
}
