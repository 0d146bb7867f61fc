//! ArmClient over real loopback HTTP against a scripted axum server: retries, Retry-After, 404, 412/409
//! dispositions, LROs (Azure-AsyncOperation and Location), paging, Resource Graph, foreign links,
//! timeouts.

mod arm_support;

use std::time::{Duration, Instant};

use arm_support::*;
use fleetgate::arm::{ArmError, Disposition, TimeoutKind};
use serde_json::{Value, json};

#[tokio::test]
async fn throttled_with_retry_after_then_ok() {
    let server = Server::start().await;
    server.on(
        "GET",
        CLUSTER,
        vec![reply(429, json!({"error": {"code": "TooManyRequests"}})).header("Retry-After", "1"), reply(200, json!({"name": "c1"}))],
    );
    let c = client(&server);
    let r = c.get(CLUSTER, API).await.unwrap().unwrap();
    assert_eq!(r.body["name"], "c1");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(gap(&seen[0], &seen[1]) >= Duration::from_millis(950), "Retry-After honoured: {:?}", gap(&seen[0], &seen[1]));
    assert_eq!(seen[0].headers["authorization"], "Bearer fake-arm-token");
    assert_eq!(seen[0].query, format!("api-version={API}"));
    let stats = c.stats();
    assert_eq!((stats.reads, stats.writes, stats.retries, stats.throttled), (2, 0, 1, 1));
    assert_eq!(stats.by_status.get(&429), Some(&1));
    assert_eq!(stats.by_status.get(&200), Some(&1));
}

#[tokio::test]
async fn unavailable_twice_then_ok() {
    let server = Server::start().await;
    let unavailable = reply(503, json!({"error": {"code": "ServiceUnavailable", "message": "try later"}}));
    server.on("GET", CLUSTER, vec![unavailable.clone(), unavailable, reply(200, json!({"name": "c1"}))]);
    let c = client(&server);
    assert!(c.get(CLUSTER, API).await.unwrap().is_some());
    assert_eq!(server.count("GET", CLUSTER), 3);
    assert_eq!(c.stats().retries, 2);
}

#[tokio::test]
async fn always_throttled_stops_after_max_attempts() {
    let server = Server::start().await;
    server.on(
        "PUT",
        CLUSTER,
        vec![reply(429, json!({"error": {"code": "TooManyRequests", "message": "slow down"}})).header("Retry-After", "0")],
    );
    let c = client(&server);
    let e = c.put(CLUSTER, API, &json!({}), None).await.unwrap_err();
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.disposition(), Disposition::RetryAfter(Duration::ZERO));
    assert_eq!(e.metric_label(), "throttled");
    assert_eq!(server.count("PUT", CLUSTER), 4, "azure.retry.max_attempts = 4");
    assert_eq!(c.stats().throttled, 4);
    assert_eq!(c.stats().writes, 4);
}

#[tokio::test]
async fn not_found_is_none_and_delete_of_missing_is_false() {
    let server = Server::start().await;
    let c = client(&server);
    assert!(c.get(CLUSTER, API).await.unwrap().is_none());
    assert!(!c.delete(CLUSTER, API).await.unwrap());
    server.on("DELETE", CLUSTER, vec![reply(204, Value::Null)]);
    assert!(!c.delete(CLUSTER, API).await.unwrap(), "204 = did not exist");
    server.on("DELETE", CLUSTER, vec![reply(200, Value::Null)]);
    assert!(c.delete(CLUSTER, API).await.unwrap());
    assert_eq!(server.seen().len(), 4, "404 is not retried");
}

#[tokio::test]
async fn precondition_failed_and_conflicts_return_their_disposition() {
    let server = Server::start().await;
    server.on("PUT", CLUSTER, vec![reply(412, json!({"error": {"code": "PreconditionFailed", "message": "etag"}}))]);
    let c = client(&server);
    let e = c.put(CLUSTER, API, &json!({"location": "westeurope"}), Some("\"etag-1\"")).await.unwrap_err();
    assert_eq!(e.disposition(), Disposition::Replan);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].headers["if-match"], "\"etag-1\"");
    assert_eq!(serde_json::from_str::<Value>(&seen[0].body).unwrap(), json!({"location": "westeurope"}));

    // AKS's unwrapped error shape.
    server.on(
        "PUT",
        CLUSTER,
        vec![reply(
            409,
            json!({"code": "OperationNotAllowed", "message": "Operation is not allowed: Another operation (Updating) is in progress"}),
        )],
    );
    let e = c.put(CLUSTER, API, &json!({}), None).await.unwrap_err();
    assert_eq!(e.disposition(), Disposition::WaitForTerminalState);
    assert_eq!(e.code(), Some("OperationNotAllowed"));
    assert!(e.to_string().contains(&format!("PUT {CLUSTER} failed with HTTP 409 (OperationNotAllowed)")), "{e}");
    assert_eq!(server.count("PUT", CLUSTER), 2, "not retried inside the client");

    server.on("PUT", CLUSTER, vec![reply(403, json!({"error": {"code": "AuthorizationFailed", "message": "no write"}}))]);
    let e = c.put(CLUSTER, API, &json!({}), None).await.unwrap_err();
    assert_eq!(e.disposition(), Disposition::Fatal);
    assert!(e.to_string().contains("Grant fleetgate's identity"), "{e}");
    assert!(!e.to_string().contains("fake-arm-token"));
}

