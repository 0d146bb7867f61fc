//! Azure Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources`, following `$skipToken`
//! pages. A query over subscriptions names only subscriptions in scope (else it is refused unsent). Queries wait while the `x-ms-user-quota-remaining` header says the window is used up (until
//! `x-ms-user-quota-resets-after`); 429s are retried like any other call.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::client::{ArmClient, Req};
use super::error::{ArmError, Call};

/// The Resource Graph query path.
pub const GRAPH_PATH: &str = "/providers/Microsoft.ResourceGraph/resources";
/// Rows requested per page.
const PAGE_SIZE: u32 = 1000;

/// Where a Resource Graph query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphScope<'a> {
    /// `subscriptions`.
    Subscriptions(&'a [String]),
    /// `managementGroups`: rows of every subscription under the groups, which the caller must filter
    /// to what it may touch.
    ManagementGroups(&'a [String]),
}

impl ArmClient {
    /// Runs a KQL query over `subscriptions` and returns every row (`resultFormat: objectArray`). The
    /// query should `project id` so paging is stable. No subscriptions = nothing in scope = no rows.
    pub async fn resource_graph(&self, subscriptions: &[String], query: &str) -> Result<Vec<Value>, ArmError> {
        let mut rows = Vec::new();
        self.resource_graph_each(GraphScope::Subscriptions(subscriptions), query, &mut |row| rows.push(row)).await?;
        Ok(rows)
    }

    /// Runs a KQL query over `scope`, handing each row to `sink` as its page arrives (memory holds one
    /// page at a time, however many rows there are). Returns the number of rows. An empty scope sends
    /// nothing.
    pub async fn resource_graph_each(
        &self,
        scope: GraphScope<'_>,
        query: &str,
        sink: &mut (dyn FnMut(Value) + Send),
    ) -> Result<usize, ArmError> {
        let (scope_key, scope) = match scope {
            GraphScope::Subscriptions(s) => ("subscriptions", s),
            GraphScope::ManagementGroups(g) => ("managementGroups", g),
        };
        if scope.is_empty() {
            return Ok(0);
        }
        let url = self.inner.endpoint.url(GRAPH_PATH, &[("api-version", &self.inner.graph_api_version)])?;
        let call = Call::new("POST", GRAPH_PATH);
        if scope_key == "subscriptions"
            && let Some(outside) = scope.iter().find(|s| !self.inner.arm_scope.allows_subscription(s))
        {
            let reason = format!(
                "the query names subscription {} which is not in scope.subscriptions",
                outside.chars().take(64).collect::<String>()
            );
            return Err(ArmError::OutOfScope { call, url: GRAPH_PATH.to_string(), reason });
        }
        let outer = call.clone();
        self.within_deadline(&outer, |deadline| async move {
            let mut count = 0;
            let mut token: Option<String> = None;
            let mut seen = HashSet::new();
            loop {
                let body = request_body(scope_key, scope, query, token.as_deref());
                let req = Req {
                    method: Method::POST,
                    url: url.clone(),
                    call: call.clone(),
                    body: Some(&body),
                    if_match: None,
                    if_none_match: false,
                    is_read: true,
                    graph: true,
                };
                let mut page = self.execute(&req, deadline).await?;
                token = page.body.get("$skipToken").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
                match page.body.get_mut("data").map(Value::take) {
                    Some(Value::Array(data)) => {
                        count += data.len();
                        data.into_iter().for_each(&mut *sink);
                    }
                    _ => return Err(ArmError::Decode { call, status: page.status, message: "`data` is not an array of objects".into() }),
                }
                match &token {
                    None => return Ok(count),
                    Some(t) if !seen.insert(t.clone()) => {
                        return Err(ArmError::Decode { call, status: page.status, message: "$skipToken repeats an earlier page".into() });
                    }
                    Some(_) => {}
                }
            }
        })
        .await
    }
}

/// The query request body.
fn request_body(scope_key: &str, scope: &[String], query: &str, skip_token: Option<&str>) -> Value {
    let mut options = json!({"resultFormat": "objectArray", "$top": PAGE_SIZE});
    if let Some(t) = skip_token {
        options["$skipToken"] = Value::String(t.to_string());
    }
    let mut body = json!({"query": query, "options": options});
    body[scope_key] = json!(scope);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_shape() {
        let b = request_body("subscriptions", &["s1".into()], "resources | project id", None);
        assert_eq!(
            b,
            json!({"subscriptions": ["s1"], "query": "resources | project id", "options": {"resultFormat": "objectArray", "$top": 1000}})
        );
        let b = request_body("subscriptions", &["s1".into()], "q", Some("tok"));
        assert_eq!(b["options"]["$skipToken"], "tok");
        let b = request_body("managementGroups", &["mg1".into()], "q", None);
        assert_eq!(b["managementGroups"], json!(["mg1"]));
        assert!(b.get("subscriptions").is_none());
    }
}
