//! `/healthz` and `/readyz` over real loopback HTTP: 200 while alive, 503 naming what is not ready,
//! back to 200 once the worker marks success, and the server stops on the shutdown signal.

use std::time::Duration;

use fleetgate::health::{self, Readiness};
use serde_json::Value;
use tokio::sync::oneshot;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let resp = reqwest::get(format!("http://{addr}{path}")).await.expect("health server answers");
    let status = resp.status().as_u16();
    assert_eq!(resp.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    (status, resp.json().await.expect("JSON body"))
}

#[tokio::test]
async fn healthz_and_readyz_follow_the_readiness_marks() {
    let readiness = Readiness::new(Duration::from_secs(60));
    let (stop, stopped) = oneshot::channel::<()>();
    let addr = health::serve("127.0.0.1:0".parse().unwrap(), readiness.clone(), async {
        let _ = stopped.await;
    })
    .await
    .unwrap();
    assert_ne!(addr.port(), 0);

    let (status, body) = get(addr, "/healthz").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));

    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["not_ready"], serde_json::json!(["credential", "queue"]));

    readiness.mark_credential_ok();
    readiness.mark_queue_ok();
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ready"], true);

    readiness.mark_queue_error("Service Bus receive failed: 401 on queue fleet-events");
    let (status, body) = get(addr, "/readyz").await;
    assert_eq!(status, 503);
    assert_eq!(body["not_ready"], serde_json::json!(["queue"]));
    let queue = body["checks"].as_array().unwrap().iter().find(|c| c["name"] == "queue").unwrap();
    assert_eq!(queue["reason"], "Service Bus receive failed: 401 on queue fleet-events");
    assert_eq!((get(addr, "/healthz").await).0, 200, "liveness does not depend on readiness");

    readiness.mark_queue_ok();
    assert_eq!(get(addr, "/readyz").await.0, 200);

    stop.send(()).unwrap();
    let mut refused = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener closes after the shutdown signal");
}

#[tokio::test]
async fn a_taken_address_is_a_bind_error_naming_it() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let err = health::serve(addr, Readiness::default(), std::future::pending()).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&addr.to_string()) && msg.contains("health.listen"), "{msg}");
}