#[tokio::test]
async fn principal_not_found_is_retried_within_the_window() {
    let server = Server::start().await;
    let path = "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleAssignments/a";
    let missing = reply(400, json!({"error": {"code": "PrincipalNotFound", "message": "Principal x does not exist"}}));
    server.on(
        "PUT",
        path,
        vec![missing.clone(), missing.clone(), missing.clone(), missing.clone(), missing, reply(201, json!({"name": "a"}))],
    );
    let c = client(&server);
    let r = c.put(path, "2022-04-01", &json!({}), None).await.unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(server.count("PUT", path), 6, "beyond max_attempts while inside the window");
}

#[tokio::test]
async fn lro_via_azure_async_operation() {
    let server = Server::start().await;
    let op = "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.ContainerService/locations/westeurope/operations/op1";
    server.on(
        "PUT",
        CLUSTER,
        vec![
            reply(200, json!({"properties": {"provisioningState": "Updating"}, "etag": "e1"}))
                .header("Azure-AsyncOperation", server.url(&format!("{op}?api-version={API}")))
                .header("Location", server.url("/ignored-location"))
                .header("Retry-After", "0"),
        ],
    );
    server.on(
        "GET",
        op,
        vec![reply(200, json!({"status": "InProgress"})).header("Retry-After", "1"), reply(200, json!({"status": "Succeeded"}))],
    );
    server.on("GET", CLUSTER, vec![reply(200, json!({"properties": {"provisioningState": "Succeeded"}, "etag": "e2"}))]);
    let c = client(&server);
    let first = c.put(CLUSTER, API, &json!({}), Some("e1")).await.unwrap();
    assert_eq!(first.etag.as_deref(), Some("e1"));
    let done = c.wait_for_lro(&first).await.unwrap();
    assert_eq!(done.polls, 2);
    assert_eq!(done.body["properties"]["provisioningState"], "Succeeded");
    let polls: Vec<Seen> = server.seen().into_iter().filter(|s| s.path == op).collect();
    assert!(gap(&polls[0], &polls[1]) >= Duration::from_millis(950), "Retry-After honoured between polls");
    assert!(polls[0].query.contains("api-version"), "operation URL kept as given");
    assert_eq!(server.count("GET", "/ignored-location"), 0, "Azure-AsyncOperation preferred over Location");
    assert_eq!(server.count("GET", CLUSTER), 1, "resource re-read once at the end");
}

#[tokio::test]
async fn lro_via_location() {
    let server = Server::start().await;
    let loc =
        "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.ContainerService/locations/westeurope/operationresults/r1";
    server.on("DELETE", CLUSTER, vec![reply(202, Value::Null).header("Location", server.url(loc)).header("Retry-After", "1")]);
    server.on("GET", loc, vec![reply(202, Value::Null).header("Retry-After", "0"), reply(200, Value::Null)]);
    let c = client(&server);
    let start = Instant::now();
    assert!(c.delete(CLUSTER, API).await.unwrap());
    assert!(start.elapsed() >= Duration::from_millis(950), "initial Retry-After honoured");
    assert_eq!(server.count("GET", loc), 2);

    // A PUT answered 202 + Location: polled to 200, then the resource is re-read.
    server.on("PUT", CLUSTER, vec![reply(202, Value::Null).header("Location", server.url(loc)).header("Retry-After", "0")]);
    server.on("GET", loc, vec![reply(202, Value::Null).header("Retry-After", "0"), reply(200, json!({"status": "Succeeded"}))]);
    server.on("GET", CLUSTER, vec![reply(200, json!({"name": "c1"}))]);
    let first = c.put(CLUSTER, API, &json!({}), None).await.unwrap();
    assert!(first.is_long_running());
    let done = c.wait_for_lro(&first).await.unwrap();
    assert_eq!(done.body, json!({"name": "c1"}));
    assert_eq!(done.polls, 2);
}

