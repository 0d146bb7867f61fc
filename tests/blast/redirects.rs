//! Item 7: no client fleetgate owns follows a redirect. A loopback server answers 307 pointing at a
//! second loopback server (the "thief"), which must receive nothing:
//! - Service Bus: the poison-queue send of a parked message (the message body used to go there);
//! - OpenTelemetry: the OTLP exports at exit.
//!
//! (ARM and the Entra token transports: `tests/arm_blast.rs`.)

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fleetgate::sim::servicebus::{EVENTS_QUEUE, POISON_QUEUE, QueueSpec};

use crate::common::child::{FleetgateCommand, TEST_NAMESPACE};
use crate::common::fleet::sub1_with_acrone;
use crate::common::{SUB1, start_sim};
use crate::proxy::{Answer, Exchange, Proxy};

/// A loopback server that counts requests; `redirect_to` makes it answer 307 to that base (+ path).
struct Counter {
    base: String,
    hits: Arc<AtomicUsize>,
}

impl Counter {
    async fn start(redirect_to: Option<String>) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let state = (Arc::clone(&hits), redirect_to);
        let app = Router::new().fallback(count).with_state(Arc::new(state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::Relaxed)
    }
}

async fn count(State(state): State<Arc<(Arc<AtomicUsize>, Option<String>)>>, uri: Uri) -> Response {
    state.0.fetch_add(1, Ordering::Relaxed);
    match &state.1 {
        Some(target) => (StatusCode::TEMPORARY_REDIRECT, [("location", format!("{target}{}", uri.path()))]).into_response(),
        None => StatusCode::OK.into_response(),
    }
}

async fn wait_for(what: &str, deadline: Duration, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item7_service_bus_does_not_follow_a_redirect_with_the_parked_body() {
    let sim = start_sim(&sub1_with_acrone().sim(&[]).build()).await;
    sim.create_queue(QueueSpec::new(EVENTS_QUEUE).lock_duration(Duration::from_secs(2))).unwrap();
    let thief = Counter::start(None).await;
    let redirected = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&redirected);
    let steal = format!("{}/steal", thief.base);
    let poison_send = format!("/sb/{POISON_QUEUE}/messages");
    let tamper = Arc::new(move |x: &Exchange| {
        if x.method == "POST" && x.path == poison_send {
            seen.fetch_add(1, Ordering::Relaxed);
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("location", steal.parse().unwrap());
            return Answer::Replace { status: 307, headers, body: Vec::new() };
        }
        Answer::pass(x)
    });
    let proxy = Proxy::start(&sim.base_url(), tamper).await;
    sim.send_message(EVENTS_QUEUE, "{not json: park me", &[]).expect("queue exists");
    let mut child = FleetgateCommand::new(&sim, &[SUB1])
        .queue(&sim, TEST_NAMESPACE)
        .env("FLEETGATE__QUEUE__ENDPOINT", format!("{}/sb", proxy.base))
        .env("FLEETGATE__RESYNC__ENABLED", "false")
        .args(["run"])
        .tokio()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("an attempt to park the message", Duration::from_secs(30), || redirected.load(Ordering::Relaxed) >= 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert_eq!(thief.hits(), 0, "the message body followed the redirect to another host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item7_otlp_exports_do_not_follow_a_redirect() {
    let sim = start_sim(&sub1_with_acrone().sim(&[]).build()).await;
    let thief = Counter::start(None).await;
    let collector = Counter::start(Some(thief.base.clone())).await;
    let out = FleetgateCommand::new(&sim, &[SUB1])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.base)
        .args(["plan", "--cluster", &crate::common::cluster_id(SUB1, "rg-aks", "nope")])
        .output();
    assert!(collector.hits() >= 1, "no export was attempted: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(thief.hits(), 0, "telemetry followed the redirect to another host");
}
