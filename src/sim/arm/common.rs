//! Helpers shared by the resource handlers: ARM error bodies, GUIDs, paging with `nextLink`, header checks.

use serde_json::{Value, json};

use crate::sim::http::{SimRequest, SimResponse};

/// `404 ResourceNotFound` in ARM's wording.
pub(crate) fn not_found(type_name: &str, name: &str, resource_group: &str) -> SimResponse {
    SimResponse::error(
        404,
        "ResourceNotFound",
        &format!(
            "The Resource '{type_name}/{name}' under resource group '{resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// `400 InvalidRequestContent` for a body that is not what the resource type expects.
pub(crate) fn bad_body(message: &str) -> SimResponse {
    SimResponse::error(400, "InvalidRequestContent", message)
}

/// `405` for a method the simulator does not serve on a route.
pub(crate) fn method_not_allowed(method: &str, what: &str) -> SimResponse {
    SimResponse::error(
        405,
        "MethodNotAllowed",
        &format!("The simulator does not support {method} on {what}; supported methods are listed in src/sim/arm/mod.rs."),
    )
}

/// The request body as a JSON object.
pub(crate) fn object_body(req: &SimRequest) -> Result<serde_json::Map<String, Value>, SimResponse> {
    match req.json_body()? {
        Value::Object(map) => Ok(map),
        other => Err(bad_body(&format!("The request content must be a JSON object, not {}.", json_kind(&other)))),
    }
}

/// A short name for a JSON value's type, for error messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A random GUID (UUID v4 layout) from `rng`, so seeded runs are reproducible.
pub(crate) fn guid(rng: &mut fastrand::Rng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// True when `a` and `b` are equal ignoring ASCII case.
pub(crate) fn eq_ci(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// `Retry-After`-style header value for seconds.
pub(crate) fn secs(value: u64) -> String {
    value.to_string()
}

/// Strips `W/` and quotes from an ETag header value.
pub(crate) fn bare_etag(value: &str) -> &str {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    v.trim_matches('"')
}

/// Checks `If-Match` / `If-None-Match` against the current eTag (`None` = the resource does not exist).
pub(crate) fn check_preconditions(req: &SimRequest, current: Option<&str>, what: &str) -> Result<(), SimResponse> {
    let failed = |message: String| SimResponse::error(412, "PreconditionFailed", &message);
    if let Some(expected) = req.header("if-match") {
        let expected = bare_etag(expected);
        match current {
            None => return Err(failed(format!("If-Match '{expected}' was given but {what} does not exist."))),
            Some(cur) if expected != "*" && expected != cur => {
                return Err(failed(format!(
                    "The eTag '{expected}' in the If-Match header does not match the current eTag of {what}; it was changed since you read it. Read it again and retry."
                )));
            }
            Some(_) => {}
        }
    }
    if let Some(none_match) = req.header("if-none-match")
        && bare_etag(none_match) == "*"
        && current.is_some()
    {
        return Err(failed(format!("If-None-Match '*' was given but {what} already exists.")));
    }
    Ok(())
}

/// Percent-encodes a query component (everything but unreserved characters).
pub(crate) fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One page of a list: `{"value":[…],"nextLink"?}`. The page starts at the offset in `$skipToken` and holds
/// at most `page_size` items (or `$top`, when smaller); `nextLink` repeats the request's other query
/// parameters.
pub(crate) fn page(req: &SimRequest, items: Vec<Value>, page_size: usize) -> SimResponse {
    let offset = match req.query_param("$skipToken").or_else(|| req.query_param("$skiptoken")) {
        None => 0,
        Some(token) => match token.parse::<usize>() {
            Ok(n) => n,
            Err(_) => {
                return SimResponse::error(
                    400,
                    "InvalidSkipToken",
                    &format!("The $skipToken '{token}' is not valid; pass the nextLink of the previous page unchanged."),
                );
            }
        },
    };
    let mut size = page_size.max(1);
    if let Some(top) = req.query_param("$top") {
        match top.parse::<usize>() {
            Ok(n) if n > 0 => size = size.min(n),
            _ => return SimResponse::error(400, "InvalidTopParameter", &format!("$top '{top}' must be a positive integer.")),
        }
    }
    let total = items.len();
    let end = offset.saturating_add(size).min(total);
    let value: Vec<Value> = items.into_iter().skip(offset).take(end.saturating_sub(offset)).collect();
    let mut body = json!({ "value": value });
    if end < total {
        body["nextLink"] = Value::String(next_link(req, end));
    }
    SimResponse::json(200, body)
}

fn next_link(req: &SimRequest, offset: usize) -> String {
    let mut parts: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("$skipToken"))
        .map(|(k, v)| format!("{}={}", k, encode_component(v)))
        .collect();
    parts.push(format!("$skipToken={offset}"));
    format!("{}{}?{}", req.base_url, req.path, parts.join("&"))
}

/// The string at `pointer` in `value`, if any.
pub(crate) fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

/// Makes `map[key]` an object (replacing a missing or non-object value) and returns it.
pub(crate) fn object_entry<'a>(map: &'a mut serde_json::Map<String, Value>, key: &str) -> &'a mut serde_json::Map<String, Value> {
    let entry = map.entry(key.to_string()).or_insert_with(|| Value::Object(serde_json::Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(serde_json::Map::new());
    }
    match entry {
        Value::Object(inner) => inner,
        _ => unreachable!("replaced by an object above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::arm::test_support::req;

    #[test]
    fn paging_follows_skip_token_and_keeps_query() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let mut r = req("GET", "/subscriptions/x/list", None);
        r.query.push(("$filter".into(), "principalId eq 'a b'".into()));
        let first = page(&r, items.clone(), 2);
        let body = first.body.unwrap();
        assert_eq!(body["value"], json!([0, 1]));
        let link = body["nextLink"].as_str().unwrap();
        assert!(link.starts_with("http://127.0.0.1:1/subscriptions/x/list?api-version="), "{link}");
        assert!(link.contains("%24filter") || link.contains("$filter=principalId%20eq%20%27a%20b%27"), "{link}");
        assert!(link.ends_with("$skipToken=2"), "{link}");
        r.query.push(("$skipToken".into(), "4".into()));
        let last = page(&r, items, 2).body.unwrap();
        assert_eq!(last["value"], json!([4]));
        assert!(last.get("nextLink").is_none());
    }

    #[test]
    fn paging_rejects_bad_token() {
        let mut r = req("GET", "/x", None);
        r.query.push(("$skipToken".into(), "zz".into()));
        assert_eq!(page(&r, vec![], 2).status, 400);
    }

    #[test]
    fn preconditions() {
        let mut r = req("PUT", "/x", None);
        assert!(check_preconditions(&r, Some("a"), "it").is_ok());
        r.headers.push(("if-match".into(), "\"a\"".into()));
        assert!(check_preconditions(&r, Some("a"), "it").is_ok());
        assert_eq!(check_preconditions(&r, Some("b"), "it").unwrap_err().status, 412);
        assert_eq!(check_preconditions(&r, None, "it").unwrap_err().error_code(), Some("PreconditionFailed"));
        let mut n = req("PUT", "/x", None);
        n.headers.push(("if-none-match".into(), "*".into()));
        assert!(check_preconditions(&n, None, "it").is_ok());
        assert_eq!(check_preconditions(&n, Some("a"), "it").unwrap_err().status, 412);
    }

    #[test]
    fn guids_are_seeded() {
        let a = guid(&mut fastrand::Rng::with_seed(7));
        let b = guid(&mut fastrand::Rng::with_seed(7));
        assert_eq!(a, b);
        assert!(crate::id::is_guid(&a));
    }
}