#[tokio::test]
async fn lro_failed_is_an_error_with_the_operation_code() {
    let server = Server::start().await;
    let op = "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.ContainerService/locations/westeurope/operations/op2";
    server.on("PUT", CLUSTER, vec![reply(201, json!({})).header("Azure-AsyncOperation", server.url(op)).header("Retry-After", "0")]);
    server.on("GET", op, vec![reply(200, json!({"status": "Failed", "error": {"code": "ScopeLocked", "message": "locked by lock1"}}))]);
    let c = client(&server);
    let first = c.put(CLUSTER, API, &json!({}), None).await.unwrap();
    let e = c.wait_for_lro(&first).await.unwrap_err();
    assert_eq!(e.code(), Some("ScopeLocked"));
    assert_eq!(e.disposition(), Disposition::Slow);
    assert!(e.to_string().contains("ended Failed (ScopeLocked): locked by lock1"), "{e}");
    assert_eq!(server.count("GET", CLUSTER), 0, "no re-read after a failure");
}

#[tokio::test]
async fn operation_deadline_covers_polling() {
    let server = Server::start().await;
    let op = "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.ContainerService/locations/westeurope/operations/op3";
    server.on("PUT", CLUSTER, vec![reply(201, json!({})).header("Azure-AsyncOperation", server.url(op)).header("Retry-After", "0")]);
    server.on("GET", op, vec![reply(200, json!({"status": "InProgress"})).header("Retry-After", "0")]);
    let mut s = settings(&server.base);
    s.operation_timeout = Duration::from_millis(600);
    let c = client_with(&s);
    let first = c.put(CLUSTER, API, &json!({}), None).await.unwrap();
    let e = c.wait_for_lro(&first).await.unwrap_err();
    assert!(matches!(e, ArmError::Timeout { kind: TimeoutKind::Operation, .. }), "{e}");
    assert_eq!(e.disposition(), Disposition::Slow);
}

#[tokio::test]
async fn list_follows_every_next_link() {
    let server = Server::start().await;
    let path = "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleAssignments";
    server.on(
        "GET",
        path,
        vec![
            reply(200, json!({"value": [{"id": "a1"}, {"id": "a2"}], "nextLink": server.url(&format!("{path}?api-version=2022-04-01&$skiptoken=p2"))})),
            reply(200, json!({"value": [{"id": "a3"}], "nextLink": server.url(&format!("{path}?api-version=2022-04-01&$skiptoken=p3"))})),
            reply(200, json!({"value": [{"id": "a4"}], "nextLink": null})),
        ],
    );
    let c = client(&server);
    let items = c.list(path, "2022-04-01", Some("principalId eq '11111111-1111-1111-1111-111111111111'")).await.unwrap();
    let ids: Vec<&str> = items.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["a1", "a2", "a3", "a4"]);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen[0].query.contains("%24filter=principalId+eq+%2711111111-1111-1111-1111-111111111111%27"), "{}", seen[0].query);
    assert!(seen[1].query.ends_with("$skiptoken=p2") && seen[2].query.ends_with("$skiptoken=p3"), "{:?}", seen[1].query);
}

#[tokio::test]
async fn foreign_links_are_refused() {
    let server = Server::start().await;
    let path = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups";
    server.on("GET", path, vec![reply(200, json!({"value": [{"id": "x"}], "nextLink": "http://evil.example/steal?token=1"}))]);
    let c = client(&server);
    let e = c.list(path, "2024-01-01", None).await.unwrap_err();
    assert!(matches!(e, ArmError::ForeignUrl { .. }), "{e}");
    assert!(e.to_string().contains("evil.example") && !e.to_string().contains("token=1"), "{e}");

    let other_port = "http://127.0.0.1:9/op";
    server.on("PUT", CLUSTER, vec![reply(201, json!({})).header("Azure-AsyncOperation", other_port)]);
    let first = c.put(CLUSTER, API, &json!({}), None).await.unwrap();
    assert!(matches!(c.wait_for_lro(&first).await.unwrap_err(), ArmError::ForeignUrl { .. }));
}

