//! ARM token buckets (reads 250 + 25/s, writes 200 + 10/s, deletes 200 + 10/s) and the Resource Graph
//! quota (15 per 5 s per caller) over HTTP.
//!
//! Buckets refill in real time while the requests run, so "how many before the 429" is checked against
//! 250 plus what 25/s could have refilled during the run (the exact math is unit-tested in `throttle.rs`).

use std::time::Instant;

use fleetgate::sim::SimOptions;
use reqwest::{Method, StatusCode};

use crate::support::*;

const READS_HEADER: &str = "x-ms-ratelimit-remaining-subscription-reads";
const WRITES_HEADER: &str = "x-ms-ratelimit-remaining-subscription-writes";
const DELETES_HEADER: &str = "x-ms-ratelimit-remaining-subscription-deletes";

#[tokio::test]
async fn reads_get_250_then_429_with_retry_after_and_a_counting_down_header() {
    let sim = start().await;
    let c = client();
    let token = sim.issue_token(ARM_SCOPE);
    let url = format!("{}{}", sim.base_url(), read_path());
    let started = Instant::now();
    let mut remaining = Vec::new();
    let throttled = loop {
        let res = c.get(&url).bearer_auth(&token).send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            break res;
        }
        assert!(remaining.len() < 400, "never throttled");
        remaining.push(header(&res, READS_HEADER).expect("remaining-reads header").parse::<i64>().unwrap());
    };
    let refill_allowance = (started.elapsed().as_secs_f64() * 25.0).ceil() as usize + 1;
    assert!((250..=250 + refill_allowance).contains(&remaining.len()), "{} reads before the 429", remaining.len());
    assert_eq!(remaining[0], 249);
    let increases: i64 = remaining.windows(2).map(|w| (w[1] - w[0]).max(0)).sum();
    assert!(increases as usize <= refill_allowance, "header went up by {increases} in total");
    assert!(*remaining.last().unwrap() <= 1);
    let retry_after: u64 = header(&throttled, "retry-after").expect("Retry-After").parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(header(&throttled, READS_HEADER).as_deref(), Some("0"));
    assert_eq!(error_code(throttled).await, "SubscriptionRequestsThrottled");

    // Other subscriptions have their own buckets.
    let other = c.get(url.replace(SUB, "00000000-0000-0000-0000-0000000000bb")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(header(&other, READS_HEADER).as_deref(), Some("249"));
}

#[tokio::test]
async fn writes_get_200_and_deletes_have_their_own_bucket() {
    let sim = start().await;
    let c = client();
    let path = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sim/things/t?api-version=2024-01-01");
    let started = Instant::now();
    let mut ok = 0usize;
    let throttled = loop {
        let res = arm(&sim, &c, Method::PUT, &path).json(&serde_json::json!({})).send().await.unwrap();
        if res.status() == StatusCode::TOO_MANY_REQUESTS {
            break res;
        }
        if ok == 0 {
            assert_eq!(header(&res, WRITES_HEADER).as_deref(), Some("199"));
        }
        ok += 1;
        assert!(ok < 300, "never throttled");
    };
    let allowance = (started.elapsed().as_secs_f64() * 10.0).ceil() as usize + 1;
    assert!((200..=200 + allowance).contains(&ok), "{ok} writes before the 429");
    assert!(header(&throttled, "retry-after").is_some());
    assert_eq!(header(&throttled, WRITES_HEADER).as_deref(), Some("0"));
    let delete = arm(&sim, &c, Method::DELETE, &path).send().await.unwrap();
    assert_ne!(delete.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&delete, DELETES_HEADER).as_deref(), Some("199"));
    let read = arm(&sim, &c, Method::GET, &read_path()).send().await.unwrap();
    assert_eq!(header(&read, READS_HEADER).as_deref(), Some("249"));
}

#[tokio::test]
async fn resource_graph_allows_15_queries_per_caller_then_429() {
    let sim = start().await;
    let c = client();
    let token = sim.issue_token(ARM_SCOPE);
    let url = format!("{}/providers/Microsoft.ResourceGraph/resources?api-version=2024-04-01", sim.base_url());
    let query = serde_json::json!({"subscriptions": [SUB], "query": "resources | project id"});
    for expected in (0..15).rev() {
        let res = c.post(&url).bearer_auth(&token).json(&query).send().await.unwrap();
        assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(header(&res, "x-ms-user-quota-remaining"), Some(expected.to_string()));
        let resets = header(&res, "x-ms-user-quota-resets-after").unwrap();
        assert!(resets.len() == 8 && resets.starts_with("00:00:0"), "{resets}");
        assert!(header(&res, READS_HEADER).is_none() && header(&res, WRITES_HEADER).is_none());
    }
    let res = c.post(&url).bearer_auth(&token).json(&query).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&res, "x-ms-user-quota-remaining").as_deref(), Some("0"));
    assert!(header(&res, "retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    let other_caller = c.post(&url).bearer_auth(sim.issue_token(ARM_SCOPE)).json(&query).send().await.unwrap();
    assert_eq!(header(&other_caller, "x-ms-user-quota-remaining").as_deref(), Some("14"));
}

#[tokio::test]
async fn throttling_can_be_disabled() {
    let sim = start_with(SimOptions { throttling: false, ..SimOptions::default() }).await;
    let c = client();
    let token = sim.issue_token(ARM_SCOPE);
    let url = format!("{}{}", sim.base_url(), read_path());
    for _ in 0..260 {
        let res = c.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_ne!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(header(&res, READS_HEADER).is_none());
    }
}
