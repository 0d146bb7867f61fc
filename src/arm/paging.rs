//! Lists: GET a collection and follow every `nextLink` (which must stay on the configured endpoint).

use std::collections::HashSet;

use serde_json::Value;

use super::client::{ArmClient, Req};
use super::error::{ArmError, Call};

impl ArmClient {
    /// GETs a collection (`{"value":[…],"nextLink":…}`) and every following page; `filter` is sent as
    /// `$filter`. The whole list shares one `azure.operation_timeout`.
    pub async fn list(&self, path: &str, api_version: &str, filter: Option<&str>) -> Result<Vec<Value>, ArmError> {
        let mut query = vec![("api-version", api_version)];
        if let Some(f) = filter {
            query.push(("$filter", f));
        }
        let first = self.inner.endpoint.url(path, &query)?;
        let call = Call::new("GET", path);
        let outer = call.clone();
        self.within_deadline(&outer, |deadline| async move {
            let mut url = first;
            let mut items = Vec::new();
            let mut seen = HashSet::new();
            loop {
                let page = self.execute(&Req::get(url.clone(), call.clone()), deadline).await?;
                items.extend(page_items(&call, page.status, &page.body)?);
                let Some(next) = page.body.get("nextLink").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
                    return Ok(items);
                };
                url = self.follow(&call, next)?;
                if !seen.insert(url.to_string()) {
                    return Err(ArmError::Decode { call, status: page.status, message: "nextLink repeats an earlier page".into() });
                }
            }
        })
        .await
    }
}

/// The `value` array of one page (absent or null = empty).
fn page_items(call: &Call, status: u16, body: &Value) -> Result<Vec<Value>, ArmError> {
    match body.get("value") {
        Some(Value::Array(items)) => Ok(items.clone()),
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(_) => Err(ArmError::Decode { call: call.clone(), status, message: "`value` is not an array".into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages() {
        let call = Call::new("GET", "/subscriptions/s/x");
        assert_eq!(page_items(&call, 200, &json!({"value": [1, 2]})).unwrap(), vec![json!(1), json!(2)]);
        assert!(page_items(&call, 200, &json!({})).unwrap().is_empty());
        assert!(page_items(&call, 200, &Value::Null).unwrap().is_empty());
        assert!(matches!(page_items(&call, 200, &json!({"value": {}})), Err(ArmError::Decode { .. })));
    }
}