#[tokio::test]
async fn resource_graph_follows_skip_tokens_and_quota() {
    let server = Server::start().await;
    let path = "/providers/Microsoft.ResourceGraph/resources";
    server.on(
        "POST",
        path,
        vec![
            reply(200, json!({"totalRecords": 3, "count": 1, "data": [{"id": "r1"}], "$skipToken": "t1"}))
                .header("x-ms-user-quota-remaining", "0")
                .header("x-ms-user-quota-resets-after", "00:00:01"),
            reply(200, json!({"totalRecords": 3, "count": 1, "data": [{"id": "r2"}], "$skipToken": "t2"}))
                .header("x-ms-user-quota-remaining", "5"),
            reply(200, json!({"totalRecords": 3, "count": 1, "data": [{"id": "r3"}]})),
        ],
    );
    let c = client(&server);
    let subs = vec!["00000000-0000-0000-0000-000000000001".to_string()];
    let rows = c.resource_graph(&subs, "resources | project id").await.unwrap();
    assert_eq!(rows, vec![json!({"id": "r1"}), json!({"id": "r2"}), json!({"id": "r3"})]);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen[0].query.contains("api-version=2024-04-01"));
    let bodies: Vec<Value> = seen.iter().map(|s| serde_json::from_str(&s.body).unwrap()).collect();
    assert_eq!(bodies[0]["subscriptions"], json!(subs));
    assert_eq!(bodies[0]["query"], "resources | project id");
    assert_eq!(bodies[0]["options"]["resultFormat"], "objectArray");
    assert!(bodies[0]["options"].get("$skipToken").is_none());
    assert_eq!(bodies[1]["options"]["$skipToken"], "t1");
    assert_eq!(bodies[2]["options"]["$skipToken"], "t2");
    assert!(gap(&seen[0], &seen[1]) >= Duration::from_millis(950), "quota reset waited for");
    assert!(gap(&seen[1], &seen[2]) < Duration::from_millis(900), "no wait while quota remains");
    assert_eq!(c.stats().reads, 3);
}

#[tokio::test]
async fn per_request_timeout_fires_and_is_retried() {
    let server = Server::start().await;
    let mut slow = reply(200, json!({}));
    slow.delay = Duration::from_secs(5);
    server.on("GET", CLUSTER, vec![slow]);
    let mut s = settings(&server.base);
    s.request_timeout = Duration::from_millis(200);
    s.retry.max_attempts = 2;
    let c = client_with(&s);
    let start = Instant::now();
    let e = c.get(CLUSTER, API).await.unwrap_err();
    assert!(matches!(e, ArmError::Timeout { kind: TimeoutKind::Request, .. }), "{e}");
    assert!(e.is_retryable());
    assert!(start.elapsed() < Duration::from_secs(2), "{:?}", start.elapsed());
    assert_eq!(server.count("GET", CLUSTER), 2);
}

#[tokio::test]
async fn connection_refused_is_a_retryable_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = client_with(&settings(&base));
    let e = c.get(CLUSTER, API).await.unwrap_err();
    assert!(matches!(e, ArmError::Transport { .. }), "{e}");
    assert!(e.is_retryable());
    assert_eq!(c.stats().retries, 3);
}

#[tokio::test]
async fn garbage_success_body_is_a_decode_error() {
    let server = Server::start().await;
    server.on("GET", CLUSTER, vec![Reply { body: "<html>proxy</html>".into(), ..reply(200, Value::Null) }]);
    let e = client(&server).get(CLUSTER, API).await.unwrap_err();
    assert!(matches!(e, ArmError::Decode { status: 200, .. }), "{e}");
    assert_eq!(e.disposition(), Disposition::Fatal);
}

#[tokio::test]
async fn invalid_paths_are_refused_before_sending() {
    let server = Server::start().await;
    let c = client(&server);
    let e = c.get("/subscriptions/x/../../admin", API).await.unwrap_err();
    assert!(matches!(e, ArmError::InvalidPath { .. }), "{e}");
    assert!(server.seen().is_empty());
}

/// Issues `tok-N` tokens living `lifetime`, counting calls.
#[derive(Debug)]
struct Counting {
    calls: std::sync::atomic::AtomicUsize,
    lifetime: time::Duration,
}

#[async_trait::async_trait]
impl azure_core::credentials::TokenCredential for Counting {
    async fn get_token(
        &self,
        _: &[&str],
        _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Ok(azure_core::credentials::AccessToken::new(format!("tok-{n}"), time::OffsetDateTime::now_utc() + self.lifetime))
    }
}

#[tokio::test]
async fn the_authorization_header_is_reused_only_while_its_token_is_fresh() {
    for (lifetime, expected) in
        [(time::Duration::hours(1), ["tok-1", "tok-1", "tok-1"]), (time::Duration::minutes(4), ["tok-1", "tok-2", "tok-3"])]
    {
        let server = Server::start().await;
        server.on("GET", CLUSTER, vec![reply(200, json!({"name": "c1"}))]);
        let credential = std::sync::Arc::new(Counting { calls: Default::default(), lifetime });
        let c = fleetgate::arm::ArmClient::new(&settings(&server.base), &[SUB1.to_string()], credential.clone()).unwrap();
        for _ in 0..3 {
            c.get(CLUSTER, API).await.unwrap().unwrap();
        }
        let sent: Vec<String> = server.seen().iter().map(|s| s.headers["authorization"].to_str().unwrap().to_string()).collect();
        let expected: Vec<String> = expected.iter().map(|t| format!("Bearer {t}")).collect();
        assert_eq!(sent, expected, "a token living {lifetime} (refresh margin: 5 min)");
    }
}
